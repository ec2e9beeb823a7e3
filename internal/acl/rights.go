// Package acl models IMAP access control lists (RFC 4314, with the RFC 2086
// letters older servers still speak) in the vocabulary of the Outlook
// connector mailshift descends from: nine named rights, a few presets, and
// the translation between named rights and the letters a particular server
// understands.
//
// The package is pure: it never talks to a server. internal/imapsession reads and
// writes ACLs; controllers use this package to decide what to write.
package acl

import (
	"fmt"
	"sort"
	"strings"
)

// Right is one of the connector's nine named rights. The string values are
// part of the Kubernetes API (an enum in the CRDs): do not change them.
type Right string

// The nine named rights.
const (
	Lookup     Right = "lookup"     // l: the folder is visible in LIST
	Read       Right = "read"       // r: SELECT, FETCH, SEARCH, COPY from
	Insert     Right = "insert"     // i: APPEND, COPY into
	Write      Right = "write"      // w: set flags other than \Seen and \Deleted
	SetSeen    Right = "setSeen"    // s: keep \Seen state
	Post       Right = "post"       // p: send mail to the folder's submission address
	Create     Right = "create"     // k+x (RFC 4314) or c (RFC 2086)
	Delete     Right = "delete"     // t+e+x (RFC 4314) or d (RFC 2086)
	Administer Right = "administer" // a: change the ACL
)

// AllRights returns the nine rights in canonical order.
func AllRights() []Right {
	return []Right{Lookup, Read, Insert, Write, SetSeen, Post, Create, Delete, Administer}
}

// Valid reports whether r is one of the nine named rights.
func (r Right) Valid() bool {
	_, ok := rightOrder[r]
	return ok
}

var rightOrder = func() map[Right]int {
	m := make(map[Right]int)
	for i, r := range AllRights() {
		m[r] = i
	}
	return m
}()

// ParseRight accepts a right's name (case-sensitive, as in the API enum).
func ParseRight(s string) (Right, error) {
	r := Right(s)
	if !r.Valid() {
		return "", fmt.Errorf("acl: unknown right %q", s)
	}
	return r, nil
}

// Normalize returns the valid rights of rights, deduplicated, in canonical
// order. Unknown rights are dropped.
func Normalize(rights []Right) []Right {
	seen := make(map[Right]bool, len(rights))
	out := make([]Right, 0, len(rights))
	for _, r := range rights {
		if r.Valid() && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return rightOrder[out[i]] < rightOrder[out[j]] })
	return out
}

// Preset is a named bundle of rights.
type Preset string

// Presets offered by the connector's sharing dialog.
const (
	PresetReadOnly  Preset = "read-only" // lookup, read, setSeen
	PresetReadWrite Preset = "read-write"
	PresetEditor    Preset = "editor" // same as read-write
	PresetAuthor    Preset = "author" // lookup, read, insert, setSeen, post
	PresetFull      Preset = "full"   // all nine
	PresetOwner     Preset = "owner"  // same as full
)

// Presets returns every preset name.
func Presets() []Preset {
	return []Preset{PresetReadOnly, PresetReadWrite, PresetEditor, PresetAuthor, PresetFull, PresetOwner}
}

// Expand returns the rights of a preset in canonical order.
//
// read-write and editor include delete (t+e) because editing a groupware item
// over IMAP is APPEND of the new version plus deletion of the old one.
func Expand(p Preset) ([]Right, error) {
	switch p {
	case PresetReadOnly:
		return []Right{Lookup, Read, SetSeen}, nil
	case PresetReadWrite, PresetEditor:
		return []Right{Lookup, Read, Insert, Write, SetSeen, Post, Delete}, nil
	case PresetAuthor:
		return []Right{Lookup, Read, Insert, SetSeen, Post}, nil
	case PresetFull, PresetOwner:
		return AllRights(), nil
	}
	return nil, fmt.Errorf("acl: unknown preset %q", p)
}

// Resolve returns the union of a preset (may be empty) and extra rights, in
// canonical order. Unknown extra rights are an error.
func Resolve(p Preset, extra []Right) ([]Right, error) {
	var out []Right
	if p != "" {
		rs, err := Expand(p)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	for _, r := range extra {
		if !r.Valid() {
			return nil, fmt.Errorf("acl: unknown right %q", r)
		}
		out = append(out, r)
	}
	return Normalize(out), nil
}

// Letters translates named rights into the ACL letters to send with SETACL.
//
// serverRights is the value of the server's RIGHTS= capability ("texk" on
// Dovecot, "kxten" on Cyrus). A server whose RIGHTS= lists all of k, x, t and
// e is treated as an RFC 4314 server; anything else (notably an empty value:
// an RFC 2086-only server that advertises just "ACL") gets the obsolete
// letters c and d.
//
// The mapping (one choice, used everywhere; FromLetters is its inverse):
//
//	lookup l, read r, insert i, write w, setSeen s, post p, administer a
//	create  ⇒ k+x on RFC 4314 servers  (k: create subfolders; x: rename and
//	          delete them — what the old "c" meant on these servers), c on RFC 2086
//	delete  ⇒ t+e+x on RFC 4314 servers (t: flag \Deleted; e: expunge; x: delete
//	          the folder itself), d on RFC 2086
//
// The result is sorted and has no duplicates.
func Letters(rights []Right, serverRights string) string {
	modern := IsRFC4314(serverRights)
	var b strings.Builder
	for _, r := range rights {
		switch r {
		case Lookup:
			b.WriteByte('l')
		case Read:
			b.WriteByte('r')
		case Insert:
			b.WriteByte('i')
		case Write:
			b.WriteByte('w')
		case SetSeen:
			b.WriteByte('s')
		case Post:
			b.WriteByte('p')
		case Administer:
			b.WriteByte('a')
		case Create:
			if modern {
				b.WriteString("kx")
			} else {
				b.WriteByte('c')
			}
		case Delete:
			if modern {
				b.WriteString("tex")
			} else {
				b.WriteByte('d')
			}
		}
	}
	return sortUnique(b.String())
}

// IsRFC4314 reports whether a RIGHTS= capability value announces the RFC 4314
// rights k, x, t and e.
func IsRFC4314(serverRights string) bool {
	s := strings.ToLower(serverRights)
	return strings.ContainsRune(s, 'k') && strings.ContainsRune(s, 'x') &&
		strings.ContainsRune(s, 't') && strings.ContainsRune(s, 'e')
}

// SetFor is ParseLetters(Letters(rights, serverRights)): the set to expect
// back from GETACL after granting rights.
func SetFor(rights []Right, serverRights string) Set {
	return ParseLetters(Letters(rights, serverRights))
}

// FromLetters returns the named rights present in a set, in canonical order.
// It inverts Letters: FromLetters(ParseLetters(Letters(r, caps))) equals
// Normalize(r) for every server. create is reported when k is present, delete
// when t and e are (x is shared by both and decides neither), so sets written
// by other tools are read sensibly too.
func FromLetters(s Set) []Right {
	var out []Right
	add := func(r Right, ok bool) {
		if ok {
			out = append(out, r)
		}
	}
	add(Lookup, s.Has('l'))
	add(Read, s.Has('r'))
	add(Insert, s.Has('i'))
	add(Write, s.Has('w'))
	add(SetSeen, s.Has('s'))
	add(Post, s.Has('p'))
	add(Create, s.Has('k'))
	add(Delete, s.Has('t') && s.Has('e'))
	add(Administer, s.Has('a'))
	return out
}
