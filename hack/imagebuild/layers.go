package imagebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The unprivileged account the image runs as, the same number distroless and the restricted Pod Security
// Standard examples use.
const (
	nonrootID   = 65532
	nonrootName = "nonroot"
)

// HostCACertificates is the CA bundle copied into the image.
const HostCACertificates = "/etc/ssl/certs/ca-certificates.crt"

// caPathInImage is where the bundle lands; SSL_CERT_FILE names it so Go's crypto/x509 finds it first.
const caPathInImage = "etc/ssl/certs/ca-certificates.crt"

// maxCABundle bounds the read of the build machine's bundle (a full Mozilla bundle is about 200 KiB).
const maxCABundle = 16 << 20

// entry is one file or directory of a layer.
type entry struct {
	name     string // relative, no leading slash; directories end in "/"
	mode     int64
	uid, gid int
	data     []byte // regular files held in memory
	file     string // regular files streamed from disk
}

// baseEntries are the files every program in the image expects: the accounts, a home, /tmp, CA certificates.
func baseEntries(caBundle []byte) []entry {
	passwd := "root:x:0:0:root:/root:/sbin/nologin\n" +
		fmt.Sprintf("%s:x:%d:%d:%s:/home/%s:/sbin/nologin\n", nonrootName, nonrootID, nonrootID, nonrootName, nonrootName)
	group := "root:x:0:\n" + fmt.Sprintf("%s:x:%d:\n", nonrootName, nonrootID)
	return []entry{
		{name: "etc/", mode: 0o755},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: caPathInImage, mode: 0o644, data: caBundle},
		{name: "home/", mode: 0o755},
		{name: "home/" + nonrootName + "/", mode: 0o700, uid: nonrootID, gid: nonrootID},
		{name: "tmp/", mode: 0o1777},
	}
}

// readCABundle reads the build machine's CA bundle, bounded.
func readCABundle(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("CA certificates for the image: %w (install the ca-certificates package)", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCABundle+1))
	if err != nil {
		return nil, fmt.Errorf("CA certificates for the image: read %s: %w", p, err)
	}
	if len(data) > maxCABundle {
		return nil, fmt.Errorf("CA certificates for the image: %s is larger than %d bytes", p, maxCABundle)
	}
	if !bytes.Contains(data, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, fmt.Errorf("CA certificates for the image: %s holds no PEM certificate", p)
	}
	return data, nil
}

// writeTar writes entries in name order with nothing in the headers that differs between two builds:
// one modification time, fixed owners, USTAR format (no PAX access or change times).
func writeTar(w io.Writer, entries []entry, mtime time.Time) error {
	sorted := append([]entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	tw := tar.NewWriter(w)
	for _, e := range sorted {
		if err := writeEntry(tw, e, mtime); err != nil {
			return err
		}
	}
	return tw.Close()
}

func writeEntry(tw *tar.Writer, e entry, mtime time.Time) error {
	hdr := &tar.Header{
		Name:    e.name,
		Mode:    e.mode,
		Uid:     e.uid,
		Gid:     e.gid,
		Uname:   userName(e.uid),
		Gname:   userName(e.gid),
		ModTime: mtime,
		Format:  tar.FormatUSTAR,
	}
	var body io.Reader
	switch {
	case strings.HasSuffix(e.name, "/"):
		hdr.Typeflag = tar.TypeDir
	case e.file != "":
		f, err := os.Open(e.file)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Size, body = tar.TypeReg, fi.Size(), f
	default:
		hdr.Typeflag, hdr.Size, body = tar.TypeReg, int64(len(e.data)), bytes.NewReader(e.data)
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("tar header %s: %w", e.name, err)
	}
	if body == nil {
		return nil
	}
	n, err := io.Copy(tw, body)
	if err != nil {
		return fmt.Errorf("tar %s: %w", e.name, err)
	}
	if n != hdr.Size {
		return fmt.Errorf("tar %s: wrote %d of %d bytes (file changed while read)", e.name, n, hdr.Size)
	}
	return nil
}

func userName(id int) string {
	if id == nonrootID {
		return nonrootName
	}
	return "root"
}

// gzipLayer compresses the layer once, in memory, so its digest is computed from the bytes that are written
// and pushed (go-containerregistry would otherwise compress again for each of those steps). The gzip header
// carries no name and no time.
func gzipLayer(entries []entry, mtime time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if err := writeTar(zw, entries, mtime); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// dirEntries lists a directory tree as tar entries, for the tarball of an image layout.
func dirEntries(root string) ([]entry, error) {
	var entries []entry
	err := fs.WalkDir(os.DirFS(root), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		switch {
		case d.IsDir():
			entries = append(entries, entry{name: p + "/", mode: 0o755})
		case d.Type().IsRegular():
			entries = append(entries, entry{name: p, mode: 0o644, file: filepath.Join(root, filepath.FromSlash(p))})
		default:
			return fmt.Errorf("%s: not a regular file or directory", filepath.Join(root, filepath.FromSlash(p)))
		}
		return nil
	})
	return entries, err
}
