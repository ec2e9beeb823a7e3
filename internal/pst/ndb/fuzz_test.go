package ndb

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/testfixtures"
)

// fuzzSeeds are small fixtures used whole, plus the first 64 KiB of a few
// larger ones.
var fuzzSeeds = []struct {
	name  string
	limit int
}{
	{"hughbe-Outlook98Backup.pst", 0},
	{"gopst-32-bit.pst", 0},
	{"pstsdk-sample1.pst", 64 << 10},
	{"pstsdk-sample2.pst", 64 << 10},
}

// FuzzOpen opens arbitrary bytes and reads every node, block and subnode,
// once with all checks and once with CRC/signature checks off (so that the
// structural validation behind them is reached). It must not panic or hang.
func FuzzOpen(f *testing.F) {
	for _, s := range fuzzSeeds {
		b, err := os.ReadFile(filepath.Join(fixtureDir, s.name))
		if err != nil {
			continue
		}
		if s.limit > 0 && len(b) > s.limit {
			b = sealPrefix(b[:s.limit])
		}
		f.Add(b)
	}
	f.Add([]byte("!BDN"))
	for _, fm := range []Format{FormatANSI, FormatUnicode, FormatUnicode4K} {
		f.Add(synthFile(fm, CryptCyclic))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 4<<20 {
			return
		}
		// A hang shows up as a crash of this input rather than a stall.
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				panic(fmt.Sprintf("FuzzOpen: input of %d bytes took over 20s", len(b)))
			}
		}()
		exerciseAll(b, 2000)
		if g, err := open(bytesReaderAt(b), int64(len(b)), true); err == nil {
			exerciseFile(g, 2000)
		}
	})
}

// exerciseFile reads everything reachable in f, capped at maxNodes nodes.
func exerciseFile(f *File, maxNodes int) {
	count := 0
	f.WalkNodes(func(e NodeEntry) error {
		count++
		if count > maxNodes {
			return ErrCorrupt
		}
		if n, err := f.NodeFromEntry(e); err == nil {
			readNode(n, 3)
			buf := make([]byte, 100)
			n.ReadAt(buf, n.Size()/2)
			n.ReadAt(buf, n.Size()-1)
			n.Subnode(e.NID)
		}
		return nil
	})
	f.walkBlocks(func(bbtEntry) error { return nil })
	for _, nid := range []NID{NIDMessageStore, NIDRootFolder, NIDNameToIDMap} {
		if n, err := f.Node(nid); err == nil {
			readNode(n, 3)
		}
	}
}

// FuzzDecrypt checks that Decrypt undoes Encrypt for both encodings and that
// the encodings actually change the data.
func FuzzDecrypt(f *testing.F) {
	f.Add([]byte("hello, PST"), uint64(0x2CC))
	f.Add(bytes.Repeat([]byte{0}, 300), uint64(0x31D0))
	f.Add([]byte{}, uint64(0xFFFFFFFFFFFFFFFF))
	f.Fuzz(func(t *testing.T, p []byte, bid uint64) {
		for _, m := range []CryptMethod{CryptNone, CryptPermute, CryptCyclic} {
			b := append([]byte(nil), p...)
			Encrypt(m, BID(bid), b)
			if m == CryptNone && !bytes.Equal(b, p) {
				t.Fatalf("CryptNone changed data")
			}
			Decrypt(m, BID(bid), b)
			if !bytes.Equal(b, p) {
				t.Fatalf("%v: round trip failed for bid 0x%X", m, bid)
			}
		}
	})
}

// sealPrefix makes a file prefix self-consistent: ibFileEof is set to the
// prefix length and the header CRCs are recomputed.
func sealPrefix(b []byte) []byte {
	b = append([]byte(nil), b...)
	if len(b) < 564 {
		return b
	}
	switch v := int(b[10]) | int(b[11])<<8; {
	case v == 14 || v == 15:
		putLE32(b[168:], uint32(len(b)))
		putLE32(b[4:], computeCRC(b[8:8+471]))
	default:
		putLE64(b[184:], uint64(len(b)))
		putLE32(b[4:], computeCRC(b[8:8+471]))
		putLE32(b[524:], computeCRC(b[8:8+516]))
	}
	return b
}

// TestFuzzSeedsOpen makes sure the seeds reach deep code: each opens and
// yields nodes.
func TestFuzzSeedsOpen(t *testing.T) {
	for _, s := range fuzzSeeds {
		b, err := os.ReadFile(filepath.Join(testfixtures.MustPSTDir(t), s.name))
		if err != nil {
			t.Fatal(err)
		}
		if s.limit > 0 && len(b) > s.limit {
			b = sealPrefix(b[:s.limit])
		}
		f, err := openBytes(t, b)
		if err != nil {
			t.Errorf("%s: %v", s.name, err)
			continue
		}
		nodes := 0
		f.WalkNodes(func(NodeEntry) error { nodes++; return nil })
		err = exerciseAll(b, 2000)
		t.Logf("%s (%d bytes): %d nodes, first error %v", s.name, len(b), nodes, err)
		if nodes == 0 {
			t.Errorf("%s: no nodes", s.name)
		}
	}
}
