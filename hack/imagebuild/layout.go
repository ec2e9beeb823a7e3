package imagebuild

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// refNameAnnotation names an entry of an OCI layout, e.g. `skopeo copy --all oci:dist/image:v0.2.0 ...`.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// maxIndexJSON bounds the read of a layout's index.json.
const maxIndexJSON = 1 << 20

// WriteLayout writes idx as an OCI image layout in dir: index.json has one entry, the image index, named by
// its version label (as crane, ko and BuildKit write it). An existing layout in dir is replaced; the new one is
// written beside it first, so a failed write leaves the old one intact. A dir that is not a layout and not
// empty is refused rather than deleted.
func WriteLayout(dir string, idx v1.ImageIndex) error {
	if err := checkReplaceable(dir); err != nil {
		return err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return fmt.Errorf("image layout %s: %w", dir, err)
	}
	var opts []layout.Option
	if m, err := idx.IndexManifest(); err == nil && m.Annotations[LabelVersion] != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{refNameAnnotation: m.Annotations[LabelVersion]}))
	}
	if err := p.AppendIndex(idx, opts...); err != nil {
		return fmt.Errorf("image layout %s: %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("replace image layout %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("replace image layout %s: %w", dir, err)
	}
	return nil
}

// checkReplaceable allows a missing dir, an empty one, or an OCI image layout.
func checkReplaceable(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("image layout %s: exists and is not a directory", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err == nil {
		return nil
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(names) > 0 {
		return fmt.Errorf("image layout %s: refusing to replace a non-empty directory that is not an OCI image layout (no oci-layout file)", dir)
	}
	return nil
}

// ReadLayout returns the image index WriteLayout wrote in dir: the single index named in index.json (or
// index.json itself when it lists platform images directly, as some tools write it).
func ReadLayout(dir string) (v1.ImageIndex, error) {
	outer, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("image layout %s: %w", dir, err)
	}
	m, err := outer.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("image layout %s: %w", dir, err)
	}
	var indexes []v1.Descriptor
	for _, d := range m.Manifests {
		if d.MediaType.IsIndex() {
			indexes = append(indexes, d)
		}
	}
	switch {
	case len(indexes) == 1 && len(m.Manifests) == 1:
		return outer.ImageIndex(indexes[0].Digest)
	case len(indexes) == 0 && len(m.Manifests) > 0:
		return outer, nil
	default:
		return nil, fmt.Errorf("image layout %s: index.json lists %d entries (%d image indexes); want one image index", dir, len(m.Manifests), len(indexes))
	}
}

// WriteTarball writes the layout in dir as one tar file at path: entries in name order, owned by root,
// stamped with the image's creation time (taken from the layout), so the same layout gives the same bytes.
func WriteTarball(path string, dir string) error {
	mtime, err := layoutCreated(dir)
	if err != nil {
		return err
	}
	entries, err := dirEntries(dir)
	if err != nil {
		return fmt.Errorf("tarball of %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := writeTar(f, entries, mtime); err != nil {
		f.Close()
		return fmt.Errorf("tarball of %s: %w", dir, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// layoutCreated is the created annotation of the layout's first entry, or 1970 when it has none.
func layoutCreated(dir string) (time.Time, error) {
	f, err := os.Open(filepath.Join(dir, "index.json"))
	if err != nil {
		return time.Time{}, fmt.Errorf("image layout %s: %w", dir, err)
	}
	defer f.Close()
	var m v1.IndexManifest
	if err := json.NewDecoder(io.LimitReader(f, maxIndexJSON)).Decode(&m); err != nil {
		return time.Time{}, fmt.Errorf("image layout %s: index.json: %w", dir, err)
	}
	if len(m.Manifests) > 0 {
		if s := m.Manifests[0].Annotations[LabelCreated]; s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return time.Time{}, fmt.Errorf("image layout %s: created annotation %q: %w", dir, s, err)
			}
			return t.UTC(), nil
		}
	}
	return time.Unix(0, 0).UTC(), nil
}
