package ltp

import (
	"encoding/binary"
	"fmt"
	"sort"
	"sync"
)

// Column describes one TC column (TCOLDESC).
type Column struct {
	ID     uint16
	Type   PropType
	Offset uint16 // ibData
	Size   uint8  // cbData
	Bit    uint8  // iBit (CEB index)
}

// Tag returns the column's property tag.
func (c Column) Tag() uint32 { return uint32(c.ID)<<16 | uint32(c.Type) }

// TableContext is a TC ([MS-PST] 2.3.4).
type TableContext struct {
	heap    *Heap
	n       node
	cols    []Column
	byID    map[uint16]int
	rowSize int
	cebOff  int // rgib[TCI_1b]: start of the CEB
	rows    int
	hidRows HID // row index BTH header

	// row matrix
	inline    []byte // when stored in the heap
	matrix    node   // when stored in a subnode
	rowsPerBk int
	mu        sync.Mutex
	cacheIdx  int
	cacheBlk  []byte

	idxOnce sync.Once
	idx     map[uint32]int
	idxErr  error
}

const tcInfoSize = 22

func openTC(n node) (*TableContext, error) {
	h, err := openHeap(n)
	if err != nil {
		return nil, err
	}
	nid := n.ID()
	if h.ClientSig() != ClientSigTC {
		return nil, corrupt(nid, "TC", "bClientSig is 0x%02x, want 0x7C", h.ClientSig())
	}
	d, err := h.Get(h.UserRoot())
	if err != nil {
		return nil, err
	}
	if len(d) < tcInfoSize {
		return nil, corrupt(nid, "TCINFO", "%d bytes, need %d", len(d), tcInfoSize)
	}
	if d[0] != ClientSigTC {
		return nil, corrupt(nid, "TCINFO", "bType is 0x%02x, want 0x7C", d[0])
	}
	cCols := int(d[1])
	tc := &TableContext{heap: h, n: n, cols: make([]Column, 0, cCols), byID: make(map[uint16]int, cCols), cacheIdx: -1}
	end4 := int(binary.LittleEndian.Uint16(d[2:]))
	end2 := int(binary.LittleEndian.Uint16(d[4:]))
	end1 := int(binary.LittleEndian.Uint16(d[6:]))
	endBM := int(binary.LittleEndian.Uint16(d[8:]))
	if !(end4 <= end2 && end2 <= end1 && end1 <= endBM) {
		return nil, corrupt(nid, "TCINFO", "rgib offsets %d,%d,%d,%d not ascending", end4, end2, end1, endBM)
	}
	if endBM-end1 < (cCols+7)/8 {
		return nil, corrupt(nid, "TCINFO", "CEB of %d bytes too small for %d columns", endBM-end1, cCols)
	}
	tc.rowSize, tc.cebOff = endBM, end1
	tc.hidRows = HID(binary.LittleEndian.Uint32(d[10:]))
	hnidRows := binary.LittleEndian.Uint32(d[14:])
	if len(d) < tcInfoSize+8*cCols {
		return nil, corrupt(nid, "TCINFO", "%d bytes too small for %d columns", len(d), cCols)
	}
	for i := 0; i < cCols; i++ {
		c := d[tcInfoSize+8*i:]
		tag := binary.LittleEndian.Uint32(c)
		col := Column{ID: uint16(tag >> 16), Type: PropType(tag), Offset: binary.LittleEndian.Uint16(c[4:]), Size: c[6], Bit: c[7]}
		if int(col.Offset)+int(col.Size) > end1 {
			return nil, corrupt(nid, "TCOLDESC", "column 0x%08X: [%d,+%d) beyond data area of %d bytes", tag, col.Offset, col.Size, end1)
		}
		if int(col.Bit) >= 8*(endBM-end1) {
			return nil, corrupt(nid, "TCOLDESC", "column 0x%08X: iBit %d beyond CEB", tag, col.Bit)
		}
		tc.cols = append(tc.cols, col)
		if _, dup := tc.byID[col.ID]; !dup {
			tc.byID[col.ID] = i
		}
	}
	if tc.rowSize == 0 {
		if hnidRows != 0 {
			return nil, corrupt(nid, "TCINFO", "row size 0 with a row matrix")
		}
		return tc, nil
	}
	switch {
	case hnidRows == 0:
	case isHID(hnidRows):
		m, err := h.Get(HID(hnidRows))
		if err != nil {
			return nil, err
		}
		tc.inline = m
		tc.rows = len(m) / tc.rowSize
	default:
		sub, err := n.Sub(hnidRows)
		if err != nil {
			return nil, fmt.Errorf("pst/ltp: TC node 0x%x: row matrix subnode 0x%x: %w", nid, hnidRows, err)
		}
		tc.matrix = sub
		nb := sub.BlockCount()
		size := sub.Size()
		if nb <= 0 || size <= 0 {
			break
		}
		if nb == 1 {
			tc.rowsPerBk = int(size) / tc.rowSize
			tc.rows = tc.rowsPerBk
			break
		}
		b0, err := sub.Block(0)
		if err != nil {
			return nil, fmt.Errorf("pst/ltp: TC node 0x%x: row matrix block 0: %w", nid, err)
		}
		tc.rowsPerBk = len(b0) / tc.rowSize
		if tc.rowsPerBk == 0 {
			return nil, corrupt(nid, "TC row matrix", "block of %d bytes smaller than a row of %d", len(b0), tc.rowSize)
		}
		last := size - int64(nb-1)*int64(len(b0))
		if last < 0 {
			return nil, corrupt(nid, "TC row matrix", "subnode size %d inconsistent with %d blocks of %d", size, nb, len(b0))
		}
		tc.rows = (nb-1)*tc.rowsPerBk + int(last)/tc.rowSize
	}
	return tc, nil
}

// Rows returns the number of rows in the row matrix.
func (tc *TableContext) Rows() int { return tc.rows }

// Columns returns the column descriptors.
func (tc *TableContext) Columns() []Column { return append([]Column(nil), tc.cols...) }

// Heap returns the underlying heap.
func (tc *TableContext) Heap() *Heap { return tc.heap }

// row returns the bytes of row i (copied when read from a subnode block).
func (tc *TableContext) row(i int) ([]byte, error) {
	nid := tc.n.ID()
	if i < 0 || i >= tc.rows {
		return nil, corrupt(nid, "TC row", "row %d out of range (%d rows)", i, tc.rows)
	}
	if tc.matrix == nil {
		off := i * tc.rowSize
		return tc.inline[off : off+tc.rowSize : off+tc.rowSize], nil
	}
	bi, ri := i/tc.rowsPerBk, i%tc.rowsPerBk
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.cacheIdx != bi {
		b, err := tc.matrix.Block(bi)
		if err != nil {
			return nil, fmt.Errorf("pst/ltp: TC node 0x%x: row matrix block %d: %w", nid, bi, err)
		}
		tc.cacheIdx, tc.cacheBlk = bi, b
	}
	off := ri * tc.rowSize
	if off+tc.rowSize > len(tc.cacheBlk) {
		return nil, corrupt(nid, "TC row matrix", "row %d beyond block %d of %d bytes", i, bi, len(tc.cacheBlk))
	}
	return tc.cacheBlk[off : off+tc.rowSize : off+tc.rowSize], nil
}

// RowID returns dwRowID of row i (the PidTagLtpRowId cell at offset 0; for
// hierarchy and contents tables the NID of the child).
func (tc *TableContext) RowID(row int) (uint32, error) {
	r, err := tc.row(row)
	if err != nil {
		return 0, err
	}
	if len(r) < 4 {
		return 0, corrupt(tc.n.ID(), "TC row", "row of %d bytes has no dwRowID", len(r))
	}
	return binary.LittleEndian.Uint32(r), nil
}

// Get returns the cell of column id in row. ok is false when the table
// has no such column or the cell existence bitmap marks it absent.
func (tc *TableContext) Get(row int, id uint16) (Value, bool, error) {
	ci, ok := tc.byID[id]
	if !ok {
		if _, err := tc.row(row); err != nil {
			return Value{}, false, err
		}
		return Value{}, false, nil
	}
	return tc.GetColumn(row, ci)
}

// GetColumn returns the cell of the col-th column (index into Columns).
func (tc *TableContext) GetColumn(row, col int) (Value, bool, error) {
	if col < 0 || col >= len(tc.cols) {
		return Value{}, false, corrupt(tc.n.ID(), "TC", "column index %d out of range", col)
	}
	r, err := tc.row(row)
	if err != nil {
		return Value{}, false, err
	}
	c := tc.cols[col]
	ceb := r[tc.cebOff:]
	if ceb[c.Bit/8]&(0x80>>(c.Bit%8)) == 0 {
		return Value{}, false, nil
	}
	raw := r[int(c.Offset) : int(c.Offset)+int(c.Size)]
	if tc.matrix != nil {
		raw = append([]byte(nil), raw...)
	}
	v := resolveValue(tc.heap, tc.n, c.ID, c.Type, raw, false)
	if v.err != nil {
		return Value{}, false, v.err
	}
	return v, true, nil
}

// FindRow returns the row whose dwRowID is rowID, using the row index BTH
// (dwRowID -> dwRowIndex).
func (tc *TableContext) FindRow(rowID uint32) (int, bool, error) {
	tc.idxOnce.Do(tc.loadIndex)
	if tc.idxErr != nil {
		return 0, false, tc.idxErr
	}
	i, ok := tc.idx[rowID]
	return i, ok, nil
}

func (tc *TableContext) loadIndex() {
	tc.idx = make(map[uint32]int)
	if tc.hidRows == 0 {
		return
	}
	b, err := openBTH(tc.heap, tc.hidRows)
	if err != nil {
		tc.idxErr = err
		return
	}
	if b.cbKey != 4 {
		tc.idxErr = corrupt(tc.n.ID(), "TC row index", "cbKey %d, want 4", b.cbKey)
		return
	}
	tc.idxErr = b.walk(func(key, data []byte) error {
		i := int(leUint(data))
		if i < 0 || i >= tc.rows {
			return corrupt(tc.n.ID(), "TC row index", "row index %d out of range (%d rows)", i, tc.rows)
		}
		tc.idx[binary.LittleEndian.Uint32(key)] = i
		return nil
	})
}

// RowIDs returns all dwRowIDs from the row index, ordered by row.
func (tc *TableContext) RowIDs() ([]uint32, error) {
	tc.idxOnce.Do(tc.loadIndex)
	if tc.idxErr != nil {
		return nil, tc.idxErr
	}
	ids := make([]uint32, 0, len(tc.idx))
	for id := range tc.idx {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return tc.idx[ids[i]] < tc.idx[ids[j]] })
	return ids, nil
}

// Column returns the descriptor of the column with property ID id.
func (tc *TableContext) Column(id uint16) (Column, bool) {
	i, ok := tc.byID[id]
	if !ok {
		return Column{}, false
	}
	return tc.cols[i], true
}
