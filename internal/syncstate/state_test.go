package syncstate

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	var p Pair
	f := p.FlagsOf([]string{`\seen`, "$Label1", `\Recent`, `\FLAGGED`, "Work", "$Label1"})
	if f.System != Seen|Flagged {
		t.Errorf("system flags %b, want \\Seen and \\Flagged", f.System)
	}
	if got := p.Names(f); !reflect.DeepEqual(got, []string{`\Seen`, `\Flagged`, "$Label1", "Work"}) {
		t.Errorf("names %q", got)
	}
	// A keyword seen later gets the next index; one seen before keeps its own.
	g := p.FlagsOf([]string{"Work", "Later"})
	if !reflect.DeepEqual(p.Keywords, []string{"$Label1", "Work", "Later"}) || !reflect.DeepEqual(g.Keywords, []uint16{1, 2}) {
		t.Errorf("keywords %q, indexes %v", p.Keywords, g.Keywords)
	}
	if f.Equal(g) || !f.Equal(p.FlagsOf([]string{"Work", `\Flagged`, "$Label1", `\Seen`})) {
		t.Error("Equal does not compare as sets")
	}
}

func TestLinks(t *testing.T) {
	var p Pair
	for _, a := range []uint32{5, 1, 9, 3} {
		p.SetLink(Link{A: a, B: a * 10})
	}
	p.SetLink(Link{A: 3, B: 31})
	p.RemoveLink(9)
	p.RemoveLink(4)
	var as []uint32
	for _, l := range p.Links {
		as = append(as, l.A)
	}
	if !reflect.DeepEqual(as, []uint32{1, 3, 5}) {
		t.Errorf("links by A: %v", as)
	}
	if l, ok := p.Link(3); !ok || l.B != 31 {
		t.Errorf("link of 3: %+v, %v", l, ok)
	}
	if _, ok := p.Link(9); ok {
		t.Error("a removed link is still found")
	}
}

// sample is a state like a sync of n messages leaves: UIDs with gaps where messages were deleted, most
// messages seen, some answered or flagged, a few with keywords, the target's UIDs out of step after a
// reordered first copy.
func sample(n int) *State {
	r := rand.New(rand.NewPCG(1, 2))
	s := &State{}
	p := s.Pair("INBOX", "INBOX")
	p.MA = Mailbox{UIDValidity: 1700000000, UIDNext: 1, HighestModSeq: 1}
	p.MB = Mailbox{UIDValidity: 1700000500, UIDNext: 1, HighestModSeq: 1}
	a, b := uint32(0), uint32(0)
	for i := range n {
		a += 1 + uint32(r.IntN(10)/9) // about one in ten UIDs gone
		b++
		if i%1000 == 999 {
			b += 50 // a batch appended elsewhere in between
		}
		var names []string
		if r.IntN(10) < 8 {
			names = append(names, `\Seen`)
		}
		if r.IntN(10) == 0 {
			names = append(names, `\Answered`)
		}
		if r.IntN(30) == 0 {
			names = append(names, `\Flagged`)
		}
		if r.IntN(20) == 0 {
			names = append(names, []string{"$Label1", "$Label2", "Work", "NonJunk"}[r.IntN(4)])
		}
		p.Links = append(p.Links, Link{A: a, B: b, Flags: p.FlagsOf(names)})
	}
	p.MA.UIDNext, p.MB.UIDNext = a+1, b+1
	p.KeptA, p.KeptB = []uint32{3, 17, 18}, []uint32{b + 5}
	p.Pending = []Pending{{To: 1, ID: "id:x@y", Since: 1764950000}}
	p.MA.HighestModSeq, p.MB.HighestModSeq = uint64(3*n), uint64(2*n)
	s.Pair("Sent", "Sent items") // a pair with nothing in it yet
	g := s.Pair("Calendar", "Calendar")
	for i := range uint32(n / 50) {
		g.Links = append(g.Links, Link{A: i + 1, B: i + 7, Object: uint64(i) * 0x9E3779B97F4A7C15})
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	s := sample(5000)
	b, err := Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatal("the decoded state differs from the encoded one")
	}
}

// TestEncodedSize: the state of a 100,000-message pair fits in one Secret or ConfigMap (1 MiB with its
// metadata) with room to spare, so the controller can keep a policy's state in one object.
func TestEncodedSize(t *testing.T) {
	s := sample(100_000)
	b, err := Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(s)
	t.Logf("100,000 links: %d bytes encoded (%.1f bytes a message); as JSON %d bytes", len(b), float64(len(b))/100_000, len(j))
	if len(b) > 512<<10 {
		t.Errorf("%d bytes for 100,000 messages: more than half of what one Kubernetes object holds", len(b))
	}
}

// TestDecodesFirstFormat: a state written before groupware objects were synced (no objects marker, no
// object hashes) is read.
func TestDecodesFirstFormat(t *testing.T) {
	// One pair, written field by field as the first format had it.
	var raw []byte
	uv := func(v uint64) { raw = binary.AppendUvarint(raw, v) }
	str := func(s string) { uv(uint64(len(s))); raw = append(raw, s...) }
	uv(1) // pairs
	str("INBOX")
	str("Inbox")
	for _, v := range []uint64{7, 20, 33, 8, 12, 40} { // MA, MB: UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ
		uv(v)
	}
	uv(1) // keywords
	str("Work")
	uv(2) // links
	uv(3)
	raw = binary.AppendVarint(raw, 5)
	raw = append(raw, byte(Seen))
	uv(1)
	uv(0) // A 3, B 5, \Seen Work
	uv(4)
	raw = binary.AppendVarint(raw, -1)
	raw = append(raw, 0)
	uv(0) // A 7, B 4
	uv(1)
	uv(9) // KeptA
	uv(0) // KeptB
	uv(1)
	raw = append(raw, 1)
	str("id:x@y")
	raw = binary.AppendVarint(raw, 1764950000) // pending
	var v1 bytes.Buffer
	v1.WriteString(magicV1)
	zw := gzip.NewWriter(&v1)
	zw.Write(raw)
	zw.Close()
	got, err := Decode(v1.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := &State{Pairs: []Pair{{A: "INBOX", B: "Inbox", MA: Mailbox{7, 20, 33}, MB: Mailbox{8, 12, 40}, Keywords: []string{"Work"},
		Links:   []Link{{A: 3, B: 5, Flags: Flags{System: Seen, Keywords: []uint16{0}}}, {A: 7, B: 4}},
		KeptA:   []uint32{9},
		Pending: []Pending{{To: 1, ID: "id:x@y", Since: 1764950000}}}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the first format decodes to\n%+v\nwant\n%+v", got, want)
	}
}

func TestDecodeRefusesDamage(t *testing.T) {
	good, err := Encode(sample(50))
	if err != nil {
		t.Fatal(err)
	}
	reencode := func(edit func(*State)) []byte {
		s := sample(50)
		edit(s)
		b, err := encode(s) // past Encode's checks, as a damaged or forged file would be
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := map[string][]byte{
		"empty":             nil,
		"another format":    []byte(`{"pairs":[]}`),
		"truncated":         good[:len(good)-9],
		"bytes after":       append(append([]byte{}, good...), 0),
		"a flipped byte":    flip(good, len(good)/2),
		"UIDs out of order": reencode(func(s *State) { s.Pairs[0].Links[3].A = s.Pairs[0].Links[2].A }),
		"unknown keyword":   reencode(func(s *State) { s.Pairs[0].Links[0].Flags.Keywords = []uint16{999} }),
		"kept out of order": reencode(func(s *State) { s.Pairs[0].KeptA = []uint32{5, 5} }),
		"pending to side 2": reencode(func(s *State) { s.Pairs[0].Pending[0].To = 2 }),
		"cut in an object":  cutInObject(t),
	}
	for name, b := range cases {
		if _, err := Decode(b); !errors.Is(err, ErrDamaged) {
			t.Errorf("%s: %v, want ErrDamaged", name, err)
		}
	}
	if _, err := Encode(func() *State { s := sample(5); s.Pairs[0].Links[1].A = 0; return s }()); err == nil {
		t.Error("Encode took a link with UID 0")
	}
}

// cutInObject is a state whose stream ends within a link's object hash.
func cutInObject(t *testing.T) []byte {
	s := &State{}
	s.Pair("Calendar", "Calendar").Links = []Link{{A: 1, B: 1, Object: 42}}
	b, err := encode(s)
	if err != nil {
		t.Fatal(err)
	}
	zr, _ := gzip.NewReader(bytes.NewReader(b[len(magic):]))
	raw, _ := io.ReadAll(zr)
	var out bytes.Buffer
	out.WriteString(magic)
	zw := gzip.NewWriter(&out)
	zw.Write(raw[:len(raw)-3-4]) // the kept and pending counts, and half the hash, gone
	zw.Close()
	return out.Bytes()
}

func flip(b []byte, i int) []byte {
	out := append([]byte{}, b...)
	out[i] ^= 0x55
	return out
}

func TestFile(t *testing.T) {
	f := File{Path: filepath.Join(t.TempDir(), "state", "alice")}
	s, err := f.Load()
	if err != nil || len(s.Pairs) != 0 {
		t.Fatalf("no file yet: %+v, %v; want an empty state", s, err)
	}
	want := sample(100)
	if err := f.Save(want); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(f.Path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the state file: %v, %v; want mode 0600", fi, err)
	}
	got, err := f.Load()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("loaded back: %v", err)
	}
	if err := os.WriteFile(f.Path, []byte("MSSYNC1\ngarbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = f.Load()
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), f.Path) || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("a damaged file: %v; want ErrDamaged, its path and what to do", err)
	}
}

func FuzzDecode(f *testing.F) {
	good, _ := Encode(sample(20))
	f.Add(good)
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Encode(s)
		if err != nil {
			t.Fatalf("Decode returned a state Encode refuses: %v", err)
		}
		s2, err := Decode(again)
		if err != nil || !reflect.DeepEqual(s, s2) {
			t.Fatalf("re-encoded state does not decode to itself: %v", err)
		}
	})
}
