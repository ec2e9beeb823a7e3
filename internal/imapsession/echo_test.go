package imapsession

import (
	"context"
	"encoding/base64"
	"github.com/mailshift/mailshift/internal/imapconn"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/fakeimap"
)

// passwordForms are the spellings of a password a server echoing the client could send back.
func passwordForms(login, pw string) []string {
	quoted := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(pw)
	return []string{
		pw, quoted,
		base64.StdEncoding.EncodeToString([]byte(pw)),
		base64.StdEncoding.EncodeToString([]byte("\x00" + login + "\x00" + pw)),
		strings.TrimRight(base64.StdEncoding.EncodeToString([]byte("\x00"+login+"\x00"+pw)), "="),
	}
}

// TestEchoedPasswordsAreScrubbed: a fake server that echoes every authentication command (SASL PLAIN
// with and without an initial response, LOGIN with quoted escapes, impersonation, Dovecot's master-user
// LOGIN) into its NO; the error Dial returns holds no form of any password.
func TestEchoedPasswordsAreScrubbed(t *testing.T) {
	const pw, admin = "secret-pw-123", `adm"in\pw-456`
	if got := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + pw)); got != "AGFsaWNlAHNlY3JldC1wdy0xMjM=" {
		t.Fatalf("payload %s", got)
	}
	cases := []struct {
		name string
		caps string
		cred imapconn.Credentials
	}{
		{"PLAIN with SASL-IR", "AUTH=PLAIN SASL-IR", imapconn.Credentials{Login: "alice", Password: pw}},
		{"PLAIN after a continuation", "AUTH=PLAIN", imapconn.Credentials{Login: "alice", Password: pw}},
		{"LOGIN", "", imapconn.Credentials{Login: "alice", Password: pw}},
		{"LOGIN with quotes in the password", "", imapconn.Credentials{Login: "alice", Password: admin}},
		{"impersonation by PLAIN", "AUTH=PLAIN SASL-IR", imapconn.Credentials{Login: "alice", AdminLogin: "mailadmin", AdminPassword: admin, Flavor: "cyrus"}},
		{"Dovecot master user", "AUTH=PLAIN", imapconn.Credentials{Login: "alice", AdminLogin: "mailadmin", AdminPassword: admin, Flavor: "dovecot"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakeimap.Scripted(t, fakeimap.Options{Caps: tc.caps})
			ep := imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSNone, DialTimeout: 5 * time.Second}
			_, err := Dial(context.Background(), ep, tc.cred)
			if imapconn.KindOf(err) != imapconn.AuthenticationFailed {
				t.Fatalf("error %v, want AuthenticationFailed", err)
			}
			msg := err.Error()
			forms := append(passwordForms(tc.cred.Login, tc.cred.Password), passwordForms(tc.cred.AdminLogin, tc.cred.AdminPassword)...)
			forms = append(forms, base64.StdEncoding.EncodeToString([]byte(tc.cred.Login+"\x00"+tc.cred.AdminLogin+"\x00"+tc.cred.AdminPassword)))
			for _, f := range forms {
				if f != "" && strings.Contains(msg, f) {
					t.Errorf("%q holds the password as %q", msg, f)
				}
			}
			if !strings.Contains(msg, "Authentication failed") {
				t.Errorf("the server's text is gone altogether: %q", msg)
			}
		})
	}
}
