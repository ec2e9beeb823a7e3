package calobject

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/ical"
)

// ParseKolab2 reads a Kolab format 2 event (<event version="1.0">, the XML part of an
// application/x-vnd.kolab.event message). Kolab 2 times are UTC instants and its all-day end date is the
// last day (the model's End is the day after); its recurrence, converted to an RRULE, is meant in the wall
// clock of whoever reads it, so a recurring event has ExpandInReaderZone set. Kolab 2 cannot carry modified
// instances (writers turn them into exclusions), so the result never has Overrides. Another Kolab 2 object
// (task, note, contact) gives an error wrapping ErrNoCalendarObject.
func ParseKolab2(data []byte) ([]*Event, error) {
	src, err := xmlText(data)
	if err != nil {
		return nil, &ParseError{Format: FormatKolab2, Err: err}
	}
	return parseKolab2(src)
}

var kolab2Others = map[string]bool{"task": true, "note": true, "contact": true, "journal": true, "distribution-list": true}

func parseKolab2(src string) ([]*Event, error) {
	doc, err := parseXML(src)
	if err != nil {
		return nil, &ParseError{Format: FormatKolab2, Err: fmt.Errorf("not well-formed XML: %w", err)}
	}
	root := doc.root()
	if kolab2Others[root.name] {
		return nil, fmt.Errorf("%s: the object is a %s, not an event: %w", FormatKolab2, root.name, ErrNoCalendarObject)
	}
	if root.name != "event" {
		return nil, &ParseError{Format: FormatKolab2, Err: fmt.Errorf("the root element is <%s>, not <event>", qualified(root))}
	}
	ev := &Event{}
	text := func(name string) (string, bool) {
		n := doc.child(root, name)
		if n == nil {
			return "", false
		}
		return strings.TrimSpace(n.text), true
	}
	uid, _ := text("uid")
	ev.UID = clone(uid)
	fail := func(prop string, err error) ([]*Event, error) {
		return nil, &ParseError{Format: FormatKolab2, UID: ev.UID, Property: prop, Err: err}
	}
	if n := doc.child(root, "summary"); n != nil {
		ev.Summary = clone(n.text)
	}
	start, ok := text("start-date")
	if !ok || start == "" {
		return fail("start-date", errors.New("missing: an event without a start cannot be placed in time"))
	}
	if ev.Start, err = kolab2Time(start); err != nil {
		return fail("start-date", err)
	}
	if end, ok := text("end-date"); ok && end != "" {
		if ev.End, err = kolab2Time(end); err != nil {
			return fail("end-date", err)
		}
		if ev.End.AllDay {
			ev.End.T = ev.End.T.AddDate(0, 0, 1) // the last day → the day after, as DTEND counts
		}
		if err := checkSpan(ev); err != nil {
			return fail("end-date", err)
		}
	}
	if s, ok := text("show-time-as"); ok {
		switch strings.ToLower(s) {
		case "busy":
			ev.BusyStatus = "BUSY"
		case "free":
			ev.BusyStatus = "FREE"
		case "tentative":
			ev.BusyStatus = "TENTATIVE"
		case "outofoffice":
			ev.BusyStatus = "OOF"
		}
	}
	if r := doc.child(root, "recurrence"); r != nil {
		if err := kolab2Recurrence(doc, r, ev); err != nil {
			return fail("recurrence", err)
		}
		ev.ExpandInReaderZone = true
	}
	return []*Event{ev}, nil
}

// kolab2Time reads a start or end: a date, or a UTC date-time ("2004-10-10T12:00:00Z"). A date-time without
// "Z" is still UTC, as the format defines all its times; one with a numeric offset is converted to UTC.
func kolab2Time(s string) (Time, error) {
	st, err := parseExtended(s)
	if err == nil {
		st.utc = !st.date
		return st.in(nil), nil
	}
	if t, err2 := time.Parse(time.RFC3339, s); err2 == nil {
		return Time{T: t.UTC()}, nil
	}
	return Time{}, fmt.Errorf("%s: %v", ical.Clip(s), err)
}

var kolab2Days = map[string]string{"sunday": "SU", "monday": "MO", "tuesday": "TU", "wednesday": "WE",
	"thursday": "TH", "friday": "FR", "saturday": "SA"}

var kolab2Months = map[string]int{"january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6,
	"july": 7, "august": 8, "september": 9, "october": 10, "november": 11, "december": 12}

// kolab2Recurrence converts <recurrence cycle=… type=…> (Kolab format 2.0, "Recurrence") to an RRULE, the
// inverse of what groupware's writer does: daily; weekly on days; monthly on a day number or the n-th
// weekday; yearly on a month day, the n-th weekday of a month or a day of the year; a range of none, a
// count or a last date. The last date is inclusive and in the reader's wall clock, so for a timed event
// UNTIL is the floating end of that day.
func kolab2Recurrence(doc *xmlDoc, r *xnode, ev *Event) error {
	cycle, _ := r.attr("cycle")
	typ, _ := r.attr("type")
	cycle, typ = strings.ToLower(strings.TrimSpace(cycle)), strings.ToLower(strings.TrimSpace(typ))
	var days []string
	var dayNumber, month, interval int
	hasDayNumber := false
	var err error
	var rangeType, rangeValue string
	hasRange := false
	doc.children(r, func(c *xnode) bool {
		v := strings.TrimSpace(c.text)
		switch c.name {
		case "interval":
			if interval, err = strconv.Atoi(v); err != nil || interval < 1 {
				err = fmt.Errorf("<interval>%s is not a positive number", ical.Clip(v))
			}
		case "day":
			d, ok := kolab2Days[strings.ToLower(v)]
			if !ok {
				err = fmt.Errorf("<day>%s is not a weekday", ical.Clip(v))
			}
			days = append(days, d)
		case "daynumber":
			hasDayNumber = true
			if dayNumber, err = strconv.Atoi(v); err != nil {
				err = fmt.Errorf("<daynumber>%s is not a number", ical.Clip(v))
			}
		case "month":
			m, ok := kolab2Months[strings.ToLower(v)]
			if !ok {
				err = fmt.Errorf("<month>%s is not a month name", ical.Clip(v))
			}
			month = m
		case "range":
			hasRange = true
			rangeType, _ = c.attr("type")
			rangeType, rangeValue = strings.ToLower(strings.TrimSpace(rangeType)), v
		case "exclusion":
			st, e := parseExtended(v)
			if e != nil || !st.date {
				err = fmt.Errorf("<exclusion>%s is not a date (YYYY-MM-DD)", ical.Clip(v))
				break
			}
			ev.ExDates = append(ev.ExDates, st.in(nil))
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	var parts []string
	add := func(p string) { parts = append(parts, p) }
	needDayNumber := func(lo, hi int, what string) error {
		if !hasDayNumber {
			return fmt.Errorf("cycle %s type %s has no <daynumber>", cycle, typ)
		}
		if dayNumber == 0 || dayNumber < -hi || dayNumber > hi || (dayNumber > 0 && dayNumber < lo) {
			return fmt.Errorf("<daynumber>%d is not %s", dayNumber, what)
		}
		return nil
	}
	var byDay, byMonthDay, byYearDay, byMonth string
	switch cycle {
	case "daily":
		add("FREQ=DAILY")
	case "weekly":
		add("FREQ=WEEKLY")
		byDay = strings.Join(days, ",")
	case "monthly", "yearly":
		add("FREQ=" + strings.ToUpper(cycle))
		switch {
		case typ == "weekday":
			if len(days) != 1 {
				return fmt.Errorf("cycle %s type weekday needs one <day>, has %d", cycle, len(days))
			}
			if err := needDayNumber(1, 5, "a week of the month (±1…5)"); err != nil {
				return err
			}
			byDay = strconv.Itoa(dayNumber) + days[0]
		case typ == "daynumber" || typ == "monthday" || typ == "":
			if hasDayNumber {
				if err := needDayNumber(1, 31, "a day of the month (±1…31)"); err != nil {
					return err
				}
				byMonthDay = strconv.Itoa(dayNumber)
			}
		case typ == "yearday" && cycle == "yearly":
			if err := needDayNumber(1, 366, "a day of the year (±1…366)"); err != nil {
				return err
			}
			byYearDay = strconv.Itoa(dayNumber)
		default:
			return fmt.Errorf("cycle %s has no type %s", cycle, ical.Clip(typ))
		}
		if cycle == "yearly" && typ != "yearday" && month != 0 {
			byMonth = strconv.Itoa(month)
		}
	default:
		return fmt.Errorf("cycle %s is not daily, weekly, monthly or yearly", ical.Clip(cycle))
	}
	if hasRange {
		switch rangeType {
		case "none", "":
		case "number":
			n, err := strconv.Atoi(rangeValue)
			if err != nil || n < 1 {
				return fmt.Errorf("<range type=\"number\">%s is not a positive number", ical.Clip(rangeValue))
			}
			add("COUNT=" + strconv.Itoa(n))
		case "date":
			st, err := parseExtended(rangeValue)
			if err != nil || !st.date {
				return fmt.Errorf("<range type=\"date\">%s is not a date (YYYY-MM-DD)", ical.Clip(rangeValue))
			}
			if !ev.Start.AllDay {
				st.date, st.hour, st.minute, st.second = false, 23, 59, 59
			}
			add("UNTIL=" + st.basic())
		default:
			return fmt.Errorf("<range type=%s> is not none, number or date", ical.Clip(rangeType))
		}
	}
	if interval > 1 {
		add("INTERVAL=" + strconv.Itoa(interval))
	}
	for _, p := range [...][2]string{{"BYDAY", byDay}, {"BYMONTHDAY", byMonthDay}, {"BYYEARDAY", byYearDay}, {"BYMONTH", byMonth}} {
		if p[1] != "" {
			add(p[0] + "=" + p[1])
		}
	}
	ev.RRule = strings.Join(parts, ";")
	return nil
}
