package calobject

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mailshift/mailshift/internal/ical"
)

// xCalNamespace is the namespace of RFC 6321 §3.
const xCalNamespace = "urn:ietf:params:xml:ns:icalendar-2.0"

// ParseXCal reads the events of an xCal document (RFC 6321), in the form Kolab v3 stores (KEP 17):
// <icalendar><vcalendar><components><vevent>…, zones as TZID parameters (usually "/kolab.org/" and an IANA
// name), Outlook's busy status as an x-custom property, modified instances as further vevents with a
// recurrence-id. VTODO, VJOURNAL and VALARM content is ignored. Events that cannot be read are reported in
// the error (one *ParseError each) and the others returned, as for ParseICalendar.
func ParseXCal(data []byte) ([]*Event, error) {
	src, err := xmlText(data)
	if err != nil {
		return nil, &ParseError{Format: FormatXCal, Err: err}
	}
	return parseXCal(src)
}

func parseXCal(src string) ([]*Event, error) {
	doc, err := parseXML(src)
	if err != nil {
		return nil, &ParseError{Format: FormatXCal, Err: fmt.Errorf("not well-formed XML: %w", err)}
	}
	root := doc.root()
	if root.name != "icalendar" {
		return nil, &ParseError{Format: FormatXCal, Err: fmt.Errorf("the root element is <%s>, not <icalendar> (RFC 6321 §3.4)", qualified(root))}
	}
	if ns := root.namespace(); ns != "" && ns != xCalNamespace {
		return nil, &ParseError{Format: FormatXCal, Err: fmt.Errorf("<icalendar> is in namespace %s, not %s", ical.Clip(ns), xCalNamespace)}
	}
	var items []built
	doc.children(root, func(vcal *xnode) bool {
		if vcal.name != "vcalendar" {
			return true
		}
		comps := doc.child(vcal, "components")
		if comps == nil {
			return true
		}
		inclusive := containsFold(vcalProdID(doc, vcal), "libkolabxml")
		z := &zones{}
		doc.children(comps, func(c *xnode) bool {
			if c.name == "vtimezone" {
				if v := xcalTimezone(doc, c); v != nil {
					z.add(v)
				}
			}
			return true
		})
		doc.children(comps, func(c *xnode) bool {
			if c.name == "vevent" {
				items = append(items, xcalEvent(doc, c, z, inclusive))
			}
			return true
		})
		return true
	})
	return group(FormatXCal, items)
}

// xprop is a property element: <dtstart><parameters>…</parameters><date-time>…</date-time></dtstart>.
type xprop struct {
	doc *xmlDoc
	n   *xnode
}

// param is the text of parameter name, and whether it is present.
func (p xprop) param(name string) (string, bool) {
	ps := p.doc.child(p.n, "parameters")
	pn := p.doc.child(ps, name)
	if pn == nil {
		return "", false
	}
	if pn.first == 0 {
		return strings.TrimSpace(pn.text), true
	}
	return strings.TrimSpace(p.doc.nodes[pn.first].text), true
}

// values are the value elements of the property (everything but <parameters>).
func (p xprop) values() []*xnode {
	var out []*xnode
	p.doc.children(p.n, func(c *xnode) bool {
		if c.name != "parameters" {
			out = append(out, c)
		}
		return true
	})
	return out
}

// value is the first value element, or nil.
func (p xprop) value() *xnode {
	for i := p.n.first; i != 0; i = p.doc.nodes[i].next {
		if c := &p.doc.nodes[i]; c.name != "parameters" {
			return c
		}
	}
	return nil
}

func (p xprop) text() string {
	if v := p.value(); v != nil {
		return v.text
	}
	return ""
}

func xerr(uid, prop string, err error) *ParseError {
	return &ParseError{Format: FormatXCal, UID: uid, Property: prop, Err: err}
}

// xcalTime reads a date or date-time value element under the property's tzid.
func xcalTime(v *xnode, tzid string, hasTZID bool, z *zones) (Time, error) {
	s := strings.TrimSpace(v.text)
	st, err := parseExtended(s)
	if err != nil {
		return Time{}, fmt.Errorf("<%s>%s: %v", v.name, ical.Clip(s), err)
	}
	switch v.name {
	case "date":
		if !st.date {
			return Time{}, fmt.Errorf("<date> holds a date-time, %s", ical.Clip(s))
		}
	case "date-time":
		if st.date {
			return Time{}, fmt.Errorf("<date-time> holds a date, %s", ical.Clip(s))
		}
	default:
		return Time{}, fmt.Errorf("<%s> is not a date or date-time value", v.name)
	}
	return zonedTime(st, tzid, hasTZID, z)
}

// zonedTime applies a TZID: a UTC value and a date keep no zone (RFC 5545 §3.2.19), a local time takes it.
func zonedTime(st stamp, tzid string, hasTZID bool, z *zones) (Time, error) {
	if !hasTZID || st.date || st.utc {
		return st.in(nil), nil
	}
	loc, err := z.resolve(tzid)
	if err != nil {
		return Time{}, err
	}
	return st.in(loc), nil
}

// containsFold is strings.Contains ignoring ASCII case, without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// vcalProdID is the PRODID of a vcalendar.
func vcalProdID(doc *xmlDoc, vcal *xnode) string {
	if p := doc.child(doc.child(vcal, "properties"), "prodid"); p != nil {
		return xprop{doc, p}.text()
	}
	return ""
}

// xcalEvent reads one vevent. inclusive says an all-day DTEND is the event's last day, not the day after:
// Kolab clients built on libkolabxml (Roundcube, Kontact) store their own model's inclusive end date
// unchanged, and libkolabxml names itself in every PRODID it writes.
func xcalEvent(doc *xmlDoc, ve *xnode, z *zones, inclusive bool) built {
	props := doc.child(ve, "properties")
	ev := &Event{}
	if props == nil {
		return built{err: xerr("", "vevent", errors.New("has no <properties>"))}
	}
	if p := doc.child(props, "uid"); p != nil {
		ev.UID = clone(strings.TrimSpace(xprop{doc, p}.text()))
	}
	fail := func(prop string, err error) built {
		return built{uid: ev.UID, err: xerr(ev.UID, prop, err)}
	}
	var err error
	hasRRule, fromBusy := false, false
	for i := props.first; i != 0; i = doc.nodes[i].next {
		n := &doc.nodes[i]
		p := xprop{doc, n}
		switch n.name {
		case "summary":
			if ev.Summary == "" {
				ev.Summary = clone(p.text())
			}
		case "dtstart", "dtend", "recurrence-id":
			v := p.value()
			if v == nil {
				return fail(n.name, errors.New("has no value"))
			}
			tzid, has := p.param("tzid")
			t, err := xcalTime(v, tzid, has, z)
			if err != nil {
				return fail(n.name, err)
			}
			switch n.name {
			case "dtstart":
				if ev.Start.IsZero() {
					ev.Start = t
				}
			case "dtend":
				if ev.End.IsZero() {
					ev.End = t
				}
			default:
				if ev.RecurrenceID.IsZero() {
					ev.RecurrenceID = t
					r, _ := p.param("range")
					ev.ThisAndFuture = strings.EqualFold(r, "THISANDFUTURE")
				}
			}
		case "duration":
			s := strings.TrimSpace(p.text())
			if ev.Duration, err = ical.ParseDuration(s); err != nil {
				return fail(n.name, fmt.Errorf("%s: %v", ical.Clip(s), err))
			}
		case "status":
			ev.Status = clone(strings.ToUpper(strings.TrimSpace(p.text())))
		case "transp":
			ev.Transparent = strings.EqualFold(strings.TrimSpace(p.text()), "TRANSPARENT")
		case "x-custom":
			id := strings.TrimSpace(doc.child(n, "identifier").textOr())
			val := strings.ToUpper(strings.TrimSpace(doc.child(n, "value").textOr()))
			setBusy(ev, &fromBusy, id, val)
		case "x-microsoft-cdo-busystatus", "x-microsoft-cdo-intendedstatus":
			setBusy(ev, &fromBusy, n.name, strings.ToUpper(strings.TrimSpace(p.text())))
		case "rrule":
			if hasRRule {
				continue
			}
			hasRRule = true
			recur := doc.child(n, "recur")
			if recur == nil {
				return fail(n.name, errors.New("has no <recur> value"))
			}
			if ev.RRule, err = xcalRecur(doc, recur); err != nil {
				return fail(n.name, err)
			}
		case "exdate", "rdate":
			tzid, has := p.param("tzid")
			for _, v := range p.values() {
				if v.name == "period" {
					if n.name == "exdate" {
						return fail(n.name, errors.New("<period> is not an EXDATE value"))
					}
					rd, err := xcalPeriod(doc, v, tzid, has, z)
					if err != nil {
						return fail(n.name, err)
					}
					ev.RDates = append(ev.RDates, rd)
					continue
				}
				t, err := xcalTime(v, tzid, has, z)
				if err != nil {
					return fail(n.name, err)
				}
				if n.name == "exdate" {
					ev.ExDates = append(ev.ExDates, t)
				} else {
					ev.RDates = append(ev.RDates, RDate{Start: t})
				}
			}
		}
	}
	if ev.Start.IsZero() {
		return fail("dtstart", errors.New("missing: an event without a start cannot be placed in time"))
	}
	if !ev.End.IsZero() {
		ev.Duration = 0
	}
	allDayEnd(ev, inclusive)
	if err := checkSpan(ev); err != nil {
		prop := "dtend"
		if ev.End.IsZero() {
			prop = "duration"
		}
		return fail(prop, err)
	}
	return built{ev: ev, uid: ev.UID}
}

func (n *xnode) textOr() string {
	if n == nil {
		return ""
	}
	return n.text
}

// setBusy records Outlook's show-as value. BUSYSTATUS is what Outlook shows; INTENDEDSTATUS (what the
// organizer meant) only counts when there is no BUSYSTATUS.
func setBusy(ev *Event, fromBusy *bool, name, value string) {
	switch {
	case strings.EqualFold(name, "X-MICROSOFT-CDO-BUSYSTATUS"):
		if !*fromBusy {
			ev.BusyStatus = clone(value)
			*fromBusy = true
		}
	case strings.EqualFold(name, "X-MICROSOFT-CDO-INTENDEDSTATUS"):
		if !*fromBusy {
			ev.BusyStatus = clone(value)
		}
	}
}

func xcalPeriod(doc *xmlDoc, v *xnode, tzid string, has bool, z *zones) (RDate, error) {
	var rd RDate
	start := doc.child(v, "start")
	if start == nil {
		return rd, errors.New("<period> has no <start>")
	}
	st, err := parseExtended(strings.TrimSpace(start.text))
	if err != nil || st.date {
		return rd, fmt.Errorf("<period><start>%s: not a date-time", ical.Clip(start.text))
	}
	if rd.Start, err = zonedTime(st, tzid, has, z); err != nil {
		return rd, err
	}
	if end := doc.child(v, "end"); end != nil {
		et, err := parseExtended(strings.TrimSpace(end.text))
		if err != nil || et.date {
			return rd, fmt.Errorf("<period><end>%s: not a date-time", ical.Clip(end.text))
		}
		if rd.End, err = zonedTime(et, tzid, has, z); err != nil {
			return rd, err
		}
	} else if dur := doc.child(v, "duration"); dur != nil {
		d, err := ical.ParseDuration(strings.TrimSpace(dur.text))
		if err != nil {
			return rd, fmt.Errorf("<period><duration>%s: %v", ical.Clip(dur.text), err)
		}
		rd.End = rd.Start
		rd.End.T = rd.Start.T.Add(d)
	} else {
		return rd, errors.New("<period> has neither <end> nor <duration>")
	}
	if rd.End.T.Before(rd.Start.T) {
		return rd, fmt.Errorf("<period> ends (%s) before it starts (%s)", describe(rd.End), describe(rd.Start))
	}
	return rd, nil
}

// recurParts are the rule parts of RFC 6321 §3.6.10 in the order icalRRule writes them.
var recurParts = [...]string{"freq", "until", "count", "interval", "bysecond", "byminute", "byhour", "byday",
	"bymonthday", "byyearday", "byweekno", "bymonth", "bysetpos", "wkst"}

// xcalRecur turns <recur> into an RRULE value. <until> may hold its value directly (RFC 6321) or in a
// <date>/<date-time> child (libkolabxml's schema); either way it is written in the basic form.
func xcalRecur(doc *xmlDoc, recur *xnode) (string, error) {
	var b strings.Builder
	for _, part := range recurParts {
		var vals []string
		doc.children(recur, func(c *xnode) bool {
			if c.name == part {
				v := c.text
				if c.first != 0 {
					v = doc.nodes[c.first].text
				}
				vals = append(vals, strings.TrimSpace(v))
			}
			return true
		})
		if len(vals) == 0 {
			continue
		}
		if part == "until" {
			st, err := parseExtended(vals[0])
			if err != nil {
				return "", fmt.Errorf("<until>%s: %v", ical.Clip(vals[0]), err)
			}
			vals = []string{st.basic()}
		}
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(strings.ToUpper(part))
		b.WriteByte('=')
		b.WriteString(strings.ToUpper(strings.Join(vals, ",")))
	}
	rule := b.String()
	if err := checkRRule(rule); err != nil {
		return "", err
	}
	return rule, nil
}

// xcalTimezone reads a vtimezone component; nil when it has no tzid.
func xcalTimezone(doc *xmlDoc, c *xnode) *vtimezone {
	props := doc.child(c, "properties")
	tz := doc.child(props, "tzid")
	if tz == nil {
		return nil
	}
	v := &vtimezone{tzid: strings.TrimSpace(xprop{doc, tz}.text()), where: fmt.Sprintf("at offset %d", c.offset)}
	comps := doc.child(c, "components")
	if comps == nil {
		return v
	}
	doc.children(comps, func(o *xnode) bool {
		if o.name != "standard" && o.name != "daylight" {
			return true
		}
		ob := observance{daylight: o.name == "daylight"}
		ok := true
		op := doc.child(o, "properties")
		doc.children(op, func(p *xnode) bool {
			px := xprop{doc, p}
			text := strings.TrimSpace(px.text())
			var err error
			switch p.name {
			case "dtstart":
				ob.start, err = parseExtended(text)
			case "tzoffsetfrom":
				ob.from, err = ical.ParseUTCOffset(text)
			case "tzoffsetto":
				ob.to, err = ical.ParseUTCOffset(text)
			case "tzname":
				ob.name = text
			case "rrule":
				if r := doc.child(p, "recur"); r != nil {
					ob.rrule, err = xcalRecur(doc, r)
				}
			case "rdate":
				for _, val := range px.values() {
					st, err := parseExtended(strings.TrimSpace(val.text))
					if err != nil {
						ok = false
						return false
					}
					ob.rdates = append(ob.rdates, st)
				}
			}
			if err != nil {
				ok = false
				return false
			}
			return true
		})
		if ok && ob.start.year != 0 {
			v.obs = append(v.obs, ob)
		}
		return true
	})
	return v
}
