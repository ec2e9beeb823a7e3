package release

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/mailshift/mailshift/hack/imagebuild"
	"github.com/mailshift/mailshift/hack/release/internal/sbom"
)

// buildImage builds the image index for ImagePlatforms, writes it as an OCI layout and as a tarball of that
// layout, and returns its digest ("sha256:…"), which install.yaml pins, and the image's binaries, taken out of
// its layers for the SBOM.
func (b *build) buildImage(ctx context.Context) (string, []sbom.Binary, error) {
	idx, err := imagebuild.Build(ctx, imagebuild.Options{
		RepoRoot:  b.RepoRoot,
		Version:   b.Version,
		Commit:    b.commit,
		Created:   b.created,
		Platforms: ImagePlatforms,
	})
	if err != nil {
		return "", nil, fmt.Errorf("build the image: %w", err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return "", nil, fmt.Errorf("image digest: %w", err)
	}
	layout := filepath.Join(b.OutDir, ImageDir)
	if err := imagebuild.WriteLayout(layout, idx); err != nil {
		return "", nil, fmt.Errorf("write the image layout: %w", err)
	}
	if err := imagebuild.WriteTarball(filepath.Join(b.OutDir, ImageTarballName(b.Version)), layout); err != nil {
		return "", nil, fmt.Errorf("write the image tarball: %w", err)
	}
	if err := os.WriteFile(filepath.Join(b.OutDir, DigestName), []byte(digest.String()+"\n"), 0o644); err != nil {
		return "", nil, err
	}
	b.logf("image %s", digest)
	bins, err := b.imageBinaries(idx)
	if err != nil {
		return "", nil, fmt.Errorf("the image's binaries for the SBOM: %w", err)
	}
	return digest.String(), bins, nil
}

// imageBinaryNames are the files of the image the SBOM describes.
var imageBinaryNames = []string{"manager", "mailshift"}

// maxImageBinary bounds one binary read out of a layer.
const maxImageBinary = 512 << 20

// imageBinaries writes every platform's imageBinaryNames, as its layers hold them, into the work directory.
// They are what the SBOM describes for the image: the very files a cluster runs, not a second build.
func (b *build) imageBinaries(idx v1.ImageIndex) ([]sbom.Binary, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var bins []sbom.Binary
	for _, desc := range im.Manifests {
		if desc.Platform == nil {
			return nil, fmt.Errorf("image %s has no platform", desc.Digest)
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(b.work, "image-"+desc.Platform.OS+"-"+desc.Platform.Architecture)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		found, err := extractFiles(img, dir, imageBinaryNames)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", desc.Platform, err)
		}
		for _, name := range imageBinaryNames {
			if !found[name] {
				return nil, fmt.Errorf("%s: the image has no /%s", desc.Platform, name)
			}
			bins = append(bins, sbom.Binary{
				Path:             filepath.Join(dir, name),
				FileName:         ImageTarballName(b.Version) + ":" + desc.Platform.OS + "/" + desc.Platform.Architecture + ":/" + name,
				GOOS:             desc.Platform.OS,
				GOARCH:           desc.Platform.Architecture,
				DownloadLocation: DownloadBase + "/" + b.Version + "/" + ImageTarballName(b.Version),
			})
		}
	}
	return bins, nil
}

// extractFiles writes the regular files of img's root directory named in names into dir.
func extractFiles(img v1.Image, dir string, names []string) (map[string]bool, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	found := map[string]bool{}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return found, nil
		}
		if err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(strings.TrimPrefix(hdr.Name, "./"), "/")
		if hdr.Typeflag != tar.TypeReg || !want[name] {
			continue
		}
		if hdr.Size > maxImageBinary {
			return nil, fmt.Errorf("/%s is %d bytes, more than %d", name, hdr.Size, maxImageBinary)
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxImageBinary))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
			return nil, err
		}
		found[name] = true
	}
}
