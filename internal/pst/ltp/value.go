package ltp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// PropType is a MAPI property type ([MS-OXCDATA] 2.11.1).
type PropType uint16

// Property types.
const (
	PtypUnspecified  PropType = 0x0000
	PtypNull         PropType = 0x0001
	PtypInteger16    PropType = 0x0002
	PtypInteger32    PropType = 0x0003
	PtypFloating32   PropType = 0x0004
	PtypFloating64   PropType = 0x0005
	PtypCurrency     PropType = 0x0006
	PtypFloatingTime PropType = 0x0007
	PtypErrorCode    PropType = 0x000A
	PtypBoolean      PropType = 0x000B
	PtypObject       PropType = 0x000D
	PtypInteger64    PropType = 0x0014
	PtypString8      PropType = 0x001E
	PtypString       PropType = 0x001F
	PtypTime         PropType = 0x0040
	PtypGuid         PropType = 0x0048
	PtypServerId     PropType = 0x00FB
	PtypRestriction  PropType = 0x00FD
	PtypRuleAction   PropType = 0x00FE
	PtypBinary       PropType = 0x0102

	// MultiValued is the flag marking multi-valued types.
	MultiValued PropType = 0x1000

	PtypMultipleInteger16    = PtypInteger16 | MultiValued
	PtypMultipleInteger32    = PtypInteger32 | MultiValued
	PtypMultipleFloating32   = PtypFloating32 | MultiValued
	PtypMultipleFloating64   = PtypFloating64 | MultiValued
	PtypMultipleCurrency     = PtypCurrency | MultiValued
	PtypMultipleFloatingTime = PtypFloatingTime | MultiValued
	PtypMultipleInteger64    = PtypInteger64 | MultiValued
	PtypMultipleString8      = PtypString8 | MultiValued
	PtypMultipleString       = PtypString | MultiValued
	PtypMultipleTime         = PtypTime | MultiValued
	PtypMultipleGuid         = PtypGuid | MultiValued
	PtypMultipleBinary       = PtypBinary | MultiValued
)

// IsMultiValued reports whether t has the multi-valued flag.
func (t PropType) IsMultiValued() bool { return t&MultiValued != 0 }

// Base returns t without the multi-valued flag.
func (t PropType) Base() PropType { return t &^ MultiValued }

// FixedSize returns the size of a fixed-size (single-valued) type, or 0
// for variable-size types.
func (t PropType) FixedSize() int {
	switch t {
	case PtypBoolean:
		return 1
	case PtypInteger16:
		return 2
	case PtypInteger32, PtypFloating32, PtypErrorCode:
		return 4
	case PtypFloating64, PtypCurrency, PtypFloatingTime, PtypInteger64, PtypTime:
		return 8
	case PtypGuid:
		return 16
	}
	return 0
}

func (t PropType) String() string { return fmt.Sprintf("0x%04X", uint16(t)) }

// Value is one property value from a PC or a TC cell.
type Value struct {
	ID   uint16
	Type PropType

	data   []byte // value bytes when not in a subnode
	owner  node   // node holding the subnode, when stored in a subnode
	subNID uint32 // subnode NID (0 = not in a subnode)
	nid    uint32 // NID of the PC/TC node, for errors
	err    error  // deferred error (e.g. a dangling HID)
}

// ErrType is returned (wrapped) when a Value accessor does not apply to
// the value's type.
var ErrType = errors.New("pst/ltp: property type mismatch")

// Tag returns the property tag ID<<16 | Type.
func (v Value) Tag() uint32 { return uint32(v.ID)<<16 | uint32(v.Type) }

// SubnodeNID returns the subnode NID when the value is stored in a subnode.
func (v Value) SubnodeNID() (uint32, bool) { return v.subNID, v.subNID != 0 }

func (v Value) typeErr(want string) error {
	return fmt.Errorf("%w: property 0x%04X has type %s, not %s", ErrType, v.ID, v.Type, want)
}

// maxBytes bounds Bytes() on subnode-stored values; use Reader beyond it.
const maxBytes = 1 << 30

// Bytes returns a copy of the raw value bytes. For subnode-stored values
// the whole subnode is read; prefer Reader for large values.
func (v Value) Bytes() ([]byte, error) {
	b, err := v.raw()
	if err != nil || v.subNID != 0 || b == nil {
		return b, err
	}
	return append([]byte{}, b...), nil
}

// raw returns the value bytes, aliasing heap memory when heap-stored.
func (v Value) raw() ([]byte, error) {
	if v.err != nil {
		return nil, v.err
	}
	if v.subNID == 0 {
		return v.data, nil
	}
	return v.readSubnode(nil)
}

// readSubnode reads a subnode-stored value, into dst when it is large enough.
func (v Value) readSubnode(dst []byte) ([]byte, error) {
	r, size, err := v.Reader()
	if err != nil {
		return nil, err
	}
	if size > maxBytes {
		return nil, corrupt(v.nid, "property value", "property 0x%04X: subnode value of %d bytes too large for Bytes; use Reader", v.ID, size)
	}
	var buf []byte
	if dst != nil && int64(cap(dst)) >= size {
		buf = dst[:size]
	} else {
		buf = make([]byte, size) // never nil: callers tell an empty value from an absent one
	}
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("pst/ltp: reading property 0x%04X of node 0x%x from subnode 0x%x: %w", v.ID, v.nid, v.subNID, err)
	}
	return buf, nil
}

// Size returns the value size in bytes without reading subnode data.
func (v Value) Size() (int64, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.subNID == 0 {
		return int64(len(v.data)), nil
	}
	s, err := v.owner.Sub(v.subNID)
	if err != nil {
		return 0, err
	}
	return s.Size(), nil
}

// Reader returns a streaming reader over the value bytes and their size.
// Values stored in a subnode are read lazily from it.
func (v Value) Reader() (io.Reader, int64, error) {
	if v.err != nil {
		return nil, 0, v.err
	}
	if v.subNID == 0 {
		return bytes.NewReader(v.data), int64(len(v.data)), nil
	}
	s, err := v.owner.Sub(v.subNID)
	if err != nil {
		return nil, 0, fmt.Errorf("pst/ltp: property 0x%04X of node 0x%x: opening subnode 0x%x: %w", v.ID, v.nid, v.subNID, err)
	}
	size := s.Size()
	if size < 0 {
		return nil, 0, corrupt(v.nid, "property value", "subnode 0x%x has negative size", v.subNID)
	}
	return io.NewSectionReader(s, 0, size), size, nil
}

func (v Value) fixed(want int) ([]byte, error) {
	b, err := v.raw()
	if err != nil {
		return nil, err
	}
	if len(b) < want {
		return nil, corrupt(v.nid, "property value", "property 0x%04X type %s: %d bytes, need %d", v.ID, v.Type, len(b), want)
	}
	return b[:want], nil
}

// Int returns Integer16/32/64, ErrorCode, Boolean (0/1) and Currency (raw
// scaled integer) values.
func (v Value) Int() (int64, error) {
	switch v.Type {
	case PtypInteger16:
		b, err := v.fixed(2)
		if err != nil {
			return 0, err
		}
		return int64(int16(binary.LittleEndian.Uint16(b))), nil
	case PtypInteger32:
		b, err := v.fixed(4)
		if err != nil {
			return 0, err
		}
		return int64(int32(binary.LittleEndian.Uint32(b))), nil
	case PtypErrorCode:
		b, err := v.fixed(4)
		if err != nil {
			return 0, err
		}
		return int64(binary.LittleEndian.Uint32(b)), nil
	case PtypInteger64, PtypCurrency:
		b, err := v.fixed(8)
		if err != nil {
			return 0, err
		}
		return int64(binary.LittleEndian.Uint64(b)), nil
	case PtypBoolean:
		b, err := v.fixed(1)
		if err != nil {
			return 0, err
		}
		if b[0] != 0 {
			return 1, nil
		}
		return 0, nil
	}
	return 0, v.typeErr("an integer")
}

// Bool returns a Boolean value (integers: non-zero is true).
func (v Value) Bool() (bool, error) {
	switch v.Type {
	case PtypBoolean, PtypInteger16, PtypInteger32, PtypInteger64:
		i, err := v.Int()
		return i != 0, err
	}
	return false, v.typeErr("Boolean")
}

// Float returns Floating32/64 and FloatingTime (days since 1899-12-30)
// values; Currency is returned scaled by 1/10000.
func (v Value) Float() (float64, error) {
	switch v.Type {
	case PtypFloating32:
		b, err := v.fixed(4)
		if err != nil {
			return 0, err
		}
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), nil
	case PtypFloating64, PtypFloatingTime:
		b, err := v.fixed(8)
		if err != nil {
			return 0, err
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
	case PtypCurrency:
		i, err := v.Int()
		return float64(i) / 10000, err
	}
	return 0, v.typeErr("a float")
}

// FiletimeToTime converts a FILETIME (100 ns intervals since 1601-01-01
// UTC) to a UTC time.
func FiletimeToTime(ft uint64) time.Time {
	const epochDiff = 11644473600 // seconds 1601-01-01 .. 1970-01-01
	secs := int64(ft/10000000) - epochDiff
	nsec := int64(ft%10000000) * 100
	return time.Unix(secs, nsec).UTC()
}

var oleEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// OLEDateToTime converts an OLE automation date to a UTC time.
func OLEDateToTime(d float64) (time.Time, error) {
	if math.IsNaN(d) || math.IsInf(d, 0) || d > 2958466 || d < -657435 {
		return time.Time{}, fmt.Errorf("pst/ltp: OLE date %v out of range", d)
	}
	days := math.Trunc(d)
	frac := math.Abs(d - days)
	ms := math.Round(frac * 86400000)
	return oleEpoch.AddDate(0, 0, int(days)).Add(time.Duration(ms) * time.Millisecond), nil
}

// Time returns Time (FILETIME) and FloatingTime (OLE date) values in UTC.
func (v Value) Time() (time.Time, error) {
	switch v.Type {
	case PtypTime:
		b, err := v.fixed(8)
		if err != nil {
			return time.Time{}, err
		}
		return FiletimeToTime(binary.LittleEndian.Uint64(b)), nil
	case PtypFloatingTime:
		f, err := v.Float()
		if err != nil {
			return time.Time{}, err
		}
		return OLEDateToTime(f)
	}
	return time.Time{}, v.typeErr("a time")
}

// GUID returns a Guid value (raw 16 bytes, little-endian fields).
func (v Value) GUID() ([16]byte, error) {
	var g [16]byte
	if v.Type != PtypGuid {
		return g, v.typeErr("Guid")
	}
	b, err := v.fixed(16)
	if err != nil {
		return g, err
	}
	copy(g[:], b)
	return g, nil
}

// Object returns the subnode NID and size of a PtypObject value stored in
// a PC (the heap holds {Nid, ulSize}). A writer that points the HNID at
// the subnode directly is tolerated: that subnode and its size are returned.
func (v Value) Object() (nid uint32, size uint32, err error) {
	if v.Type != PtypObject {
		return 0, 0, v.typeErr("Object")
	}
	if v.subNID != 0 && v.err == nil {
		sz, err := v.Size()
		if err != nil {
			return 0, 0, err
		}
		return v.subNID, uint32(min(sz, math.MaxUint32)), nil
	}
	b, err := v.fixed(8)
	if err != nil {
		return 0, 0, err
	}
	return binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:]), nil
}

// DecodeUTF16 decodes UTF-16LE, tolerating an odd length (the last byte
// is dropped), replacing unpaired surrogates with U+FFFD and stripping
// trailing NULs.
func DecodeUTF16(b []byte) string {
	b = b[:len(b)/2*2]
	for len(b) >= 2 && b[len(b)-2] == 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-2]
	}
	var sb strings.Builder
	if asciiUTF16(b) {
		// Most strings: one byte per code unit.
		sb.Grow(len(b) / 2)
		for i := 0; i < len(b); i += 2 {
			sb.WriteByte(b[i])
		}
		return sb.String()
	}
	// Two passes, as utf16.Decode would do it: the first measures the UTF-8, so the string is made in
	// one allocation, with no intermediate code units or runes.
	size := 0
	forEachUTF16Rune(b, func(r rune) { size += utf8.RuneLen(r) })
	sb.Grow(size)
	forEachUTF16Rune(b, func(r rune) { sb.WriteRune(r) })
	return sb.String()
}

// asciiUTF16 reports whether the UTF-16LE text b (of even length) is all ASCII.
func asciiUTF16(b []byte) bool {
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] >= 0x80 || b[i+1] != 0 {
			return false
		}
	}
	return true
}

// forEachUTF16Rune calls fn for every character of the UTF-16LE text b (of even length), with what
// utf16.Decode gives: a surrogate pair as one rune, an unpaired surrogate as U+FFFD.
func forEachUTF16Rune(b []byte, fn func(rune)) {
	for i := 0; i+1 < len(b); i += 2 {
		u := rune(binary.LittleEndian.Uint16(b[i:]))
		if utf16.IsSurrogate(u) {
			if u < 0xDC00 && i+3 < len(b) {
				if lo := rune(binary.LittleEndian.Uint16(b[i+2:])); lo >= 0xDC00 && lo < 0xE000 {
					fn(utf16.DecodeRune(u, lo))
					i += 2
					continue
				}
			}
			fn(utf8.RuneError)
			continue
		}
		fn(u)
	}
}

func trimNUL8(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// String returns a String (UTF-16LE) or String8 (decoded with codepage;
// 0 means Windows-1252) value. Invalid bytes become U+FFFD.
func (v Value) String(codepage int) (string, error) {
	if v.Type != PtypString && v.Type != PtypString8 {
		return "", v.typeErr("a string")
	}
	var b []byte
	var err error
	if v.err == nil && v.subNID != 0 {
		// A long text (a body) is read from its subnode into a recycled buffer: decoding copies it into
		// the string anyway.
		scratch := textScratch.Get().(*[]byte)
		defer putTextScratch(scratch)
		b, err = v.readSubnode(*scratch)
		if b != nil {
			*scratch = b[:0]
		}
	} else {
		b, err = v.raw()
	}
	if err != nil {
		return "", err
	}
	if v.Type == PtypString {
		return DecodeUTF16(b), nil
	}
	return DecodeString8(trimNUL8(b), codepage), nil
}

// textScratch recycles the buffers String reads subnode-stored text into.
var textScratch = sync.Pool{New: func() any { return new([]byte) }}

// putTextScratch keeps ordinary buffers for reuse; an exceptionally large one is left to the collector.
func putTextScratch(b *[]byte) {
	if cap(*b) <= 4<<20 {
		textScratch.Put(b)
	}
}

// mvVariable splits a multi-valued variable-size value: ulCount, then
// ulCount 32-bit offsets, then the data items.
func (v Value) mvVariable() ([][]byte, error) {
	b, err := v.raw()
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) < 4 {
		return nil, corrupt(v.nid, "multi-valued property", "property 0x%04X: %d bytes, need count", v.ID, len(b))
	}
	count := binary.LittleEndian.Uint32(b)
	if uint64(count)*4+4 > uint64(len(b)) {
		return nil, corrupt(v.nid, "multi-valued property", "property 0x%04X: count %d does not fit in %d bytes", v.ID, count, len(b))
	}
	out := make([][]byte, count)
	for i := range out {
		start := binary.LittleEndian.Uint32(b[4+4*i:])
		end := uint32(len(b))
		if i+1 < len(out) {
			end = binary.LittleEndian.Uint32(b[4+4*(i+1):])
		}
		if start < 4+4*count || start > end || end > uint32(len(b)) {
			return nil, corrupt(v.nid, "multi-valued property", "property 0x%04X: item %d has bad offsets [%d,%d) in %d bytes", v.ID, i, start, end, len(b))
		}
		out[i] = b[start:end:end]
	}
	return out, nil
}

// mvFixed splits a multi-valued fixed-size value into elements of size sz.
func (v Value) mvFixed(sz int) ([][]byte, error) {
	b, err := v.raw()
	if err != nil {
		return nil, err
	}
	if len(b)%sz != 0 {
		return nil, corrupt(v.nid, "multi-valued property", "property 0x%04X type %s: %d bytes is not a multiple of %d", v.ID, v.Type, len(b), sz)
	}
	out := make([][]byte, len(b)/sz)
	for i := range out {
		out[i] = b[i*sz : (i+1)*sz : (i+1)*sz]
	}
	return out, nil
}

// elems returns the elements of a multi-valued value as single values.
func (v Value) elems() ([]Value, error) {
	if !v.Type.IsMultiValued() {
		return nil, v.typeErr("multi-valued")
	}
	base := v.Type.Base()
	var parts [][]byte
	var err error
	if sz := base.FixedSize(); sz > 0 {
		parts, err = v.mvFixed(sz)
	} else {
		parts, err = v.mvVariable()
	}
	if err != nil {
		return nil, err
	}
	out := make([]Value, len(parts))
	for i, p := range parts {
		out[i] = Value{ID: v.ID, Type: base, data: p, nid: v.nid}
	}
	return out, nil
}

// Strings returns MultipleString / MultipleString8 values (a single
// String or String8 is returned as a one-element slice).
func (v Value) Strings(codepage int) ([]string, error) {
	if v.Type == PtypString || v.Type == PtypString8 {
		s, err := v.String(codepage)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	if v.Type != PtypMultipleString && v.Type != PtypMultipleString8 {
		return nil, v.typeErr("multiple strings")
	}
	es, err := v.elems()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(es))
	for i, e := range es {
		if out[i], err = e.String(codepage); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Ints returns MultipleInteger16/32/64 and MultipleCurrency values.
func (v Value) Ints() ([]int64, error) {
	switch v.Type {
	case PtypMultipleInteger16, PtypMultipleInteger32, PtypMultipleInteger64, PtypMultipleCurrency:
	default:
		return nil, v.typeErr("multiple integers")
	}
	es, err := v.elems()
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(es))
	for i, e := range es {
		if out[i], err = e.Int(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Floats returns MultipleFloating32/64 and MultipleFloatingTime values.
func (v Value) Floats() ([]float64, error) {
	switch v.Type {
	case PtypMultipleFloating32, PtypMultipleFloating64, PtypMultipleFloatingTime:
	default:
		return nil, v.typeErr("multiple floats")
	}
	es, err := v.elems()
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(es))
	for i, e := range es {
		if out[i], err = e.Float(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// BinaryValues returns MultipleBinary values (and, generically, the raw
// elements of any multi-valued type).
func (v Value) BinaryValues() ([][]byte, error) {
	if !v.Type.IsMultiValued() {
		return nil, v.typeErr("multiple binary")
	}
	es, err := v.elems()
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(es))
	for i, e := range es {
		out[i] = append([]byte{}, e.data...)
	}
	return out, nil
}

// Times returns MultipleTime and MultipleFloatingTime values.
func (v Value) Times() ([]time.Time, error) {
	if v.Type != PtypMultipleTime && v.Type != PtypMultipleFloatingTime {
		return nil, v.typeErr("multiple times")
	}
	es, err := v.elems()
	if err != nil {
		return nil, err
	}
	out := make([]time.Time, len(es))
	for i, e := range es {
		if out[i], err = e.Time(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GUIDs returns MultipleGuid values.
func (v Value) GUIDs() ([][16]byte, error) {
	if v.Type != PtypMultipleGuid {
		return nil, v.typeErr("multiple GUIDs")
	}
	es, err := v.elems()
	if err != nil {
		return nil, err
	}
	out := make([][16]byte, len(es))
	for i, e := range es {
		if out[i], err = e.GUID(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
