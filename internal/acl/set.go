package acl

import (
	"sort"
	"strings"
)

// Set is a set of ACL letters in RFC 4314 terms. The zero value is the empty
// set. Sets are canonical (sorted, unique, no virtual c/d), so == and Equal
// agree and a Set can be a map key.
type Set struct {
	s string
}

// ParseLetters normalises rights as a server reports or accepts them:
// order and duplicates are ignored, anything that is not a lowercase letter
// or digit (such as a leading "+" or "-") is ignored, and the obsolete
// virtual rights are resolved:
//
//   - c stands for k+x and d for t+e (how Dovecot and Cyrus expand them when
//     they are granted), but
//   - both servers also report c back whenever k or x is present, and d
//     whenever t or e is ("lrk" is read back as "lrkc", "lrt" as "lrtd"). So c
//     is expanded only when neither k nor x is in the string, and d only when
//     neither t nor e is: an RFC 2086 server, or a client writing c/d.
//
// c and d never appear in a Set.
func ParseLetters(s string) Set {
	hasKX := strings.ContainsAny(s, "kx")
	hasTE := strings.ContainsAny(s, "te")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == 'c':
			if !hasKX {
				b.WriteString("kx")
			}
		case ch == 'd':
			if !hasTE {
				b.WriteString("te")
			}
		case ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9':
			b.WriteByte(ch)
		}
	}
	return Set{s: sortUnique(b.String())}
}

// String returns the letters in sorted canonical form, e.g. "aeiklprstwx".
func (s Set) String() string { return s.s }

// Letters is String: the letters to send with SETACL.
func (s Set) Letters() string { return s.s }

// Len returns the number of letters.
func (s Set) Len() int { return len(s.s) }

// IsEmpty reports whether the set holds no right.
func (s Set) IsEmpty() bool { return s.s == "" }

// Equal reports whether both sets hold the same letters.
func (s Set) Equal(o Set) bool { return s.s == o.s }

// Has reports whether one letter is in the set. c and d are virtual: Has('c')
// means k and x, Has('d') means t and e.
func (s Set) Has(letter byte) bool {
	switch letter {
	case 'c':
		return s.Has('k') && s.Has('x')
	case 'd':
		return s.Has('t') && s.Has('e')
	}
	return strings.IndexByte(s.s, letter) >= 0
}

// Contains reports whether every letter of letters (parsed like
// ParseLetters) is in the set.
func (s Set) Contains(letters string) bool {
	return s.ContainsSet(ParseLetters(letters))
}

// ContainsSet reports whether o is a subset of s.
func (s Set) ContainsSet(o Set) bool {
	for i := 0; i < len(o.s); i++ {
		if strings.IndexByte(s.s, o.s[i]) < 0 {
			return false
		}
	}
	return true
}

// Union returns the letters in either set.
func (s Set) Union(o Set) Set { return Set{s: sortUnique(s.s + o.s)} }

// Minus returns the letters of s that are not in o.
func (s Set) Minus(o Set) Set {
	var b strings.Builder
	for i := 0; i < len(s.s); i++ {
		if strings.IndexByte(o.s, s.s[i]) < 0 {
			b.WriteByte(s.s[i])
		}
	}
	return Set{s: b.String()}
}

// Intersect returns the letters in both sets.
func (s Set) Intersect(o Set) Set {
	var b strings.Builder
	for i := 0; i < len(s.s); i++ {
		if strings.IndexByte(o.s, s.s[i]) >= 0 {
			b.WriteByte(s.s[i])
		}
	}
	return Set{s: b.String()}
}

func sortUnique(s string) string {
	b := []byte(s)
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	out := b[:0]
	for i, ch := range b {
		if i == 0 || ch != b[i-1] {
			out = append(out, ch)
		}
	}
	return string(out)
}

// Wire returns the letters to send to a server whose RIGHTS= capability is
// serverRights. RFC 4314 servers get the set as it is; RFC 2086-only servers
// (IsRFC4314 false) get c for any of k/x and d for any of t/e, the only
// letters they know for those rights.
func (s Set) Wire(serverRights string) string {
	if IsRFC4314(serverRights) {
		return s.s
	}
	var b strings.Builder
	for i := 0; i < len(s.s); i++ {
		switch ch := s.s[i]; ch {
		case 'k', 'x':
			b.WriteByte('c')
		case 't', 'e':
			b.WriteByte('d')
		default:
			b.WriteByte(ch)
		}
	}
	return sortUnique(b.String())
}
