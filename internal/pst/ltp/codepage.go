package ltp

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/mailshift/mailshift/internal/codepage"
)

// SupportedCodepage reports whether DecodeString8 knows cp (other code
// pages fall back to Windows-1252).
func SupportedCodepage(cp int) bool {
	switch cp {
	case 65001, 20127:
		return true
	}
	return codepage.Encoding(cp) != nil
}

// DecodeString8 decodes 8-bit text in the given Windows code page
// (0 = Windows-1252; unknown code pages fall back to Windows-1252).
// Invalid bytes become U+FFFD; it never fails.
func DecodeString8(b []byte, cp int) string {
	switch cp {
	case 65001:
		return strings.ToValidUTF8(string(b), "\uFFFD")
	case 20127:
		var sb strings.Builder
		for _, c := range b {
			if c < 0x80 {
				sb.WriteByte(c)
			} else {
				sb.WriteRune(utf8.RuneError)
			}
		}
		return sb.String()
	}
	if windowsCodePage(cp) && isASCII(b) {
		// The Windows code pages keep ASCII as it is; most String8 values are ASCII.
		return string(b)
	}
	enc := codepage.Encoding(cp)
	if enc == nil {
		enc = charmap.Windows1252
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		// Decoders in x/text replace invalid input; an error here is
		// unexpected. Fall back to a byte-wise Latin-1 style decode.
		out, _ = charmap.Windows1252.NewDecoder().Bytes(b)
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// windowsCodePage reports whether cp is one of the Windows code pages 1250 to 1258, or 0 (Windows-1252):
// the single-byte code pages whose lower half is ASCII.
func windowsCodePage(cp int) bool { return cp == 0 || cp >= 1250 && cp <= 1258 }

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
