package convert

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"mime"
	"path"
	"strings"

	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/pst"
	"github.com/mailshift/mailshift/internal/pst/ltp"
	"github.com/mailshift/mailshift/internal/rtf"
)

// writeMail writes m as an RFC 5322 message: header, then the MIME tree of bodies and attachments.
func (c *Converter) writeMail(w *bufio.Writer, m *pst.Message, id identity, res *Result, top bool) error {
	forceID := ""
	if top && ItemKind(m.Class) != groupware.KindMail {
		forceID = id.messageID()
	}
	msgID := c.writeHeaders(w, m, id, forceID)
	if top {
		res.MessageID = msgID
	}
	root, err := c.mailTree(m, id, res)
	if err != nil {
		return err
	}
	w.WriteString("MIME-Version: 1.0\r\n")
	return root.write(w, id, "0")
}

// bodies are the forms of an item's body that exist: the plain text, the HTML (as stored, in its charset),
// and real RTF (not an HTML or text body Outlook encapsulated in RTF, which is de-encapsulated instead).
type bodies struct {
	text        string
	hasText     bool
	html        []byte
	htmlCharset string
	rtf         []byte
}

// readBodies gathers the bodies: PR_BODY, PR_HTML, and PR_RTF_COMPRESSED decompressed ([MS-OXRTFCP]). An HTML
// or text body encapsulated in RTF ([MS-OXRTFEX]) stands in for a missing PR_HTML or PR_BODY; real RTF is kept
// as RTF, and its text stands in for a missing PR_BODY.
func (c *Converter) readBodies(m *pst.Message, res *Result) bodies {
	p := props{m}
	var b bodies
	if v, ok := m.Get(tagBody); ok {
		if s, err := v.String(m.CodePage); err == nil {
			b.text, b.hasText = s, true
		}
	}
	if v, ok := m.Get(tagHTML); ok {
		if v.Type == ltp.PtypBinary {
			// A binary PR_HTML is in the internet code page the item travelled in (PR_INTERNET_CPID).
			b.html, _ = v.Bytes()
			cp, _ := p.int(tagInternetCPID)
			if cp == 0 {
				cp = int64(m.CodePage)
			}
			b.htmlCharset = charsetName(int(cp))
			if b.htmlCharset == "" {
				b.htmlCharset = "utf-8"
			}
		} else if s, err := v.String(m.CodePage); err == nil {
			b.html, b.htmlCharset = []byte(s), "utf-8"
		}
	}
	if b.html != nil && b.hasText {
		// The RTF body could only stand in for these two; it is not even read.
		return b
	}
	return b.withRTF(p.bytes(tagRTFCompressed), res)
}

// withRTF adds what the compressed RTF body gives to the bodies already found.
func (b bodies) withRTF(compressed []byte, res *Result) bodies {
	if len(compressed) == 0 {
		return b
	}
	raw, err := rtf.Decompress(compressed)
	if err != nil {
		if b.html == nil && !b.hasText {
			res.warn("RTF body could not be decompressed (%v); the item has no other body", err)
		}
		return b
	}
	body, err := rtf.Deencapsulate(raw)
	switch {
	case err == nil && body.Kind == rtf.HTML:
		if b.html == nil {
			b.html, b.htmlCharset = []byte(body.Text), "utf-8"
		}
	case err == nil:
		if !b.hasText {
			b.text, b.hasText = body.Text, true
		}
	case errors.Is(err, rtf.ErrNotEncapsulated):
		if b.html == nil {
			b.rtf = raw
		}
		if !b.hasText {
			if t, err := rtf.ToText(raw); err == nil {
				b.text, b.hasText = t, true
			}
		}
	default:
		if b.html == nil && !b.hasText {
			b.rtf = raw
			res.warn("RTF body kept as RTF: %v", err)
		}
	}
	return b
}

// mailTree builds the MIME structure:
//
//	multipart/mixed                  when there are attachments
//	  multipart/alternative          when there are several bodies
//	    text/plain
//	    multipart/related            when the HTML shows inline images
//	      text/html
//	      image/…                    the inline images, by Content-ID or Content-Location
//	    text/rtf                     real RTF, when there is no HTML
//	  …attachments
func (c *Converter) mailTree(m *pst.Message, id identity, res *Result) (*part, error) {
	b := c.readBodies(m, res)
	atts, err := m.Attachments()
	if err != nil {
		// The attachment table itself is unreadable: say so in the message and in the report.
		res.warn("attachments could not be read: %v", err)
	}
	var alts []*part
	if b.hasText || (b.html == nil && b.rtf == nil) {
		alts = append(alts, textPart("plain", b.text))
	}
	// Each attachment keeps its position in the attachment table: it names an embedded message's identity
	// and an unnamed file, wherever the part ends up in the tree.
	type indexed struct {
		a *pst.Attachment
		i int
	}
	var inline, attached []indexed
	for i, a := range atts {
		if b.html != nil && isInline(a, b.html) {
			inline = append(inline, indexed{a, i})
		} else {
			attached = append(attached, indexed{a, i})
		}
	}
	if b.html != nil {
		html := rawTextPart("html", b.html, b.htmlCharset)
		if len(inline) > 0 {
			rel := &part{mediaType: "multipart/related", params: map[string]string{"type": "text/html"}, children: []*part{html}}
			for _, x := range inline {
				ap, err := c.attachmentPart(x.a, id, res, x.i, true)
				if err != nil {
					return nil, err
				}
				if ap != nil {
					rel.children = append(rel.children, ap)
				}
			}
			html = rel
		}
		alts = append(alts, html)
	}
	if b.rtf != nil {
		alts = append(alts, rtfPart(b.rtf))
	}
	if cal := c.meetingPart(m, id, res); cal != nil {
		alts = append(alts, cal)
	}
	body := alts[0]
	if len(alts) > 1 {
		body = &part{mediaType: "multipart/alternative", children: alts}
	}
	mixed := &part{mediaType: "multipart/mixed", children: []*part{body}}
	for _, x := range attached {
		ap, err := c.attachmentPart(x.a, id, res, x.i, false)
		if err != nil {
			return nil, err
		}
		if ap != nil {
			mixed.children = append(mixed.children, ap)
		}
	}
	if len(mixed.children) == 1 {
		return body, nil
	}
	return mixed, nil
}

// iTIP methods of meeting messages by class ([MS-OXCICAL] 2.1.3.1.1.19).
var meetingMethods = map[string]string{
	"IPM.SCHEDULE.MEETING.REQUEST":   "REQUEST",
	"IPM.SCHEDULE.MEETING.CANCELED":  "CANCEL",
	"IPM.SCHEDULE.MEETING.RESP.POS":  "REPLY",
	"IPM.SCHEDULE.MEETING.RESP.NEG":  "REPLY",
	"IPM.SCHEDULE.MEETING.RESP.TENT": "REPLY",
}

// meetingPart is the text/calendar alternative of a meeting request, cancellation or response, made from the
// appointment properties the message carries, so the receiving client can act on it as Outlook did.
func (c *Converter) meetingPart(m *pst.Message, id identity, res *Result) *part {
	method, ok := meetingMethods[strings.ToUpper(m.Class)]
	if !ok {
		return nil
	}
	sub := &Result{}
	item, err := c.event(m, id, sub)
	var ics string
	if err == nil {
		ev := item.(*groupware.Event)
		ev.Attachments = nil // the mail carries them already
		ics, err = groupware.EventICalendar(ev, method)
	}
	if err != nil {
		res.warn("meeting %s has no calendar part: %v", strings.ToLower(method), err)
		return nil
	}
	for _, w := range sub.Warnings {
		res.warn("calendar part: %s", w)
	}
	p := &part{mediaType: "text/calendar", params: map[string]string{"charset": "utf-8", "method": method}}
	p.add("Content-Transfer-Encoding", "quoted-printable")
	p.body = func(w *bufio.Writer) error { return writeQP(w, ics) }
	return p
}

func rtfPart(data []byte) *part {
	p := &part{mediaType: "text/rtf"}
	p.add("Content-Transfer-Encoding", "quoted-printable")
	p.body = func(w *bufio.Writer) error { return writeQP(w, data) }
	return p
}

// PR_ATTACH_FLAGS bit: the attachment is referenced from the HTML body ([MS-OXCMSG] 2.2.2.18).
const attMHTMLRef = 0x4

var cidRef = lazyRegexp(`(?i)cid:([^"'\s>)]+)`)

// isInline reports whether the HTML body shows the attachment: it refers to its Content-ID or
// Content-Location, or Outlook marked it as referenced by the HTML.
func isInline(a *pst.Attachment, html []byte) bool {
	if a.Method != pst.AttachByValue {
		return false
	}
	if cid := strings.Trim(strings.TrimSpace(a.ContentID), "<>"); cid != "" {
		for _, m := range cidRef().FindAllSubmatch(html, -1) {
			if strings.EqualFold(string(m[1]), cid) {
				return true
			}
		}
	}
	if loc := attachString(a, tagAttachContentLocation); loc != "" && bytes.Contains(html, []byte(loc)) {
		return true
	}
	if v, ok := a.Get(tagAttachFlags); ok {
		if n, err := v.Int(); err == nil && n&attMHTMLRef != 0 && a.ContentID != "" {
			return true
		}
	}
	return false
}

func attachString(a *pst.Attachment, id uint16) string {
	v, ok := a.Get(id)
	if !ok {
		return ""
	}
	s, err := v.String(1252)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.TrimRight(s, "\x00"))
}

// attachmentPart makes the MIME part of one attachment; nil for a row that holds no attachment at all.
// index is the attachment's position in the tree, which names an embedded message's identity; inline says
// whether the HTML body shows it.
func (c *Converter) attachmentPart(a *pst.Attachment, id identity, res *Result, index int, inline bool) (*part, error) {
	name := a.Filename
	switch a.Method {
	case pst.AttachEmbedded:
		em, err := a.Embedded()
		if err != nil {
			return nil, fmt.Errorf("embedded message %q: %w", name, err)
		}
		p := &part{mediaType: "message/rfc822"}
		if name == "" {
			name = em.Subject
		}
		p.add("Content-Disposition", dispositionWithFilename("attachment", sanitizeFilename(name, "message")+emlSuffix(name)))
		sub := id.embedded(index)
		p.body = func(w *bufio.Writer) error {
			return c.writeMail(w, em, sub, res, false)
		}
		return p, nil
	case pst.AttachByValue, pst.AttachOLE, 0:
		if a.Method == 0 {
			if v, ok := a.Get(tagAttachDataBin); !ok || v.Type != ltp.PtypBinary {
				return nil, nil // an empty row: Outlook writes these for nothing
			}
		}
		open := a.Open
		ctype := attachmentType(a)
		if a.Method == pst.AttachOLE {
			// An OLE object (an embedded document or picture) is kept as its data: its compound-file storage.
			open = a.OpenObject
			ctype = "application/octet-stream"
			if name == "" {
				name = "object.ole"
			}
			res.warn("OLE object %q kept as its raw data", name)
		}
		name = sanitizeFilename(name, fmt.Sprintf("attachment-%d", index+1))
		p := &part{mediaType: ctype, params: map[string]string{"name": name}}
		p.add("Content-Transfer-Encoding", "base64")
		disp := "attachment"
		cid := strings.Trim(strings.TrimSpace(a.ContentID), "<>")
		if inline {
			disp = "inline"
		}
		p.add("Content-Disposition", dispositionWithFilename(disp, name))
		if cid != "" && !strings.ContainsAny(cid, " \t\r\n<>\"") {
			p.add("Content-ID", "<"+cid+">")
		}
		if loc := attachString(a, tagAttachContentLocation); loc != "" && !strings.ContainsAny(loc, "\r\n") {
			p.add("Content-Location", loc)
		}
		p.body = func(w *bufio.Writer) error {
			rc, err := open()
			if err != nil {
				return fmt.Errorf("attachment %q: %w", name, err)
			}
			defer rc.Close()
			if _, err := writeBase64(w, rc); err != nil {
				return fmt.Errorf("attachment %q: %w", name, err)
			}
			return nil
		}
		return p, nil
	}
	// Attachments by reference (methods 2, 3, 4, 7): the file lives outside the PST. The reference is kept
	// as an RFC 2046 external-body part naming it.
	ref := firstNonEmpty(attachString(a, tagAttachLongPathname), attachString(a, tagAttachPathname), name)
	res.warn("attachment %q is a link to %q outside the PST; the link is kept, not the file", name, ref)
	p := &part{mediaType: "message/external-body", params: map[string]string{"access-type": "local-file", "name": ref}}
	p.add("Content-Disposition", dispositionWithFilename("attachment", sanitizeFilename(name, "link")))
	p.body = func(w *bufio.Writer) error {
		_, err := w.WriteString("Content-Type: " + attachmentType(a) + "\r\n\r\n")
		return err
	}
	return p, nil
}

func emlSuffix(name string) string {
	if strings.HasSuffix(strings.ToLower(name), ".eml") || strings.HasSuffix(strings.ToLower(name), ".msg") {
		return ""
	}
	return ".eml"
}

// sanitizeFilename keeps a file name as it was, less what no file system and no header can take.
func sanitizeFilename(name, fallback string) string {
	name = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, strings.TrimSpace(strings.ToValidUTF8(name, "\uFFFD")))
	if name == "" || name == "." || name == ".." {
		return fallback
	}
	return name
}

// attachmentType is the attachment's content type: its PR_ATTACH_MIME_TAG when that is a valid leaf type,
// else one derived from the file extension, else application/octet-stream.
func attachmentType(a *pst.Attachment) string {
	if ct := strings.ToLower(strings.TrimSpace(a.MIMEType)); ct != "" && !strings.HasPrefix(ct, "multipart/") && !strings.HasPrefix(ct, "message/") {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && strings.Contains(mt, "/") {
			return mt
		}
	}
	ext := strings.ToLower(path.Ext(a.Filename))
	if ext == "" {
		ext = strings.ToLower(attachString(a, tagAttachExtension))
	}
	if t, ok := extensionTypes[ext]; ok {
		return t
	}
	return "application/octet-stream"
}

// extensionTypes is a fixed table rather than mime.TypeByExtension, whose answers depend on the machine's
// /etc/mime.types: the same item must convert to the same bytes everywhere.
var extensionTypes = map[string]string{
	".txt": "text/plain", ".htm": "text/html", ".html": "text/html", ".csv": "text/csv", ".xml": "text/xml",
	".rtf": "application/rtf", ".pdf": "application/pdf", ".zip": "application/zip", ".gz": "application/gzip",
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif", ".bmp": "image/bmp",
	".tif": "image/tiff", ".tiff": "image/tiff", ".ico": "image/x-icon", ".svg": "image/svg+xml", ".wmf": "image/x-wmf",
	".emf": "image/x-emf", ".doc": "application/msword", ".dot": "application/msword",
	".xls": "application/vnd.ms-excel", ".ppt": "application/vnd.ms-powerpoint",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".eml":  "message/rfc822", ".ics": "text/calendar", ".vcf": "text/vcard", ".vcs": "text/x-vcalendar",
	".mp3": "audio/mpeg", ".wav": "audio/wav", ".mp4": "video/mp4", ".avi": "video/x-msvideo",
	".exe": "application/octet-stream", ".msg": "application/vnd.ms-outlook",
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
	case 28595:
		return "iso-8859-5"
	case 28597:
		return "iso-8859-7"
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
	case 50220, 50221, 50222:
		return "iso-2022-jp"
	case 51932:
		return "euc-jp"
	case 20866:
		return "koi8-r"
	case 21866:
		return "koi8-u"
	case 1200:
		return "utf-16le"
	case 54936:
		return "gb18030"
	}
	if cp >= 1250 && cp <= 1258 {
		return fmt.Sprintf("windows-%d", cp)
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			return x
		}
	}
	return ""
}
