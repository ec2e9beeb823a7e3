package syncstate

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The encoding: the magic, then a gzip stream of varints. UIDs on side A are deltas from the link before
// (they are sorted), UIDs on side B signed deltas, so that a pair of 100,000 messages takes a few bytes a
// message before compression (TestEncodedSize). gzip at its fastest level: the state is written at every
// cycle that changes something, and the best level costs several times the CPU for a little less size.
// A pair that holds groupware objects has each link's object hash in 8 bytes (magicV1, written before
// objects were synced, has no such pairs and is still read).
const (
	magic   = "MSSYNC2\n"
	magicV1 = "MSSYNC1\n"
)

// Bounds of what Decode accepts: a state is read from a file or an object others can write, and a damaged
// or hostile one must fail with an error, not take the process's memory.
const (
	maxPairs       = 100_000
	maxLinks       = 5_000_000 // over all pairs: about 120 MB decoded
	maxKeywords    = 1 << 16
	maxNameBytes   = 4096 // a folder name
	maxKeywordLen  = 1024
	maxIDLen       = 2048    // a message identity
	maxDecodedSize = 1 << 30 // the decompressed stream
)

// ErrDamaged is wrapped by every error of Decode about the bytes it was given.
var ErrDamaged = errors.New("sync state is damaged")

// Encode returns s in the binary encoding. Links must be sorted by A (SetLink keeps them so), and keyword
// indexes sorted and within their pair's keywords (FlagsOf makes them so).
func Encode(s *State) ([]byte, error) {
	for i := range s.Pairs {
		if err := s.Pairs[i].check(); err != nil {
			return nil, fmt.Errorf("pair %q/%q: %w", s.Pairs[i].A, s.Pairs[i].B, err)
		}
	}
	return encode(s)
}

// encode is Encode without its checks.
func encode(s *State) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(magic)
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriter(zw)
	var tmp [binary.MaxVarintLen64]byte
	uv := func(v uint64) { w.Write(tmp[:binary.PutUvarint(tmp[:], v)]) }
	sv := func(v int64) { w.Write(tmp[:binary.PutVarint(tmp[:], v)]) }
	str := func(s string) { uv(uint64(len(s))); w.WriteString(s) }
	uv(uint64(len(s.Pairs)))
	for _, p := range s.Pairs {
		str(p.A)
		str(p.B)
		for _, m := range []Mailbox{p.MA, p.MB} {
			uv(uint64(m.UIDValidity))
			uv(uint64(m.UIDNext))
			uv(m.HighestModSeq)
		}
		uv(uint64(len(p.Keywords)))
		for _, k := range p.Keywords {
			str(k)
		}
		objects := p.hasObjects()
		if objects {
			w.WriteByte(1)
		} else {
			w.WriteByte(0)
		}
		uv(uint64(len(p.Links)))
		var prevA, prevB uint32
		for _, l := range p.Links {
			uv(uint64(l.A - prevA))
			sv(int64(l.B) - int64(prevB))
			prevA, prevB = l.A, l.B
			w.WriteByte(byte(l.Flags.System))
			if objects {
				w.Write(binary.LittleEndian.AppendUint64(tmp[:0], l.Object))
			}
			uv(uint64(len(l.Flags.Keywords)))
			for _, k := range l.Flags.Keywords {
				uv(uint64(k))
			}
		}
		for _, kept := range [][]uint32{p.KeptA, p.KeptB} {
			uv(uint64(len(kept)))
			var prev uint32
			for _, uid := range kept {
				uv(uint64(uid - prev))
				prev = uid
			}
		}
		uv(uint64(len(p.Pending)))
		for _, x := range p.Pending {
			w.WriteByte(x.To)
			str(x.ID)
			sv(x.Since)
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// hasObjects says whether a link of p is a groupware object's.
func (p *Pair) hasObjects() bool {
	for _, l := range p.Links {
		if l.Object != 0 {
			return true
		}
	}
	return false
}

// check says what Decode would refuse in p.
func (p *Pair) check() error {
	for i, l := range p.Links {
		if l.A == 0 || l.B == 0 || (i > 0 && l.A <= p.Links[i-1].A) {
			return fmt.Errorf("link %d: UIDs must be non-zero, and those on side A increasing", i)
		}
		for j, k := range l.Flags.Keywords {
			if int(k) >= len(p.Keywords) || (j > 0 && k <= l.Flags.Keywords[j-1]) {
				return fmt.Errorf("link %d: keyword indexes must be sorted and name the pair's keywords", i)
			}
		}
	}
	for _, kept := range [][]uint32{p.KeptA, p.KeptB} {
		for i, uid := range kept {
			if uid == 0 || (i > 0 && uid <= kept[i-1]) {
				return fmt.Errorf("kept UIDs must be non-zero and increasing")
			}
		}
	}
	for _, x := range p.Pending {
		if x.To > 1 || len(x.ID) > maxIDLen {
			return fmt.Errorf("a pending copy to side %d, identity of %d bytes", x.To, len(x.ID))
		}
	}
	if len(p.Keywords) > maxKeywords {
		return fmt.Errorf("%d keywords, at most %d", len(p.Keywords), maxKeywords)
	}
	return nil
}

// Decode reads the binary encoding. Whatever it is given, it returns a state that holds together (links
// sorted and unique by A, keyword indexes within the pair's keywords) or an error wrapping ErrDamaged.
func Decode(b []byte) (*State, error) {
	v1 := bytes.HasPrefix(b, []byte(magicV1))
	if !v1 && !bytes.HasPrefix(b, []byte(magic)) {
		return nil, fmt.Errorf("%w: not a sync state (no %q at its start)", ErrDamaged, magic[:len(magic)-1])
	}
	zr, err := gzip.NewReader(bytes.NewReader(b[len(magic):]))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	d := &decoder{r: bufio.NewReader(io.LimitReader(zr, maxDecodedSize)), v1: v1}
	s, err := d.state()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	// Nothing may follow, and the gzip stream must end where it says (its checksum is checked then).
	if _, err := d.r.ReadByte(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: bytes after the end of the state", ErrDamaged)
	}
	return s, nil
}

type decoder struct {
	r     *bufio.Reader
	links int
	v1    bool // magicV1: no object hashes
}

func (d *decoder) uv(what string, max uint64) (uint64, error) {
	v, err := binary.ReadUvarint(d.r)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, unexpected(err))
	}
	if v > max {
		return 0, fmt.Errorf("%s: %d exceeds %d", what, v, max)
	}
	return v, nil
}

func (d *decoder) str(what string, max int) (string, error) {
	n, err := d.uv(what+" length", uint64(max))
	if err != nil {
		return "", err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		return "", fmt.Errorf("%s: %w", what, unexpected(err))
	}
	return string(b), nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (d *decoder) state() (*State, error) {
	n, err := d.uv("pair count", maxPairs)
	if err != nil {
		return nil, err
	}
	s := &State{}
	for i := range int(n) {
		p, err := d.pair()
		if err != nil {
			return nil, fmt.Errorf("pair %d: %w", i, err)
		}
		s.Pairs = append(s.Pairs, p)
	}
	return s, nil
}

func (d *decoder) pair() (Pair, error) {
	var p Pair
	var err error
	if p.A, err = d.str("folder A", maxNameBytes); err != nil {
		return p, err
	}
	if p.B, err = d.str("folder B", maxNameBytes); err != nil {
		return p, err
	}
	for _, m := range []*Mailbox{&p.MA, &p.MB} {
		v, err := d.uv("UIDVALIDITY", 1<<32-1)
		if err != nil {
			return p, err
		}
		next, err := d.uv("UIDNEXT", 1<<32-1)
		if err != nil {
			return p, err
		}
		modseq, err := d.uv("HIGHESTMODSEQ", 1<<63-1) // RFC 7162: a mod-sequence fits 63 bits
		if err != nil {
			return p, err
		}
		*m = Mailbox{UIDValidity: uint32(v), UIDNext: uint32(next), HighestModSeq: modseq}
	}
	nk, err := d.uv("keyword count", maxKeywords)
	if err != nil {
		return p, err
	}
	for range nk {
		k, err := d.str("keyword", maxKeywordLen)
		if err != nil {
			return p, err
		}
		p.Keywords = append(p.Keywords, k)
	}
	objects := false
	if !d.v1 {
		b, err := d.r.ReadByte()
		if err != nil {
			return p, fmt.Errorf("objects marker: %w", unexpected(err))
		}
		if b > 1 {
			return p, fmt.Errorf("objects marker %d", b)
		}
		objects = b == 1
	}
	nl, err := d.uv("link count", uint64(maxLinks-d.links))
	if err != nil {
		return p, err
	}
	d.links += int(nl)
	if nl > 0 {
		p.Links = make([]Link, 0, min(nl, 1<<16)) // grown as links are read, not trusted ahead
	}
	var a, b uint32
	for i := range nl {
		da, err := d.uv("UID delta", 1<<32-1)
		if err != nil {
			return p, err
		}
		if da == 0 || uint64(a)+da > 1<<32-1 {
			return p, fmt.Errorf("link %d: UID on side A not after the one before", i)
		}
		db, err := binary.ReadVarint(d.r)
		if err != nil {
			return p, fmt.Errorf("link %d: %w", i, unexpected(err))
		}
		nb := int64(b) + db
		if nb <= 0 || nb > 1<<32-1 {
			return p, fmt.Errorf("link %d: UID on side B out of range", i)
		}
		a, b = a+uint32(da), uint32(nb)
		sys, err := d.r.ReadByte()
		if err != nil {
			return p, fmt.Errorf("link %d: %w", i, unexpected(err))
		}
		if System(sys)&^(Seen|Answered|Flagged|Deleted|Draft) != 0 {
			return p, fmt.Errorf("link %d: unknown system flags %#x", i, sys)
		}
		l := Link{A: a, B: b, Flags: Flags{System: System(sys)}}
		if objects {
			var h [8]byte
			if _, err := io.ReadFull(d.r, h[:]); err != nil {
				return p, fmt.Errorf("link %d: object: %w", i, unexpected(err))
			}
			l.Object = binary.LittleEndian.Uint64(h[:])
		}
		nkw, err := d.uv("keyword count of a link", uint64(len(p.Keywords)))
		if err != nil {
			return p, fmt.Errorf("link %d: %w", i, err)
		}
		for range nkw {
			k, err := d.uv("keyword index", uint64(len(p.Keywords)-1))
			if err != nil {
				return p, fmt.Errorf("link %d: %w", i, err)
			}
			if n := len(l.Flags.Keywords); n > 0 && uint16(k) <= l.Flags.Keywords[n-1] {
				return p, fmt.Errorf("link %d: keyword indexes not sorted", i)
			}
			l.Flags.Keywords = append(l.Flags.Keywords, uint16(k))
		}
		p.Links = append(p.Links, l)
	}
	for _, kept := range []*[]uint32{&p.KeptA, &p.KeptB} {
		n, err := d.uv("kept count", uint64(maxLinks-d.links))
		if err != nil {
			return p, err
		}
		d.links += int(n)
		var uid uint32
		for i := range n {
			delta, err := d.uv("kept UID delta", 1<<32-1)
			if err != nil {
				return p, err
			}
			if delta == 0 || uint64(uid)+delta > 1<<32-1 {
				return p, fmt.Errorf("kept UID %d not after the one before", i)
			}
			uid += uint32(delta)
			*kept = append(*kept, uid)
		}
	}
	np, err := d.uv("pending count", uint64(maxLinks-d.links))
	if err != nil {
		return p, err
	}
	d.links += int(np)
	for i := range np {
		to, err := d.r.ReadByte()
		if err != nil {
			return p, fmt.Errorf("pending %d: %w", i, unexpected(err))
		}
		if to > 1 {
			return p, fmt.Errorf("pending %d: side %d", i, to)
		}
		id, err := d.str("pending identity", maxIDLen)
		if err != nil {
			return p, err
		}
		since, err := binary.ReadVarint(d.r)
		if err != nil {
			return p, fmt.Errorf("pending %d: %w", i, unexpected(err))
		}
		p.Pending = append(p.Pending, Pending{To: to, ID: id, Since: since})
	}
	return p, nil
}
