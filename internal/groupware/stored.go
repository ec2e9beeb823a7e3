package groupware

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"
)

// Stored is a groupware object as sync writes it back after a change: the object's bytes as read and
// changed (calobject.Object.Body), and what the message around it needs. It is written as the same kind of
// message it was read from, under the same UID, so that clients and a later sync find it again; the
// explanation part of a Kolab message is written anew.
//
// calobject (which reads and changes the object) and groupware (which writes messages) both build on
// package ical; groupware does not import calobject, so the caller hands the fields over.
type Stored struct {
	UID       string
	KolabType string // X-Kolab-Type ("application/x-vnd.kolab.event"); "" for a plain iCalendar or vCard message
	MediaType string // of the object part: "application/calendar+xml", "text/calendar", "text/vcard", …
	Filename  string // of the object part; "kolab.xml", "item.ics" or "contact.vcf" when empty
	Body      []byte // the object, UTF-8
	Subject   string // of a plain message (its SUMMARY or FN); a Kolab message's subject is its UID
	Modified  time.Time
	// Attachments are the message's other parts, written back unchanged with their Content-IDs, which the
	// object refers to.
	Attachments []StoredPart
}

// StoredPart is one attachment of a stored object, decoded.
type StoredPart struct {
	MediaType string
	Filename  string
	ContentID string // without angle brackets
	Body      []byte
}

// WriteStored writes s as one complete message with CRLF line ends, ready for IMAP APPEND. Like
// WriteMessage, its output depends only on its arguments.
func WriteStored(w io.Writer, s Stored, env Envelope) error {
	uid := strings.TrimSpace(s.UID)
	if uid == "" {
		return fmt.Errorf("groupware: stored object: %w", ErrNoUID)
	}
	if err := checkMessageID(messageID(&Common{UID: uid}, env)); err != nil {
		return fmt.Errorf("groupware: stored object %q: %w", uid, err)
	}
	mt := strings.ToLower(strings.TrimSpace(s.MediaType))
	if _, _, err := mime.ParseMediaType(mt); err != nil || !strings.Contains(mt, "/") {
		return fmt.Errorf("groupware: stored object %q: media type %q: not type/subtype", uid, s.MediaType)
	}
	if len(s.Body) == 0 {
		return fmt.Errorf("groupware: stored object %q: %w", uid, errors.New("empty body"))
	}
	if s.Modified.IsZero() && env.Date.IsZero() {
		return fmt.Errorf("groupware: stored object %q: neither Modified nor Envelope.Date is set", uid)
	}
	c := &Common{UID: uid, LastModified: s.Modified}
	name := oneLine(s.Filename)
	if name == "" {
		name = defaultStoredName(mt)
	}
	object := mimePart{contentType: mt, typeParams: [][2]string{{"charset", "UTF-8"}, {"name", name}},
		disposition: "attachment", filename: name, text: string(s.Body)}
	atts := make([]mimePart, 0, len(s.Attachments))
	for i, a := range s.Attachments {
		ct := strings.ToLower(strings.TrimSpace(a.MediaType))
		if _, _, err := mime.ParseMediaType(ct); err != nil || !strings.Contains(ct, "/") {
			ct = "application/octet-stream"
		}
		cid := strings.Trim(strings.TrimSpace(a.ContentID), "<>")
		if cid != "" && !isCIDSafe(cid) {
			return fmt.Errorf("groupware: stored object %q: attachment %d: Content-ID %q cannot be written as it is", uid, i+1, a.ContentID)
		}
		p := mimePart{contentType: ct, disposition: "attachment", contentID: cid, open: openBytes(a.Body),
			what: fmt.Sprintf("attachment %d", i+1)}
		if fn := oneLine(a.Filename); fn != "" {
			p.typeParams, p.filename = [][2]string{{"name", fn}}, fn
		}
		atts = append(atts, p)
	}
	var m *message
	if s.KolabType != "" {
		var extra []header
		if mt != "application/x-vnd.kolab."+strings.TrimPrefix(strings.ToLower(s.KolabType), "application/x-vnd.kolab.") {
			extra = []header{{"X-Kolab-Mime-Version", "3.0"}} // Kolab v3: the object is xCal, xCard or a note
		}
		m = kolabMessageOf(c, env, oneLine(s.KolabType), extra, object, atts)
	} else {
		subject := oneLine(s.Subject)
		if subject == "" {
			subject = uid
		}
		h := append(envelopeHeaders(c, env, subject), header{"User-Agent", "mailshift"})
		m = &message{headers: h, parts: append([]mimePart{object}, atts...), boundary: boundaryFor(messageID(c, env), uid)}
	}
	if err := m.write(w); err != nil {
		return fmt.Errorf("groupware: stored object %q: %w", uid, err)
	}
	return nil
}

func defaultStoredName(mediaType string) string {
	switch {
	case strings.HasSuffix(mediaType, "xml") || strings.HasPrefix(mediaType, "application/x-vnd.kolab."):
		return "kolab.xml"
	case strings.Contains(mediaType, "vcard") || mediaType == "text/directory":
		return "contact.vcf"
	}
	return "item.ics"
}
