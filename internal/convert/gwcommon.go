package convert

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/pst"
)

// groupwareItem maps a calendar item, contact, list, task, note or journal entry to the model. An error means
// the item cannot be a groupware object at all; then it is kept as mail.
func (c *Converter) groupwareItem(m *pst.Message, id identity, res *Result) (groupware.Item, error) {
	switch res.Kind {
	case groupware.KindEvent:
		return c.event(m, id, res)
	case groupware.KindContact:
		return c.contact(m, id, res)
	case groupware.KindDistList:
		return c.distList(m, id, res)
	case groupware.KindTask:
		return c.task(m, id, res)
	case groupware.KindNote:
		return c.note(m, id, res)
	case groupware.KindJournal:
		return c.journal(m, id, res)
	}
	return nil, fmt.Errorf("no groupware mapping for %s", m.Class)
}

// common fills the fields every groupware item has. Attachments that are files are carried as the object's
// attachments; embedded messages are converted to RFC 5322 and attached as .eml files, so nothing is lost.
func (c *Converter) common(m *pst.Message, id identity, res *Result, skip func(*pst.Attachment) bool) groupware.Common {
	p := props{m}
	cm := groupware.Common{
		UID:          id.uid(),
		Created:      p.time(tagCreationTime),
		LastModified: p.time(tagLastModificationTime),
		Summary:      m.Subject,
		Description:  c.plainBody(m, res),
		Categories:   categories(m),
		ProductID:    "-//mailshift//PST conversion//EN",
	}
	if cm.Created.IsZero() {
		cm.Created = internalDate(m)
	}
	if cm.Created.IsZero() {
		// Some writers store no time at all; Kolab needs a creation date, and a made-up "now" would make
		// every run's output differ. The epoch says plainly that the date is unknown.
		cm.Created = time.Unix(0, 0).UTC()
		res.warn("item has no creation or modification time; %s used", cm.Created.Format(time.DateOnly))
	}
	if cm.LastModified.IsZero() {
		cm.LastModified = cm.Created
	}
	switch sens, _ := p.int(tagSensitivity); sens {
	case 1, 2:
		cm.Class = groupware.ClassPrivate
	case 3:
		cm.Class = groupware.ClassConfidential
	default:
		cm.Class = groupware.ClassPublic
	}
	if p.namedBool(pst.PSETIDCommon, 0x8506) { // PidLidPrivate
		cm.Class = groupware.ClassPrivate
	}
	atts, err := m.Attachments()
	if err != nil {
		res.warn("attachments could not be read: %v", err)
	}
	for i, a := range atts {
		if skip != nil && skip(a) {
			continue
		}
		if ga, ok := c.groupwareAttachment(a, id, res, i); ok {
			cm.Attachments = append(cm.Attachments, ga)
		}
	}
	return cm
}

func (c *Converter) groupwareAttachment(a *pst.Attachment, id identity, res *Result, index int) (groupware.Attachment, bool) {
	name := sanitizeFilename(a.Filename, fmt.Sprintf("attachment-%d", index+1))
	switch a.Method {
	case pst.AttachByValue:
		return groupware.Attachment{Filename: name, MIMEType: attachmentType(a), ContentID: strings.Trim(a.ContentID, "<> "), Size: a.Size, Open: a.Open}, true
	case pst.AttachOLE:
		res.warn("OLE object %q kept as its raw data", name)
		return groupware.Attachment{Filename: name, MIMEType: "application/octet-stream", Size: a.Size, Open: a.OpenObject}, true
	case pst.AttachEmbedded:
		em, err := a.Embedded()
		if err != nil {
			res.warn("embedded message %q could not be read: %v", name, err)
			return groupware.Attachment{}, false
		}
		var buf bytes.Buffer
		bw := bufio.NewWriter(&buf)
		sub := &Result{}
		if err := c.writeMail(bw, em, id.embedded(index), sub, false); err != nil || bw.Flush() != nil {
			res.warn("embedded message %q could not be converted: %v", name, err)
			return groupware.Attachment{}, false
		}
		res.Warnings = append(res.Warnings, sub.Warnings...)
		data := buf.Bytes()
		if name == "" || strings.HasPrefix(name, "attachment-") {
			name = sanitizeFilename(em.Subject, "message")
		}
		return groupware.Attachment{Filename: name + emlSuffix(name), MIMEType: "message/rfc822", Size: int64(len(data)),
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}, true
	case 0:
		return groupware.Attachment{}, false
	}
	ref := firstNonEmpty(attachString(a, tagAttachLongPathname), attachString(a, tagAttachPathname), name)
	res.warn("attachment %q is a link to %q outside the PST; kept as a note in the description", name, ref)
	return groupware.Attachment{}, false
}

// plainBody is the item's body as plain text: PR_BODY, else the text of its RTF or HTML body.
func (c *Converter) plainBody(m *pst.Message, res *Result) string {
	b := c.readBodies(m, res)
	if b.hasText {
		return normalizeNewlines(b.text)
	}
	if b.html != nil {
		return normalizeNewlines(htmlToText(string(b.html)))
	}
	return ""
}

func normalizeNewlines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.TrimRight(s, "\n\x00 ")
}

var (
	htmlDrop  = lazyRegexp(`(?is)<(script|style|head|title)\b.*?</(script|style|head|title)\s*>`)
	htmlBreak = lazyRegexp(`(?i)<(br|/p|/div|/tr|/li|/h[1-6])\b[^>]*>`)
	htmlTag   = lazyRegexp(`(?s)<[^>]*>`)
	blankRuns = lazyRegexp(`\n{3,}`)
)

// lazyRegexp compiles expr on first use: compiling every expression of the package at start-up costs each
// run of the CLI, most of which never need them.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// htmlToText is a plain rendering of an HTML body for fields that hold only text (a contact's notes).
func htmlToText(s string) string {
	s = htmlDrop().ReplaceAllString(s, "")
	s = htmlBreak().ReplaceAllString(s, "\n")
	s = htmlTag().ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	lines := strings.Split(strings.ReplaceAll(s, "\r", ""), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\u00a0")
	}
	return strings.TrimSpace(blankRuns().ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}

// reminder reads Outlook's reminder (PidLidReminderSet, PidLidReminderDelta in minutes before the start).
func reminder(m *pst.Message, description string) []groupware.Alarm {
	p := props{m}
	if !p.namedBool(pst.PSETIDCommon, 0x8503) {
		return nil
	}
	delta, _ := p.namedInt(pst.PSETIDCommon, 0x8501)
	if delta < 0 || delta > 60*24*366 {
		delta = 15
	}
	return []groupware.Alarm{{Before: minutes(delta), Description: description}}
}

// priority maps PR_IMPORTANCE (0 low, 1 normal, 2 high) to iCalendar's 1 (highest) … 9 (lowest).
func priority(m *pst.Message, normal int) int {
	imp, ok := props{m}.int(tagImportance)
	if !ok {
		return 0
	}
	switch imp {
	case 0:
		return 9
	case 2:
		return 1
	}
	return normal
}
