package rtf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// decompressLZFuBytewise is the decoder as [MS-OXRTFCP] describes it, one byte at a time: the reference
// that decompressLZFu's copies of whole literal runs and references must match exactly.
func decompressLZFuBytewise(contents []byte, rawSize uint32) ([]byte, error) {
	var dict [dictSize]byte
	copy(dict[:], initialDictionary)
	w := len(initialDictionary)

	limit := int(min(uint64(rawSize), 8*uint64(len(contents)))) // at most 8 output bytes per input byte
	out := make([]byte, 0, min(limit, maxPrealloc))
	if limit == 0 {
		return out, nil
	}

	i := 0
	for i < len(contents) {
		control := contents[i]
		i++
		for bit := uint(0); bit < 8; bit++ {
			if control&(1<<bit) == 0 {
				if i >= len(contents) {
					break
				}
				b := contents[i]
				i++
				dict[w] = b
				w = (w + 1) & (dictSize - 1)
				out = append(out, b)
				if len(out) == limit {
					return out, nil
				}
				continue
			}
			if i >= len(contents) {
				break
			}
			if i+1 >= len(contents) {
				return nil, corrupt(headerSize+i, Truncated, "dictionary reference cut off after its first byte")
			}
			ref := int(contents[i])<<8 | int(contents[i+1])
			i += 2
			offset, length := ref>>4, ref&0xF+2
			if offset == w {
				return out, nil // end marker
			}
			for k := range length {
				b := dict[(offset+k)&(dictSize-1)]
				// Written one byte at a time: a reference may overlap the bytes it is producing
				// ([MS-OXRTFCP] 4.2), which then repeat.
				dict[w] = b
				w = (w + 1) & (dictSize - 1)
				out = append(out, b)
				if len(out) == limit {
					return out, nil
				}
			}
		}
	}
	return nil, corrupt(headerSize+len(contents), Truncated, "no end marker after %d of the %d bytes RAWSIZE announces", len(out), rawSize)
}

// sameDecode checks that decompressLZFu and the byte-at-a-time decoder agree on contents: the same bytes
// or the same error.
func sameDecode(t *testing.T, what string, contents []byte, rawSize uint32) {
	t.Helper()
	got, gotErr := decompressLZFu(contents, rawSize)
	want, wantErr := decompressLZFuBytewise(contents, rawSize)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("%s: error %v, byte at a time %v", what, gotErr, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes differ from the byte-at-a-time decoder's %d", what, len(got), len(want))
	}
}

// TestDecompressMatchesBytewise: every compressed RTF body of the fixtures, and every prefix limit of
// RAWSIZE on the largest, decodes the same as byte at a time.
func TestDecompressMatchesBytewise(t *testing.T) {
	var largest []byte
	n := 0
	for _, it := range fixtureCorpus(t) {
		c := it.Compressed
		if len(c) < headerSize || binary.LittleEndian.Uint32(c[8:]) != compTypeCompressed {
			continue
		}
		sameDecode(t, it.File+" "+it.Where, c[headerSize:], binary.LittleEndian.Uint32(c[4:]))
		n++
		if len(c) > len(largest) {
			largest = c
		}
	}
	if n == 0 {
		t.Fatal("no compressed RTF in the fixtures")
	}
	// RAWSIZE cuts the output short at every length up to 600 bytes, and the contents are cut short.
	for limit := range uint32(600) {
		sameDecode(t, fmt.Sprintf("RAWSIZE %d", limit), largest[headerSize:], limit)
	}
	for cut := headerSize; cut < len(largest); cut += 7 {
		sameDecode(t, fmt.Sprintf("cut at %d", cut), largest[headerSize:cut], binary.LittleEndian.Uint32(largest[4:]))
	}
}

// TestDecompressMatchesBytewiseRandom: random token streams, with references that overlap the bytes they
// write, wrap the dictionary and hit the end marker, decode the same as byte at a time.
func TestDecompressMatchesBytewiseRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 3000 {
		var c []byte
		for range 1 + rng.IntN(600) {
			switch rng.IntN(4) {
			case 0:
				c = append(c, 0) // a run of literals follows
			default:
				c = append(c, byte(rng.IntN(256)))
			}
			// References to anywhere, and often near the write position (overlapping, wrapping).
			for range 8 {
				c = append(c, byte(rng.IntN(256)))
			}
		}
		sameDecode(t, fmt.Sprintf("round %d", round), c, uint32(rng.IntN(8*len(c)+2)))
	}
}

func FuzzDecompressMatchesBytewise(f *testing.F) {
	f.Add(specSimple[headerSize:], uint32(100))
	f.Add(specOverlap[headerSize:], uint32(100))
	f.Fuzz(func(t *testing.T, contents []byte, rawSize uint32) {
		sameDecode(t, "fuzz", contents, rawSize)
	})
}
