package ltp

import (
	"cmp"
	"encoding/binary"
	"slices"
	"sort"
)

// PropertyContext is a PC ([MS-PST] 2.3.3): a BTH with 2-byte property
// IDs as keys and {wPropType, dwValueHnid} records.
type PropertyContext struct {
	heap  *Heap
	n     node
	props []Value // sorted by ID
}

func openPC(n node) (*PropertyContext, error) {
	h, err := openHeap(n)
	if err != nil {
		return nil, err
	}
	return pcFromHeap(h)
}

func pcFromHeap(h *Heap) (*PropertyContext, error) {
	nid := h.NID()
	if h.ClientSig() != ClientSigPC {
		return nil, corrupt(nid, "PC", "bClientSig is 0x%02x, want 0xBC", h.ClientSig())
	}
	b, err := openBTH(h, h.UserRoot())
	if err != nil {
		return nil, err
	}
	if b.cbKey != 2 || b.cbEnt != 6 {
		return nil, corrupt(nid, "PC", "BTH has cbKey %d cbEnt %d, want 2 and 6", b.cbKey, b.cbEnt)
	}
	pc := &PropertyContext{heap: h, n: h.n}
	if n := b.rootRecords(); n > 0 {
		pc.props = make([]Value, 0, n)
	}
	err = b.walk(func(key, data []byte) error {
		id := binary.LittleEndian.Uint16(key)
		typ := PropType(binary.LittleEndian.Uint16(data))
		raw := data[2:6]
		pc.props = append(pc.props, resolveValue(h, h.n, id, typ, raw, true))
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(pc.props, func(a, b Value) int { return cmp.Compare(a.ID, b.ID) })
	return pc, nil
}

// resolveValue builds a Value from a PC record or TC cell. raw is the
// inline value or HNID (4 bytes for a PC; cbData bytes for a TC cell).
// inPC selects PC rules (inline only when the fixed size is <= 4).
func resolveValue(h *Heap, owner node, id uint16, typ PropType, raw []byte, inPC bool) Value {
	v := Value{ID: id, Type: typ, nid: owner.ID()}
	fs := typ.FixedSize()
	inlineMax := 8
	if inPC {
		inlineMax = 4
	}
	if fs > 0 && fs <= inlineMax && len(raw) >= fs {
		v.data = raw[:fs:fs]
		return v
	}
	if len(raw) != 4 {
		if fs > 0 && len(raw) >= fs {
			v.data = raw[:fs:fs]
			return v
		}
		v.err = corrupt(owner.ID(), "property value", "property 0x%04X type %s: cell of %d bytes", id, typ, len(raw))
		return v
	}
	hnid := binary.LittleEndian.Uint32(raw)
	switch {
	case hnid == 0:
		v.data = []byte{}
	case isHID(hnid):
		d, err := h.Get(HID(hnid))
		if err != nil {
			v.err = err
		}
		v.data = d
	default:
		v.owner = owner
		v.subNID = hnid
	}
	return v
}

// Get returns the property with the given ID.
func (pc *PropertyContext) Get(id uint16) (Value, bool) {
	i := sort.Search(len(pc.props), func(i int) bool { return pc.props[i].ID >= id })
	if i < len(pc.props) && pc.props[i].ID == id {
		return pc.props[i], true
	}
	return Value{}, false
}

// All returns every property, sorted by ID.
func (pc *PropertyContext) All() []Value {
	return append([]Value(nil), pc.props...)
}

// Heap returns the underlying heap.
func (pc *PropertyContext) Heap() *Heap { return pc.heap }
