package ndb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"
)

// A small PST writer for tests: it lays out the header, one NBT leaf page,
// one BBT leaf page and the given blocks exactly as [MS-PST] 2.2 describes,
// so that structures absent from the fixtures (SIBLOCK, XXBLOCK, 4 KiB
// pages) are exercised. It is a test fake, not a reference: it shares the
// reader's understanding of the format.

type synthBlock struct {
	bid  BID
	data []byte // plain (unencoded) contents
}

type synthNode struct {
	nid       NID
	data, sub BID
	parent    NID
}

func layoutFor(fm Format) (layout, uint16) {
	switch fm {
	case FormatANSI:
		return layoutANSI, 14
	case FormatUnicode4K:
		return layoutUnicode4K, 36
	}
	return layoutUnicode, 23
}

func putID(l layout, b []byte, v uint64) {
	if l.idSize == 4 {
		binary.LittleEndian.PutUint32(b, uint32(v))
	} else {
		binary.LittleEndian.PutUint64(b, v)
	}
}

func buildPST(fm Format, crypt CryptMethod, blocks []synthBlock, nodes []synthNode) []byte {
	l, wVer := layoutFor(fm)
	ps := int64(l.pageSize)
	nbtIB, bbtIB := 2*ps, 3*ps
	if ps == 512 {
		nbtIB, bbtIB = 1024, 1536
	}
	const nbtBID, bbtBID = 0x1000, 0x1004
	out := make([]byte, bbtIB+ps)
	type placed struct {
		bid BID
		ib  int64
		cb  int
	}
	var bbt []placed
	for _, b := range blocks {
		data := append([]byte(nil), b.data...)
		if !b.bid.Internal() {
			Encrypt(crypt, b.bid, data)
		}
		total := (len(data) + l.blockTrailerSize + l.blockAlign - 1) / l.blockAlign * l.blockAlign
		ib := int64(len(out))
		blk := make([]byte, total)
		copy(blk, data)
		t := blk[total-l.blockTrailerSize:]
		binary.LittleEndian.PutUint16(t[0:], uint16(len(data)))
		binary.LittleEndian.PutUint16(t[2:], computeSig(uint64(ib), uint64(b.bid)))
		if l.idSize == 4 {
			binary.LittleEndian.PutUint32(t[4:], uint32(b.bid))
			binary.LittleEndian.PutUint32(t[8:], computeCRC(data))
		} else {
			binary.LittleEndian.PutUint32(t[4:], computeCRC(data))
			binary.LittleEndian.PutUint64(t[8:], uint64(b.bid))
		}
		out = append(out, blk...)
		bbt = append(bbt, placed{b.bid, ib, len(data)})
	}
	sort.Slice(bbt, func(i, j int) bool { return bbt[i].bid < bbt[j].bid })
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].nid < nodes[j].nid })

	writePage := func(ib int64, bid uint64, ptype byte, cEnt, cbEnt int, fill func(i int, e []byte)) {
		p := out[ib : ib+ps]
		for i := 0; i < cEnt; i++ {
			fill(i, p[i*cbEnt:(i+1)*cbEnt])
		}
		m := p[l.metaOff:]
		if l.wideCounts {
			binary.LittleEndian.PutUint16(m[0:], uint16(cEnt))
			binary.LittleEndian.PutUint16(m[2:], uint16(l.entriesSize/cbEnt))
			m[4], m[5] = byte(cbEnt), 0
		} else {
			m[0], m[1], m[2], m[3] = byte(cEnt), byte(l.entriesSize/cbEnt), byte(cbEnt), 0
		}
		t := p[l.trailerOff:]
		t[0], t[1] = ptype, ptype
		binary.LittleEndian.PutUint16(t[2:], computeSig(uint64(ib), bid))
		crc := computeCRC(p[:l.trailerOff])
		if l.idSize == 4 {
			binary.LittleEndian.PutUint32(t[4:], uint32(bid))
			binary.LittleEndian.PutUint32(t[8:], crc)
		} else {
			binary.LittleEndian.PutUint32(t[4:], crc)
			binary.LittleEndian.PutUint64(t[8:], bid)
		}
	}
	id := l.idSize
	writePage(nbtIB, nbtBID, ptypeNBT, len(nodes), l.nbtEntrySize, func(i int, e []byte) {
		n := nodes[i]
		putID(l, e, uint64(n.nid))
		putID(l, e[id:], uint64(n.data))
		putID(l, e[2*id:], uint64(n.sub))
		binary.LittleEndian.PutUint32(e[3*id:], uint32(n.parent))
	})
	writePage(bbtIB, bbtBID, ptypeBBT, len(bbt), l.bbtEntrySize, func(i int, e []byte) {
		b := bbt[i]
		putID(l, e, uint64(b.bid))
		putID(l, e[id:], uint64(b.ib))
		binary.LittleEndian.PutUint16(e[2*id:], uint16(b.cb))
		binary.LittleEndian.PutUint16(e[2*id+2:], 1)
	})

	h := out[:headerSizeUnicode]
	copy(h, "!BDN")
	copy(h[8:], "SM")
	binary.LittleEndian.PutUint16(h[10:], wVer)
	binary.LittleEndian.PutUint16(h[12:], 19)
	h[14], h[15] = 1, 1
	rootOff, sentinel := 180, 512
	if fm == FormatANSI {
		rootOff, sentinel = 164, 460
	}
	root := h[rootOff:]
	putID(l, root[4:], uint64(len(out)))
	putID(l, root[4+4*id:], nbtBID)
	putID(l, root[4+5*id:], uint64(nbtIB))
	putID(l, root[4+6*id:], bbtBID)
	putID(l, root[4+7*id:], uint64(bbtIB))
	h[sentinel], h[sentinel+1] = 0x80, byte(crypt)
	binary.LittleEndian.PutUint32(h[4:], computeCRC(h[8:8+471]))
	if fm != FormatANSI {
		binary.LittleEndian.PutUint32(h[524:], computeCRC(h[8:8+516]))
	}
	return out
}

func xblock(l layout, level int, total int, bids ...BID) []byte {
	b := make([]byte, 8+len(bids)*l.idSize)
	b[0], b[1] = 1, byte(level)
	binary.LittleEndian.PutUint16(b[2:], uint16(len(bids)))
	binary.LittleEndian.PutUint32(b[4:], uint32(total))
	for i, x := range bids {
		putID(l, b[8+i*l.idSize:], uint64(x))
	}
	return b
}

// slblock builds an SLBLOCK (level 0; entries nid,data,sub) or SIBLOCK
// (level 1; entries nid,bid).
func slblock(l layout, level int, entries ...[3]uint64) []byte {
	hdr := 8
	if l.idSize == 4 {
		hdr = 4
	}
	n := 3
	if level > 0 {
		n = 2
	}
	b := make([]byte, hdr+len(entries)*n*l.idSize)
	b[0], b[1] = 2, byte(level)
	binary.LittleEndian.PutUint16(b[2:], uint16(len(entries)))
	for i, e := range entries {
		for k := 0; k < n; k++ {
			putID(l, b[hdr+(i*n+k)*l.idSize:], e[k])
		}
	}
	return b
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func TestSynthetic(t *testing.T) {
	for _, fm := range []Format{FormatANSI, FormatUnicode, FormatUnicode4K} {
		for _, cm := range []CryptMethod{CryptNone, CryptPermute, CryptCyclic} {
			t.Run(fm.String()+"/"+cm.String(), func(t *testing.T) { testSynthetic(t, fm, cm) })
		}
	}
}

// synthData is the content of the synthetic test file.
type synthData struct {
	store, d1, d2, d3, d4, sub1, sub2, sub3 []byte
}

func newSynthData() synthData {
	return synthData{
		store: []byte("message store"),
		d1:    pattern(8000, 1), d2: pattern(100, 2), d3: pattern(5000, 3), d4: pattern(1, 4),
		sub1: pattern(300, 5), sub2: pattern(40, 6), sub3: pattern(70, 7),
	}
}

// synthFile builds a file with a message store node, a node with an
// XXBLOCK data tree and a SIBLOCK subnode tree (one subnode with nested
// subnodes, one whose subnode tree loops back).
func synthFile(fm Format, cm CryptMethod) []byte {
	l, _ := layoutFor(fm)
	sd := newSynthData()
	d1, d2, d3, d4, store, sub1, sub2, sub3 := sd.d1, sd.d2, sd.d3, sd.d4, sd.store, sd.sub1, sd.sub2, sd.sub3
	blocks := []synthBlock{
		{0x104, store},
		// data tree: XXBLOCK 0x112 -> XBLOCK 0x116 (d1,d2), XBLOCK 0x11A (d3,d4)
		{0x120, d1}, {0x124, d2}, {0x128, d3}, {0x12C, d4},
		{0x116, xblock(l, 1, len(d1)+len(d2), 0x120, 0x124)},
		{0x11A, xblock(l, 1, len(d3)+len(d4), 0x128, 0x12C)},
		{0x112, xblock(l, 2, len(d1)+len(d2)+len(d3)+len(d4), 0x116, 0x11A)},
		// subnode tree: SIBLOCK 0x132 -> SLBLOCK 0x136 (0x25, 0x45), SLBLOCK 0x13A (0x85)
		{0x140, sub1}, {0x144, sub2}, {0x148, sub3},
		{0x136, slblock(l, 0, [3]uint64{0x25, 0x140, 0}, [3]uint64{0x45, 0x144, 0x13E})},
		{0x13A, slblock(l, 0, [3]uint64{0x85, 0x148, 0x132})}, // 0x85 loops back to the tree
		{0x13E, slblock(l, 0, [3]uint64{0x65, 0x148, 0})},     // nested under 0x45
		{0x132, slblock(l, 1, [3]uint64{0x25, 0x136}, [3]uint64{0x85, 0x13A})},
	}
	nodes := []synthNode{
		{nid: NIDMessageStore, data: 0x104 | 1}, // reserved bit set: must be ignored
		{nid: 0x200024, data: 0x112, sub: 0x132, parent: NIDRootFolder},
		{nid: NIDRootFolder, data: 0x104, parent: NIDRootFolder},
	}
	return buildPST(fm, cm, blocks, nodes)
}

func testSynthetic(t *testing.T, fm Format, cm CryptMethod) {
	sd := newSynthData()
	d1, d2, d3, d4, store, sub1, sub2, sub3 := sd.d1, sd.d2, sd.d3, sd.d4, sd.store, sd.sub1, sd.sub2, sd.sub3
	b := synthFile(fm, cm)
	f, err := openBytes(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Format() != fm || f.Crypt() != cm {
		t.Fatalf("format %v crypt %v", f.Format(), f.Crypt())
	}
	var walked []NID
	if err := f.WalkNodes(func(e NodeEntry) error { walked = append(walked, e.NID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(walked) != 3 || walked[0] != NIDMessageStore || walked[2] != 0x200024 {
		t.Fatalf("walked %v", walked)
	}
	s, err := f.Node(NIDMessageStore)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Block(0); err != nil || !bytes.Equal(got, store) {
		t.Fatalf("store block %q %v", got, err)
	}
	m, err := f.Node(0x200024)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Join([][]byte{d1, d2, d3, d4}, nil)
	if m.Size() != int64(len(want)) || m.BlockCount() != 4 || m.Parent != NIDRootFolder {
		t.Fatalf("size %d blocks %d parent %#x", m.Size(), m.BlockCount(), m.Parent)
	}
	for i, w := range [][]byte{d1, d2, d3, d4} {
		if got, err := m.Block(i); err != nil || !bytes.Equal(got, w) {
			t.Fatalf("block %d: %v", i, err)
		}
	}
	if _, err := m.Block(4); err == nil {
		t.Error("Block(4) succeeded")
	}
	all, err := io.ReadAll(io.NewSectionReader(m, 0, m.Size()))
	if err != nil || !bytes.Equal(all, want) {
		t.Fatalf("ReadAll: %v", err)
	}
	for _, off := range []int64{0, 7999, 8000, 8099, 8100, 13099, int64(len(want)) - 1} {
		p := make([]byte, 300)
		n, err := m.ReadAt(p, off)
		wantN := min(300, len(want)-int(off))
		if n != wantN || !bytes.Equal(p[:n], want[off:off+int64(n)]) || (n < 300) != (err == io.EOF) {
			t.Errorf("ReadAt(300, %d) = %d, %v", off, n, err)
		}
	}
	if n, err := m.ReadAt(make([]byte, 1), m.Size()); n != 0 || err != io.EOF {
		t.Errorf("ReadAt at end = %d, %v", n, err)
	}

	subs, err := m.Subnodes()
	if err != nil || len(subs) != 3 || subs[0] != 0x25 || subs[1] != 0x45 || subs[2] != 0x85 {
		t.Fatalf("Subnodes %v %v", subs, err)
	}
	for nid, w := range map[NID][]byte{0x25: sub1, 0x45: sub2} {
		sn, err := m.Subnode(nid)
		if err != nil {
			t.Fatalf("Subnode(%#x): %v", nid, err)
		}
		if got, err := sn.Block(0); err != nil || !bytes.Equal(got, w) || sn.Parent != 0 {
			t.Fatalf("subnode %#x data: %v", nid, err)
		}
	}
	s45, _ := m.Subnode(0x45)
	s65, err := s45.Subnode(0x65)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s65.Block(0); !bytes.Equal(got, sub3) {
		t.Fatal("nested subnode data")
	}
	if _, err := m.Subnode(0x15); !errors.Is(err, ErrNotFound) {
		t.Errorf("Subnode(0x15) = %v", err)
	}
	if _, err := m.Subnode(0x26); !errors.Is(err, ErrNotFound) {
		t.Errorf("Subnode(0x26) = %v", err)
	}
	if _, err := m.Subnode(0x85); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Subnode(0x85) with a cyclic subnode tree = %v, want corrupt", err)
	}
	if _, err := s.Subnodes(); err != nil {
		t.Errorf("Subnodes of a node without subnodes: %v", err)
	}
}

// TestSyntheticCorruptTrees checks structural errors behind valid CRCs.
func TestSyntheticCorruptTrees(t *testing.T) {
	l := layoutUnicode
	d := pattern(100, 9)
	cases := []struct {
		name   string
		blocks []synthBlock
		what   string
	}{
		{"lcbTotal", []synthBlock{{0x120, d}, {0x112, xblock(l, 1, 99, 0x120)}}, "XBLOCK"},
		{"XBLOCK level", []synthBlock{{0x120, d}, {0x112, xblock(l, 3, 100, 0x120)}}, "XBLOCK"},
		{"XXBLOCK to data", []synthBlock{{0x120, d}, {0x112, xblock(l, 2, 100, 0x120)}}, "XXBLOCK"},
		{"XBLOCK to internal", []synthBlock{{0x116, xblock(l, 1, 0)}, {0x112, xblock(l, 1, 0, 0x116)}}, "XBLOCK"},
		{"XBLOCK self", []synthBlock{{0x112, xblock(l, 2, 0, 0x112)}}, "XXBLOCK"},
		{"missing block", []synthBlock{{0x112, xblock(l, 1, 100, 0x120)}}, "data block"},
		{"cEnt overflow", []synthBlock{{0x112, func() []byte { b := xblock(l, 1, 0); b[2] = 0xFF; return b }()}}, "XBLOCK"},
		{"btype", []synthBlock{{0x112, slblock(l, 0)}}, "XBLOCK"},
	}
	for _, tc := range cases {
		b := buildPST(FormatUnicode, CryptPermute, tc.blocks, []synthNode{{nid: 0x24, data: 0x112}})
		f, err := openBytes(t, b)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Node(0x24)
		var ce *CorruptError
		if !errors.As(err, &ce) || ce.What != tc.what || ce.NID != 0x24 {
			t.Errorf("%s: %v, want CorruptError %q for node 0x24", tc.name, err, tc.what)
		}
	}
	// Subnode trees: self-referencing SIBLOCK, wrong level.
	for _, tc := range []struct {
		name   string
		blocks []synthBlock
	}{
		{"SIBLOCK self", []synthBlock{{0x104, d}, {0x132, slblock(l, 1, [3]uint64{0x25, 0x132})}}},
		{"SIBLOCK level", []synthBlock{{0x104, d}, {0x136, slblock(l, 2, [3]uint64{0x25, 0x13A})}, {0x13A, slblock(l, 0)}, {0x132, slblock(l, 1, [3]uint64{0x25, 0x136})}}},
		{"btype", []synthBlock{{0x104, d}, {0x132, xblock(l, 1, 0)}}},
	} {
		b := buildPST(FormatUnicode, CryptNone, tc.blocks, []synthNode{{nid: 0x24, data: 0x104, sub: 0x132}})
		f, err := openBytes(t, b)
		if err != nil {
			t.Fatal(err)
		}
		n, err := f.Node(0x24)
		if err != nil {
			t.Fatal(err)
		}
		_, err1 := n.Subnodes()
		_, err2 := n.Subnode(0x25)
		for _, err := range []error{err1, err2} {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s: %v, want corrupt", tc.name, err)
			}
		}
	}
}

// TestSyntheticSubnodeErrorNamesParent checks that an error inside a
// subnode names both the subnode and its top-level node.
func TestSyntheticSubnodeErrorNamesParent(t *testing.T) {
	l := layoutUnicode
	d := pattern(100, 9)
	blocks := []synthBlock{{0x104, d}, {0x132, slblock(l, 0, [3]uint64{0x25, 0x150, 0})}}
	f, err := openBytes(t, buildPST(FormatUnicode, CryptNone, blocks, []synthNode{{nid: 0x24, data: 0x104, sub: 0x132}}))
	if err != nil {
		t.Fatal(err)
	}
	n, err := f.Node(0x24)
	if err != nil {
		t.Fatal(err)
	}
	if subs, err := n.Subnodes(); err != nil || len(subs) != 1 {
		t.Fatalf("Subnodes %v %v", subs, err)
	}
	_, err = n.Subnode(0x25)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.BID != 0x150 {
		t.Fatalf("got %v, want CorruptError for block 0x150", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "subnode 0x25 of node 0x24") {
		t.Errorf("error %q does not name the subnode and its node", msg)
	}
}
