// Command mailshift is the command-line tool for people: it checks IMAP accounts the way the operator does,
// without Kubernetes. It also inspects PST files, migrates mail and previews free/busy. Its cluster
// commands (status, report, suspend, resume, ping MAILBOX, client-config) are kubectl-mailshift's, the
// kubectl plugin `kubectl mailshift`, which mailshift runs for them: mailshift itself links no Kubernetes
// package, so that every command, a PST export above all, starts without their cost.
//
// Exit codes: 0 success, 1 the operation failed (the message says why), 2 bad usage; pst and migrate use 3
// as their own help text says.
package main

import (
	"io"
	"os"

	"github.com/mailshift/mailshift/internal/clicommon"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the mailshift command line with args (without the program name), as tests call it.
func run(args []string, stdout, stderr io.Writer) int {
	return clicommon.Run(newRootCommand(stdout, stderr), args, stderr)
}
