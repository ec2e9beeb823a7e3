package foldermap

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mailshift/mailshift/internal/groupware"
)

// Target describes the target server as far as naming is concerned: what NAMESPACE, LIST and the
// special-use attributes (RFC 6154) report, and the mailbox's groupware folders.
type Target struct {
	// Separator is the hierarchy separator of the personal namespace ('/', '.').
	Separator rune
	// PersonalPrefix is the personal namespace prefix: "" or, on legacy Cyrus (altnamespace: no),
	// "INBOX.". Every folder except the inbox itself goes below it; it must end with Separator.
	PersonalPrefix string
	// SpecialUse holds the target's existing special-use folders by role, full decoded names
	// ("Sent", "INBOX.Sent"). RoleInbox is always "INBOX" and is not looked up.
	SpecialUse map[Role]string
	// Groupware holds the mailbox's groupware folders by kind, full decoded names ("Calendar",
	// "INBOX.Calendar"). Distribution lists use the KindContact entry.
	Groupware map[groupware.Kind]string
	// Forbidden lists characters the server refuses in a name component besides Separator; they are
	// escaped. Must not contain '=' or upper-case hex digits, which escapes are made of.
	Forbidden string
	// MaxComponent is the longest component in bytes of its wire form (modified UTF-7); 0 means no limit.
	MaxComponent int
}

// ForbiddenDovecotMaildir is Target.Forbidden for Dovecot with maildir++ storage, which refuses '.' in names
// when the separator is '/', and '/' when it is '.'.
const ForbiddenDovecotMaildir = "./"

// ForbiddenCyrus is Target.Forbidden for Cyrus, whose mailbox name policy admits only letters, digits,
// non-ASCII (as modified UTF-7) and " #$'+,-.:=@_~" (mboxname_policycheck). The separator, whichever it is,
// is taken out by the caller: it is escaped anyway.
const ForbiddenCyrus = "!\"%()*/;<>?[\\]^`{|}"

// inboxName is the name of the inbox; servers match it case-insensitively (RFC 3501 §5.1).
const inboxName = "INBOX"

// Validate reports why t cannot be used: an unusable separator, a prefix that does not end with it,
// forbidden characters that would break escaping, or a component limit too small for suffixes.
func (t Target) Validate() error {
	sep := t.Separator
	switch {
	case sep == 0:
		return fmt.Errorf("foldermap: target has no hierarchy separator (flat namespaces are not supported)")
	case sep > unicode.MaxASCII || sep <= ' ' || sep == 0x7f:
		return fmt.Errorf("foldermap: separator %q is not a printable ASCII character", sep)
	case sep == '=' || sep == '%' || sep == '*' || sep == '&' || strings.ContainsRune(upperHex, sep):
		return fmt.Errorf("foldermap: separator %q cannot be used: escapes and the wire encoding need it", sep)
	}
	if t.PersonalPrefix != "" && !strings.HasSuffix(t.PersonalPrefix, string(sep)) {
		return fmt.Errorf("foldermap: personal prefix %q does not end with the separator %q", t.PersonalPrefix, sep)
	}
	if i := strings.IndexAny(t.Forbidden, "="+upperHex); i >= 0 {
		return fmt.Errorf("foldermap: forbidden character %q cannot be escaped (escapes are made of '%%' and 0-9A-F)", t.Forbidden[i])
	}
	if t.MaxComponent < 0 || (t.MaxComponent > 0 && t.MaxComponent < minComponentBytes) {
		return fmt.Errorf("foldermap: MaxComponent %d: must be 0 (no limit) or at least %d", t.MaxComponent, minComponentBytes)
	}
	return nil
}

// isInbox reports whether a top-level component names the inbox. Servers compare INBOX in ASCII only.
func isInbox(component string) bool {
	return strings.EqualFold(component, inboxName) && isASCII(component)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// child returns the full name of component below parent; parent "" is the top of the personal namespace,
// where INBOX (in any case) is the inbox itself and everything else goes below the personal prefix.
func (t Target) child(parent, component string) string {
	if parent == "" {
		if isInbox(component) {
			return inboxName
		}
		return t.PersonalPrefix + component
	}
	return parent + string(t.Separator) + component
}

// collisionKey is the name as the server compares it: exactly, except INBOX as the first component, which
// servers match case-insensitively.
func (t Target) collisionKey(name string) string {
	first, rest, found := strings.Cut(name, string(t.Separator))
	if !isInbox(first) {
		return name
	}
	if !found {
		return inboxName
	}
	return inboxName + string(t.Separator) + rest
}

// depth is the number of separators in a full name: names only collide with names of the same depth, and
// disambiguating a name never changes its depth.
func (t Target) depth(name string) int { return strings.Count(name, string(t.Separator)) }
