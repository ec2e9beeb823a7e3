package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/testserver"
)

// TestPingAccountJSON: `ping imap://... -o json` prints the findings as one JSON document, also when the
// login fails (ok false, the failure's kind), with the exit codes of the text form.
func TestPingAccountJSON(t *testing.T) {
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
	if code := run([]string{"ping", url, "-o", "json", "--ca-file", ca, "--password-file", good}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got accountPing
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if !got.OK || got.Login != "alice" || got.Address != srv.Addr() || !slices.Contains(got.Capabilities, "IMAP4rev1") ||
		len(got.Namespaces) == 0 || got.Folders < 1 || got.Failed != "" {
		t.Errorf("ping -o json: %+v", got)
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"ping", url, "--output", "json", "--ca-file", ca, "--password-file", bad}, &out, &errb); code != 1 {
		t.Errorf("wrong password: exit %d, want 1", code)
	}
	got = accountPing{}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || got.OK || got.Failed != "logging in" || got.ErrorKind != "AuthenticationFailed" {
		t.Errorf("wrong password, -o json: %v %+v\n%s", err, got, out.String())
	}
	if strings.Contains(out.String()+errb.String(), "nope-not-it") {
		t.Errorf("the password shows in the output")
	}
}
