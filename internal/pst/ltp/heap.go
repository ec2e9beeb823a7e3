package ltp

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// HID is a heap identifier: hidType (5 bits, always 0), hidIndex (11 bits,
// 1-based allocation index) and hidBlockIndex (16 bits, page number).
type HID uint32

// Index returns the 1-based allocation index within the page.
func (h HID) Index() int { return int(h>>5) & 0x7ff }

// BlockIndex returns the heap page (data block) number.
func (h HID) BlockIndex() int { return int(h >> 16) }

// IsHID reports whether an HNID denotes a heap allocation (NID type 0)
// rather than a subnode.
func isHID(hnid uint32) bool { return hnid&0x1f == 0 }

// Client signatures (bClientSig).
const (
	ClientSigTC  byte = 0x7C
	ClientSigBTH byte = 0xB5
	ClientSigPC  byte = 0xBC
)

const hnSig = 0xEC

// maxCachedPages bounds the decoded heap pages kept in memory per Heap.
const maxCachedPages = 256

type hnPage struct {
	data   []byte
	allocs []uint16 // rgibAlloc, cAlloc+1 entries
}

// Heap is a heap-on-node ([MS-PST] 2.3.1). Each data block of the node is
// one heap page. A Heap is safe for concurrent use.
type Heap struct {
	n         node
	clientSig byte
	userRoot  HID

	mu    sync.Mutex
	pages map[int]*hnPage
}

func openHeap(n node) (*Heap, error) {
	h := &Heap{n: n, pages: make(map[int]*hnPage)}
	if n.BlockCount() <= 0 {
		return nil, corrupt(n.ID(), "HN header", "node has no data blocks")
	}
	p, err := h.page(0)
	if err != nil {
		return nil, err
	}
	b := p.data
	if len(b) < 12 {
		return nil, corrupt(n.ID(), "HN header", "first block is %d bytes, need 12", len(b))
	}
	if b[2] != hnSig {
		return nil, corrupt(n.ID(), "HN header", "bSig is 0x%02x, want 0xEC", b[2])
	}
	h.clientSig = b[3]
	h.userRoot = HID(binary.LittleEndian.Uint32(b[4:]))
	return h, nil
}

// ClientSig returns bClientSig of the HNHDR (0xBC PC, 0x7C TC, 0xB5 BTH, ...).
func (h *Heap) ClientSig() byte { return h.clientSig }

// UserRoot returns hidUserRoot of the HNHDR.
func (h *Heap) UserRoot() HID { return h.userRoot }

// NID returns the NID of the node holding the heap.
func (h *Heap) NID() uint32 { return h.n.ID() }

func (h *Heap) page(i int) (*hnPage, error) {
	h.mu.Lock()
	p, ok := h.pages[i]
	h.mu.Unlock()
	if ok {
		return p, nil
	}
	nid := h.n.ID()
	if i < 0 || i >= h.n.BlockCount() {
		return nil, corrupt(nid, "HID", "heap page %d out of range (node has %d blocks)", i, h.n.BlockCount())
	}
	b, err := h.n.Block(i)
	if err != nil {
		return nil, fmt.Errorf("pst/ltp: node 0x%x: reading heap page %d: %w", nid, i, err)
	}
	if len(b) < 2 {
		return nil, corrupt(nid, "HN page", "page %d is %d bytes", i, len(b))
	}
	ib := int(binary.LittleEndian.Uint16(b))
	if ib+4 > len(b) {
		return nil, corrupt(nid, "HN page map", "page %d: ibHnpm %d beyond page of %d bytes", i, ib, len(b))
	}
	cAlloc := int(binary.LittleEndian.Uint16(b[ib:]))
	if ib+4+2*(cAlloc+1) > len(b) {
		return nil, corrupt(nid, "HN page map", "page %d: %d allocations do not fit", i, cAlloc)
	}
	allocs := make([]uint16, cAlloc+1)
	for k := range allocs {
		allocs[k] = binary.LittleEndian.Uint16(b[ib+4+2*k:])
	}
	p = &hnPage{data: b, allocs: allocs}
	h.mu.Lock()
	if len(h.pages) >= maxCachedPages {
		for k := range h.pages { // evict an arbitrary page (never page 0)
			if k != 0 {
				delete(h.pages, k)
				break
			}
		}
	}
	h.pages[i] = p
	h.mu.Unlock()
	return p, nil
}

// Get returns the bytes of the heap allocation hid. A zero HID yields
// (nil, nil). The returned slice must not be modified.
func (h *Heap) Get(hid HID) ([]byte, error) {
	if hid == 0 {
		return nil, nil
	}
	nid := h.n.ID()
	if !isHID(uint32(hid)) {
		return nil, corrupt(nid, "HID", "0x%08x is not a HID (type 0x%02x)", uint32(hid), uint32(hid)&0x1f)
	}
	p, err := h.page(hid.BlockIndex())
	if err != nil {
		return nil, err
	}
	idx := hid.Index()
	if idx == 0 || idx >= len(p.allocs) {
		return nil, corrupt(nid, "HID", "0x%08x: index %d out of range (page has %d allocations)", uint32(hid), idx, len(p.allocs)-1)
	}
	start, end := int(p.allocs[idx-1]), int(p.allocs[idx])
	if start > end || end > len(p.data) {
		return nil, corrupt(nid, "HID", "0x%08x: allocation [%d,%d) invalid in page of %d bytes", uint32(hid), start, end, len(p.data))
	}
	return p.data[start:end:end], nil
}
