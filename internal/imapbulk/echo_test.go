package imapbulk

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/fakeimap"
	"github.com/mailshift/mailshift/internal/imapconn"
)

// TestEchoedSecretsAreScrubbed: against a fake server that echoes every authentication command into
// its NO, the bulk client's errors hold no form of the password or token (raw, IMAP-quoted, base64 alone
// or inside the SASL payload).
func TestEchoedSecretsAreScrubbed(t *testing.T) {
	const pw, token = `secret"pw\123`, "ya29.token-abcdef-0123456789"
	cases := []struct {
		name string
		caps string
		cred imapconn.Credentials
	}{
		{"PLAIN with SASL-IR", "AUTH=PLAIN SASL-IR", imapconn.Credentials{Login: "alice", Password: pw}},
		{"PLAIN after a continuation", "AUTH=PLAIN", imapconn.Credentials{Login: "alice", Password: pw}},
		{"LOGIN", "", imapconn.Credentials{Login: "alice", Password: pw}},
		{"XOAUTH2", "AUTH=XOAUTH2 SASL-IR", imapconn.Credentials{Login: "alice", Mechanism: imapconn.MechanismXOAUTH2, Token: token}},
		{"OAUTHBEARER", "AUTH=OAUTHBEARER", imapconn.Credentials{Login: "alice", Mechanism: imapconn.MechanismOAuthBearer, Token: token}},
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
			secret := tc.cred.Password + tc.cred.Token
			forms := []string{
				secret,
				strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(secret),
				base64.StdEncoding.EncodeToString([]byte(secret)),
				base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + secret)),
				"token-abcdef", // any long piece of the token
			}
			for _, f := range forms {
				if strings.Contains(msg, f) {
					t.Errorf("%q holds the secret as %q", msg, f)
				}
			}
			// The base64 of the OAuth payloads: no 8-character run of what the token alone determines.
			for _, p := range []string{"user=alice\x01auth=Bearer " + token + "\x01\x01"} {
				enc := base64.StdEncoding.EncodeToString([]byte(p))
				for i := 24; i+8 <= len(enc)-8; i++ {
					if strings.Contains(msg, enc[i:i+8]) {
						t.Errorf("%q holds part of the encoded token %q", msg, enc[i:i+8])
						break
					}
				}
			}
		})
	}
}

// TestBoundedAgainstHostileServers: the bulk client, too, stops a huge literal, an unterminated quoted
// string and an endless CAPABILITY line at imapconn.MaxResponseBytes.
func TestBoundedAgainstHostileServers(t *testing.T) {
	for _, kind := range []string{fakeimap.HugeLiteral, fakeimap.UnterminatedQuoted, fakeimap.EndlessCapability} {
		t.Run(kind, func(t *testing.T) {
			srv := fakeimap.Hostile(t, kind)
			ep := imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSNone, DialTimeout: 30 * time.Second}
			_, err := Dial(context.Background(), ep, imapconn.Credentials{Login: "alice", Password: "a-longer-password"})
			t.Logf("server sent %d bytes: %v", srv.Sent(), err)
			if imapconn.KindOf(err) != imapconn.ProtocolError {
				t.Errorf("error %v, want a ProtocolError", err)
			}
			if srv.Sent() > imapconn.MaxResponseBytes+16<<20 {
				t.Errorf("read on to %d bytes", srv.Sent())
			}
		})
	}
}
