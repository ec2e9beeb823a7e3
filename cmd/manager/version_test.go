package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/testenv"
	"github.com/mailshift/mailshift/internal/version"
)

// TestVersionFlag builds the manager stamped with a version, as a release does, and asks it and its worker
// subcommand what they are: both print the stamp and exit 0 without needing a cluster.
func TestVersionFlag(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "manager")
	build := exec.Command("go", "build", "-o", bin, "-ldflags", version.LDFlags("v7.8.9", "0123456789abcdef0123", "2026-12-04T05:06:07Z"), "./cmd/manager")
	build.Dir = testenv.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"--version"}, {"worker", "--version"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"KUBECONFIG=/nonexistent"} // no cluster: --version must not need one
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("manager %v: %v", args, err)
		}
		if want := "v7.8.9 (commit 0123456789ab, built 2026-12-04T05:06:07Z,"; !strings.HasPrefix(string(out), want) {
			t.Errorf("manager %v printed %q, want it to start with %q", args, out, want)
		}
	}
}
