package imapconn

import "strings"

// The namespace and folder model both front ends report (RFC 2342, RFC 9051 §6.3.9).

// Namespace is one RFC 2342 namespace.
type Namespace struct {
	Prefix string // e.g. "", "INBOX.", "shared/", "Other Users/"
	Delim  rune   // hierarchy separator, 0 for a flat namespace
}

// Namespaces are the three kinds of namespace a server offers.
type Namespaces struct {
	Personal, Other, Shared []Namespace
}

// PersonalDefault returns the first personal namespace, or the empty-prefix
// one with delimiter '/' when there is none (never used as a guess by this
// package: Namespaces falls back to LIST's delimiter).
func (ns Namespaces) PersonalDefault() Namespace {
	if len(ns.Personal) > 0 {
		return ns.Personal[0]
	}
	return Namespace{Delim: '/'}
}

// IsPersonal reports whether a mailbox name lies in the personal namespace,
// that is not under an Other-users or Shared prefix (those take precedence
// when the personal prefix is empty).
func (ns Namespaces) IsPersonal(mailbox string) bool {
	for _, list := range [][]Namespace{ns.Other, ns.Shared} {
		for _, n := range list {
			if n.Prefix == "" {
				continue
			}
			if strings.HasPrefix(mailbox, n.Prefix) || mailbox+string(n.Delim) == n.Prefix {
				return false
			}
		}
	}
	if len(ns.Personal) == 0 {
		return true
	}
	for _, n := range ns.Personal {
		if n.Prefix == "" || strings.HasPrefix(mailbox, n.Prefix) || strings.EqualFold(mailbox, "INBOX") {
			return true
		}
		if mailbox+string(n.Delim) == n.Prefix {
			return true
		}
	}
	return false
}

// Folder is one mailbox from LIST.
type Folder struct {
	Name       string   // full name on the server, UTF-8 (decoded from modified UTF-7)
	Delim      rune     // hierarchy separator, 0 when flat
	Attrs      []string // all attributes, e.g. \HasNoChildren, \Noselect, \Sent
	SpecialUse string   // the first RFC 6154 special-use attribute, e.g. \Sent, or ""
	Messages   int64    // from LIST-STATUS when Count used it, else -1
}

// Selectable reports whether the folder can hold messages.
func (f Folder) Selectable() bool {
	for _, a := range f.Attrs {
		switch strings.ToLower(a) {
		case `\noselect`, `\nonexistent`:
			return false
		}
	}
	return true
}

// HasAttr reports whether the folder has an attribute (case-insensitive).
func (f Folder) HasAttr(attr string) bool {
	for _, a := range f.Attrs {
		if strings.EqualFold(a, attr) {
			return true
		}
	}
	return false
}
