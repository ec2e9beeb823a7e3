package groupware

import (
	"strings"
	"unicode/utf8"

	"github.com/mailshift/mailshift/internal/ical"
)

// cleanText makes s safe for every output format: invalid UTF-8 becomes U+FFFD, line ends become "\n", and
// the characters XML 1.0 forbids (§2.2 Char: C0 controls other than tab and newline, U+FFFE, U+FFFF,
// surrogates) are dropped. iCalendar (RFC 5545 §3.3.11) forbids the same controls in TEXT, so one cleaning
// serves all writers.
func cleanText(s string) string {
	if isCleanText(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\r':
			b.WriteByte('\n')
		case r == '\t' || r == '\n':
			b.WriteRune(r)
		case r < 0x20, r == 0x7f, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r <= 0xDFFF:
			// dropped: not representable in XML 1.0 or iCalendar TEXT
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isCleanText(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += n
	}
	return true
}

// oneLine is cleanText for values that must stay on one line (names, e-mail addresses, header values):
// newlines and tabs become spaces.
func oneLine(s string) string {
	s = cleanText(s)
	if strings.ContainsAny(s, "\n\t") {
		s = strings.NewReplacer("\n", " ", "\t", " ").Replace(s)
	}
	return strings.TrimSpace(s)
}

// xmlEscape escapes text for XML character data and attribute values (XML 1.0 §2.4, §3.3.3).
var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

func xmlEscape(s string) string { return xmlEscaper.Replace(cleanText(s)) }

// icalEscape is a TEXT value (RFC 5545 §3.3.11, RFC 6350 §3.4), cleaned for every writer first.
func icalEscape(s string) string { return ical.EscapeText(cleanText(s)) }

// icalParamValue is a property parameter value on one line, quoted when it must be (RFC 5545 §3.2). A
// DQUOTE becomes a single quote: RFC 6868's encoding of it is not read by every client the folders serve.
func icalParamValue(s string) string {
	return ical.ParamValue(strings.ReplaceAll(oneLine(s), `"`, "'"))
}
