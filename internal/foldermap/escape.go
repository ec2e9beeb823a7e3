package foldermap

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escaping makes any source folder name a valid single component of a target name, reversibly: a byte that
// would change the meaning of the name or that the server refuses is written as "=XX" (upper-case hex of the
// byte). Because '=' itself is escaped, every '=' in an escaped name starts an escape and Unescape restores
// the original bytes exactly. ('=' rather than the more familiar '%': '%' and '*' are LIST wildcards, which
// Cyrus refuses in names.) What is escaped, and why:
//
//   - '=': the escape character.
//   - '%' and '*': LIST wildcards (RFC 3501 §6.3.8); Cyrus refuses them, clients cannot list them.
//   - the target's hierarchy separator: it would split the name.
//   - Target.Forbidden: characters the server refuses (Dovecot maildir++ refuses '.' with a '/' separator
//     and '/' with a '.' separator; see ForbiddenDovecotMaildir).
//   - control characters: servers refuse them and clients cannot show them.
//   - U+FFFD and invalid UTF-8: modified UTF-7 cannot carry them back (imapconn.DecodeUTF7 rejects U+FFFD).
//   - leading and trailing white space: servers and clients trim it, which would merge " Work" with "Work".
//   - a leading '~': Dovecot reads it as a home directory path and refuses the name.
//   - the components "." and "..": file-system backed servers refuse them.
//
// The empty component, which no server accepts, is written as a lone "=", which no other name escapes to.
// '&' is not escaped: it is an ordinary character, which only the wire encoding (modified UTF-7, "&-")
// treats specially.

// emptyComponent is the escaped form of "".
const emptyComponent = "="

const upperHex = "0123456789ABCDEF"

// Escape returns component as a valid name component for t. t must be valid (Target.Validate); Escape
// ignores t.MaxComponent, because shortening cannot be reversed (Plan shortens after escaping).
func Escape(component string, t Target) string {
	switch component {
	case "":
		return emptyComponent
	case ".", "..":
		return escapeAllBytes(component)
	}
	leadEnd, trailStart := spaceEdges(component)
	var b strings.Builder
	for i := 0; i < len(component); {
		r, size := utf8.DecodeRuneInString(component[i:])
		edge := i < leadEnd || i >= trailStart
		if (r == utf8.RuneError && size == 1) || mustEscape(r, t) || edge || (i == 0 && r == '~') {
			writeEscapedBytes(&b, component[i:i+size])
		} else {
			b.WriteString(component[i : i+size])
		}
		i += size
	}
	return b.String()
}

// escapeText escapes text Plan adds to a component (the " (2)" and hash suffixes) with the character rules
// of Escape but without its edge rules, since the text never stands at the start of a component.
func escapeText(s string, t Target) string {
	var b strings.Builder
	for _, r := range s {
		if mustEscape(r, t) {
			writeEscapedBytes(&b, string(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mustEscape reports whether r must be escaped wherever it appears in a component.
func mustEscape(r rune, t Target) bool {
	switch {
	case r == '=', r == '%', r == '*', r == t.Separator, r == utf8.RuneError, unicode.IsControl(r):
		return true
	}
	return strings.ContainsRune(t.Forbidden, r)
}

// spaceEdges returns the byte offsets where the leading white space of s ends and its trailing white space
// starts.
func spaceEdges(s string) (leadEnd, trailStart int) {
	leadEnd = len(s) - len(strings.TrimLeftFunc(s, unicode.IsSpace))
	trailStart = len(strings.TrimRightFunc(s, unicode.IsSpace))
	if trailStart < leadEnd { // all white space
		trailStart = leadEnd
	}
	return leadEnd, trailStart
}

func escapeAllBytes(s string) string {
	var b strings.Builder
	writeEscapedBytes(&b, s)
	return b.String()
}

func writeEscapedBytes(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		b.WriteByte('=')
		b.WriteByte(upperHex[s[i]>>4])
		b.WriteByte(upperHex[s[i]&0xf])
	}
}

// Unescape reverses Escape on one component: Unescape(Escape(x, t)) == x for every x and valid t. A '=' not
// followed by two hex digits is kept as it is, so names that were never escaped pass through unchanged
// (except a lone "=", the escaped empty name).
func Unescape(component string) string {
	if component == emptyComponent {
		return ""
	}
	if !strings.Contains(component, "=") {
		return component
	}
	var b strings.Builder
	for i := 0; i < len(component); i++ {
		c := component[i]
		if c == '=' && i+2 < len(component) && isHex(component[i+1]) && isHex(component[i+2]) {
			b.WriteByte(unhex(component[i+1])<<4 | unhex(component[i+2]))
			i += 2
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
