package ical

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ContentLine is one parsed content line: NAME;PARAM=value,value;PARAM="quoted":value (RFC 5545 §3.1).
//
// Names are kept as written ("item1.X-ABLabel", "dtstart"), so that a round trip gives back what it was
// given; they are case-insensitive (RFC 5545 §2, RFC 6350 §3.3): compare them with Is, or upper-case them
// with Upper.
type ContentLine struct {
	Name   string  // as written; a vCard group prefix ("item1.EMAIL") stays part of it
	Params []Param // in the order written
	Value  string  // as written: TEXT escapes and lists are left to the reader of the property
	Line   int     // the number of its first physical line; 0 for a line made in code
}

// Param is one property parameter. Values are decoded: quotes removed, RFC 6868 caret escapes undone.
type Param struct {
	Name   string // as written
	Values []string
}

// Is reports whether the line is the named property, in any case.
func (c *ContentLine) Is(name string) bool { return sameName(c.Name, name) }

// sameName is strings.EqualFold for ASCII names, with the common case (same spelling) first.
func sameName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	if a == b {
		return true
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x >= 'a' && x <= 'z' {
			x -= 'a' - 'A'
		}
		if y >= 'a' && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Param is the first value of the named parameter (in any case), and whether the parameter is present.
func (c *ContentLine) Param(name string) (string, bool) {
	for _, p := range c.Params {
		if sameName(p.Name, name) {
			if len(p.Values) == 0 {
				return "", true
			}
			return p.Values[0], true
		}
	}
	return "", false
}

// SetParam replaces the named parameter's values, or adds the parameter at the end.
func (c *ContentLine) SetParam(name string, values ...string) {
	for i := range c.Params {
		if sameName(c.Params[i].Name, name) {
			c.Params[i].Values = values
			return
		}
	}
	c.Params = append(c.Params, Param{Name: Upper(name), Values: values})
}

// RemoveParam removes every parameter of that name.
func (c *ContentLine) RemoveParam(name string) {
	kept := c.Params[:0]
	for _, p := range c.Params {
		if !sameName(p.Name, name) {
			kept = append(kept, p)
		}
	}
	c.Params = kept
}

// ParseLine reads one unfolded content line; line is its number for the caller's messages.
func ParseLine(s string, line int) (ContentLine, error) {
	c := ContentLine{Line: line}
	i := 0
	for i < len(s) && s[i] != ';' && s[i] != ':' {
		if !isNameChar(s[i]) {
			return c, fmt.Errorf("%s is not a content line: %q is not allowed in a property name", Clip(s), s[i])
		}
		i++
	}
	if i == 0 {
		return c, fmt.Errorf("%s is not a content line: no property name", Clip(s))
	}
	c.Name = s[:i]
	for i < len(s) && s[i] == ';' {
		i++
		j := i
		for j < len(s) && s[j] != '=' && s[j] != ';' && s[j] != ':' {
			j++
		}
		if j >= len(s) || s[j] != '=' {
			return c, fmt.Errorf("parameter %s has no '=' and value", Clip(s[i:j]))
		}
		p := Param{Name: strings.TrimSpace(s[i:j])}
		i = j + 1
		for {
			var v string
			if i < len(s) && s[i] == '"' {
				end := strings.IndexByte(s[i+1:], '"')
				if end < 0 {
					return c, fmt.Errorf("parameter %s: the quoted value is not closed", p.Name)
				}
				v = s[i+1 : i+1+end]
				i += end + 2
			} else {
				j := i
				for j < len(s) && s[j] != ',' && s[j] != ';' && s[j] != ':' {
					j++
				}
				v = s[i:j]
				i = j
			}
			if strings.IndexByte(v, '^') >= 0 {
				v = caretDecode(v)
			}
			p.Values = append(p.Values, v)
			if i < len(s) && s[i] == ',' {
				i++
				continue
			}
			break
		}
		c.Params = append(c.Params, p)
	}
	if i >= len(s) || s[i] != ':' {
		return c, errors.New("no ':' between the name and the value")
	}
	c.Value = s[i+1:]
	return c, nil
}

// AppendTo appends the line, folded and ended by CRLF. Parameter values are quoted where they must be.
func (c *ContentLine) AppendTo(b []byte) []byte {
	line := make([]byte, 0, len(c.Name)+len(c.Value)+16*len(c.Params)+1)
	line = append(line, c.Name...)
	for _, p := range c.Params {
		line = append(append(append(line, ';'), p.Name...), '=')
		for k, v := range p.Values {
			if k > 0 {
				line = append(line, ',')
			}
			line = appendParamValue(line, v, false)
		}
	}
	line = append(append(line, ':'), c.Value...)
	return AppendFolded(b, line)
}

// MaxLineOctets is where lines are folded: 75 octets, not counting the CRLF (RFC 5545 §3.1, RFC 6350 §3.2).
const MaxLineOctets = 75

// AppendFolded appends one content line and its CRLF, folded so that no physical line is longer than 75
// octets (the continuation's leading space counted), never inside a UTF-8 sequence.
func AppendFolded[T string | []byte](b []byte, line T) []byte {
	limit := MaxLineOctets
	for len(line) > limit {
		cut := limit
		for cut > 1 && line[cut]&0xC0 == 0x80 {
			cut--
		}
		if cut == 1 {
			cut = limit // no sequence start to cut before: the text is not UTF-8 anyway
		}
		b = append(append(b, line[:cut]...), "\r\n "...)
		line = line[cut:]
		limit = MaxLineOctets - 1
	}
	return append(append(b, line...), "\r\n"...)
}

// Clip quotes s for an error message, cut to 60 bytes at a character boundary: a malformed property
// read from a mail folder can be megabytes long.
func Clip(s string) string {
	const max = 60
	if len(s) > max {
		cut := max
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}
