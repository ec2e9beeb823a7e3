package calobject

import (
	"os"
	"testing"
	"time"
)

// TestRoundcubeMessage reads a Kolab v3 message as Roundcube stores it; its kolab.xml was written by
// libkolabxml 1.2.1 (python3-kolabformat): a weekly series until a UTC instant, an exclusion, Outlook's
// busy status as a custom property, and an instance moved with RANGE=THISANDFUTURE.
func TestRoundcubeMessage(t *testing.T) {
	msg, err := os.ReadFile("testdata/roundcube-kolab3.eml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Read(msg)
	if err != nil {
		t.Fatal(err)
	}
	uid := "3f4a1d2e-roundcube-7c1b@example.org"
	checkEvents(t, "roundcube", got, []*Event{{UID: uid, Summary: "Jour fixe",
		Start: zt(berlin, 2026, 3, 2, 9, 30), End: zt(berlin, 2026, 3, 2, 10, 0), Status: "CONFIRMED", BusyStatus: "OOF",
		RRule: "FREQ=WEEKLY;UNTIL=20260629T073000Z;BYDAY=MO", ExDates: []Time{zt(berlin, 2026, 4, 6, 9, 30)},
		Overrides: []*Event{{UID: uid, Summary: "Jour fixe (verschoben)", Start: zt(berlin, 2026, 3, 17, 14, 0), End: zt(berlin, 2026, 3, 17, 14, 30),
			RecurrenceID: zt(berlin, 2026, 3, 16, 9, 30), ThisAndFuture: true}},
	}})
}

// rfc6321Doc is xCal as RFC 6321 writes it rather than as Kolab restricts it: a prefixed namespace, UNTIL
// as the text of <until>, an X- property as an element of its own with an <unknown> value, a period RDATE,
// a DURATION, and a VTIMEZONE of its own.
const rfc6321Doc = `<?xml version="1.0" encoding="utf-8"?>
<!-- exported by some CalDAV server -->
<x:icalendar xmlns:x="urn:ietf:params:xml:ns:icalendar-2.0">
 <x:vcalendar>
  <x:properties><x:version><x:text>2.0</x:text></x:version></x:properties>
  <x:components>
   <x:vtimezone>
    <x:properties><x:tzid><x:text>Custom/Plus3</x:text></x:tzid></x:properties>
    <x:components>
     <x:standard>
      <x:properties>
       <x:dtstart><x:date-time>1970-01-01T00:00:00</x:date-time></x:dtstart>
       <x:tzoffsetfrom><x:utc-offset>+03:00</x:utc-offset></x:tzoffsetfrom>
       <x:tzoffsetto><x:utc-offset>+03:00</x:utc-offset></x:tzoffsetto>
      </x:properties>
     </x:standard>
    </x:components>
   </x:vtimezone>
   <x:vevent>
    <x:properties>
     <x:uid><x:text>rfc6321-1</x:text></x:uid>
     <x:summary><x:text>Tom &amp; Jerry &lt;planning&gt; <![CDATA[& more]]></x:text></x:summary>
     <x:dtstart><x:parameters><x:tzid><x:text>Custom/Plus3</x:text></x:tzid></x:parameters><x:date-time>2026-02-02T09:00:00</x:date-time></x:dtstart>
     <x:duration><x:duration>PT2H</x:duration></x:duration>
     <x:rrule><x:recur><x:freq>monthly</x:freq><x:until>2026-12-31</x:until><x:interval>2</x:interval><x:byday>1MO</x:byday><x:byday>-1FR</x:byday><x:bymonth>2</x:bymonth><x:bymonth>4</x:bymonth></x:recur></x:rrule>
     <x:rdate><x:parameters><x:tzid><x:text>Custom/Plus3</x:text></x:tzid></x:parameters>
      <x:period><x:start>2026-03-03T09:00:00</x:start><x:duration>PT30M</x:duration></x:period>
      <x:period><x:start>2026-03-04T09:00:00</x:start><x:end>2026-03-04T10:00:00</x:end></x:period>
     </x:rdate>
     <x:exdate><x:date-time>2026-04-06T06:00:00Z</x:date-time></x:exdate>
     <x:transp><x:text>TRANSPARENT</x:text></x:transp>
     <x:x-microsoft-cdo-busystatus><x:unknown>tentative</x:unknown></x:x-microsoft-cdo-busystatus>
    </x:properties>
    <x:components><x:valarm><x:properties><x:action><x:text>DISPLAY</x:text></x:action></x:properties></x:valarm></x:components>
   </x:vevent>
   <x:vtodo><x:properties><x:uid><x:text>todo</x:text></x:uid></x:properties></x:vtodo>
   <x:vevent>
    <x:properties>
     <x:uid><x:text>all-day</x:text></x:uid>
     <x:dtstart><x:date>2026-05-01</x:date></x:dtstart>
     <x:dtend><x:date>2026-05-02</x:date></x:dtend>
     <x:status><x:text>cancelled</x:text></x:status>
     <x:x-custom><x:identifier>X-MICROSOFT-CDO-INTENDEDSTATUS</x:identifier><x:value>free</x:value></x:x-custom>
    </x:properties>
   </x:vevent>
  </x:components>
 </x:vcalendar>
</x:icalendar>
`

func TestRFC6321(t *testing.T) {
	got, err := ParseXCal([]byte(rfc6321Doc))
	if err != nil {
		t.Fatal(err)
	}
	plus3 := time.FixedZone("Custom/Plus3", 3*3600)
	checkEvents(t, "rfc6321", got, []*Event{
		{UID: "rfc6321-1", Summary: "Tom & Jerry <planning> & more", Start: zt(plus3, 2026, 2, 2, 9, 0), Duration: 2 * time.Hour,
			RRule: "FREQ=MONTHLY;UNTIL=20261231;INTERVAL=2;BYDAY=1MO,-1FR;BYMONTH=2,4", Transparent: true, BusyStatus: "TENTATIVE",
			RDates:  []RDate{{zt(plus3, 2026, 3, 3, 9, 0), zt(plus3, 2026, 3, 3, 9, 30)}, {zt(plus3, 2026, 3, 4, 9, 0), zt(plus3, 2026, 3, 4, 10, 0)}},
			ExDates: []Time{zt(time.UTC, 2026, 4, 6, 6, 0)}},
		{UID: "all-day", Start: date(2026, 5, 1), End: date(2026, 5, 2), Status: "CANCELLED", BusyStatus: "FREE"},
	})
}

// kontactKolab2 is a Kolab 2 event as KDE's Kolab resource wrote it.
const kontactKolab2 = `<?xml version="1.0" encoding="UTF-8"?>
<event version="1.0" >
 <product-id>KOrganizer 3.5.10 (enterprise35 0.20100827.1168748), Kolab resource</product-id>
 <uid>libkcal-1829371902.731</uid>
 <creation-date>2008-11-03T09:00:00Z</creation-date>
 <last-modification-date>2008-11-04T10:00:00Z</last-modification-date>
 <sensitivity>public</sensitivity>
 <start-date>2008-11-10T08:00:00Z</start-date>
 <summary>Status &amp; Planung</summary>
 <alarm>15</alarm>
 <recurrence cycle="weekly" >
  <interval>2</interval>
  <day>monday</day>
  <day>thursday</day>
  <range type="date" >2009-03-30</range>
  <exclusion>2008-12-22</exclusion>
  <exclusion>2008-12-25</exclusion>
 </recurrence>
 <show-time-as>outofoffice</show-time-as>
 <end-date>2008-11-10T09:30:00Z</end-date>
</event>
`

func TestKolab2Forms(t *testing.T) {
	got, err := ParseKolab2([]byte(kontactKolab2))
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "kontact", got, []*Event{{UID: "libkcal-1829371902.731", Summary: "Status & Planung",
		Start: zt(time.UTC, 2008, 11, 10, 8, 0), End: zt(time.UTC, 2008, 11, 10, 9, 30), BusyStatus: "OOF",
		RRule: "FREQ=WEEKLY;UNTIL=20090330T235959;INTERVAL=2;BYDAY=MO,TH", ExpandInReaderZone: true,
		ExDates: []Time{date(2008, 12, 22), date(2008, 12, 25)}}})

	for _, c := range []struct {
		name, recurrence, want string
	}{
		{"monthly daynumber", `<recurrence cycle="monthly" type="daynumber"><interval>1</interval><daynumber>15</daynumber><range type="number">12</range></recurrence>`,
			"FREQ=MONTHLY;COUNT=12;BYMONTHDAY=15"},
		{"monthly last friday", `<recurrence cycle="monthly" type="weekday"><interval>3</interval><daynumber>-1</daynumber><day>friday</day><range type="none"/></recurrence>`,
			"FREQ=MONTHLY;INTERVAL=3;BYDAY=-1FR"},
		{"yearly monthday", `<recurrence cycle="yearly" type="monthday"><interval>1</interval><daynumber>24</daynumber><month>december</month><range type="none"></range></recurrence>`,
			"FREQ=YEARLY;BYMONTHDAY=24;BYMONTH=12"},
		{"yearly weekday", `<recurrence cycle="yearly" type="weekday"><interval>1</interval><day>thursday</day><daynumber>4</daynumber><month>november</month><range type="number">5</range></recurrence>`,
			"FREQ=YEARLY;COUNT=5;BYDAY=4TH;BYMONTH=11"},
		{"yearly yearday", `<recurrence cycle="yearly" type="yearday"><interval>1</interval><daynumber>256</daynumber></recurrence>`,
			"FREQ=YEARLY;BYYEARDAY=256"},
		{"daily", `<recurrence cycle="daily"><interval>1</interval><range type="none"/></recurrence>`, "FREQ=DAILY"},
	} {
		doc := `<event version="1.0"><uid>r</uid><start-date>2026-01-15T08:00:00Z</start-date>` + c.recurrence + `</event>`
		got, err := ParseKolab2([]byte(doc))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got[0].RRule != c.want || !got[0].ExpandInReaderZone {
			t.Errorf("%s: RRULE %q (reader zone %v), want %q", c.name, got[0].RRule, got[0].ExpandInReaderZone, c.want)
		}
	}

	// All-day without an end, in ISO-8859-1 as old writers declared it.
	latin1 := []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<event version=\"1.0\"><uid>d</uid><summary>Gr\xfc\xdfe</summary>" +
		"<start-date>2026-12-24</start-date><recurrence cycle=\"yearly\" type=\"monthday\"><daynumber>24</daynumber><month>december</month>" +
		"<range type=\"date\">2030-12-24</range></recurrence><show-time-as>free</show-time-as></event>")
	got, err = ParseKolab2(latin1)
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "latin1", got, []*Event{{UID: "d", Summary: "Grüße", Start: date(2026, 12, 24), BusyStatus: "FREE",
		RRule: "FREQ=YEARLY;UNTIL=20301224;BYMONTHDAY=24;BYMONTH=12", ExpandInReaderZone: true}})

	// A start with a numeric offset, as some writers produced, is read as the instant it names.
	got, err = ParseKolab2([]byte(`<event version="1.0"><uid>o</uid><start-date>2026-01-15T10:00:00+02:00</start-date><end-date>2026-01-15T11:00:00.000Z</end-date></event>`))
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "offset", got, []*Event{{UID: "o", Start: zt(time.UTC, 2026, 1, 15, 8, 0), End: zt(time.UTC, 2026, 1, 15, 11, 0)}})
}

// TestLibkolabxmlAllDay reads an all-day event written by libkolabxml 1.2.1 as Roundcube saves a holiday of
// 1–3 May: its clients store the last day as DTEND, so the model's exclusive end is 4 May.
func TestLibkolabxmlAllDay(t *testing.T) {
	doc, err := os.ReadFile("testdata/libkolabxml-allday.xml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseXCal(doc)
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "libkolabxml all-day", got, []*Event{{UID: "allday-libkolabxml", Summary: "Urlaub",
		Start: date(2026, 5, 1), End: date(2026, 5, 4), Transparent: true, RRule: "FREQ=YEARLY;COUNT=3",
		ExDates: []Time{date(2027, 5, 1)}}})
}

// An all-day DTEND on the start day means that one day, in any format.
func TestAllDayEndOnStartDay(t *testing.T) {
	got, err := ParseICalendar([]byte("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART;VALUE=DATE:20190422\nDTEND;VALUE=DATE:20190422\nEND:VEVENT\nEND:VCALENDAR\n"))
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "iCalendar", got, []*Event{{UID: "a", Start: date(2019, 4, 22), End: date(2019, 4, 23)}})
	got, err = ParseXCal([]byte(`<icalendar xmlns="urn:ietf:params:xml:ns:icalendar-2.0"><vcalendar><components><vevent><properties>` +
		`<uid><text>a</text></uid><dtstart><date>2019-04-22</date></dtstart><dtend><date>2019-04-22</date></dtend></properties></vevent></components></vcalendar></icalendar>`))
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "xCal", got, []*Event{{UID: "a", Start: date(2019, 4, 22), End: date(2019, 4, 23)}})
}
