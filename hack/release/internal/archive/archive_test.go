package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestArchivesAreReproducible writes each archive twice from copies of the same files that differ in
// modification time and permissions on disk, in a different order: the bytes must be the same.
func TestArchivesAreReproducible(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode, mtime time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old, recent := time.Unix(1000, 0), time.Now()
	a := []File{{"mailshift", write("bin1", "binary", 0o700, old), 0o755}, {"LICENSE", write("lic1", "licence", 0o600, old), 0o644}}
	b := []File{{"LICENSE", write("lic2", "licence", 0o644, recent), 0o644}, {"mailshift", write("bin2", "binary", 0o755, recent), 0o755}}
	date := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, w := range []struct {
		name  string
		write func(string, []File, time.Time) error
	}{{"tar.gz", WriteTarGz}, {"zip", WriteZip}} {
		pa, pb := filepath.Join(dir, "a."+w.name), filepath.Join(dir, "b."+w.name)
		if err := w.write(pa, a, date); err != nil {
			t.Fatal(err)
		}
		if err := w.write(pb, b, date.In(time.FixedZone("elsewhere", 5*3600))); err != nil {
			t.Fatal(err)
		}
		da, _ := os.ReadFile(pa)
		db, _ := os.ReadFile(pb)
		if !bytes.Equal(da, db) {
			t.Errorf("%s: two archives of the same files differ", w.name)
		}
	}

	f, err := os.Open(filepath.Join(dir, "a.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(date) {
			t.Errorf("%s dated %s, want %s", h.Name, h.ModTime, date)
		}
	}
	if len(names) != 2 || names[0] != "LICENSE" || names[1] != "mailshift" {
		t.Errorf("entries %q, want LICENSE, mailshift", names)
	}
}

func TestRefusesUnsafeNames(t *testing.T) {
	src := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(src, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "/etc/passwd", "../x", "a/../../x", `a\b`} {
		if err := WriteTarGz(filepath.Join(t.TempDir(), "x.tar.gz"), []File{{name, src, 0o644}}, time.Unix(0, 0)); err == nil {
			t.Errorf("entry name %q accepted", name)
		}
	}
	if err := WriteZip(filepath.Join(t.TempDir(), "x.zip"), []File{{"a", src, 0o644}, {"a", src, 0o644}}, time.Unix(0, 0)); err == nil {
		t.Error("the same entry twice accepted")
	}
}
