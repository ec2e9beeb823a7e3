package ltp

import "github.com/mailshift/mailshift/internal/pst/ndb"

// ndbNode adapts *ndb.Node to the internal node interface.
type ndbNode struct{ n *ndb.Node }

func (a ndbNode) ID() uint32                              { return uint32(a.n.NID) }
func (a ndbNode) Size() int64                             { return a.n.Size() }
func (a ndbNode) BlockCount() int                         { return a.n.BlockCount() }
func (a ndbNode) Block(i int) ([]byte, error)             { return a.n.SharedBlock(i) }
func (a ndbNode) ReadAt(p []byte, off int64) (int, error) { return a.n.ReadAt(p, off) }
func (a ndbNode) Sub(nid uint32) (node, error) {
	s, err := a.n.Subnode(ndb.NID(nid))
	if err != nil {
		return nil, err
	}
	return ndbNode{s}, nil
}

func wrap(n *ndb.Node) (node, error) {
	if n == nil {
		return nil, &CorruptError{What: "node", Reason: "nil node"}
	}
	return ndbNode{n}, nil
}

// OpenHeap opens the heap-on-node stored in n.
func OpenHeap(n *ndb.Node) (*Heap, error) {
	w, err := wrap(n)
	if err != nil {
		return nil, err
	}
	return openHeap(w)
}

// OpenPC opens the Property Context stored in n.
func OpenPC(n *ndb.Node) (*PropertyContext, error) {
	w, err := wrap(n)
	if err != nil {
		return nil, err
	}
	return openPC(w)
}

// OpenTC opens the Table Context stored in n.
func OpenTC(n *ndb.Node) (*TableContext, error) {
	w, err := wrap(n)
	if err != nil {
		return nil, err
	}
	return openTC(w)
}

// Is makes errors.Is(err, ndb.ErrCorrupt) true for LTP corruption too, so
// callers can test for corrupt PST data with one sentinel.
func (e *CorruptError) Is(target error) bool { return target == ndb.ErrCorrupt }
