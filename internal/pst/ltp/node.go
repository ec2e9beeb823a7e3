// Package ltp implements the Lists, Tables and Properties layer of the
// Outlook PST file format ([MS-PST] section 2.3): heap-on-node (HN),
// BTree-on-heap (BTH), Property Context (PC) and Table Context (TC).
//
// Entry points are OpenHeap, OpenPC and OpenTC on an *ndb.Node. Property
// values are returned as Value, with typed accessors (Int, Bool, Float,
// Time, GUID, String, Strings, Ints, Floats, Times, GUIDs, BinaryValues,
// Object) and raw access (Bytes, Reader, Size, SubnodeNID).
//
// Design notes:
//   - Values stored in a subnode are lazy: a Value only records the owning
//     node and the subnode NID; data is read by Bytes/Reader/typed
//     accessors. Reader streams through the subnode without buffering it.
//   - Heap-stored values are resolved when the PC is opened (cheap slices of
//     cached heap pages); a dangling HID becomes an error returned by the
//     Value's accessors rather than failing the whole PC.
//   - PC records inline fixed-size values of at most 4 bytes; TC cells
//     inline fixed-size values of at most 8 bytes (and any fixed type whose
//     cell is wide enough); everything else is an HNID (HID or subnode NID).
//   - TC rows are counted from the row matrix; in a subnode, rows never
//     cross a block, and rows per block is derived from the first block's
//     length. The row index BTH (dwRowID -> dwRowIndex, 4- or 2-byte
//     entries) backs FindRow and RowIDs.
//   - String8 values decode with a Windows code page (DecodeString8); code
//     page 0 or an unknown one means Windows-1252. Invalid bytes become
//     U+FFFD.
//
// Every read is bounds-checked; corrupt data is reported as *CorruptError
// naming the node (errors.Is(err, ndb.ErrCorrupt) also holds), never as a
// panic. Heap, PropertyContext and TableContext are safe for concurrent use.
package ltp

import (
	"fmt"
	"io"
)

// node is the subset of an NDB node the LTP layer needs. The real
// *ndb.Node is adapted to it in ndb.go; tests use an in-memory fake.
type node interface {
	// ID returns the node's NID (for error messages).
	ID() uint32
	// Size is the total size of the node's data.
	Size() int64
	// BlockCount is the number of leaf data blocks.
	BlockCount() int
	// Block returns the i-th leaf data block (decrypted, no trailer). The LTP layer never modifies it, so
	// it may be shared with the node's cache.
	Block(i int) ([]byte, error)
	// ReadAt reads the node's data stream.
	ReadAt(p []byte, off int64) (int, error)
	// Sub opens a subnode of this node.
	Sub(nid uint32) (node, error)
}

// CorruptError reports malformed LTP structures.
type CorruptError struct {
	What   string // structure being read, e.g. "HN page map", "BTH header"
	NID    uint32 // node the structure lives in
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("pst/ltp: corrupt %s in node 0x%x: %s", e.What, e.NID, e.Reason)
}

func corrupt(n uint32, what, format string, args ...any) error {
	return &CorruptError{What: what, NID: n, Reason: fmt.Sprintf(format, args...)}
}

// memNode is an in-memory node: a list of blocks and a set of subnodes.
// It is used by tests and fuzz targets, and is handy for embedded data.
type memNode struct {
	nid    uint32
	blocks [][]byte
	subs   map[uint32]*memNode
}

func (m *memNode) ID() uint32 { return m.nid }

func (m *memNode) Size() int64 {
	var s int64
	for _, b := range m.blocks {
		s += int64(len(b))
	}
	return s
}

func (m *memNode) BlockCount() int { return len(m.blocks) }

func (m *memNode) Block(i int) ([]byte, error) {
	if i < 0 || i >= len(m.blocks) {
		return nil, fmt.Errorf("memNode: block %d out of range", i)
	}
	return m.blocks[i], nil
}

func (m *memNode) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("memNode: negative offset")
	}
	n := 0
	var pos int64
	for _, b := range m.blocks {
		end := pos + int64(len(b))
		if off < end && n < len(p) {
			start := off - pos
			if start < 0 {
				start = 0
			}
			c := copy(p[n:], b[start:])
			n += c
			off += int64(c)
		}
		pos = end
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memNode) Sub(nid uint32) (node, error) {
	s, ok := m.subs[nid]
	if !ok {
		return nil, fmt.Errorf("memNode: subnode 0x%x not found", nid)
	}
	return s, nil
}
