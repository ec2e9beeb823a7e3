package ndb

import (
	"encoding/binary"
	"fmt"
)

const (
	ptypeBBT = 0x80
	ptypeNBT = 0x81
)

// page is a validated B-tree page.
type page struct {
	buf    []byte
	cEnt   int
	cbEnt  int
	cLevel int
}

// readPage reads and validates the B-tree page at ib with BID bid.
func (f *File) readPage(ib int64, bid BID, ptype byte) (page, error) {
	what := "NBT page"
	if ptype == ptypeBBT {
		what = "BBT page"
	}
	l := &f.lay
	corrupt := func(reason string, args ...any) error {
		return &CorruptError{What: what, BID: bid, Offset: ib, Reason: fmt.Sprintf(reason, args...)}
	}
	buf, cached := f.cache.get(cacheKey{cachePage, uint64(ib)})
	if !cached {
		if ib%512 != 0 {
			return page{}, corrupt("page offset not aligned to 512 bytes")
		}
		var err error
		buf, err = f.readRaw(ib, l.pageSize)
		if err != nil {
			return page{}, err
		}
	}
	t := buf[l.trailerOff:]
	if t[0] != ptype || t[1] != ptype {
		return page{}, corrupt("page type 0x%02X/0x%02X, want 0x%02X", t[0], t[1], ptype)
	}
	wSig, crc, tbid := l.trailerTail(t)
	if tbid != bid {
		return page{}, corrupt("trailer BID 0x%X, expected 0x%X", uint64(tbid), uint64(bid))
	}
	if !cached && !f.skipChecks {
		if got := computeCRC(buf[:l.trailerOff]); got != crc {
			return page{}, corrupt("CRC mismatch: stored 0x%08X, computed 0x%08X", crc, got)
		}
		if got := computeSig(uint64(ib), uint64(bid)); got != wSig {
			return page{}, corrupt("signature mismatch: stored 0x%04X, computed 0x%04X", wSig, got)
		}
	}
	if !cached {
		f.cache.put(cacheKey{cachePage, uint64(ib)}, buf)
	}
	p := page{buf: buf}
	m := buf[l.metaOff:]
	if l.wideCounts {
		p.cEnt = int(binary.LittleEndian.Uint16(m[0:2]))
		p.cbEnt = int(m[4])
		p.cLevel = int(m[5])
	} else {
		p.cEnt = int(m[0])
		p.cbEnt = int(m[2])
		p.cLevel = int(m[3])
	}
	minEnt := l.btEntrySize
	if p.cLevel == 0 {
		minEnt = l.bbtEntrySize
		if ptype == ptypeNBT {
			minEnt = l.nbtEntrySize
		}
	}
	if p.cbEnt < minEnt {
		return page{}, corrupt("entry size %d, want at least %d (level %d)", p.cbEnt, minEnt, p.cLevel)
	}
	if p.cEnt*p.cbEnt > l.entriesSize {
		return page{}, corrupt("%d entries of %d bytes overflow the page", p.cEnt, p.cbEnt)
	}
	if p.cLevel >= maxTreeDepth {
		return page{}, corrupt("level %d too deep", p.cLevel)
	}
	return p, nil
}

func (p *page) entry(i int) []byte { return p.buf[i*p.cbEnt : (i+1)*p.cbEnt] }

// btEntry decodes an intermediate BTENTRY: key and BREF.
func (f *File) btEntry(e []byte) (key uint64, bid BID, ib int64) {
	id := f.lay.idSize
	return f.getID(e), BID(f.getID(e[id:])), int64(f.getID(e[2*id:]))
}

// bbtEntry is a decoded BBTENTRY.
type bbtEntry struct {
	bid  BID
	ib   int64
	cb   int
	cRef int
}

func (f *File) decodeBBTEntry(e []byte) bbtEntry {
	id := f.lay.idSize
	return bbtEntry{
		bid:  BID(f.getID(e)),
		ib:   int64(f.getID(e[id:])),
		cb:   int(binary.LittleEndian.Uint16(e[2*id:])),
		cRef: int(binary.LittleEndian.Uint16(e[2*id+2:])),
	}
}

func (f *File) decodeNBTEntry(e []byte) NodeEntry {
	id := f.lay.idSize
	return NodeEntry{
		NID:    NID(binary.LittleEndian.Uint32(e)),
		Data:   BID(f.getID(e[id:])),
		Sub:    BID(f.getID(e[2*id:])),
		Parent: NID(binary.LittleEndian.Uint32(e[3*id:])),
	}
}

// search descends a B-tree from its root to the leaf page that may hold key; found is false when no page
// can.
func (f *File) search(rootIB int64, rootBID BID, ptype byte, key uint64) (p page, found bool, err error) {
	ib, bid := rootIB, rootBID
	level := -1
	for depth := 0; ; depth++ {
		p, err := f.readPage(ib, bid, ptype)
		if err != nil {
			return page{}, false, err
		}
		if level >= 0 && p.cLevel != level-1 {
			return page{}, false, &CorruptError{What: pageWhat(ptype), BID: bid, Offset: ib,
				Reason: fmt.Sprintf("level %d below a level-%d page", p.cLevel, level)}
		}
		level = p.cLevel
		if p.cLevel == 0 {
			return p, true, nil
		}
		found := false
		for i := 0; i < p.cEnt; i++ {
			k, cbid, cib := f.btEntry(p.entry(i))
			if k > key {
				break
			}
			bid, ib, found = cbid, cib, true
		}
		if !found {
			return page{}, false, nil
		}
	}
}

func pageWhat(ptype byte) string {
	if ptype == ptypeBBT {
		return "BBT page"
	}
	return "NBT page"
}

// lookupBlock finds a block's BBT entry.
func (f *File) lookupBlock(bid BID) (bbtEntry, error) {
	key := bid.key()
	p, found, err := f.search(f.bbtIB, f.bbtBID, ptypeBBT, uint64(key))
	if err != nil {
		return bbtEntry{}, err
	}
	if found {
		for i := 0; i < p.cEnt; i++ {
			e := f.decodeBBTEntry(p.entry(i))
			if e.bid.key() == key {
				return e, nil
			}
		}
	}
	return bbtEntry{}, fmt.Errorf("%w: block 0x%X in the BBT", ErrNotFound, uint64(bid))
}

// lookupNode finds a node's NBT entry.
func (f *File) lookupNode(nid NID) (NodeEntry, error) {
	p, found, err := f.search(f.nbtIB, f.nbtBID, ptypeNBT, uint64(nid))
	if err != nil {
		return NodeEntry{}, err
	}
	if found {
		for i := 0; i < p.cEnt; i++ {
			e := f.decodeNBTEntry(p.entry(i))
			if e.NID == nid {
				return e, nil
			}
		}
	}
	return NodeEntry{}, fmt.Errorf("%w: node 0x%X in the NBT", ErrNotFound, uint32(nid))
}

// WalkNodes calls fn for every NBT leaf entry, in tree order. It stops at
// the first error from fn or from reading the tree and returns it.
func (f *File) WalkNodes(fn func(e NodeEntry) error) error {
	seen := make(map[int64]bool)
	return f.walk(f.nbtIB, f.nbtBID, -1, seen, func(p *page) error {
		for i := 0; i < p.cEnt; i++ {
			if err := fn(f.decodeNBTEntry(p.entry(i))); err != nil {
				return err
			}
		}
		return nil
	})
}

// walkBlocks calls fn for every BBT leaf entry, in tree order.
func (f *File) walkBlocks(fn func(e bbtEntry) error) error {
	seen := make(map[int64]bool)
	return f.walkTree(f.bbtIB, f.bbtBID, ptypeBBT, -1, seen, func(p *page) error {
		for i := 0; i < p.cEnt; i++ {
			if err := fn(f.decodeBBTEntry(p.entry(i))); err != nil {
				return err
			}
		}
		return nil
	})
}

func (f *File) walk(ib int64, bid BID, parentLevel int, seen map[int64]bool, leaf func(*page) error) error {
	return f.walkTree(ib, bid, ptypeNBT, parentLevel, seen, leaf)
}

func (f *File) walkTree(ib int64, bid BID, ptype byte, parentLevel int, seen map[int64]bool, leaf func(*page) error) error {
	if seen[ib] {
		return &CorruptError{What: pageWhat(ptype), BID: bid, Offset: ib, Reason: "page referenced twice (cycle)"}
	}
	seen[ib] = true
	p, err := f.readPage(ib, bid, ptype)
	if err != nil {
		return err
	}
	if parentLevel >= 0 && p.cLevel != parentLevel-1 {
		return &CorruptError{What: pageWhat(ptype), BID: bid, Offset: ib,
			Reason: fmt.Sprintf("level %d below a level-%d page", p.cLevel, parentLevel)}
	}
	if p.cLevel == 0 {
		return leaf(&p)
	}
	for i := 0; i < p.cEnt; i++ {
		_, cbid, cib := f.btEntry(p.entry(i))
		if err := f.walkTree(cib, cbid, ptype, p.cLevel, seen, leaf); err != nil {
			return err
		}
	}
	return nil
}
