package calendarsource

import (
	"bytes"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/freebusy"
	"github.com/mailshift/mailshift/internal/groupware"
)

// calendar10000 is a 10,000-event calendar as a folder holds it after a migration: 9,000 single events over
// three months and 1,000 recurring series of every common kind (weekly with exclusions and a moved
// instance, daily with a count, monthly on the last Friday, yearly, series begun two years before the
// window without end), in Berlin, New York and UTC; nine in ten Kolab v3, the rest plain iCalendar and
// Kolab v2.
func calendar10000(tb testing.TB, now time.Time) [][]byte {
	tb.Helper()
	zones := []string{"Europe/Berlin", "America/New_York", ""}
	msgs := make([][]byte, 0, 10000)
	for i := range 10000 {
		tzid := zones[i%3]
		loc := time.UTC
		if tzid != "" {
			var err error
			if loc, err = time.LoadLocation(tzid); err != nil {
				tb.Fatal(err)
			}
		}
		at := func(t time.Time) groupware.DateTime { return groupware.DateTime{Time: t.In(loc), TZID: tzid} }
		start := time.Date(now.Year(), now.Month(), now.Day()-7+i%90, 8+i%9, 30*(i%2), 0, 0, loc)
		e := &groupware.Event{
			Common: groupware.Common{UID: fmt.Sprintf("bench-%05d@example.test", i), Summary: fmt.Sprintf("Meeting %d", i),
				Created: now.AddDate(-3, 0, 0), LastModified: now.AddDate(-3, 0, 0)},
			Start: at(start), End: at(start.Add(time.Duration(30+15*(i%4)) * time.Minute)),
			Busy: groupware.BusyStatus(i % 4),
		}
		if i%10 == 0 { // 1,000 series
			rule := groupware.Rule{WeekStart: time.Monday}
			switch (i / 10) % 5 {
			case 0:
				rule.Freq, rule.ByDay = groupware.Weekly, []groupware.WeekdayNum{{Weekday: start.Weekday()}}
				e.Recurrence = &groupware.Recurrence{ExDates: []time.Time{start.AddDate(0, 0, 7), start.AddDate(0, 0, 21)}}
				moved := start.AddDate(0, 0, 14)
				e.Exceptions = []groupware.Exception{{RecurrenceID: at(moved), Event: groupware.Event{
					Common: groupware.Common{UID: e.UID, Summary: "moved"}, Start: at(moved.Add(2 * time.Hour)), End: at(moved.Add(3 * time.Hour))}}}
			case 1:
				rule.Freq, rule.Count = groupware.Daily, 30
			case 2:
				rule.Freq, rule.ByDay = groupware.Monthly, []groupware.WeekdayNum{{N: -1, Weekday: time.Friday}}
			case 3: // begun two years ago, no end: the expansion must not walk from its start
				rule.Freq = groupware.Weekly
				old := start.AddDate(-2, 0, 0)
				e.Start, e.End = at(old), at(old.Add(time.Hour))
				rule.ByDay = []groupware.WeekdayNum{{Weekday: old.Weekday()}}
			case 4:
				rule.Freq = groupware.Yearly
			}
			if e.Recurrence == nil {
				e.Recurrence = &groupware.Recurrence{}
			}
			e.Recurrence.Rule = rule
		}
		format := groupware.FormatKolab3
		switch {
		case i%20 == 9:
			format = groupware.FormatICal
		case i%20 == 19 && e.Recurrence == nil:
			format = groupware.FormatKolab2
		}
		var b bytes.Buffer
		if err := groupware.WriteMessage(&b, e, format, groupware.Envelope{}); err != nil {
			tb.Fatalf("event %d: %v", i, err)
		}
		msgs = append(msgs, b.Bytes())
	}
	return msgs
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFreeBusy10000 is the whole computation a publication makes once the messages are fetched:
// parse 10,000 calendar messages, expand and merge over the default window, write the VFREEBUSY. The
// target is under 1 s of CPU per run; cpu-ms/op is the process's CPU time (every thread), not wall time.
func BenchmarkFreeBusy10000(b *testing.B) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	msgs := calendar10000(b, now)
	start, end := freebusy.DefaultWindow(now)
	opt := freebusy.Options{Start: start, End: end, Location: time.UTC, Organizer: "alice@example.test", Stamp: now}
	b.ReportAllocs()
	var pub *Publication
	cpu := cpuTime()
	for b.Loop() {
		res := &Result{}
		for i, m := range msgs {
			res.add("Calendar", uint32(i+1), parse(m))
		}
		pub = &Publication{}
		if err := pub.compute(res, opt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	if pub.Events != 10000 || len(pub.Unreadable) != 0 || len(pub.Periods) == 0 {
		b.Fatalf("%d events, %d periods, unreadable %q", pub.Events, len(pub.Periods), pub.Unreadable)
	}
	b.ReportMetric(float64(len(pub.Periods)), "periods")
}
