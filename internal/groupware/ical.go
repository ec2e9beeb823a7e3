package groupware

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailshift/mailshift/internal/ical"
)

// Plain iCalendar (RFC 5545) and vCard 3.0 (RFC 2426) in MIME, for folders any mail or calendar client can
// read: a human-readable text/plain part, the calendar or card part (RFC 6047 §2.4 media type parameters),
// then the attachments.

// icalWriter builds content lines, folded at 75 octets with CRLF line ends (RFC 5545 §3.1).
type icalWriter struct {
	b       strings.Builder
	scratch []byte
}

func (w *icalWriter) line(s string) {
	w.scratch = ical.AppendFolded(w.scratch[:0], s)
	w.b.Write(w.scratch)
}

// prop writes NAME;PARAMS:value; params are "NAME=value" strings already formatted, value already escaped.
func (w *icalWriter) prop(name string, params []string, value string) {
	if len(params) > 0 {
		name += ";" + strings.Join(params, ";")
	}
	w.line(name + ":" + value)
}

func (w *icalWriter) text(name, value string) {
	if value = cleanText(value); value != "" {
		w.prop(name, nil, icalEscape(value))
	}
}

func (w *icalWriter) date(name string, z zoned) {
	var params []string
	switch {
	case z.allDay:
		params = []string{"VALUE=DATE"}
	case z.tzid != "":
		params = []string{"TZID=" + icalParamValue(z.tzid)}
	}
	w.prop(name, params, z.icalValue())
}

func (w *icalWriter) dateList(name string, ref zoned, times []time.Time) {
	if len(times) == 0 {
		return
	}
	vals := make([]string, len(times))
	for i, t := range times {
		vals[i] = like(t, ref).icalValue()
	}
	var params []string
	switch {
	case ref.allDay:
		params = []string{"VALUE=DATE"}
	case ref.tzid != "":
		params = []string{"TZID=" + icalParamValue(ref.tzid)}
	}
	w.prop(name, params, strings.Join(vals, ","))
}

func (w *icalWriter) categories(cats []string) {
	var vals []string
	for _, c := range cats {
		if c = oneLine(c); c != "" {
			vals = append(vals, icalEscape(c))
		}
	}
	if len(vals) > 0 {
		w.prop("CATEGORIES", nil, strings.Join(vals, ","))
	}
}

func icalMailto(p Person) string { return "mailto:" + oneLine(p.Email) }

func (w *icalWriter) person(name string, p Person, params ...string) {
	if n := oneLine(p.Name); n != "" {
		params = append([]string{"CN=" + icalParamValue(n)}, params...)
	}
	w.prop(name, params, icalMailto(p))
}

// xNameInvalid is compiled on first use, not at start-up of every program that links the package.
var xNameInvalid = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^A-Za-z0-9-]`) })

// xName makes a custom property name a valid x-name (RFC 5545 §3.1: "X-" and letters, digits, hyphens).
func xName(n string) string {
	n = strings.ToUpper(xNameInvalid().ReplaceAllString(strings.TrimSpace(n), "-"))
	if !strings.HasPrefix(n, "X-") {
		n = "X-" + n
	}
	return n
}

func (w *icalWriter) customs(list []Custom) {
	for _, c := range list {
		w.prop(xName(c.Name), nil, icalEscape(c.Value))
	}
}

func (w *icalWriter) alarms(list []Alarm, summary, related string) {
	for _, a := range list {
		w.line("BEGIN:VALARM")
		w.prop("ACTION", nil, "DISPLAY")
		w.prop("DESCRIPTION", nil, icalEscape(alarmText(a, summary)))
		w.prop("TRIGGER", []string{"RELATED=" + related}, icalDuration(a.Before))
		w.line("END:VALARM")
	}
}

func (w *icalWriter) attachments(c *Common, cids []string) {
	for i, a := range c.Attachments {
		w.prop("ATTACH", []string{"FMTTYPE=" + icalParamValue(attachmentType(a))}, "cid:"+cids[i])
	}
}

func (w *icalWriter) priority(p int) error {
	if p < 0 || p > 9 {
		return fmt.Errorf("priority: %d is not 0…9 (RFC 5545 §3.8.1.9)", p)
	}
	if p > 0 {
		w.prop("PRIORITY", nil, strconv.Itoa(p))
	}
	return nil
}

func (w *icalWriter) commonStart(c *Common, created, modified time.Time) {
	w.prop("UID", nil, icalEscape(oneLine(c.UID)))
	w.prop("DTSTAMP", nil, utcStamp(modified))
	w.prop("CREATED", nil, utcStamp(created))
	w.prop("LAST-MODIFIED", nil, utcStamp(modified))
}

func (w *icalWriter) commonEnd(c *Common) {
	if c.Class != "" {
		w.prop("CLASS", nil, string(c.Class))
	}
	w.categories(c.Categories)
}

// recurrenceSpan is how far a recurrence reaches, for the VTIMEZONE probe: its UNTIL, or ten years.
func recurrenceSpan(r *Recurrence, start zoned) time.Time {
	if !r.Rule.Until.IsZero() {
		return r.Rule.Until
	}
	return start.t.AddDate(10, 0, 0)
}

// calendarBody is a VCALENDAR with the VTIMEZONEs its components use, then the components.
func calendarBody(c *Common, zones zoneSet, components string) string {
	return calendarBodyMethod(c, zones, components, "PUBLISH")
}

// calendarBodyMethod is calendarBody with another iTIP METHOD (RFC 5546).
func calendarBodyMethod(c *Common, zones zoneSet, components, method string) string {
	var w icalWriter
	w.line("BEGIN:VCALENDAR")
	w.prop("VERSION", nil, "2.0")
	w.prop("PRODID", nil, icalEscape(productID(c)))
	w.prop("CALSCALE", nil, "GREGORIAN")
	w.prop("METHOD", nil, method)
	w.vtimezones(zones)
	w.b.WriteString(components)
	w.line("END:VCALENDAR")
	return w.b.String()
}

// EventICalendar is the VCALENDAR of one event (with its VTIMEZONEs and modified instances) under an iTIP
// METHOD (RFC 5546: REQUEST, REPLY, CANCEL, PUBLISH): the calendar part of a meeting request or response
// carried as mail.
func EventICalendar(e *Event, method string) (string, error) {
	return icalEventMethod(e, nil, orTime(e.Created, time.Unix(0, 0).UTC()), orTime(e.LastModified, e.Created), method)
}

func icalEvent(e *Event, cids []string, created, modified time.Time) (string, error) {
	return icalEventMethod(e, cids, created, modified, "PUBLISH")
}

func icalEventMethod(e *Event, cids []string, created, modified time.Time, method string) (string, error) {
	zones := zoneSet{}
	var w icalWriter
	start, err := w.vevent(e, nil, cids, created, modified, zones)
	if err != nil {
		return "", err
	}
	instances, err := exceptionEvents(e, created, modified)
	if err != nil {
		return "", err
	}
	for i, ev := range instances {
		rid := like(e.Exceptions[i].RecurrenceID.Time, start)
		if _, err := w.vevent(&ev, &rid, nil, ev.Created, ev.LastModified, zones); err != nil {
			return "", fmt.Errorf("exception %d (%s): %w", i+1, rid.t.Format(time.RFC3339), err)
		}
	}
	return calendarBodyMethod(&e.Common, zones, w.b.String(), method), nil
}

func orTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

func (w *icalWriter) vevent(e *Event, rid *zoned, cids []string, created, modified time.Time, zones zoneSet) (zoned, error) {
	if e.Start.IsZero() {
		return zoned{}, fmt.Errorf("start: not set (RFC 5545 §3.6.1 requires DTSTART with METHOD)")
	}
	start, err := resolve(e.Start, "start")
	if err != nil {
		return start, err
	}
	w.line("BEGIN:VEVENT")
	w.commonStart(&e.Common, created, modified)
	w.prop("SEQUENCE", nil, strconv.Itoa(max(e.Sequence, 0)))
	w.date("DTSTART", start)
	zones.add(start)
	if !e.End.IsZero() {
		end, err := resolve(e.End, "end")
		if err != nil {
			return start, err
		}
		if end.t.Before(start.t) {
			return start, fmt.Errorf("end: %s is before the start %s", end.t, start.t)
		}
		w.date("DTEND", end)
		zones.add(end)
	}
	if rid != nil {
		w.date("RECURRENCE-ID", *rid)
		zones.add(*rid)
	} else if r := e.Recurrence; r != nil {
		if err := checkRule(r.Rule); err != nil {
			return start, err
		}
		w.prop("RRULE", nil, icalRRule(r.Rule, start))
		w.dateList("EXDATE", start, r.ExDates)
		w.dateList("RDATE", start, r.RDates)
		zones.extend(start, recurrenceSpan(r, start))
	}
	w.text("SUMMARY", e.Summary)
	w.text("DESCRIPTION", e.Description)
	w.text("LOCATION", e.Location)
	if err := w.priority(e.Priority); err != nil {
		return start, err
	}
	w.commonEnd(&e.Common)
	if s := eventStatus(e); s != StatusNone {
		w.prop("STATUS", nil, string(s))
	}
	if e.Busy == BusyFree {
		w.prop("TRANSP", nil, "TRANSPARENT")
	} else {
		w.prop("TRANSP", nil, "OPAQUE")
	}
	if e.Organizer != nil && e.Organizer.Email != "" {
		w.person("ORGANIZER", *e.Organizer)
	}
	for _, a := range e.Attendees {
		var params []string
		if a.Role != "" {
			params = append(params, "ROLE="+string(a.Role))
		}
		if a.PartStat != "" {
			params = append(params, "PARTSTAT="+string(a.PartStat))
		}
		if a.RSVP {
			params = append(params, "RSVP=TRUE")
		}
		if a.CUType != "" {
			params = append(params, "CUTYPE="+string(a.CUType))
		}
		w.person("ATTENDEE", a.Person, params...)
	}
	w.attachments(&e.Common, cids)
	// Outlook and Exchange read the free/busy value from here (MS-OXCICAL §2.1.3.1.1.20.2).
	w.customs(customsWith([]Custom{{"X-MICROSOFT-CDO-BUSYSTATUS", busyCode(e.Busy)}}, e.Custom))
	w.alarms(e.Alarms, e.Summary, "START")
	w.line("END:VEVENT")
	return start, nil
}

func icalTask(t *Task, cids []string, created, modified time.Time) (string, error) {
	zones := zoneSet{}
	var w icalWriter
	w.line("BEGIN:VTODO")
	w.commonStart(&t.Common, created, modified)
	var ref zoned
	hasRef := false
	if !t.Start.IsZero() {
		start, err := resolve(t.Start, "start")
		if err != nil {
			return "", err
		}
		w.date("DTSTART", start)
		zones.add(start)
		ref, hasRef = start, true
	}
	if !t.Due.IsZero() {
		due, err := resolve(t.Due, "due")
		if err != nil {
			return "", err
		}
		w.date("DUE", due)
		zones.add(due)
		if !hasRef {
			ref, hasRef = due, true
		}
	}
	if !t.Completed.IsZero() {
		w.prop("COMPLETED", nil, utcStamp(t.Completed))
	}
	if r := t.Recurrence; r != nil {
		if !hasRef {
			return "", fmt.Errorf("recurrence: a recurring task needs a start or due date")
		}
		if err := checkRule(r.Rule); err != nil {
			return "", err
		}
		w.prop("RRULE", nil, icalRRule(r.Rule, ref))
		w.dateList("EXDATE", ref, r.ExDates)
		w.dateList("RDATE", ref, r.RDates)
		zones.extend(ref, recurrenceSpan(r, ref))
	}
	w.text("SUMMARY", t.Summary)
	w.text("DESCRIPTION", t.Description)
	if err := w.priority(t.Priority); err != nil {
		return "", err
	}
	if t.PercentComplete < 0 || t.PercentComplete > 100 {
		return "", fmt.Errorf("percent-complete: %d is not 0…100", t.PercentComplete)
	}
	if t.PercentComplete > 0 {
		w.prop("PERCENT-COMPLETE", nil, strconv.Itoa(t.PercentComplete))
	}
	if t.Status != StatusNone {
		w.prop("STATUS", nil, string(t.Status))
	}
	w.commonEnd(&t.Common)
	if t.Organizer != nil && t.Organizer.Email != "" {
		w.person("ORGANIZER", *t.Organizer)
	}
	w.attachments(&t.Common, cids)
	w.customs(t.Custom)
	related := "START"
	if !t.Due.IsZero() {
		related = "END"
	}
	w.alarms(t.Alarms, t.Summary, related)
	w.line("END:VTODO")
	return calendarBody(&t.Common, zones, w.b.String()), nil
}

func icalJournal(j *Journal, cids []string, created, modified time.Time) (string, error) {
	zones := zoneSet{}
	var w icalWriter
	w.line("BEGIN:VJOURNAL")
	w.commonStart(&j.Common, created, modified)
	var gen []Custom
	if !j.Start.IsZero() {
		start, err := resolve(j.Start, "start")
		if err != nil {
			return "", err
		}
		w.date("DTSTART", start)
		zones.add(start)
	}
	// VJOURNAL has no DTEND (RFC 5545 §3.6.3): the end is kept as an X- property, in UTC.
	if !j.End.IsZero() {
		end, err := resolve(j.End, "end")
		if err != nil {
			return "", err
		}
		v := end.icalValue()
		if end.tzid != "" {
			v = utcStamp(end.t)
		}
		gen = append(gen, Custom{journalEndCustom, v})
	}
	if j.Type != "" {
		gen = append(gen, Custom{journalTypeCustom, oneLine(j.Type)})
	}
	w.text("SUMMARY", j.Summary)
	w.text("DESCRIPTION", j.Description)
	w.commonEnd(&j.Common)
	for _, p := range j.Contacts {
		if p.Email != "" {
			w.person("ATTENDEE", p)
		} else if n := oneLine(p.Name); n != "" {
			w.prop("CONTACT", nil, icalEscape(n))
		}
	}
	w.attachments(&j.Common, cids)
	w.customs(customsWith(gen, j.Custom))
	w.line("END:VJOURNAL")
	return calendarBody(&j.Common, zones, w.b.String()), nil
}

// icalMessage is the FormatICal message of an item. A note, which has no iCalendar form, is a plain text
// message whose subject is its summary and whose body is its text, as mail clients store notes in IMAP.
func icalMessage(it Item, env Envelope) (*message, error) {
	c := it.Base()
	atts, cids, err := attachmentParts(c)
	if err != nil {
		return nil, err
	}
	created, modified, err := stamps(c, env)
	if err != nil {
		return nil, err
	}
	var (
		body, ct, component, subject string
		extra                        []header
	)
	switch it := it.(type) {
	case *Event:
		component, subject = "VEVENT", it.Summary
		body, err = icalEvent(it, cids, created, modified)
	case *Task:
		component, subject = "VTODO", it.Summary
		body, err = icalTask(it, cids, created, modified)
	case *Journal:
		component, subject = "VJOURNAL", it.Summary
		body, err = icalJournal(it, cids, created, modified)
	case *Contact:
		ct, subject = "text/vcard", formattedName(it)
		body, err = vcardContact(it, modified)
	case *DistList:
		ct, subject = "text/vcard", it.Name
		body, err = vcardDistList(it, modified)
	case *Note:
		subject = it.Summary
		extra = []header{{"X-Uniform-Type-Identifier", "com.apple.mail-note"}, {"X-Mail-Created-Date", created.Format(time.RFC1123Z)}}
	default:
		return nil, fmt.Errorf("kind %d has no iCalendar form", int(it.Kind()))
	}
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(subject) == "" {
		subject = c.UID
	}
	h := append(envelopeHeaders(c, env, subject), extra...)
	h = append(h, header{"User-Agent", "mailshift"})
	text := mimePart{contentType: "text/plain", typeParams: [][2]string{{"charset", "utf-8"}}, text: plainSummary(it)}
	parts := []mimePart{text}
	switch {
	case component != "":
		parts = append(parts, mimePart{contentType: "text/calendar", typeParams: [][2]string{
			{"charset", "utf-8"}, {"method", "PUBLISH"}, {"component", component}, {"name", "item.ics"}},
			disposition: "attachment", filename: "item.ics", text: body})
	case ct != "":
		parts = append(parts, mimePart{contentType: ct, typeParams: [][2]string{{"charset", "utf-8"}, {"name", "contact.vcf"}},
			disposition: "attachment", filename: "contact.vcf", text: body})
	}
	parts = append(parts, atts...)
	return &message{headers: h, parts: parts, boundary: boundaryFor(messageID(c, env), c.UID)}, nil
}
