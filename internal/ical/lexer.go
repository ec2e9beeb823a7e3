package ical

import "strings"

// Lexer splits iCalendar or vCard text into content lines (RFC 5545 §3.1, RFC 6350 §3.2) without copying:
// a line is unfolded only when its text is asked for, so a reader that skips most lines by name pays for
// little more than finding their ends.
type Lexer struct {
	src  string
	pos  int
	line int // physical lines consumed
}

// NewLexer reads src, without a leading byte order mark.
func NewLexer(src string) *Lexer {
	return &Lexer{src: strings.TrimPrefix(src, "\uFEFF")}
}

// RawLine is one content line before unfolding.
type RawLine struct {
	First  string // the first physical line, without its line end
	Region string // the text of all its physical lines, line ends and folding white space included
	Folded bool   // continuation lines follow the first
	Line   int    // the number of its first physical line, from 1
}

// Next returns the next content line; false at the end of the text.
func (lx *Lexer) Next() (RawLine, bool) {
	if lx.pos >= len(lx.src) {
		return RawLine{}, false
	}
	start := lx.pos
	end := strings.IndexByte(lx.src[start:], '\n')
	if end < 0 {
		end = len(lx.src)
	} else {
		end += start
	}
	lx.line++
	l := RawLine{First: strings.TrimSuffix(lx.src[start:end], "\r"), Line: lx.line}
	lx.pos = end + 1
	for lx.pos < len(lx.src) && (lx.src[lx.pos] == ' ' || lx.src[lx.pos] == '\t') {
		l.Folded = true
		e := strings.IndexByte(lx.src[lx.pos:], '\n')
		if e < 0 {
			e = len(lx.src)
		} else {
			e += lx.pos
		}
		end = e
		lx.line++
		lx.pos = e + 1
	}
	l.Region = lx.src[start:min(end, len(lx.src))]
	return l, true
}

// Text is the unfolded line: each continuation's leading space or tab removed, line ends dropped.
func (l RawLine) Text() string {
	if !l.Folded {
		return l.First
	}
	var b strings.Builder
	b.Grow(len(l.Region))
	s := l.Region
	for first := true; ; first = false {
		i := strings.IndexByte(s, '\n')
		seg := s
		if i >= 0 {
			seg = s[:i]
		}
		seg = strings.TrimSuffix(seg, "\r")
		if !first && len(seg) > 0 {
			seg = seg[1:] // the folding space or tab
		}
		b.WriteString(seg)
		if i < 0 {
			return b.String()
		}
		s = s[i+1:]
	}
}

// Blank reports whether the line holds nothing but white space: writers leave such lines between objects.
func (l RawLine) Blank() bool {
	s := l.First
	if l.Folded {
		s = l.Text()
	}
	return strings.TrimLeft(s, " \t\r") == ""
}

// Name is the upper-cased property name (a vCard group prefix included), or "" when the line is not a
// content line.
func (l RawLine) Name() string {
	s := l.First
	i := 0
	for i < len(s) && s[i] != ';' && s[i] != ':' {
		if !isNameChar(s[i]) {
			return ""
		}
		i++
	}
	if i == len(s) {
		if !l.Folded {
			return ""
		}
		return RawLine{First: l.Text()}.Name()
	}
	if i == 0 {
		return ""
	}
	return Upper(s[:i])
}

// isNameChar reports whether c may occur in a property name: RFC 5545 §3.1 allows letters, digits and "-";
// vCard adds the group separator "." (RFC 6350 §3.3), and "_" is common in X- names.
func isNameChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// Upper is strings.ToUpper for ASCII names, without allocating for names already upper-case.
func Upper(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'a' && s[i] <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}
