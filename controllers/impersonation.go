package controllers

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
)

// Admin impersonation lets whoever writes a Mailbox act as any login on the server, so it is granted per
// namespace and per login pattern (spec.admin.allowedNamespaces). The MailServer's own namespace is granted
// every login: whoever may write Mailboxes there is trusted with the server. Every path that logs in by
// impersonation (Mailbox, FolderShare, FreeBusyPublication, MailboxMigration with either executor) resolves
// its credentials through resolveMailbox, which asks impersonationDenied.

// impersonationDenied says why a Mailbox of namespace ns may not act as login through srv's admin
// credentials; "" means it may.
func impersonationDenied(srv *mailshiftv1.MailServer, ns, login string) string {
	if problem := unsafeLogin(login); problem != "" {
		return fmt.Sprintf("login %q cannot be impersonated: %s", login, problem)
	}
	if ns == srv.Namespace {
		return ""
	}
	if srv.Spec.Admin != nil {
		for _, g := range srv.Spec.Admin.AllowedNamespaces {
			if g.Namespace != ns {
				continue
			}
			for _, p := range g.Logins {
				if loginPatternValid(p) && loginMatches(p, login) {
					return ""
				}
			}
			return fmt.Sprintf("MailServer %s/%s grants namespace %q admin impersonation only for logins %s, not %q: give the Mailbox its own spec.credentialsSecretRef",
				srv.Namespace, srv.Name, ns, strings.Join(quoteAll(g.Logins), ", "), login)
		}
	}
	return fmt.Sprintf("MailServer %s/%s grants namespace %q no admin impersonation (spec.admin.allowedNamespaces): give the Mailbox its own spec.credentialsSecretRef",
		srv.Namespace, srv.Name, ns)
}

// unsafeLogin rejects logins that could make the server log in as someone other than the login says: "*" is
// Dovecot's master-user separator ("user*master"), and control characters (NUL above all) split SASL PLAIN's
// fields.
func unsafeLogin(login string) string {
	switch {
	case login == "":
		return "it is empty"
	case !utf8.ValidString(login):
		return "it is not valid UTF-8"
	case strings.Contains(login, "*"):
		return `it contains "*", the master-user separator`
	}
	for _, r := range login {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return "it contains a control or space character"
		}
	}
	return ""
}

// loginPatternValid mirrors the CRD's rule for objects written before it: "*" alone, or literal runs
// joined by single "*"s. A pattern that matches every login is only ever the explicit "*".
func loginPatternValid(p string) bool {
	if p == "*" {
		return true
	}
	if p == "" || strings.Contains(p, "**") || strings.Trim(p, "*") == "" || unsafeLogin(strings.ReplaceAll(p, "*", "x")) != "" {
		return false
	}
	return true
}

// loginMatches reports whether login matches pattern, where "*" stands for any run of characters and
// everything else must match exactly (case-sensitively: a server that tells "Alice" from "alice" would
// otherwise see a grant stretched to another account).
func loginMatches(pattern, login string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == login
	}
	// The first part anchors the start, the last the end, the middle ones are found left to right.
	if !strings.HasPrefix(login, parts[0]) {
		return false
	}
	rest := login[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, mid)
		if i < 0 {
			return false
		}
		rest = rest[i+len(mid):]
	}
	return len(rest) >= len(last) && strings.HasSuffix(rest, last)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
