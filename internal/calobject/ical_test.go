package calobject

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Documents in the forms other software writes them, and the values a person reads off them.

const outlookExport = `BEGIN:VCALENDAR
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN
VERSION:2.0
METHOD:PUBLISH
X-MS-OLK-FORCEINSPECTOROPEN:TRUE
BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16011028T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010325T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
CLASS:PUBLIC
CREATED:20260210T101500Z
DESCRIPTION:Agenda:\nPunkt 1\, Punkt 2\n
DTEND;TZID="W. Europe Standard Time":20260407T110000
DTSTAMP:20260210T101500Z
DTSTART;TZID="W. Europe Standard Time":20260407T100000
EXDATE;TZID="W. Europe Standard Time":20260421T100000,20260428T100000
LAST-MODIFIED:20260210T101500Z
LOCATION:Raum 1
PRIORITY:5
RRULE:FREQ=WEEKLY;UNTIL=20260630T080000Z;INTERVAL=1;BYDAY=TU;WKST=MO
SEQUENCE:0
SUMMARY;LANGUAGE=de:Teamrunde\, wöchentlich
TRANSP:OPAQUE
UID:040000008200E00074C5B7101A82E00800000000D0C1F8F0E59AD901000000000000000010000000A9E3A8C1F0A6E54C9D2E0F4B1C6A7D35
X-MICROSOFT-CDO-BUSYSTATUS:OOF
X-MICROSOFT-CDO-IMPORTANCE:1
X-MICROSOFT-CDO-INTENDEDSTATUS:BUSY
X-MICROSOFT-DISALLOW-COUNTER:FALSE
X-MS-OLK-CONFTYPE:0
BEGIN:VALARM
TRIGGER:-PT15M
ACTION:DISPLAY
DESCRIPTION:Reminder
END:VALARM
END:VEVENT
BEGIN:VEVENT
CLASS:PUBLIC
DTEND;TZID="W. Europe Standard Time":20260415T170000
DTSTAMP:20260210T101500Z
DTSTART;TZID="W. Europe Standard Time":20260415T160000
RECURRENCE-ID;TZID="W. Europe Standard Time":20260414T100000
SUMMARY;LANGUAGE=de:Teamrunde (verschoben)
UID:040000008200E00074C5B7101A82E00800000000D0C1F8F0E59AD901000000000000000010000000A9E3A8C1F0A6E54C9D2E0F4B1C6A7D35
X-MICROSOFT-CDO-INTENDEDSTATUS:TENTATIVE
END:VEVENT
END:VCALENDAR
`

func TestOutlookExport(t *testing.T) {
	got, err := ParseICalendar([]byte(crlf(outlookExport)))
	if err != nil {
		t.Fatal(err)
	}
	uid := "040000008200E00074C5B7101A82E00800000000D0C1F8F0E59AD901000000000000000010000000A9E3A8C1F0A6E54C9D2E0F4B1C6A7D35"
	want := []*Event{{UID: uid, Summary: "Teamrunde, wöchentlich",
		Start: zt(berlin, 2026, 4, 7, 10, 0), End: zt(berlin, 2026, 4, 7, 11, 0), BusyStatus: "OOF",
		RRule:   "FREQ=WEEKLY;UNTIL=20260630T080000Z;INTERVAL=1;BYDAY=TU;WKST=MO",
		ExDates: []Time{zt(berlin, 2026, 4, 21, 10, 0), zt(berlin, 2026, 4, 28, 10, 0)},
		Overrides: []*Event{{UID: uid, Summary: "Teamrunde (verschoben)", Start: zt(berlin, 2026, 4, 15, 16, 0), End: zt(berlin, 2026, 4, 15, 17, 0),
			RecurrenceID: zt(berlin, 2026, 4, 14, 10, 0), BusyStatus: "TENTATIVE"}},
	}}
	checkEvents(t, "outlook", got, want)
	if name := got[0].Start.T.Location().String(); name != "Europe/Berlin" {
		t.Errorf("the Windows zone resolved to %q, want the IANA zone Europe/Berlin", name)
	}
}

// Lightning writes LF line ends when exporting to a file, and vendor-prefixed zone names.
const lightningExport = `BEGIN:VCALENDAR
PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN
VERSION:2.0
BEGIN:VTIMEZONE
TZID:/mozilla.org/20050126_1/Europe/Berlin
X-LIC-LOCATION:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
CREATED:20260301T120000Z
LAST-MODIFIED:20260301T120000Z
DTSTAMP:20260301T120000Z
UID:6a1e8d0c-2f3b-4c8e-9d7a-1b2c3d4e5f60
SUMMARY:Zahnarzt
STATUS:TENTATIVE
DTSTART;TZID=/mozilla.org/20050126_1/Europe/Berlin:20260512T140000
DTEND;TZID=/mozilla.org/20050126_1/Europe/Berlin:20260512T153000
TRANSP:TRANSPARENT
X-MOZ-GENERATION:1
END:VEVENT
BEGIN:VTODO
UID:todo-1
SUMMARY:Not an event
DTSTART:20260512T140000Z
END:VTODO
END:VCALENDAR
`

func TestLightningExport(t *testing.T) {
	got, err := ParseICalendar([]byte(lightningExport))
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "lightning", got, []*Event{{UID: "6a1e8d0c-2f3b-4c8e-9d7a-1b2c3d4e5f60", Summary: "Zahnarzt",
		Start: zt(berlin, 2026, 5, 12, 14, 0), End: zt(berlin, 2026, 5, 12, 15, 30), Status: "TENTATIVE", Transparent: true}})
}

// customZone is a zone only its VTIMEZONE defines: +03:30 in winter, +04:30 in summer, changing on the last
// Sundays of March and October.
const customZone = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//example//custom zone//EN
BEGIN:VEVENT
UID:winter
DTSTART;TZID=My Zone:20260115T100000
DTEND;TZID=My Zone:20260115T110000
END:VEVENT
BEGIN:VEVENT
UID:summer
DTSTART;TZID=My Zone:20260715T100000
DURATION:PT45M
END:VEVENT
BEGIN:VTIMEZONE
TZID:My Zone
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0430
TZOFFSETTO:+0330
TZNAME:MYST
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0330
TZOFFSETTO:+0430
TZNAME:MYDT
END:DAYLIGHT
END:VTIMEZONE
END:VCALENDAR
`

func TestCustomZone(t *testing.T) {
	got, err := ParseICalendar([]byte(crlf(customZone)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d events", len(got))
	}
	for _, c := range []struct {
		ev     *Event
		utc    string
		offset int
	}{{got[0], "2026-01-15T06:30:00Z", 3*3600 + 1800}, {got[1], "2026-07-15T05:30:00Z", 4*3600 + 1800}} {
		if s := c.ev.Start.T.UTC().Format(time.RFC3339); s != c.utc {
			t.Errorf("%s: start %s, want %s", c.ev.UID, s, c.utc)
		}
		if _, off := c.ev.Start.T.Zone(); off != c.offset {
			t.Errorf("%s: offset %d, want %d", c.ev.UID, off, c.offset)
		}
		if n := c.ev.Start.T.Location().String(); n != "My Zone" {
			t.Errorf("%s: zone named %q", c.ev.UID, n)
		}
	}
	if got[1].Duration != 45*time.Minute || !got[1].End.IsZero() {
		t.Errorf("summer: End %v, Duration %v; want no End and 45m", got[1].End, got[1].Duration)
	}
	// The change itself: 02:00 local standard time on 29 March 2026 is 22:30 UTC the day before.
	loc := got[0].Start.T.Location()
	for _, c := range []struct {
		at     string
		offset int
	}{{"2026-03-28T22:29:59Z", 12600}, {"2026-03-28T22:30:00Z", 16200}, {"2026-10-24T22:29:59Z", 16200}, {"2026-10-24T22:30:00Z", 12600}} {
		at, _ := time.Parse(time.RFC3339, c.at)
		if _, off := at.In(loc).Zone(); off != c.offset {
			t.Errorf("offset at %s = %d, want %d", c.at, off, c.offset)
		}
	}
}

// vtzDoc wraps one VTIMEZONE and one event at local in that zone.
func vtzDoc(tzid, vtimezone, local string) string {
	return "BEGIN:VCALENDAR\nVERSION:2.0\n" + vtimezone + "BEGIN:VEVENT\nUID:e\nDTSTART;TZID=\"" + tzid + "\":" + local + "\nEND:VEVENT\nEND:VCALENDAR\n"
}

// TestVTimezoneForms checks the other ways a VTIMEZONE is written against the tz database's offsets.
func TestVTimezoneForms(t *testing.T) {
	eastern := `BEGIN:VTIMEZONE
TZID:Eastern (custom)
BEGIN:DAYLIGHT
DTSTART:19870405T020000
RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T070000Z
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
END:DAYLIGHT
BEGIN:DAYLIGHT
DTSTART:20070311T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:19671029T020000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;UNTIL=20061029T060000Z
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
END:STANDARD
BEGIN:STANDARD
DTSTART:20071104T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
END:STANDARD
END:VTIMEZONE
`
	oldApple := `BEGIN:VTIMEZONE
TZID:US/Eastern (old spelling)
BEGIN:DAYLIGHT
DTSTART:20070311T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=8,9,10,11,12,13,14;BYDAY=SU
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:20071104T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=1,2,3,4,5,6,7;BYDAY=SU
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
END:STANDARD
END:VTIMEZONE
`
	southern := `BEGIN:VTIMEZONE
TZID:Sydney (custom)
BEGIN:STANDARD
DTSTART:20080406T030000
RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU
TZOFFSETFROM:+1100
TZOFFSETTO:+1000
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:20081005T020000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=1SU
TZOFFSETFROM:+1000
TZOFFSETTO:+1100
END:DAYLIGHT
END:VTIMEZONE
`
	for _, c := range []struct {
		name, tzid, vtz, ref string
		locals               []string
	}{
		{"history", "Eastern (custom)", eastern, "America/New_York",
			[]string{"20050315T120000", "20050405T120000", "20051030T120000", "20060320T120000", "20260310T120000", "20260315T120000", "20261102T120000"}},
		{"bymonthday weeks", "US/Eastern (old spelling)", oldApple, "America/New_York",
			[]string{"20260307T120000", "20260309T120000", "20261031T120000", "20261102T120000"}},
		{"southern", "Sydney (custom)", southern, "Australia/Sydney",
			[]string{"20260115T120000", "20260415T120000", "20260715T120000", "20261015T120000"}},
	} {
		ref := zone(c.ref)
		for _, local := range c.locals {
			evs, err := ParseICalendar([]byte(vtzDoc(c.tzid, c.vtz, local)))
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			st, _ := parseBasic(local)
			want := time.Date(st.year, time.Month(st.month), st.day, st.hour, st.minute, 0, 0, ref)
			if !evs[0].Start.T.Equal(want) {
				t.Errorf("%s: %s is %s, the tz database says %s", c.name, local, evs[0].Start.T.UTC(), want.UTC())
			}
		}
	}
}

func TestVTimezoneFixedAndSteps(t *testing.T) {
	fixed := "BEGIN:VTIMEZONE\nTZID:India (custom)\nBEGIN:STANDARD\nDTSTART:16010101T000000\nTZOFFSETFROM:+0530\nTZOFFSETTO:+0530\nEND:STANDARD\nEND:VTIMEZONE\n"
	evs, err := ParseICalendar([]byte(vtzDoc("India (custom)", fixed, "20260601T090000")))
	if err != nil {
		t.Fatal(err)
	}
	if s := evs[0].Start.T.UTC().Format(time.RFC3339); s != "2026-06-01T03:30:00Z" {
		t.Errorf("fixed zone: %s", s)
	}
	// One-off observances, as a writer produces them for a zone whose rules changed: +02 until mid-2010,
	// +03 until 2020, +01 since.
	steps := `BEGIN:VTIMEZONE
TZID:Steps
BEGIN:STANDARD
DTSTART:20000101T000000
TZOFFSETFROM:+0200
TZOFFSETTO:+0200
END:STANDARD
BEGIN:STANDARD
DTSTART:20100601T000000
TZOFFSETFROM:+0200
TZOFFSETTO:+0300
END:STANDARD
BEGIN:STANDARD
DTSTART:20200101T000000
TZOFFSETFROM:+0300
TZOFFSETTO:+0100
END:STANDARD
END:VTIMEZONE
`
	for local, want := range map[string]string{"20050101T120000": "2005-01-01T10:00:00Z", "20150101T120000": "2015-01-01T09:00:00Z",
		"20250101T120000": "2025-01-01T11:00:00Z", "19900101T120000": "1990-01-01T10:00:00Z"} {
		evs, err := ParseICalendar([]byte(vtzDoc("Steps", steps, local)))
		if err != nil {
			t.Fatal(err)
		}
		if s := evs[0].Start.T.UTC().Format(time.RFC3339); s != want {
			t.Errorf("steps: %s is %s, want %s", local, s, want)
		}
	}
}

func TestZoneNames(t *testing.T) {
	for tzid, want := range map[string]string{
		"Europe/Berlin":                                                       "Europe/Berlin",
		"/kolab.org/Europe/Berlin":                                            "Europe/Berlin",
		"/mozilla.org/20050126_1/Europe/Berlin":                               "Europe/Berlin",
		"/mozilla.org/20070129_1/America/New_York":                            "America/New_York",
		"/freeassociation.sourceforge.net/Tzfile/Europe/Berlin":               "Europe/Berlin",
		"/citadel.org/20190914_1/Europe/Berlin":                               "Europe/Berlin",
		"/softwarestudio.org/Olson_20011030_5/America/Argentina/Buenos_Aires": "America/Argentina/Buenos_Aires",
		"W. Europe Standard Time":                                             "Europe/Berlin",
		"Eastern Standard Time":                                               "America/New_York",
		"(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna":        "Europe/Berlin",
		"UTC": "UTC",
	} {
		loc, err := (&zones{}).resolve(tzid)
		if err != nil {
			t.Errorf("%q: %v", tzid, err)
			continue
		}
		if loc.String() != want {
			t.Errorf("%q resolved to %q, want %q", tzid, loc, want)
		}
	}
	for _, tzid := range []string{"Local", "", "Mars/Olympus_Mons", "/kolab.org/Nowhere", "../../etc/passwd"} {
		if _, err := (&zones{}).resolve(tzid); !errors.Is(err, ErrUnknownTimeZone) {
			t.Errorf("%q: err = %v, want ErrUnknownTimeZone", tzid, err)
		}
	}
}

func TestFoldingAndEscapes(t *testing.T) {
	doc := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:fold\r\n ed-uid\r\n" +
		"DTSTART;TZID=/mozilla.org/20050126_1/Eu\r\n rope/Berlin:20260601T0900\r\n 00\r\n" +
		"DTEND;TZID=\"Europe/Berlin\";X-PARAM=\"a;b:c\",plain:20260601T100000\r\n" +
		"SUMMARY:Line one\\nline two\\, with\\; specials \\\\ and a very long text that\n\t continues after a tab\r\n" +
		"DESCRIPTION:a broken line follows\r\nthis line has no name, as some writers fold without a space\r\n" +
		"STATUS:confirmed\r\n" +
		"END:VEVENT\r\nEND:VCALENDAR\r\n"
	got, err := ParseICalendar([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "folded", got, []*Event{{UID: "folded-uid",
		Summary: "Line one\nline two, with; specials \\ and a very long text that continues after a tab",
		Start:   zt(berlin, 2026, 6, 1, 9, 0), End: zt(berlin, 2026, 6, 1, 10, 0), Status: "CONFIRMED"}})
}

const recurrenceValues = `BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
UID:rdates
DTSTART;TZID=Europe/Berlin:20260601T100000
DTEND;TZID=Europe/Berlin:20260601T110000
RRULE:freq=weekly;count=4
RRULE:FREQ=DAILY
RDATE;VALUE=PERIOD;TZID=Europe/Berlin:20260610T100000/20260610T120000,20260611T100000/PT90M
RDATE;VALUE=PERIOD:20260612T080000Z/PT1H
RDATE;TZID=Europe/Berlin:20260613T100000,20260614T100000
EXDATE;TZID=Europe/Berlin:20260608T100000
EXDATE;TZID=Europe/Berlin:20260615T100000,20260622T100000
END:VEVENT
BEGIN:VEVENT
UID:dates
DTSTART;VALUE=DATE:20260701
RRULE:FREQ=WEEKLY;COUNT=3
RDATE;VALUE=DATE:20260704,20260705
EXDATE;VALUE=DATE:20260708
END:VEVENT
BEGIN:VEVENT
UID:weeks
DTSTART:20260801T090000
DURATION:P1W
END:VEVENT
BEGIN:VEVENT
UID:this-and-future
DTSTART:20260901T090000Z
DTEND:20260901T100000Z
RECURRENCE-ID;RANGE=THISANDFUTURE:20260901T080000Z
END:VEVENT
END:VCALENDAR
`

func TestRecurrenceValues(t *testing.T) {
	got, err := ParseICalendar([]byte(recurrenceValues))
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "recurrence values", got, []*Event{
		{UID: "rdates", Start: zt(berlin, 2026, 6, 1, 10, 0), End: zt(berlin, 2026, 6, 1, 11, 0), RRule: "FREQ=WEEKLY;COUNT=4",
			RDates: []RDate{
				{zt(berlin, 2026, 6, 10, 10, 0), zt(berlin, 2026, 6, 10, 12, 0)},
				{zt(berlin, 2026, 6, 11, 10, 0), zt(berlin, 2026, 6, 11, 11, 30)},
				{zt(time.UTC, 2026, 6, 12, 8, 0), zt(time.UTC, 2026, 6, 12, 9, 0)},
				{Start: zt(berlin, 2026, 6, 13, 10, 0)}, {Start: zt(berlin, 2026, 6, 14, 10, 0)}},
			ExDates: []Time{zt(berlin, 2026, 6, 8, 10, 0), zt(berlin, 2026, 6, 15, 10, 0), zt(berlin, 2026, 6, 22, 10, 0)}},
		{UID: "dates", Start: date(2026, 7, 1), RRule: "FREQ=WEEKLY;COUNT=3",
			RDates: []RDate{{Start: date(2026, 7, 4)}, {Start: date(2026, 7, 5)}}, ExDates: []Time{date(2026, 7, 8)}},
		{UID: "weeks", Start: floating(2026, 8, 1, 9, 0), Duration: 7 * 24 * time.Hour},
		// Its series is not in the object: the override stands alone.
		{UID: "this-and-future", Start: zt(time.UTC, 2026, 9, 1, 9, 0), End: zt(time.UTC, 2026, 9, 1, 10, 0),
			RecurrenceID: zt(time.UTC, 2026, 9, 1, 8, 0), ThisAndFuture: true},
	})
}

func TestOverridesAndOrder(t *testing.T) {
	doc := `BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
UID:series
RECURRENCE-ID:20260105T090000Z
DTSTART:20260106T090000Z
DTEND:20260106T100000Z
END:VEVENT
BEGIN:VEVENT
UID:other
DTSTART:20260110T090000Z
END:VEVENT
BEGIN:VEVENT
UID:series
DTSTART:20260101T090000Z
DTEND:20260101T100000Z
RRULE:FREQ=DAILY;COUNT=10
END:VEVENT
BEGIN:VEVENT
UID:series
RECURRENCE-ID:20260107T090000Z
DTSTART:20260107T120000Z
DTEND:20260107T130000Z
STATUS:CANCELLED
END:VEVENT
END:VCALENDAR
BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
UID:second-calendar
DTSTART;VALUE=DATE:20260301
DTEND;VALUE=DATE:20260302
END:VEVENT
END:VCALENDAR
`
	got, err := ParseICalendar([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "order", got, []*Event{
		{UID: "other", Start: zt(time.UTC, 2026, 1, 10, 9, 0)},
		{UID: "series", Start: zt(time.UTC, 2026, 1, 1, 9, 0), End: zt(time.UTC, 2026, 1, 1, 10, 0), RRule: "FREQ=DAILY;COUNT=10",
			Overrides: []*Event{
				{UID: "series", RecurrenceID: zt(time.UTC, 2026, 1, 5, 9, 0), Start: zt(time.UTC, 2026, 1, 6, 9, 0), End: zt(time.UTC, 2026, 1, 6, 10, 0)},
				{UID: "series", RecurrenceID: zt(time.UTC, 2026, 1, 7, 9, 0), Start: zt(time.UTC, 2026, 1, 7, 12, 0), End: zt(time.UTC, 2026, 1, 7, 13, 0), Status: "CANCELLED"},
			}},
		{UID: "second-calendar", Start: date(2026, 3, 1), End: date(2026, 3, 2)},
	})
}

// A VEVENT that fails spoils its own UID only: the others are returned beside the error.
func TestPartialResults(t *testing.T) {
	doc := `BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
UID:good
DTSTART:20260110T090000Z
END:VEVENT
BEGIN:VEVENT
UID:bad-zone
DTSTART;TZID=Atlantis/Capital:20260110T090000
END:VEVENT
BEGIN:VEVENT
UID:bad-override
DTSTART:20260101T090000Z
RRULE:FREQ=DAILY
END:VEVENT
BEGIN:VEVENT
UID:bad-override
RECURRENCE-ID:20260102T090000Z
DTSTART:20260102T250000Z
END:VEVENT
END:VCALENDAR
`
	got, err := ParseICalendar([]byte(doc))
	checkEvents(t, "partial", got, []*Event{{UID: "good", Start: zt(time.UTC, 2026, 1, 10, 9, 0)}})
	if !errors.Is(err, ErrUnknownTimeZone) {
		t.Errorf("err = %v, want one wrapping ErrUnknownTimeZone", err)
	}
	msg := err.Error()
	for _, s := range []string{`event "bad-zone": line 9: DTSTART`, `"Atlantis/Capital"`, `event "bad-override": line 19: DTSTART`, "hour 25"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not say %q", msg, s)
		}
	}
}

// Many unknown zones in one object are all reported, and a known zone still resolves after them.
func TestManyUnknownZones(t *testing.T) {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\n")
	for i := 0; i < 2*maxUnknownZones; i++ {
		fmt.Fprintf(&b, "BEGIN:VEVENT\nUID:u%d\nDTSTART;TZID=Nowhere/Zone%d:20260101T100000\nEND:VEVENT\n", i, i)
	}
	b.WriteString("BEGIN:VEVENT\nUID:known\nDTSTART;TZID=Europe/Berlin:20260101T100000\nEND:VEVENT\nEND:VCALENDAR\n")
	got, err := ParseICalendar([]byte(b.String()))
	checkEvents(t, "known", got, []*Event{{UID: "known", Start: zt(berlin, 2026, 1, 1, 10, 0)}})
	if n := strings.Count(err.Error(), "unknown time zone"); n != 2*maxUnknownZones {
		t.Errorf("%d unknown zones reported, want %d", n, 2*maxUnknownZones)
	}
}
