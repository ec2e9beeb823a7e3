package acl

import (
	"fmt"
	"strings"
)

// Server flavors that change identifier syntax.
const (
	FlavorDovecot = "dovecot"
	FlavorCyrus   = "cyrus"
)

// Special identifiers.
const (
	// Anyone is every user, including anonymous ones. Both servers support it.
	Anyone = "anyone"
	// Authenticated is every logged-in user. Dovecot only: Cyrus treats it as
	// an ordinary (non-existent) user name.
	Authenticated = "authenticated"
)

// GroupIdentifier returns the ACL identifier for a group: "group=<name>" on
// Dovecot (which needs acl_groups in its userdb), "group:<name>" on Cyrus and,
// as the more common syntax, on any other flavor.
func GroupIdentifier(name, flavor string) string {
	if strings.EqualFold(flavor, FlavorDovecot) {
		return "group=" + name
	}
	return "group:" + name
}

// IsNegative reports whether an identifier names negative rights ("-bob").
// Such entries are never rewritten by mailshift's helpers: GroupIdentifier
// and friends leave them alone and Diff never removes them unless asked to.
func IsNegative(id string) bool { return strings.HasPrefix(id, "-") }

// IsGroup reports whether an identifier is a group in either syntax.
func IsGroup(id string) bool {
	id = strings.TrimPrefix(id, "-")
	return strings.HasPrefix(id, "group=") || strings.HasPrefix(id, "group:")
}

// ValidateIdentifier checks an identifier for a server flavor: it must be
// non-empty, contain no control characters or spaces, "authenticated" is
// refused on non-Dovecot servers and a group must use the flavor's syntax.
// Negative identifiers are checked on the name after the "-".
func ValidateIdentifier(id, flavor string) error {
	name := strings.TrimPrefix(id, "-")
	if name == "" {
		return fmt.Errorf("acl: empty identifier")
	}
	for _, r := range name {
		if r < 0x21 || r == 0x7f {
			return fmt.Errorf("acl: identifier %q contains a space or control character", id)
		}
	}
	dovecot := strings.EqualFold(flavor, FlavorDovecot)
	if name == Authenticated && !dovecot && flavor != "" {
		return fmt.Errorf("acl: identifier %q is only understood by Dovecot", Authenticated)
	}
	if flavor != "" {
		if dovecot && strings.HasPrefix(name, "group:") {
			return fmt.Errorf("acl: %q: Dovecot groups are written group=<name>", id)
		}
		if strings.EqualFold(flavor, FlavorCyrus) && strings.HasPrefix(name, "group=") {
			return fmt.Errorf("acl: %q: Cyrus groups are written group:<name>", id)
		}
	}
	return nil
}
