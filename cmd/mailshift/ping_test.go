package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/testserver"
)

func TestParseIMAPURL(t *testing.T) {
	cases := []struct {
		in      string
		login   string
		port    int
		tls     imapconn.TLSMode
		wantErr string
	}{
		{in: "imap://alice@mail.example.test", login: "alice", port: 143, tls: imapconn.TLSStartTLS},
		{in: "imaps://alice@mail.example.test", login: "alice", port: 993, tls: imapconn.TLSImplicit},
		{in: "imap://alice%40example.test@127.0.0.1:10143", login: "alice@example.test", port: 10143, tls: imapconn.TLSStartTLS},
		{in: "imap://alice:secret@host", wantErr: "password in the URL"},
		{in: "imap://host", wantErr: "no login"},
		{in: "pop3://alice@host", wantErr: "imap:// or imaps://"},
		{in: "imap://alice@host:99999", wantErr: "bad port"},
	}
	for _, tc := range cases {
		got, err := parseIMAPURL(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got.login != tc.login || got.endpoint.Port != tc.port || got.endpoint.TLS != tc.tls {
			t.Errorf("%s: got %+v, %v", tc.in, got, err)
		}
	}
}

// TestPingRealServer: the CLI's "Ping Server" against a real Dovecot, and its exit codes.
func TestPingRealServer(t *testing.T) {
	srv := testserver.Dovecot(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	good := filepath.Join(dir, "good")
	bad := filepath.Join(dir, "bad")
	for f, v := range map[string]string{ca: string(srv.CAPEM), good: srv.Users["alice"].Password + "\n", bad: "nope-not-it\n"} {
		if err := os.WriteFile(f, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	url := "imap://alice@" + srv.Addr()
	var out, errb bytes.Buffer
	if code := run([]string{"ping", url, "--ca-file", ca, "--password-file", good}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "logged in to") || !strings.Contains(out.String(), "IMAP4rev1") ||
		!strings.HasSuffix(out.String(), "\nOK\n") {
		t.Errorf("output lacks the login, the capabilities or the final OK:\n%s", out.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"ping", url, "--ca-file", ca, "--password-file", bad}, &out, &errb); code != 1 {
		t.Errorf("wrong password: exit %d, want 1", code)
	}
	if !strings.Contains(errb.String(), "AuthenticationFailed") || strings.Contains(errb.String(), "nope-not-it") {
		t.Errorf("wrong password: stderr %q should name the failure and never the password", errb.String())
	}
	errb.Reset()
	if code := run([]string{"ping", url, "--password-file", good}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "TLSFailed") {
		t.Errorf("unknown CA: exit %d, stderr %q; want 1 and TLSFailed", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"ping", url, "--tls", "none", "--password-file", good}, &out, &errb); code != 2 {
		t.Errorf("--tls none without --allow-plaintext: exit %d, want 2", code)
	}
}
