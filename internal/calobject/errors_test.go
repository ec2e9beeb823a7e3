package calobject

import (
	"errors"
	"strings"
	"testing"
)

// Malformed objects give a *ParseError that names the format, the event, the property and what is wrong.
func TestParseErrors(t *testing.T) {
	ical := func(body string) string {
		return "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:e1\n" + body + "END:VEVENT\nEND:VCALENDAR\n"
	}
	xcal := func(props string) string {
		return `<icalendar xmlns="urn:ietf:params:xml:ns:icalendar-2.0"><vcalendar><components><vevent><properties>` +
			`<uid><text>e1</text></uid>` + props + `</properties></vevent></components></vcalendar></icalendar>`
	}
	k2 := func(body string) string { return `<event version="1.0"><uid>e1</uid>` + body + `</event>` }
	parsers := map[string]func([]byte) ([]*Event, error){FormatICalendar: ParseICalendar, FormatXCal: ParseXCal, FormatKolab2: ParseKolab2}
	for _, c := range []struct {
		name, format, doc string
		uid, prop         string
		says              []string
	}{
		{"garbage", FormatICalendar, "\x00\x01\x02 not a calendar \xff", "", "", []string{"not an iCalendar document"}},
		{"empty", FormatICalendar, "", "", "", []string{"no BEGIN:VCALENDAR"}},
		{"truncated", FormatICalendar, "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:e1\nDTSTART:20260101T000000Z\n", "", "VEVENT", []string{"line 3", "truncated"}},
		{"truncated calendar", FormatICalendar, "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:e1\nDTSTART:20260101T000000Z\nEND:VEVENT\n", "", "VCALENDAR", []string{"line 1", "no END:VCALENDAR"}},
		{"misclosed", FormatICalendar, "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:e1\nEND:VTODO\nEND:VCALENDAR\n", "", "", []string{"END:VTODO closes BEGIN:VEVENT"}},
		{"no dtstart", FormatICalendar, ical("SUMMARY:x\n"), "e1", "DTSTART", []string{"missing"}},
		{"unknown zone", FormatICalendar, ical("DTSTART;TZID=Middle Earth/Shire:20260101T100000\n"), "e1", "DTSTART", []string{`"Middle Earth/Shire"`, "unknown time zone"}},
		{"bad month", FormatICalendar, ical("DTSTART:20261301T100000Z\n"), "e1", "DTSTART", []string{"month 13"}},
		{"bad day", FormatICalendar, ical("DTSTART;VALUE=DATE:20260230\n"), "e1", "DTSTART", []string{"day 30 does not exist in 2026-02"}},
		{"short date", FormatICalendar, ical("DTSTART:2026011\n"), "e1", "DTSTART", []string{"not a DATE"}},
		{"date-time as date", FormatICalendar, ical("DTSTART;VALUE=DATE:20260101T100000\n"), "e1", "DTSTART", []string{"VALUE=DATE, but"}},
		{"end before start", FormatICalendar, ical("DTSTART:20260101T100000Z\nDTEND:20260101T090000Z\n"), "e1", "DTEND", []string{"before the start"}},
		{"negative duration", FormatICalendar, ical("DTSTART:20260101T100000Z\nDURATION:-PT1H\n"), "e1", "DURATION", []string{"negative"}},
		{"bad duration", FormatICalendar, ical("DTSTART:20260101T100000Z\nDURATION:1 hour\n"), "e1", "DURATION", []string{"not a duration"}},
		{"bad rrule", FormatICalendar, ical("DTSTART:20260101T100000Z\nRRULE:FREQ=FORTNIGHTLY\n"), "e1", "RRULE", []string{"FREQ"}},
		{"rrule without freq", FormatICalendar, ical("DTSTART:20260101T100000Z\nRRULE:COUNT=3\n"), "e1", "RRULE", []string{"no FREQ"}},
		{"bad exdate", FormatICalendar, ical("DTSTART:20260101T100000Z\nEXDATE:20260102T100000Z,2026-01-03\n"), "e1", "EXDATE", []string{`"2026-01-03"`}},
		{"bad period", FormatICalendar, ical("DTSTART:20260101T100000Z\nRDATE;VALUE=PERIOD:20260102T100000Z\n"), "e1", "RDATE", []string{"not start/end"}},
		{"bad parameter", FormatICalendar, ical("DTSTART;TZID=\"Europe/Berlin:20260101T100000\n"), "e1", "DTSTART", []string{"not closed"}},
		{"broken vtimezone", FormatICalendar, "BEGIN:VCALENDAR\nBEGIN:VTIMEZONE\nTZID:Odd\nBEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETTO:+25\nEND:STANDARD\nEND:VTIMEZONE\n" +
			"BEGIN:VEVENT\nUID:e1\nDTSTART;TZID=Odd:20260101T100000\nEND:VEVENT\nEND:VCALENDAR\n", "e1", "DTSTART", []string{"VTIMEZONE (line 2)", "TZOFFSETTO"}},

		{"garbage", FormatXCal, "\x00\x01 not xml", "", "", []string{"not well-formed XML", "text outside the root"}},
		{"truncated", FormatXCal, xcal("")[:120], "", "", []string{"truncated"}},
		{"truncated tag", FormatXCal, xcal("")[:100], "", "", []string{"truncated"}},
		{"truncated attribute", FormatXCal, `<icalendar xmlns="urn:ietf`, "", "", []string{"truncated"}},
		{"wrong root", FormatXCal, `<vcalendar/>`, "", "", []string{"<vcalendar>, not <icalendar>"}},
		{"wrong namespace", FormatXCal, `<icalendar xmlns="urn:example"/>`, "", "", []string{"namespace"}},
		{"mismatched tags", FormatXCal, `<icalendar><vcalendar></icalendar></vcalendar>`, "", "", []string{"does not close"}},
		{"unknown entity", FormatXCal, `<icalendar>&nbsp;</icalendar>`, "", "", []string{"unknown entity"}},
		{"no dtstart", FormatXCal, xcal(`<summary><text>x</text></summary>`), "e1", "dtstart", []string{"missing"}},
		{"unknown zone", FormatXCal, xcal(`<dtstart><parameters><tzid><text>/kolab.org/Mordor</text></tzid></parameters><date-time>2026-01-01T10:00:00</date-time></dtstart>`),
			"e1", "dtstart", []string{"/kolab.org/Mordor", "unknown time zone"}},
		{"bad date", FormatXCal, xcal(`<dtstart><date-time>2026-01-01 10:00</date-time></dtstart>`), "e1", "dtstart", []string{"not a date"}},
		{"date in date-time", FormatXCal, xcal(`<dtstart><date-time>2026-01-01</date-time></dtstart>`), "e1", "dtstart", []string{"holds a date"}},
		{"bad until", FormatXCal, xcal(`<dtstart><date>2026-01-01</date></dtstart><rrule><recur><freq>DAILY</freq><until>soon</until></recur></rrule>`),
			"e1", "rrule", []string{"<until>"}},
		{"bad freq", FormatXCal, xcal(`<dtstart><date>2026-01-01</date></dtstart><rrule><recur><interval>2</interval></recur></rrule>`),
			"e1", "rrule", []string{"no FREQ"}},
		{"end before start", FormatXCal, xcal(`<dtstart><date>2026-01-05</date></dtstart><dtend><date>2026-01-01</date></dtend>`), "e1", "dtend", []string{"before the start"}},

		{"garbage", FormatKolab2, "garbage", "", "", []string{"not well-formed XML"}},
		{"truncated", FormatKolab2, `<event version="1.0"><uid>e1</uid><start-date>2026-01-01`, "", "", []string{"truncated"}},
		{"wrong root", FormatKolab2, `<icalendar/>`, "", "", []string{"<icalendar>, not <event>"}},
		{"no start", FormatKolab2, k2(`<summary>x</summary>`), "e1", "start-date", []string{"missing"}},
		{"bad start", FormatKolab2, k2(`<start-date>yesterday</start-date>`), "e1", "start-date", []string{`"yesterday"`}},
		{"bad end", FormatKolab2, k2(`<start-date>2026-01-01</start-date><end-date>2026-02-31</end-date>`), "e1", "end-date", []string{"day 31"}},
		{"end before start", FormatKolab2, k2(`<start-date>2026-01-05</start-date><end-date>2026-01-01</end-date>`), "e1", "end-date", []string{"before the start"}},
		{"bad cycle", FormatKolab2, k2(`<start-date>2026-01-01</start-date><recurrence cycle="hourly"/>`), "e1", "recurrence", []string{`"hourly"`}},
		{"bad day", FormatKolab2, k2(`<start-date>2026-01-01</start-date><recurrence cycle="weekly"><day>funday</day></recurrence>`), "e1", "recurrence", []string{`"funday"`}},
		{"bad range", FormatKolab2, k2(`<start-date>2026-01-01</start-date><recurrence cycle="daily"><range type="date">never</range></recurrence>`), "e1", "recurrence", []string{`"never"`}},
		{"weekday without day", FormatKolab2, k2(`<start-date>2026-01-01</start-date><recurrence cycle="monthly" type="weekday"><daynumber>2</daynumber></recurrence>`),
			"e1", "recurrence", []string{"one <day>"}},
		{"bad exclusion", FormatKolab2, k2(`<start-date>2026-01-01</start-date><recurrence cycle="daily"><exclusion>2026-01-02T10:00:00Z</exclusion></recurrence>`),
			"e1", "recurrence", []string{"<exclusion>"}},
	} {
		evs, err := parsers[c.format]([]byte(c.doc))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s %s: err = %v (%d events), want a *ParseError", c.format, c.name, err, len(evs))
			continue
		}
		if len(evs) != 0 {
			t.Errorf("%s %s: %d events beside the error", c.format, c.name, len(evs))
		}
		if pe.Format != c.format || pe.UID != c.uid || pe.Property != c.prop {
			t.Errorf("%s %s: format %q, UID %q, property %q; want %q, %q, %q (%v)", c.format, c.name, pe.Format, pe.UID, pe.Property, c.format, c.uid, c.prop, err)
		}
		for _, s := range c.says {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s %s: %q does not say %q", c.format, c.name, err, s)
			}
		}
		if errors.Is(err, ErrNoCalendarObject) {
			t.Errorf("%s %s: a malformed object is not ErrNoCalendarObject", c.format, c.name)
		}
	}
}

func TestNoEvents(t *testing.T) {
	for name, c := range map[string]struct {
		parse func([]byte) ([]*Event, error)
		doc   string
	}{
		"iCalendar with a VTODO": {ParseICalendar, "BEGIN:VCALENDAR\nBEGIN:VTODO\nUID:t\nEND:VTODO\nEND:VCALENDAR\n"},
		"xCal with a vtodo":      {ParseXCal, `<icalendar xmlns="urn:ietf:params:xml:ns:icalendar-2.0"><vcalendar><components><vtodo/></components></vcalendar></icalendar>`},
		"Kolab 2 task":           {ParseKolab2, `<task version="1.0"><uid>t</uid></task>`},
	} {
		if _, err := c.parse([]byte(c.doc)); !errors.Is(err, ErrNoCalendarObject) {
			t.Errorf("%s: err = %v, want ErrNoCalendarObject", name, err)
		}
	}
}
