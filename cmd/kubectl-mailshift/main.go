// Command kubectl-mailshift is the kubectl plugin `kubectl mailshift`: the commands that read and steer the
// mailshift operator's objects with the user's kubeconfig (status, report, suspend, resume, ping MAILBOX,
// client-config).
// mailshift runs it for those commands too, as `mailshift status` and so on. They live in a binary of their
// own so that mailshift, which a PST export starts once per file, links no Kubernetes client.
//
// Exit codes: 0 success, 1 the operation failed (the message says why), 2 bad usage.
package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/mailshift/mailshift/internal/clustercli"
)

func main() {
	os.Exit(clustercli.Run(commandName(os.Args[0]), os.Args[1:], os.Stdout, os.Stderr))
}

// commandName is how the user called the commands: "mailshift" when mailshift ran this binary for its
// cluster commands (it passes its own name as argv[0]), "kubectl mailshift" otherwise, as kubectl runs it.
func commandName(argv0 string) string {
	base := strings.TrimSuffix(strings.ToLower(filepath.Base(argv0)), ".exe")
	if base == "mailshift" {
		return "mailshift"
	}
	return "kubectl mailshift"
}
