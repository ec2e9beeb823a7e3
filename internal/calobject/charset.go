package calobject

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mailshift/mailshift/internal/ical"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
)

// isUTF8Name reports whether a charset label needs no conversion. US-ASCII is a subset of UTF-8, and
// mislabelled 8-bit text in a part declared ASCII is better read as UTF-8 than rejected.
func isUTF8Name(cs string) bool {
	switch strings.ToLower(strings.TrimSpace(cs)) {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968":
		return true
	}
	return false
}

// toUTF8 converts text in charset cs to UTF-8. The labels are those the WHATWG encoding standard knows,
// which cover what mail clients write (iso-8859-*, windows-125*, koi8-r, shift_jis, gb2312, …).
func toUTF8(data []byte, cs string) ([]byte, error) {
	if isUTF8Name(cs) {
		return data, nil
	}
	enc, err := htmlindex.Get(strings.TrimSpace(cs))
	if err != nil {
		if utf8.Valid(data) {
			return data, nil
		}
		return nil, fmt.Errorf("charset %s is unknown", ical.Clip(cs))
	}
	out, err := enc.NewDecoder().Bytes(data)
	if err != nil {
		return nil, fmt.Errorf("charset %s: %v", ical.Clip(cs), err)
	}
	return out, nil
}

// xmlText is an XML document as UTF-8 text: converted from UTF-16 when it starts with that byte order mark,
// or from the encoding its declaration names.
func xmlText(data []byte) (string, error) {
	if len(data) >= 2 && (data[0] == 0xFE && data[1] == 0xFF || data[0] == 0xFF && data[1] == 0xFE) {
		out, err := unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder().Bytes(data)
		if err != nil {
			return "", fmt.Errorf("UTF-16: %v", err)
		}
		return string(out), nil
	}
	if cs := xmlDeclEncoding(data); cs != "" && !isUTF8Name(cs) {
		out, err := toUTF8(data, cs)
		if err != nil {
			return "", fmt.Errorf("XML declaration: %w", err)
		}
		return string(out), nil
	}
	return string(data), nil
}

// xmlDeclEncoding is the encoding="…" of a leading XML declaration, or "".
func xmlDeclEncoding(data []byte) string {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	// The declaration is "<?xml" and white space; "<?xml0…" is a processing instruction of another target.
	if !bytes.HasPrefix(data, []byte("<?xml")) || len(data) == len("<?xml") || !strings.ContainsRune(" \t\r\n", rune(data[len("<?xml")])) {
		return ""
	}
	end := bytes.Index(data, []byte("?>"))
	if end < 0 {
		return ""
	}
	decl := string(data[:end])
	i := strings.Index(decl, "encoding")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if !strings.HasPrefix(rest, "=") {
		return ""
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	q := rest[0]
	j := strings.IndexByte(rest[1:], q)
	if j < 0 {
		return ""
	}
	return rest[1 : 1+j]
}
