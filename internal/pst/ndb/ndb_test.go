package ndb

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mailshift/mailshift/internal/testfixtures"
)

// fixtureDir is the shared PST fixtures folder beside the repository.
var fixtureDir = testfixtures.PSTDir()

type fixtureInfo struct {
	Header struct {
		WVer         int    `json:"wVer"`
		Format       string `json:"format"`
		BCryptMethod int    `json:"bCryptMethod"`
	} `json:"header"`
	Folders []struct {
		Path    string `json:"path"`
		NID     string `json:"nid"`
		NIDType string `json:"nid_type"`
		Items   []struct {
			NID string `json:"nid"`
		} `json:"items"`
	} `json:"folders"`
}

func fixtures(t testing.TB) []string {
	t.Helper()
	// Missing fixtures fail the test: a test that skips unseen is a test that does not run.
	files, err := filepath.Glob(filepath.Join(testfixtures.MustPSTDir(t), "*.pst"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no PST fixtures in %s (%v)", fixtureDir, err)
	}
	return files
}

func loadInfo(t testing.TB, pst string) fixtureInfo {
	t.Helper()
	var info fixtureInfo
	b, err := os.ReadFile(strings.TrimSuffix(pst, ".pst") + ".readpst.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	return info
}

func openBytes(t testing.TB, b []byte) (*File, error) {
	t.Helper()
	return Open(bytes.NewReader(b), int64(len(b)))
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testfixtures.MustPSTDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readNode reads every block of n (also through ReadAt) and, recursively,
// every subnode. It returns the number of blocks read.
func readNode(n *Node, depth int) (int, error) {
	budget := 20000
	return readNodeBudget(n, depth, &budget)
}

func readNodeBudget(n *Node, depth int, budget *int) (int, error) {
	*budget--
	if *budget < 0 {
		return 0, errors.New("subnode budget exhausted")
	}
	var all []byte
	for i := 0; i < n.BlockCount(); i++ {
		b, err := n.Block(i)
		if err != nil {
			return 0, err
		}
		all = append(all, b...)
	}
	if int64(len(all)) != n.Size() {
		return 0, errors.New("Size does not match the sum of the blocks")
	}
	buf := make([]byte, n.Size())
	if k, err := n.ReadAt(buf, 0); k != len(buf) || (err != nil && err != io.EOF) {
		return 0, errors.New("ReadAt short: " + strconv.Itoa(k))
	}
	if !bytes.Equal(buf, all) {
		return 0, errors.New("ReadAt differs from the blocks")
	}
	count := n.BlockCount()
	if depth <= 0 {
		return count, nil
	}
	subs, err := n.Subnodes()
	if err != nil {
		return 0, err
	}
	for _, s := range subs {
		sn, err := n.Subnode(s)
		if err != nil {
			return 0, err
		}
		if sn.Parent != 0 || sn.NID != s {
			return 0, errors.New("subnode NID/Parent wrong")
		}
		c, err := readNodeBudget(sn, depth-1, budget)
		if err != nil {
			return 0, err
		}
		count += c
	}
	return count, nil
}

func TestFixtures(t *testing.T) {
	crypts := map[CryptMethod]int{}
	formats := map[Format]int{}
	for _, p := range fixtures(t) {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) {
			info := loadInfo(t, p)
			fh, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			st, _ := fh.Stat()
			f, err := Open(fh, st.Size())
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			wantFmt := FormatUnicode
			if info.Header.Format == "ansi" {
				wantFmt = FormatANSI
			}
			if f.Format() != wantFmt || int(f.Version()) != info.Header.WVer {
				t.Errorf("format %v wVer %d, want %v wVer %d", f.Format(), f.Version(), wantFmt, info.Header.WVer)
			}
			if int(f.Crypt()) != info.Header.BCryptMethod {
				t.Errorf("crypt %v, want %d", f.Crypt(), info.Header.BCryptMethod)
			}
			formats[f.Format()]++
			crypts[f.Crypt()]++

			seen := map[NID]NodeEntry{}
			var last NID
			err = f.WalkNodes(func(e NodeEntry) error {
				if len(seen) > 0 && e.NID <= last {
					t.Errorf("WalkNodes out of order: %#x after %#x", e.NID, last)
				}
				last = e.NID
				seen[e.NID] = e
				return nil
			})
			if err != nil {
				t.Fatalf("WalkNodes: %v", err)
			}
			for _, fo := range info.Folders {
				v, err := strconv.ParseUint(fo.NID, 0, 32)
				if err != nil {
					t.Fatalf("bad nid %q", fo.NID)
				}
				nid := NID(v)
				if _, ok := seen[nid]; !ok {
					t.Errorf("folder %q NID %#x not visited by WalkNodes", fo.Path, nid)
				}
				// readpst lists two messages of one fixture as folders; the
				// JSON marks them with nid_type "normal_message".
				wantType := uint8(NIDTypeNormalFolder)
				if fo.NIDType == "normal_message" {
					wantType = NIDTypeNormalMessage
				}
				if nid.Type() != wantType {
					t.Errorf("folder %q NID %#x has type 0x%02X, want 0x%02X", fo.Path, nid, nid.Type(), wantType)
				}
				for _, it := range fo.Items {
					v, err := strconv.ParseUint(it.NID, 0, 32)
					if err != nil {
						t.Fatalf("bad item nid %q", it.NID)
					}
					if _, ok := seen[NID(v)]; !ok {
						t.Errorf("item %s of folder %q not visited by WalkNodes", it.NID, fo.Path)
					}
				}
				n, err := f.Node(nid)
				if err != nil {
					t.Errorf("Node(%#x): %v", nid, err)
					continue
				}
				checkHN(t, n)
			}
			store, err := f.Node(NIDMessageStore)
			if err != nil {
				t.Fatalf("message store: %v", err)
			}
			if store.Size() == 0 || store.BlockCount() == 0 {
				t.Fatalf("message store has no data")
			}
			checkHN(t, store)
			if _, err := f.Node(NIDRootFolder); err != nil {
				t.Errorf("root folder: %v", err)
			}
			if _, err := f.Node(0x7FFFFFE4); !errors.Is(err, ErrNotFound) {
				t.Errorf("Node(missing) = %v, want ErrNotFound", err)
			}

			blocks, messages := 0, 0
			for _, e := range seen {
				n, err := f.NodeFromEntry(e)
				if err != nil {
					t.Errorf("node %#x: %v", e.NID, err)
					continue
				}
				if n.Parent != e.Parent {
					t.Errorf("node %#x parent %#x, want %#x", e.NID, n.Parent, e.Parent)
				}
				c, err := readNode(n, 4)
				if err != nil {
					t.Errorf("node %#x: %v", e.NID, err)
				}
				blocks += c
				if e.NID.Type() == NIDTypeNormalMessage {
					messages++
					checkHN(t, n)
					subs, err := n.Subnodes()
					if err != nil {
						t.Errorf("message %#x Subnodes: %v", e.NID, err)
					}
					if _, err := n.Subnode(0x7FFFFFFF); !errors.Is(err, ErrNotFound) {
						t.Errorf("message %#x Subnode(missing) = %v", e.NID, err)
					}
					for _, s := range subs {
						if s.Type() != NIDTypeAttachment && s.Type() != NIDTypeRecipientTable {
							continue
						}
						sn, err := n.Subnode(s)
						if err != nil {
							t.Errorf("message %#x Subnode(%#x): %v", e.NID, s, err)
							continue
						}
						checkHN(t, sn)
					}
				}
			}
			t.Logf("%v %v: %d nodes, %d messages, %d blocks", f.Format(), f.Crypt(), len(seen), messages, blocks)
		})
	}
	for _, c := range []CryptMethod{CryptNone, CryptPermute, CryptCyclic} {
		if crypts[c] == 0 {
			t.Errorf("no fixture with crypt %v", c)
		}
	}
	for _, fm := range []Format{FormatANSI, FormatUnicode} {
		if formats[fm] == 0 {
			t.Errorf("no fixture with format %v", fm)
		}
	}
}

// checkHN checks that the node's first block decodes to a heap-on-node
// header (bSig 0xEC, [MS-PST] 2.3.1.2): proof that decryption is right.
func checkHN(t *testing.T, n *Node) {
	t.Helper()
	if n.BlockCount() == 0 {
		t.Errorf("node %#x has no data", n.NID)
		return
	}
	b, err := n.Block(0)
	if err != nil {
		t.Errorf("node %#x: %v", n.NID, err)
		return
	}
	if len(b) < 4 || b[2] != 0xEC {
		t.Errorf("node %#x: first block is not a heap (decryption wrong?): % x", n.NID, b[:min(len(b), 8)])
	}
}

func TestLargeNodesUseDataTrees(t *testing.T) {
	// At least one fixture must exercise XBLOCKs and subnode trees, or the
	// tests above would not cover them.
	xblocks, subnodes := 0, 0
	for _, p := range fixtures(t) {
		b, _ := os.ReadFile(p)
		f, err := openBytes(t, b)
		if err != nil {
			t.Fatal(err)
		}
		f.WalkNodes(func(e NodeEntry) error {
			n, err := f.NodeFromEntry(e)
			if err != nil {
				return err
			}
			if e.Data.Internal() && n.BlockCount() > 1 {
				xblocks++
			}
			subs, _ := n.Subnodes()
			for _, s := range subs {
				sn, err := n.Subnode(s)
				if err == nil && sn.DataBID().Internal() {
					xblocks++
				}
			}
			subnodes += len(subs)
			return nil
		})
	}
	t.Logf("%d multi-block data trees, %d subnodes", xblocks, subnodes)
	if xblocks == 0 || subnodes == 0 {
		t.Errorf("fixtures exercise no XBLOCK (%d) or no subnode (%d)", xblocks, subnodes)
	}
}

func TestConcurrentReads(t *testing.T) {
	b := mustRead(t, "pst2john-2003_high-encryption_quickquick.pst")
	f, err := openBytes(t, b)
	if err != nil {
		t.Fatal(err)
	}
	var entries []NodeEntry
	f.WalkNodes(func(e NodeEntry) error { entries = append(entries, e); return nil })
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < len(entries)*2; i += 3 {
				n, err := f.Node(entries[i%len(entries)].NID)
				if err == nil {
					_, err = readNode(n, 2)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNIDParts(t *testing.T) {
	n := NID(0x200024)
	if n.Type() != NIDTypeNormalMessage || n.Index() != 0x10001 {
		t.Errorf("NID parts: type 0x%X index 0x%X", n.Type(), n.Index())
	}
	if NIDRootFolder.Type() != NIDTypeNormalFolder || NIDMessageStore.Type() != NIDTypeInternal {
		t.Error("well-known NID types")
	}
	b := BID(0x1A7)
	if !b.Internal() || b.key() != 0x1A6 || b.Index() != 0x69 {
		t.Errorf("BID parts")
	}
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func TestDecryptKnownValues(t *testing.T) {
	// mpbbR and mpbbI are inverse permutations, mpbbS is an involution
	// ([MS-PST] 5.1/5.2 rely on both).
	for i := 0; i < 256; i++ {
		if mpbbI[mpbbR[i]] != byte(i) {
			t.Fatalf("mpbbI is not the inverse of mpbbR at %d", i)
		}
		if mpbbS[mpbbS[i]] != byte(i) {
			t.Fatalf("mpbbS is not an involution at %d", i)
		}
	}
	if mpbbCrypt[0] != 65 || mpbbCrypt[255] != 61 || mpbbCrypt[256] != 20 || mpbbCrypt[512] != 71 || mpbbCrypt[767] != 236 {
		t.Fatal("mpbbCrypt boundary values differ from the spec")
	}
	// Permute: the heap signature 0xEC is stored as mpbbR[0xEC].
	p := []byte{0xEC}
	Encrypt(CryptPermute, 0, p)
	if p[0] != mpbbR[0xEC] {
		t.Fatal("permute encode")
	}
	// Cyclic with key 0: b -> I[S[R[b]]] per byte with w = 0, 1, ...
	q := []byte{0x00}
	Encrypt(CryptCyclic, 0, q)
	if q[0] != mpbbI[mpbbS[mpbbR[0]]] {
		t.Fatal("cyclic encode with key 0")
	}
}

func BenchmarkReadAllNodes(b *testing.B) {
	type fx struct {
		name string
		data []byte
	}
	var all []fx
	var total int64
	for _, p := range fixtures(b) {
		d, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, fx{filepath.Base(p), d})
		total += int64(len(d))
	}
	b.SetBytes(total)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, x := range all {
			f, err := openBytes(b, x.data)
			if err != nil {
				b.Fatal(err)
			}
			err = f.WalkNodes(func(e NodeEntry) error {
				n, err := f.NodeFromEntry(e)
				if err != nil {
					return err
				}
				_, err = readNode(n, 3)
				return err
			})
			if err != nil {
				b.Fatalf("%s: %v", x.name, err)
			}
		}
	}
}

func TestLRUBounded(t *testing.T) {
	c := newLRU(10000)
	for i := 0; i < 1000; i++ {
		c.put(cacheKey{cacheBlock, uint64(i)}, make([]byte, 500))
	}
	if c.used > c.max || c.ll.Len() != len(c.items) {
		t.Fatalf("used %d > max %d, list %d map %d", c.used, c.max, c.ll.Len(), len(c.items))
	}
	if _, ok := c.get(cacheKey{cacheBlock, 999}); !ok {
		t.Error("most recent entry evicted")
	}
	if _, ok := c.get(cacheKey{cacheBlock, 0}); ok {
		t.Error("oldest entry kept")
	}
	c.put(cacheKey{cacheBlock, 5000}, make([]byte, 9000)) // larger than max/4: not cached
	if _, ok := c.get(cacheKey{cacheBlock, 5000}); ok {
		t.Error("oversized entry cached")
	}
}
