package v1_test

import (
	"strings"
	"testing"
)

// TestImpersonationGrantValidation: the API server accepts clear grants and rejects patterns that would
// match every login without saying "*", namespace wildcards, and grants without logins.
func TestImpersonationGrantValidation(t *testing.T) {
	server := func(grants string) string {
		return `
apiVersion: mailshift.io/v1
kind: MailServer
metadata: {name: imap}
spec:
  host: imap.example.test
  admin:
    secretRef: {name: imap-admin}
    allowedNamespaces: ` + grants
	}
	for _, ok := range []string{
		`[{namespace: team-a, logins: ["*@team-a.example.com", alice]}]`,
		`[{namespace: ops, logins: ["*"]}, {namespace: team-b, logins: ["svc-*-ro", "pre*"]}]`,
	} {
		if err := create(t, server(ok)); err != nil {
			t.Errorf("%s rejected: %v", ok, err)
		}
	}
	for _, bad := range []struct{ grants, says string }{
		{`[{namespace: team-a, logins: ["**"]}]`, "logins[0]"},
		{`[{namespace: team-a, logins: ["a**b"]}]`, "logins[0]"},
		{`[{namespace: team-a, logins: [""]}]`, "logins[0]"},
		{`[{namespace: team-a, logins: ["a b"]}]`, "logins[0]"},
		{`[{namespace: team-a, logins: []}]`, "logins"},
		{`[{namespace: team-a}]`, "logins"},
		{`[{namespace: "*", logins: [alice]}]`, "namespace"},
		{`[{namespace: team-a, logins: [alice]}, {namespace: team-a, logins: [bob]}]`, "Duplicate"},
	} {
		err := create(t, server(bad.grants))
		if err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%s: %v, want a rejection naming %s", bad.grants, err, bad.says)
		}
	}
}
