// Package syncstate is what a mailbox sync remembers of each folder pair between cycles: which message on
// one side is which message on the other, the flags both had when they last agreed, and where each side's
// mailbox stood (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ), so that a cycle asks the servers only for what
// changed since. It has a compact binary encoding, bounded when read (Encode, Decode), and a store in a file
// (File).
//
// A link holds UIDs and flags, and for a groupware object a hash of the object's UID; no message identity:
// a cycle that finds a mailbox rebuilt (another UIDVALIDITY) matches its messages again by identity, read
// from the server.
package syncstate

import (
	"slices"
	"sort"
	"strings"
)

// Mailbox is where one side's mailbox stood at the end of the last cycle.
type Mailbox struct {
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64 // 0: the server has no mod-sequences for it
}

// System is the set of a message's system flags (RFC 9051 §2.3.2), one bit each.
type System uint8

const (
	Seen System = 1 << iota
	Answered
	Flagged
	Deleted
	Draft
)

var systemNames = []struct {
	bit  System
	name string
}{{Seen, `\Seen`}, {Answered, `\Answered`}, {Flagged, `\Flagged`}, {Deleted, `\Deleted`}, {Draft, `\Draft`}}

// Flags is a message's set of flags: the system flags as bits, the keywords as indexes into their pair's
// Keywords, sorted.
type Flags struct {
	System   System
	Keywords []uint16
}

// Equal says whether f and o are the same set.
func (f Flags) Equal(o Flags) bool {
	return f.System == o.System && slices.Equal(f.Keywords, o.Keywords)
}

// Link is one message known on both sides.
type Link struct {
	A, B  uint32 // its UID on side A (the source) and on side B (the target)
	Flags Flags  // what both sides had when they last agreed
	// Object is, for a groupware object, a hash of its UID (mailsync.ObjectKey), 0 for a message: what finds
	// the object's next version, a new message that replaces this one on a side, when the message is gone.
	Object uint64
}

// Pair is the state of one folder pair.
type Pair struct {
	A, B   string // the folders' names on each side
	MA, MB Mailbox
	// Keywords are the keywords Flags index, each once, in the order they were first seen.
	Keywords []string
	// Links, sorted by A.
	Links []Link
	// KeptA and KeptB are messages one side keeps although the other side deleted them, with deletions
	// ignored: no longer linked, and never copied over again. Sorted UIDs.
	KeptA, KeptB []uint32
	// Pending are copies a cycle sent and may not have seen stored: written before the APPEND, so that a
	// copy a server stores after the cycle was killed is known as one, and removed where it doubles a
	// message the sync holds (see mailsync.Decide).
	Pending []Pending
}

// Detached says whether p only remembers a folder of one side (the one of A and B that is not empty) that
// the sync no longer pairs: the other side deleted its counterpart, and this one is kept, alone.
func (p *Pair) Detached() bool { return (p.A == "") != (p.B == "") }

// Pending is a copy of the message with identity ID sent to side To (0: A, 1: B) at Since (Unix seconds).
type Pending struct {
	To    uint8
	ID    string
	Since int64
}

// State is the state of every folder pair of a sync.
type State struct {
	Pairs []Pair
}

// Clone returns a copy of s that changes to s do not reach (a link's keyword list, which nothing changes
// in place, is shared).
func (s *State) Clone() *State {
	c := &State{Pairs: make([]Pair, len(s.Pairs))}
	for i := range s.Pairs {
		c.Pairs[i] = s.Pairs[i].Clone()
	}
	return c
}

// Clone returns a copy of p that shares no slice with it.
func (p *Pair) Clone() Pair {
	c := *p
	c.Keywords, c.Links, c.KeptA, c.KeptB, c.Pending = slices.Clone(p.Keywords), slices.Clone(p.Links), slices.Clone(p.KeptA), slices.Clone(p.KeptB), slices.Clone(p.Pending)
	return c
}

// Pair returns the pair of folders a and b, added empty when there is none.
func (s *State) Pair(a, b string) *Pair {
	for i := range s.Pairs {
		if s.Pairs[i].A == a && s.Pairs[i].B == b {
			return &s.Pairs[i]
		}
	}
	s.Pairs = append(s.Pairs, Pair{A: a, B: b})
	return &s.Pairs[len(s.Pairs)-1]
}

// FlagsOf turns IMAP flag names into Flags, adding keywords the pair has not seen to Keywords. System flags
// are matched without regard to case, keywords as they are; \Recent, which a client cannot set, is left out.
func (p *Pair) FlagsOf(names []string) Flags {
	var f Flags
	for _, n := range names {
		if strings.HasPrefix(n, `\`) {
			for _, s := range systemNames {
				if strings.EqualFold(n, s.name) {
					f.System |= s.bit
				}
			}
			continue
		}
		i := slices.Index(p.Keywords, n)
		if i < 0 {
			i = len(p.Keywords)
			p.Keywords = append(p.Keywords, n)
		}
		if !slices.Contains(f.Keywords, uint16(i)) {
			f.Keywords = append(f.Keywords, uint16(i))
		}
	}
	slices.Sort(f.Keywords)
	return f
}

// Names turns f back into IMAP flag names: system flags first, then keywords, each once.
func (p *Pair) Names(f Flags) []string {
	var out []string
	for _, s := range systemNames {
		if f.System&s.bit != 0 {
			out = append(out, s.name)
		}
	}
	for _, k := range f.Keywords {
		if int(k) < len(p.Keywords) {
			out = append(out, p.Keywords[k])
		}
	}
	return out
}

// Link returns the link of the message with UID a on side A.
func (p *Pair) Link(a uint32) (Link, bool) {
	i := sort.Search(len(p.Links), func(i int) bool { return p.Links[i].A >= a })
	if i < len(p.Links) && p.Links[i].A == a {
		return p.Links[i], true
	}
	return Link{}, false
}

// SetLink adds l, or replaces the link of l.A, keeping Links sorted.
func (p *Pair) SetLink(l Link) {
	i := sort.Search(len(p.Links), func(i int) bool { return p.Links[i].A >= l.A })
	if i < len(p.Links) && p.Links[i].A == l.A {
		p.Links[i] = l
		return
	}
	p.Links = slices.Insert(p.Links, i, l)
}

// RemoveLink removes the link of the message with UID a on side A, if any.
func (p *Pair) RemoveLink(a uint32) {
	i := sort.Search(len(p.Links), func(i int) bool { return p.Links[i].A >= a })
	if i < len(p.Links) && p.Links[i].A == a {
		p.Links = slices.Delete(p.Links, i, i+1)
	}
}
