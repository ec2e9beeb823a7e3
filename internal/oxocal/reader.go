package oxocal

import (
	"encoding/binary"
	"strconv"
	"unicode/utf16"
)

// reader walks a little-endian blob. The first failed read records a *CorruptError and every later read
// returns zero, so parsers read straight through and check err once per structure.
type reader struct {
	b         []byte
	off       int
	structure string
	err       error
}

func newReader(b []byte, structure string) *reader { return &reader{b: b, structure: structure} }

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) fail(field string, off int, reason string) {
	if r.err == nil {
		r.err = &CorruptError{Structure: r.structure, Field: field, Offset: off, Reason: reason}
	}
}

// take returns the next n bytes, or nil after recording a truncation of field.
func (r *reader) take(field string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > r.remaining() {
		r.fail(field, r.off, truncated(n, r.remaining()))
		return nil
	}
	b := r.b[r.off : r.off+n]
	r.off += n
	return b
}

func truncated(want, have int) string {
	return "needs " + strconv.Itoa(want) + " bytes, " + strconv.Itoa(have) + " left"
}

func (r *reader) u8(field string) uint8 {
	if b := r.take(field, 1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16(field string) uint16 {
	if b := r.take(field, 2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32(field string) uint32 {
	if b := r.take(field, 4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) i32(field string) int32 { return int32(r.u32(field)) }

// count reads a 32-bit element count and checks, before anything is allocated, that count elements of at
// least elemSize bytes fit in what is left of the blob.
func (r *reader) count32(field string, elemSize int) int {
	off := r.off
	n := r.u32(field)
	return r.checkCount(field, off, uint64(n), elemSize)
}

func (r *reader) count16(field string, elemSize int) int {
	off := r.off
	n := r.u16(field)
	return r.checkCount(field, off, uint64(n), elemSize)
}

func (r *reader) checkCount(field string, off int, n uint64, elemSize int) int {
	if r.err != nil {
		return 0
	}
	if n*uint64(elemSize) > uint64(r.remaining()) {
		r.fail(field, off, "count "+strconv.Itoa(int(min(n, 1<<40)))+" exceeds the "+strconv.Itoa(r.remaining())+" bytes left")
		return 0
	}
	return int(n)
}

// utf16 reads n UTF-16LE code units.
func (r *reader) utf16(field string, n int) string {
	b := r.take(field, 2*n)
	if b == nil {
		return ""
	}
	u := make([]uint16, n)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
