package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mailshift/mailshift/internal/clicommon"
	"github.com/mailshift/mailshift/internal/version"
)

// The helpers mailshift shares with kubectl-mailshift, under the names its commands use.
type exitCode = clicommon.ExitCode

var (
	failed       = clicommon.Failed
	writeJSON    = clicommon.WriteJSON
	outputFlag   = clicommon.OutputFlag
	terminalSafe = clicommon.TerminalSafe
	humanBytes   = clicommon.HumanBytes
)

const rootLong = `mailshift: move mail off Exchange and PST files onto IMAP, and keep the groupware working.

Without a cluster:
  ping imap://USER@HOST:PORT   log in and report what the server offers ("Ping Server")
  pst inspect|export FILE      read an Outlook PST file: folder tree, or export as .eml/mbox
  migrate --from pst:FILE --to imap://USER@HOST:PORT
                               copy a PST or a mailbox into an IMAP account, resumably
  sync --from imap://USER@HOST:PORT --to imap://USER@HOST:PORT --state DIR
                               keep two accounts' mail in step, one-way or two-way, on an interval
  freebusy --from imap://USER@HOST:PORT --out FILE.vfb
                               compute a mailbox's free/busy as the operator publishes it

With the operator, through your kubeconfig (--kubeconfig, --context, -n, -A as kubectl); these are
kubectl-mailshift's (the kubectl plugin ` + "`kubectl mailshift`" + `), which mailshift runs with the same arguments:
  status                       migration batches, migrations and sync policies, with progress, rate and ETA
  report NAME                  the items a migration could not copy, from its report ConfigMap
  suspend|resume NAME          stop or continue a migration (batch/NAME for a MigrationBatch)
  sync-now NAME                run a SyncPolicy's cycle now, failed items included
  ping MAILBOX                 have the operator check a Mailbox now, and show the result
  client-config MAILBOX|-l SEL --dir DIR
                               write Mailboxes' Outlook profile files into DIR, for software distribution

Exit codes: 0 success, 1 the operation failed (the message says why), 2 bad usage; pst, migrate and sync
also use 3 (see their help).`

// newRootCommand builds the command tree; every command prints help on stdout with exit code 0.
func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := clicommon.NewRoot("mailshift", "Move mail off Exchange and PST files onto IMAP, and keep the groupware working",
		rootLong, version.Get().String(), stdout, stderr)
	root.AddCommand(
		newPingCommand(stdout, stderr),
		newPSTCommand(stdout, stderr),
		wrapFlagCommand("migrate --from SOURCE --to imap://USER@HOST:PORT [flags]", "Copy a PST file or an IMAP account into an IMAP account, resumably", migrate, stdout, stderr),
		wrapFlagCommand("sync --from imap://USER@HOST:PORT --to imap://USER@HOST:PORT --state DIR [flags]", "Keep the mail of two IMAP accounts in step, one-way or two-way, once or on an interval", syncCmd, stdout, stderr),
		wrapFlagCommand("freebusy --from imap://USER@HOST:PORT --out FILE.vfb [flags]", "Compute a mailbox's free/busy (VFREEBUSY) as the operator publishes it", freeBusyCmd, stdout, stderr),
		clicommon.NewVersionCommand(stdout),
	)
	for _, c := range clusterCommands {
		root.AddCommand(newClusterCommand(c.use, c.short, stdout, stderr))
	}
	clicommon.AddCompletionCommand(root, stderr)
	return root
}

// wrapFlagCommand makes a cobra command of a command that parses its own flags with the flag package (and
// has its own help text and exit codes): cobra finds it and passes every argument through unchanged.
func wrapFlagCommand(use, short string, run func(args []string, stdout, stderr io.Writer) int, stdout, stderr io.Writer) *cobra.Command {
	c := &cobra.Command{
		Use:                use,
		Short:              short,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			if code := run(args, stdout, stderr); code != 0 {
				return exitCode(code)
			}
			return nil
		},
	}
	// `mailshift help migrate` shows the same text as `mailshift migrate --help`.
	c.SetHelpFunc(func(*cobra.Command, []string) { run([]string{"--help"}, stdout, stderr) })
	return c
}

// newPSTCommand is `pst` and its subcommands, each parsing its own flags.
func newPSTCommand(stdout, stderr io.Writer) *cobra.Command {
	pst := wrapFlagCommand("pst inspect|export FILE [flags]", "Read an Outlook PST file: its folder tree, or export it as .eml or mbox", pstCmd, stdout, stderr)
	pst.AddCommand(
		wrapFlagCommand("inspect FILE [-o json] [--codepage N]", "Print the folder tree of a PST with item counts", pstInspect, stdout, stderr),
		wrapFlagCommand("export FILE --to DIR [flags]", "Write every item of a PST as .eml files or one mbox per folder", pstExport, stdout, stderr),
	)
	return pst
}

const pingLong = `mailshift ping imap://USER@HOST:PORT logs in to an account directly, without Kubernetes, and reports
what the server offers (its flags follow).

mailshift ping MAILBOX has the operator check a Mailbox now and shows the result; kubectl-mailshift does
that (mailshift runs it with the same arguments: see mailshift ping MAILBOX --help).`

// newPingCommand is `ping`: with an imap:// or imaps:// URL the direct check of an account (ping.go),
// otherwise the operator's check of a Mailbox, which is kubectl-mailshift's.
func newPingCommand(stdout, stderr io.Writer) *cobra.Command {
	c := &cobra.Command{
		Use:                "ping imap://USER@HOST:PORT | MAILBOX [flags]",
		Short:              "Check an IMAP account directly, or have the operator check a Mailbox (kubectl-mailshift)",
		Long:               pingLong,
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			if clicommon.NamesIMAPAccount(args) || len(args) == 0 || onlyHelp(args) {
				if code := ping(args, stdout, stderr); code != 0 {
					return exitCode(code)
				}
				return nil
			}
			return runClusterCLI(append([]string{"ping"}, args...), stdout, stderr)
		},
	}
	c.ValidArgsFunction = completeFromClusterCLI("ping")
	c.SetHelpFunc(func(c *cobra.Command, args []string) {
		c.Parent().HelpFunc()(c, args)
		fmt.Fprintln(stdout)
		ping([]string{"--help"}, stdout, stderr)
	})
	return c
}

// onlyHelp says whether args ask for help and nothing else.
func onlyHelp(args []string) bool {
	for _, a := range args {
		if a != "-h" && a != "--help" {
			return false
		}
	}
	return len(args) > 0
}
