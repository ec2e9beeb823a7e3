// Package clicommon is what the two command-line tools, mailshift and kubectl-mailshift, share: how a
// command ends (exit codes), -o table|json, JSON output, argument checks, the version command and text made
// safe for a terminal. It links no Kubernetes package, so that mailshift starts as fast without them.
package clicommon

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// ExitCode ends a command that has already said what went wrong with this exit code.
type ExitCode int

func (e ExitCode) Error() string { return fmt.Sprintf("exit code %d", int(e)) }

// Failure is an error of the operation itself (exit code 1), as opposed to a mistake in the command line
// (exit code 2): every other error a command returns is a usage error.
type Failure struct{ Err error }

func (f Failure) Error() string { return f.Err.Error() }
func (f Failure) Unwrap() error { return f.Err }

// Failed is a Failure with a formatted message.
func Failed(format string, a ...any) error { return Failure{fmt.Errorf(format, a...)} }

// Run runs root with args and returns the exit code: 0 success, 1 failure, 2 bad usage (the message on
// stderr), or a command's own ExitCode.
func Run(root *cobra.Command, args []string, stderr io.Writer) int {
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if cmd == nil {
		cmd = root
	}
	var code ExitCode
	var fail Failure
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &fail):
		fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), fail.Err)
		return 1
	default:
		fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", cmd.CommandPath(), err, cmd.CommandPath())
		return 2
	}
}

// NewRoot is a root command called name ("mailshift", or "kubectl mailshift" for the kubectl plugin) with
// the behaviour both tools share: errors are returned (Run prints them), help goes to stdout with exit
// code 0, no command at all shows the usage on stderr with exit code 2, --version prints the version line.
func NewRoot(name, short, long, versionLine string, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           strings.ReplaceAll(name, " ", "-"),
		Short:         short,
		Long:          long,
		Version:       versionLine,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(c *cobra.Command, args []string) error {
			// No command: what there is to run, where a person sees it, and the usage error code.
			fmt.Fprintln(stderr, c.UsageString())
			return ExitCode(2)
		},
	}
	if strings.Contains(name, " ") {
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: name}
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return err }) // a usage error: exit code 2
	return root
}

// AddCompletionCommand adds cobra's completion command, whose help (exit code 0) for a shell it does not
// know becomes a usage error like any other.
func AddCompletionCommand(root *cobra.Command, stderr io.Writer) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.RunE = func(c *cobra.Command, args []string) error {
				if len(args) == 0 {
					fmt.Fprintln(stderr, c.UsageString())
					return ExitCode(2)
				}
				return fmt.Errorf("invalid argument %q: the shell must be bash, zsh, fish or powershell", args[0])
			}
		}
	}
}

// NoArgs is cobra.NoArgs with a message that names the surplus argument.
func NoArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", args[0])
	}
	return nil
}

// OneName accepts exactly one NAME argument.
func OneName(what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return fmt.Errorf("need the name of the %s", what)
		case len(args) > 1:
			return fmt.Errorf("need one %s name, got %d arguments (%s)", what, len(args), strings.Join(args, " "))
		}
		return nil
	}
}

// NamesIMAPAccount says whether the arguments name an IMAP account by URL (imap:// or imaps://): `ping`
// with a URL is mailshift's direct check of the account, `ping` with a name the operator's check of a
// Mailbox (a Mailbox name never contains "://").
func NamesIMAPAccount(args []string) bool {
	for _, a := range args {
		l := strings.ToLower(a)
		if strings.HasPrefix(l, "imap://") || strings.HasPrefix(l, "imaps://") {
			return true
		}
	}
	return false
}
