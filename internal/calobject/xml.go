package calobject

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mailshift/mailshift/internal/ical"
)

// A small XML reader for the two Kolab formats. encoding/xml spends most of a calendar folder's read time
// on reflection and per-token allocations; these documents need none of its generality (no DTDs, no
// custom entities, namespaces only on the root), so they are scanned by hand into a flat tree whose names
// and texts are substrings of the document. The scanner is strict where a mistake would change the
// meaning (unbalanced or unterminated markup, unknown entities, text outside the root) and ignores what
// does not matter (comments, processing instructions, a DOCTYPE).

type xnode struct {
	name        string // local name, without prefix
	prefix      string
	text        string // the element's own character data, entities decoded
	attrs       []xattr
	first, last int32 // children (indexes into xmlDoc.nodes; 0 is none)
	next        int32 // next sibling
	hasChild    bool
	offset      int // byte offset of the start tag, for messages
}

type xattr struct{ name, value string } // name as written, "xmlns:x" included

type xmlDoc struct {
	nodes []xnode // nodes[0] is the document; its only child is the root element
	// texts collects the text of an element that comes in several pieces (split by comments or CDATA),
	// so that joining them stays linear.
	texts map[int32]*strings.Builder
}

const maxXMLDepth = 256

var errXMLTruncated = errors.New("the document ends inside an element (truncated?)")

func parseXML(src string) (*xmlDoc, error) {
	// One node per start tag at most: sizing the arena up front saves its regrowth, the larger cost.
	doc := &xmlDoc{nodes: make([]xnode, 1, strings.Count(src, "</")+strings.Count(src, "/>")+2)}
	stack := make([]int32, 1, 16)
	src = strings.TrimPrefix(src, "\uFEFF")
	i := 0
	for i < len(src) {
		top := stack[len(stack)-1]
		if src[i] != '<' {
			j := strings.IndexByte(src[i:], '<')
			if j < 0 {
				j = len(src)
			} else {
				j += i
			}
			chunk := src[i:j]
			if top == 0 {
				if !isSpace(chunk) {
					return nil, fmt.Errorf("offset %d: text outside the root element", i)
				}
			} else if err := doc.addText(top, chunk, true); err != nil {
				return nil, fmt.Errorf("offset %d: %w", i, err)
			}
			i = j
			continue
		}
		rest := src[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				return nil, fmt.Errorf("offset %d: unterminated comment", i)
			}
			i += 4 + end + 3
		case strings.HasPrefix(rest, "<![CDATA["):
			end := strings.Index(rest[9:], "]]>")
			if end < 0 {
				return nil, fmt.Errorf("offset %d: unterminated CDATA section", i)
			}
			if top == 0 {
				return nil, fmt.Errorf("offset %d: CDATA outside the root element", i)
			}
			_ = doc.addText(top, rest[9:9+end], false) // not decoded: cannot fail
			i += 9 + end + 3
		case strings.HasPrefix(rest, "<?"):
			end := strings.Index(rest[2:], "?>")
			if end < 0 {
				return nil, fmt.Errorf("offset %d: unterminated processing instruction", i)
			}
			i += 2 + end + 2
		case strings.HasPrefix(rest, "<!"):
			if top != 0 {
				return nil, fmt.Errorf("offset %d: declaration inside an element", i)
			}
			n, err := skipDecl(rest)
			if err != nil {
				return nil, fmt.Errorf("offset %d: %w", i, err)
			}
			i += n
		case strings.HasPrefix(rest, "</"):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return nil, fmt.Errorf("offset %d: %w", i, errXMLTruncated)
			}
			name := strings.TrimRight(rest[2:end], " \t\r\n")
			if top == 0 {
				return nil, fmt.Errorf("offset %d: end tag </%s> without a start tag", i, name)
			}
			n := &doc.nodes[top]
			if qualified(n) != name {
				return nil, fmt.Errorf("offset %d: end tag </%s> does not close <%s>", i, name, qualified(n))
			}
			doc.endText(top)
			stack = stack[:len(stack)-1]
			i += end + 1
		default:
			if top == 0 && doc.nodes[0].first != 0 {
				return nil, fmt.Errorf("offset %d: a second root element", i)
			}
			if len(stack) > maxXMLDepth {
				return nil, fmt.Errorf("offset %d: elements nested more than %d deep", i, maxXMLDepth)
			}
			idx, n, selfClosing, err := doc.startTag(rest, top, i)
			if err != nil {
				return nil, fmt.Errorf("offset %d: %w", i, err)
			}
			if !selfClosing {
				stack = append(stack, idx)
			}
			i += n
		}
	}
	if len(stack) > 1 {
		return nil, fmt.Errorf("<%s>: %w", qualified(&doc.nodes[stack[len(stack)-1]]), errXMLTruncated)
	}
	if doc.nodes[0].first == 0 {
		return nil, errors.New("no root element")
	}
	return doc, nil
}

func qualified(n *xnode) string {
	if n.prefix != "" {
		return n.prefix + ":" + n.name
	}
	return n.name
}

func isSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}

// addText appends character data to node top. Whitespace between child elements is dropped: only leaf
// texts carry meaning here, and keeping it would cost an allocation per container.
func (d *xmlDoc) addText(top int32, chunk string, decode bool) error {
	n := &d.nodes[top]
	if n.hasChild && isSpace(chunk) {
		return nil
	}
	if decode && strings.IndexByte(chunk, '&') >= 0 {
		s, err := decodeEntities(chunk)
		if err != nil {
			return err
		}
		chunk = s
	}
	if n.text == "" {
		n.text = chunk
		return nil
	}
	if d.texts == nil {
		d.texts = map[int32]*strings.Builder{}
	}
	b := d.texts[top]
	if b == nil {
		b = &strings.Builder{}
		b.WriteString(n.text)
		d.texts[top] = b
	}
	b.WriteString(chunk)
	return nil
}

// endText finishes the text of an element when its end tag is read.
func (d *xmlDoc) endText(idx int32) {
	if b := d.texts[idx]; b != nil {
		d.nodes[idx].text = b.String()
		delete(d.texts, idx)
	}
}

// skipDecl skips a <!DOCTYPE …> with its internal subset.
func skipDecl(s string) (int, error) {
	depth := 0
	var quote byte
	for i := 2; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == '>' && depth <= 0:
			return i + 1, nil
		}
	}
	return 0, errors.New("unterminated declaration")
}

func isNameByte(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '/', '>', '<', '=', '"', '\'', '&':
		return false
	}
	return true
}

// startTag reads "<name attr='v' …>" or "<name …/>" at s and adds the element under parent.
func (d *xmlDoc) startTag(s string, parent int32, offset int) (int32, int, bool, error) {
	i := 1
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	if i == 1 {
		if len(s) == 1 {
			return 0, 0, false, errXMLTruncated
		}
		return 0, 0, false, errors.New("'<' is not followed by an element name")
	}
	qname := s[1:i]
	node := xnode{name: qname, offset: offset}
	if p, local, ok := strings.Cut(qname, ":"); ok {
		node.prefix, node.name = p, local
	}
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
			i++
		}
		if i >= len(s) {
			return 0, 0, false, fmt.Errorf("<%s>: %w", qname, errXMLTruncated)
		}
		if s[i] == '>' {
			i++
			break
		}
		if s[i] == '/' {
			if i+1 >= len(s) || s[i+1] != '>' {
				return 0, 0, false, fmt.Errorf("<%s>: '/' not followed by '>'", qname)
			}
			idx := d.link(parent, node)
			return idx, i + 2, true, nil
		}
		start := i
		for i < len(s) && isNameByte(s[i]) {
			i++
		}
		if i == start {
			return 0, 0, false, fmt.Errorf("<%s>: unexpected %q in the tag", qname, s[i])
		}
		name := s[start:i]
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
			i++
		}
		if i >= len(s) || s[i] != '=' {
			return 0, 0, false, fmt.Errorf("<%s>: attribute %s has no value", qname, name)
		}
		i++
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
			i++
		}
		if i >= len(s) || (s[i] != '"' && s[i] != '\'') {
			return 0, 0, false, fmt.Errorf("<%s>: attribute %s: value is not quoted", qname, name)
		}
		q := s[i]
		end := strings.IndexByte(s[i+1:], q)
		if end < 0 {
			return 0, 0, false, fmt.Errorf("<%s>: attribute %s: %w", qname, name, errXMLTruncated)
		}
		val := s[i+1 : i+1+end]
		if strings.IndexByte(val, '&') >= 0 {
			v, err := decodeEntities(val)
			if err != nil {
				return 0, 0, false, fmt.Errorf("<%s>: attribute %s: %w", qname, name, err)
			}
			val = v
		}
		node.attrs = append(node.attrs, xattr{name, val})
		i += end + 2
	}
	return d.link(parent, node), i, false, nil
}

func (d *xmlDoc) link(parent int32, n xnode) int32 {
	idx := int32(len(d.nodes))
	d.nodes = append(d.nodes, n)
	p := &d.nodes[parent]
	if p.first == 0 {
		p.first = idx
	} else {
		d.nodes[p.last].next = idx
	}
	p.last = idx
	if !p.hasChild {
		p.hasChild = true
		if isSpace(p.text) {
			p.text = ""
		}
	}
	return idx
}

func decodeEntities(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		s = s[i:]
		end := strings.IndexByte(s, ';')
		if end < 0 || end > 12 {
			return "", fmt.Errorf("'&' does not start an entity reference: %s", ical.Clip(s))
		}
		ent := s[1:end]
		switch ent {
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "amp":
			b.WriteByte('&')
		case "quot":
			b.WriteByte('"')
		case "apos":
			b.WriteByte('\'')
		default:
			var r uint64
			var err error
			switch {
			case strings.HasPrefix(ent, "#x") || strings.HasPrefix(ent, "#X"):
				r, err = strconv.ParseUint(ent[2:], 16, 32)
			case strings.HasPrefix(ent, "#"):
				r, err = strconv.ParseUint(ent[1:], 10, 32)
			default:
				return "", fmt.Errorf("unknown entity &%s;", ent)
			}
			if err != nil || !utf8.ValidRune(rune(r)) || r == 0 {
				return "", fmt.Errorf("invalid character reference &%s;", ent)
			}
			b.WriteRune(rune(r))
		}
		s = s[end+1:]
	}
}

// root is the document element.
func (d *xmlDoc) root() *xnode { return &d.nodes[d.nodes[0].first] }

// children calls f for each child element of n until f returns false.
func (d *xmlDoc) children(n *xnode, f func(c *xnode) bool) {
	for i := n.first; i != 0; i = d.nodes[i].next {
		if !f(&d.nodes[i]) {
			return
		}
	}
}

// child is the first child element named name, or nil.
func (d *xmlDoc) child(n *xnode, name string) *xnode {
	if n == nil {
		return nil
	}
	for i := n.first; i != 0; i = d.nodes[i].next {
		if d.nodes[i].name == name {
			return &d.nodes[i]
		}
	}
	return nil
}

func (n *xnode) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if a.name == name {
			return a.value, true
		}
	}
	return "", false
}

// namespace is the namespace URI of n's prefix as declared on n itself (the root), or "".
func (n *xnode) namespace() string {
	name := "xmlns"
	if n.prefix != "" {
		name = "xmlns:" + n.prefix
	}
	v, _ := n.attr(name)
	return v
}
