package ical

import (
	"strings"
)

// UnescapeText undoes TEXT escaping (RFC 5545 §3.3.11, RFC 6350 §3.4): "\n" or "\N" is a newline, a
// backslash before any other character stands for that character.
func UnescapeText(v string) string {
	if strings.IndexByte(v, '\\') < 0 {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
			switch v[i] {
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				b.WriteByte(v[i])
			}
			continue
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// textEscaper escapes what TEXT cannot hold as it is: backslash, semicolon, comma and newline.
var textEscaper = strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`)

// EscapeText escapes a TEXT value (RFC 5545 §3.3.11, RFC 6350 §3.4). Control characters are the caller's
// to remove or reject: what they mean differs between writers.
func EscapeText(s string) string {
	if !strings.ContainsAny(s, "\\;,\n") {
		return s
	}
	return textEscaper.Replace(s)
}

// caretDecode undoes RFC 6868's parameter value encoding (^n newline, ^' double quote, ^^ caret).
func caretDecode(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '^' && i+1 < len(v) {
			switch v[i+1] {
			case 'n', 'N':
				b.WriteByte('\n')
				i++
				continue
			case '\'':
				b.WriteByte('"')
				i++
				continue
			case '^':
				b.WriteByte('^')
				i++
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// ParamValue is a parameter value as written: quoted when it holds ":", ";" or "," (RFC 5545 §3.2), with
// the characters a quoted value cannot hold (double quote, newline) and "^" in RFC 6868 caret encoding.
func ParamValue(s string) string { return string(appendParamValue(nil, s, false)) }

// QuotedParamValue is ParamValue, always quoted: for values such as CN that readers show to people.
func QuotedParamValue(s string) string { return string(appendParamValue(nil, s, true)) }

func appendParamValue(b []byte, s string, quote bool) []byte {
	if !quote {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == ':' || c == ';' || c == ',' || c == '"' || c == '\n' || c == '^' {
				quote = true
				break
			}
		}
	}
	if !quote {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '^':
			b = append(b, "^^"...)
		case '"':
			b = append(b, "^'"...)
		case '\n':
			b = append(b, "^n"...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
