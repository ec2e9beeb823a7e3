package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/fakeimap"
	"github.com/mailshift/mailshift/internal/imapconn"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pingFake(t *testing.T, srv *fakeimap.Server, password string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run([]string{"ping", "imap://alice@" + srv.Host + ":" + strconv.Itoa(srv.Port), "--tls", "none", "--allow-plaintext",
		"--password-file", writeFile(t, "pw", password+"\n"), "--timeout", "30s"}, &out, &errb)
	return code, out.String(), errb.String()
}

// TestPingFailsWhenListFails: a server that accepts the login but cannot list the folders (a fake: a real
// one cannot be made to fail LIST on demand) is not OK: exit code 1 and the failing step named.
func TestPingFailsWhenListFails(t *testing.T) {
	srv := fakeimap.Scripted(t, fakeimap.Options{Caps: "AUTH=PLAIN SASL-IR NAMESPACE", AcceptLogin: true, ListFails: true})
	code, out, errs := pingFake(t, srv, "pw-for-the-fake")
	if code != 1 {
		t.Errorf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if strings.Contains(out, "OK") {
		t.Errorf("stdout claims OK:\n%s", out)
	}
	if !strings.Contains(errs, "listing the folders") || !strings.Contains(errs, "SERVERBUG") {
		t.Errorf("stderr does not say what failed: %q", errs)
	}
	// The same fake with LIST working is OK: the failure above is LIST's, not the fake's.
	good := fakeimap.Scripted(t, fakeimap.Options{Caps: "AUTH=PLAIN SASL-IR NAMESPACE", AcceptLogin: true})
	if code, out, errs := pingFake(t, good, "pw-for-the-fake"); code != 0 || !strings.HasSuffix(out, "\nOK\n") {
		t.Errorf("working fake: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}

// TestPingHostileServers: a huge literal, an unterminated quoted string and an endless CAPABILITY line
// end the ping with exit code 1 and a message naming the limit, after reading no more than the limit
// (plus what the sockets buffer).
func TestPingHostileServers(t *testing.T) {
	for _, kind := range []string{fakeimap.HugeLiteral, fakeimap.UnterminatedQuoted, fakeimap.EndlessCapability} {
		t.Run(kind, func(t *testing.T) {
			srv := fakeimap.Hostile(t, kind)
			code, _, errs := pingFake(t, srv, "pw-for-the-fake")
			t.Logf("server sent %d bytes; stderr: %s", srv.Sent(), strings.TrimSpace(errs))
			if code != 1 || !strings.Contains(errs, "size limit") {
				t.Errorf("exit %d, stderr %q; want 1 and the limit named", code, errs)
			}
			if sent := srv.Sent(); sent > imapconn.MaxResponseBytes+16<<20 {
				t.Errorf("ping read on to %d bytes", sent)
			}
		})
	}
}

// TestPingEchoingServer: a server that echoes the login into its refusal gets no form of the password
// onto the terminal.
func TestPingEchoingServer(t *testing.T) {
	const pw = `secret"pw\123`
	for _, caps := range []string{"AUTH=PLAIN SASL-IR", "AUTH=PLAIN", ""} {
		srv := fakeimap.Scripted(t, fakeimap.Options{Caps: caps})
		code, out, errs := pingFake(t, srv, pw)
		if code != 1 || !strings.Contains(errs, "AuthenticationFailed") {
			t.Errorf("caps %q: exit %d, stderr %q", caps, code, errs)
		}
		for _, f := range []string{pw, `secret\"pw\\123`, base64.StdEncoding.EncodeToString([]byte(pw)),
			base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + pw))} {
			if strings.Contains(out+errs, f) {
				t.Errorf("caps %q: the password is on the terminal as %q: %s", caps, f, errs)
			}
		}
	}
}

// TestMigrateRejectsBadNumbers: --parallel below 1, a negative --max-size or --timeout are usage errors
// (exit 2) named as such, before anything is opened.
func TestMigrateRejectsBadNumbers(t *testing.T) {
	pw := writeFile(t, "pw", "pw\n")
	for _, tc := range []struct{ flag, value string }{
		{"--parallel", "0"}, {"--parallel", "-5"}, {"--max-size", "-1"}, {"--timeout", "-1s"},
	} {
		var out, errb bytes.Buffer
		code := run([]string{"migrate", "--from", "pst:" + filepath.Join(t.TempDir(), "none.pst"), "--to", "imap://alice@127.0.0.1:1",
			"--to-password-file", pw, tc.flag, tc.value}, &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tc.flag+" must be") {
			t.Errorf("%s %s: exit %d, stderr %q; want 2 and a usage error naming the flag", tc.flag, tc.value, code, errb.String())
		}
	}
}
