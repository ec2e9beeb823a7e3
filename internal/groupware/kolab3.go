package groupware

import (
	"fmt"
	"strings"
	"time"
)

// kolabVersion is the x-kolab-version libkolabxml 1.2 writes and expects (KEP 17 as amended for Kolab 3.1).
const kolabVersion = "3.1.0"

// kolab3Message is the Kolab v3 storage message (KEP 17 "Storage format"): X-Kolab-Type and
// X-Kolab-Mime-Version headers, an explanation part, the xCal/xCard/note XML part named kolab.xml, and one
// part per attachment, referenced from the XML by cid: URL.
func kolab3Message(it Item, env Envelope) (*message, error) {
	c := it.Base()
	atts, cids, err := attachmentParts(c)
	if err != nil {
		return nil, err
	}
	created, modified, err := stamps(c, env)
	if err != nil {
		return nil, err
	}
	var xml, contentType string
	switch it := it.(type) {
	case *Event:
		contentType = "application/calendar+xml"
		xml, err = xcalEvent(it, cids, created, modified)
	case *Task:
		contentType = "application/calendar+xml"
		xml, err = xcalTask(it, cids, created, modified)
	case *Journal:
		contentType = "application/calendar+xml"
		xml, err = xcalJournal(it, cids, created, modified)
	case *Contact:
		contentType = "application/vcard+xml"
		xml, err = xcardContact(it, modified)
	case *DistList:
		contentType = "application/vcard+xml"
		xml, err = xcardDistList(it, modified)
	case *Note:
		contentType = "application/vnd.kolab+xml"
		xml, err = kolabNote(it, cids, created, modified)
	default:
		return nil, fmt.Errorf("kind %d has no Kolab v3 form", int(it.Kind()))
	}
	if err != nil {
		return nil, err
	}
	part := mimePart{
		contentType: contentType, typeParams: [][2]string{{"charset", "UTF-8"}, {"name", "kolab.xml"}},
		disposition: "attachment", filename: "kolab.xml", text: xml,
	}
	return kolabMessage(it, env, "application/x-vnd.kolab."+kindName(it.Kind()),
		[]header{{"X-Kolab-Mime-Version", "3.0"}}, part, atts), nil
}

// stamps are the creation and modification times: the schema requires both (created, dtstamp), so each
// stands in for the other, and the envelope date for both.
func stamps(c *Common, env Envelope) (created, modified time.Time, err error) {
	created, modified = c.Created, c.LastModified
	if created.IsZero() {
		created = modified
	}
	if modified.IsZero() {
		modified = created
	}
	if created.IsZero() {
		created, modified = env.Date, env.Date
	}
	if created.IsZero() {
		return created, modified, fmt.Errorf("created: none of Created, LastModified and Envelope.Date is set")
	}
	return created.UTC(), modified.UTC(), nil
}

// kolabMailto is the cal-address form libkolabxml writes and parses: "mailto:" and the percent-encoded
// "Name<address>" (name empty for organizers and attendees, whose name is in CN).
func kolabMailto(name, email string) string {
	return "mailto:" + percentEncode(oneLine(name)+"<"+oneLine(email)+">")
}

// percentEncode escapes all but the unreserved characters of RFC 3986 §2.3.
func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
