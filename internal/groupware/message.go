package groupware

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Envelope is what the caller decides about the message around an item.
type Envelope struct {
	From      Person    // the mailbox owner; when empty a placeholder address is used, since RFC 5322 §3.6 requires From
	Date      time.Time // the message Date:, usually LastModified; when zero LastModified, then Created, is used
	MessageID string    // "<...>", deterministic, chosen by the caller; when empty one is derived from the UID
}

// placeholderFrom is the From: of messages whose owner is unknown. ".invalid" is reserved (RFC 2606 §2), so the
// address can never reach anyone, yet every parser accepts it.
const placeholderFrom = "mailshift@localhost.invalid"

// header is one message or part header field, unencoded: writeHeader encodes and folds it.
type header struct{ name, value string }

// mimePart is one body part of a multipart/mixed message. Its content is either text (written
// quoted-printable, so any UTF-8 and any line length survive 7-bit transport) or a stream (written base64).
type mimePart struct {
	contentType string
	typeParams  [][2]string
	disposition string // "attachment", "inline" or ""
	filename    string
	contentID   string // without angle brackets
	text        string
	open        func() (io.ReadCloser, error) // base64 content; used when non-nil
	what        string                        // names the part in errors
}

// message is a whole RFC 5322 message: its headers and one part (written as a single-part message) or several
// (written as multipart/mixed, RFC 2046 §5.1.3).
type message struct {
	headers  []header
	parts    []mimePart
	boundary string
}

// boundaryFor derives the multipart boundary from the message's identity, so that the same item always gives
// the same bytes. "=_" cannot occur in quoted-printable or base64 output (RFC 2045 §6.7, §6.8), so the
// boundary never collides with a part's content.
func boundaryFor(seed ...string) string {
	h := sha256.New()
	for _, s := range seed {
		io.WriteString(h, s)
		h.Write([]byte{0})
	}
	return "=_mailshift_" + hex.EncodeToString(h.Sum(nil))[:32]
}

// envelopeHeaders are the header fields every message starts with.
func envelopeHeaders(c *Common, env Envelope, subject string) []header {
	from := placeholderFrom
	if env.From.Email != "" {
		from = (&mail.Address{Name: oneLine(env.From.Name), Address: oneLine(env.From.Email)}).String()
	} else {
		from = "<" + from + ">"
	}
	date := env.Date
	if date.IsZero() {
		date = c.LastModified
	}
	if date.IsZero() {
		date = c.Created
	}
	if date.IsZero() {
		date = time.Unix(0, 0)
	}
	return []header{
		{"From", from},
		{"To", from},
		{"Date", date.Format(time.RFC1123Z)},
		{"Subject", subject},
		{"Message-ID", messageID(c, env)},
		{"MIME-Version", "1.0"},
	}
}

func messageID(c *Common, env Envelope) string {
	id := strings.TrimSpace(env.MessageID)
	if id == "" {
		sum := sha256.Sum256([]byte(c.UID))
		return "<" + hex.EncodeToString(sum[:16]) + "@mailshift.invalid>"
	}
	if !strings.HasPrefix(id, "<") {
		id = "<" + id + ">"
	}
	return id
}

// checkMessageID accepts "<left@right>" with dot-atom-like halves (RFC 5322 §3.6.4 msg-id), which every
// parser reads back unchanged.
func checkMessageID(id string) error {
	inner := strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	left, right, ok := strings.Cut(inner, "@")
	if !ok || left == "" || right == "" || strings.Contains(right, "@") || !isCIDSafe(left) || !isCIDSafe(right) ||
		len(inner)+2 != len(id) {
		return fmt.Errorf("envelope: Message-ID %q is not <left@right> (RFC 5322 §3.6.4)", id)
	}
	return nil
}

// attachmentParts turns the item's attachments into MIME parts and returns the Content-ID of each, which the
// groupware XML references (RFC 2392 cid: URLs). A missing Content-ID is derived from the UID and position.
func attachmentParts(c *Common) ([]mimePart, []string, error) {
	parts := make([]mimePart, 0, len(c.Attachments))
	cids := make([]string, 0, len(c.Attachments))
	for i, a := range c.Attachments {
		what := fmt.Sprintf("attachment %d (%q)", i+1, a.Filename)
		if a.Open == nil {
			return nil, nil, fmt.Errorf("%s: no content (Open is nil)", what)
		}
		cid := strings.Trim(strings.TrimSpace(a.ContentID), "<>")
		if cid == "" || !isCIDSafe(cid) {
			sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%s\x00%s", c.UID, i, a.Filename, cid)))
			cid = hex.EncodeToString(sum[:12]) + "@mailshift.invalid"
		}
		ct := strings.ToLower(strings.TrimSpace(a.MIMEType))
		if _, _, err := mime.ParseMediaType(ct); err != nil || !strings.Contains(ct, "/") {
			ct = "application/octet-stream"
		}
		name := oneLine(a.Filename)
		if name == "" {
			name = fmt.Sprintf("attachment-%d", i+1)
		}
		parts = append(parts, mimePart{
			contentType: ct, typeParams: [][2]string{{"name", name}},
			disposition: "attachment", filename: name, contentID: cid, open: a.Open, what: what,
		})
		cids = append(cids, cid)
	}
	return parts, cids, nil
}

// isCIDSafe reports whether a Content-ID can be used verbatim in a header and in a cid: URL: the dot-atom
// characters of RFC 5322 §3.2.3 plus "@".
func isCIDSafe(s string) bool {
	for _, r := range s {
		if r > 0x7e || r <= 0x20 || strings.ContainsRune(`()<>[]:;\,"%`, r) {
			return false
		}
	}
	return true
}

// write writes the message with CRLF line ends.
func (m *message) write(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	for _, h := range m.headers {
		writeHeader(bw, h.name, encodeHeaderValue(h))
	}
	if len(m.parts) == 1 {
		if err := m.parts[0].write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	writeHeader(bw, "Content-Type", formatMediaType("multipart/mixed", [][2]string{{"boundary", m.boundary}}))
	bw.WriteString("\r\nThis is a multi-part message in MIME format.\r\n")
	for i := range m.parts {
		bw.WriteString("\r\n--" + m.boundary + "\r\n")
		if err := m.parts[i].write(bw); err != nil {
			return err
		}
	}
	bw.WriteString("\r\n--" + m.boundary + "--\r\n")
	return bw.Flush()
}

// write writes the part's header fields, a blank line and its encoded content.
func (p *mimePart) write(bw *bufio.Writer) error {
	writeHeader(bw, "Content-Type", formatMediaType(p.contentType, p.typeParams))
	if p.disposition != "" {
		var params [][2]string
		if p.filename != "" {
			params = [][2]string{{"filename", p.filename}}
		}
		writeHeader(bw, "Content-Disposition", formatMediaType(p.disposition, params))
	}
	if p.contentID != "" {
		writeHeader(bw, "Content-ID", "<"+p.contentID+">")
	}
	if p.open == nil {
		writeHeader(bw, "Content-Transfer-Encoding", "quoted-printable")
		bw.WriteString("\r\n")
		qp := quotedprintable.NewWriter(bw)
		text := p.text
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		if _, err := io.WriteString(qp, text); err != nil {
			return err
		}
		return qp.Close()
	}
	writeHeader(bw, "Content-Transfer-Encoding", "base64")
	bw.WriteString("\r\n")
	rc, err := p.open()
	if err != nil {
		return fmt.Errorf("%s: open: %w", p.what, err)
	}
	defer rc.Close()
	lw := &lineWrapper{w: bw}
	enc := base64.NewEncoder(base64.StdEncoding, lw)
	if _, err := io.Copy(enc, rc); err != nil {
		return fmt.Errorf("%s: read: %w", p.what, err)
	}
	if err := enc.Close(); err != nil {
		return err
	}
	lw.end()
	return nil
}

// lineWrapper breaks base64 output into 76-character lines (RFC 2045 §6.8), so an attachment is streamed
// without being held in memory.
type lineWrapper struct {
	w   *bufio.Writer
	col int
}

func (l *lineWrapper) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		chunk := min(76-l.col, len(p))
		l.w.Write(p[:chunk])
		l.col += chunk
		p = p[chunk:]
		if l.col == 76 {
			l.w.WriteString("\r\n")
			l.col = 0
		}
	}
	return n, nil
}

func (l *lineWrapper) end() {
	if l.col > 0 {
		l.w.WriteString("\r\n")
		l.col = 0
	}
}

// encodeHeaderValue encodes unstructured header text (Subject) per RFC 2047 when it is not plain ASCII, or has
// a word too long for a header line at all; address, date and identifier fields are already ASCII. A long
// ASCII word such as a Kolab UID (Exchange UIDs run to 112 hex digits) stays as it is: Kolab clients match
// the Subject against the UID, and a line of up to 998 characters is valid (RFC 5322 §2.1.1).
func encodeHeaderValue(h header) string {
	v := oneLine(h.value)
	if h.name != "Subject" {
		return v
	}
	needs := false
	for _, word := range strings.Fields(v) {
		if len(word) > 900 || strings.HasPrefix(word, "=?") {
			needs = true
		}
	}
	for i := 0; i < len(v) && !needs; i++ {
		if v[i] >= utf8.RuneSelf || v[i] < 0x20 {
			needs = true
		}
	}
	if !needs {
		return v
	}
	return qEncodeWords(v, 60)
}

// qEncodeWords encodes s as "Q" encoded-words (RFC 2047 §4.2) of at most max characters each, never splitting
// a UTF-8 sequence, separated by spaces that writeHeader may fold at. Short words keep every folded line
// within the 76 characters §2 allows for lines holding encoded-words, the first one included.
func qEncodeWords(s string, max int) string {
	const prefix, suffix = "=?utf-8?q?", "?="
	var words []string
	var cur strings.Builder
	for _, r := range s {
		var enc string
		switch {
		case r == ' ':
			enc = "_"
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!*+-/", r)):
			enc = string(r)
		default:
			var buf [utf8.UTFMax]byte
			n := utf8.EncodeRune(buf[:], r)
			for _, c := range buf[:n] {
				enc += fmt.Sprintf("=%02X", c)
			}
		}
		if cur.Len() > 0 && len(prefix)+cur.Len()+len(enc)+len(suffix) > max {
			words = append(words, prefix+cur.String()+suffix)
			cur.Reset()
		}
		cur.WriteString(enc)
	}
	if cur.Len() > 0 {
		words = append(words, prefix+cur.String()+suffix)
	}
	return strings.Join(words, " ")
}

// writeHeader writes "Name: value" folded at spaces so no line exceeds 78 characters where a space allows
// (RFC 5322 §2.2.3).
func writeHeader(bw *bufio.Writer, name, value string) {
	line := name + ":"
	col := len(line)
	bw.WriteString(line)
	for i, word := range strings.Split(value, " ") {
		if word == "" && i > 0 {
			continue
		}
		if col+1+len(word) > 78 && col > len(name)+1 {
			bw.WriteString("\r\n")
			col = 0
		}
		bw.WriteString(" ")
		bw.WriteString(word)
		col += 1 + len(word)
	}
	bw.WriteString("\r\n")
}

// formatMediaType writes a Content-Type or Content-Disposition value with its parameters in the given order.
// A value that is not plain printable ASCII, or is long, is written in RFC 2231 form (§3 continuations, §4
// charset), which every current parser reads; other values are quoted strings (RFC 2045 §5.1).
func formatMediaType(v string, params [][2]string) string {
	var b strings.Builder
	b.WriteString(v)
	for _, p := range params {
		name, val := p[0], p[1]
		if isPlainParam(val) && len(val) <= 60 {
			b.WriteString("; " + name + "=\"" + val + "\"")
			continue
		}
		enc := rfc2231Escape(val)
		if len(enc) <= 60 {
			b.WriteString("; " + name + "*=utf-8''" + enc)
			continue
		}
		for i, n := 0, 0; i < len(enc); n++ {
			end := min(i+60, len(enc))
			for end < len(enc) && end > i+2 && (enc[end-1] == '%' || enc[end-2] == '%') {
				end-- // never split a %XX escape
			}
			prefix := ""
			if n == 0 {
				prefix = "utf-8''"
			}
			fmt.Fprintf(&b, "; %s*%d*=%s%s", name, n, prefix, enc[i:end])
			i = end
		}
	}
	return b.String()
}

func isPlainParam(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\' {
			return false
		}
	}
	return true
}

// rfc2231Escape percent-encodes everything but RFC 2045 token characters other than "%", "*" and "'".
func rfc2231Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > 0x20 && c < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?=%*'`, rune(c)) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func openBytes(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}
