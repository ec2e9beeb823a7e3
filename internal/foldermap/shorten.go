package foldermap

import (
	"crypto/sha256"
	"encoding/hex"
	"unicode/utf8"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// Servers limit the length of a name component (Cyrus and file-system backed Dovecot: 255 bytes of the
// encoded name, less with some file systems). An over-long component is cut and given a hash of the full
// component, so that two long names sharing their beginning stay distinct, and the same name is always
// shortened the same way.

// minComponentBytes is the smallest MaxComponent Plan accepts: room for a hash suffix and a " (n)"
// disambiguation, even when the target forces their characters to be escaped.
const minComponentBytes = 24

// hashSuffixLen is the number of hex digits of the hash suffix: 32 bits, enough to keep the few long names
// of one folder apart.
const hashSuffixLen = 8

// wireLen is the length of s on the wire, in modified UTF-7.
func wireLen(s string) int { return len(imapconn.EncodeUTF7(s)) }

// shorten returns the escaped component cut to t.MaxComponent wire bytes with a hash suffix, and whether it
// had to be cut.
func shorten(escaped string, t Target) (string, bool) {
	if t.MaxComponent == 0 || wireLen(escaped) <= t.MaxComponent {
		return escaped, false
	}
	sum := sha256.Sum256([]byte(escaped))
	suffix := escapeText("-"+hex.EncodeToString(sum[:])[:hashSuffixLen], t)
	return withSuffix(escaped, suffix, t), true
}

// withSuffix appends suffix to the escaped component, cutting the component (never inside an escape or a
// character) so that the result fits t.MaxComponent.
func withSuffix(escaped, suffix string, t Target) string {
	if t.MaxComponent == 0 || wireLen(escaped+suffix) <= t.MaxComponent {
		return escaped + suffix
	}
	// The wire length of a prefix only grows as the prefix grows, so the longest fitting prefix is found
	// by extending it one unit at a time.
	cut := 0
	for cut < len(escaped) {
		next := cut + unitLen(escaped[cut:])
		if wireLen(escaped[:next]+suffix) > t.MaxComponent {
			break
		}
		cut = next
	}
	prefix := escaped[:cut]
	if prefix == "" && suffix != "" && suffix[0] == ' ' {
		// The suffix now starts the component: its leading space would be trimmed by servers.
		suffix = "%20" + suffix[1:]
	}
	return prefix + suffix
}

// unitLen is the length of the first unit of an escaped component: a "%XX" escape or one character.
func unitLen(s string) int {
	if len(s) >= 3 && s[0] == '=' && isHex(s[1]) && isHex(s[2]) {
		return 3
	}
	_, size := utf8.DecodeRuneInString(s)
	return size
}
