package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/clicommon/clitest"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// commandPaths lists every command of the tree below the root, as argument lists.
func commandPaths() [][]string {
	root := newRootCommand(&bytes.Buffer{}, &bytes.Buffer{})
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	return clitest.CommandPaths(root)
}

// TestHelpOnEveryCommand: -h, --help and `help CMD` print the command's help on stdout, nothing on stderr,
// and exit 0, for every command of the tree (a command added later is covered without a new test).
func TestHelpOnEveryCommand(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // the cluster commands' own help, as where kubectl-mailshift is not installed
	clitest.HelpOnEveryCommand(t, "mailshift", runCLI, commandPaths(), 14)
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
	clitest.CompletionScripts(t, runCLI, map[string]string{
		"bash": "complete -o default -F __start_mailshift mailshift",
		"zsh":  "#compdef mailshift",
		"fish": "complete -c mailshift",
	})
}

// TestVersion: `version` prints internal/version's line, `version -o json` its Info, `--version` the line.
func TestVersion(t *testing.T) {
	clitest.Version(t, runCLI)
}
