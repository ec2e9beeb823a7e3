// Command mailshift is the command-line tool for people: it checks IMAP accounts the way the operator does,
// without Kubernetes. It also inspects PST files, migrates mail and previews free/busy.
//
// Exit codes: 0 success, 1 the operation failed (the message says why), 2 bad usage.
package main

import (
	"fmt"
	"io"
	"os"
)

var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprint(w, `mailshift: move mail off Exchange and PST files onto IMAP, and keep the groupware working.

Usage:
  mailshift ping imap://USER@HOST:PORT [flags]   log in and report what the server offers ("Ping Server")
  mailshift pst inspect|export FILE ...          read an Outlook PST file: folder tree, or export as .eml/mbox
  mailshift migrate --from pst:FILE --to imap://USER@HOST:PORT [flags]
                                                 copy a PST or a mailbox into an IMAP account, resumably
  mailshift freebusy --from imap://USER@HOST:PORT --out FILE.vfb [flags]
                                                 compute a mailbox's free/busy as the operator publishes it
  mailshift version

Run 'mailshift ping -h', 'mailshift migrate -h' or 'mailshift freebusy -h' for their flags.
`)
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "ping":
		return ping(args[1:], stdout, stderr)
	case "pst":
		return pstCmd(args[1:], stdout, stderr)
	case "migrate":
		return migrate(args[1:], stdout, stderr)
	case "freebusy":
		return freeBusyCmd(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "mailshift", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "mailshift: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
}
