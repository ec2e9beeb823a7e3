package pst

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/pst/ltp"
)

// More property IDs for the RFC 5322 conversion.
const (
	propCreationTime = 0x3007
	propInReplyTo    = 0x1042
	propReferences   = 0x1039
)

// WriteEML writes the item as an RFC 5322 message with CRLF line ends: PR_TRANSPORT_MESSAGE_HEADERS when the
// item has them (less their MIME structure headers), else From/To/Cc/Subject/Date/Message-ID made from its
// properties; PR_BODY and PR_HTML as text/plain and text/html (multipart/alternative when both); attachments
// in base64 with RFC 2231 file names; embedded messages as message/rfc822, recursively. Attachment data is
// streamed, so memory does not grow with attachment size.
func (m *Message) WriteEML(w io.Writer) (err error) {
	defer recoverPanic("message", m.NID, &err)
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := m.writeEML(bw); err != nil {
		return err
	}
	return bw.Flush()
}

func (m *Message) writeEML(w *bufio.Writer) error {
	if err := m.writeHeaders(w); err != nil {
		return err
	}
	atts, err := m.Attachments()
	if err != nil {
		return err
	}
	var real []*Attachment
	for _, a := range atts {
		if a.Method != 0 {
			real = append(real, a)
		}
	}
	fmt.Fprintf(w, "MIME-Version: 1.0\r\n")
	if len(real) == 0 {
		return m.writeBody(w)
	}
	b := boundary()
	fmt.Fprintf(w, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", b)
	fmt.Fprintf(w, "This is a multi-part message in MIME format.\r\n")
	fmt.Fprintf(w, "\r\n--%s\r\n", b)
	if err := m.writeBody(w); err != nil {
		return err
	}
	for _, a := range real {
		fmt.Fprintf(w, "\r\n--%s\r\n", b)
		if err := a.writeEML(w); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\r\n--%s--\r\n", b)
	return nil
}

func boundary() string {
	var r [12]byte
	_, _ = rand.Read(r[:])
	return "=_mailshift_" + base64.RawURLEncoding.EncodeToString(r[:])
}

// dropHeaders are the transport headers replaced by the conversion's own MIME structure.
var dropHeaders = map[string]bool{"content-type": true, "content-transfer-encoding": true, "mime-version": true, "content-disposition": true, "content-id": true, "content-description": true}

func (m *Message) writeHeaders(w *bufio.Writer) error {
	if th := m.String(propTransportHeaders); strings.TrimSpace(th) != "" {
		if n := writeTransportHeaders(w, th); n > 0 {
			return nil
		}
	}
	from := formatAddress(m.String(propSentReprName), firstNonEmpty(m.String(propSenderSMTPAddress), m.String(propSentReprEmail), m.String(propSenderEmail)))
	if from == "" {
		from = formatAddress(m.String(propSenderName), m.String(propSenderEmail))
	}
	if from != "" {
		fmt.Fprintf(w, "From: %s\r\n", from)
	}
	rcpts, err := m.Recipients()
	if err != nil {
		return err
	}
	var to, cc []string
	for _, r := range rcpts {
		addr := r.SMTPAddress
		if addr == "" && (strings.EqualFold(r.AddressType, "SMTP") || strings.Contains(r.Address, "@")) {
			addr = r.Address
		}
		s := formatAddress(r.DisplayName, addr)
		if s == "" {
			continue
		}
		switch r.Type {
		case RecipientCc:
			cc = append(cc, s)
		case RecipientBcc:
			// Bcc recipients are not written into a delivered message's header.
		default:
			to = append(to, s)
		}
	}
	if len(to) > 0 {
		fmt.Fprintf(w, "To: %s\r\n", strings.Join(to, ",\r\n "))
	}
	if len(cc) > 0 {
		fmt.Fprintf(w, "Cc: %s\r\n", strings.Join(cc, ",\r\n "))
	}
	if m.Subject != "" {
		fmt.Fprintf(w, "Subject: %s\r\n", encodeHeader(m.Subject))
	}
	date := m.Time(propClientSubmitTime)
	if date.IsZero() {
		date = m.Time(propDeliveryTime)
	}
	if date.IsZero() {
		date = m.Time(propCreationTime)
	}
	if !date.IsZero() {
		fmt.Fprintf(w, "Date: %s\r\n", date.UTC().Format(time.RFC1123Z))
	}
	msgID := strings.TrimSpace(m.String(propInternetMessageID))
	if msgID == "" || strings.ContainsAny(msgID, "\r\n") {
		msgID = fmt.Sprintf("<%08x.%d.pst@mailshift.invalid>", uint32(m.NID), m.depth)
	}
	fmt.Fprintf(w, "Message-ID: %s\r\n", msgID)
	for _, h := range []struct {
		name string
		id   uint16
	}{{"In-Reply-To", propInReplyTo}, {"References", propReferences}} {
		if v := strings.TrimSpace(m.String(h.id)); v != "" && !strings.ContainsAny(v, "\r\n") {
			fmt.Fprintf(w, "%s: %s\r\n", h.name, v)
		}
	}
	if m.Class != "" && !strings.HasPrefix(m.Class, "IPM.Note") {
		fmt.Fprintf(w, "X-MS-Message-Class: %s\r\n", encodeHeader(m.Class))
	}
	return nil
}

// writeTransportHeaders copies the stored header block, unfolded into fields, without the MIME structure
// fields and without anything that is not a header field. It returns how many fields it wrote.
func writeTransportHeaders(w *bufio.Writer, th string) int {
	th = strings.ReplaceAll(th, "\r\n", "\n")
	lines := strings.Split(th, "\n")
	n := 0
	var field []string
	flush := func() {
		if len(field) == 0 {
			return
		}
		name, _, ok := strings.Cut(field[0], ":")
		if ok && validFieldName(name) && !dropHeaders[strings.ToLower(name)] {
			w.WriteString(strings.Join(field, "\r\n"))
			w.WriteString("\r\n")
			n++
		}
		field = field[:0]
	}
	for _, l := range lines {
		if l == "" {
			flush()
			break // end of the header block
		}
		if (l[0] == ' ' || l[0] == '\t') && len(field) > 0 {
			field = append(field, l)
			continue
		}
		flush()
		field = append(field, l)
	}
	flush()
	return n
}

func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			return x
		}
	}
	return ""
}

func encodeHeader(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	return mime.QEncoding.Encode("utf-8", s)
}

// formatAddress writes "Name <addr>"; with no usable address, only the quoted name.
func formatAddress(name, addr string) string {
	addr = strings.TrimSpace(addr)
	name = strings.TrimSpace(name)
	if addr != "" && strings.Contains(addr, "@") && !strings.ContainsAny(addr, " <>\r\n\"") {
		if name == addr {
			name = ""
		}
		return (&mail.Address{Name: name, Address: addr}).String()
	}
	if name == "" {
		name = addr
	}
	if name == "" {
		return ""
	}
	// No SMTP address (an Exchange DN, or none): keep the name, as an empty group so the field stays valid.
	return mime.QEncoding.Encode("utf-8", strings.ReplaceAll(strings.ReplaceAll(name, ":", " "), ";", " ")) + ":;"
}

// writeBody writes the text and HTML bodies as one MIME entity (headers included).
func (m *Message) writeBody(w *bufio.Writer) error {
	text, hasText := m.Get(propBody)
	html, hasHTML := m.Get(propHTML)
	switch {
	case hasText && hasHTML:
		b := boundary()
		fmt.Fprintf(w, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", b)
		fmt.Fprintf(w, "--%s\r\n", b)
		if err := m.writeTextPart(w, "text/plain", text); err != nil {
			return err
		}
		fmt.Fprintf(w, "\r\n--%s\r\n", b)
		if err := m.writeTextPart(w, "text/html", html); err != nil {
			return err
		}
		fmt.Fprintf(w, "\r\n--%s--\r\n", b)
		return nil
	case hasHTML:
		return m.writeTextPart(w, "text/html", html)
	case hasText:
		return m.writeTextPart(w, "text/plain", text)
	}
	fmt.Fprintf(w, "Content-Type: text/plain; charset=utf-8\r\n\r\n")
	return nil
}

// writeTextPart writes one quoted-printable text part. String values are decoded to UTF-8; a binary HTML body
// is written as stored and labelled with the item's code page.
func (m *Message) writeTextPart(w *bufio.Writer, ctype string, v ltp.Value) error {
	var data []byte
	charset := "utf-8"
	if v.Type == ltp.PtypBinary {
		// A binary PR_HTML is in the internet code page the item travelled in (PR_INTERNET_CPID).
		data = bytesValue(v)
		cp := int(m.Int(propInternetCPID))
		if cp == 0 {
			cp = m.CodePage
		}
		if cs := charsetName(cp); cs != "" {
			charset = cs
		}
	} else {
		data = []byte(stringValue(v, m.CodePage))
	}
	fmt.Fprintf(w, "Content-Type: %s; charset=%s\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", ctype, charset)
	qw := quotedprintable.NewWriter(w)
	// Normalise line ends to CRLF: quoted-printable keeps CRLF as hard line breaks.
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\n", "\r\n")
	if _, err := qw.Write([]byte(s)); err != nil {
		return err
	}
	if err := qw.Close(); err != nil {
		return err
	}
	w.WriteString("\r\n")
	return nil
}

// charsetName is the MIME charset for a Windows code page, "" when unknown.
func charsetName(cp int) string {
	switch cp {
	case 65001:
		return "utf-8"
	case 20127:
		return "us-ascii"
	case 28591:
		return "iso-8859-1"
	case 28592:
		return "iso-8859-2"
	case 28605:
		return "iso-8859-15"
	case 932:
		return "shift_jis"
	case 936:
		return "gb2312"
	case 949:
		return "ks_c_5601-1987"
	case 950:
		return "big5"
	case 50220:
		return "iso-2022-jp"
	case 51932:
		return "euc-jp"
	case 20866:
		return "koi8-r"
	case 1200:
		return "utf-16le"
	}
	if cp >= 1250 && cp <= 1258 {
		return fmt.Sprintf("windows-%d", cp)
	}
	return ""
}

// writeEML writes one attachment as a MIME part.
func (a *Attachment) writeEML(w *bufio.Writer) error {
	if a.Method == AttachEmbedded {
		em, err := a.Embedded()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "Content-Type: message/rfc822\r\n")
		if a.Filename != "" {
			fmt.Fprintf(w, "Content-Disposition: %s\r\n", mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename}))
		} else {
			fmt.Fprintf(w, "Content-Disposition: attachment\r\n")
		}
		w.WriteString("\r\n")
		return em.writeEML(w)
	}
	ctype := strings.ToLower(strings.TrimSpace(a.MIMEType))
	if _, _, err := mime.ParseMediaType(ctype); err != nil || ctype == "" || strings.HasPrefix(ctype, "multipart/") {
		ctype = "application/octet-stream"
	}
	name := a.Filename
	if name == "" {
		name = fmt.Sprintf("attachment-%x", uint32(a.NID))
	}
	ct := mime.FormatMediaType(ctype, map[string]string{"name": name})
	if ct == "" {
		ct = "application/octet-stream"
	}
	disp := "attachment"
	if a.ContentID != "" && a.Hidden {
		disp = "inline"
	}
	fmt.Fprintf(w, "Content-Type: %s\r\n", ct)
	fmt.Fprintf(w, "Content-Transfer-Encoding: base64\r\n")
	if d := mime.FormatMediaType(disp, map[string]string{"filename": name}); d != "" {
		fmt.Fprintf(w, "Content-Disposition: %s\r\n", d)
	} else {
		fmt.Fprintf(w, "Content-Disposition: %s\r\n", disp)
	}
	if cid := strings.Trim(strings.TrimSpace(a.ContentID), "<>"); cid != "" && !strings.ContainsAny(cid, "\r\n<>") {
		fmt.Fprintf(w, "Content-ID: <%s>\r\n", cid)
	}
	w.WriteString("\r\n")
	if a.Method != AttachByValue {
		// OLE objects and references have no plain data to carry; the part stays empty.
		if v, ok := a.Get(propAttachDataBin); !ok || v.Type != ltp.PtypBinary {
			return nil
		}
	}
	rc, err := a.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	lw := &lineWriter{w: w}
	enc := base64.NewEncoder(base64.StdEncoding, lw)
	if _, err := io.Copy(enc, rc); err != nil {
		return fmt.Errorf("attachment %q: %w", name, err)
	}
	if err := enc.Close(); err != nil {
		return err
	}
	if lw.col > 0 {
		w.WriteString("\r\n")
	}
	return nil
}

// lineWriter breaks base64 output into 76-character lines.
type lineWriter struct {
	w   *bufio.Writer
	col int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := 76 - l.col
		if k > len(p) {
			k = len(p)
		}
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
