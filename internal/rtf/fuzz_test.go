package rtf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz targets check that no input panics and that the results keep their bounds. `make test` runs
// each for a few seconds, so they do little work per input.

func FuzzDecompress(f *testing.F) {
	f.Add(specSimple)
	f.Add(specOverlap)
	f.Add(header(compTypeUncompressed, 13, 0, []byte("{\\rtf1 plain}")))
	f.Add(specSimple[:30])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Decompress(data)
		checkDecompressResult(t, data, out, err)
		if err == nil {
			if raw := binary.LittleEndian.Uint32(data[4:]); uint64(len(out)) > uint64(raw) {
				t.Fatalf("%d bytes out, RAWSIZE %d", len(out), raw)
			}
		}

		// The same bytes as the contents of a stream with a correct CRC reach the decoder itself.
		lz := header(compTypeCompressed, 8*len(data), rtfCRC(data), data)
		out, err = Decompress(lz)
		checkDecompressResult(t, lz, out, err)
		var ce *CorruptError
		if errors.As(err, &ce) && ce.Problem != Truncated {
			t.Fatalf("consistent header, yet %v", err)
		}

		// The uncompressed form gives back any content.
		out, err = Decompress(header(compTypeUncompressed, len(data), 0, data))
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("MELA round trip: %q, %v", out, err)
		}
	})
}

func checkDecompressResult(t *testing.T, in, out []byte, err error) {
	t.Helper()
	if err != nil {
		var ce *CorruptError
		switch {
		case errors.As(err, &ce):
			if ce.Offset < 0 || ce.Offset > len(in) {
				t.Fatalf("error offset %d outside the %d-byte input: %v", ce.Offset, len(in), err)
			}
		case !errors.Is(err, ErrNotCompressedRTF):
			t.Fatalf("untyped error %v", err)
		}
		if out != nil {
			t.Fatalf("output %q with error %v", out, err)
		}
		return
	}
	// A 2-byte reference expands to at most 17 bytes and costs an eighth of a control byte as well.
	if len(out) > 8*len(in) {
		t.Fatalf("%d bytes from %d", len(out), len(in))
	}
}

var asciiWord = regexp.MustCompile(`[A-Za-z0-9]+`)

func FuzzDeencapsulate(f *testing.F) {
	f.Add([]byte(specHTMLRTF))
	f.Add([]byte(htmlDoc(`{\*\mhtmltag84 <img src="http://h/a">}{\*\htmltag84 <img src="a">}\htmlrtf {\f1 \'e4}\htmlrtf0 \uc2\u26085\'93\'fa`)))
	f.Add([]byte(`{\rtf1\ansi\ansicpg1251\fromtext{\fonttbl{\f0\fcharset204 Courier;}}\f0 one\par \'cf\u-10179?\u-8704?}`))
	f.Add([]byte(`{\rtf1\ansi{\fonttbl{\f0 Arial;}}\pard Hello\par}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Deencapsulate(data)
		if err != nil {
			if !errors.Is(err, ErrNotRTF) && !errors.Is(err, ErrNotEncapsulated) && !errors.Is(err, ErrTooDeep) {
				t.Fatalf("untyped error %v", err)
			}
		} else {
			if b.Kind != HTML && b.Kind != Text {
				t.Fatalf("kind %v", b.Kind)
			}
			checkText(t, data, b.Text)
		}

		// The input's ASCII words, one per paragraph of a \fromtext document, come back as lines.
		ws := asciiWord.FindAllString(string(data), 50)
		doc := `{\rtf1\ansi\ansicpg1252\fromtext \deff0{\fonttbl{\f0\fswiss Arial;}}` + "\r\n" + `\f0 ` + strings.Join(ws, `\par `) + "}"
		b, err = Deencapsulate([]byte(doc))
		if err != nil || b.Kind != Text || b.Text != strings.Join(ws, "\r\n") {
			t.Fatalf("text round trip of %q: %+v, %v", ws, b, err)
		}
	})
}

func FuzzToText(f *testing.F) {
	f.Add([]byte(specHTMLRTF))
	f.Add([]byte(`{\rtf1\ansi\ansicpg1251{\fonttbl{\f0\fcharset128 MS Gothic;}}{\field{\*\fldinst x}{\fldrslt \f0\'82\'a0}}\uc0\u1055\par}`))
	f.Add([]byte(`{\rtf1{\pict\bin5 {{{{{}\'zz\u-1?\_\~\-}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ToText(data)
		if err != nil {
			if !errors.Is(err, ErrNotRTF) && !errors.Is(err, ErrTooDeep) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		checkText(t, data, s)
	})
}

// checkText: valid UTF-8, and linear in the input. No byte of RTF turns into more than 3 bytes of UTF-8 (a
// byte that does not decode becomes U+FFFD, and every control word is longer than its text).
func checkText(t *testing.T, in []byte, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("invalid UTF-8 %q", s)
	}
	if len(s) > 3*len(in) {
		t.Fatalf("%d bytes of text from %d bytes of RTF", len(s), len(in))
	}
}
