package ltp

import "encoding/binary"

// bth is a BTree-on-heap ([MS-PST] 2.3.2).
type bth struct {
	h      *Heap
	cbKey  int
	cbEnt  int
	levels int
	root   HID
}

const maxBTHLevels = 16

func openBTH(h *Heap, hid HID) (*bth, error) {
	nid := h.NID()
	d, err := h.Get(hid)
	if err != nil {
		return nil, err
	}
	if len(d) < 8 {
		return nil, corrupt(nid, "BTH header", "header at HID 0x%x is %d bytes, need 8", uint32(hid), len(d))
	}
	if d[0] != ClientSigBTH {
		return nil, corrupt(nid, "BTH header", "bType is 0x%02x, want 0xB5", d[0])
	}
	b := &bth{h: h, cbKey: int(d[1]), cbEnt: int(d[2]), levels: int(d[3]), root: HID(binary.LittleEndian.Uint32(d[4:]))}
	switch b.cbKey {
	case 2, 4, 8, 16:
	default:
		return nil, corrupt(nid, "BTH header", "cbKey %d invalid", b.cbKey)
	}
	if b.cbEnt < 1 || b.cbEnt > 32 {
		return nil, corrupt(nid, "BTH header", "cbEnt %d invalid", b.cbEnt)
	}
	if b.levels > maxBTHLevels {
		return nil, corrupt(nid, "BTH header", "bIdxLevels %d too deep", b.levels)
	}
	return b, nil
}

// rootRecords is the number of records of a BTH that is one leaf, which is most of them: what a reader
// collecting them all can allocate at once. It is 0 for a deeper BTH or one whose root cannot be read (walk
// reports that).
func (b *bth) rootRecords() int {
	if b.root == 0 || b.levels != 0 {
		return 0
	}
	d, err := b.h.Get(b.root)
	if err != nil {
		return 0
	}
	return len(d) / (b.cbKey + b.cbEnt)
}

// walk calls fn for every leaf record in key order. key and data alias
// heap memory and must not be retained after modification.
func (b *bth) walk(fn func(key, data []byte) error) error {
	if b.root == 0 {
		return nil
	}
	seen := make(map[HID]bool)
	return b.walkLevel(b.root, b.levels, seen, fn)
}

func (b *bth) walkLevel(hid HID, level int, seen map[HID]bool, fn func(key, data []byte) error) error {
	nid := b.h.NID()
	if seen[hid] {
		return corrupt(nid, "BTH", "HID 0x%x referenced twice (cycle)", uint32(hid))
	}
	seen[hid] = true
	d, err := b.h.Get(hid)
	if err != nil {
		return err
	}
	if level == 0 {
		rs := b.cbKey + b.cbEnt
		if len(d)%rs != 0 {
			return corrupt(nid, "BTH leaf", "HID 0x%x: %d bytes is not a multiple of record size %d", uint32(hid), len(d), rs)
		}
		for off := 0; off+rs <= len(d); off += rs {
			if err := fn(d[off:off+b.cbKey], d[off+b.cbKey:off+rs]); err != nil {
				return err
			}
		}
		return nil
	}
	rs := b.cbKey + 4
	if len(d)%rs != 0 {
		return corrupt(nid, "BTH index", "HID 0x%x: %d bytes is not a multiple of record size %d", uint32(hid), len(d), rs)
	}
	for off := 0; off+rs <= len(d); off += rs {
		next := HID(binary.LittleEndian.Uint32(d[off+b.cbKey:]))
		if err := b.walkLevel(next, level-1, seen, fn); err != nil {
			return err
		}
	}
	return nil
}

// keyUint reads a little-endian key of 1..8 bytes.
func leUint(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}
