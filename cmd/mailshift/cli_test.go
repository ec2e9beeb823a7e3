package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mailshift/mailshift/internal/version"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// commandPaths lists every command of the tree below the root, as argument lists ("pst", "inspect").
func commandPaths() [][]string {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			p := append(append([]string(nil), path...), sub.Name())
			paths = append(paths, p)
			walk(sub, p)
		}
	}
	root := newRootCommand(&bytes.Buffer{}, &bytes.Buffer{})
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	walk(root, nil)
	return paths
}

// TestHelpOnEveryCommand: -h, --help and `help CMD` print the command's help on stdout, nothing on stderr,
// and exit 0, for every command of the tree (a command added later is covered without a new test).
func TestHelpOnEveryCommand(t *testing.T) {
	t.Setenv("PATH", t.TempDir())        // the cluster commands' own help, as where kubectl-mailshift is not installed
	paths := append(commandPaths(), nil) // nil: the root itself
	if len(paths) < 14 {
		t.Fatalf("only %d commands found: %v", len(paths), paths)
	}
	for _, path := range paths {
		for _, form := range [][]string{append(append([]string(nil), path...), "-h"), append(append([]string(nil), path...), "--help"), append([]string{"help"}, path...)} {
			code, out, errOut := runCLI(form...)
			if code != 0 || errOut != "" || len(out) < 50 {
				t.Errorf("mailshift %s: exit %d, %d bytes on stdout, stderr %q; want exit 0, the help on stdout, nothing on stderr",
					strings.Join(form, " "), code, len(out), errOut)
			}
		}
	}
}

// TestUsageErrors: mistakes in the command line exit 2 with a message on stderr and nothing on stdout.
func TestUsageErrors(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no kubectl-mailshift
	cases := []struct {
		args []string
		want string
	}{
		{nil, "Available Commands"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--frobnicate"}, "unknown flag: --frobnicate"},
		{[]string{"ping"}, "Usage: mailshift ping imap://USER@HOST:PORT"},
		{[]string{"ping", "--tls", "none"}, "provided by kubectl-mailshift"},
		{[]string{"ping", "imap://alice@127.0.0.1:1", "--tls", "bogus"}, "--tls must be starttls, implicit or none"},
		{[]string{"version", "extra"}, `unexpected argument "extra"`},
		{[]string{"version", "-o", "yaml"}, `must be table or json, not "yaml"`},
		{[]string{"migrate", "--frobnicate"}, "flag provided but not defined: -frobnicate"},
		{[]string{"migrate", "--from", "pst:x", "--to", "imap://a@b", "-o", "yaml"}, `must be table or json, not "yaml"`},
		{[]string{"pst", "inspect"}, "need exactly one FILE"},
		{[]string{"pst", "inspect", "x.pst", "--output", "xml"}, `must be table or json, not "xml"`},
		{[]string{"freebusy", "--from", "imap://a@b"}, "need --from and --out"},
		{[]string{"completion", "tcsh"}, `unknown command "tcsh"`},
		{[]string{"completion"}, "bash"},
	}
	for _, tc := range cases {
		code, out, errOut := runCLI(tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("mailshift %s: exit %d, stdout %q, stderr %q; want exit 2 and %q on stderr only",
				strings.Join(tc.args, " "), code, out, errOut, tc.want)
		}
	}
}

// TestCompletionScripts: cobra's completion scripts for the three shells, each the real thing for its shell.
func TestCompletionScripts(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash": "complete -o default -F __start_mailshift mailshift",
		"zsh":  "#compdef mailshift",
		"fish": "complete -c mailshift",
	} {
		code, out, errOut := runCLI("completion", shell)
		if code != 0 || errOut != "" || !strings.Contains(out, marker) {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q; want exit 0 and a script with %q", shell, code, len(out), errOut, marker)
		}
	}
	// The scripts ask the binary itself: its __complete answers with the commands.
	code, out, _ := runCLI("__complete", "su")
	if code != 0 || !strings.Contains(out, "suspend") {
		t.Errorf("__complete su: exit %d, %q; want suspend among the answers", code, out)
	}
}

// TestVersion: `version` prints internal/version's line, `version -o json` its Info, `--version` the line.
func TestVersion(t *testing.T) {
	want := version.Get()
	code, out, _ := runCLI("version")
	if code != 0 || out != want.String()+"\n" {
		t.Errorf("version: exit %d, %q; want %q", code, out, want.String())
	}
	code, out, _ = runCLI("--version")
	if code != 0 || out != want.String()+"\n" {
		t.Errorf("--version: exit %d, %q; want %q", code, out, want.String())
	}
	for _, flag := range []string{"--output", "-o"} {
		code, out, _ = runCLI("version", flag, "json")
		var got version.Info
		if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || got != want {
			t.Errorf("version %s json: exit %d, %q (%v); want %+v", flag, code, out, err, want)
		}
	}
}
