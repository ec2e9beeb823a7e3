package ndb

import (
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
)

func asCorrupt(t *testing.T, err error, what string) *CorruptError {
	t.Helper()
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T), want *CorruptError for %s", err, err, what)
	}
	if ce.What != what {
		t.Errorf("CorruptError.What = %q, want %q (%v)", ce.What, what, err)
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("errors.Is(%v, ErrCorrupt) false", err)
	}
	return ce
}

var corruptFixtures = []string{"pstsdk-sample1.pst", "pstsdk-sample2.pst", "pst2john-2003_high-encryption_quickquick.pst"}

func TestCorruptHeader(t *testing.T) {
	for _, name := range corruptFixtures {
		orig := mustRead(t, name)
		for _, off := range []int{12, 20, 30, 100, 200, 300, 460} {
			b := append([]byte(nil), orig...)
			b[off] ^= 0x5A
			_, err := openBytes(t, b)
			if err == nil {
				t.Errorf("%s: flipped header byte %d: Open succeeded", name, off)
				continue
			}
			if off == 12 || off == 100 {
				// within the CRC range: must be caught by the CRC.
				ce := asCorrupt(t, err, "header")
				if ce.Offset != 4 {
					t.Errorf("%s: offset %d, want 4 (dwCRCPartial): %v", name, ce.Offset, err)
				}
			}
			t.Logf("%s byte %d: %v", name, off, err)
		}
	}
}

func TestCorruptBTreePages(t *testing.T) {
	for _, name := range corruptFixtures {
		orig := mustRead(t, name)
		f, err := openBytes(t, orig)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			what string
			ib   int64
		}{{"NBT page", f.nbtIB}, {"BBT page", f.bbtIB}} {
			for _, rel := range []int64{0, 7, 480, 497} {
				b := append([]byte(nil), orig...)
				b[tc.ib+rel] ^= 0x01
				g, err := openBytes(t, b)
				if err != nil {
					t.Fatal(err)
				}
				_, err = g.Node(NIDMessageStore)
				if err == nil {
					// BBT is used only when the node's data is resolved.
					t.Fatalf("%s: %s byte %d flipped: Node succeeded", name, tc.what, rel)
				}
				ce := asCorrupt(t, err, tc.what)
				if ce.Offset != tc.ib {
					t.Errorf("offset 0x%X, want 0x%X", ce.Offset, tc.ib)
				}
				if err := g.WalkNodes(func(NodeEntry) error { return nil }); tc.what == "NBT page" && err == nil {
					t.Errorf("WalkNodes over a corrupt NBT root succeeded")
				}
				t.Logf("%s %s+%d: %v", name, tc.what, rel, err)
			}
		}
	}
}

func TestCorruptDataBlock(t *testing.T) {
	for _, name := range corruptFixtures {
		orig := mustRead(t, name)
		f, err := openBytes(t, orig)
		if err != nil {
			t.Fatal(err)
		}
		n, err := f.Node(NIDMessageStore)
		if err != nil {
			t.Fatal(err)
		}
		le := n.leaves[0].e
		for _, rel := range []int64{0, 5, int64(le.cb) - 1, int64(le.cb) + 1, int64(le.cb) + 3} {
			b := append([]byte(nil), orig...)
			total := int64((le.cb + f.lay.blockTrailerSize + 63) / 64 * 64)
			if rel > int64(le.cb) { // inside the trailer
				rel = total - int64(f.lay.blockTrailerSize) + rel - int64(le.cb)
			}
			b[le.ib+rel] ^= 0x80
			g, _ := openBytes(t, b)
			gn, err := g.Node(NIDMessageStore)
			if err != nil {
				t.Fatal(err)
			}
			_, err = gn.Block(0)
			ce := asCorrupt(t, err, "data block")
			if ce.NID != NIDMessageStore || ce.BID != le.bid || ce.Offset != le.ib {
				t.Errorf("error names node %#x block %#x offset 0x%X; want %#x %#x 0x%X", ce.NID, ce.BID, ce.Offset, NIDMessageStore, le.bid, le.ib)
			}
			if _, err := gn.ReadAt(make([]byte, 10), 0); err == nil {
				t.Errorf("ReadAt over corrupt block succeeded")
			}
			t.Logf("%s block+%d: %v", name, rel, err)
		}
	}
}

// TestCorruptInternalBlocks corrupts an XBLOCK and an SLBLOCK.
func TestCorruptInternalBlocks(t *testing.T) {
	type target struct {
		name string
		e    NodeEntry
	}
	var xnode, snode *target
	for _, p := range fixtures(t) {
		b, _ := os.ReadFile(p)
		f, err := openBytes(t, b)
		if err != nil {
			t.Fatal(err)
		}
		f.WalkNodes(func(e NodeEntry) error {
			if e.Data.Internal() && xnode == nil {
				xnode = &target{p, e}
			}
			if e.Sub != 0 && snode == nil {
				snode = &target{p, e}
			}
			return nil
		})
		if xnode != nil && snode != nil {
			break
		}
	}
	if xnode == nil || snode == nil {
		t.Fatalf("no fixture node with an XBLOCK (%v) or subnodes (%v)", xnode, snode)
	}
	cases := []struct {
		tg     *target
		bid    BID
		what   string
		action func(*File, NodeEntry) error
	}{
		{snode, snode.e.Sub, "subnode block", func(g *File, e NodeEntry) error {
			n, err := g.Node(e.NID)
			if err != nil {
				return err
			}
			_, err = n.Subnodes()
			return err
		}},
		{xnode, xnode.e.Data, "XBLOCK", func(g *File, e NodeEntry) error {
			_, err := g.Node(e.NID)
			return err
		}},
	}
	for _, tc := range cases {
		orig, _ := os.ReadFile(tc.tg.name)
		f, _ := openBytes(t, orig)
		be, err := f.lookupBlock(tc.bid)
		if err != nil {
			t.Fatal(err)
		}
		for _, rel := range []int64{0, 2} {
			b := append([]byte(nil), orig...)
			b[be.ib+rel] ^= 0xFF
			g, _ := openBytes(t, b)
			err = tc.action(g, tc.tg.e)
			ce := asCorrupt(t, err, tc.what)
			if ce.NID != tc.tg.e.NID || ce.BID.key() != tc.bid.key() || ce.Offset != be.ib {
				t.Errorf("error names %#x/%#x/0x%X, want %#x/%#x/0x%X: %v", ce.NID, ce.BID, ce.Offset, tc.tg.e.NID, tc.bid, be.ib, err)
			}
			t.Logf("%s: %v", tc.what, err)
		}
	}
}

func TestTruncated(t *testing.T) {
	for _, name := range corruptFixtures {
		orig := mustRead(t, name)
		for _, n := range []int{10, 100, 300, 600, 4096, len(orig) / 2, len(orig) - 1} {
			_, err := openBytes(t, orig[:n])
			var te *TruncatedError
			var ce *CorruptError
			if !errors.As(err, &te) && !errors.As(err, &ce) {
				t.Errorf("%s cut at %d: %v, want TruncatedError or CorruptError", name, n, err)
			}
			if te != nil && te.Size != int64(n) {
				t.Errorf("TruncatedError.Size %d, want %d", te.Size, n)
			}
		}
	}
}

// shortReader serves only the first n bytes of b, as if the file shrank
// after Open.
type shortReader struct {
	b []byte
	n int64
}

func (r shortReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.n {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), r.n)
	k := copy(p, r.b[off:end])
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}

// TestTruncatedAfterOpen reads from a file that is shorter than the size
// given to Open: the short read must be a TruncatedError.
func TestTruncatedAfterOpen(t *testing.T) {
	orig := mustRead(t, "pstsdk-sample1.pst")
	f, _ := openBytes(t, orig)
	n, _ := f.Node(NIDMessageStore)
	le := n.leaves[0].e
	g, err := Open(shortReader{orig, le.ib + 10}, int64(len(orig)))
	if err != nil {
		t.Fatal(err)
	}
	gn, err := g.Node(NIDMessageStore)
	if err == nil {
		_, err = gn.Block(0)
	}
	var te *TruncatedError
	if !errors.As(err, &te) {
		t.Fatalf("got %v, want TruncatedError", err)
	}
	if te.Offset < le.ib+10 || te.Size != int64(len(orig)) {
		t.Errorf("TruncatedError.Offset 0x%X Size %d, want >= 0x%X and %d", te.Offset, te.Size, le.ib+10, len(orig))
	}
	t.Log(err)
}

func putLE64(b []byte, v uint64) {
	for i := 0; i < 8; i++ {
		b[i] = byte(v >> (8 * i))
	}
}

func putLE32(b []byte, v uint32) {
	for i := 0; i < 4; i++ {
		b[i] = byte(v >> (8 * i))
	}
}

func TestShortReaderHeader(t *testing.T) {
	orig := mustRead(t, "pstsdk-sample1.pst")
	for _, n := range []int64{0, 3, 10, 200} {
		_, err := Open(shortReader{orig, n}, int64(len(orig)))
		var te *TruncatedError
		if n < 4 && !errors.Is(err, ErrNotPST) || n >= 4 && !errors.As(err, &te) {
			t.Errorf("reader of %d bytes: %v", n, err)
		}
	}
}

func TestNotPST(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("!BD"), []byte("hello, world"), make([]byte, 1024), []byte("%PDF-1.4\n...")} {
		if _, err := openBytes(t, b); !errors.Is(err, ErrNotPST) {
			t.Errorf("Open(%q...) = %v, want ErrNotPST", b[:min(len(b), 8)], err)
		}
	}
	orig := mustRead(t, "pstsdk-sample1.pst")
	b := append([]byte(nil), orig...)
	copy(b[8:], "AB") // PAB client magic
	if _, err := openBytes(t, b); !errors.Is(err, ErrNotPST) {
		t.Errorf("client magic AB: %v, want ErrNotPST", err)
	}
	b = append([]byte(nil), orig...)
	b[10] = 37 // wVer 37: 4K with compression
	if _, err := openBytes(t, b); !errors.Is(err, ErrUnsupported) {
		t.Errorf("wVer 37: %v, want ErrUnsupported", err)
	}
}

// TestFlipEveryStructureNoPanic flips bytes all over a small file and reads
// everything: any error is fine, a panic or a hang is not.
func TestFlipEveryStructureNoPanic(t *testing.T) {
	orig := mustRead(t, "hughbe-Outlook98Backup.pst")
	step := 7
	if testing.Short() {
		step = 61
	}
	for off := 0; off < len(orig); off += step {
		b := append([]byte(nil), orig...)
		b[off] ^= byte(off) | 1
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic with byte %d flipped: %v", off, r)
				}
			}()
			exerciseAll(b, 1000)
		}()
	}
}

// exerciseAll opens b and reads every node, block and subnode, with a cap on
// the number of nodes. It returns the first error.
func exerciseAll(b []byte, maxNodes int) error {
	f, err := Open(bytesReaderAt(b), int64(len(b)))
	if err != nil {
		return err
	}
	var first error
	count := 0
	werr := f.WalkNodes(func(e NodeEntry) error {
		count++
		if count > maxNodes {
			return fmt.Errorf("too many nodes")
		}
		n, err := f.NodeFromEntry(e)
		if err != nil {
			if first == nil {
				first = err
			}
			return nil
		}
		if _, err := readNode(n, 3); err != nil && first == nil {
			first = err
		}
		return nil
	})
	if first == nil {
		first = werr
	}
	for _, nid := range []NID{NIDMessageStore, NIDRootFolder, NIDNameToIDMap} {
		if n, err := f.Node(nid); err == nil {
			readNode(n, 3)
		}
	}
	return first
}
