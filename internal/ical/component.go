package ical

import (
	"errors"
	"fmt"
	"strings"
)

// Component is one BEGIN:NAME … END:NAME block (RFC 5545 §3.4–3.6, RFC 6350 §3.3) with everything in it:
// properties the reader understands or not, their parameters, and sub-components (VALARM, VTIMEZONE and
// its observances, anything an X- writer invented). Writing it back with Encode loses none of them;
// properties are written before sub-components, in the order read.
type Component struct {
	Name       string // upper-cased: "VCALENDAR", "VEVENT", "VCARD", …
	Props      []ContentLine
	Components []*Component
	Line       int // the number of its BEGIN line; 0 for a component made in code
}

// Limits bound what Parse accepts from hostile input.
type Limits struct {
	MaxBytes      int // the whole document
	MaxLineBytes  int // one unfolded content line (an inline ATTACH can be large)
	MaxDepth      int // nesting of BEGIN/END; real objects nest three deep (VCALENDAR, VEVENT, VALARM)
	MaxComponents int // components of the whole document
	MaxProps      int // content lines of the whole document
}

// DefaultLimits suit any calendar object or address book entry stored as one message.
var DefaultLimits = Limits{MaxBytes: 64 << 20, MaxLineBytes: 16 << 20, MaxDepth: 16, MaxComponents: 100_000, MaxProps: 1_000_000}

// ErrLimit is wrapped by Parse's errors when a limit is exceeded.
var ErrLimit = errors.New("limit exceeded")

// SyntaxError is a document Parse cannot read: the line it stopped at, and why.
type SyntaxError struct {
	Line int
	Err  error
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// Parse reads every top-level component of data (several VCALENDARs, or the VCARDs of an address book)
// under DefaultLimits.
func Parse(data []byte) ([]*Component, error) { return DefaultLimits.Parse(data) }

// Parse reads every top-level component of data. Blank lines are skipped; anything else outside a
// component, a line that is no content line, an END that does not match its BEGIN and a component left
// open are errors, as is a document with no component at all.
func (lim Limits) Parse(data []byte) ([]*Component, error) {
	if len(data) > lim.MaxBytes {
		return nil, &SyntaxError{Err: fmt.Errorf("the document has %d bytes, more than %d: %w", len(data), lim.MaxBytes, ErrLimit)}
	}
	lx := NewLexer(string(data))
	var top []*Component
	var stack []*Component
	comps, props := 0, 0
	for {
		l, ok := lx.Next()
		if !ok {
			break
		}
		if l.Blank() {
			continue
		}
		if len(l.Region) > lim.MaxLineBytes {
			return nil, &SyntaxError{Line: l.Line, Err: fmt.Errorf("a content line of %d bytes, more than %d: %w", len(l.Region), lim.MaxLineBytes, ErrLimit)}
		}
		c, err := ParseLine(l.Text(), l.Line)
		if err != nil {
			return nil, &SyntaxError{Line: l.Line, Err: err}
		}
		switch Upper(c.Name) {
		case "BEGIN":
			name := Upper(strings.TrimSpace(c.Value))
			if name == "" {
				return nil, &SyntaxError{Line: l.Line, Err: errors.New("BEGIN without a component name")}
			}
			if len(stack) >= lim.MaxDepth {
				return nil, &SyntaxError{Line: l.Line, Err: fmt.Errorf("components nested more than %d deep: %w", lim.MaxDepth, ErrLimit)}
			}
			if comps++; comps > lim.MaxComponents {
				return nil, &SyntaxError{Line: l.Line, Err: fmt.Errorf("more than %d components: %w", lim.MaxComponents, ErrLimit)}
			}
			comp := &Component{Name: name, Line: l.Line}
			if len(stack) == 0 {
				top = append(top, comp)
			} else {
				parent := stack[len(stack)-1]
				parent.Components = append(parent.Components, comp)
			}
			stack = append(stack, comp)
		case "END":
			name := Upper(strings.TrimSpace(c.Value))
			if len(stack) == 0 {
				return nil, &SyntaxError{Line: l.Line, Err: fmt.Errorf("END:%s outside any component", name)}
			}
			if open := stack[len(stack)-1]; open.Name != name {
				return nil, &SyntaxError{Line: l.Line, Err: fmt.Errorf("END:%s closes BEGIN:%s of line %d", name, open.Name, open.Line)}
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) == 0 {
				return nil, &SyntaxError{Line: l.Line, Err: fmt.Errorf("%s outside any component", c.Name)}
			}
			if props++; props > lim.MaxProps {
				return nil, &SyntaxError{Line: l.Line, Err: fmt.Errorf("more than %d content lines: %w", lim.MaxProps, ErrLimit)}
			}
			open := stack[len(stack)-1]
			open.Props = append(open.Props, c)
		}
	}
	if len(stack) > 0 {
		open := stack[len(stack)-1]
		return nil, &SyntaxError{Line: open.Line, Err: fmt.Errorf("BEGIN:%s has no END:%s (truncated?)", open.Name, open.Name)}
	}
	if len(top) == 0 {
		return nil, &SyntaxError{Err: errors.New("no BEGIN: the text holds no iCalendar or vCard object")}
	}
	return top, nil
}

// Encode writes components with CRLF line ends, lines folded at 75 octets.
func Encode(comps ...*Component) []byte {
	var b []byte
	for _, c := range comps {
		b = c.AppendTo(b)
	}
	return b
}

// AppendTo appends the component: BEGIN, its properties, its sub-components, END.
func (c *Component) AppendTo(b []byte) []byte {
	b = AppendFolded(append(b, "BEGIN:"...), c.Name)
	for i := range c.Props {
		b = c.Props[i].AppendTo(b)
	}
	for _, sub := range c.Components {
		b = sub.AppendTo(b)
	}
	return AppendFolded(append(b, "END:"...), c.Name)
}

// Get is the first property of that name (in any case), or nil.
func (c *Component) Get(name string) *ContentLine {
	for i := range c.Props {
		if c.Props[i].Is(name) {
			return &c.Props[i]
		}
	}
	return nil
}

// Value is the first property's value, "" when absent; TEXT escapes are undone when text is set.
func (c *Component) Value(name string, text bool) string {
	p := c.Get(name)
	if p == nil {
		return ""
	}
	if text {
		return UnescapeText(p.Value)
	}
	return p.Value
}

// All is every property of that name, in order.
func (c *Component) All(name string) []*ContentLine {
	var out []*ContentLine
	for i := range c.Props {
		if c.Props[i].Is(name) {
			out = append(out, &c.Props[i])
		}
	}
	return out
}

// Set gives the first property of that name the value and parameters, keeping its place; without one,
// the property is added at the end. Further properties of the name are removed: Set is for properties
// that occur once. A value is written as given: escape TEXT with EscapeText first.
func (c *Component) Set(name, value string, params ...Param) {
	kept := c.Props[:0]
	done := false
	for _, p := range c.Props {
		if p.Is(name) {
			if done {
				continue
			}
			p.Value, p.Params, done = value, params, true
		}
		kept = append(kept, p)
	}
	c.Props = kept
	if !done {
		c.Props = append(c.Props, ContentLine{Name: Upper(name), Params: params, Value: value})
	}
}

// SetText is Set for a TEXT property that keeps its parameters (LANGUAGE, ALTREP) when it exists.
func (c *Component) SetText(name, text string) {
	if p := c.Get(name); p != nil {
		p.Value = EscapeText(text)
		return
	}
	c.Set(name, EscapeText(text))
}

// Remove removes every property of that name.
func (c *Component) Remove(name string) {
	kept := c.Props[:0]
	for _, p := range c.Props {
		if !p.Is(name) {
			kept = append(kept, p)
		}
	}
	c.Props = kept
}

// Sub is every direct sub-component of that name (in any case), in order.
func (c *Component) Sub(name string) []*Component {
	var out []*Component
	for _, s := range c.Components {
		if sameName(s.Name, name) {
			out = append(out, s)
		}
	}
	return out
}
