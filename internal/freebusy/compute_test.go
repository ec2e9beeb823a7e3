package freebusy

import (
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones the tests name, whatever the machine has installed

	"github.com/mailshift/mailshift/internal/calobject"
)

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

var (
	berlin  = mustLoad("Europe/Berlin")
	newYork = mustLoad("America/New_York")
)

// at is a DATE-TIME "2006-01-02 15:04" in loc.
func at(loc *time.Location, s string) calobject.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return calobject.Time{T: t}
}

func utcAt(s string) calobject.Time { return at(time.UTC, s) }

func floating(s string) calobject.Time {
	v := at(time.UTC, s)
	v.Floating = true
	return v
}

func date(s string) calobject.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return calobject.Time{T: t, AllDay: true}
}

// ts is a UTC instant "2006-01-02T15:04Z".
func ts(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04Z", s)
	if err != nil {
		panic(err)
	}
	return t
}

func per(start, end string, typ Type) Period {
	return Period{Start: ts(start), End: ts(end), Type: typ}
}

func window(start, end string) Options { return Options{Start: ts(start), End: ts(end)} }

func formatPeriods(ps []Period) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "\n  %s .. %s %s", p.Start.Format(time.RFC3339), p.End.Format(time.RFC3339), p.Type)
	}
	return b.String()
}

func samePeriods(a, b []Period) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Start.Equal(b[i].Start) || !a[i].End.Equal(b[i].End) || a[i].Type != b[i].Type {
			return false
		}
	}
	return true
}

func TestCompute(t *testing.T) {
	march := window("2026-03-01T00:00Z", "2026-04-15T00:00Z")
	in := func(loc *time.Location, o Options) Options { o.Location = loc; return o }
	type tc struct {
		name     string
		opt      Options
		events   []*calobject.Event
		want     []Period
		problems []string // UIDs
	}
	single := func(uid string, start, end calobject.Time) *calobject.Event {
		return &calobject.Event{UID: uid, Start: start, End: end}
	}
	with := func(ev *calobject.Event, f func(*calobject.Event)) *calobject.Event { f(ev); return ev }

	// A weekly Monday meeting at 09:00 in Berlin: 08:00Z until the change to summer time on 2026-03-29,
	// 07:00Z from then on.
	weekly := &calobject.Event{
		UID: "weekly", Summary: "Jour fixe",
		Start: at(berlin, "2026-02-02 09:00"), End: at(berlin, "2026-02-02 10:00"),
		RRule: "FREQ=WEEKLY;BYDAY=MO",
		// Given in UTC, matched by instant with the 09:00 Berlin instance.
		ExDates: []calobject.Time{utcAt("2026-03-16 08:00")},
		RDates: []calobject.RDate{
			{Start: at(berlin, "2026-03-26 15:00")},
			{Start: utcAt("2026-04-01 13:00"), End: utcAt("2026-04-01 15:30")},
		},
		Overrides: []*calobject.Event{
			{UID: "weekly", RecurrenceID: at(berlin, "2026-03-23 09:00"), Start: at(berlin, "2026-03-24 14:00"), End: at(berlin, "2026-03-24 15:00")},
			{UID: "weekly", RecurrenceID: at(berlin, "2026-04-06 09:00"), Start: at(berlin, "2026-04-06 09:00"), End: at(berlin, "2026-04-06 10:00"), Status: "CANCELLED"},
			// From before the window into it, and from after it into it.
			{UID: "weekly", RecurrenceID: at(berlin, "2026-02-23 09:00"), Start: at(berlin, "2026-03-03 12:00"), End: at(berlin, "2026-03-03 13:00")},
			{UID: "weekly", RecurrenceID: at(berlin, "2026-04-20 09:00"), Start: at(berlin, "2026-04-14 16:00"), End: at(berlin, "2026-04-14 17:00")},
			// Moved out of the window.
			{UID: "weekly", RecurrenceID: at(berlin, "2026-03-09 09:00"), Start: at(berlin, "2026-05-04 09:00"), End: at(berlin, "2026-05-04 10:00")},
		},
	}

	cases := []tc{
		{
			name:   "single busy event",
			opt:    march,
			events: []*calobject.Event{single("a", at(berlin, "2026-03-10 10:00"), at(berlin, "2026-03-10 11:00"))},
			want:   []Period{per("2026-03-10T09:00Z", "2026-03-10T10:00Z", Busy)},
		},
		{
			name: "tentative by status and by busy status",
			opt:  march,
			events: []*calobject.Event{
				with(single("a", utcAt("2026-03-11 14:00"), utcAt("2026-03-11 15:00")), func(e *calobject.Event) { e.Status = "TENTATIVE" }),
				with(single("b", utcAt("2026-03-12 14:00"), utcAt("2026-03-12 15:00")), func(e *calobject.Event) { e.BusyStatus = "TENTATIVE" }),
			},
			want: []Period{
				per("2026-03-11T14:00Z", "2026-03-11T15:00Z", Tentative),
				per("2026-03-12T14:00Z", "2026-03-12T15:00Z", Tentative),
			},
		},
		{
			name: "out of office, also when tentative",
			opt:  march,
			events: []*calobject.Event{
				with(single("a", utcAt("2026-03-12 08:00"), utcAt("2026-03-12 17:00")), func(e *calobject.Event) { e.BusyStatus = "OOF" }),
				with(single("b", utcAt("2026-03-13 08:00"), utcAt("2026-03-13 17:00")), func(e *calobject.Event) {
					e.BusyStatus, e.Status = "OOF", "TENTATIVE"
				}),
			},
			want: []Period{
				per("2026-03-12T08:00Z", "2026-03-12T17:00Z", Unavailable),
				per("2026-03-13T08:00Z", "2026-03-13T17:00Z", Unavailable),
			},
		},
		{
			name: "transparent, cancelled and free take no time; working elsewhere and confirmed are busy",
			opt:  march,
			events: []*calobject.Event{
				with(single("transparent", utcAt("2026-03-12 08:00"), utcAt("2026-03-12 09:00")), func(e *calobject.Event) { e.Transparent = true }),
				with(single("cancelled", utcAt("2026-03-12 10:00"), utcAt("2026-03-12 11:00")), func(e *calobject.Event) { e.Status = "CANCELLED" }),
				with(single("free", utcAt("2026-03-12 12:00"), utcAt("2026-03-12 13:00")), func(e *calobject.Event) { e.BusyStatus = "FREE" }),
				with(single("elsewhere", utcAt("2026-03-12 14:00"), utcAt("2026-03-12 15:00")), func(e *calobject.Event) { e.BusyStatus = "WORKINGELSEWHERE" }),
				with(single("confirmed", utcAt("2026-03-12 16:00"), utcAt("2026-03-12 17:00")), func(e *calobject.Event) { e.Status = "CONFIRMED" }),
			},
			want: []Period{
				per("2026-03-12T14:00Z", "2026-03-12T15:00Z", Busy),
				per("2026-03-12T16:00Z", "2026-03-12T17:00Z", Busy),
			},
		},
		{
			name: "all-day events in Berlin across the change to summer time",
			opt:  in(berlin, march),
			events: []*calobject.Event{
				single("one", date("2026-03-29"), date("2026-03-30")),
				{UID: "no end", Start: date("2026-03-20")},
				single("three days", date("2026-04-03"), date("2026-04-06")),
				{UID: "by duration", Start: date("2026-03-10"), Duration: 48 * time.Hour, BusyStatus: "OOF"},
			},
			want: []Period{
				per("2026-03-09T23:00Z", "2026-03-11T23:00Z", Unavailable),
				per("2026-03-19T23:00Z", "2026-03-20T23:00Z", Busy),
				// The 29th has 23 hours.
				per("2026-03-28T23:00Z", "2026-03-29T22:00Z", Busy),
				per("2026-04-02T22:00Z", "2026-04-05T22:00Z", Busy),
			},
		},
		{
			name:   "weekly 09:00 Berlin meeting with EXDATE, RDATEs and overrides across the DST change",
			opt:    in(newYork, march), // the reader's zone does not move a zoned series
			events: []*calobject.Event{weekly},
			want: []Period{
				per("2026-03-02T08:00Z", "2026-03-02T09:00Z", Busy),
				per("2026-03-03T11:00Z", "2026-03-03T12:00Z", Busy), // 02-23 moved here
				// 03-09 moved out, 03-16 excluded, 03-23 moved to the 24th
				per("2026-03-24T13:00Z", "2026-03-24T14:00Z", Busy),
				per("2026-03-26T14:00Z", "2026-03-26T15:00Z", Busy), // RDATE
				per("2026-03-30T07:00Z", "2026-03-30T08:00Z", Busy), // summer time
				per("2026-04-01T13:00Z", "2026-04-01T15:30Z", Busy), // RDATE period
				// 04-06 cancelled
				per("2026-04-13T07:00Z", "2026-04-13T08:00Z", Busy),
				per("2026-04-14T14:00Z", "2026-04-14T15:00Z", Busy), // 04-20 moved here
			},
		},
		{
			name: "daily COUNT series",
			opt:  march,
			events: []*calobject.Event{
				{UID: "d", Start: utcAt("2026-03-05 12:00"), End: utcAt("2026-03-05 12:30"), RRule: "FREQ=DAILY;COUNT=3"},
				// Started before the window: only its fifth instance is inside.
				{UID: "e", Start: utcAt("2026-02-25 06:00"), Duration: time.Hour, RRule: "freq=daily;count=5"},
			},
			want: []Period{
				per("2026-03-01T06:00Z", "2026-03-01T07:00Z", Busy),
				per("2026-03-05T12:00Z", "2026-03-05T12:30Z", Busy),
				per("2026-03-06T12:00Z", "2026-03-06T12:30Z", Busy),
				per("2026-03-07T12:00Z", "2026-03-07T12:30Z", Busy),
			},
		},
		{
			name: "COUNT includes a DTSTART the rule does not produce",
			opt:  march,
			events: []*calobject.Event{
				{UID: "d", Start: utcAt("2026-03-03 10:00"), End: utcAt("2026-03-03 11:00"), RRule: "FREQ=WEEKLY;BYDAY=MO;COUNT=2"},
				{UID: "e", Start: utcAt("2026-03-04 10:00"), End: utcAt("2026-03-04 11:00"), RRule: "FREQ=WEEKLY;BYDAY=MO;COUNT=1"},
			},
			want: []Period{
				per("2026-03-03T10:00Z", "2026-03-03T11:00Z", Busy),
				per("2026-03-04T10:00Z", "2026-03-04T11:00Z", Busy),
				per("2026-03-09T10:00Z", "2026-03-09T11:00Z", Busy),
			},
		},
		{
			name: "monthly on the last Friday in New York",
			opt:  window("2026-03-01T00:00Z", "2026-06-01T00:00Z"),
			events: []*calobject.Event{
				{UID: "m", Start: at(newYork, "2026-01-30 11:00"), End: at(newYork, "2026-01-30 12:00"), RRule: "FREQ=MONTHLY;BYDAY=-1FR"},
			},
			want: []Period{
				per("2026-03-27T15:00Z", "2026-03-27T16:00Z", Busy),
				per("2026-04-24T15:00Z", "2026-04-24T16:00Z", Busy),
				per("2026-05-29T15:00Z", "2026-05-29T16:00Z", Busy),
			},
		},
		{
			name: "plain and numbered BYDAY together: every Thursday and the second Friday",
			opt:  window("2026-03-01T00:00Z", "2026-04-01T00:00Z"),
			events: []*calobject.Event{
				{UID: "m", Start: utcAt("2026-03-05 10:00"), End: utcAt("2026-03-05 11:00"), RRule: "FREQ=MONTHLY;BYDAY=TH,2FR"},
			},
			want: []Period{
				per("2026-03-05T10:00Z", "2026-03-05T11:00Z", Busy),
				per("2026-03-12T10:00Z", "2026-03-12T11:00Z", Busy),
				per("2026-03-13T10:00Z", "2026-03-13T11:00Z", Busy),
				per("2026-03-19T10:00Z", "2026-03-19T11:00Z", Busy),
				per("2026-03-26T10:00Z", "2026-03-26T11:00Z", Busy),
			},
		},
		{
			name: "THISANDFUTURE override moves and retypes the rest of the series",
			opt:  march,
			events: []*calobject.Event{{
				UID: "t", Start: utcAt("2026-03-03 10:00"), End: utcAt("2026-03-03 11:00"), RRule: "FREQ=WEEKLY",
				Overrides: []*calobject.Event{{
					UID: "t", RecurrenceID: utcAt("2026-03-17 10:00"), ThisAndFuture: true,
					Start: utcAt("2026-03-17 14:00"), End: utcAt("2026-03-17 16:00"), Status: "TENTATIVE",
				}},
			}},
			want: []Period{
				per("2026-03-03T10:00Z", "2026-03-03T11:00Z", Busy),
				per("2026-03-10T10:00Z", "2026-03-10T11:00Z", Busy),
				per("2026-03-17T14:00Z", "2026-03-17T16:00Z", Tentative),
				per("2026-03-24T14:00Z", "2026-03-24T16:00Z", Tentative),
				per("2026-03-31T14:00Z", "2026-03-31T16:00Z", Tentative),
				per("2026-04-07T14:00Z", "2026-04-07T16:00Z", Tentative),
				per("2026-04-14T14:00Z", "2026-04-14T16:00Z", Tentative),
			},
		},
		{
			name: "THISANDFUTURE shift keeps local time across the DST change; a later plain override still applies",
			opt:  march,
			events: []*calobject.Event{{
				UID: "t", Start: at(berlin, "2026-03-05 09:00"), End: at(berlin, "2026-03-05 10:00"), RRule: "FREQ=WEEKLY",
				Overrides: []*calobject.Event{
					// Thursdays become Mondays from the 19th on.
					{UID: "t", RecurrenceID: at(berlin, "2026-03-19 09:00"), ThisAndFuture: true,
						Start: at(berlin, "2026-03-23 09:00"), End: at(berlin, "2026-03-23 10:00")},
					{UID: "t", RecurrenceID: at(berlin, "2026-04-02 09:00"), Start: at(berlin, "2026-04-06 09:00"), Status: "CANCELLED"},
				},
			}},
			want: []Period{
				per("2026-03-05T08:00Z", "2026-03-05T09:00Z", Busy),
				per("2026-03-12T08:00Z", "2026-03-12T09:00Z", Busy),
				per("2026-03-23T08:00Z", "2026-03-23T09:00Z", Busy),
				per("2026-03-30T07:00Z", "2026-03-30T08:00Z", Busy),
				// 04-02 (moved to 04-06) cancelled
				per("2026-04-13T07:00Z", "2026-04-13T08:00Z", Busy),
			},
		},
		{
			name: "overlapping events of different types: the strongest wins",
			opt:  march,
			events: []*calobject.Event{
				single("busy", utcAt("2026-03-20 10:00"), utcAt("2026-03-20 12:00")),
				with(single("tentative", utcAt("2026-03-20 09:00"), utcAt("2026-03-20 11:00")), func(e *calobject.Event) { e.Status = "TENTATIVE" }),
				with(single("oof", utcAt("2026-03-20 11:30"), utcAt("2026-03-20 13:00")), func(e *calobject.Event) { e.BusyStatus = "OOF" }),
				with(single("tentative2", utcAt("2026-03-20 12:30"), utcAt("2026-03-20 14:00")), func(e *calobject.Event) { e.BusyStatus = "TENTATIVE" }),
			},
			want: []Period{
				per("2026-03-20T09:00Z", "2026-03-20T10:00Z", Tentative),
				per("2026-03-20T10:00Z", "2026-03-20T11:30Z", Busy),
				per("2026-03-20T11:30Z", "2026-03-20T13:00Z", Unavailable),
				per("2026-03-20T13:00Z", "2026-03-20T14:00Z", Tentative),
			},
		},
		{
			name: "adjacent and overlapping periods of one type are joined, of different types not",
			opt:  march,
			events: []*calobject.Event{
				single("a", utcAt("2026-03-21 10:00"), utcAt("2026-03-21 11:00")),
				single("b", utcAt("2026-03-21 11:00"), utcAt("2026-03-21 12:00")),
				single("c", utcAt("2026-03-21 13:00"), utcAt("2026-03-21 15:00")),
				single("d", utcAt("2026-03-21 14:00"), utcAt("2026-03-21 16:00")),
				with(single("e", utcAt("2026-03-21 16:00"), utcAt("2026-03-21 17:00")), func(e *calobject.Event) { e.Status = "TENTATIVE" }),
				single("dup", utcAt("2026-03-21 13:00"), utcAt("2026-03-21 15:00")),
			},
			want: []Period{
				per("2026-03-21T10:00Z", "2026-03-21T12:00Z", Busy),
				per("2026-03-21T13:00Z", "2026-03-21T16:00Z", Busy),
				per("2026-03-21T16:00Z", "2026-03-21T17:00Z", Tentative),
			},
		},
		{
			name: "periods are clipped to the window",
			opt:  march,
			events: []*calobject.Event{
				single("before", utcAt("2026-02-28 20:00"), utcAt("2026-03-01 02:00")),
				single("after", utcAt("2026-04-14 23:00"), utcAt("2026-04-15 03:00")),
				single("outside", utcAt("2026-04-15 00:00"), utcAt("2026-04-15 01:00")),
				{UID: "long series", Start: utcAt("2026-02-27 12:00"), End: utcAt("2026-03-02 12:00"), RRule: "FREQ=MONTHLY;COUNT=1"},
			},
			want: []Period{
				per("2026-03-01T00:00Z", "2026-03-02T12:00Z", Busy),
				per("2026-04-14T23:00Z", "2026-04-15T00:00Z", Busy),
			},
		},
		{
			name: "floating time in the reader's zone; zero-length and DURATION events",
			opt:  in(newYork, march),
			events: []*calobject.Event{
				single("floating", floating("2026-03-10 09:00"), floating("2026-03-10 10:00")),
				{UID: "zero", Start: utcAt("2026-03-10 20:00")},
				{UID: "duration", Start: utcAt("2026-03-10 15:00"), Duration: 90 * time.Minute},
			},
			want: []Period{
				per("2026-03-10T13:00Z", "2026-03-10T14:00Z", Busy),
				per("2026-03-10T15:00Z", "2026-03-10T16:30Z", Busy),
			},
		},
		{
			name: "floating weekly series follows the reader's zone",
			opt:  in(berlin, march),
			events: []*calobject.Event{
				{UID: "f", Start: floating("2026-03-26 09:00"), End: floating("2026-03-26 10:00"), RRule: "FREQ=WEEKLY;UNTIL=20260402T090000",
					ExDates: []calobject.Time{floating("2026-04-02 09:00")}},
				{UID: "g", Start: floating("2026-03-27 09:00"), End: floating("2026-03-27 10:00"), RRule: "FREQ=WEEKLY;UNTIL=20260403T090000"},
			},
			want: []Period{
				per("2026-03-26T08:00Z", "2026-03-26T09:00Z", Busy),
				per("2026-03-27T08:00Z", "2026-03-27T09:00Z", Busy),
				per("2026-04-03T07:00Z", "2026-04-03T08:00Z", Busy),
			},
		},
		{
			name: "Kolab 2 rule expanded in the reader's zone across the US DST change",
			opt:  in(newYork, march),
			events: []*calobject.Event{
				{UID: "k", Start: utcAt("2026-03-02 14:00"), End: utcAt("2026-03-02 15:00"), RRule: "FREQ=WEEKLY;COUNT=3", ExpandInReaderZone: true},
				// The same without the flag stays at 14:00Z.
				{UID: "u", Start: utcAt("2026-03-03 14:00"), End: utcAt("2026-03-03 15:00"), RRule: "FREQ=WEEKLY;COUNT=2"},
			},
			want: []Period{
				per("2026-03-02T14:00Z", "2026-03-02T15:00Z", Busy),
				per("2026-03-03T14:00Z", "2026-03-03T15:00Z", Busy),
				per("2026-03-09T13:00Z", "2026-03-09T14:00Z", Busy),
				per("2026-03-10T14:00Z", "2026-03-10T15:00Z", Busy),
				per("2026-03-16T13:00Z", "2026-03-16T14:00Z", Busy),
			},
		},
		{
			name: "bad RRULE is a problem; its first instance and the other events still count",
			opt:  march,
			events: []*calobject.Event{
				{UID: "bad", Summary: "Broken", Start: utcAt("2026-03-04 10:00"), End: utcAt("2026-03-04 11:00"), RRule: "FREQ=SOMETIMES"},
				single("good", utcAt("2026-03-05 10:00"), utcAt("2026-03-05 11:00")),
				{UID: "backwards", Start: utcAt("2026-03-06 10:00"), End: utcAt("2026-03-06 09:00")},
				{UID: "nostart"},
			},
			want: []Period{
				per("2026-03-04T10:00Z", "2026-03-04T11:00Z", Busy),
				per("2026-03-05T10:00Z", "2026-03-05T11:00Z", Busy),
			},
			problems: []string{"bad", "backwards", "nostart"},
		},
		{
			name: "weekly series in New York: all-day with EXDATE by date; UNTIL as DATE includes its day",
			opt:  in(newYork, march),
			events: []*calobject.Event{
				{UID: "b", Start: at(newYork, "2026-03-02 09:00"), End: at(newYork, "2026-03-02 10:00"), RRule: "FREQ=WEEKLY;UNTIL=20260316"},
				{UID: "a", Start: date("2026-03-02"), End: date("2026-03-03"), RRule: "FREQ=WEEKLY;UNTIL=20260316",
					ExDates: []calobject.Time{date("2026-03-09")}, RDates: []calobject.RDate{{Start: date("2026-03-25")}}},
			},
			want: []Period{
				per("2026-03-02T05:00Z", "2026-03-03T05:00Z", Busy),
				per("2026-03-09T13:00Z", "2026-03-09T14:00Z", Busy),
				per("2026-03-16T04:00Z", "2026-03-17T04:00Z", Busy),
				per("2026-03-25T04:00Z", "2026-03-26T04:00Z", Busy),
			},
		},
		{
			name: "series started two years ago without end",
			opt:  window("2026-03-27T00:00Z", "2026-04-04T00:00Z"),
			events: []*calobject.Event{
				{UID: "mwf", Start: at(berlin, "2024-01-01 09:00"), End: at(berlin, "2024-01-01 09:30"), RRule: "FREQ=WEEKLY;BYDAY=MO,WE,FR"},
				// Periods of two weeks starting on Sundays from 2023-12-31: 2026-03-29 starts one. With
				// WKST=MO the Sunday of the 29th would belong to the off week.
				{UID: "biweekly", Start: utcAt("2024-01-08 12:00"), End: utcAt("2024-01-08 13:00"), RRule: "FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=SU,MO"},
				// 2024-01-01 + 3·n days: day 816 is 2026-03-27.
				{UID: "daily3", Start: utcAt("2024-01-01 18:00"), End: utcAt("2024-01-01 19:00"), RRule: "FREQ=DAILY;INTERVAL=3"},
				// 2024-01-01 00:10 + 7·n hours on Saturdays: 2026-03-28 00:00 is hour 19608 ≡ 1 (mod 7).
				{UID: "hourly", Start: utcAt("2024-01-01 00:10"), Duration: 10 * time.Minute, RRule: "FREQ=HOURLY;INTERVAL=7;BYDAY=SA"},
			},
			want: []Period{
				per("2026-03-27T08:00Z", "2026-03-27T08:30Z", Busy),
				per("2026-03-27T18:00Z", "2026-03-27T19:00Z", Busy),
				per("2026-03-28T06:10Z", "2026-03-28T06:20Z", Busy),
				per("2026-03-28T13:10Z", "2026-03-28T13:20Z", Busy),
				per("2026-03-28T20:10Z", "2026-03-28T20:20Z", Busy),
				per("2026-03-29T12:00Z", "2026-03-29T13:00Z", Busy),
				per("2026-03-30T07:00Z", "2026-03-30T07:30Z", Busy),
				per("2026-03-30T12:00Z", "2026-03-30T13:00Z", Busy),
				per("2026-03-30T18:00Z", "2026-03-30T19:00Z", Busy),
				per("2026-04-01T07:00Z", "2026-04-01T07:30Z", Busy),
				per("2026-04-02T18:00Z", "2026-04-02T19:00Z", Busy),
				per("2026-04-03T07:00Z", "2026-04-03T07:30Z", Busy),
			},
		},
		{
			name: "monthly every third month and yearly, started years ago",
			opt:  window("2026-03-01T00:00Z", "2026-05-01T00:00Z"),
			events: []*calobject.Event{
				{UID: "quarterly", Start: utcAt("2024-01-15 10:00"), End: utcAt("2024-01-15 11:00"), RRule: "FREQ=MONTHLY;INTERVAL=3"},
				{UID: "birthday", Start: date("2001-04-02"), RRule: "FREQ=YEARLY"},
				{UID: "ended", Start: utcAt("2024-01-16 10:00"), End: utcAt("2024-01-16 11:00"), RRule: "FREQ=DAILY;UNTIL=20250101T000000Z"},
				{UID: "counted", Start: utcAt("2024-01-16 10:00"), End: utcAt("2024-01-16 11:00"), RRule: "FREQ=WEEKLY;COUNT=10"},
			},
			want: []Period{
				per("2026-04-02T00:00Z", "2026-04-03T00:00Z", Busy),
				per("2026-04-15T10:00Z", "2026-04-15T11:00Z", Busy),
			},
		},
		{
			name: "overrides count on their own even when the master takes no time",
			opt:  march,
			events: []*calobject.Event{{
				UID: "free series", Start: utcAt("2026-03-02 10:00"), End: utcAt("2026-03-02 11:00"), RRule: "FREQ=DAILY;COUNT=5",
				BusyStatus: "FREE",
				Overrides: []*calobject.Event{
					{UID: "free series", RecurrenceID: utcAt("2026-03-04 10:00"), Start: utcAt("2026-03-04 10:00"), End: utcAt("2026-03-04 11:00"), BusyStatus: "BUSY"},
				},
			}},
			want: []Period{per("2026-03-04T10:00Z", "2026-03-04T11:00Z", Busy)},
		},
		{
			name: "an override without times keeps its instance's time",
			opt:  march,
			events: []*calobject.Event{{
				UID: "s", Start: at(berlin, "2026-03-26 09:00"), End: at(berlin, "2026-03-26 10:00"), RRule: "FREQ=WEEKLY;COUNT=2",
				Overrides: []*calobject.Event{{UID: "s", RecurrenceID: at(berlin, "2026-04-02 09:00"), Status: "TENTATIVE"}},
			}},
			want: []Period{
				per("2026-03-26T08:00Z", "2026-03-26T09:00Z", Busy),
				per("2026-04-02T07:00Z", "2026-04-02T08:00Z", Tentative),
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, problems := Compute(c.events, c.opt)
			if !samePeriods(got, c.want) {
				t.Errorf("periods:%s\nwant:%s", formatPeriods(got), formatPeriods(c.want))
			}
			var uids []string
			for _, p := range problems {
				if p.Err == nil {
					t.Errorf("problem %q without error", p.UID)
				}
				uids = append(uids, p.UID)
			}
			if strings.Join(uids, ",") != strings.Join(c.problems, ",") {
				t.Errorf("problems %v, want UIDs %v", problems, c.problems)
			}
		})
	}
}

func TestComputeProblemNamesEvent(t *testing.T) {
	_, problems := Compute([]*calobject.Event{{UID: "u1", Summary: "Standup", Start: utcAt("2026-03-04 10:00"), RRule: "FREQ=WEEKLY;BYDAY=XX"}},
		window("2026-03-01T00:00Z", "2026-04-01T00:00Z"))
	if len(problems) != 1 || problems[0].UID != "u1" || problems[0].Summary != "Standup" || !strings.Contains(problems[0].Err.Error(), "BYDAY=XX") {
		t.Fatalf("problems %+v", problems)
	}
}

func TestComputeEmptyWindow(t *testing.T) {
	ev := []*calobject.Event{{UID: "a", Start: utcAt("2026-03-04 10:00"), End: utcAt("2026-03-04 11:00")}}
	if got, _ := Compute(ev, window("2026-03-05T00:00Z", "2026-03-01T00:00Z")); got != nil {
		t.Fatalf("inverted window: %v", got)
	}
}

func TestDefaultWindow(t *testing.T) {
	now := time.Date(2026, 12, 3, 23, 30, 0, 0, newYork) // 2026-12-04T04:30Z
	start, end := DefaultWindow(now)
	if !start.Equal(ts("2026-11-27T00:00Z")) || !end.Equal(ts("2027-02-02T00:00Z")) || start.Location() != time.UTC {
		t.Fatalf("DefaultWindow = %v, %v", start, end)
	}
}

// Rules that can never produce an instance must not stall the computation: rrule-go loops forever on the
// first and searches until the year 9999 on the others.
func TestComputeUnsatisfiableRules(t *testing.T) {
	var events []*calobject.Event
	for i, rule := range []string{
		"FREQ=HOURLY;INTERVAL=24;BYHOUR=5",
		"FREQ=MINUTELY;INTERVAL=60;BYMINUTE=5",
		"FREQ=SECONDLY;INTERVAL=3600;BYHOUR=10;BYMINUTE=0;BYSECOND=30",
		"FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=HOURLY;BYMONTH=4,6;BYMONTHDAY=31",
		"FREQ=YEARLY;BYYEARDAY=1;BYMONTH=2",
		"FREQ=MONTHLY;BYDAY=+2SU;BYMONTHDAY=31",
		"FREQ=MONTHLY;INTERVAL=3;BYMONTH=5,11", // from March: March, June, September, December
		"FREQ=DAILY;INTERVAL=7;BYDAY=MO",       // from a Tuesday
	} {
		events = append(events, &calobject.Event{UID: rule, Start: utcAt(fmt.Sprintf("2026-03-%02d 10:00", i+2)), Duration: time.Hour, RRule: rule})
	}
	// Reachable ones still expand.
	events = append(events,
		&calobject.Event{UID: "h", Start: utcAt("2026-03-20 10:00"), Duration: time.Hour, RRule: "FREQ=HOURLY;INTERVAL=12;BYHOUR=22;COUNT=2"},
		&calobject.Event{UID: "f13", Start: utcAt("2026-01-01 10:00"), Duration: time.Hour, RRule: "FREQ=MONTHLY;BYMONTHDAY=13;BYDAY=FR;BYMONTH=3,11"},
	)
	var got []Period
	var problems []Problem
	done := make(chan struct{})
	go func() {
		defer close(done)
		got, problems = Compute(events, window("2026-03-01T00:00Z", "2026-12-01T00:00Z"))
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Compute did not return")
	}
	var want []Period
	for d := 2; d <= 10; d++ { // the DTSTARTs
		want = append(want, per(fmt.Sprintf("2026-03-%02dT10:00Z", d), fmt.Sprintf("2026-03-%02dT11:00Z", d), Busy))
	}
	want = append(want,
		per("2026-03-13T10:00Z", "2026-03-13T11:00Z", Busy), // Friday the 13th
		per("2026-03-20T10:00Z", "2026-03-20T11:00Z", Busy),
		per("2026-03-20T22:00Z", "2026-03-20T23:00Z", Busy),
		per("2026-11-13T10:00Z", "2026-11-13T11:00Z", Busy),
	)
	if !samePeriods(got, want) {
		t.Errorf("periods:%s\nwant:%s", formatPeriods(got), formatPeriods(want))
	}
	// Each is recognised before rrule-go is asked for an instance, which is what keeps this fast.
	if len(problems) != 9 {
		t.Errorf("problems: %v", problems)
	}
}
