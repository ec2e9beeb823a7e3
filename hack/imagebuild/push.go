package imagebuild

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push uploads the index, its images and their blobs to ref (registry/name:tag). Credentials come from the
// Docker config (`docker login`, credential helpers) unless opts say otherwise; a registry on the loopback
// interface is spoken to over plain HTTP, as a test or development registry is served.
func Push(ctx context.Context, idx v1.ImageIndex, ref string, opts ...remote.Option) error {
	r, err := parseRef(ref)
	if err != nil {
		return err
	}
	all := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	if err := remote.WriteIndex(r, idx, all...); err != nil {
		return fmt.Errorf("push %s: %w", r, err)
	}
	return nil
}

// parseRef parses an image reference, marking a loopback registry insecure (HTTP).
func parseRef(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", ref, err)
	}
	if isLoopback(r.Context().RegistryStr()) {
		return name.ParseReference(ref, name.Insecure)
	}
	return r, nil
}

func isLoopback(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
