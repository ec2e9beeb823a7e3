package imapbulk

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unsafe"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// The response reader is a small tokenizer for the server side of RFC 3501
// / RFC 9051 §9 (formal syntax). It reads one response at a time straight
// from the connection's bufio.Reader, so that a FETCH of a whole folder is
// processed as it arrives and a BODY[] literal can be copied to the caller's
// writer without being held in memory. Every limit below exists because the
// input is untrusted: a broken or hostile server must produce an error, not
// a panic or an unbounded allocation.

const (
	// maxResponseText bounds the bytes of one response outside its
	// literals (a UID SEARCH of a very large folder is the longest
	// legitimate line): the bound imapsession puts on whole responses.
	maxResponseText = imapconn.MaxResponseBytes
	// maxLiteral is the largest literal accepted at all (RFC 7889 servers
	// advertise limits far below this).
	maxLiteral = 1 << 30
	// maxMemoryLiteral is the largest literal read into memory; larger ones
	// must be streamed to a writer (BODY[] in FetchMessage).
	maxMemoryLiteral = 32 << 20
	// maxDepth bounds nested parenthesised lists.
	maxDepth = 64
	// copyBufferSize is the buffer used to stream literals.
	copyBufferSize = 32 << 10
	// valueCost is what each parsed value costs against maxResponseText on top of its bytes: its size in
	// memory. Without it a line of one-character atoms ("1 1 1 ...") would cost 2 bytes of text and 64 of
	// memory each, and a 16 MiB response would hold the client to over 1 GiB. Legitimate responses with
	// many values are UID SEARCH results, which are read as numbers (see readSearchToEOL), not values.
	valueCost = int(unsafe.Sizeof(value{}))
)

// valueKind says what a value is.
type valueKind uint8

const (
	kindAtom     valueKind = iota + 1 // atom or number (also NIL, see isNil)
	kindString                        // quoted string or literal read into memory
	kindList                          // parenthesised list
	kindStreamed                      // literal copied to a writer
)

// value is one parsed item of a response.
type value struct {
	kind  valueKind
	text  string  // atom text, or string contents
	list  []value // kindList
	size  int64   // kindStreamed: bytes copied
	isLit bool    // kindString: came as a literal
}

func (v value) isNil() bool { return v.kind == kindAtom && strings.EqualFold(v.text, "NIL") }

// str returns the value as a string (atom or string), "" for NIL and lists.
func (v value) str() string {
	if v.kind == kindAtom && v.isNil() {
		return ""
	}
	if v.kind == kindAtom || v.kind == kindString {
		return v.text
	}
	return ""
}

func (v value) number() (uint64, bool) {
	if v.kind != kindAtom || v.text == "" || len(v.text) > 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(v.text, 10, 64)
	return n, err == nil
}

// response is one server response.
type response struct {
	// tag is "*" for untagged data and status, "+" for a continuation
	// request, otherwise the command tag.
	tag string

	// Status responses (tagged, or untagged OK/NO/BAD/BYE/PREAUTH).
	status string // upper case; "" for data responses
	code   string // response code name, upper case, e.g. "APPENDUID"; ""
	args   string // the response code's arguments, raw
	text   string // human-readable text after the code

	// Untagged data: "* 12 FETCH (...)" has num 12, hasNum, kind FETCH;
	// "* LIST (...) "/" INBOX" has kind LIST and the rest in fields.
	num    uint32
	hasNum bool
	kind   string
	fields []value
	// nums are the numbers of a SEARCH response ("* SEARCH 2 3 5"), kept
	// as four bytes each; its other items (a trailing "(MODSEQ n)", RFC
	// 7162 §3.1.5) are in fields.
	nums []uint32
}

// literalSink decides where a literal goes: given the atom that preceded it
// in its list (e.g. "BODY[]") and its size, it returns a writer to stream it
// to, or nil to read it into memory.
type literalSink func(key string, size int64) io.Writer

// parser reads responses from br.
type parser struct {
	br     *bufio.Reader
	budget int         // response text bytes still allowed
	sink   literalSink // may be nil
	buf    []byte      // copy buffer for streamed literals
}

func newParser(br *bufio.Reader) *parser { return &parser{br: br} }

// bufferedTag is the tag of the next response when the whole of its first line has already been read from the
// connection; it never waits for the network.
func (p *parser) bufferedTag() (string, bool) {
	b, _ := p.br.Peek(p.br.Buffered())
	line, _, complete := bytes.Cut(b, []byte("\n"))
	if !complete {
		return "", false
	}
	tag, _, _ := bytes.Cut(bytes.TrimRight(line, "\r"), []byte(" "))
	if len(tag) == 0 {
		return "", false
	}
	return string(tag), true
}

// errProtocol marks a malformed response. After it the stream position is
// unknown and the connection must not be used any more.
var errProtocol = errors.New("malformed server response")

func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errProtocol, fmt.Sprintf(format, args...))
}

// readResponse reads one complete response, including all its literals.
func (p *parser) readResponse() (*response, error) {
	p.budget = maxResponseText
	first, err := p.peek()
	if err != nil {
		return nil, err
	}
	r := &response{}
	switch first {
	case '+':
		p.br.ReadByte()
		p.budget--
		r.tag = "+"
		// "+" [SP text]: the text may be a base64 SASL challenge.
		if b, _ := p.peek(); b == ' ' {
			p.br.ReadByte()
		}
		r.text, err = p.readRestOfLine()
		return r, err
	case '*':
		p.br.ReadByte()
		p.budget--
		r.tag = "*"
	default:
		tag, err := p.readAtom()
		if err != nil {
			return nil, err
		}
		r.tag = tag
	}
	if err := p.expect(' '); err != nil {
		return nil, err
	}
	word, err := p.readAtom()
	if err != nil {
		return nil, err
	}
	if r.tag == "*" {
		if n, perr := strconv.ParseUint(word, 10, 32); perr == nil {
			// "* n EXISTS", "* n EXPUNGE", "* n FETCH (...)".
			r.num, r.hasNum = uint32(n), true
			if err := p.expect(' '); err != nil {
				return nil, err
			}
			if word, err = p.readAtom(); err != nil {
				return nil, err
			}
			r.kind = strings.ToUpper(word)
			r.fields, err = p.readValuesToEOL()
			return r, err
		}
	}
	switch up := strings.ToUpper(word); up {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
		r.status = up
		if err := p.readRespText(r); err != nil {
			return nil, err
		}
		return r, nil
	default:
		if r.tag != "*" {
			return nil, protoErr("tagged response %q is not OK, NO or BAD", truncate(word))
		}
		r.kind = up
		if up == "SEARCH" {
			r.nums, r.fields, err = p.readSearchToEOL()
			return r, err
		}
		r.fields, err = p.readValuesToEOL()
		return r, err
	}
}

// readSearchToEOL reads the rest of a SEARCH response: numbers (a folder's UIDs, possibly millions of
// them, bounded by maxResponseText like any text) into nums, anything else as values.
func (p *parser) readSearchToEOL() (nums []uint32, rest []value, err error) {
	for {
		if err := p.skipSpaces(); err != nil {
			return nil, nil, err
		}
		eol, err := p.endOfLine()
		if err != nil {
			return nil, nil, err
		}
		if eol {
			return nums, rest, nil
		}
		if b, _ := p.peek(); b >= '0' && b <= '9' {
			a, err := p.readAtom()
			if err != nil {
				return nil, nil, err
			}
			// Anything that is not a message number (0, beyond 32 bits) is skipped, as a lenient reader
			// would; its bytes counted against the limit all the same.
			if n, perr := strconv.ParseUint(a, 10, 32); perr == nil && n > 0 {
				nums = append(nums, uint32(n))
			}
			continue
		}
		v, err := p.readValue(0, rest)
		if err != nil {
			return nil, nil, err
		}
		if err := p.take(valueCost); err != nil {
			return nil, nil, err
		}
		rest = append(rest, v)
	}
}

// readRespText parses resp-text: ["[" resp-text-code "]" SP] text.
func (p *parser) readRespText(r *response) error {
	if b, err := p.peek(); err != nil {
		return err
	} else if b == ' ' {
		p.br.ReadByte()
		p.budget--
	}
	line, err := p.readRestOfLine()
	if err != nil {
		return err
	}
	r.code, r.args, r.text = splitRespCode(line)
	return nil
}

// splitRespCode splits "[CODE args] text" into its parts.
func splitRespCode(line string) (code, args, text string) {
	if !strings.HasPrefix(line, "[") {
		return "", "", line
	}
	end := strings.IndexByte(line, ']')
	if end < 0 {
		return "", "", line
	}
	inner := line[1:end]
	text = strings.TrimPrefix(line[end+1:], " ")
	code, args, _ = strings.Cut(inner, " ")
	return strings.ToUpper(code), args, text
}

func (p *parser) peek() (byte, error) {
	b, err := p.br.Peek(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (p *parser) take(n int) error {
	p.budget -= n
	if p.budget < 0 {
		return protoErr("response longer than %d bytes", maxResponseText)
	}
	return nil
}

func (p *parser) expect(want byte) error {
	b, err := p.br.ReadByte()
	if err != nil {
		return err
	}
	if err := p.take(1); err != nil {
		return err
	}
	if b != want {
		return protoErr("expected %q, got %q", want, b)
	}
	return nil
}

// readRestOfLine reads up to CRLF (a bare LF is tolerated) and returns the
// text without it.
func (p *parser) readRestOfLine() (string, error) {
	var sb []byte
	for {
		frag, err := p.br.ReadSlice('\n')
		if err := p.take(len(frag)); err != nil {
			return "", err
		}
		sb = append(sb, frag...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", unexpectedEOF(err)
		}
	}
	sb = bytes.TrimSuffix(sb, []byte("\n"))
	sb = bytes.TrimSuffix(sb, []byte("\r"))
	return string(sb), nil
}

// endOfLine consumes CRLF (or LF) if it is next and reports whether it was.
func (p *parser) endOfLine() (bool, error) {
	b, err := p.peek()
	if err != nil {
		return false, unexpectedEOF(err)
	}
	switch b {
	case '\n':
		p.br.ReadByte()
		return true, nil
	case '\r':
		p.br.ReadByte()
		if err := p.expect('\n'); err != nil {
			return false, unexpectedEOF(err)
		}
		return true, nil
	}
	return false, nil
}

func (p *parser) skipSpaces() error {
	for {
		b, err := p.peek()
		if err != nil {
			return unexpectedEOF(err)
		}
		if b != ' ' {
			return nil
		}
		p.br.ReadByte()
		if err := p.take(1); err != nil {
			return err
		}
	}
}

// readValuesToEOL reads values up to the end of the line.
func (p *parser) readValuesToEOL() ([]value, error) {
	var out []value
	for {
		if err := p.skipSpaces(); err != nil {
			return nil, err
		}
		eol, err := p.endOfLine()
		if err != nil {
			return nil, err
		}
		if eol {
			return out, nil
		}
		v, err := p.readValue(0, out)
		if err != nil {
			return nil, err
		}
		if err := p.take(valueCost); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// readValue reads one value. prev are the values before it in the same
// list: the last one names a literal for the sink.
func (p *parser) readValue(depth int, prev []value) (value, error) {
	b, err := p.peek()
	if err != nil {
		return value{}, unexpectedEOF(err)
	}
	switch b {
	case '(':
		return p.readList(depth + 1)
	case ')':
		return value{}, protoErr("unexpected ')'")
	case '"':
		s, err := p.readQuoted()
		return value{kind: kindString, text: s}, err
	case '{', '~':
		key := ""
		if n := len(prev); n > 0 && prev[n-1].kind == kindAtom {
			key = prev[n-1].text
		}
		return p.readLiteral(key)
	}
	a, err := p.readAtom()
	return value{kind: kindAtom, text: a}, err
}

func (p *parser) readList(depth int) (value, error) {
	if depth > maxDepth {
		return value{}, protoErr("lists nested deeper than %d", maxDepth)
	}
	if err := p.expect('('); err != nil {
		return value{}, err
	}
	var items []value
	for {
		if err := p.skipSpaces(); err != nil {
			return value{}, err
		}
		b, err := p.peek()
		if err != nil {
			return value{}, unexpectedEOF(err)
		}
		switch b {
		case ')':
			p.br.ReadByte()
			return value{kind: kindList, list: items}, p.take(1)
		case '\r', '\n':
			return value{}, protoErr("unterminated list")
		}
		v, err := p.readValue(depth, items)
		if err != nil {
			return value{}, err
		}
		if err := p.take(valueCost); err != nil {
			return value{}, err
		}
		items = append(items, v)
	}
}

// readAtom reads an atom, a number or a flag. A "[" starts a section that
// runs to the matching "]" and may contain spaces and parentheses, as in
// BODY[HEADER.FIELDS (DATE FROM)]<0>; the whole is one atom.
func (p *parser) readAtom() (string, error) {
	var sb []byte
	inSection := false
	for {
		b, err := p.peek()
		if err != nil {
			return "", unexpectedEOF(err)
		}
		if b == '\r' || b == '\n' {
			if inSection {
				return "", protoErr("unterminated section")
			}
			break
		}
		if !inSection && (b == ' ' || b == '(' || b == ')' || b == '"' || b == '{') {
			break
		}
		if b < 0x20 || b == 0x7f {
			return "", protoErr("control character 0x%02x in atom", b)
		}
		switch b {
		case '[':
			if inSection {
				return "", protoErr("nested '[' in section")
			}
			inSection = true
		case ']':
			inSection = false
		}
		p.br.ReadByte()
		if err := p.take(1); err != nil {
			return "", err
		}
		sb = append(sb, b)
	}
	if len(sb) == 0 {
		b, _ := p.peek()
		return "", protoErr("expected an atom, got %q", b)
	}
	return string(sb), nil
}

// readQuoted reads a quoted string with backslash escapes (RFC 9051 §9,
// quoted-specials). CR and LF are not allowed inside.
func (p *parser) readQuoted() (string, error) {
	if err := p.expect('"'); err != nil {
		return "", err
	}
	var sb []byte
	for {
		b, err := p.br.ReadByte()
		if err != nil {
			return "", unexpectedEOF(err)
		}
		if err := p.take(1); err != nil {
			return "", err
		}
		switch b {
		case '"':
			return string(sb), nil
		case '\\':
			e, err := p.br.ReadByte()
			if err != nil {
				return "", unexpectedEOF(err)
			}
			if err := p.take(1); err != nil {
				return "", err
			}
			if e == '\r' || e == '\n' {
				return "", protoErr("line break in quoted string")
			}
			sb = append(sb, e) // lenient: "\x" is x
		case '\r', '\n':
			return "", protoErr("line break in quoted string")
		default:
			sb = append(sb, b)
		}
	}
}

// readLiteral reads {n}CRLF, {n+}CRLF or ~{n}CRLF (RFC 3516 literal8) and
// the n bytes after it.
func (p *parser) readLiteral(key string) (value, error) {
	b, _ := p.peek()
	if b == '~' {
		p.br.ReadByte()
		if err := p.take(1); err != nil {
			return value{}, err
		}
	}
	if err := p.expect('{'); err != nil {
		return value{}, err
	}
	var n int64
	digits := 0
	for {
		b, err := p.br.ReadByte()
		if err != nil {
			return value{}, unexpectedEOF(err)
		}
		if err := p.take(1); err != nil {
			return value{}, err
		}
		if b >= '0' && b <= '9' {
			digits++
			n = n*10 + int64(b-'0')
			if n > maxLiteral {
				return value{}, protoErr("literal larger than %d bytes", maxLiteral)
			}
			continue
		}
		if b == '+' || b == '-' {
			if err := p.expect('}'); err != nil {
				return value{}, err
			}
		} else if b != '}' {
			return value{}, protoErr("bad literal length")
		}
		break
	}
	if digits == 0 {
		return value{}, protoErr("literal without a length")
	}
	if eol, err := p.endOfLine(); err != nil {
		return value{}, err
	} else if !eol {
		return value{}, protoErr("literal length not followed by CRLF")
	}
	if p.sink != nil {
		if w := p.sink(strings.ToUpper(key), n); w != nil {
			if p.buf == nil {
				p.buf = make([]byte, copyBufferSize)
			}
			copied, err := io.CopyBuffer(w, io.LimitReader(p.br, n), p.buf)
			if err == nil && copied < n {
				err = io.ErrUnexpectedEOF
			}
			return value{kind: kindStreamed, size: copied}, err
		}
	}
	if n > maxMemoryLiteral {
		return value{}, protoErr("literal of %d bytes where at most %d were expected", n, maxMemoryLiteral)
	}
	// Read gradually: the announced size is untrusted.
	data, err := io.ReadAll(io.LimitReader(p.br, n))
	if err != nil {
		return value{}, err
	}
	if int64(len(data)) < n {
		return value{}, io.ErrUnexpectedEOF
	}
	return value{kind: kindString, text: string(data), isLit: true}, nil
}

// unexpectedEOF turns io.EOF in the middle of a response into
// io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
