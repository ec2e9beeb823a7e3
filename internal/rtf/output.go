package rtf

import (
	"encoding/binary"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"

	"github.com/mailshift/mailshift/internal/codepage"
)

// textOutput collects the text a walk produces as UTF-8. Bytes in a code page are held back until
// something else is written or the code page changes, so that a double-byte character given as two \'hh
// escapes (Shift-JIS, GBK, Big5, UHC) is decoded as one.
type textOutput struct {
	sb       strings.Builder
	pending  []byte
	cp       int  // code page of pending
	high     rune // a UTF-16 high surrogate waiting for its low half
	decoders map[int]*encoding.Decoder
}

// writeBytes adds text in code page cp.
func (o *textOutput) writeBytes(b []byte, cp int) {
	if len(b) == 0 {
		return
	}
	o.flushSurrogate()
	if len(o.pending) > 0 && cp != o.cp {
		o.flushBytes()
	}
	o.cp = cp
	o.pending = append(o.pending, b...)
}

// writeByte adds one byte of text in code page cp.
func (o *textOutput) writeByte(b byte, cp int) {
	o.flushSurrogate()
	if len(o.pending) > 0 && cp != o.cp {
		o.flushBytes()
	}
	o.cp = cp
	o.pending = append(o.pending, b)
}

// writeString adds text that is already UTF-8.
func (o *textOutput) writeString(s string) {
	o.flush()
	o.sb.WriteString(s)
}

// writeUTF16 adds one UTF-16 code unit from \uN, pairing surrogates; a lone surrogate becomes U+FFFD.
func (o *textOutput) writeUTF16(u rune) {
	if len(o.pending) > 0 {
		o.flushBytes()
	}
	switch {
	case utf16.IsSurrogate(u) && u < 0xDC00: // high half
		o.flushSurrogate()
		o.high = u
		return
	case utf16.IsSurrogate(u): // low half
		if o.high != 0 {
			o.sb.WriteRune(utf16.DecodeRune(o.high, u))
			o.high = 0
			return
		}
		u = utf8.RuneError
	default:
		o.flushSurrogate()
	}
	if !utf8.ValidRune(u) {
		u = utf8.RuneError
	}
	o.sb.WriteRune(u)
}

func (o *textOutput) flushSurrogate() {
	if o.high != 0 {
		o.sb.WriteRune(utf8.RuneError)
		o.high = 0
	}
}

func (o *textOutput) flush() {
	o.flushBytes()
	o.flushSurrogate()
}

func (o *textOutput) flushBytes() {
	if len(o.pending) == 0 {
		return
	}
	defer func() { o.pending = o.pending[:0] }()
	if ascii(o.pending) {
		// Every code page this package decodes keeps ASCII as it is.
		o.sb.Write(o.pending)
		return
	}
	if o.cp == 65001 {
		o.sb.WriteString(strings.ToValidUTF8(string(o.pending), "\uFFFD"))
		return
	}
	d := o.decoder(o.cp)
	s, err := d.Bytes(o.pending)
	if err != nil {
		// The x/text decoders replace what they cannot decode; an error here is not expected, but
		// the text must not be lost: fall back to a decoder that cannot fail.
		s, _ = o.decoder(defaultCodePage).Bytes(o.pending)
	}
	o.sb.Write(s)
}

func (o *textOutput) decoder(cp int) *encoding.Decoder {
	if d, ok := o.decoders[cp]; ok {
		return d
	}
	enc := codepage.Encoding(cp)
	if enc == nil {
		enc = codepage.Encoding(defaultCodePage)
	}
	if o.decoders == nil {
		o.decoders = map[int]*encoding.Decoder{}
	}
	d := enc.NewDecoder()
	o.decoders[cp] = d
	return d
}

func (o *textOutput) String() string {
	o.flush()
	return o.sb.String()
}

func ascii(b []byte) bool {
	for len(b) >= 8 { // eight bytes at a time: no byte of an ASCII run has its high bit set
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
