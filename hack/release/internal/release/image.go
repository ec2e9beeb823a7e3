package release

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mailshift/mailshift/hack/imagebuild"
)

// buildImage builds the image index for ImagePlatforms, writes it as an OCI layout and as a tarball of that
// layout, and returns its digest ("sha256:…"), which install.yaml pins.
func (b *build) buildImage(ctx context.Context) (string, error) {
	idx, err := imagebuild.Build(ctx, imagebuild.Options{
		RepoRoot:  b.RepoRoot,
		Version:   b.Version,
		Commit:    b.commit,
		Created:   b.created,
		Platforms: ImagePlatforms,
	})
	if err != nil {
		return "", fmt.Errorf("build the image: %w", err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return "", fmt.Errorf("image digest: %w", err)
	}
	layout := filepath.Join(b.OutDir, ImageDir)
	if err := imagebuild.WriteLayout(layout, idx); err != nil {
		return "", fmt.Errorf("write the image layout: %w", err)
	}
	if err := imagebuild.WriteTarball(filepath.Join(b.OutDir, ImageTarballName(b.Version)), layout); err != nil {
		return "", fmt.Errorf("write the image tarball: %w", err)
	}
	if err := os.WriteFile(filepath.Join(b.OutDir, DigestName), []byte(digest.String()+"\n"), 0o644); err != nil {
		return "", err
	}
	b.logf("image %s", digest)
	return digest.String(), nil
}
