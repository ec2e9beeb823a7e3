package freebusy

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/calobject"
	"github.com/mailshift/mailshift/internal/ical"
	"github.com/mailshift/mailshift/internal/oracle"
)

var december = Options{
	Start:         ts("2026-12-01T00:00Z"),
	End:           ts("2027-01-30T00:00Z"),
	Organizer:     "alice@example.test",
	OrganizerName: "Alice Example",
	Stamp:         ts("2026-11-30T12:00Z"),
}

var decemberPeriods = []Period{
	per("2026-12-03T09:00Z", "2026-12-03T10:00Z", Busy),
	per("2026-12-04T13:00Z", "2026-12-04T14:30Z", Tentative),
	per("2026-12-24T00:00Z", "2026-12-27T00:00Z", Unavailable),
}

func write(t *testing.T, periods []Period, opt Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, periods, opt); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b.Bytes()
}

func TestWrite(t *testing.T) {
	want := "BEGIN:VCALENDAR\r\n" +
		"PRODID:-//mailshift//free-busy//EN\r\n" +
		"VERSION:2.0\r\n" +
		"METHOD:PUBLISH\r\n" +
		"BEGIN:VFREEBUSY\r\n" +
		"ORGANIZER;CN=\"Alice Example\":mailto:alice@example.test\r\n" +
		"DTSTAMP:20261130T120000Z\r\n" +
		"DTSTART:20261201T000000Z\r\n" +
		"DTEND:20270130T000000Z\r\n" +
		"UID:freebusy-alice@example.test\r\n" +
		"FREEBUSY;FBTYPE=BUSY:20261203T090000Z/20261203T100000Z\r\n" +
		"FREEBUSY;FBTYPE=BUSY-TENTATIVE:20261204T130000Z/20261204T143000Z\r\n" +
		"FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20261224T000000Z/20261227T000000Z\r\n" +
		"END:VFREEBUSY\r\n" +
		"END:VCALENDAR\r\n"
	if got := string(write(t, decemberPeriods, december)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestWriteOptions(t *testing.T) {
	opt := Options{
		Start:         time.Date(2026, 12, 1, 1, 0, 0, 0, berlin), // written in UTC
		End:           ts("2026-12-02T00:00Z"),
		Organizer:     "MAILTO:bob@example.test",
		OrganizerName: `Bob "B" O'Neil ^ Co`,
		ProductID:     "-//Example, Inc.//Calendar; v1//EN",
		UID:           "fb-1",
	}
	got := string(write(t, nil, opt))
	for _, line := range []string{
		"PRODID:-//Example\\, Inc.//Calendar\\; v1//EN\r\n",
		"ORGANIZER;CN=\"Bob ^'B^' O'Neil ^^ Co\":MAILTO:bob@example.test\r\n",
		"DTSTAMP:20261201T000000Z\r\n", // zero Stamp is Start
		"DTSTART:20261201T000000Z\r\n",
		"UID:fb-1\r\n",
		"DTEND:20261202T000000Z\r\nUID:fb-1\r\nEND:VFREEBUSY\r\n",
	} {
		if !strings.Contains(got, line) {
			t.Errorf("no %q in\n%s", line, got)
		}
	}
	if strings.Contains(got, "CN=\"\"") {
		t.Error("empty CN")
	}
	noName := december
	noName.OrganizerName = ""
	if got := string(write(t, nil, noName)); !strings.Contains(got, "\r\nORGANIZER:mailto:alice@example.test\r\n") {
		t.Errorf("organizer without CN:\n%s", got)
	}
}

func TestWriteFolds(t *testing.T) {
	opt := december
	opt.Organizer = "maximiliane.mueller@example.test"
	// Octet 76 of the line is the second octet of "ü": the fold moves before the character.
	opt.OrganizerName = "Maximiliane Müller-Lüdenscheidt (Abteilung für Kalenderprüfung) ÜÜÜÜ"
	got := string(write(t, nil, opt))
	want := "\r\nORGANIZER;CN=\"Maximiliane Müller-Lüdenscheidt (Abteilung für Kalenderpr\r\n" +
		" üfung) ÜÜÜÜ\":mailto:maximiliane.mueller@example.test\r\n"
	if !strings.Contains(got, want) {
		t.Errorf("got\n%s\nwant the organizer as\n%s", got, want)
	}
	opt.OrganizerName = strings.Repeat("Müller ", 40)
	got = string(write(t, nil, opt))
	for _, line := range strings.Split(strings.TrimSuffix(got, "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line of %d octets: %q", len(line), line)
		}
	}
	doc, err := Parse([]byte(got))
	if err != nil || doc.OrganizerName != opt.OrganizerName {
		t.Fatalf("read back %q, %v", doc.OrganizerName, err)
	}
}

func TestWriteErrors(t *testing.T) {
	bad := func(f func(*Options)) Options { o := december; f(&o); return o }
	for name, c := range map[string]struct {
		opt     Options
		periods []Period
	}{
		"no organizer":         {bad(func(o *Options) { o.Organizer = " " }), nil},
		"organizer space":      {bad(func(o *Options) { o.Organizer = "alice smith@example.test" }), nil},
		"empty window":         {bad(func(o *Options) { o.End = o.Start }), nil},
		"zero window":          {Options{Organizer: "a@example.test"}, nil},
		"control in name":      {bad(func(o *Options) { o.OrganizerName = "a\x00b" }), nil},
		"line break in PRODID": {bad(func(o *Options) { o.ProductID = "a\r\nBEGIN:VEVENT" }), nil},
		"empty period":         {december, []Period{per("2026-12-03T09:00Z", "2026-12-03T09:00Z", Busy)}},
		"unknown type":         {december, []Period{per("2026-12-03T09:00Z", "2026-12-03T10:00Z", "BUSY-ISH")}},
	} {
		if err := Write(&bytes.Buffer{}, c.periods, c.opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	periods := append([]Period{per("2026-12-01T00:00Z", "2026-12-01T08:00Z", Free)}, decemberPeriods...)
	doc, err := Parse(write(t, periods, december))
	if err != nil {
		t.Fatal(err)
	}
	if doc.ProductID != DefaultProductID || doc.Method != "PUBLISH" || doc.UID != "freebusy-alice@example.test" ||
		doc.Organizer != "mailto:alice@example.test" || doc.OrganizerName != "Alice Example" ||
		!doc.Stamp.Equal(december.Stamp) || !doc.Start.Equal(december.Start) || !doc.End.Equal(december.End) {
		t.Errorf("document %+v", doc)
	}
	if !samePeriods(doc.Periods, periods) {
		t.Errorf("periods:%s\nwant:%s", formatPeriods(doc.Periods), formatPeriods(periods))
	}
}

func TestParse(t *testing.T) {
	// LF line ends, lower-case names, a folded line, a comma-separated list, durations, no FBTYPE, an
	// unknown FBTYPE, a quoted parameter holding ':' and ';', a VTIMEZONE and unknown properties to skip.
	text := "BEGIN:VCALENDAR\n" +
		"prodid:-//Other//Tool//EN\n" +
		"BEGIN:VTIMEZONE\nTZID:X\nEND:VTIMEZONE\n" +
		"begin:vfreebusy\n" +
		"ORGANIZER;CN=\"Team: A; B\";X-P=1,2:mailto:team@example.test\n" +
		"DTSTART:20261201T000000Z\n" +
		"DTEND:20261208T0000\n 00Z\n" +
		"URL:http://example.test/team.vfb\n" +
		"FREEBUSY;FBTYPE=BUSY-TENTATIVE:20261202T090000Z/PT1H,20261202T110000Z/20261202T113000Z\n" +
		"FREEBUSY:20261203T090000Z/P1DT2H30M\n" +
		"FREEBUSY;FBTYPE=X-SOMETHING:20261205T090000Z/P1W\n" +
		"FREEBUSY;fbtype=free:20261206T000000Z/PT15M30S\n" +
		"end:vfreebusy\n" +
		"END:VCALENDAR\n"
	doc, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []Period{
		per("2026-12-02T09:00Z", "2026-12-02T10:00Z", Tentative),
		per("2026-12-02T11:00Z", "2026-12-02T11:30Z", Tentative),
		per("2026-12-03T09:00Z", "2026-12-04T11:30Z", Busy),
		per("2026-12-05T09:00Z", "2026-12-12T09:00Z", Busy),
		{Start: ts("2026-12-06T00:00Z"), End: ts("2026-12-06T00:15Z").Add(30 * time.Second), Type: Free},
	}
	if !samePeriods(doc.Periods, want) {
		t.Errorf("periods:%s\nwant:%s", formatPeriods(doc.Periods), formatPeriods(want))
	}
	if doc.ProductID != "-//Other//Tool//EN" || doc.Organizer != "mailto:team@example.test" || doc.OrganizerName != "Team: A; B" ||
		!doc.End.Equal(ts("2026-12-08T00:00Z")) || doc.Method != "" {
		t.Errorf("document %+v", doc)
	}
}

func TestParseErrors(t *testing.T) {
	wrap := func(body string) string {
		return "BEGIN:VCALENDAR\r\nBEGIN:VFREEBUSY\r\n" + body + "END:VFREEBUSY\r\nEND:VCALENDAR\r\n"
	}
	for _, c := range []struct{ name, text, msg string }{
		{"empty", "", "no BEGIN"},
		{"not a calendar", "BEGIN:VCARD\r\nEND:VCARD\r\n", "BEGIN:VCALENDAR was expected"},
		{"no VFREEBUSY", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "no VFREEBUSY"},
		{"unterminated", "BEGIN:VCALENDAR\r\nBEGIN:VFREEBUSY\r\n", "BEGIN:VFREEBUSY has no END:VFREEBUSY"},
		{"mismatched END", "BEGIN:VCALENDAR\r\nBEGIN:VFREEBUSY\r\nEND:VCALENDAR\r\n", "line 3: END:VCALENDAR closes BEGIN:VFREEBUSY of line 2"},
		{"after END", wrap("") + "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "line 5: content after END:VCALENDAR"},
		{"continuation first", " x\r\n", "line 1: \" x\" is not a content line"},
		{"no colon", wrap("DTSTART\r\n"), "line 3: no ':'"},
		{"bad parameter", wrap("FREEBUSY;FBTYPE:20261201T000000Z/PT1H\r\n"), "parameter \"FBTYPE\" has no '='"},
		{"unterminated quote", wrap("ORGANIZER;CN=\"x:mailto:a@b\r\n"), "the quoted value is not closed"},
		{"local time", wrap("DTSTART:20261201T000000\r\n"), "line 3: DTSTART: \"20261201T000000\" is not a UTC date-time"},
		{"TZID", wrap("DTSTART;TZID=Europe/Berlin:20261201T000000\r\n"), "TZID"},
		{"date", wrap("DTEND;VALUE=DATE:20261201\r\n"), "VALUE=DATE"},
		{"bad month", wrap("DTSTART:20261301T000000Z\r\n"), "month 13 is not 01…12"},
		{"two DTSTART", wrap("DTSTART:20261201T000000Z\r\nDTSTART:20261201T000000Z\r\n"), "line 4: a second DTSTART"},
		{"window backwards", wrap("DTSTART:20261202T000000Z\r\nDTEND:20261201T000000Z\r\n"), "DTEND before DTSTART"},
		{"no slash", wrap("FREEBUSY:20261201T000000Z\r\n"), "period 1: \"20261201T000000Z\" is not start/end"},
		{"backwards period", wrap("FREEBUSY:20261201T100000Z/20261201T090000Z\r\n"), "ends before it starts"},
		{"second period bad", wrap("FREEBUSY:20261201T090000Z/PT1H,20261201T1000Z/PT1H\r\n"), "period 2"},
		{"negative duration", wrap("FREEBUSY:20261201T090000Z/-PT1H\r\n"), "negative duration"},
		{"bad duration", wrap("FREEBUSY:20261201T090000Z/P1H\r\n"), "not a duration"},
		{"empty time part", wrap("FREEBUSY:20261201T090000Z/P1DT\r\n"), "not a duration"},
		{"huge duration", wrap("FREEBUSY:20261201T090000Z/P99999999999999999999D\r\n"), "too long"},
		{"VALUE", wrap("FREEBUSY;VALUE=DATE-TIME:20261201T090000Z\r\n"), "periods are required"},
		{"nested", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nBEGIN:VFREEBUSY\r\nEND:VFREEBUSY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "VFREEBUSY inside VEVENT"},
		{"two VFREEBUSY", "BEGIN:VCALENDAR\r\nBEGIN:VFREEBUSY\r\nEND:VFREEBUSY\r\nBEGIN:VFREEBUSY\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n", "a second VFREEBUSY"},
		{"not UTF-8", wrap("UID:\xff\r\n"), "not UTF-8"},
		{"no name", wrap(":x\r\n"), "no property name"},
	} {
		_, err := Parse([]byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.msg)
		}
	}
}

// Debian's python3-icalendar, an independent reader, must read every period back, with its type, from what
// Write wrote, and see no line over 75 octets.
func TestWriteReadByICalendar(t *testing.T) {
	folded := december
	folded.OrganizerName = "Maximiliane Müller-Lüdenscheidt (Abteilung für Kalenderprüfung) ÜÜÜÜ"
	berlinWeek := Options{Start: ts("2026-03-23T00:00Z"), End: ts("2026-04-06T00:00Z"), Organizer: "mailto:carol@example.test", Location: berlin}
	computed, problems := Compute([]*calobject.Event{
		{UID: "w", Start: at(berlin, "2026-03-02 09:00"), End: at(berlin, "2026-03-02 10:00"), RRule: "FREQ=WEEKLY;BYDAY=MO,TH"},
		{UID: "o", Start: date("2026-03-29"), BusyStatus: "OOF"},
		{UID: "t", Start: at(berlin, "2026-04-02 09:30"), End: at(berlin, "2026-04-02 11:00"), Status: "TENTATIVE"},
	}, berlinWeek)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	docs := [][]byte{write(t, decemberPeriods, december), write(t, decemberPeriods, folded), write(t, computed, berlinWeek)}
	wants := [][]Period{decemberPeriods, decemberPeriods, {
		per("2026-03-23T08:00Z", "2026-03-23T09:00Z", Busy),
		per("2026-03-26T08:00Z", "2026-03-26T09:00Z", Busy),
		per("2026-03-28T23:00Z", "2026-03-29T22:00Z", Unavailable),
		per("2026-03-30T07:00Z", "2026-03-30T08:00Z", Busy),
		per("2026-04-02T07:00Z", "2026-04-02T08:00Z", Busy), // over the tentative one
		per("2026-04-02T08:00Z", "2026-04-02T09:00Z", Tentative),
	}}
	names := []string{"Alice Example", folded.OrganizerName, ""}
	results := oracle.ICalendar(t, docs, ts("2026-01-01T00:00Z"), ts("2027-12-31T00:00Z"))
	for i, r := range results {
		if r.Error != "" || r.LongLines != 0 || r.BareLF != 0 {
			t.Errorf("doc %d: error %q, %d long lines, %d bare LFs", i, r.Error, r.LongLines, r.BareLF)
			continue
		}
		var got []Period
		for _, p := range r.Props("VFREEBUSY", "FREEBUSY") {
			s, e, ok := strings.Cut(p.Value, "/")
			start, err1 := time.Parse(ical.UTCLayout, s)
			end, err2 := time.Parse(ical.UTCLayout, e)
			if !ok || err1 != nil || err2 != nil {
				t.Errorf("doc %d: icalendar read FREEBUSY as %q", i, p.Value)
			}
			got = append(got, Period{Start: start, End: end, Type: Type(p.Params["FBTYPE"])})
		}
		if !samePeriods(got, wants[i]) {
			t.Errorf("doc %d: icalendar read%s\nwant:%s", i, formatPeriods(got), formatPeriods(wants[i]))
		}
		org := r.Props("VFREEBUSY", "ORGANIZER")
		if len(org) != 1 || org[0].Params["CN"] != names[i] || !strings.HasPrefix(org[0].Value, "mailto:") {
			t.Errorf("doc %d: organizer %+v", i, org)
		}
		for _, name := range []string{"DTSTART", "DTEND", "DTSTAMP", "UID"} {
			if len(r.Props("VFREEBUSY", name)) != 1 {
				t.Errorf("doc %d: %s missing", i, name)
			}
		}
	}
	if v := results[0].Props("VFREEBUSY", "DTSTART"); len(v) == 1 && v[0].Value != "20261201T000000Z" {
		t.Errorf("DTSTART read as %q", v[0].Value)
	}
}

// icalendar rejects comma-separated period lists, the reason Write never writes them. Should a newer
// icalendar read them, this fails to say that the restriction could go.
func TestICalendarRejectsPeriodLists(t *testing.T) {
	doc := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VFREEBUSY\r\nUID:x\r\nDTSTAMP:20261201T000000Z\r\n" +
		"FREEBUSY:20261203T090000Z/20261203T100000Z,20261204T090000Z/20261204T100000Z\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"
	if r := oracle.ICalendar(t, [][]byte{[]byte(doc)}, ts("2026-01-01T00:00Z"), ts("2027-01-01T00:00Z")); r[0].Error == "" {
		t.Errorf("icalendar now reads period lists: %+v", r[0].Props("VFREEBUSY", "FREEBUSY"))
	}
}
