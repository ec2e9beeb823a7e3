package rtf

import (
	"encoding/binary"
	"errors"
	"testing"
)

// Worked examples of [MS-OXRTFCP] section 4.
var (
	// 4.1: "{\rtf1\ansi\ansicpg1252\pard hello world}\r\n", mostly references into the initial dictionary.
	specSimple = []byte{
		0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5, 0xc7, 0xa7,
		0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0a, 0xf3, 0x20,
		0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f,
		0xa0,
	}
	specSimpleRTF = "{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n"

	// 4.2: "{\rtf1 WXYZWXYZWXYZWXYZWXYZ}", a reference that overlaps the bytes it writes.
	specOverlap = []byte{
		0x1a, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xe2, 0xd4, 0x4b, 0x51,
		0x41, 0x00, 0x04, 0x20, 0x57, 0x58, 0x59, 0x5a, 0x0d, 0x6e, 0x7d, 0x01, 0x0e, 0xb0,
	}
	specOverlapRTF = "{\\rtf1 WXYZWXYZWXYZWXYZWXYZ}"
)

// header builds a 16-byte [MS-OXRTFCP] header for contents.
func header(compType uint32, rawSize int, crc uint32, contents []byte) []byte {
	b := make([]byte, headerSize, headerSize+len(contents))
	binary.LittleEndian.PutUint32(b[0:], uint32(len(contents)+12))
	binary.LittleEndian.PutUint32(b[4:], uint32(rawSize))
	binary.LittleEndian.PutUint32(b[8:], compType)
	binary.LittleEndian.PutUint32(b[12:], crc)
	return append(b, contents...)
}

func TestInitialDictionary(t *testing.T) {
	if len(initialDictionary) != 207 {
		t.Fatalf("initial dictionary is %d bytes, [MS-OXRTFCP] 2.1.2.1 gives 207", len(initialDictionary))
	}
}

// crcBitwise is the CRC of [MS-OXRTFCP] 3.1.3.2 written out bit by bit, as an oracle for rtfCRC.
func crcBitwise(p []byte) uint32 {
	var crc uint32
	for _, b := range p {
		crc ^= uint32(b)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xEDB88320
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

func TestCRC(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want uint32
	}{
		{"empty", nil, 0},
		{"spec 4.1", specSimple[headerSize:], 0xa7c7c5f1},
		{"spec 4.2", specOverlap[headerSize:], 0x514bd4e2},
		{"text", []byte("The quick brown fox jumps over the lazy dog"), crcBitwise([]byte("The quick brown fox jumps over the lazy dog"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rtfCRC(tt.data); got != tt.want {
				t.Errorf("rtfCRC = %#08x, want %#08x", got, tt.want)
			}
			if got := crcBitwise(tt.data); got != tt.want {
				t.Errorf("bitwise oracle = %#08x, want %#08x", got, tt.want)
			}
		})
	}
}

func TestDecompress(t *testing.T) {
	lzfuWithRawSize := func(n int) []byte {
		b := append([]byte(nil), specSimple...)
		binary.LittleEndian.PutUint32(b[4:], uint32(n))
		return b
	}
	padded := append(append([]byte(nil), specSimple...), 0xde, 0xad, 0xbe, 0xef)
	mela := header(compTypeUncompressed, 14, 0, []byte("{\\rtf1 plain}\x00\x00"))
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"spec 4.1 simple", specSimple, specSimpleRTF},
		{"spec 4.2 overlapping reference", specOverlap, specOverlapRTF},
		{"RAWSIZE smaller than the document: cut at RAWSIZE", lzfuWithRawSize(10), specSimpleRTF[:10]},
		{"RAWSIZE larger than the document: end marker wins", lzfuWithRawSize(1000), specSimpleRTF},
		{"RAWSIZE zero", lzfuWithRawSize(0), ""},
		{"bytes after COMPSIZE are ignored", padded, specSimpleRTF},
		{"MELA", mela, "{\\rtf1 plain}\x00"},
		{"MELA RAWSIZE counting the header too", header(compTypeUncompressed, 15, 0, []byte("abc")), "abc"},
		{"MELA with a nonzero CRC", header(compTypeUncompressed, 3, 0x12345678, []byte("abc")), "abc"},
		{"end marker only", header(compTypeCompressed, 0, rtfCRC([]byte{0x01, 0x0c, 0xf0}), []byte{0x01, 0x0c, 0xf0}), ""},
		// A literal then the end marker: the write position is 208 (0x0d0) after one byte.
		{"literal then end marker", header(compTypeCompressed, 5, rtfCRC([]byte{0x02, 'x', 0x0d, 0x00}), []byte{0x02, 'x', 0x0d, 0x00}), "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decompress(tt.in)
			if err != nil {
				t.Fatalf("Decompress: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("Decompress = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecompressErrors(t *testing.T) {
	badCRC := append([]byte(nil), specSimple...)
	badCRC[12] ^= 1
	flipped := append([]byte(nil), specSimple...)
	flipped[20] ^= 0x40 // a content byte: the header's CRC no longer matches
	// A reference cut in half: control byte says "reference", one byte follows.
	halfRef := header(compTypeCompressed, 10, rtfCRC([]byte{0x01, 0x0c}), []byte{0x01, 0x0c})
	// Literals only, no end marker, fewer bytes than RAWSIZE.
	noEnd := header(compTypeCompressed, 10, rtfCRC([]byte{0x00, 'a', 'b'}), []byte{0x00, 'a', 'b'})
	tooSmallCompSize := append([]byte(nil), specSimple...)
	binary.LittleEndian.PutUint32(tooSmallCompSize[0:], 3)
	wrongType := append([]byte(nil), specSimple...)
	copy(wrongType[8:], "LZFv")

	tests := []struct {
		name    string
		in      []byte
		notRTF  bool
		problem Problem
		offset  int
	}{
		{"empty", nil, true, "", 0},
		{"eleven bytes", specSimple[:11], true, "", 0},
		{"wrong COMPTYPE", wrongType, true, "", 0},
		{"header cut", specSimple[:14], false, Truncated, 14},
		{"content cut", specSimple[:30], false, Truncated, 30},
		{"CRC field wrong", badCRC, false, BadCRC, 12},
		{"content byte flipped", flipped, false, BadCRC, 12},
		{"COMPSIZE below 12", tooSmallCompSize, false, BadSize, 0},
		{"reference cut in half", halfRef, false, Truncated, 17},
		{"no end marker", noEnd, false, Truncated, 19},
		{"MELA RAWSIZE far beyond the data", header(compTypeUncompressed, 100, 0, []byte("abc")), false, BadSize, 19},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decompress(tt.in)
			if err == nil {
				t.Fatalf("Decompress = %q, want an error", got)
			}
			if tt.notRTF {
				if !errors.Is(err, ErrNotCompressedRTF) {
					t.Fatalf("error %v, want ErrNotCompressedRTF", err)
				}
				return
			}
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T), want *CorruptError", err, err)
			}
			if ce.Problem != tt.problem || ce.Offset != tt.offset {
				t.Errorf("CorruptError{Offset: %d, Problem: %q}, want {%d, %q} (%v)", ce.Offset, ce.Problem, tt.offset, tt.problem, err)
			}
		})
	}
}

// TestDecompressEveryPrefix cuts the spec example at every length: each prefix fails with a typed error,
// and none panics.
func TestDecompressEveryPrefix(t *testing.T) {
	for n := range len(specSimple) {
		_, err := Decompress(specSimple[:n])
		var ce *CorruptError
		if err == nil || !(errors.Is(err, ErrNotCompressedRTF) || errors.As(err, &ce)) {
			t.Errorf("prefix of %d bytes: error %v, want ErrNotCompressedRTF or *CorruptError", n, err)
		}
	}
}
