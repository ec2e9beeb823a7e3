package ltp

import (
	"encoding/binary"
	"sort"
)

// heapBuilder builds heap-on-node pages for tests.
type heapBuilder struct {
	clientSig byte
	userRoot  HID
	pages     [][][]byte // per page: allocations
}

func newHeap(sig byte) *heapBuilder { return &heapBuilder{clientSig: sig, pages: [][][]byte{nil}} }

// add appends an allocation to page p (creating pages as needed).
func (b *heapBuilder) add(p int, data []byte) HID {
	for len(b.pages) <= p {
		b.pages = append(b.pages, nil)
	}
	b.pages[p] = append(b.pages[p], data)
	return HID(uint32(p)<<16 | uint32(len(b.pages[p]))<<5)
}

func (b *heapBuilder) blocks() [][]byte {
	var out [][]byte
	for i, allocs := range b.pages {
		var hdr []byte
		switch {
		case i == 0:
			hdr = make([]byte, 12)
			hdr[2] = hnSig
			hdr[3] = b.clientSig
			binary.LittleEndian.PutUint32(hdr[4:], uint32(b.userRoot))
		case i%128 == 8:
			hdr = make([]byte, 66)
		default:
			hdr = make([]byte, 2)
		}
		page := hdr
		offs := []uint16{uint16(len(page))}
		for _, a := range allocs {
			page = append(page, a...)
			offs = append(offs, uint16(len(page)))
		}
		if len(page)%2 == 1 {
			page = append(page, 0)
		}
		binary.LittleEndian.PutUint16(page, uint16(len(page)))
		page = binary.LittleEndian.AppendUint16(page, uint16(len(allocs)))
		page = binary.LittleEndian.AppendUint16(page, 0)
		for _, o := range offs {
			page = binary.LittleEndian.AppendUint16(page, o)
		}
		out = append(out, page)
	}
	return out
}

type bthRec struct{ key, data []byte }

// addBTH stores a BTH with the given records (sorted by key here). With
// fanout > 0 and more records than fanout, one index level is built with
// leaves spread over pages starting at page leafPage.
func (b *heapBuilder) addBTH(cbKey, cbEnt int, recs []bthRec, fanout, leafPage int) HID {
	sort.Slice(recs, func(i, j int) bool { return leUint(recs[i].key) < leUint(recs[j].key) })
	var root HID
	levels := 0
	if len(recs) > 0 {
		if fanout <= 0 || len(recs) <= fanout {
			var leaf []byte
			for _, r := range recs {
				leaf = append(append(leaf, r.key...), r.data...)
			}
			root = b.add(leafPage, leaf)
		} else {
			levels = 1
			var idx []byte
			for i := 0; i < len(recs); i += fanout {
				end := min(i+fanout, len(recs))
				var leaf []byte
				for _, r := range recs[i:end] {
					leaf = append(append(leaf, r.key...), r.data...)
				}
				h := b.add(leafPage+i/fanout, leaf)
				idx = append(idx, recs[i].key...)
				idx = binary.LittleEndian.AppendUint32(idx, uint32(h))
			}
			root = b.add(0, idx)
		}
	}
	hdr := []byte{ClientSigBTH, byte(cbKey), byte(cbEnt), byte(levels)}
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(root))
	return b.add(0, hdr)
}

func u16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// pcProp is a PC record: type and the 4-byte dwValueHnid.
type pcProp struct {
	id   uint16
	typ  PropType
	hnid []byte
}

func buildPC(b *heapBuilder, props []pcProp, fanout int) {
	var recs []bthRec
	for _, p := range props {
		recs = append(recs, bthRec{u16(p.id), append(u16(uint16(p.typ)), p.hnid...)})
	}
	b.userRoot = b.addBTH(2, 6, recs, fanout, 0)
}

// tcCol describes a test column.
type tcCol struct {
	tag       uint32
	off, size int
	bit       int
}

// buildTCInfo stores a TCINFO and returns nothing; rows are laid out by the
// caller. hnidRows is the row matrix HNID.
func buildTCInfo(b *heapBuilder, cols []tcCol, rgib [4]int, hidRowIndex HID, hnidRows uint32) {
	info := []byte{ClientSigTC, byte(len(cols))}
	for _, v := range rgib {
		info = binary.LittleEndian.AppendUint16(info, uint16(v))
	}
	info = binary.LittleEndian.AppendUint32(info, uint32(hidRowIndex))
	info = binary.LittleEndian.AppendUint32(info, hnidRows)
	info = binary.LittleEndian.AppendUint32(info, 0)
	for _, c := range cols {
		info = binary.LittleEndian.AppendUint32(info, c.tag)
		info = binary.LittleEndian.AppendUint16(info, uint16(c.off))
		info = append(info, byte(c.size), byte(c.bit))
	}
	b.userRoot = b.add(0, info)
}

// mvVar encodes a multi-valued variable-size value.
func mvVar(items ...[]byte) []byte {
	out := u32(uint32(len(items)))
	off := 4 + 4*len(items)
	for _, it := range items {
		out = append(out, u32(uint32(off))...)
		off += len(it)
	}
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

func utf16le(s string) []byte {
	var out []byte
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			out = binary.LittleEndian.AppendUint16(out, uint16(0xD800+(r>>10)))
			out = binary.LittleEndian.AppendUint16(out, uint16(0xDC00+(r&0x3ff)))
			continue
		}
		out = binary.LittleEndian.AppendUint16(out, uint16(r))
	}
	return out
}
