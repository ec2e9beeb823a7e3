package ltp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"
)

var testCols = []tcCol{
	{0x67F20003, 0, 4, 0},
	{0x67F30003, 4, 4, 1},
	{0x0E060040, 8, 8, 2},
	{0x0037001F, 16, 4, 3},
	{0x00FF0102, 20, 4, 4},
	{0x00130014, 24, 8, 5},
	{0x00140048, 32, 4, 6},
	{0x00150002, 36, 2, 7},
	{0x0016000B, 38, 1, 8},
}

const testRowSize = 41

var testRgib = [4]int{36, 38, 39, 41}

// buildTestTC builds a TC with nrows rows. When rowsPerBlock > 0, the row
// matrix is stored in subnode 0x3F (padded blocks of rowsPerBlock rows);
// otherwise in the heap. idxEnt is the row index cbEnt (4, or 2 as ANSI).
func buildTestTC(t *testing.T, nrows, rowsPerBlock, idxEnt int) *memNode {
	t.Helper()
	b := newHeap(ClientSigTC)
	var matrix []byte
	var recs []bthRec
	for i := 0; i < nrows; i++ {
		row := make([]byte, testRowSize)
		rowID := uint32(0x200004 + 0x20*i)
		binary.LittleEndian.PutUint32(row[0:], rowID)
		binary.LittleEndian.PutUint32(row[4:], uint32(i))
		binary.LittleEndian.PutUint64(row[8:], uint64(132223104000000000+int64(i)*10000000))
		subj := b.add(1+i%3, utf16le(fmt.Sprintf("row %d", i)))
		binary.LittleEndian.PutUint32(row[16:], uint32(subj))
		binary.LittleEndian.PutUint32(row[20:], 0x1000+uint32(i)<<5|0x1F) // subnode NID
		binary.LittleEndian.PutUint64(row[24:], uint64(i)<<33)
		g := make([]byte, 16)
		g[0] = byte(i)
		binary.LittleEndian.PutUint32(row[32:], uint32(b.add(0, g)))
		binary.LittleEndian.PutUint16(row[36:], uint16(int16(-i)))
		row[38] = byte(i % 2)
		// CEB: all present except: odd rows lack Subject (bit 3); row 2 lacks Bool (bit 8).
		ceb := []byte{0xFF, 0x80}
		if i%2 == 1 {
			ceb[0] &^= 0x80 >> 3
		}
		if i == 2 {
			ceb[1] = 0
		}
		copy(row[39:], ceb)
		matrix = append(matrix, row...)
		ent := u32(uint32(i))
		if idxEnt == 2 {
			ent = u16(uint16(i))
		}
		recs = append(recs, bthRec{u32(rowID), ent})
	}
	hidIdx := b.addBTH(4, idxEnt, recs, 4, 4)
	subs := map[uint32]*memNode{}
	for i := 0; i < nrows; i++ {
		nid := 0x1000 + uint32(i)<<5 | 0x1F
		subs[nid] = &memNode{nid: nid, blocks: [][]byte{[]byte(fmt.Sprintf("blob %d", i))}}
	}
	var hnidRows uint32
	if nrows > 0 {
		if rowsPerBlock > 0 {
			hnidRows = 0x3F
			var blocks [][]byte
			per := rowsPerBlock * testRowSize
			for off := 0; off < len(matrix); off += per {
				end := min(off+per, len(matrix))
				blk := append([]byte(nil), matrix[off:end]...)
				if end < len(matrix) {
					blk = append(blk, make([]byte, 5)...) // padding at block end
				}
				blocks = append(blocks, blk)
			}
			subs[0x3F] = &memNode{nid: 0x3F, blocks: blocks}
		} else {
			hnidRows = uint32(b.add(0, matrix))
		}
	}
	buildTCInfo(b, testCols, testRgib, hidIdx, hnidRows)
	return &memNode{nid: 0x802E, blocks: b.blocks(), subs: subs}
}

func checkTestTC(t *testing.T, n *memNode, nrows int) {
	t.Helper()
	tc, err := openTC(n)
	if err != nil {
		t.Fatal(err)
	}
	if tc.Rows() != nrows {
		t.Fatalf("Rows = %d, want %d", tc.Rows(), nrows)
	}
	if c, ok := tc.Column(0x0037); !ok || c.Type != PtypString || c.Offset != 16 {
		t.Fatalf("Column(0x0037) = %+v %v", c, ok)
	}
	if cols := tc.Columns(); len(cols) != len(testCols) || cols[3].ID != 0x0037 || cols[3].Type != PtypString {
		t.Fatalf("Columns = %+v", cols)
	}
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < nrows; i++ {
		id, err := tc.RowID(i)
		if err != nil || id != uint32(0x200004+0x20*i) {
			t.Errorf("RowID(%d) = %x, %v", i, id, err)
		}
		if r, ok, err := tc.FindRow(id); err != nil || !ok || r != i {
			t.Errorf("FindRow(%x) = %d %v %v", id, r, ok, err)
		}
		v, ok, err := tc.Get(i, 0x0E06)
		if tm, terr := v.Time(); err != nil || !ok || terr != nil || !tm.Equal(base.Add(time.Duration(i)*time.Second)) {
			t.Errorf("row %d time %v %v %v %v", i, tm, ok, err, terr)
		}
		v, ok, err = tc.Get(i, 0x0037)
		if i%2 == 1 {
			if ok || err != nil {
				t.Errorf("row %d: subject should be absent (CEB), got ok=%v err=%v", i, ok, err)
			}
		} else if s, serr := v.String(0); !ok || err != nil || serr != nil || s != fmt.Sprintf("row %d", i) {
			t.Errorf("row %d subject %q %v %v %v", i, s, ok, err, serr)
		}
		v, ok, err = tc.Get(i, 0x00FF)
		if d, derr := v.Bytes(); !ok || err != nil || derr != nil || string(d) != fmt.Sprintf("blob %d", i) {
			t.Errorf("row %d blob %q %v %v %v", i, d, ok, err, derr)
		}
		v, _, _ = tc.Get(i, 0x0013)
		if x, err := v.Int(); err != nil || x != int64(i)<<33 {
			t.Errorf("row %d int64 %d %v", i, x, err)
		}
		v, _, _ = tc.Get(i, 0x0014)
		if g, err := v.GUID(); err != nil || g[0] != byte(i) {
			t.Errorf("row %d guid %v %v", i, g, err)
		}
		v, _, _ = tc.Get(i, 0x0015)
		if x, err := v.Int(); err != nil || x != int64(-i) {
			t.Errorf("row %d int16 %d %v", i, x, err)
		}
		v, ok, err = tc.Get(i, 0x0016)
		if i == 2 {
			if ok || err != nil {
				t.Errorf("row 2 bool should be absent (CEB bit 8)")
			}
		} else if bv, berr := v.Bool(); !ok || err != nil || berr != nil || bv != (i%2 == 1) {
			t.Errorf("row %d bool %v %v %v %v", i, bv, ok, err, berr)
		}
		if _, ok, err := tc.Get(i, 0x7777); ok || err != nil {
			t.Errorf("missing column: ok=%v err=%v", ok, err)
		}
	}
	var ce *CorruptError
	if _, err := tc.RowID(nrows); !errors.As(err, &ce) {
		t.Errorf("RowID out of range: %v", err)
	}
	if _, _, err := tc.Get(-1, 0x0037); !errors.As(err, &ce) {
		t.Errorf("Get(-1): %v", err)
	}
	if ids, err := tc.RowIDs(); err != nil || len(ids) != nrows {
		t.Errorf("RowIDs: %d %v", len(ids), err)
	}
}

func TestTCInlineRows(t *testing.T) { checkTestTC(t, buildTestTC(t, 5, 0, 4), 5) }

func TestTCSubnodeRowsSpanningBlocks(t *testing.T) {
	n := buildTestTC(t, 8, 3, 4)
	if got := len(n.subs[0x3F].blocks); got != 3 {
		t.Fatalf("row matrix has %d blocks, want 3", got)
	}
	checkTestTC(t, n, 8)
}

func TestTCSubnodeSingleBlock(t *testing.T) { checkTestTC(t, buildTestTC(t, 4, 10, 4), 4) }

func TestTCANSIRowIndex(t *testing.T) { checkTestTC(t, buildTestTC(t, 6, 0, 2), 6) }

func TestTCEmpty(t *testing.T) {
	tc, err := openTC(buildTestTC(t, 0, 0, 4))
	if err != nil || tc.Rows() != 0 {
		t.Fatalf("empty TC: %v", err)
	}
	if ids, err := tc.RowIDs(); err != nil || len(ids) != 0 {
		t.Errorf("RowIDs %v %v", ids, err)
	}
}

func TestTCCorrupt(t *testing.T) {
	mk := func(cols []tcCol, rgib [4]int, hnidRows uint32) *memNode {
		b := newHeap(ClientSigTC)
		buildTCInfo(b, cols, rgib, 0, hnidRows)
		return &memNode{nid: 0x60E, blocks: b.blocks()}
	}
	cases := map[string]*memNode{
		"rgib not ascending": mk(testCols, [4]int{36, 30, 39, 41}, 0),
		"column past row":    mk([]tcCol{{0x00010003, 40, 4, 0}}, [4]int{4, 4, 4, 5}, 0),
		"bit past CEB":       mk([]tcCol{{0x00010003, 0, 4, 9}}, [4]int{4, 4, 4, 5}, 0),
		"CEB too small":      mk(testCols, [4]int{36, 38, 39, 39}, 0),
		"dangling matrix":    mk(testCols, testRgib, 0x3F),
		"matrix bad HID":     mk(testCols, testRgib, 0xFFE0),
	}
	for name, n := range cases {
		_, err := openTC(n)
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Truncated TCINFO.
	b := newHeap(ClientSigTC)
	b.userRoot = b.add(0, []byte{ClientSigTC, 3, 0})
	var ce *CorruptError
	if _, err := openTC(&memNode{nid: 9, blocks: b.blocks()}); !errors.As(err, &ce) || ce.NID != 9 {
		t.Errorf("short TCINFO: %v", err)
	}
	// Row index pointing past the matrix.
	n := buildTestTC(t, 3, 0, 4)
	tc, err := openTC(n)
	if err != nil {
		t.Fatal(err)
	}
	tc.rows = 2 // pretend the matrix is shorter than the index
	if _, err := tc.RowIDs(); !errors.As(err, &ce) {
		t.Errorf("row index out of range: %v", err)
	}
	_ = bytes.Equal
}

func TestTCConcurrent(t *testing.T) {
	n := buildTestTC(t, 8, 3, 4)
	tc, err := openTC(n)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func(g int) {
			defer func() { done <- struct{}{} }()
			for k := 0; k < 50; k++ {
				r := (k*3 + g) % tc.Rows()
				if id, err := tc.RowID(r); err != nil || id != uint32(0x200004+0x20*r) {
					t.Errorf("RowID(%d) = %x %v", r, id, err)
				}
				if _, _, err := tc.FindRow(0x200004); err != nil {
					t.Error(err)
				}
				if v, ok, err := tc.Get(r, 0x0E06); !ok || err != nil {
					t.Errorf("Get: %v %v", ok, err)
				} else if _, err := v.Time(); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}
