package ltp

import (
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mailshift/mailshift/internal/pst/ndb"
)

// fixtureSeeds adds the first block of some real PC and TC nodes from a
// fixture file as fuzz seeds (when the fixtures are present).
func fixtureSeeds(f *testing.F) {
	for _, name := range []string{"hiraoka-threeItems.pst", "pstsdk-sample2.pst"} {
		fh, err := os.Open(filepath.Join(fixtureDir, name))
		if err != nil {
			continue
		}
		fi, _ := fh.Stat()
		pf, err := ndb.Open(fh, fi.Size())
		if err == nil {
			for _, nid := range []ndb.NID{0x21, 0x122, 0x12D, 0x12E, 0x8022, 0x802D, 0x60E, 0x671, 0x692} {
				if n, err := pf.Node(nid); err == nil && n.BlockCount() > 0 {
					if b, err := n.Block(0); err == nil {
						f.Add(b)
					}
				}
			}
		}
		fh.Close()
	}
}

// fuzzNode wraps fuzz input as a one-block node; subnode 0x3F (any NID
// with a non-zero type resolves to it) holds the same bytes, so subnode
// paths are exercised too.
func fuzzNode(data []byte) *memNode {
	sub := &memNode{nid: 0x3F, blocks: [][]byte{data, data}}
	return &memNode{nid: 0x21, blocks: [][]byte{data}, subs: map[uint32]*memNode{0x3F: sub, 0x4A1: sub}}
}

func useValue(v Value) {
	_ = v.Tag()
	_, _ = v.Bytes()
	if r, _, err := v.Reader(); err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20))
	}
	_, _ = v.Size()
	_, _ = v.Int()
	_, _ = v.Bool()
	_, _ = v.Float()
	_, _ = v.Time()
	_, _ = v.GUID()
	_, _, _ = v.Object()
	_, _ = v.String(0)
	_, _ = v.String(932)
	_, _ = v.String(65001)
	_, _ = v.Strings(1252)
	_, _ = v.Ints()
	_, _ = v.Floats()
	_, _ = v.BinaryValues()
	_, _ = v.Times()
	_, _ = v.GUIDs()
}

func seedPC() []byte {
	b := newHeap(ClientSigPC)
	hid := func(d []byte) []byte { return u32(uint32(b.add(0, d))) }
	buildPC(b, []pcProp{
		{0x3001, PtypString, hid(utf16le("Inbox"))},
		{0x3602, PtypInteger32, u32(3)},
		{0x0E06, PtypTime, hid(u64(132223104000000000))},
		{0x1000, PtypMultipleString, hid(mvVar(utf16le("a"), utf16le("b")))},
		{0x1001, PtypMultipleInteger32, hid(append(u32(1), u32(2)...))},
		{0x1002, PtypBinary, u32(0x3F)},
		{0x1003, PtypObject, hid(append(u32(0x3F), u32(9)...))},
		{0x1004, PtypFloatingTime, hid(u64(0x40E5600000000000))},
	}, 3)
	return b.blocks()[0]
}

func seedTC(t testing.TB) []byte {
	// Single-page TC with heap-stored rows.
	b := newHeap(ClientSigTC)
	var recs []bthRec
	var matrix []byte
	for i := 0; i < 3; i++ {
		row := make([]byte, testRowSize)
		binary.LittleEndian.PutUint32(row, uint32(0x24+0x20*i))
		binary.LittleEndian.PutUint32(row[16:], uint32(b.add(0, utf16le("s"))))
		binary.LittleEndian.PutUint32(row[20:], 0x3F)
		binary.LittleEndian.PutUint32(row[32:], uint32(b.add(0, make([]byte, 16))))
		row[39], row[40] = 0xFF, 0x80
		matrix = append(matrix, row...)
		recs = append(recs, bthRec{u32(uint32(0x24 + 0x20*i)), u32(uint32(i))})
	}
	idx := b.addBTH(4, 4, recs, 0, 0)
	buildTCInfo(b, testCols, testRgib, idx, uint32(b.add(0, matrix)))
	return b.blocks()[0]
}

func FuzzHeap(f *testing.F) {
	fixtureSeeds(f)
	f.Add(seedPC())
	f.Add(seedTC(f))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := openHeap(fuzzNode(data))
		if err != nil {
			return
		}
		_, _ = h.Get(h.UserRoot())
		for i := 0; i < 16; i++ {
			_, _ = h.Get(HID(i << 5))
			_, _ = h.Get(HID(1<<16 | i<<5))
		}
		if bt, err := openBTH(h, h.UserRoot()); err == nil {
			_ = bt.walk(func(k, d []byte) error { _ = leUint(k); _ = leUint(d); return nil })
		}
	})
}

func FuzzPC(f *testing.F) {
	fixtureSeeds(f)
	f.Add(seedPC())
	f.Add(seedTC(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		pc, err := openPC(fuzzNode(data))
		if err != nil {
			return
		}
		for _, v := range pc.All() {
			useValue(v)
			if w, ok := pc.Get(v.ID); !ok || w.ID != v.ID {
				t.Fatalf("Get(%x) inconsistent with All", v.ID)
			}
		}
	})
}

func FuzzTC(f *testing.F) {
	fixtureSeeds(f)
	f.Add(seedTC(f))
	f.Add(seedPC())
	f.Fuzz(func(t *testing.T, data []byte) {
		tc, err := openTC(fuzzNode(data))
		if err != nil {
			return
		}
		_, _ = tc.RowIDs()
		rows := min(tc.Rows(), 64)
		for r := -1; r <= rows; r++ {
			_, _ = tc.RowID(r)
			for _, c := range tc.Columns() {
				if v, ok, err := tc.Get(r, c.ID); ok && err == nil {
					useValue(v)
				}
			}
		}
		_, _, _ = tc.FindRow(0x24)
	})
}
