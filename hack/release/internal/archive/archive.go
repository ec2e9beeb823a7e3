// Package archive writes the release's CLI archives, .tar.gz and .zip, so that the same inputs always give
// the same bytes: entries sorted by name, one fixed modification time, no owner names or numeric ids, no
// file-system metadata of the machine that built them.
package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"
)

// File is one entry: Name inside the archive, Source the file on disk whose content it takes, Mode its
// permissions (0o755 for the binary, 0o644 for documents).
type File struct {
	Name   string
	Source string
	Mode   fs.FileMode
}

// WriteTarGz writes files into a gzip-compressed tar at path, every entry dated modTime.
func WriteTarGz(path string, files []File, modTime time.Time) error {
	files, err := sorted(files)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	// A zero gzip header: no name, no modification time, the same OS byte everywhere.
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	for _, f := range files {
		data, err := os.ReadFile(f.Source)
		if err != nil {
			return fmt.Errorf("archive %s: %w", path, err)
		}
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     f.Name,
			Mode:     int64(f.Mode.Perm()),
			Size:     int64(len(data)),
			ModTime:  modTime.UTC().Truncate(time.Second),
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("archive %s: %s: %w", path, f.Name, err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("archive %s: %s: %w", path, f.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// WriteZip writes files into a zip at path, every entry dated modTime (in UTC: zip's own date fields have no
// time zone, and a reader must not see a date that depends on where the archive was built).
func WriteZip(path string, files []File, modTime time.Time) error {
	files, err := sorted(files)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		src, err := os.Open(f.Source)
		if err != nil {
			return fmt.Errorf("archive %s: %w", path, err)
		}
		hdr := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: modTime.UTC().Truncate(time.Second)}
		hdr.SetMode(f.Mode.Perm())
		w, err := zw.CreateHeader(hdr)
		if err == nil {
			_, err = io.Copy(w, src)
		}
		src.Close()
		if err != nil {
			return fmt.Errorf("archive %s: %s: %w", path, f.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// sorted returns files ordered by name, refusing names that would unpack outside the archive's directory or
// that appear twice.
func sorted(files []File) ([]File, error) {
	out := append([]File(nil), files...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i, f := range out {
		if f.Name == "" || strings.HasPrefix(f.Name, "/") || strings.Contains(f.Name, "..") || strings.Contains(f.Name, "\\") {
			return nil, fmt.Errorf("archive entry name %q: must be a plain relative path", f.Name)
		}
		if i > 0 && out[i-1].Name == f.Name {
			return nil, fmt.Errorf("archive entry %q given twice", f.Name)
		}
	}
	return out, nil
}
