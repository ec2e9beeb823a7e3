package ltp

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"testing"
	"time"
)

func TestPCAllTypes(t *testing.T) {
	b := newHeap(ClientSigPC)
	hid := func(d []byte) []byte { return u32(uint32(b.add(0, d))) }
	hid1 := func(d []byte) []byte { return u32(uint32(b.add(1, d))) } // on page 1
	guid := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	guid2 := [16]byte{0xff, 1}
	ft := uint64(132223104000000000) // 2020-01-01T00:00:00Z
	big := bytes.Repeat([]byte("0123456789"), 2000)
	props := []pcProp{
		{0x0001, PtypInteger16, []byte{0xfe, 0xff, 0xaa, 0xbb}},
		{0x0002, PtypInteger32, u32(0xfffffff6)},
		{0x0003, PtypFloating32, u32(math.Float32bits(1.5))},
		{0x0004, PtypFloating64, hid(u64(math.Float64bits(-2.25)))},
		{0x0005, PtypCurrency, hid(u64(12345678))},
		{0x0006, PtypFloatingTime, hid(u64(math.Float64bits(43831.5)))},
		{0x0007, PtypErrorCode, u32(0x80004005)},
		{0x0008, PtypBoolean, []byte{1, 0, 0, 0}},
		{0x0009, PtypInteger64, hid1(u64(1 << 40))},
		{0x000A, PtypTime, hid(u64(ft))},
		{0x000B, PtypGuid, hid(guid[:])},
		{0x000C, PtypString, hid(append(utf16le("héllo 𝄞"), 0, 0))},
		{0x000D, PtypString8, hid([]byte("caf\xe9\x00"))},
		{0x000E, PtypBinary, hid([]byte{9, 8, 7})},
		{0x000F, PtypString, u32(0)},     // empty (HNID 0)
		{0x0010, PtypBinary, u32(0x4A1)}, // subnode
		{0x0011, PtypObject, hid(append(u32(0x8A1), u32(77)...))},
		{0x0012, PtypMultipleInteger16, hid([]byte{1, 0, 0xff, 0xff})},
		{0x0013, PtypMultipleInteger32, hid(append(u32(5), u32(0xffffffff)...))},
		{0x0014, PtypMultipleInteger64, hid(append(u64(7), u64(1<<62)...))},
		{0x0015, PtypMultipleFloating64, hid(u64(math.Float64bits(3.5)))},
		{0x0016, PtypMultipleTime, hid(append(u64(ft), u64(ft+10000000)...))},
		{0x0017, PtypMultipleGuid, hid(append(guid[:], guid2[:]...))},
		{0x0018, PtypMultipleString, hid(mvVar(utf16le("a"), append(utf16le("bc"), 0, 0), nil))},
		{0x0019, PtypMultipleString8, hid(mvVar([]byte("x\x00"), []byte("\x82\xa0")))},
		{0x001A, PtypMultipleBinary, hid(mvVar([]byte{1}, []byte{}, []byte{2, 3}))},
		{0x001B, PtypString, hid([]byte{'A', 0, 'B'})}, // odd length
		{0x001C, PtypBinary, u32(0xFFE0)},              // dangling HID
		{0x001D, PtypMultipleString, u32(0x5A1)},       // MV in subnode
		{0x001E, PtypMultipleCurrency, hid(u64(50000))},
		{0x001F, PtypMultipleFloating32, hid(u32(math.Float32bits(0.25)))},
		{0x0020, PtypMultipleFloatingTime, hid(u64(math.Float64bits(2)))},
		{0x0021, PtypServerId, hid([]byte{1, 0, 5})},
		{0x0022, PtypObject, u32(0x4A1)}, // HNID naming the subnode directly
	}
	buildPC(b, props, 5) // index level: leaves on pages 0,1,...
	n := &memNode{nid: 0x200024, blocks: b.blocks(), subs: map[uint32]*memNode{
		0x4A1: {nid: 0x4A1, blocks: [][]byte{big[:8176], big[8176:16352], big[16352:]}},
		0x5A1: {nid: 0x5A1, blocks: [][]byte{mvVar(utf16le("sub"))}},
	}}
	pc, err := openPC(n)
	if err != nil {
		t.Fatal(err)
	}
	all := pc.All()
	if len(all) != len(props) {
		t.Fatalf("All: %d props, want %d", len(all), len(props))
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].ID >= all[i].ID {
			t.Fatal("All not sorted")
		}
	}
	get := func(id uint16) Value {
		v, ok := pc.Get(id)
		if !ok {
			t.Fatalf("Get(0x%04X) missing", id)
		}
		return v
	}
	wantInt := func(id uint16, want int64) {
		t.Helper()
		if got, err := get(id).Int(); err != nil || got != want {
			t.Errorf("0x%04X Int = %d, %v; want %d", id, got, err, want)
		}
	}
	wantInt(1, -2)
	wantInt(2, -10)
	wantInt(5, 12345678)
	wantInt(7, 0x80004005)
	wantInt(8, 1)
	wantInt(9, 1<<40)
	if b, _ := get(8).Bool(); !b {
		t.Error("Bool false")
	}
	if f, _ := get(3).Float(); f != 1.5 {
		t.Errorf("Float32 %v", f)
	}
	if f, _ := get(4).Float(); f != -2.25 {
		t.Errorf("Float64 %v", f)
	}
	if f, _ := get(5).Float(); f != 1234.5678 {
		t.Errorf("Currency float %v", f)
	}
	want := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if tm, err := get(0xA).Time(); err != nil || !tm.Equal(want) {
		t.Errorf("Time %v %v", tm, err)
	}
	if tm, err := get(6).Time(); err != nil || !tm.Equal(want.Add(12*time.Hour)) {
		t.Errorf("FloatingTime %v %v", tm, err)
	}
	if g, err := get(0xB).GUID(); err != nil || g != guid {
		t.Errorf("GUID %v %v", g, err)
	}
	if s, err := get(0xC).String(0); err != nil || s != "héllo 𝄞" {
		t.Errorf("String %q %v", s, err)
	}
	if s, err := get(0xD).String(0); err != nil || s != "café" {
		t.Errorf("String8 1252 %q %v", s, err)
	}
	if s, _ := get(0xD).String(1251); s != "cafй" {
		t.Errorf("String8 1251 %q", s)
	}
	if s, _ := get(0xD).String(65001); s != "caf\uFFFD" {
		t.Errorf("String8 65001 %q", s)
	}
	if s, _ := get(0xD).String(20127); s != "caf\uFFFD" {
		t.Errorf("String8 20127 %q", s)
	}
	if d, _ := get(0xE).Bytes(); !bytes.Equal(d, []byte{9, 8, 7}) {
		t.Errorf("Binary %v", d)
	}
	if s, err := get(0xF).String(0); err != nil || s != "" {
		t.Errorf("empty String %q %v", s, err)
	}
	// Subnode binary: lazy, streamed.
	sv := get(0x10)
	if nid, ok := sv.SubnodeNID(); !ok || nid != 0x4A1 {
		t.Errorf("SubnodeNID %x %v", nid, ok)
	}
	r, size, err := sv.Reader()
	if err != nil || size != int64(len(big)) {
		t.Fatalf("Reader size %d %v", size, err)
	}
	got, _ := io.ReadAll(r)
	if !bytes.Equal(got, big) {
		t.Error("Reader data mismatch")
	}
	if d, err := sv.Bytes(); err != nil || !bytes.Equal(d, big) {
		t.Errorf("Bytes of subnode value: %v", err)
	}
	if s, err := sv.Size(); err != nil || s != int64(len(big)) {
		t.Errorf("Size %d %v", s, err)
	}
	if nid, sz, err := get(0x11).Object(); err != nil || nid != 0x8A1 || sz != 77 {
		t.Errorf("Object %x %d %v", nid, sz, err)
	}
	check := func(name string, got, want any, err error) {
		t.Helper()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, %v; want %v", name, got, err, want)
		}
	}
	ints, err := get(0x12).Ints()
	check("MV int16", ints, []int64{1, -1}, err)
	ints, err = get(0x13).Ints()
	check("MV int32", ints, []int64{5, -1}, err)
	ints, err = get(0x14).Ints()
	check("MV int64", ints, []int64{7, 1 << 62}, err)
	ints, err = get(0x1E).Ints()
	check("MV currency", ints, []int64{50000}, err)
	fl, err := get(0x15).Floats()
	check("MV float64", fl, []float64{3.5}, err)
	fl, err = get(0x1F).Floats()
	check("MV float32", fl, []float64{0.25}, err)
	tms, err := get(0x16).Times()
	check("MV time", tms, []time.Time{want, want.Add(time.Second)}, err)
	tms, err = get(0x20).Times()
	check("MV floating time", tms, []time.Time{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)}, err)
	gs, err := get(0x17).GUIDs()
	check("MV guid", gs, [][16]byte{guid, guid2}, err)
	ss, err := get(0x18).Strings(0)
	check("MV string", ss, []string{"a", "bc", ""}, err)
	ss, err = get(0x19).Strings(932)
	check("MV string8 cp932", ss, []string{"x", "あ"}, err)
	bs, err := get(0x1A).BinaryValues()
	check("MV binary", bs, [][]byte{{1}, {}, {2, 3}}, err)
	if s, _ := get(0x1B).String(0); s != "A" {
		t.Errorf("odd-length string %q", s)
	}
	var ce *CorruptError
	if _, err := get(0x1C).Bytes(); !errors.As(err, &ce) || ce.NID != 0x200024 {
		t.Errorf("dangling HID: %v", err)
	}
	ss, err = get(0x1D).Strings(0)
	check("MV string in subnode", ss, []string{"sub"}, err)
	if nid, sz, err := get(0x22).Object(); err != nil || nid != 0x4A1 || sz != uint32(len(big)) {
		t.Errorf("direct Object %x %d %v", nid, sz, err)
	}
	if d, _ := get(0x21).Bytes(); !bytes.Equal(d, []byte{1, 0, 5}) {
		t.Errorf("ServerId %v", d)
	}
	// Type mismatches are errors, not panics.
	if _, err := get(0xC).Int(); !errors.Is(err, ErrType) {
		t.Errorf("Int on string: %v", err)
	}
	if _, err := get(1).String(0); !errors.Is(err, ErrType) {
		t.Errorf("String on int: %v", err)
	}
	if _, err := get(1).Ints(); !errors.Is(err, ErrType) {
		t.Errorf("Ints on int: %v", err)
	}
	if _, ok := pc.Get(0x7777); ok {
		t.Error("Get of missing property succeeded")
	}
	if v := get(2); v.Tag() != 0x00020003 {
		t.Errorf("Tag %08x", v.Tag())
	}
}

func TestPCEmptyAndCorrupt(t *testing.T) {
	b := newHeap(ClientSigPC)
	buildPC(b, nil, 0)
	pc, err := openPC(&memNode{nid: 1, blocks: b.blocks()})
	if err != nil || len(pc.All()) != 0 {
		t.Fatalf("empty PC: %v %v", pc, err)
	}
	// wrong client signature
	b2 := newHeap(ClientSigTC)
	buildPC(b2, nil, 0)
	var ce *CorruptError
	if _, err := openPC(&memNode{nid: 1, blocks: b2.blocks()}); !errors.As(err, &ce) {
		t.Errorf("TC sig as PC: %v", err)
	}
	// wrong key size
	b3 := newHeap(ClientSigPC)
	b3.userRoot = b3.addBTH(4, 4, nil, 0, 0)
	if _, err := openPC(&memNode{nid: 1, blocks: b3.blocks()}); !errors.As(err, &ce) {
		t.Errorf("cbKey 4 PC: %v", err)
	}
	// Multi-valued with bad offsets.
	b4 := newHeap(ClientSigPC)
	bad := b4.add(0, append(u32(2), u32(100)...))
	buildPC(b4, []pcProp{{1, PtypMultipleBinary, u32(uint32(bad))}, {2, PtypMultipleInteger32, u32(uint32(b4.add(0, []byte{1, 2, 3})))}}, 0)
	pc, err = openPC(&memNode{nid: 1, blocks: b4.blocks()})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := pc.Get(1)
	if _, err := v.BinaryValues(); !errors.As(err, &ce) {
		t.Errorf("bad MV offsets: %v", err)
	}
	v, _ = pc.Get(2)
	if _, err := v.Ints(); !errors.As(err, &ce) {
		t.Errorf("bad MV fixed length: %v", err)
	}
}

func TestDecodeString8Codepages(t *testing.T) {
	for _, c := range []struct {
		cp   int
		in   string
		want string
	}{
		{0, "\x80", "€"},
		{1250, "\x8a", "Š"},
		{1253, "\xe1", "α"},
		{932, "\x93\xfa\x96\x7b", "日本"},
		{936, "\xd6\xd0", "中"},
		{949, "\xc7\xd1", "한"},
		{950, "\xa4\xa4", "中"},
		{28591, "\xe9", "é"},
		{28605, "\xa4", "€"},
		{65001, "\xe2\x82\xac", "€"},
		{99999, "\xe9", "é"}, // unknown -> 1252
		{932, "\x82", "\uFFFD"},
	} {
		if got := DecodeString8([]byte(c.in), c.cp); got != c.want {
			t.Errorf("cp %d %q: got %q want %q", c.cp, c.in, got, c.want)
		}
	}
	for _, cp := range []int{1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258, 932, 936, 949, 950, 65001, 20127, 28591, 28592, 28593, 28594, 28595, 28596, 28597, 28598, 28599, 28603, 28604, 28605} {
		if !SupportedCodepage(cp) {
			t.Errorf("code page %d unsupported", cp)
		}
	}
}
