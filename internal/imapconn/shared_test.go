package imapconn_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/fakeimap"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
	"github.com/mailshift/mailshift/internal/redact"
	"github.com/mailshift/mailshift/internal/testserver"
)

// frontEnds dial through each IMAP front end.
var frontEnds = map[string]func(ctx context.Context, ep imapconn.Endpoint, cred imapconn.Credentials) error{
	"session": func(ctx context.Context, ep imapconn.Endpoint, cred imapconn.Credentials) error {
		s, err := imapsession.Dial(ctx, ep, cred)
		if s != nil {
			s.Close()
		}
		return err
	},
	"bulk": func(ctx context.Context, ep imapconn.Endpoint, cred imapconn.Credentials) error {
		c, err := imapbulk.Dial(ctx, ep, cred)
		if c != nil {
			c.Close()
		}
		return err
	},
}

// TestRedactionIsShared: a fake hostile server (internal/fakeimap) refuses every login with a NO that
// echoes all the client sent: the password raw, IMAP-quoted, inside a base64 SASL payload, the OAuth
// token. Both front ends report the failure as AuthenticationFailed with no form of any secret, and
// with the same message: the one implementation in imapconn produced both.
func TestRedactionIsShared(t *testing.T) {
	const pw, admin, token = `s3cret"pw\42`, "adm1n-Pa55-word", "ya29.token-ABCDEFGH-0123456789"
	cases := []struct {
		name string
		caps string
		cred imapconn.Credentials
	}{
		{"PLAIN with SASL-IR", "AUTH=PLAIN SASL-IR", imapconn.Credentials{Login: "alice", Password: pw}},
		{"PLAIN after a continuation", "AUTH=PLAIN", imapconn.Credentials{Login: "alice", Password: pw}},
		{"LOGIN, quoted", "", imapconn.Credentials{Login: "alice", Password: pw}},
		{"LOGIN, literal", "", imapconn.Credentials{Login: "alice", Password: "pässwort-" + pw}},
		{"impersonation by PLAIN", "AUTH=PLAIN SASL-IR", imapconn.Credentials{Login: "alice", AdminLogin: "mailadmin", AdminPassword: admin, Flavor: "cyrus"}},
		{"Dovecot master user", "", imapconn.Credentials{Login: "alice", AdminLogin: "mailadmin", AdminPassword: admin, Flavor: "dovecot"}},
		{"XOAUTH2", "AUTH=XOAUTH2 SASL-IR", imapconn.Credentials{Login: "alice", Mechanism: imapconn.MechanismXOAUTH2, Token: token}},
		{"OAUTHBEARER", "AUTH=OAUTHBEARER", imapconn.Credentials{Login: "alice", Mechanism: imapconn.MechanismOAuthBearer, Token: token}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakeimap.Scripted(t, fakeimap.Options{Caps: tc.caps})
			ep := imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSNone, DialTimeout: 5 * time.Second}
			msgs := map[string]string{}
			for name, dial := range frontEnds {
				err := dial(context.Background(), ep, tc.cred)
				if imapconn.KindOf(err) != imapconn.AuthenticationFailed {
					t.Fatalf("%s: error %v, want AuthenticationFailed", name, err)
				}
				var e *imapconn.Error
				if !errors.As(err, &e) {
					t.Fatalf("%s: %T is not *imapconn.Error", name, err)
				}
				msg := err.Error()
				for _, f := range secretForms(tc.cred) {
					if strings.Contains(msg, f) {
						t.Errorf("%s: %q holds a secret as %q", name, msg, f)
					}
				}
				for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
					if strings.Contains(u.Error(), tc.cred.Password+tc.cred.AdminPassword+tc.cred.Token) {
						t.Errorf("%s: the chain hands a secret back: %q", name, u.Error())
					}
				}
				// (An echoed literal ends the response line before the password: nothing to scrub then.)
				if !strings.Contains(msg, "Authentication failed") || !strings.Contains(msg, redact.Mark) && !strings.Contains(tc.name, "literal") {
					t.Errorf("%s: the server's text, scrubbed, should remain: %q", name, msg)
				}
				// The port differs per connection only in OAUTHBEARER's payload, which is scrubbed whole.
				msgs[name] = msg
			}
			if msgs["session"] != msgs["bulk"] {
				t.Errorf("the front ends report the same failure differently:\n session %q\n bulk    %q", msgs["session"], msgs["bulk"])
			}
		})
	}
}

// secretForms are the spellings of the credentials' secrets a server echoing the client could send.
func secretForms(cred imapconn.Credentials) []string {
	var out []string
	for _, s := range []string{cred.Password, cred.AdminPassword, cred.Token} {
		if s == "" {
			continue
		}
		out = append(out, s, strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s), base64.StdEncoding.EncodeToString([]byte(s)))
		if len(s) > 12 {
			out = append(out, s[2:len(s)-2]) // any long piece of it
		}
	}
	for _, p := range []string{
		"\x00" + cred.Login + "\x00" + cred.Password,
		cred.Login + "\x00" + cred.AdminLogin + "\x00" + cred.AdminPassword,
		"user=" + cred.Login + "\x01auth=Bearer " + cred.Token + "\x01\x01",
	} {
		enc := base64.StdEncoding.EncodeToString([]byte(p))
		out = append(out, enc, strings.TrimRight(enc, "="))
	}
	return out
}

// TestGreetingTimeoutSaysSo: a server that accepts the connection and never greets is reported as
// such, by both front ends, within the dial timeout.
func TestGreetingTimeoutSaysSo(t *testing.T) {
	_, port, _ := net.SplitHostPort(testserver.Silent(t))
	portNum, _ := strconv.Atoi(port)
	ep := imapconn.Endpoint{Host: "127.0.0.1", Port: portNum, TLS: imapconn.TLSStartTLS, DialTimeout: time.Second}
	// The time is measured from Connect's start, a moment after the caller's one-second context began,
	// so a loaded machine may report the last milliseconds of it rather than the whole second.
	want := regexp.MustCompile(`no IMAP greeting from 127\.0\.0\.1:[0-9]+ within (1s|9[0-9]{2}ms)$`)
	for name, dial := range frontEnds {
		start := time.Now()
		err := dial(context.Background(), ep, imapconn.Credentials{Login: "alice", Password: "pw"})
		if imapconn.KindOf(err) != imapconn.Timeout || !want.MatchString(err.Error()) {
			t.Errorf("%s: %v, want a Timeout saying %q", name, err, want)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v does not wrap the deadline", name, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: took %v", name, d)
		}
	}
	_, err := imapconn.Probe(context.Background(), ep)
	if !want.MatchString(err.Error()) {
		t.Errorf("Probe: %v", err)
	}
}
