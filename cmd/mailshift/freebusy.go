package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/calendarsource"
	"github.com/mailshift/mailshift/internal/freebusy"
	"github.com/mailshift/mailshift/internal/imapconn"
)

const freeBusyUsage = `Usage:
  mailshift freebusy --from imap://USER@HOST:PORT [--folder NAME]... [--start RFC3339 --end RFC3339] --out FILE.vfb

Computes the free/busy (VFREEBUSY) of a live mailbox exactly as the operator publishes it, without
Kubernetes, so you can preview what Outlook will see. Default folders: the mailbox's calendar folders (Kolab
folder-type annotation), else Calendar. Default window: 7 days back to 60 days ahead. The password comes
from --password-file or MAILSHIFT_PASSWORD (--admin/--admin-password-file or MAILSHIFT_ADMIN_PASSWORD to act
as USER), never from the command line; migrate's names for its source (--from-password-file, --from-admin,
MAILSHIFT_FROM_PASSWORD, ...) work too. --out - writes to standard output.

Exit codes: 0 written (calendar objects that could not be read are listed on stderr); 1 the mailbox could
not be read or the file not written; 2 bad usage.

Flags:
`

func freeBusyCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("freebusy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the mailbox: imap://USER@HOST:PORT (imaps:// for implicit TLS)")
	pwFile := fs.String("password-file", "", "file whose first line is the password (else $MAILSHIFT_PASSWORD or $MAILSHIFT_FROM_PASSWORD)")
	admin := fs.String("admin", "", "log in as this admin and act as USER")
	adminPwFile := fs.String("admin-password-file", "", "file with the admin's password (else $MAILSHIFT_ADMIN_PASSWORD or $MAILSHIFT_FROM_ADMIN_PASSWORD)")
	// The names `mailshift migrate` gives the same settings of its source, so a command line can be reused.
	fs.StringVar(pwFile, "from-password-file", "", "the same as --password-file")
	fs.StringVar(admin, "from-admin", "", "the same as --admin")
	fs.StringVar(adminPwFile, "from-admin-password-file", "", "the same as --admin-password-file")
	tlsMode := fs.String("tls", "starttls", "starttls, implicit or none (none needs --allow-plaintext)")
	allowPlain := fs.Bool("allow-plaintext", false, "allow --tls none, which sends the password in clear text (for loopback tests)")
	caFile := fs.String("ca-file", "", "PEM file of CAs that sign the server's certificate")
	var folders stringList
	fs.Var(&folders, "folder", "calendar folder to read; repeatable (default: the mailbox's calendar folders)")
	startFlag := fs.String("start", "", "window start, RFC 3339 (default: 7 days ago, 00:00 UTC)")
	endFlag := fs.String("end", "", "window end, RFC 3339 (default: 60 days ahead, 00:00 UTC)")
	tz := fs.String("time-zone", "UTC", "IANA zone that places all-day events and floating times, as the owner's Outlook would")
	organizer := fs.String("organizer", "", "ORGANIZER address (default: USER, or USER@HOST when USER has no @)")
	out := fs.String("out", "", "file to write (- for standard output)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	fs.Usage = func() { fmt.Fprint(fs.Output(), freeBusyUsage); fs.PrintDefaults() }
	if code, stop := parseFlags(fs, stdout, stderr, func() error { return fs.Parse(args) }); stop {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "mailshift freebusy: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if *from == "" || *out == "" {
		return usageErr("need --from and --out (see mailshift freebusy -h)")
	}
	t, err := parseIMAPURL(*from)
	if err != nil {
		return usageErr("--from: %v", err)
	}
	if t.endpoint.TLS, err = tlsFlag(*tlsMode, *allowPlain, strings.HasPrefix(*from, "imaps://")); err != nil {
		return usageErr("%v", err)
	}
	if *caFile != "" {
		if t.endpoint.CAPEM, err = os.ReadFile(*caFile); err != nil {
			return usageErr("CA file: %v", err)
		}
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return usageErr("--time-zone: %q is not an IANA time zone name", *tz)
	}
	now := time.Now()
	start, end := freebusy.DefaultWindow(now)
	if *startFlag != "" {
		if start, err = time.Parse(time.RFC3339, *startFlag); err != nil {
			return usageErr("--start: %v", err)
		}
	}
	if *endFlag != "" {
		if end, err = time.Parse(time.RFC3339, *endFlag); err != nil {
			return usageErr("--end: %v", err)
		}
	}
	if !end.After(start) {
		return usageErr("--end %s is not after --start %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	cred := imapconn.Credentials{Login: t.login}
	if *admin != "" {
		cred.AdminLogin = *admin
		if cred.AdminPassword, err = readSourcePassword(*adminPwFile, "MAILSHIFT_ADMIN_PASSWORD", "MAILSHIFT_FROM_ADMIN_PASSWORD"); err != nil {
			return usageErr("%v", strings.ReplaceAll(err.Error(), "--password-file", "--admin-password-file"))
		}
	} else if cred.Password, err = readSourcePassword(*pwFile, "MAILSHIFT_PASSWORD", "MAILSHIFT_FROM_PASSWORD"); err != nil {
		return usageErr("%v", err)
	}
	org := *organizer
	if org == "" {
		org = t.login
		if !strings.Contains(org, "@") {
			org += "@" + t.endpoint.Host
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	pub, err := calendarsource.Build(ctx, calendarsource.Request{
		Endpoint: t.endpoint, Credentials: cred, Folders: folders,
		FreeBusy: freebusy.Options{Start: start, End: end, Location: loc, Organizer: org, Stamp: now.UTC().Truncate(time.Second)},
	})
	if err != nil {
		fmt.Fprintf(stderr, "mailshift freebusy: %s: %v\n", imapconn.KindOf(err), err)
		return 1
	}
	for _, u := range pub.Unreadable {
		fmt.Fprintf(stderr, "mailshift freebusy: left out: %s\n", u)
	}
	// Through a temporary file, so a full disk or an interruption never leaves a truncated .vfb where a
	// good one was.
	write := func(w io.Writer) error { _, err := w.Write(pub.VFB); return err }
	if *out == "-" {
		err = write(stdout)
	} else {
		err = writeAtomic(*out, true, write)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mailshift freebusy: write %s: %v\n", *out, err)
		return 1
	}
	fmt.Fprintf(stderr, "%s from %s (%d messages) in %s, %s to %s\n", plural(len(pub.Periods), "busy period"),
		plural(pub.Events, "event"), pub.Messages, strings.Join(pub.Folders, ", "),
		start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	if len(pub.Unreadable) > 0 {
		fmt.Fprintf(stderr, "%s could not be read and were left out\n", plural(len(pub.Unreadable), "calendar object"))
	}
	return 0
}

// readSourcePassword is readPassword with migrate's source variable as a second choice.
func readSourcePassword(file, env, migrateEnv string) (string, error) {
	if file == "" && os.Getenv(env) == "" && os.Getenv(migrateEnv) != "" {
		env = migrateEnv
	}
	return readPassword(file, env)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
