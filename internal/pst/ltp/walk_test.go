package ltp

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mailshift/mailshift/internal/pst/ndb"
	"github.com/mailshift/mailshift/internal/testfixtures"
)

type walkStats struct {
	objects, pcs, tcs, props, cells, subValues, mvValues, multiBlockMatrix, subMatrix, multiPageHeaps int
	types                                                                                             map[PropType]int
}

// TestWalkAllNodes opens every PC and TC in every fixture (top-level nodes
// and their subnodes: attachments, recipient and attachment tables) and
// reads every value with its type's accessor.
func TestWalkAllNodes(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testfixtures.MustPSTDir(t), "*.pst"))
	if len(files) == 0 {
		t.Fatalf("no PST fixtures in %s", fixtureDir)
	}
	st := walkStats{types: map[PropType]int{}}
	for _, pf := range files {
		t.Run(filepath.Base(pf), func(t *testing.T) {
			fh, err := os.Open(pf)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			fi, _ := fh.Stat()
			f, err := ndb.Open(fh, fi.Size())
			if err != nil {
				t.Fatalf("ndb.Open: %v", err)
			}
			err = f.WalkNodes(func(e ndb.NodeEntry) error {
				n, err := f.NodeFromEntry(e)
				if err != nil {
					t.Errorf("node %v: %v", e.NID, err)
					return nil
				}
				walkNode(t, n, &st)
				return nil
			})
			if err != nil {
				t.Errorf("WalkNodes: %v", err)
			}
		})
	}
	t.Logf("walk: %d PCs, %d TCs, %d properties, %d cells, %d subnode values, %d MV values, %d multi-page heaps, %d subnode row matrices (%d multi-block)",
		st.pcs, st.tcs, st.props, st.cells, st.subValues, st.mvValues, st.multiPageHeaps, st.subMatrix, st.multiBlockMatrix)
	t.Logf("types seen: %v; %d embedded-message objects opened", st.types, st.objects)
	if st.multiBlockMatrix == 0 || st.multiPageHeaps == 0 || st.subValues == 0 || st.mvValues == 0 {
		t.Errorf("fixture coverage lost: %+v", st)
	}
}

func walkNode(t *testing.T, n *ndb.Node, st *walkStats) {
	t.Helper()
	if n.BlockCount() == 0 {
		return
	}
	h, err := OpenHeap(n)
	if err != nil {
		// Not every node is a heap (e.g. raw data subnodes).
		return
	}
	if n.BlockCount() > 1 {
		st.multiPageHeaps++
	}
	switch h.ClientSig() {
	case ClientSigPC:
		pc, err := OpenPC(n)
		if err != nil {
			t.Errorf("PC 0x%x: %v", uint32(n.NID), err)
			return
		}
		st.pcs++
		for _, v := range pc.All() {
			st.props++
			st.types[v.Type]++
			if _, ok := v.SubnodeNID(); ok {
				st.subValues++
				r, size, err := v.Reader()
				if err != nil {
					t.Errorf("PC 0x%x prop 0x%08X: %v", uint32(n.NID), v.Tag(), err)
				} else if c, err := io.Copy(io.Discard, r); err != nil || c != size {
					t.Errorf("PC 0x%x prop 0x%08X: read %d of %d: %v", uint32(n.NID), v.Tag(), c, size, err)
				}
			}
			if v.Type.IsMultiValued() {
				st.mvValues++
			}
			if v.Type == PtypObject {
				onid, _, err := v.Object()
				if err == nil {
					var sn *ndb.Node
					if sn, err = n.Subnode(ndb.NID(onid)); err == nil {
						_, err = OpenPC(sn)
					}
				}
				if err != nil {
					t.Errorf("PC 0x%x object 0x%08X: %v", uint32(n.NID), v.Tag(), err)
				} else {
					st.objects++
				}
			}
			exerciseValue(t, v)
		}
	case ClientSigTC:
		tc, err := OpenTC(n)
		if err != nil {
			t.Errorf("TC 0x%x: %v", uint32(n.NID), err)
			return
		}
		st.tcs++
		if tc.matrix != nil {
			st.subMatrix++
			if tc.matrix.BlockCount() > 1 {
				st.multiBlockMatrix++
			}
		}
		st.cells += tc.Rows() * len(tc.Columns())
		exerciseTable(t, tc)
	}
	subs, err := n.Subnodes()
	if err != nil {
		t.Errorf("subnodes of 0x%x: %v", uint32(n.NID), err)
		return
	}
	for _, s := range subs {
		sn, err := n.Subnode(s)
		if err != nil {
			t.Errorf("subnode 0x%x of 0x%x: %v", uint32(s), uint32(n.NID), err)
			continue
		}
		walkNode(t, sn, st)
	}
}
