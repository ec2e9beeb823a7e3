// Package clitest holds the checks both command-line trees (mailshift and kubectl-mailshift) must pass, so
// each binary's tests run the same assertions instead of a copy of them. It is imported by tests only.
package clitest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mailshift/mailshift/internal/version"
)

// Run runs one command line and returns its exit code, stdout and stderr.
type Run func(args ...string) (code int, stdout, stderr string)

// CommandPaths lists every command of the tree below root, as argument lists ("pst", "inspect").
func CommandPaths(root *cobra.Command) [][]string {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			p := append(append([]string(nil), path...), sub.Name())
			paths = append(paths, p)
			walk(sub, p)
		}
	}
	walk(root, nil)
	return paths
}

// HelpOnEveryCommand checks that -h, --help and `help CMD` print the command's help on stdout, nothing on
// stderr, and exit 0, for the root and every command of paths (at least minCommands of them).
func HelpOnEveryCommand(t *testing.T, name string, run Run, paths [][]string, minCommands int) {
	t.Helper()
	paths = append(paths, nil) // nil: the root itself
	if len(paths) < minCommands {
		t.Fatalf("only %d commands found: %v", len(paths), paths)
	}
	for _, path := range paths {
		for _, form := range [][]string{append(append([]string(nil), path...), "-h"), append(append([]string(nil), path...), "--help"), append([]string{"help"}, path...)} {
			code, out, errOut := run(form...)
			if code != 0 || errOut != "" || len(out) < 50 {
				t.Errorf("%s %s: exit %d, %d bytes on stdout, stderr %q; want exit 0, the help on stdout, nothing on stderr",
					name, strings.Join(form, " "), code, len(out), errOut)
			}
		}
	}
}

// CompletionScripts checks cobra's completion script of each shell holds its marker, and that the binary's
// own __complete answers "su" with suspend.
func CompletionScripts(t *testing.T, run Run, markers map[string]string) {
	t.Helper()
	for shell, marker := range markers {
		code, out, errOut := run("completion", shell)
		if code != 0 || errOut != "" || !strings.Contains(out, marker) {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q; want exit 0 and a script with %q", shell, code, len(out), errOut, marker)
		}
	}
	// The scripts ask the binary itself: its __complete answers with the commands.
	code, out, _ := run("__complete", "su")
	if code != 0 || !strings.Contains(out, "suspend") {
		t.Errorf("__complete su: exit %d, %q; want suspend among the answers", code, out)
	}
}

// Version checks `version` prints internal/version's line, `version -o json` its Info, `--version` the line.
func Version(t *testing.T, run Run) {
	t.Helper()
	want := version.Get()
	code, out, _ := run("version")
	if code != 0 || out != want.String()+"\n" {
		t.Errorf("version: exit %d, %q; want %q", code, out, want.String())
	}
	code, out, _ = run("--version")
	if code != 0 || out != want.String()+"\n" {
		t.Errorf("--version: exit %d, %q; want %q", code, out, want.String())
	}
	for _, flag := range []string{"--output", "-o"} {
		code, out, _ = run("version", flag, "json")
		var got version.Info
		if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || got != want {
			t.Errorf("version %s json: exit %d, %q (%v); want %+v", flag, code, out, err, want)
		}
	}
}

// GoCommand is the go command to build or list with from a test: `go test` puts its own GOROOT/bin first on
// the PATH of the tests it runs, so this is the toolchain running the test (runtime.GOROOT is deprecated:
// it names where the test binary was built, not where it runs).
func GoCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}
