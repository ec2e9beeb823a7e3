package groupware

import (
	"fmt"
	"strconv"
	"time"
)

// xCal (RFC 6321) as Kolab v3 restricts it (KEP 17; libkolabxml's kolabformat-xcal.xsd, which fixes the
// element order of every component). Time zones are IANA names behind the "/kolab.org/" prefix libkolabxml
// expects, without VTIMEZONE components.

// xparam is one property parameter: its name, value type ("text", "boolean") and value.
type xparam struct{ name, vtype, value string }

func (x *xmlWriter) prop(name, vtype, value string, params ...xparam) {
	x.open(name)
	if len(params) > 0 {
		x.open("parameters")
		for _, p := range params {
			x.open(p.name)
			x.leaf(p.vtype, p.value)
			x.close()
		}
		x.close()
	}
	x.leaf(vtype, value)
	x.close()
}

func (x *xmlWriter) textProp(name, value string) {
	if value = cleanText(value); value != "" {
		x.prop(name, "text", value)
	}
}

func tzParams(z zoned) []xparam {
	if z.tzid == "" {
		return nil
	}
	return []xparam{{"tzid", "text", "/kolab.org/" + z.tzid}}
}

func (x *xmlWriter) dateProp(name string, z zoned) {
	vt, v := z.xcalValue()
	x.prop(name, vt, v, tzParams(z)...)
}

// dateListProp writes several values of one zone in a single property (exdate, rdate: the schema allows one).
func (x *xmlWriter) dateListProp(name string, ref zoned, times []time.Time) {
	if len(times) == 0 {
		return
	}
	x.open(name)
	if p := tzParams(ref); p != nil {
		x.open("parameters")
		x.open("tzid")
		x.leaf("text", p[0].value)
		x.close()
		x.close()
	}
	for _, t := range times {
		vt, v := like(t, ref).xcalValue()
		x.leaf(vt, v)
	}
	x.close()
}

func (x *xmlWriter) xcalHeader(c *Common) {
	x.open("icalendar", "xmlns", "urn:ietf:params:xml:ns:icalendar-2.0")
	x.open("vcalendar")
	x.open("properties")
	x.prop("prodid", "text", productID(c))
	x.prop("version", "text", "2.0")
	x.prop("x-kolab-version", "text", kolabVersion)
	x.close()
	x.open("components")
}

func (x *xmlWriter) xcalCommonStart(c *Common, created, modified time.Time, sequence int) {
	x.prop("uid", "text", oneLine(c.UID))
	x.prop("created", "date-time", utcXCal(created))
	x.prop("dtstamp", "date-time", utcXCal(modified))
	x.prop("sequence", "integer", strconv.Itoa(max(sequence, 0)))
	if c.Class != "" {
		x.prop("class", "text", string(c.Class))
	}
	x.categories(c.Categories)
}

func (x *xmlWriter) categories(cats []string) {
	var vals []string
	for _, c := range cats {
		if c = oneLine(c); c != "" {
			vals = append(vals, c)
		}
	}
	if len(vals) == 0 {
		return
	}
	x.open("categories")
	for _, v := range vals {
		x.leaf("text", v)
	}
	x.close()
}

func (x *xmlWriter) recurrence(r *Recurrence, start zoned, hasStart bool) error {
	if r == nil {
		return nil
	}
	if !hasStart {
		return fmt.Errorf("recurrence: a recurring item needs a start")
	}
	if err := checkRule(r.Rule); err != nil {
		return err
	}
	x.open("rrule")
	xcalRecur(x, r.Rule, start)
	x.close()
	x.dateListProp("rdate", start, r.RDates)
	x.dateListProp("exdate", start, r.ExDates)
	return nil
}

func (x *xmlWriter) priority(p int) error {
	if p < 0 || p > 9 {
		return fmt.Errorf("priority: %d is not 0…9 (RFC 5545 §3.8.1.9)", p)
	}
	if p > 0 {
		x.prop("priority", "integer", strconv.Itoa(p))
	}
	return nil
}

func (x *xmlWriter) calAddress(name string, p Person, extra ...xparam) {
	var params []xparam
	if n := oneLine(p.Name); n != "" {
		params = append(params, xparam{"cn", "text", n})
	}
	params = append(params, extra...)
	x.prop(name, "cal-address", kolabMailto("", p.Email), params...)
}

func (x *xmlWriter) attendees(list []Attendee) {
	for _, a := range list {
		var extra []xparam
		if a.PartStat != "" {
			extra = append(extra, xparam{"partstat", "text", string(a.PartStat)})
		}
		if a.Role != "" {
			extra = append(extra, xparam{"role", "text", string(a.Role)})
		}
		if a.RSVP {
			extra = append(extra, xparam{"rsvp", "boolean", "true"})
		}
		if a.CUType != "" {
			extra = append(extra, xparam{"cutype", "text", string(a.CUType)})
		}
		x.calAddress("attendee", a.Person, extra...)
	}
}

func (x *xmlWriter) attachments(c *Common, cids []string) {
	for i, a := range c.Attachments {
		params := []xparam{{"fmttype", "text", attachmentType(a)}}
		if n := oneLine(a.Filename); n != "" {
			params = append(params, xparam{"x-label", "text", n})
		}
		x.prop("attach", "uri", "cid:"+cids[i], params...)
	}
}

func attachmentType(a Attachment) string {
	if a.MIMEType == "" {
		return "application/octet-stream"
	}
	return oneLine(a.MIMEType)
}

// customs writes Kolab's x-custom identifier/value pairs (KEP 17 "Custom properties").
func (x *xmlWriter) customs(list []Custom) {
	for _, c := range list {
		x.open("x-custom")
		x.leaf("identifier", oneLine(c.Name))
		x.leaf("value", cleanText(c.Value))
		x.close()
	}
}

// alarms writes display alarms relative to the start (events) or the end (tasks: the due time).
func (x *xmlWriter) alarms(list []Alarm, summary, related string) {
	if len(list) == 0 {
		return
	}
	x.open("components")
	for _, a := range list {
		x.open("valarm")
		x.open("properties")
		x.prop("action", "text", "DISPLAY")
		x.prop("description", "text", cleanText(alarmText(a, summary)))
		x.prop("trigger", "duration", icalDuration(a.Before), xparam{"related", "text", related})
		x.close()
		x.close()
	}
	x.close()
}

func xcalEvent(e *Event, cids []string, created, modified time.Time) (string, error) {
	x := newXMLWriter()
	x.xcalHeader(&e.Common)
	start, err := x.vevent(e, nil, cids, created, modified)
	if err != nil {
		return "", err
	}
	instances, err := exceptionEvents(e, created, modified)
	if err != nil {
		return "", err
	}
	for i, ev := range instances {
		rid := like(e.Exceptions[i].RecurrenceID.Time, start)
		if _, err := x.vevent(&ev, &rid, nil, ev.Created, ev.LastModified); err != nil {
			return "", fmt.Errorf("exception %d (%s): %w", i+1, rid.t.Format(time.RFC3339), err)
		}
	}
	x.close()
	x.close()
	x.close()
	return x.String(), nil
}

// vevent writes one KolabEvent component; rid is set for a modified instance, which has no recurrence of its
// own. It returns the resolved start.
func (x *xmlWriter) vevent(e *Event, rid *zoned, cids []string, created, modified time.Time) (zoned, error) {
	start, err := resolve(e.Start, "start")
	if err != nil {
		return start, err
	}
	if e.Start.IsZero() {
		return start, fmt.Errorf("start: not set (a Kolab event needs dtstart)")
	}
	x.open("vevent")
	x.open("properties")
	x.xcalCommonStart(&e.Common, created, modified, e.Sequence)
	x.dateProp("dtstart", start)
	if !e.End.IsZero() {
		end, err := resolve(e.End, "end")
		if err != nil {
			return start, err
		}
		if end.t.Before(start.t) {
			return start, fmt.Errorf("end: %s is before the start %s", end.t, start.t)
		}
		x.dateProp("dtend", end)
	}
	if e.Busy == BusyFree {
		x.prop("transp", "text", "TRANSPARENT")
	}
	if rid == nil {
		if err := x.recurrence(e.Recurrence, start, true); err != nil {
			return start, err
		}
	} else {
		x.dateProp("recurrence-id", *rid)
	}
	x.textProp("summary", e.Summary)
	x.textProp("description", e.Description)
	if err := x.priority(e.Priority); err != nil {
		return start, err
	}
	if s := eventStatus(e); s != StatusNone {
		x.prop("status", "text", string(s))
	}
	x.textProp("location", e.Location)
	if e.Organizer != nil && (e.Organizer.Email != "" || e.Organizer.Name != "") {
		x.calAddress("organizer", *e.Organizer)
	}
	x.attendees(e.Attendees)
	x.attachments(&e.Common, cids)
	x.customs(customsWith([]Custom{{"X-MICROSOFT-CDO-BUSYSTATUS", busyCode(e.Busy)}}, e.Custom))
	x.close()
	x.alarms(e.Alarms, e.Summary, "START")
	x.close()
	return start, nil
}

// completedCustom keeps a task's completion time: Kolab v3's vtodo has no completed property.
const completedCustom = "X-MAILSHIFT-COMPLETED"

func xcalTask(t *Task, cids []string, created, modified time.Time) (string, error) {
	x := newXMLWriter()
	x.xcalHeader(&t.Common)
	x.open("vtodo")
	x.open("properties")
	x.xcalCommonStart(&t.Common, created, modified, 0)
	var start zoned
	if !t.Start.IsZero() {
		var err error
		if start, err = resolve(t.Start, "start"); err != nil {
			return "", err
		}
		x.dateProp("dtstart", start)
	}
	if !t.Due.IsZero() {
		due, err := resolve(t.Due, "due")
		if err != nil {
			return "", err
		}
		x.dateProp("due", due)
		if t.Start.IsZero() {
			start = due
		}
	}
	if err := x.recurrence(t.Recurrence, start, !t.Start.IsZero() || !t.Due.IsZero()); err != nil {
		return "", err
	}
	x.textProp("summary", t.Summary)
	x.textProp("description", t.Description)
	if err := x.priority(t.Priority); err != nil {
		return "", err
	}
	if t.Status != StatusNone {
		x.prop("status", "text", string(t.Status))
	}
	if t.PercentComplete < 0 || t.PercentComplete > 100 {
		return "", fmt.Errorf("percent-complete: %d is not 0…100", t.PercentComplete)
	}
	if t.PercentComplete > 0 {
		x.prop("percent-complete", "integer", strconv.Itoa(t.PercentComplete))
	}
	if t.Organizer != nil && (t.Organizer.Email != "" || t.Organizer.Name != "") {
		x.calAddress("organizer", *t.Organizer)
	}
	x.attachments(&t.Common, cids)
	var gen []Custom
	if !t.Completed.IsZero() {
		gen = append(gen, Custom{completedCustom, utcStamp(t.Completed)})
	}
	x.customs(customsWith(gen, t.Custom))
	x.close()
	related := "START"
	if !t.Due.IsZero() {
		related = "END"
	}
	x.alarms(t.Alarms, t.Summary, related)
	x.close()
	x.close()
	x.close()
	x.close()
	return x.String(), nil
}

// Journal fields Kolab v3's vjournal has no property for.
const (
	journalEndCustom     = "X-MAILSHIFT-DTEND"
	journalTypeCustom    = "X-MAILSHIFT-JOURNAL-TYPE"
	journalContactCustom = "X-MAILSHIFT-CONTACT"
)

func xcalJournal(j *Journal, cids []string, created, modified time.Time) (string, error) {
	x := newXMLWriter()
	x.xcalHeader(&j.Common)
	x.open("vjournal")
	x.open("properties")
	x.xcalCommonStart(&j.Common, created, modified, 0)
	var gen []Custom
	if !j.Start.IsZero() {
		start, err := resolve(j.Start, "start")
		if err != nil {
			return "", err
		}
		x.dateProp("dtstart", start)
	}
	if !j.End.IsZero() {
		end, err := resolve(j.End, "end")
		if err != nil {
			return "", err
		}
		gen = append(gen, Custom{journalEndCustom, end.icalValue()})
		if end.tzid != "" {
			gen[len(gen)-1].Value = utcStamp(end.t)
		}
	}
	if j.Type != "" {
		gen = append(gen, Custom{journalTypeCustom, oneLine(j.Type)})
	}
	x.textProp("summary", j.Summary)
	x.textProp("description", j.Description)
	for _, p := range j.Contacts {
		if p.Email != "" {
			x.calAddress("attendee", p)
		} else if n := oneLine(p.Name); n != "" {
			gen = append(gen, Custom{journalContactCustom, n})
		}
	}
	x.attachments(&j.Common, cids)
	x.customs(customsWith(gen, j.Custom))
	x.close()
	x.close()
	x.close()
	x.close()
	x.close()
	return x.String(), nil
}
