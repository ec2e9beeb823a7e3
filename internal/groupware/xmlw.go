package groupware

import "strings"

// xmlWriter builds an indented XML document. Element names are the writers' own constants; every text and
// attribute value goes through xmlEscape.
type xmlWriter struct {
	b     strings.Builder
	stack []string
}

func newXMLWriter() *xmlWriter {
	x := &xmlWriter{}
	x.b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="no" ?>` + "\n")
	return x
}

func (x *xmlWriter) indent() { x.b.WriteString(strings.Repeat("  ", len(x.stack))) }

func (x *xmlWriter) startTag(name string, attrs []string) {
	x.indent()
	x.b.WriteString("<" + name)
	for i := 0; i+1 < len(attrs); i += 2 {
		x.b.WriteString(" " + attrs[i] + `="` + xmlEscape(attrs[i+1]) + `"`)
	}
}

// open starts an element; attrs are name, value pairs.
func (x *xmlWriter) open(name string, attrs ...string) {
	x.startTag(name, attrs)
	x.b.WriteString(">\n")
	x.stack = append(x.stack, name)
}

// close ends the innermost open element.
func (x *xmlWriter) close() {
	name := x.stack[len(x.stack)-1]
	x.stack = x.stack[:len(x.stack)-1]
	x.indent()
	x.b.WriteString("</" + name + ">\n")
}

// leaf writes <name attrs>text</name>, or <name/> for empty text.
func (x *xmlWriter) leaf(name, text string, attrs ...string) {
	x.startTag(name, attrs)
	if text == "" {
		x.b.WriteString("/>\n")
		return
	}
	x.b.WriteString(">" + xmlEscape(text) + "</" + name + ">\n")
}

func (x *xmlWriter) String() string { return x.b.String() }
