package pst

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/mailshift/mailshift/internal/pst/ndb"
)

// recReader records the byte ranges read through it.
type recReader struct {
	r    *bytes.Reader
	mu   sync.Mutex
	rec  bool
	seen [][2]int64
}

func (rr *recReader) ReadAt(p []byte, off int64) (int, error) {
	rr.mu.Lock()
	if rr.rec {
		rr.seen = append(rr.seen, [2]int64{off, off + int64(len(p))})
	}
	rr.mu.Unlock()
	return rr.r.ReadAt(p, off)
}

// damageItem returns a copy of data in which the blocks only the item nid reads are overwritten, so that
// this item, and no other, is unreadable.
func damageItem(t testing.TB, data []byte, nid ndb.NID, others []ndb.NID) []byte {
	t.Helper()
	ranges := func(target ndb.NID) [][2]int64 {
		rr := &recReader{r: bytes.NewReader(data)}
		f, err := Open(rr, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		// A given code page: detecting it would read (and cache) items' blocks before recording starts.
		f.DefaultCodePage = defaultCodePage
		if _, err := f.Store(); err != nil {
			t.Fatal(err)
		}
		rr.rec = true
		m, err := f.Message(target)
		if err == nil {
			_, _ = m.Recipients()
		}
		return rr.seen
	}
	mine := ranges(nid)
	shared := map[int64]bool{}
	for _, o := range others {
		for _, r := range ranges(o) {
			shared[r[0]] = true
		}
	}
	d := append([]byte(nil), data...)
	n := 0
	for _, r := range mine {
		if shared[r[0]] || r[1]-r[0] < 64 {
			continue // B-tree pages and the like, read for every item
		}
		for i := r[0]; i < r[1] && i < int64(len(d)); i++ {
			d[i] = 0xA5
		}
		n++
	}
	if n == 0 {
		t.Skip("no block belongs to this item alone")
	}
	return d
}

// TestOneBadItem: with one item's data destroyed, that item gives an error naming it and every other item
// of the folder still reads; Folder.Messages reports it as an ItemError and goes on.
func TestOneBadItem(t *testing.T) {
	dir := fixtureDir(t)
	data, err := os.ReadFile(filepath.Join(dir, "hughbe-DFRWS2009-Outlook-Email.pst"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var target *Folder
	var nids []ndb.NID
	f.Folders(func(fo *Folder) error {
		ids, _ := fo.MessageNIDs()
		if len(ids) > len(nids) {
			target, nids = fo, ids
		}
		return nil
	})
	if len(nids) < 3 {
		t.Fatalf("no folder with 3 items")
	}
	sort.Slice(nids, func(i, j int) bool { return nids[i] < nids[j] })
	bad := nids[1]
	d := damageItem(t, data, bad, append([]ndb.NID{nids[0]}, nids[2:]...))
	f2, err := Open(bytes.NewReader(d), int64(len(d)))
	if err != nil {
		t.Fatal(err)
	}
	var fo2 *Folder
	f2.Folders(func(fo *Folder) error {
		if fo.NID == target.NID {
			fo2 = fo
		}
		return nil
	})
	if fo2 == nil {
		t.Fatal("folder gone")
	}
	read := 0
	err = fo2.Messages(func(m *Message) error {
		read++
		_, err := readAll(m, 0)
		return err
	})
	var ie ItemErrors
	if !errors.As(err, &ie) || len(ie) != 1 || ie[0].NID != bad {
		t.Fatalf("Messages: %v, want one ItemError for %#x", err, uint32(bad))
	}
	if read != len(nids)-1 {
		t.Errorf("read %d items, want %d", read, len(nids)-1)
	}
	t.Logf("bad item error: %v", ie[0])
}
