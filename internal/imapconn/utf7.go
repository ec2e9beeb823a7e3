package imapconn

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Mailbox names travel in modified UTF-7 (RFC 3501 §5.1.3). go-imap encodes
// and decodes mailbox arguments and LIST/STATUS/METADATA/ACL responses
// itself; these helpers cover what it leaves raw (NAMESPACE prefixes) and let
// tests check the wire form.

var utf7Enc = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// EncodeUTF7 encodes a UTF-8 mailbox name in modified UTF-7.
func EncodeUTF7(s string) string {
	var b strings.Builder
	var pending []rune
	flush := func() {
		if len(pending) == 0 {
			return
		}
		u := utf16.Encode(pending)
		buf := make([]byte, 0, 2*len(u))
		for _, c := range u {
			buf = append(buf, byte(c>>8), byte(c))
		}
		b.WriteByte('&')
		b.WriteString(utf7Enc.EncodeToString(buf))
		b.WriteByte('-')
		pending = pending[:0]
	}
	for _, r := range s {
		switch {
		case r == '&':
			flush()
			b.WriteString("&-")
		case r >= 0x20 && r <= 0x7e:
			flush()
			b.WriteRune(r)
		default:
			pending = append(pending, r)
		}
	}
	flush()
	return b.String()
}

// DecodeUTF7 decodes a modified UTF-7 mailbox name to UTF-8.
func DecodeUTF7(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch < 0x20 || ch > 0x7e {
			return "", errors.New("utf7: non-ASCII byte in mailbox name")
		}
		if ch != '&' {
			b.WriteByte(ch)
			continue
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			return "", errors.New("utf7: unterminated shift")
		}
		chunk := s[i+1 : i+1+j]
		i += j + 1
		if chunk == "" {
			b.WriteByte('&')
			continue
		}
		raw, err := utf7Enc.DecodeString(chunk)
		if err != nil || len(raw)%2 != 0 {
			return "", errors.New("utf7: bad base64 in shift")
		}
		u := make([]uint16, len(raw)/2)
		for k := range u {
			u[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		for _, r := range utf16.Decode(u) {
			if r == utf8.RuneError || (r >= 0x20 && r <= 0x7e) {
				return "", errors.New("utf7: bad character in shift")
			}
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

// DecodeUTF7OrSame decodes a modified UTF-7 name, or returns it unchanged when it is not valid modified
// UTF-7 (servers that send UTF-8 names).
func DecodeUTF7OrSame(s string) string {
	if d, err := DecodeUTF7(s); err == nil {
		return d
	}
	return s
}
