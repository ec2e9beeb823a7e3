package imapconn

import (
	"sort"
	"strings"
)

// Caps is a server's capability list (RFC 9051 §7.2.2), keyed by the upper-cased name, valued by the
// canonical spelling: upper case, except IMAP4rev1 and IMAP4rev2 (as go-imap spells them).
type Caps map[string]string

// ParseCaps builds Caps from the atoms of a CAPABILITY response or response code.
func ParseCaps(atoms []string) Caps {
	c := make(Caps, len(atoms))
	for _, a := range atoms {
		up := strings.ToUpper(a)
		if up == "" {
			continue
		}
		canon := up
		switch up {
		case "IMAP4REV1":
			canon = "IMAP4rev1"
		case "IMAP4REV2":
			canon = "IMAP4rev2"
		}
		c[up] = canon
	}
	return c
}

// rev2Implied are the extensions IMAP4rev2 includes (RFC 9051 appendix E).
var rev2Implied = map[string]bool{
	"NAMESPACE": true, "UNSELECT": true, "UIDPLUS": true, "ESEARCH": true, "SEARCHRES": true, "ENABLE": true,
	"IDLE": true, "SASL-IR": true, "LIST-EXTENDED": true, "LIST-STATUS": true, "MOVE": true, "LITERAL-": true,
	"BINARY": true, "SPECIAL-USE": true, "STATUS=SIZE": true, "CHILDREN": true,
}

// Has reports whether the server advertised a capability (case-insensitive), counting the implied
// ones: LITERAL+ implies LITERAL- (RFC 7888 §4), QRESYNC implies CONDSTORE (RFC 7162 §3.2.3), and
// IMAP4rev2 implies the extensions it took in.
func (c Caps) Has(capability string) bool {
	up := strings.ToUpper(capability)
	if _, ok := c[up]; ok {
		return true
	}
	switch {
	case up == "LITERAL-" && c.Has("LITERAL+"):
		return true
	case up == "CONDSTORE" && c.Has("QRESYNC"):
		return true
	case rev2Implied[up] && c.Has("IMAP4REV2"):
		return true
	}
	return false
}

// Value returns the value of a NAME=value capability ("" and false when absent; "" and true for a bare
// NAME). For names with several values (AUTH=), the first found.
func (c Caps) Value(name string) (string, bool) {
	up := strings.ToUpper(name)
	if _, ok := c[up]; ok {
		return "", true
	}
	for k := range c {
		if v, ok := strings.CutPrefix(k, up+"="); ok {
			return v, true
		}
	}
	return "", false
}

// AuthMechanisms returns the AUTH= mechanisms offered, sorted.
func (c Caps) AuthMechanisms() []string {
	var out []string
	for k := range c {
		if m, ok := strings.CutPrefix(k, "AUTH="); ok {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}

// List returns the capabilities in their canonical spelling, sorted.
func (c Caps) List() []string {
	out := make([]string, 0, len(c))
	for _, v := range c {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
