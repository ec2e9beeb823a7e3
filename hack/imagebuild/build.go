package imagebuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/mailshift/mailshift/internal/version"
)

// The binaries in the image: the package to build and where it lands. The manager is the entrypoint; it
// also runs the worker Jobs (its `worker` subcommand), so one image serves both.
var binaries = []struct{ pkg, name string }{
	{"./cmd/manager", "manager"},
	{"./cmd/mailshift", "mailshift"},
}

// Label keys from the OCI image spec's pre-defined annotations.
const (
	LabelVersion     = "org.opencontainers.image.version"
	LabelRevision    = "org.opencontainers.image.revision"
	LabelSource      = "org.opencontainers.image.source"
	LabelLicenses    = "org.opencontainers.image.licenses"
	LabelCreated     = "org.opencontainers.image.created"
	LabelTitle       = "org.opencontainers.image.title"
	LabelDescription = "org.opencontainers.image.description"
)

const description = "Kubernetes operator that migrates mail from Exchange and PST files to IMAP servers and keeps groupware working"

// maxBuildLog bounds how much of the compiler's output an error carries.
const maxBuildLog = 16 << 10

// Build cross-compiles the binaries for every platform and assembles the OCI image index. The layers are
// held in memory (compressed), so the index stays valid after Build returns.
func Build(ctx context.Context, o Options) (v1.ImageIndex, error) {
	o, err := o.normalize()
	if err != nil {
		return nil, err
	}
	caBundle, err := readCABundle(HostCACertificates)
	if err != nil {
		return nil, err
	}
	base, err := gzipLayer(baseEntries(caBundle), o.Created)
	if err != nil {
		return nil, fmt.Errorf("base layer: %w", err)
	}
	work, err := os.MkdirTemp("", "mailshift-imagebuild-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	labels := o.labels()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range o.Platforms {
		t, err := parseTarget(p)
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(work, strings.ReplaceAll(t.String(), "/", "-"))
		if err := goBuild(ctx, o, t, dir); err != nil {
			return nil, err
		}
		var files []entry
		for _, b := range binaries {
			files = append(files, entry{name: b.name, mode: 0o755, file: filepath.Join(dir, b.name)})
		}
		bin, err := gzipLayer(files, o.Created)
		if err != nil {
			return nil, fmt.Errorf("%s binaries layer: %w", t, err)
		}
		img, err := o.image(t, labels, base, bin)
		if err != nil {
			return nil, fmt.Errorf("%s image: %w", t, err)
		}
		plat := v1.Platform{OS: t.OS, Architecture: t.Arch, Variant: t.Variant}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &plat, Annotations: labels},
		})
	}
	idx = mutate.Annotations(idx, labels).(v1.ImageIndex)
	// Compute the digest now: it reads every layer, so a problem shows here and not halfway through a push.
	if _, err := idx.Digest(); err != nil {
		return nil, fmt.Errorf("image index: %w", err)
	}
	return idx, nil
}

// labels are the image's org.opencontainers.image.* labels, also the annotations of the index and its entries.
func (o Options) labels() map[string]string {
	l := map[string]string{
		LabelVersion:     o.Version,
		LabelSource:      o.Source,
		LabelLicenses:    "Apache-2.0",
		LabelCreated:     o.Created.Format(time.RFC3339),
		LabelTitle:       "mailshift",
		LabelDescription: description,
	}
	if o.Commit != "" {
		l[LabelRevision] = o.Commit
	}
	return l
}

// image is one platform's image: base files, then the binaries, run as the unprivileged user.
func (o Options) image(t target, labels map[string]string, base, bin v1.Layer) (v1.Image, error) {
	created := v1.Time{Time: o.Created}
	cfg := &v1.ConfigFile{
		Architecture: t.Arch,
		OS:           t.OS,
		Variant:      t.Variant,
		Created:      created,
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			User:       fmt.Sprintf("%d:%d", nonrootID, nonrootID),
			Entrypoint: []string{"/manager"},
			WorkingDir: "/",
			Env: []string{
				"PATH=/:/usr/local/bin:/usr/bin:/bin",
				"SSL_CERT_FILE=/" + caPathInImage,
			},
			Labels: labels,
		},
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, err
	}
	return mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: "mailshift imagebuild: /etc/passwd, /etc/group, CA certificates, /home/nonroot, /tmp",
		}},
		mutate.Addendum{Layer: bin, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: "mailshift imagebuild: /manager and /mailshift " + o.Version + " for " + t.String(),
		}},
	)
}

// goBuild compiles the static binaries for one platform into dir.
func goBuild(ctx context.Context, o Options, t target, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ldflags := "-s -w " + version.LDFlags(o.Version, o.Commit, o.Created.Format(time.RFC3339))
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=" + ldflags, "-o", dir + string(filepath.Separator)}
	for _, b := range binaries {
		args = append(args, b.pkg)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = o.RepoRoot
	// GOFLAGS is cleared so that a caller's -race, -cover or -tags cannot reach the image; the flags that
	// matter are on the command line above.
	cmd.Env = append(append(os.Environ(), "GOFLAGS="), t.goEnv()...)
	out := &tailBuffer{max: maxBuildLog}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s: %w\n%s", t, err, out.String())
	}
	for _, b := range binaries {
		if _, err := os.Stat(filepath.Join(dir, b.name)); err != nil {
			return fmt.Errorf("go build for %s wrote no %s: %w", t, b.name, err)
		}
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it: the end of a compiler log holds the error.
type tailBuffer struct {
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string { return strings.TrimSpace(string(b.buf)) }
