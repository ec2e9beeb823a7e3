package calobject

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// An XML tree that keeps everything a read-modify-write must not lose: elements it has no schema for,
// their attributes and namespace prefixes as written, comments and processing instructions. Only the text
// of the elements a caller changes is rewritten; the rest is written back token for token (an empty element
// comes back as a start and an end tag, CDATA as escaped text: the same document to every XML reader).

// tnode is an element, or (name empty) a text, comment, processing instruction or directive kept raw.
type tnode struct {
	name     xml.Name // Space is the prefix as written
	attrs    []xml.Attr
	children []*tnode
	raw      []byte // for non-elements: the token as it is written back
	text     bool   // raw is character data, unescaped
	empty    bool   // written as <name/>: kept so that an unchanged document is written byte for byte
}

// Bounds on a Kolab XML document: real ones nest about ten deep and have a few hundred elements.
const (
	maxTreeDepth = 64
	maxTreeNodes = 200_000
)

// parseTree reads an XML document (already UTF-8) into a tree under a synthetic document node.
func parseTree(src string) (*tnode, error) {
	d := xml.NewDecoder(strings.NewReader(src))
	d.Strict = true
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil } // already UTF-8
	doc := &tnode{}
	stack := []*tnode{doc}
	count := 0
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if count++; count > maxTreeNodes {
			return nil, fmt.Errorf("more than %d XML nodes", maxTreeNodes)
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 1 && doc.root() != nil {
				return nil, fmt.Errorf("a second root element <%s>", qname(t.Name))
			}
			if len(stack) > maxTreeDepth {
				return nil, fmt.Errorf("elements nested more than %d deep", maxTreeDepth)
			}
			off := int(d.InputOffset())
			n := &tnode{name: t.Name, attrs: append([]xml.Attr(nil), t.Attr...), empty: off >= 2 && src[off-2:off] == "/>"}
			top.children = append(top.children, n)
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 1 || top.name != t.Name {
				return nil, fmt.Errorf("</%s> does not close <%s>", qname(t.Name), qname(top.name))
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 1 && strings.TrimLeft(string(t), " \t\r\n") != "" {
				return nil, errors.New("text outside the root element")
			}
			top.children = append(top.children, &tnode{raw: bytes.Clone(t), text: true})
		case xml.Comment:
			top.children = append(top.children, &tnode{raw: append(append([]byte("<!--"), t...), "-->"...)})
		case xml.ProcInst:
			inst := t.Inst
			if t.Target == "xml" {
				inst = utf8Declaration(inst) // the text is UTF-8 now, whatever it was stored as
			}
			top.children = append(top.children, &tnode{raw: []byte("<?" + t.Target + " " + string(inst) + "?>")})
		case xml.Directive:
			top.children = append(top.children, &tnode{raw: append(append([]byte("<!"), t...), '>')})
		}
	}
	if len(stack) != 1 {
		return nil, fmt.Errorf("<%s> is not closed", qname(stack[len(stack)-1].name))
	}
	if doc.root() == nil {
		return nil, errors.New("no root element")
	}
	return doc, nil
}

// utf8Declaration replaces the encoding of an XML declaration's pseudo-attributes by UTF-8, read as
// xmlDeclEncoding reads it (white space around the "=" allowed).
func utf8Declaration(inst []byte) []byte {
	s := string(inst)
	i := strings.Index(s, "encoding")
	if i < 0 {
		return inst
	}
	rest := strings.TrimLeft(s[i+len("encoding"):], " \t\r\n")
	if !strings.HasPrefix(rest, "=") {
		return inst
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return inst
	}
	end := strings.IndexByte(rest[1:], rest[0])
	if end < 0 {
		return inst
	}
	return []byte(s[:i] + `encoding="UTF-8"` + rest[1+end+1:])
}

func qname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

func (n *tnode) root() *tnode {
	for _, c := range n.children {
		if c.raw == nil && !c.text {
			return c
		}
	}
	return nil
}

// child is the first element child with that local name, or nil.
func (n *tnode) child(local string) *tnode {
	for _, c := range n.children {
		if !c.text && c.raw == nil && c.name.Local == local {
			return c
		}
	}
	return nil
}

// elements are the element children.
func (n *tnode) elements() []*tnode {
	var out []*tnode
	for _, c := range n.children {
		if !c.text && c.raw == nil {
			out = append(out, c)
		}
	}
	return out
}

// textContent is the concatenated character data of n's own text children.
func (n *tnode) textContent() string {
	var b strings.Builder
	for _, c := range n.children {
		if c.text {
			b.Write(c.raw)
		}
	}
	return b.String()
}

// setText replaces n's children by one text.
func (n *tnode) setText(s string) {
	n.children = []*tnode{{raw: []byte(s), text: true}}
	n.empty = false
}

// add appends a new element child, indented like the last element child when there is one.
func (n *tnode) add(local string) *tnode {
	c := &tnode{name: xml.Name{Local: local}}
	if els := n.elements(); len(els) > 0 {
		c.name.Space = els[len(els)-1].name.Space
	}
	n.children = append(n.children, c)
	return c
}

// encode writes the tree back.
func (n *tnode) encode(b *bytes.Buffer) {
	switch {
	case n.text:
		escapeXML(b, string(n.raw), false)
		return
	case n.raw != nil:
		b.Write(n.raw)
		return
	}
	if n.name.Local != "" {
		b.WriteByte('<')
		b.WriteString(qname(n.name))
		for _, a := range n.attrs {
			b.WriteByte(' ')
			b.WriteString(qname(a.Name))
			b.WriteString(`="`)
			escapeXML(b, a.Value, true)
			b.WriteByte('"')
		}
		if n.empty && len(n.children) == 0 {
			b.WriteString("/>")
			return
		}
		b.WriteByte('>')
	}
	for _, c := range n.children {
		c.encode(b)
	}
	if n.name.Local != "" {
		b.WriteString("</")
		b.WriteString(qname(n.name))
		b.WriteByte('>')
	}
}

// escapeXML escapes character data, or an attribute value in double quotes. Line ends in text stay as they
// are (the layout of the document); in an attribute they are character references, which attribute value
// normalisation (XML 1.0 §3.3.3) would otherwise turn into spaces.
func escapeXML(b *bytes.Buffer, s string, attr bool) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#xD;"
		case '"':
			if attr {
				esc = "&quot;"
			}
		case '\n':
			if attr {
				esc = "&#xA;"
			}
		case '\t':
			if attr {
				esc = "&#x9;"
			}
		}
		if esc != "" {
			b.WriteString(s[last:i])
			b.WriteString(esc)
			last = i + 1
		}
	}
	b.WriteString(s[last:])
}
