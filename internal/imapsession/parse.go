package imapsession

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// A small reader for the untagged responses the filter captures (see filter.go): atoms, numbers,
// quoted strings, literals, NIL and parenthesised lists, as RFC 9051 §4 spells them. The input is one
// whole response, already bounded by the reader beneath.

// item is one parsed element of a response.
type item struct {
	atom   string // an atom or number, as sent
	str    string // a string's contents (quoted or literal)
	isStr  bool
	isNil  bool
	list   []item
	isList bool
}

// text returns the item as text: a string's contents, an atom as sent, "" for NIL and lists.
func (it item) text() string {
	if it.isStr {
		return it.str
	}
	return it.atom
}

// maxDepth bounds the nesting of lists a server may send.
const maxDepth = 16

// maxItems bounds the items of one response so that they take no more memory than the response's own
// limit: a line of one-character atoms ("a a a ...") would otherwise cost 2 bytes of the limit and
// unsafe.Sizeof(item{}) bytes of memory each, over 30 times the limit in all.
var maxItems = int(imapconn.MaxResponseBytes / unsafe.Sizeof(item{}))

type itemParser struct {
	b     []byte
	pos   int
	items int
}

var errParse = errors.New("malformed response")

// parseItems parses a response after its "* ": the items up to the final CRLF.
func parseItems(resp []byte) ([]item, error) {
	resp = bytes.TrimSuffix(bytes.TrimPrefix(resp, []byte("* ")), []byte("\r\n"))
	p := &itemParser{b: resp}
	var out []item
	for {
		p.skipSpaces()
		if p.pos >= len(p.b) {
			return out, nil
		}
		it, err := p.item(0)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
}

func (p *itemParser) skipSpaces() {
	for p.pos < len(p.b) && p.b[p.pos] == ' ' {
		p.pos++
	}
}

func (p *itemParser) item(depth int) (item, error) {
	if depth > maxDepth {
		return item{}, fmt.Errorf("%w: lists nested deeper than %d", errParse, maxDepth)
	}
	if p.pos >= len(p.b) {
		return item{}, fmt.Errorf("%w: unexpected end", errParse)
	}
	if p.items++; p.items > maxItems {
		return item{}, fmt.Errorf("%w: more than %d items in one response", errParse, maxItems)
	}
	switch ch := p.b[p.pos]; {
	case ch == '(' || ch == '[':
		closer := byte(')')
		if ch == '[' {
			closer = ']'
		}
		p.pos++
		it := item{isList: true}
		for {
			p.skipSpaces()
			if p.pos >= len(p.b) {
				return item{}, fmt.Errorf("%w: unterminated list", errParse)
			}
			if p.b[p.pos] == closer {
				p.pos++
				return it, nil
			}
			sub, err := p.item(depth + 1)
			if err != nil {
				return item{}, err
			}
			it.list = append(it.list, sub)
		}
	case ch == '"':
		p.pos++
		var sb strings.Builder
		for p.pos < len(p.b) {
			c := p.b[p.pos]
			p.pos++
			switch c {
			case '\\':
				if p.pos < len(p.b) {
					sb.WriteByte(p.b[p.pos])
					p.pos++
				}
			case '"':
				return item{str: sb.String(), isStr: true}, nil
			default:
				sb.WriteByte(c)
			}
		}
		return item{}, fmt.Errorf("%w: unterminated quoted string", errParse)
	case ch == '{' || (ch == '~' && p.pos+1 < len(p.b) && p.b[p.pos+1] == '{'):
		end := bytes.Index(p.b[p.pos:], []byte("}\r\n"))
		if end < 0 {
			return item{}, fmt.Errorf("%w: bad literal", errParse)
		}
		num := strings.TrimLeft(string(p.b[p.pos:p.pos+end]), "~{")
		num = strings.TrimRight(num, "+-")
		n, err := strconv.Atoi(num)
		start := p.pos + end + 3
		if err != nil || n < 0 || start+n > len(p.b) {
			return item{}, fmt.Errorf("%w: bad literal", errParse)
		}
		p.pos = start + n
		return item{str: string(p.b[start : start+n]), isStr: true}, nil
	default:
		start := p.pos
		depth := 0 // brackets inside an atom: BODY[HEADER.FIELDS (A B)]
	scan:
		for p.pos < len(p.b) {
			switch c := p.b[p.pos]; {
			case c == '[':
				depth++
			case c == ']':
				if depth == 0 {
					break scan
				}
				depth--
			case depth == 0 && (c == ' ' || c == '(' || c == ')'):
				break scan
			}
			p.pos++
		}
		if p.pos == start {
			return item{}, fmt.Errorf("%w: unexpected %q", errParse, p.b[p.pos])
		}
		a := string(p.b[start:p.pos])
		if strings.EqualFold(a, "NIL") {
			return item{isNil: true}, nil
		}
		return item{atom: a}, nil
	}
}
