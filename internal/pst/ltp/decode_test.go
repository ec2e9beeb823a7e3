package ltp

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"unicode/utf16"

	"github.com/mailshift/mailshift/internal/codepage"
)

// decodeUTF16Reference is the plain decoding DecodeUTF16 must match: code units, trailing NULs dropped,
// utf16.Decode (an unpaired surrogate becomes U+FFFD).
func decodeUTF16Reference(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	for len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	return string(utf16.Decode(u))
}

// TestDecodeUTF16MatchesReference: ASCII, BMP, surrogate pairs, unpaired and reversed surrogates, embedded
// and trailing NULs and odd lengths all decode as the reference does.
func TestDecodeUTF16MatchesReference(t *testing.T) {
	units := []uint16{0, 'a', 0x7f, 0x80, 0x7ff, 0x800, 0xfffd, 0xffff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xd83d, 0xde00}
	le := func(us ...uint16) []byte {
		b := make([]byte, 0, 2*len(us))
		for _, u := range us {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
		return b
	}
	cases := [][]byte{nil, {0}, {'a'}, {'a', 0, 'b'}, le(0, 0), le('a', 0, 'b', 0, 0), le(0xd83d, 0xde00), le(0xde00, 0xd83d),
		le(0xd83d), le(0xd83d, 'x'), le(0xd83d, 0xd83d, 0xde00), le(0xd83d, 0)}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		us := make([]uint16, rng.IntN(12))
		for i := range us {
			us[i] = units[rng.IntN(len(units))]
		}
		b := le(us...)
		if rng.IntN(4) == 0 {
			b = append(b, byte(rng.Uint32()))
		}
		cases = append(cases, b)
	}
	for _, c := range cases {
		if got, want := DecodeUTF16(c), decodeUTF16Reference(c); got != want {
			t.Errorf("DecodeUTF16(% x) = %q, want %q", c, got, want)
		}
	}
}

// TestDecodeString8ASCII: ASCII text in a Windows code page decodes as that code page's decoder decodes it.
func TestDecodeString8ASCII(t *testing.T) {
	var ascii []byte
	for c := range 0x80 {
		ascii = append(ascii, byte(c))
	}
	for _, cp := range []int{0, 1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258} {
		enc := codepage.Encoding(cp)
		want, err := enc.NewDecoder().Bytes(ascii)
		if err != nil {
			t.Fatal(err)
		}
		if got := DecodeString8(ascii, cp); got != string(want) {
			t.Errorf("code page %d: %q, want %q", cp, got, want)
		}
	}
}
