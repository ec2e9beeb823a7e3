package convert

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"strconv"
	"strings"
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
	p.body = func(w *bufio.Writer) error { return writeQP(w, []byte(text)) }
	return p
}

// rawTextPart is a quoted-printable text part whose bytes are kept as stored, labelled with their charset.
func rawTextPart(subtype string, data []byte, charset string) *part {
	p := &part{mediaType: "text/" + subtype, params: map[string]string{"charset": charset}}
	p.add("Content-Transfer-Encoding", "quoted-printable")
	p.body = func(w *bufio.Writer) error { return writeQP(w, data) }
	return p
}

// writeQP writes quoted-printable with CRLF line ends: a lone LF or CR becomes a hard line break, which is
// what the stored text meant.
func writeQP(w *bufio.Writer, data []byte) error {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.ReplaceAll(s, "\n", "\r\n")
	qw := quotedprintable.NewWriter(w)
	if _, err := qw.Write([]byte(s)); err != nil {
		return err
	}
	if err := qw.Close(); err != nil {
		return err
	}
	_, err := w.WriteString("\r\n")
	return err
}

// writeBase64 streams r as base64 in 76-character lines.
func writeBase64(w *bufio.Writer, r io.Reader) (int64, error) {
	lw := &lineWriter{w: w}
	enc := base64.NewEncoder(base64.StdEncoding, lw)
	n, err := io.Copy(enc, r)
	if err != nil {
		return n, err
	}
	if err := enc.Close(); err != nil {
		return n, err
	}
	if lw.col > 0 {
		_, err = w.WriteString("\r\n")
	}
	return n, err
}

// lineWriter breaks base64 output into 76-character lines.
type lineWriter struct {
	w   *bufio.Writer
	col int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(76-l.col, len(p))
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
		p = p[k:]
		l.col += k
		if l.col == 76 {
			if _, err := l.w.WriteString("\r\n"); err != nil {
				return 0, err
			}
			l.col = 0
		}
	}
	return n, nil
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
