package ltp

import (
	"bytes"
	"errors"
	"testing"
)

func TestHeapMultiPage(t *testing.T) {
	b := newHeap(ClientSigPC)
	h0 := b.add(0, []byte("page zero"))
	for p := 1; p <= 9; p++ { // page 8 carries an HNBITMAPHDR
		if p == 3 {
			b.add(3, nil) // ensure page exists, then leave it otherwise empty
			continue
		}
		b.add(p, []byte{byte(p), byte(p)})
	}
	b.pages[3] = nil // empty heap page: cAlloc = 0
	h8 := HID(8<<16 | 1<<5)
	h9 := HID(9<<16 | 1<<5)
	hEmpty := b.add(0, nil)
	b.userRoot = h0
	n := &memNode{nid: 0x21, blocks: b.blocks()}
	h, err := openHeap(n)
	if err != nil {
		t.Fatal(err)
	}
	if h.ClientSig() != ClientSigPC || h.UserRoot() != h0 {
		t.Fatalf("header: sig %x root %x", h.ClientSig(), h.UserRoot())
	}
	for _, c := range []struct {
		hid  HID
		want []byte
	}{{h0, []byte("page zero")}, {h8, []byte{8, 8}}, {h9, []byte{9, 9}}, {hEmpty, []byte{}}, {0, nil}} {
		got, err := h.Get(c.hid)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("Get(%x) = %q, %v; want %q", c.hid, got, err, c.want)
		}
	}
	for _, bad := range []HID{
		3<<16 | 1<<5,     // empty page has no allocations
		0<<16 | 99<<5,    // index out of range
		20<<16 | 1<<5,    // page out of range
		1<<16 | 1<<5 | 1, // not a HID (NID type 1)
		1 << 16,          // index 0
	} {
		_, err := h.Get(bad)
		var ce *CorruptError
		if !errors.As(err, &ce) || ce.NID != 0x21 {
			t.Errorf("Get(%x): err %v, want CorruptError on node 0x21", bad, err)
		}
	}
}

func TestHeapCorruptHeader(t *testing.T) {
	good := newHeap(ClientSigPC)
	good.userRoot = good.add(0, []byte{1})
	blk := good.blocks()[0]
	cases := map[string][]byte{
		"short":       blk[:5],
		"bad sig":     append([]byte{blk[0], blk[1], 0x00}, blk[3:]...),
		"ibHnpm past": append([]byte{0xff, 0x7f}, blk[2:]...),
		"cAlloc huge": func() []byte {
			c := append([]byte(nil), blk...)
			ib := int(c[0]) | int(c[1])<<8
			c[ib], c[ib+1] = 0xff, 0xff
			return c
		}(),
	}
	for name, data := range cases {
		_, err := openHeap(&memNode{nid: 7, blocks: [][]byte{data}})
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err %v, want CorruptError", name, err)
		}
	}
	if _, err := openHeap(&memNode{nid: 7}); err == nil {
		t.Error("no blocks: want error")
	}
}

func TestBTHMultiLevel(t *testing.T) {
	b := newHeap(ClientSigBTH)
	var recs []bthRec
	for i := 0; i < 50; i++ {
		recs = append(recs, bthRec{u32(uint32(1000 - i)), u32(uint32(i))})
	}
	b.userRoot = b.addBTH(4, 4, recs, 7, 1)
	h, err := openHeap(&memNode{nid: 1, blocks: b.blocks()})
	if err != nil {
		t.Fatal(err)
	}
	bt, err := openBTH(h, h.UserRoot())
	if err != nil {
		t.Fatal(err)
	}
	var keys []uint64
	if err := bt.walk(func(k, d []byte) error { keys = append(keys, leUint(k)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 50 || keys[0] != 951 || keys[49] != 1000 {
		t.Fatalf("keys %v", keys)
	}
}

func TestBTHCycle(t *testing.T) {
	b := newHeap(ClientSigBTH)
	// index record pointing at itself: HID of the first allocation on page 0.
	self := HID(1 << 5)
	b.add(0, append(u32(1), u32(uint32(self))...))
	hdr := []byte{ClientSigBTH, 4, 4, 2}
	b.userRoot = b.add(0, append(hdr, u32(uint32(self))...))
	h, err := openHeap(&memNode{nid: 1, blocks: b.blocks()})
	if err != nil {
		t.Fatal(err)
	}
	bt, err := openBTH(h, h.UserRoot())
	if err != nil {
		t.Fatal(err)
	}
	var ce *CorruptError
	if err := bt.walk(func(k, d []byte) error { return nil }); !errors.As(err, &ce) {
		t.Fatalf("cycle: err %v", err)
	}
}
