package v1_test

import (
	"strings"
	"testing"
)

// TestSubmissionValidation: a MailServer's submission server takes a host, a port and a TLS mode, plaintext
// only with the MailServer's insecureAllowPlaintext; a Mailbox's display name is bounded.
func TestSubmissionValidation(t *testing.T) {
	server := func(extra string) string { return validServer + extra }
	for _, ok := range []string{
		"  submission: {}\n",
		"  submission: {host: smtp.example.test, port: 465, tls: Implicit}\n",
		"  submission: {port: 587}\n",
		"  insecureAllowPlaintext: true\n  submission: {port: 25, tls: None}\n",
	} {
		if err := create(t, server(ok)); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
	if err := create(t, validMailbox+"  displayName: Alice Müller\n"); err != nil {
		t.Errorf("a display name was rejected: %v", err)
	}
	for _, bad := range []struct{ manifest, says string }{
		{server("  submission: {tls: None}\n"), "submission tls None sends passwords in clear text"},
		{server("  submission: {port: 0}\n"), "spec.submission.port"},
		{server("  submission: {port: 70000}\n"), "spec.submission.port"},
		{server("  submission: {tls: SSL}\n"), `Unsupported value: "SSL"`},
		{server("  submission: {host: " + strings.Repeat("a", 254) + "}\n"), "spec.submission.host"},
		{validMailbox + "  displayName: " + strings.Repeat("a", 257) + "\n", "spec.displayName"},
	} {
		err := create(t, bad.manifest)
		if err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%.80q: %v, want a rejection naming %s", bad.manifest, err, bad.says)
		}
	}
}
