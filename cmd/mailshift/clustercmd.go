package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// The cluster commands talk to the operator through client-go, which would add 18 MB to mailshift and
// milliseconds to the start of every command, a PST export's as much as `mailshift status`'s. They are the
// binary kubectl-mailshift (cmd/kubectl-mailshift); mailshift runs it for them with the same arguments.

// clusterCLI is the binary that has the cluster commands.
const clusterCLI = "kubectl-mailshift"

// clusterCommands are kubectl-mailshift's commands that mailshift offers too (and ping MAILBOX).
var clusterCommands = []struct{ use, short string }{
	{"status [flags]", "Show migration batches, migrations and sync policies with progress, rate and ETA"},
	{"report NAME [flags]", "List the items a migration could not copy, from its report ConfigMap"},
	{"suspend NAME | KIND/NAME [flags]", "Stop a MailboxMigration, MigrationBatch (batch/NAME) or SyncPolicy (syncpolicy/NAME)"},
	{"resume NAME | KIND/NAME [flags]", "Continue a MailboxMigration, MigrationBatch (batch/NAME) or SyncPolicy (syncpolicy/NAME)"},
	{"sync-now NAME [flags]", "Run a SyncPolicy's cycle now, failed items included"},
	{"client-config (MAILBOX | -l SELECTOR) --dir DIR [flags]", "Write Mailboxes' Outlook profile files into a directory, for software distribution"},
}

const clusterLong = `%s (provided by kubectl-mailshift).

mailshift runs kubectl-mailshift, found next to mailshift or on PATH, with the same arguments; its
help (mailshift %s --help) says more. kubectl-mailshift is in the release archive next to mailshift, and
krew installs it as the kubectl plugin ` + "`kubectl mailshift`" + ` (kubectl krew install mailshift).`

// newClusterCommand is a command of kubectl-mailshift: every argument, --help too, goes to it.
func newClusterCommand(use, short string, stdout, stderr io.Writer) *cobra.Command {
	name, _, _ := strings.Cut(use, " ")
	c := &cobra.Command{
		Use:                use,
		Short:              short + " (kubectl-mailshift)",
		Long:               fmt.Sprintf(clusterLong, short, name),
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			if onlyHelp(args) {
				return c.Help()
			}
			return runClusterCLI(append([]string{name}, args...), stdout, stderr)
		},
		ValidArgsFunction: completeFromClusterCLI(name),
	}
	// `mailshift help status` is kubectl-mailshift's help where it is installed, and this command's own
	// (which says how to install it) where it is not.
	c.SetHelpFunc(func(c *cobra.Command, args []string) {
		if _, err := findClusterCLI(); err != nil {
			c.Parent().HelpFunc()(c, args)
			return
		}
		_ = runClusterCLI([]string{name, "--help"}, stdout, stderr)
	})
	return c
}

// findClusterCLI looks for kubectl-mailshift next to the running mailshift (as the release archive
// unpacks them), then on PATH.
func findClusterCLI() (string, error) {
	file := clusterCLI
	if runtime.GOOS == "windows" {
		file += ".exe"
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), file)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return exec.LookPath(clusterCLI)
}

// runClusterCLI runs kubectl-mailshift with args, the user's stdin, stdout and stderr, and returns its exit
// code as this command's. Its argv[0] is "mailshift", so that its help and messages say `mailshift status`
// as the user wrote it.
func runClusterCLI(args []string, stdout, stderr io.Writer) error {
	path, err := findClusterCLI()
	if err != nil {
		fmt.Fprintf(stderr, "mailshift %s: this command is provided by %s, which is not installed next to mailshift or on PATH.\n"+
			"Install %s: it is in the mailshift release archive next to mailshift, and krew installs it as `kubectl mailshift`\n"+
			"(kubectl krew install mailshift).\n", args[0], clusterCLI, clusterCLI)
		if args[0] == "ping" {
			fmt.Fprintln(stderr, "To check an IMAP account directly, name it as a URL: mailshift ping imap://USER@HOST:PORT.")
		}
		return exitCode(2)
	}
	cmd := exec.Command(path, args...)
	cmd.Args[0] = "mailshift"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	if err := cmd.Start(); err != nil {
		return failed("run %s: %v", path, err)
	}
	// Ctrl-C reaches both processes; mailshift stays until kubectl-mailshift has ended, and passes on a
	// signal sent to it alone.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && ee.ExitCode() > 0:
		return exitCode(ee.ExitCode())
	}
	return failed("%s: %v", clusterCLI, err)
}

// completeFromClusterCLI completes a cluster command's arguments with kubectl-mailshift's own completion
// (object names from the cluster), and with nothing where it is not installed.
func completeFromClusterCLI(name string) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		var out bytes.Buffer
		if runClusterCLI(append(append([]string{cobra.ShellCompRequestCmd, name}, args...), toComplete), &out, io.Discard) != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		// cobra's answer: one completion a line, then ":DIRECTIVE".
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		directive := cobra.ShellCompDirectiveNoFileComp
		if n := len(lines); n > 0 && strings.HasPrefix(lines[n-1], ":") {
			if d, err := strconv.Atoi(lines[n-1][1:]); err == nil {
				directive = cobra.ShellCompDirective(d)
			}
			lines = lines[:n-1]
		}
		var names []string
		for _, l := range lines {
			if l != "" {
				names = append(names, l)
			}
		}
		return names, directive
	}
}
