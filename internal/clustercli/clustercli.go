// Package clustercli is the command line that talks to the mailshift operator through a kubeconfig:
// status, report, suspend, resume, ping MAILBOX and client-config. It is the binary kubectl-mailshift (the
// kubectl plugin `kubectl mailshift`), kept apart from mailshift so that the Kubernetes client libraries,
// their size and their start-up cost stay out of every mailshift command.
package clustercli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/mailshift/mailshift/internal/clicommon"
	"github.com/mailshift/mailshift/internal/version"
)

const rootLong = `kubectl mailshift: follow and steer the mailshift operator's migrations, through your kubeconfig
(--kubeconfig, --context, -n, -A as kubectl).

  status                       migration batches, migrations and sync policies, with progress, rate and ETA
  report NAME                  the items a migration could not copy, from its report ConfigMap
  suspend|resume NAME          stop or continue a migration (batch/NAME for a MigrationBatch)
  sync-now NAME                run a SyncPolicy's cycle now, failed items included
  ping MAILBOX                 have the operator check a Mailbox now, and show the result
  client-config MAILBOX|-l SEL --dir DIR
                               write Mailboxes' Outlook profile files into DIR, for software distribution

The commands without a cluster (ping imap://..., pst, migrate, freebusy) are mailshift's.

Exit codes: 0 success, 1 the operation failed (the message says why), 2 bad usage.`

// NewRoot is the command tree, called name: "kubectl mailshift" as the kubectl plugin, "mailshift" when
// mailshift runs it for its cluster commands. Every command prints help on stdout with exit code 0.
func NewRoot(name string, stdout, stderr io.Writer) *cobra.Command {
	long := rootLong
	if name != "kubectl mailshift" {
		long = name + long[len("kubectl mailshift"):]
	}
	root := clicommon.NewRoot(name, "Follow and steer mailshift migrations in a cluster", long, version.Get().String(), stdout, stderr)
	kf := &kubeFlags{}
	kf.register(root.PersistentFlags())
	root.AddCommand(
		newStatusCommand(kf, stdout),
		newReportCommand(kf, stdout),
		newSuspendCommand(kf, true, stdout),
		newSuspendCommand(kf, false, stdout),
		newSyncNowCommand(kf, stdout),
		newPingCommand(kf, stdout),
		newClientConfigCommand(kf, stdout),
		clicommon.NewVersionCommand(stdout),
	)
	clicommon.AddCompletionCommand(root, stderr)
	return root
}

// Run runs the command line args (without the program name) under name and returns the exit code: 0
// success, 1 failure, 2 bad usage, or a command's own code (ping: 1 when the Mailbox is not Ready).
func Run(name string, args []string, stdout, stderr io.Writer) int {
	return clicommon.Run(NewRoot(name, stdout, stderr), args, stderr)
}
