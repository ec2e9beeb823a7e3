package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWrite: the file is made with its directory, replaced whole, given its mode, and no temporary file is
// left beside it; a directory in its place is an error that leaves the directory as it was.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "state")
	for _, content := range []string{"first, longer content", "second"} {
		if err := Write(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != content {
			t.Fatalf("read back %q, %v; want %q", b, err, content)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode: %v, %v; want 0640", fi, err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 1 {
		t.Errorf("the directory holds %v (%v); want the file alone", entries, err)
	}
	if err := os.Mkdir(filepath.Join(dir, "taken"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(dir, "taken"), []byte("x"), 0o600); err == nil {
		t.Error("a directory was replaced by a file")
	}
	if fi, err := os.Stat(filepath.Join(dir, "taken")); err != nil || !fi.IsDir() {
		t.Errorf("the directory after the failed write: %v, %v", fi, err)
	}
}
