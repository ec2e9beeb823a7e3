package calobject

import (
	"bytes"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/groupware"
)

// Round trips through the repository's own writers: each item is written in all three formats and read
// back. The expected values are written out by hand from the items and from what each format can carry:
// Kolab 2 stores UTC instants, has no status or transparency, drops RDATEs, writes exclusions as dates and
// turns modified instances into exclusions.

var (
	berlin  = zone("Europe/Berlin")
	newYork = zone("America/New_York")
	created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

func gwAt(loc *time.Location, y int, m time.Month, d, h, min int) groupware.DateTime {
	tz := loc.String()
	if loc == time.UTC {
		tz = ""
	}
	return groupware.DateTime{Time: time.Date(y, m, d, h, min, 0, 0, loc), TZID: tz}
}

func gwDay(y int, m time.Month, d int) groupware.DateTime {
	return groupware.DateTime{Time: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), AllDay: true}
}

func gwEvent(uid string, start, end groupware.DateTime) *groupware.Event {
	return &groupware.Event{Common: groupware.Common{UID: uid, Summary: "Summary of " + uid, Created: created}, Start: start, End: end}
}

func utc(t Time) Time { return Time{T: t.T.UTC()} }

type roundTrip struct {
	name string
	item *groupware.Event
	// want is what iCalendar and Kolab v3 carry; kolab2 adjusts a copy of it for Kolab 2.
	want   *Event
	kolab2 func(e *Event)
}

// timedKolab2 is the usual Kolab 2 reading of a timed event: UTC times, no status, no transparency.
func timedKolab2(e *Event) {
	e.Start, e.End = utc(e.Start), utc(e.End)
	e.Status, e.Transparent = "", false
}

func roundTrips() []roundTrip {
	var cases []roundTrip

	// Single events and the busy/status combinations.
	single := func(name string, busy groupware.BusyStatus, status groupware.Status, wantStatus, wantBusy string, k2Busy string) {
		it := gwEvent(name, gwAt(berlin, 2026, 3, 27, 10, 0), gwAt(berlin, 2026, 3, 27, 11, 30))
		it.Busy, it.Status = busy, status
		cases = append(cases, roundTrip{name: name, item: it,
			want: &Event{UID: name, Summary: "Summary of " + name, Start: zt(berlin, 2026, 3, 27, 10, 0), End: zt(berlin, 2026, 3, 27, 11, 30),
				Status: wantStatus, BusyStatus: wantBusy, Transparent: busy == groupware.BusyFree},
			kolab2: func(e *Event) { timedKolab2(e); e.BusyStatus = k2Busy },
		})
	}
	single("busy", groupware.BusyBusy, "", "", "BUSY", "BUSY")
	single("free", groupware.BusyFree, "", "", "FREE", "FREE")
	single("tentative", groupware.BusyTentative, "", "TENTATIVE", "TENTATIVE", "TENTATIVE")
	single("oof", groupware.BusyOutOfOffice, "", "", "OOF", "OOF")
	single("elsewhere", groupware.BusyWorkingElsewhere, "", "", "WORKINGELSEWHERE", "BUSY")
	single("cancelled", groupware.BusyBusy, groupware.StatusCancelled, "CANCELLED", "BUSY", "BUSY")
	single("status-tentative", groupware.BusyBusy, groupware.StatusTentative, "TENTATIVE", "BUSY", "BUSY")
	single("confirmed", groupware.BusyBusy, groupware.StatusConfirmed, "CONFIRMED", "BUSY", "BUSY")

	utcItem := gwEvent("utc", gwAt(time.UTC, 2026, 4, 1, 12, 0), gwAt(time.UTC, 2026, 4, 1, 12, 45))
	cases = append(cases, roundTrip{name: "utc", item: utcItem,
		want:   &Event{UID: "utc", Summary: "Summary of utc", Start: zt(time.UTC, 2026, 4, 1, 12, 0), End: zt(time.UTC, 2026, 4, 1, 12, 45), BusyStatus: "BUSY"},
		kolab2: timedKolab2})

	nyItem := gwEvent("ny-single", gwAt(newYork, 2026, 7, 4, 18, 0), gwAt(newYork, 2026, 7, 4, 23, 0))
	cases = append(cases, roundTrip{name: "ny-single", item: nyItem,
		want:   &Event{UID: "ny-single", Summary: "Summary of ny-single", Start: zt(newYork, 2026, 7, 4, 18, 0), End: zt(newYork, 2026, 7, 4, 23, 0), BusyStatus: "BUSY"},
		kolab2: timedKolab2})

	// All-day: Kolab 2's inclusive end date must come back as the exclusive end.
	allDay := gwEvent("all-day", gwDay(2026, 5, 1), gwDay(2026, 5, 4))
	allDay.Busy = groupware.BusyFree
	cases = append(cases, roundTrip{name: "all-day", item: allDay,
		want:   &Event{UID: "all-day", Summary: "Summary of all-day", Start: date(2026, 5, 1), End: date(2026, 5, 4), BusyStatus: "FREE", Transparent: true},
		kolab2: func(e *Event) { e.Transparent = false }})

	// Weekly in New York until a date, on two days; 21:00 local is the next day in UTC, so Kolab 2's
	// weekdays only make sense in the reader's wall clock.
	nyWeekly := gwEvent("ny-weekly", gwAt(newYork, 2026, 3, 2, 21, 0), gwAt(newYork, 2026, 3, 2, 22, 0))
	nyWeekly.Recurrence = &groupware.Recurrence{Rule: groupware.Rule{Freq: groupware.Weekly, WeekStart: time.Monday,
		ByDay: []groupware.WeekdayNum{{Weekday: time.Monday}, {Weekday: time.Wednesday}},
		Until: time.Date(2026, 6, 29, 21, 0, 0, 0, newYork)}}
	cases = append(cases, roundTrip{name: "ny-weekly", item: nyWeekly,
		want: &Event{UID: "ny-weekly", Summary: "Summary of ny-weekly", Start: zt(newYork, 2026, 3, 2, 21, 0), End: zt(newYork, 2026, 3, 2, 22, 0),
			BusyStatus: "BUSY", RRule: "FREQ=WEEKLY;UNTIL=20260630T010000Z;BYDAY=MO,WE"},
		kolab2: func(e *Event) {
			timedKolab2(e)
			e.RRule, e.ExpandInReaderZone = "FREQ=WEEKLY;UNTIL=20260629T235959;BYDAY=MO,WE", true
		}})

	monthly := gwEvent("monthly-weekday", gwAt(berlin, 2026, 1, 13, 14, 0), gwAt(berlin, 2026, 1, 13, 15, 0))
	monthly.Recurrence = &groupware.Recurrence{Rule: groupware.Rule{Freq: groupware.Monthly, Count: 6, WeekStart: time.Monday,
		ByDay: []groupware.WeekdayNum{{N: 2, Weekday: time.Tuesday}}}}
	cases = append(cases, roundTrip{name: "monthly-weekday", item: monthly,
		want: &Event{UID: "monthly-weekday", Summary: "Summary of monthly-weekday", Start: zt(berlin, 2026, 1, 13, 14, 0), End: zt(berlin, 2026, 1, 13, 15, 0),
			BusyStatus: "BUSY", RRule: "FREQ=MONTHLY;COUNT=6;BYDAY=2TU"},
		kolab2: func(e *Event) { timedKolab2(e); e.ExpandInReaderZone = true }})

	monthDay := gwEvent("monthly-day", gwAt(berlin, 2026, 1, 31, 8, 0), gwAt(berlin, 2026, 1, 31, 9, 0))
	monthDay.Recurrence = &groupware.Recurrence{Rule: groupware.Rule{Freq: groupware.Monthly, Interval: 3, WeekStart: time.Monday, ByMonthDay: []int{31}}}
	cases = append(cases, roundTrip{name: "monthly-day", item: monthDay,
		want: &Event{UID: "monthly-day", Summary: "Summary of monthly-day", Start: zt(berlin, 2026, 1, 31, 8, 0), End: zt(berlin, 2026, 1, 31, 9, 0),
			BusyStatus: "BUSY", RRule: "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=31"},
		kolab2: func(e *Event) { timedKolab2(e); e.ExpandInReaderZone = true }})

	yearlyWd := gwEvent("yearly-weekday", gwAt(newYork, 2026, 10, 25, 9, 0), gwAt(newYork, 2026, 10, 25, 10, 0))
	yearlyWd.Recurrence = &groupware.Recurrence{Rule: groupware.Rule{Freq: groupware.Yearly, Count: 3, WeekStart: time.Monday,
		ByDay: []groupware.WeekdayNum{{N: -1, Weekday: time.Sunday}}, ByMonth: []int{10}}}
	cases = append(cases, roundTrip{name: "yearly-weekday", item: yearlyWd,
		want: &Event{UID: "yearly-weekday", Summary: "Summary of yearly-weekday", Start: zt(newYork, 2026, 10, 25, 9, 0), End: zt(newYork, 2026, 10, 25, 10, 0),
			BusyStatus: "BUSY", RRule: "FREQ=YEARLY;COUNT=3;BYDAY=-1SU;BYMONTH=10"},
		kolab2: func(e *Event) { timedKolab2(e); e.ExpandInReaderZone = true }})

	// Daily every other day with exclusions and an extra instance.
	daily := gwEvent("daily", gwAt(time.UTC, 2026, 2, 1, 8, 0), gwAt(time.UTC, 2026, 2, 1, 8, 30))
	daily.Recurrence = &groupware.Recurrence{
		Rule:    groupware.Rule{Freq: groupware.Daily, Interval: 2, Count: 10, WeekStart: time.Monday},
		ExDates: []time.Time{time.Date(2026, 2, 3, 8, 0, 0, 0, time.UTC), time.Date(2026, 2, 7, 8, 0, 0, 0, time.UTC)},
		RDates:  []time.Time{time.Date(2026, 2, 4, 12, 0, 0, 0, time.UTC)},
	}
	cases = append(cases, roundTrip{name: "daily", item: daily,
		want: &Event{UID: "daily", Summary: "Summary of daily", Start: zt(time.UTC, 2026, 2, 1, 8, 0), End: zt(time.UTC, 2026, 2, 1, 8, 30),
			BusyStatus: "BUSY", RRule: "FREQ=DAILY;COUNT=10;INTERVAL=2",
			ExDates: []Time{zt(time.UTC, 2026, 2, 3, 8, 0), zt(time.UTC, 2026, 2, 7, 8, 0)},
			RDates:  []RDate{{Start: zt(time.UTC, 2026, 2, 4, 12, 0)}}},
		kolab2: func(e *Event) {
			timedKolab2(e)
			e.ExpandInReaderZone = true
			e.ExDates = []Time{date(2026, 2, 3), date(2026, 2, 7)}
			e.RDates = nil
		}})

	// Weekly in Berlin across the change to summer time, with an exclusion and a moved instance.
	weekly := gwEvent("weekly-exception", gwAt(berlin, 2026, 3, 4, 10, 0), gwAt(berlin, 2026, 3, 4, 11, 0))
	weekly.Recurrence = &groupware.Recurrence{
		Rule:    groupware.Rule{Freq: groupware.Weekly, Count: 8, WeekStart: time.Monday, ByDay: []groupware.WeekdayNum{{Weekday: time.Wednesday}}},
		ExDates: []time.Time{time.Date(2026, 3, 11, 10, 0, 0, 0, berlin)},
	}
	weekly.Exceptions = []groupware.Exception{{
		RecurrenceID: gwAt(berlin, 2026, 4, 1, 10, 0),
		Event: groupware.Event{Common: groupware.Common{Summary: "moved"}, Busy: groupware.BusyTentative,
			Start: gwAt(berlin, 2026, 4, 2, 14, 0), End: gwAt(berlin, 2026, 4, 2, 15, 30)},
	}}
	cases = append(cases, roundTrip{name: "weekly-exception", item: weekly,
		want: &Event{UID: "weekly-exception", Summary: "Summary of weekly-exception", Start: zt(berlin, 2026, 3, 4, 10, 0), End: zt(berlin, 2026, 3, 4, 11, 0),
			BusyStatus: "BUSY", RRule: "FREQ=WEEKLY;COUNT=8;BYDAY=WE", ExDates: []Time{zt(berlin, 2026, 3, 11, 10, 0)},
			Overrides: []*Event{{UID: "weekly-exception", Summary: "moved", Start: zt(berlin, 2026, 4, 2, 14, 0), End: zt(berlin, 2026, 4, 2, 15, 30),
				RecurrenceID: zt(berlin, 2026, 4, 1, 10, 0), Status: "TENTATIVE", BusyStatus: "TENTATIVE"}}},
		kolab2: func(e *Event) {
			timedKolab2(e)
			e.ExpandInReaderZone = true
			e.ExDates = []Time{date(2026, 3, 11), date(2026, 4, 1)}
			e.Overrides = nil
		}})

	// Recurring all-day events: a birthday and a few days in a row.
	birthday := gwEvent("birthday", gwDay(2026, 6, 15), gwDay(2026, 6, 16))
	birthday.Busy = groupware.BusyFree
	birthday.Recurrence = &groupware.Recurrence{Rule: groupware.Rule{Freq: groupware.Yearly, WeekStart: time.Monday}}
	cases = append(cases, roundTrip{name: "birthday", item: birthday,
		want: &Event{UID: "birthday", Summary: "Summary of birthday", Start: date(2026, 6, 15), End: date(2026, 6, 16),
			BusyStatus: "FREE", Transparent: true, RRule: "FREQ=YEARLY"},
		kolab2: func(e *Event) {
			e.Transparent, e.ExpandInReaderZone = false, true
			e.RRule = "FREQ=YEARLY;BYMONTHDAY=15;BYMONTH=6" // the writer spells out the start's day and month
		}})

	days := gwEvent("all-day-daily", gwDay(2026, 5, 4), gwDay(2026, 5, 5))
	days.Recurrence = &groupware.Recurrence{Rule: groupware.Rule{Freq: groupware.Daily, WeekStart: time.Monday, Until: time.Date(2026, 5, 8, 0, 0, 0, 0, time.UTC)},
		ExDates: []time.Time{time.Date(2026, 5, 6, 0, 0, 0, 0, time.UTC)}}
	cases = append(cases, roundTrip{name: "all-day-daily", item: days,
		want: &Event{UID: "all-day-daily", Summary: "Summary of all-day-daily", Start: date(2026, 5, 4), End: date(2026, 5, 5),
			BusyStatus: "BUSY", RRule: "FREQ=DAILY;UNTIL=20260508", ExDates: []Time{date(2026, 5, 6)}},
		kolab2: func(e *Event) { e.ExpandInReaderZone = true }})
	return cases
}

func copyEvent(e *Event) *Event {
	c := *e
	c.ExDates = append([]Time(nil), e.ExDates...)
	c.RDates = append([]RDate(nil), e.RDates...)
	c.Overrides = nil
	for _, o := range e.Overrides {
		c.Overrides = append(c.Overrides, copyEvent(o))
	}
	return &c
}

func TestRoundTrip(t *testing.T) {
	formats := []groupware.Format{groupware.FormatKolab3, groupware.FormatICal, groupware.FormatKolab2}
	for _, c := range roundTrips() {
		for _, f := range formats {
			t.Run(c.name+"/"+f.String(), func(t *testing.T) {
				var b bytes.Buffer
				if err := groupware.WriteMessage(&b, c.item, f, groupware.Envelope{}); err != nil {
					t.Fatal(err)
				}
				got, err := Read(b.Bytes())
				if err != nil {
					t.Fatalf("Read: %v\n%s", err, b.Bytes())
				}
				want := copyEvent(c.want)
				if f == groupware.FormatKolab2 && c.kolab2 != nil {
					c.kolab2(want)
				}
				checkEvents(t, c.name, got, []*Event{want})
			})
		}
	}
}
