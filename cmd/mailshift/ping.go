package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/serverping"
)

// imapTarget is an account named as imap://USER@HOST:PORT (imaps:// for implicit TLS).
type imapTarget struct {
	login    string
	endpoint imapconn.Endpoint
}

// parseIMAPURL parses imap://USER@HOST:PORT. A password in the URL is refused: it would end up in shell
// history and process listings.
func parseIMAPURL(raw string) (imapTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return imapTarget{}, fmt.Errorf("not a URL: %q", raw)
	}
	var t imapTarget
	switch u.Scheme {
	case "imap":
		t.endpoint.TLS, t.endpoint.Port = imapconn.TLSStartTLS, 143
	case "imaps":
		t.endpoint.TLS, t.endpoint.Port = imapconn.TLSImplicit, 993
	default:
		return t, fmt.Errorf("%q: the scheme must be imap:// or imaps://", raw)
	}
	if u.User == nil || u.User.Username() == "" {
		return t, fmt.Errorf("%q: no login; write imap://USER@HOST:PORT", raw)
	}
	if _, has := u.User.Password(); has {
		return t, errors.New("a password in the URL is not accepted; use --password-file or MAILSHIFT_PASSWORD")
	}
	t.login = u.User.Username()
	t.endpoint.Host = u.Hostname()
	if t.endpoint.Host == "" {
		return t, fmt.Errorf("%q: no host", raw)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return t, fmt.Errorf("%q: bad port %q", raw, p)
		}
		t.endpoint.Port = n
	}
	return t, nil
}

// readPassword takes the password from a file (first line) or the environment, never from an argument.
func readPassword(file, envName string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("password file: %w", err)
		}
		return strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r"), nil
	}
	if v := os.Getenv(envName); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("no password: use --password-file or set %s", envName)
}

func ping(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ping", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tlsMode := fs.String("tls", "", "starttls, implicit or none (default: starttls for imap://, implicit for imaps://)")
	allowPlain := fs.Bool("allow-plaintext", false, "allow --tls none, which sends the password in clear text")
	caFile := fs.String("ca-file", "", "PEM file of CAs that sign the server's certificate")
	pwFile := fs.String("password-file", "", "file whose first line is the password (else $MAILSHIFT_PASSWORD)")
	admin := fs.String("admin", "", "log in as this admin and act as USER (Dovecot master user, Cyrus SASL authorization)")
	adminPwFile := fs.String("admin-password-file", "", "file with the admin password (else $MAILSHIFT_ADMIN_PASSWORD)")
	timeout := fs.Duration("timeout", 20*time.Second, "give up after this long")
	output := outputFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: mailshift ping imap://USER@HOST:PORT [flags]")
		fs.PrintDefaults()
	}
	// Accept the URL before or after the flags.
	var rawURL string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		rawURL, args = args[0], args[1:]
	}
	if code, stop := parseFlags(fs, stdout, stderr, func() error { return fs.Parse(args) }); stop {
		return code
	}
	if rawURL == "" && fs.NArg() == 1 {
		rawURL = fs.Arg(0)
	}
	if rawURL == "" {
		fs.Usage()
		return 2
	}
	t, err := parseIMAPURL(rawURL)
	if err != nil {
		fmt.Fprintln(stderr, "mailshift ping:", err)
		return 2
	}
	switch strings.ToLower(*tlsMode) {
	case "":
	case "starttls":
		t.endpoint.TLS = imapconn.TLSStartTLS
	case "implicit":
		t.endpoint.TLS = imapconn.TLSImplicit
	case "none":
		if !*allowPlain {
			fmt.Fprintln(stderr, "mailshift ping: --tls none sends the password in clear text; add --allow-plaintext to allow it")
			return 2
		}
		t.endpoint.TLS = imapconn.TLSNone
	default:
		fmt.Fprintf(stderr, "mailshift ping: --tls must be starttls, implicit or none, not %q\n", *tlsMode)
		return 2
	}
	if *caFile != "" {
		if t.endpoint.CAPEM, err = os.ReadFile(*caFile); err != nil {
			fmt.Fprintln(stderr, "mailshift ping: CA file:", err)
			return 2
		}
	}
	cred := imapconn.Credentials{Login: t.login}
	if *admin != "" {
		cred.AdminLogin = *admin
		if cred.AdminPassword, err = readPassword(*adminPwFile, "MAILSHIFT_ADMIN_PASSWORD"); err != nil {
			fmt.Fprintln(stderr, "mailshift ping:", err)
			return 2
		}
	} else if cred.Password, err = readPassword(*pwFile, "MAILSHIFT_PASSWORD"); err != nil {
		fmt.Fprintln(stderr, "mailshift ping:", err)
		return 2
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	// With -o json the same findings are one JSON document on stdout (see accountPing), written at the end.
	rep := &accountPing{Address: t.endpoint.Address(), Login: t.login}
	if *output == "json" {
		defer rep.write(stdout)
		stdout = io.Discard
	}
	res := serverping.Check(ctx, t.endpoint, cred)
	if res.Failed == serverping.StepLogin {
		fmt.Fprintf(stderr, "mailshift ping: %s: %v\n", res.Kind(), res.Err)
		rep.Failed, rep.ErrorKind = res.Failed, string(res.Kind())
		return 1
	}
	rep.LoginTime, rep.Capabilities = res.LoginTime.Round(time.Millisecond).String(), res.Capabilities
	fmt.Fprintf(stdout, "logged in to %s as %s in %s\n", t.endpoint.Address(), t.login, res.LoginTime.Round(time.Millisecond))
	fmt.Fprintf(stdout, "capabilities: %s\n", strings.Join(res.Capabilities, " "))
	failed := func() int {
		fmt.Fprintf(stderr, "mailshift ping: %s failed: %s: %v\n", res.Failed, res.Kind(), res.Err)
		fmt.Fprintf(stdout, "FAILED: %s\n", res.Failed)
		rep.Failed, rep.ErrorKind = res.Failed, string(res.Kind())
		return 1
	}
	if res.Failed == serverping.StepNamespaces {
		return failed()
	}
	rep.Namespaces = namespacesOf(res.Namespaces)
	for _, n := range res.Namespaces.Personal {
		fmt.Fprintf(stdout, "personal namespace: %q separator %q\n", n.Prefix, string(n.Delim))
	}
	if res.Failed != "" {
		return failed()
	}
	fmt.Fprintf(stdout, "folders: %d, messages: %d\n", res.Folders, res.Messages)
	rep.Folders, rep.Messages = res.Folders, res.Messages
	// Quota is informational (the controllers, too, carry on without it): a failure is shown, not fatal.
	if res.QuotaErr != nil {
		fmt.Fprintf(stderr, "mailshift ping: warning: quota unavailable: %s: %v\n", imapconn.KindOf(res.QuotaErr), res.QuotaErr)
	}
	for _, r := range res.Quota {
		fmt.Fprintf(stdout, "quota %s %s: %d of %d\n", r.Root, r.Name, r.Usage, r.Limit)
		rep.Quota = append(rep.Quota, accountQuota{Root: r.Root, Resource: r.Name, Usage: r.Usage, Limit: r.Limit})
	}
	fmt.Fprintln(stdout, "OK")
	rep.OK = true
	return 0
}
