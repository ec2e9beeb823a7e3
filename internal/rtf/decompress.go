package rtf

import (
	"encoding/binary"
	"fmt"
)

// [MS-OXRTFCP] 2.1.3.1.1: the header is COMPSIZE, RAWSIZE, COMPTYPE and CRC, four little-endian DWORDs.
const headerSize = 16

// COMPTYPE values ([MS-OXRTFCP] 2.1.3.1.1).
const (
	compTypeCompressed   = 0x75465A4C // "LZFu"
	compTypeUncompressed = 0x414C454D // "MELA"
)

// dictSize is the size of the circular dictionary of [MS-OXRTFCP] 2.1.2.2; offsets in references are 12
// bits wide, so they address exactly this many bytes.
const dictSize = 4096

// initialDictionary is the string the dictionary starts with ([MS-OXRTFCP] 2.1.2.1): the RTF boilerplate
// compressors can refer to from the first byte on. It is 207 bytes long, and writing starts right after it.
const initialDictionary = "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}" +
	"{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier" +
	"{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"

// maxPrealloc bounds the buffer allocated up front from the untrusted RAWSIZE. The output can still grow
// past it (a reference is 2 bytes and expands to at most 17, so the output is at most 8 times the input),
// but only as the input really produces it.
const maxPrealloc = 64 << 20

// Decompress returns the RTF document held in a PR_RTF_COMPRESSED property ([MS-OXRTFCP]).
//
// The error is ErrNotCompressedRTF (wrapped) when data has no valid header, and a *CorruptError when the
// header is valid but the rest is not: data shorter than COMPSIZE, a CRC that does not match, a token cut
// off, or no end marker.
//
// Real files are not always exact, so Decompress is lenient where that loses nothing:
//   - Bytes after the COMPSIZE+4 the header announces are not part of the stream and are ignored.
//   - Output beyond RAWSIZE is cut off: RAWSIZE is the size of the document, and what a decoder produces
//     past it comes from padding, never from the document.
//   - An end marker that comes before RAWSIZE bytes were produced ends the document there: the CRC
//     vouches for the compressed bytes, not for RAWSIZE, and the end marker is where the compressor
//     stopped ([MS-OXRTFCP] 2.2.1.2).
//   - A stream that fills RAWSIZE bytes needs no end marker after that point.
//   - For the uncompressed form ("MELA") the CRC field is not checked (writers must set it to 0, and
//     there is nothing for it to protect), and a RAWSIZE up to 12 bytes larger than the content is taken
//     to count the header bytes, as COMPSIZE does.
func Decompress(data []byte) ([]byte, error) {
	if len(data) < 12 {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrNotCompressedRTF, len(data), headerSize)
	}
	compType := binary.LittleEndian.Uint32(data[8:])
	if compType != compTypeCompressed && compType != compTypeUncompressed {
		return nil, fmt.Errorf("%w: COMPTYPE %#08x is neither LZFu nor MELA", ErrNotCompressedRTF, compType)
	}
	if len(data) < headerSize {
		return nil, corrupt(len(data), Truncated, "header has %d of %d bytes", len(data), headerSize)
	}
	compSize := binary.LittleEndian.Uint32(data[0:])
	rawSize := binary.LittleEndian.Uint32(data[4:])
	crc := binary.LittleEndian.Uint32(data[12:])

	// COMPSIZE counts the CONTENTS plus the 12 header bytes that follow it ([MS-OXRTFCP] 2.1.3.1.1).
	if compSize < headerSize-4 {
		return nil, corrupt(0, BadSize, "COMPSIZE %d is smaller than the %d header bytes it includes", compSize, headerSize-4)
	}
	end := uint64(compSize) + 4
	if end > uint64(len(data)) {
		return nil, corrupt(len(data), Truncated, "COMPSIZE %d announces %d bytes, the data has %d", compSize, end, len(data))
	}
	contents := data[headerSize:end]

	if compType == compTypeUncompressed {
		// RAWDATA: the document itself, RAWSIZE bytes of it. Some writers (Aspose.Email, in the
		// fixtures) count the 12 header bytes in RAWSIZE as they do in COMPSIZE; the content COMPSIZE
		// delimits is then the whole document.
		n := uint64(rawSize)
		if n > uint64(len(contents)) {
			if n > uint64(len(contents))+headerSize-4 {
				return nil, corrupt(headerSize+len(contents), BadSize, "RAWSIZE %d is larger than the %d uncompressed bytes", rawSize, len(contents))
			}
			n = uint64(len(contents))
		}
		return append([]byte(nil), contents[:n]...), nil
	}

	if got := rtfCRC(contents); got != crc {
		return nil, corrupt(12, BadCRC, "header says %#08x, the %d content bytes give %#08x", crc, len(contents), got)
	}
	return decompressLZFu(contents, rawSize)
}

// decompressLZFu decodes COMPRESSEDDATA ([MS-OXRTFCP] 2.1.3.1.1, 2.2.1.2): runs of a control byte followed
// by up to 8 tokens, its bits read least significant first; a 0 bit is a literal byte, a 1 bit a 2-byte
// big-endian dictionary reference whose top 12 bits are an offset into the circular dictionary and whose
// low 4 bits are the length minus 2. Every output byte is also written to the dictionary. A reference
// whose offset equals the current write position is the end marker.
func decompressLZFu(contents []byte, rawSize uint32) ([]byte, error) {
	limit := int(min(uint64(rawSize), 8*uint64(len(contents)))) // at most 8 output bytes per input byte
	// The output is written right after an image of the dictionary's initial contents, in one buffer: the
	// dictionary position of buf[p] is (p + len(initialDictionary)) mod dictSize, so the dictionary is
	// always the last dictSize bytes of buf, and a reference is a copy from d bytes back. Nothing is
	// written twice, and the image is 3889 zero bytes and the initial string, as the ring starts.
	buf := make([]byte, dictSize, dictSize+min(limit, maxPrealloc))
	copy(buf[dictSize-len(initialDictionary):], initialDictionary)
	if limit == 0 {
		return buf[dictSize:], nil
	}
	end := dictSize + limit // the buffer length at which the output is complete

	i := 0
	for i < len(contents) {
		control := contents[i]
		i++
		// Eight literals, the most common run in text, copied at once when they cannot end the output.
		if control == 0 && i+8 <= len(contents) && len(buf)+8 < end {
			buf = append(buf, contents[i:i+8]...)
			i += 8
			continue
		}
		for bit := uint(0); bit < 8; bit++ {
			if control&(1<<bit) == 0 {
				if i >= len(contents) {
					break
				}
				buf = append(buf, contents[i])
				i++
				if len(buf) == end {
					return buf[dictSize:], nil
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
			w := (len(buf) + len(initialDictionary)) & (dictSize - 1)
			if offset == w {
				return buf[dictSize:], nil // end marker
			}
			src := len(buf) - (w-offset)&(dictSize-1) // 1 to dictSize-1 bytes back
			length = min(length, end-len(buf))
			if src+length <= len(buf) {
				buf = append(buf, buf[src:src+length]...)
			} else {
				// The reference overlaps the bytes it is producing ([MS-OXRTFCP] 4.2), which then
				// repeat: copied one byte at a time.
				for k := range length {
					buf = append(buf, buf[src+k])
				}
			}
			if len(buf) == end {
				return buf[dictSize:], nil
			}
		}
	}
	return nil, corrupt(headerSize+len(contents), Truncated, "no end marker after %d of the %d bytes RAWSIZE announces", len(buf)-dictSize, rawSize)
}
