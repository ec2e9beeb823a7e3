package convert

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// part is one MIME entity of a message being written: a leaf with a body, or a multipart with children.
// The tree is built first and written afterwards, so the structure (alternative inside related inside mixed)
// is decided from what the item has, not from the order it is read in. Leaf bodies are written when the tree
// is written, so attachment data streams straight from the PST to the output.
type part struct {
	mediaType string            // "text/plain", "multipart/mixed", …
	params    map[string]string // Content-Type parameters (charset, name, …); boundary is added for multiparts
	fields    [][2]string       // further header fields, in order (Content-Transfer-Encoding, Content-ID, …)
	body      func(w *bufio.Writer) error
	children  []*part
}

func (p *part) isMultipart() bool { return strings.HasPrefix(p.mediaType, "multipart/") }

func (p *part) add(name, value string) { p.fields = append(p.fields, [2]string{name, value}) }

// write writes the entity, headers first. Boundaries come from the item identity and the part's position,
// so the bytes are the same every time.
func (p *part) write(w *bufio.Writer, id identity, pos string) error {
	params := p.params
	var b string
	if p.isMultipart() {
		b = id.boundary(pos)
		params = map[string]string{"boundary": b}
		for k, v := range p.params {
			params[k] = v
		}
	}
	ct := mime.FormatMediaType(p.mediaType, params)
	if ct == "" {
		return fmt.Errorf("content type %q with parameters %v cannot be written", p.mediaType, params)
	}
	writeField(w, "Content-Type", ct)
	for _, f := range p.fields {
		writeField(w, f[0], f[1])
	}
	w.WriteString("\r\n")
	if !p.isMultipart() {
		if p.body == nil {
			return nil
		}
		return p.body(w)
	}
	for i, c := range p.children {
		if i > 0 {
			w.WriteString("\r\n")
		}
		fmt.Fprintf(w, "--%s\r\n", b)
		if err := c.write(w, id, pos+"."+strconv.Itoa(i)); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\r\n--%s--\r\n", b)
	return nil
}

// textPart is a quoted-printable text part in UTF-8.
func textPart(subtype, text string) *part {
	p := &part{mediaType: "text/" + subtype, params: map[string]string{"charset": "utf-8"}}
	p.add("Content-Transfer-Encoding", "quoted-printable")
	p.body = func(w *bufio.Writer) error { return writeQP(w, text) }
	return p
}

// rawTextPart is a quoted-printable text part whose bytes are kept as stored, labelled with their charset.
func rawTextPart(subtype string, data []byte, charset string) *part {
	p := &part{mediaType: "text/" + subtype, params: map[string]string{"charset": charset}}
	p.add("Content-Transfer-Encoding", "quoted-printable")
	p.body = func(w *bufio.Writer) error { return writeQP(w, data) }
	return p
}

// base64LineBytes is the input of one 76-character base64 line.
const base64LineBytes = 57

// base64Chunks recycles the read buffers of writeBase64: a whole number of base64 lines.
var base64Chunks = sync.Pool{New: func() any { b := make([]byte, 512*base64LineBytes); return &b }}

// writeBase64 streams r as base64 in 76-character lines, each ended by CRLF.
func writeBase64(w *bufio.Writer, r io.Reader) (int64, error) {
	chunk := base64Chunks.Get().(*[]byte)
	defer base64Chunks.Put(chunk)
	buf := *chunk
	var total int64
	for {
		n, err := io.ReadFull(r, buf)
		total += int64(n)
		data := buf[:n]
		var out [78]byte // one encoded line and its CRLF
		for len(data) > 0 {
			line := data[:min(base64LineBytes, len(data))]
			k := base64.StdEncoding.EncodedLen(len(line))
			base64.StdEncoding.Encode(out[:k], line)
			out[k], out[k+1] = '\r', '\n'
			if _, werr := w.Write(out[:k+2]); werr != nil {
				return total, werr
			}
			data = data[len(line):]
		}
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return total, nil
		default:
			return total, err
		}
	}
}

// writeField writes one header field, folded at white space so lines stay near 78 characters (RFC 5322
// 2.2.3). A value with no white space to fold at is written as it is: it is still well below the 998
// limit for anything the conversion writes, except a stored transport header, which is copied unchanged.
func writeField(w *bufio.Writer, name, value string) {
	line := name + ": "
	col := len(line)
	w.WriteString(line)
	words := strings.Split(value, " ")
	for i, word := range words {
		if i > 0 {
			if col+1+len(word) > 78 && col > len(name)+2 {
				w.WriteString("\r\n ")
				col = 1
			} else {
				w.WriteString(" ")
				col++
			}
		}
		w.WriteString(word)
		col += len(word)
	}
	w.WriteString("\r\n")
}

// encodeText makes an unstructured header value (Subject, Comments): control characters become spaces,
// invalid UTF-8 is replaced, and anything beyond ASCII is RFC 2047 encoded.
func encodeText(s string) string {
	s = cleanHeaderText(s)
	return mime.QEncoding.Encode("utf-8", s)
}

// cleanHeaderText replaces what must not appear in a header: CR, LF and other controls, invalid UTF-8.
func cleanHeaderText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// dispositionWithFilename is a Content-Disposition value with an RFC 2231 filename (non-ASCII and long
// names are encoded by mime.FormatMediaType).
func dispositionWithFilename(disp, name string) string {
	if name == "" {
		return disp
	}
	if v := mime.FormatMediaType(disp, map[string]string{"filename": name}); v != "" {
		return v
	}
	return disp
}
