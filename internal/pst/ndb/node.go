package ndb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// Node is a top-level node or a subnode: both have a data tree and an
// optional subnode tree. A Node is immutable and safe for concurrent use.
type Node struct {
	NID    NID
	Parent NID // nidParent from the NBT; 0 for subnodes

	f      *File
	data   BID
	sub    BID
	leaves []leaf
	size   int64
	// anc holds the subnode-tree BIDs of the enclosing nodes, so that a
	// subnode whose tree loops back to an ancestor is refused.
	anc []BID
	// top is the top-level node a subnode belongs to (0 for top-level
	// nodes); errors from subnodes name it.
	top NID
}

// wrap adds the enclosing top-level node to errors from a subnode.
func (n *Node) wrap(err error) error {
	if err == nil || n.top == 0 || errors.Is(err, ErrNotFound) {
		return err
	}
	return fmt.Errorf("ndb: subnode 0x%X of node 0x%X: %w", uint32(n.NID), uint32(n.top), err)
}

// maxSubnodeNesting bounds how deep subnodes may nest (an embedded message
// in an attachment of an embedded message ... uses one level per step).
const maxSubnodeNesting = 64

// leaf is one data block of a node's data tree.
type leaf struct {
	e   bbtEntry
	off int64 // offset of the block's first byte in the node's data
}

// Node looks nid up in the NBT and resolves its data tree. A missing NID
// gives an error wrapping ErrNotFound.
func (f *File) Node(nid NID) (*Node, error) {
	e, err := f.lookupNode(nid)
	if err != nil {
		return nil, err
	}
	return f.newNode(e.NID, e.Parent, e.Data, e.Sub)
}

// NodeFromEntry builds the Node for an entry obtained from WalkNodes without
// a second NBT lookup.
func (f *File) NodeFromEntry(e NodeEntry) (*Node, error) {
	return f.newNode(e.NID, e.Parent, e.Data, e.Sub)
}

func (f *File) newNode(nid, parent NID, data, sub BID) (*Node, error) {
	n := &Node{NID: nid, Parent: parent, f: f, data: data, sub: sub}
	if data.key() != 0 {
		budget := f.size/64 + 16 // a file cannot hold more distinct blocks
		if err := n.resolve(data, -1, &budget); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// DataBID returns the BID of the root of the node's data tree (0: none).
func (n *Node) DataBID() BID { return n.data }

// SubBID returns the BID of the root of the node's subnode tree (0: none).
func (n *Node) SubBID() BID { return n.sub }

// resolve appends the leaves of the data tree rooted at bid. level is the
// cLevel the block must have (-1 at the root).
func (n *Node) resolve(bid BID, level int, budget *int64) error {
	f := n.f
	if !bid.Internal() {
		if level > 0 {
			return &CorruptError{What: "XXBLOCK", NID: n.NID, BID: bid, Reason: "XXBLOCK entry is not an XBLOCK"}
		}
		*budget--
		if *budget < 0 {
			return &CorruptError{What: "XBLOCK", NID: n.NID, BID: bid, Reason: "data tree has more blocks than the file can hold"}
		}
		e, err := f.lookupBlockFor(bid, n.NID, "data block")
		if err != nil {
			return err
		}
		n.leaves = append(n.leaves, leaf{e: e, off: n.size})
		n.size += int64(e.cb)
		return nil
	}
	if level == 0 {
		return &CorruptError{What: "XBLOCK", NID: n.NID, BID: bid, Reason: "XBLOCK entry is an internal block"}
	}
	*budget--
	if *budget < 0 {
		return &CorruptError{What: "XXBLOCK", NID: n.NID, BID: bid, Reason: "data tree has more blocks than the file can hold"}
	}
	what := "XBLOCK"
	b, off, err := f.readInternal(bid, n.NID, what)
	if err != nil {
		return err
	}
	corrupt := func(reason string, args ...any) error {
		return &CorruptError{What: what, NID: n.NID, BID: bid, Offset: off, Reason: fmt.Sprintf(reason, args...)}
	}
	if len(b) < 8 {
		return corrupt("block too short (%d bytes)", len(b))
	}
	btype, cLevel := b[0], int(b[1])
	if cLevel == 2 {
		what = "XXBLOCK"
	}
	if btype != 0x01 {
		return corrupt("btype 0x%02X, want 0x01", btype)
	}
	if cLevel != 1 && cLevel != 2 {
		return corrupt("cLevel %d, want 1 or 2", cLevel)
	}
	if level >= 0 && cLevel != level {
		return corrupt("cLevel %d, want %d", cLevel, level)
	}
	cEnt := int(binary.LittleEndian.Uint16(b[2:4]))
	lcbTotal := int64(binary.LittleEndian.Uint32(b[4:8]))
	id := f.lay.idSize
	if 8+cEnt*id > len(b) {
		return corrupt("%d entries overflow the %d-byte block", cEnt, len(b))
	}
	start := n.size
	for i := 0; i < cEnt; i++ {
		child := BID(f.getID(b[8+i*id:]))
		if err := n.resolve(child, cLevel-1, budget); err != nil {
			return err
		}
	}
	if got := n.size - start; got != lcbTotal {
		return corrupt("lcbTotal %d, but the blocks below hold %d bytes", lcbTotal, got)
	}
	return nil
}

// lookupBlockFor is lookupBlock with a missing block reported as corruption
// of the structure that references it.
func (f *File) lookupBlockFor(bid BID, nid NID, what string) (bbtEntry, error) {
	e, err := f.lookupBlock(bid)
	if errors.Is(err, ErrNotFound) {
		return e, &CorruptError{What: what, NID: nid, BID: bid, Reason: "block is not in the BBT"}
	}
	if err != nil {
		return e, err
	}
	if max := f.lay.maxBlock - f.lay.blockTrailerSize; e.cb > max {
		return e, &CorruptError{What: "BBT entry", NID: nid, BID: bid, Offset: e.ib,
			Reason: fmt.Sprintf("block size %d exceeds the maximum %d", e.cb, max)}
	}
	return e, nil
}

// readInternal reads an internal (unencrypted) block by BID.
func (f *File) readInternal(bid BID, nid NID, what string) ([]byte, int64, error) {
	if !bid.Internal() {
		return nil, 0, &CorruptError{What: what, NID: nid, BID: bid, Reason: "expected an internal block"}
	}
	e, err := f.lookupBlockFor(bid, nid, what)
	if err != nil {
		return nil, 0, err
	}
	b, err := f.readBlock(e, nid, what)
	return b, e.ib, err
}

// readBlock reads the block described by e, checks its trailer and returns
// its data, decoded if it is an external block. The result is shared (cached)
// and must not be modified.
func (f *File) readBlock(e bbtEntry, nid NID, what string) ([]byte, error) {
	key := cacheKey{cacheBlock, uint64(e.bid.key())}
	if b, ok := f.cache.get(key); ok {
		return b, nil
	}
	l := &f.lay
	corrupt := func(reason string, args ...any) error {
		return &CorruptError{What: what, NID: nid, BID: e.bid, Offset: e.ib, Reason: fmt.Sprintf(reason, args...)}
	}
	if e.ib%64 != 0 {
		return nil, corrupt("block offset not aligned to 64 bytes")
	}
	total := (e.cb + l.blockTrailerSize + l.blockAlign - 1) / l.blockAlign * l.blockAlign
	buf, err := f.readRaw(e.ib, total)
	if err != nil {
		return nil, err
	}
	t := buf[total-l.blockTrailerSize:]
	cb := int(binary.LittleEndian.Uint16(t[0:2]))
	wSig, crc, tbid := l.trailerTail(t)
	if cb != e.cb {
		return nil, corrupt("trailer cb %d, BBT says %d", cb, e.cb)
	}
	if tbid.key() != e.bid.key() {
		return nil, corrupt("trailer BID 0x%X, expected 0x%X", uint64(tbid), uint64(e.bid))
	}
	if got := computeSig(uint64(e.ib), uint64(e.bid.key())); got != wSig && !f.skipChecks {
		return nil, corrupt("signature mismatch: stored 0x%04X, computed 0x%04X", wSig, got)
	}
	data := buf[:cb:cb]
	if got := computeCRC(data); got != crc && !f.skipChecks {
		return nil, corrupt("CRC mismatch: stored 0x%08X, computed 0x%08X", crc, got)
	}
	if !e.bid.Internal() {
		decrypt(f.crypt, data, e.bid.key())
	}
	f.cache.put(key, data)
	return data, nil
}

// Size returns the total bytes of the node's data (the sum over the data
// tree's leaf blocks).
func (n *Node) Size() int64 { return n.size }

// BlockCount returns the number of leaf data blocks (1 for a single data
// block, 0 for no data).
func (n *Node) BlockCount() int { return len(n.leaves) }

// Block returns the i-th leaf data block, decoded, without its trailer. The
// caller owns the returned slice.
func (n *Node) Block(i int) ([]byte, error) {
	b, err := n.block(i)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}

// SharedBlock is Block without the copy: the slice is the block cache's own and must not be modified. It is
// for readers that only look, such as the LTP heap, which would otherwise copy every page it opens.
func (n *Node) SharedBlock(i int) ([]byte, error) {
	return n.block(i)
}

func (n *Node) block(i int) ([]byte, error) {
	if i < 0 || i >= len(n.leaves) {
		return nil, fmt.Errorf("ndb: node 0x%X: block index %d out of range [0,%d)", uint32(n.NID), i, len(n.leaves))
	}
	b, err := n.f.readBlock(n.leaves[i].e, n.NID, "data block")
	return b, n.wrap(err)
}

// ReadAt reads the node's data (the concatenated leaf blocks) at off,
// loading only the blocks needed.
func (n *Node) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("ndb: node 0x%X: negative offset %d", uint32(n.NID), off)
	}
	if off >= n.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	// First leaf whose range contains off.
	i := sort.Search(len(n.leaves), func(i int) bool {
		return n.leaves[i].off+int64(n.leaves[i].e.cb) > off
	})
	done := 0
	for done < len(p) && i < len(n.leaves) {
		b, err := n.block(i)
		if err != nil {
			return done, err
		}
		rel := off + int64(done) - n.leaves[i].off
		if rel >= 0 && rel < int64(len(b)) {
			done += copy(p[done:], b[rel:])
		}
		i++
	}
	if done < len(p) {
		return done, io.EOF
	}
	return done, nil
}

// subEntry is an SLENTRY.
type subEntry struct {
	nid       NID
	data, sub BID
}

// Subnode looks nid up in the node's subnode tree; ErrNotFound is wrapped
// when it is absent.
func (n *Node) Subnode(nid NID) (*Node, error) {
	if n.sub.key() == 0 {
		return nil, fmt.Errorf("%w: node 0x%X has no subnode 0x%X", ErrNotFound, uint32(n.NID), uint32(nid))
	}
	bid := n.sub
	level := -1
	for depth := 0; depth < maxTreeDepth; depth++ {
		blk, err := n.f.readSubBlock(bid, n.NID, level)
		if err != nil {
			return nil, n.wrap(err)
		}
		level = blk.cLevel - 1
		if blk.cLevel == 0 {
			for _, e := range blk.leaves {
				if e.nid == nid {
					return n.child(e)
				}
			}
			break
		}
		found := false
		for _, e := range blk.inner {
			if e.nid > nid {
				break
			}
			bid, found = e.data, true
		}
		if !found {
			break
		}
	}
	return nil, fmt.Errorf("%w: node 0x%X has no subnode 0x%X", ErrNotFound, uint32(n.NID), uint32(nid))
}

// child builds the Node for a subnode entry of n.
func (n *Node) child(e subEntry) (*Node, error) {
	anc := append(append([]BID(nil), n.anc...), n.sub.key())
	top := n.top
	if top == 0 {
		top = n.NID
	}
	if len(anc) > maxSubnodeNesting {
		return nil, &CorruptError{What: "subnode block", NID: top, BID: e.sub,
			Reason: fmt.Sprintf("subnode 0x%X: subnodes nested more than %d deep", uint32(e.nid), maxSubnodeNesting)}
	}
	if k := e.sub.key(); k != 0 {
		for _, a := range anc {
			if a == k {
				return nil, &CorruptError{What: "subnode block", NID: top, BID: e.sub,
					Reason: fmt.Sprintf("subnode 0x%X: its subnode tree refers back to an enclosing tree (cycle)", uint32(e.nid))}
			}
		}
	}
	c, err := n.f.newNode(e.nid, 0, e.data, e.sub)
	if err != nil {
		return nil, fmt.Errorf("ndb: subnode 0x%X of node 0x%X: %w", uint32(e.nid), uint32(top), err)
	}
	c.anc = anc
	c.top = top
	return c, nil
}

// Subnodes returns the NIDs of all subnodes, in tree order.
func (n *Node) Subnodes() ([]NID, error) {
	var out []NID
	err := n.walkSub(func(e subEntry) error {
		out = append(out, e.nid)
		return nil
	})
	return out, n.wrap(err)
}

func (n *Node) walkSub(fn func(subEntry) error) error {
	if n.sub.key() == 0 {
		return nil
	}
	seen := make(map[BID]bool)
	var walk func(bid BID, level int) error
	walk = func(bid BID, level int) error {
		if seen[bid.key()] {
			return &CorruptError{What: "SIBLOCK", NID: n.NID, BID: bid, Reason: "subnode block referenced twice (cycle)"}
		}
		seen[bid.key()] = true
		blk, err := n.f.readSubBlock(bid, n.NID, level)
		if err != nil {
			return err
		}
		if blk.cLevel == 0 {
			for _, e := range blk.leaves {
				if err := fn(e); err != nil {
					return err
				}
			}
			return nil
		}
		for _, e := range blk.inner {
			if err := walk(e.data, blk.cLevel-1); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(n.sub, -1)
}

type subBlock struct {
	cLevel int
	leaves []subEntry // SLENTRY (cLevel 0)
	inner  []subEntry // SIENTRY (cLevel > 0): nid and child BID in data
}

// readSubBlock reads and parses an SLBLOCK or SIBLOCK. level is the cLevel
// the block must have (-1: any).
func (f *File) readSubBlock(bid BID, nid NID, level int) (*subBlock, error) {
	what := "subnode block"
	b, off, err := f.readInternal(bid, nid, what)
	if err != nil {
		return nil, err
	}
	corrupt := func(reason string, args ...any) error {
		return &CorruptError{What: what, NID: nid, BID: bid, Offset: off, Reason: fmt.Sprintf(reason, args...)}
	}
	id := f.lay.idSize
	hdr := 8
	if id == 4 {
		hdr = 4
	}
	if len(b) < hdr {
		return nil, corrupt("block too short (%d bytes)", len(b))
	}
	btype, cLevel := b[0], int(b[1])
	if cLevel == 0 {
		what = "SLBLOCK"
	} else {
		what = "SIBLOCK"
	}
	if btype != 0x02 {
		return nil, corrupt("btype 0x%02X, want 0x02", btype)
	}
	if cLevel >= maxTreeDepth {
		return nil, corrupt("cLevel %d too deep", cLevel)
	}
	if level >= 0 && cLevel != level {
		return nil, corrupt("cLevel %d, want %d", cLevel, level)
	}
	cEnt := int(binary.LittleEndian.Uint16(b[2:4]))
	esz := 2 * id
	if cLevel == 0 {
		esz = 3 * id
	}
	if hdr+cEnt*esz > len(b) {
		return nil, corrupt("%d entries overflow the %d-byte block", cEnt, len(b))
	}
	sb := &subBlock{cLevel: cLevel}
	if cLevel == 0 {
		sb.leaves = make([]subEntry, 0, cEnt)
	} else {
		sb.inner = make([]subEntry, 0, cEnt)
	}
	for i := 0; i < cEnt; i++ {
		e := b[hdr+i*esz:]
		se := subEntry{nid: NID(binary.LittleEndian.Uint32(e)), data: BID(f.getID(e[id:]))}
		if cLevel == 0 {
			se.sub = BID(f.getID(e[2*id:]))
			sb.leaves = append(sb.leaves, se)
		} else {
			sb.inner = append(sb.inner, se)
		}
	}
	return sb, nil
}
