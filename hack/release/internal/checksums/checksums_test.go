package checksums

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteIsCheckedBySha256sum writes SHA256SUMS for a small tree and has coreutils check it, then
// changes a file and expects the check to fail.
func TestWriteIsCheckedBySha256sum(t *testing.T) {
	sha256sum, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Skip("sha256sum (coreutils) not installed")
	}
	dir := t.TempDir()
	for name, content := range map[string]string{"a.tar.gz": "a", "image/index.json": "{}", "image/blobs/sha256/x": "blob"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[0].Path != "a.tar.gz" || entries[2].Path != "image/index.json" {
		t.Errorf("entries %+v, want the three files sorted by path", entries)
	}
	check := func() error {
		cmd := exec.Command(sha256sum, "--check", "--strict", FileName)
		cmd.Dir = dir
		return cmd.Run()
	}
	if err := check(); err != nil {
		t.Fatalf("sha256sum --check: %v", err)
	}
	f, err := os.Open(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := Parse(f)
	f.Close()
	if err != nil || len(parsed) != 3 || parsed[1] != entries[1] {
		t.Errorf("Parse: %+v, %v; want what Write wrote", parsed, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.tar.gz"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := check(); err == nil {
		t.Error("sha256sum --check passed after a file changed")
	}
}

func TestParseRefusesBadLines(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, line := range []string{
		sum + " one-space",
		strings.ToUpper(sum) + "  upper",
		sum[:62] + "  short",
		sum + "  ../outside",
		sum + "  /absolute",
		"garbage",
	} {
		if _, err := Parse(strings.NewReader(line + "\n")); err == nil {
			t.Errorf("Parse accepted %q", line)
		}
	}
	if e, err := Parse(strings.NewReader(sum + " *bin/x\n")); err != nil || len(e) != 1 || e[0].Path != "bin/x" {
		t.Errorf("binary-mode line: %+v, %v", e, err)
	}
}
