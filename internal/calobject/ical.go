package calobject

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mailshift/mailshift/internal/ical"
)

// ParseICalendar reads the VEVENTs of iCalendar text (RFC 5545): one or more VCALENDAR objects, lines
// folded with CRLF or LF, modified instances (RECURRENCE-ID) attached to their series, time zones resolved
// by name or by the object's own VTIMEZONEs. VTODO, VJOURNAL, VFREEBUSY and VALARM content is ignored.
//
// Events that cannot be read are left out and reported in the error: one *ParseError each (joined with
// errors.Join when there are several); the events that could be read are returned beside it. A document
// that is no iCalendar at all, or is cut short, gives no events. A valid document without a VEVENT gives an
// error wrapping ErrNoCalendarObject.
func ParseICalendar(data []byte) ([]*Event, error) {
	return parseICal(string(data))
}

// cline is a parsed content line.
type cline = ical.ContentLine

func icalErr(uid string, line int, prop string, err error) *ParseError {
	return &ParseError{Format: FormatICalendar, UID: uid, Line: line, Property: prop, Err: err}
}

// eventProps are the VEVENT properties free/busy needs; every other line is skipped unparsed.
var eventProps = map[string]bool{"UID": true, "SUMMARY": true, "DTSTART": true, "DTEND": true, "DURATION": true,
	"STATUS": true, "TRANSP": true, "X-MICROSOFT-CDO-BUSYSTATUS": true, "X-MICROSOFT-CDO-INTENDEDSTATUS": true,
	"RRULE": true, "RDATE": true, "EXDATE": true, "RECURRENCE-ID": true}

var observanceProps = map[string]bool{"DTSTART": true, "TZOFFSETFROM": true, "TZOFFSETTO": true, "RRULE": true,
	"RDATE": true, "TZNAME": true}

// maxNesting bounds component nesting; real objects nest three deep (VCALENDAR, VEVENT, VALARM).
const maxNesting = 32

// rawEvent is a VEVENT's wanted properties, collected before its calendar's VTIMEZONEs are all known.
type rawEvent struct {
	line  int
	props []cline
	lerr  *lineError
}

type icalParser struct {
	lx *ical.Lexer
}

func parseICal(src string) ([]*Event, error) {
	p := &icalParser{lx: ical.NewLexer(src)}
	var items []built
	seen := false
	for {
		l, ok := p.lx.Next()
		if !ok {
			break
		}
		if isSpace(l.First) && !l.Folded {
			continue
		}
		name := l.Name()
		if name == "BEGIN" {
			c, err := ical.ParseLine(l.Text(), l.Line)
			if err == nil && strings.EqualFold(c.Value, "VCALENDAR") {
				seen = true
				evs, err := p.calendar(l.Line)
				if err != nil {
					return nil, err
				}
				items = append(items, evs...)
				continue
			}
		}
		if !seen {
			return nil, icalErr("", l.Line, "", fmt.Errorf("not an iCalendar document: it starts with %s, not BEGIN:VCALENDAR", ical.Clip(l.First)))
		}
		// Anything after the last END:VCALENDAR (a signature, padding) is not part of the object.
	}
	if !seen {
		return nil, icalErr("", 0, "", errors.New("not an iCalendar document: no BEGIN:VCALENDAR"))
	}
	return group(FormatICalendar, items)
}

// beginEnd reads the component name of a BEGIN or END line.
func beginEnd(l ical.RawLine) (string, error) {
	c, err := ical.ParseLine(l.Text(), l.Line)
	if err != nil {
		return "", icalErr("", l.Line, "", fmt.Errorf("%s: %v", ical.Clip(l.First), err))
	}
	return ical.Upper(strings.TrimSpace(c.Value)), nil
}

func (p *icalParser) calendar(begin int) ([]built, error) {
	z := &zones{}
	var raws []*rawEvent
	for {
		l, ok := p.lx.Next()
		if !ok {
			return nil, icalErr("", begin, "VCALENDAR", errors.New("BEGIN:VCALENDAR has no END:VCALENDAR (truncated?)"))
		}
		switch l.Name() {
		case "BEGIN":
			comp, err := beginEnd(l)
			if err != nil {
				return nil, err
			}
			switch comp {
			case "VEVENT":
				ev, err := p.event(l.Line)
				if err != nil {
					return nil, err
				}
				raws = append(raws, ev)
			case "VTIMEZONE":
				v, err := p.timezone(l.Line)
				if err != nil {
					return nil, err
				}
				if v.tzid != "" {
					z.add(v)
				}
			default:
				if err := p.skip(comp, l.Line, 2); err != nil {
					return nil, err
				}
			}
		case "END":
			comp, err := beginEnd(l)
			if err != nil {
				return nil, err
			}
			if comp != "VCALENDAR" {
				return nil, icalErr("", l.Line, "", fmt.Errorf("END:%s without BEGIN:%s", comp, comp))
			}
			items := make([]built, len(raws))
			for i, r := range raws {
				items[i] = r.build(z)
			}
			return items, nil
		}
	}
}

// skip passes over a component the reader does not need, checking that it is closed.
func (p *icalParser) skip(comp string, begin, depth int) error {
	if depth > maxNesting {
		return icalErr("", begin, "", fmt.Errorf("components nested more than %d deep", maxNesting))
	}
	for {
		l, ok := p.lx.Next()
		if !ok {
			return icalErr("", begin, comp, fmt.Errorf("BEGIN:%s has no END:%s (truncated?)", comp, comp))
		}
		switch l.Name() {
		case "BEGIN":
			inner, err := beginEnd(l)
			if err != nil {
				return err
			}
			if err := p.skip(inner, l.Line, depth+1); err != nil {
				return err
			}
		case "END":
			c, err := beginEnd(l)
			if err != nil {
				return err
			}
			if c != comp {
				return icalErr("", l.Line, "", fmt.Errorf("END:%s closes BEGIN:%s of line %d", c, comp, begin))
			}
			return nil
		}
	}
}

// lineError is a wanted property line that could not be parsed: it spoils the component it is in, not the
// document.
type lineError struct {
	line int
	prop string
	err  error
}

// props collects the wanted properties of a component up to its END. Nested components go to sub, or are
// skipped when sub is nil. The error is structural (an unclosed or misclosed component): the document
// cannot be read.
func (p *icalParser) props(comp string, begin int, wanted map[string]bool, sub func(name string, line int) error) ([]cline, *lineError, error) {
	var out []cline
	var lerr *lineError
	for {
		l, ok := p.lx.Next()
		if !ok {
			return nil, nil, icalErr("", begin, comp, fmt.Errorf("BEGIN:%s has no END:%s (truncated?)", comp, comp))
		}
		name := l.Name()
		switch {
		case name == "BEGIN":
			inner, err := beginEnd(l)
			if err != nil {
				return nil, nil, err
			}
			if sub != nil {
				err = sub(inner, l.Line)
			} else {
				err = p.skip(inner, l.Line, 3)
			}
			if err != nil {
				return nil, nil, err
			}
		case name == "END":
			c, err := beginEnd(l)
			if err != nil {
				return nil, nil, err
			}
			if c != comp {
				return nil, nil, icalErr("", l.Line, "", fmt.Errorf("END:%s closes BEGIN:%s of line %d", c, comp, begin))
			}
			return out, lerr, nil
		case wanted[name]:
			c, err := ical.ParseLine(l.Text(), l.Line)
			if err != nil {
				if lerr == nil {
					lerr = &lineError{l.Line, name, err}
				}
				continue
			}
			c.Name = name // upper case, as the switches below compare it
			out = append(out, c)
		}
	}
}

func (p *icalParser) event(begin int) (*rawEvent, error) {
	props, lerr, err := p.props("VEVENT", begin, eventProps, nil)
	if err != nil {
		return nil, err
	}
	return &rawEvent{line: begin, props: props, lerr: lerr}, nil
}

func (p *icalParser) timezone(begin int) (*vtimezone, error) {
	v := &vtimezone{where: "line " + strconv.Itoa(begin)}
	var bad error
	note := func(err error) {
		if bad == nil {
			bad = err
		}
	}
	props, lerr, err := p.props("VTIMEZONE", begin, map[string]bool{"TZID": true}, func(comp string, line int) error {
		if comp != "STANDARD" && comp != "DAYLIGHT" {
			return p.skip(comp, line, 3)
		}
		ps, lerr, err := p.props(comp, line, observanceProps, nil)
		if err != nil {
			return err
		}
		if lerr != nil {
			note(fmt.Errorf("line %d: %s: %v", lerr.line, lerr.prop, lerr.err))
			return nil
		}
		o, err := observanceOf(comp == "DAYLIGHT", ps, line)
		if err != nil {
			note(err)
			return nil
		}
		v.obs = append(v.obs, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if lerr != nil {
		note(fmt.Errorf("line %d: %s: %v", lerr.line, lerr.prop, lerr.err))
	}
	for _, c := range props {
		if c.Name == "TZID" && v.tzid == "" {
			v.tzid = c.Value
		}
	}
	if bad != nil {
		v.obs, v.bad = nil, bad
	}
	return v, nil
}

func observanceOf(daylight bool, props []cline, line int) (observance, error) {
	o := observance{daylight: daylight}
	var haveStart, haveFrom, haveTo bool
	for _, c := range props {
		var err error
		switch c.Name {
		case "DTSTART":
			o.start, err = parseBasic(strings.TrimSpace(c.Value))
			haveStart = err == nil
		case "TZOFFSETFROM":
			o.from, err = ical.ParseUTCOffset(strings.TrimSpace(c.Value))
			haveFrom = err == nil
		case "TZOFFSETTO":
			o.to, err = ical.ParseUTCOffset(strings.TrimSpace(c.Value))
			haveTo = err == nil
		case "RRULE":
			if o.rrule == "" {
				o.rrule = strings.TrimSpace(c.Value)
			}
		case "TZNAME":
			o.name = ical.UnescapeText(c.Value)
		case "RDATE":
			for _, v := range strings.Split(c.Value, ",") {
				st, e := parseBasic(strings.TrimSpace(v))
				if e != nil {
					err = e
					break
				}
				o.rdates = append(o.rdates, st)
			}
		}
		if err != nil {
			return o, fmt.Errorf("line %d: %s: %v", c.Line, c.Name, err)
		}
	}
	switch {
	case !haveStart:
		return o, fmt.Errorf("line %d: the observance has no DTSTART", line)
	case !haveTo:
		return o, fmt.Errorf("line %d: the observance has no TZOFFSETTO", line)
	case !haveFrom:
		o.from = o.to
	}
	return o, nil
}

// build turns the collected properties into an event.
func (r *rawEvent) build(z *zones) built {
	ev := &Event{}
	for _, c := range r.props {
		if c.Name == "UID" {
			ev.UID = clone(ical.UnescapeText(strings.TrimSpace(c.Value)))
			break
		}
	}
	fail := func(line int, prop string, err error) built {
		return built{uid: ev.UID, err: icalErr(ev.UID, line, prop, err)}
	}
	if r.lerr != nil && r.lerr.prop != "SUMMARY" {
		return fail(r.lerr.line, r.lerr.prop, r.lerr.err)
	}
	var hasStart, hasEnd, hasDuration, hasRID, hasRRule, fromBusy bool
	var durationLine int
	for i := range r.props {
		c := &r.props[i]
		var err error
		switch c.Name {
		case "SUMMARY":
			if ev.Summary == "" {
				ev.Summary = clone(ical.UnescapeText(c.Value))
			}
		case "DTSTART", "DTEND", "RECURRENCE-ID":
			var t Time
			t, err = icalTime(c, z)
			if err != nil {
				break
			}
			switch {
			case c.Name == "DTSTART" && !hasStart:
				ev.Start, hasStart = t, true
			case c.Name == "DTEND" && !hasEnd:
				ev.End, hasEnd = t, true
			case c.Name == "RECURRENCE-ID" && !hasRID:
				ev.RecurrenceID, hasRID = t, true
				rng, _ := c.Param("RANGE")
				ev.ThisAndFuture = strings.EqualFold(strings.TrimSpace(rng), "THISANDFUTURE")
			}
		case "DURATION":
			if !hasDuration {
				ev.Duration, err = ical.ParseDuration(strings.TrimSpace(c.Value))
				if err != nil {
					err = fmt.Errorf("%s: %v", ical.Clip(c.Value), err)
				}
				hasDuration, durationLine = true, c.Line
			}
		case "STATUS":
			ev.Status = ical.Upper(clone(strings.TrimSpace(c.Value)))
		case "TRANSP":
			ev.Transparent = strings.EqualFold(strings.TrimSpace(c.Value), "TRANSPARENT")
		case "X-MICROSOFT-CDO-BUSYSTATUS", "X-MICROSOFT-CDO-INTENDEDSTATUS":
			setBusy(ev, &fromBusy, c.Name, ical.Upper(strings.TrimSpace(c.Value)))
		case "RRULE":
			if !hasRRule {
				hasRRule = true
				rule := ical.Upper(strings.TrimSpace(c.Value))
				if err = checkRRule(rule); err == nil {
					ev.RRule = clone(rule)
				}
			}
		case "EXDATE":
			var ts []Time
			ts, err = icalTimeList(c, z)
			ev.ExDates = append(ev.ExDates, ts...)
		case "RDATE":
			var rds []RDate
			rds, err = icalRDates(c, z)
			ev.RDates = append(ev.RDates, rds...)
		}
		if err != nil {
			return fail(c.Line, c.Name, err)
		}
	}
	if !hasStart {
		return fail(r.line, "DTSTART", errors.New("missing: an event without a start cannot be placed in time"))
	}
	if hasEnd {
		ev.Duration = 0 // RFC 5545 allows one of DTEND and DURATION; DTEND wins when a writer gives both
	}
	allDayEnd(ev, false)
	if err := checkSpan(ev); err != nil {
		line, prop := r.line, "DTEND"
		if !hasEnd {
			line, prop = durationLine, "DURATION"
		}
		for _, c := range r.props {
			if c.Name == prop {
				line = c.Line
				break
			}
		}
		return fail(line, prop, err)
	}
	return built{ev: ev, uid: ev.UID}
}

// valueType is the VALUE parameter, upper-cased, or "" when absent.
func valueType(c *cline) string {
	v, _ := c.Param("VALUE")
	return ical.Upper(strings.TrimSpace(v))
}

// icalTime reads a DATE or DATE-TIME property under its VALUE and TZID parameters. Without VALUE the form
// of the value decides: writers often leave VALUE=DATE out.
func icalTime(c *cline, z *zones) (Time, error) {
	return icalTimeValue(strings.TrimSpace(c.Value), valueType(c), c, z)
}

func icalTimeValue(v, vt string, c *cline, z *zones) (Time, error) {
	st, err := parseBasic(v)
	if err != nil {
		return Time{}, fmt.Errorf("%s: %v", ical.Clip(v), err)
	}
	switch vt {
	case "DATE":
		if !st.date {
			return Time{}, fmt.Errorf("VALUE=DATE, but %s is a DATE-TIME", ical.Clip(v))
		}
	case "DATE-TIME":
		if st.date {
			return Time{}, fmt.Errorf("VALUE=DATE-TIME, but %s is a DATE", ical.Clip(v))
		}
	case "":
	default:
		return Time{}, fmt.Errorf("VALUE=%s is not DATE or DATE-TIME", vt)
	}
	tzid, has := c.Param("TZID")
	return zonedTime(st, tzid, has, z)
}

func icalTimeList(c *cline, z *zones) ([]Time, error) {
	vt := valueType(c)
	var out []Time
	for _, v := range strings.Split(c.Value, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		t, err := icalTimeValue(v, vt, c, z)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// icalRDates reads RDATE values: dates, date-times, or periods (start/end or start/duration).
func icalRDates(c *cline, z *zones) ([]RDate, error) {
	vt := valueType(c)
	var out []RDate
	for _, v := range strings.Split(c.Value, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		startText, endText, isPeriod := strings.Cut(v, "/")
		if vt == "PERIOD" && !isPeriod {
			return nil, fmt.Errorf("VALUE=PERIOD, but %s is not start/end or start/duration", ical.Clip(v))
		}
		if !isPeriod {
			t, err := icalTimeValue(v, vt, c, z)
			if err != nil {
				return nil, err
			}
			out = append(out, RDate{Start: t})
			continue
		}
		start, err := icalTimeValue(startText, "DATE-TIME", c, z)
		if err != nil {
			return nil, fmt.Errorf("period %s: start %v", ical.Clip(v), err)
		}
		rd := RDate{Start: start}
		if strings.HasPrefix(endText, "P") || strings.HasPrefix(endText, "+P") || strings.HasPrefix(endText, "-P") {
			d, err := ical.ParseDuration(endText)
			if err != nil {
				return nil, fmt.Errorf("period %s: duration: %v", ical.Clip(v), err)
			}
			rd.End = start
			rd.End.T = start.T.Add(d)
		} else if rd.End, err = icalTimeValue(endText, "DATE-TIME", c, z); err != nil {
			return nil, fmt.Errorf("period %s: end %v", ical.Clip(v), err)
		}
		if rd.End.T.Before(rd.Start.T) {
			return nil, fmt.Errorf("period %s ends before it starts", ical.Clip(v))
		}
		out = append(out, rd)
	}
	return out, nil
}

var freqs = map[string]bool{"SECONDLY": true, "MINUTELY": true, "HOURLY": true, "DAILY": true, "WEEKLY": true,
	"MONTHLY": true, "YEARLY": true}

// checkRRule checks the syntax of an upper-cased RRULE value (RFC 5545 §3.3.10) so that a broken rule is
// reported with the object rather than failing later in an expansion. Parts it does not know (RSCALE,
// SKIP of RFC 7529, X- parts) are left alone.
func checkRRule(rule string) error {
	if rule == "" {
		return errors.New("empty rule")
	}
	hasFreq := false
	for _, part := range strings.Split(rule, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || v == "" {
			return fmt.Errorf("rule part %s is not NAME=VALUE", ical.Clip(part))
		}
		bad := func(what string) error { return fmt.Errorf("%s=%s: %s", k, ical.Clip(v), what) }
		switch k {
		case "FREQ":
			if !freqs[v] {
				return bad("not SECONDLY, MINUTELY, HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY")
			}
			hasFreq = true
		case "UNTIL":
			if _, err := parseBasic(v); err != nil {
				return bad(err.Error())
			}
		case "COUNT", "INTERVAL":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return bad("not a positive number")
			}
		case "BYSECOND":
			if err := intList(v, 0, 60, false); err != nil {
				return bad(err.Error())
			}
		case "BYMINUTE":
			if err := intList(v, 0, 59, false); err != nil {
				return bad(err.Error())
			}
		case "BYHOUR":
			if err := intList(v, 0, 23, false); err != nil {
				return bad(err.Error())
			}
		case "BYMONTHDAY":
			if err := intList(v, 1, 31, true); err != nil {
				return bad(err.Error())
			}
		case "BYYEARDAY", "BYSETPOS":
			if err := intList(v, 1, 366, true); err != nil {
				return bad(err.Error())
			}
		case "BYWEEKNO":
			if err := intList(v, 1, 53, true); err != nil {
				return bad(err.Error())
			}
		case "BYMONTH":
			if err := intList(v, 1, 12, false); err != nil {
				return bad(err.Error())
			}
		case "BYDAY":
			for _, d := range strings.Split(v, ",") {
				if len(d) < 2 {
					return bad("not a weekday list")
				}
				if _, ok := weekdayByCode[d[len(d)-2:]]; !ok {
					return bad(fmt.Sprintf("%s is not a weekday", ical.Clip(d)))
				}
				if num := d[:len(d)-2]; num != "" {
					n, err := strconv.Atoi(num)
					if err != nil || n == 0 || n < -53 || n > 53 {
						return bad(fmt.Sprintf("%s: the week number is not ±1…53", ical.Clip(d)))
					}
				}
			}
		case "WKST":
			if _, ok := weekdayByCode[v]; !ok {
				return bad("not a weekday")
			}
		}
	}
	if !hasFreq {
		return errors.New("the rule has no FREQ")
	}
	return nil
}

// intList checks a comma-separated list of integers in [lo, hi] (and their negatives when signed).
func intList(v string, lo, hi int, signed bool) error {
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%s is not a number", ical.Clip(s))
		}
		if signed && n < 0 {
			n = -n
		}
		if n < lo || n > hi {
			return fmt.Errorf("%d is out of range", n)
		}
	}
	return nil
}
