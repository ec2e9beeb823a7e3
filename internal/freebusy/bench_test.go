package freebusy

import (
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/calobject"
)

// benchEvents is a large mailbox's calendar: 9,000 single events over three years around now (all-day,
// floating, tentative and out-of-office among them) and 1,000 series: weekly on two days with two EXDATEs
// and a moved instance, daily with COUNT, monthly by weekday, and a quarter started two years ago without
// end, in UTC, Europe/Berlin and America/New_York.
func benchEvents(now time.Time) []*calobject.Event {
	rng := rand.New(rand.NewPCG(7, 11))
	zones := []*time.Location{time.UTC, berlin, newYork}
	var events []*calobject.Event
	at := func(loc *time.Location, t time.Time) calobject.Time { return calobject.Time{T: t.In(loc)} }
	for i := range 9000 {
		loc := zones[i%3]
		start := now.AddDate(0, 0, rng.IntN(3*365)-2*365).Truncate(time.Hour).Add(time.Duration(rng.IntN(10)) * time.Hour)
		ev := &calobject.Event{UID: fmt.Sprint("single-", i), Summary: "Meeting"}
		switch i % 20 {
		case 0:
			d := calobject.Time{T: start.Truncate(24 * time.Hour), AllDay: true}
			ev.Start, ev.End = d, calobject.Time{T: d.T.AddDate(0, 0, 1+rng.IntN(3)), AllDay: true}
			ev.BusyStatus = "OOF"
		case 1:
			ev.Start = calobject.Time{T: start, Floating: true}
			ev.Duration = time.Hour
		default:
			ev.Start, ev.End = at(loc, start), at(loc, start.Add(time.Duration(1+rng.IntN(4))*30*time.Minute))
		}
		switch i % 7 {
		case 3:
			ev.Status = "TENTATIVE"
		case 5:
			ev.Transparent = true
		}
		events = append(events, ev)
	}
	for i := range 1000 {
		loc := zones[i%3]
		start := now.AddDate(0, 0, -rng.IntN(120)).Truncate(24 * time.Hour).Add(time.Duration(8+rng.IntN(9)) * time.Hour)
		ev := &calobject.Event{UID: fmt.Sprint("series-", i), Summary: "Series"}
		switch i % 4 {
		case 0: // weekly with exceptions
			ev.RRule = []string{"FREQ=WEEKLY;BYDAY=MO,WE", "FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20270101T000000Z"}[i/4%2]
			first := time.Date(start.Year(), start.Month(), start.Day(), start.Hour(), 0, 0, 0, loc)
			for first.Weekday() != time.Monday && first.Weekday() != time.Tuesday {
				first = first.AddDate(0, 0, 1)
			}
			ev.Start, ev.End = at(loc, first), at(loc, first.Add(time.Hour))
			ev.ExDates = []calobject.Time{at(loc, first.AddDate(0, 0, 14)), at(loc, first.AddDate(0, 0, 70))}
			rid := first.AddDate(0, 0, 7*(8+rng.IntN(8)))
			ev.Overrides = []*calobject.Event{{UID: ev.UID, RecurrenceID: at(loc, rid),
				Start: at(loc, rid.Add(3*time.Hour)), End: at(loc, rid.Add(4*time.Hour))}}
		case 1: // daily with COUNT
			ev.RRule = fmt.Sprintf("FREQ=DAILY;COUNT=%d", 5+rng.IntN(60))
			ev.Start, ev.End = at(loc, start), at(loc, start.Add(30*time.Minute))
		case 2: // monthly by weekday
			ev.RRule = []string{"FREQ=MONTHLY;BYDAY=2TU", "FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYMONTHDAY=15"}[i/4%3]
			ev.Start, ev.End = at(loc, start), at(loc, start.Add(time.Hour))
		case 3: // started two years ago, no end
			old := start.AddDate(-2, 0, 0)
			ev.RRule = []string{"FREQ=WEEKLY;BYDAY=FR", "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", "FREQ=MONTHLY;BYDAY=1MO", "FREQ=WEEKLY;INTERVAL=2"}[i/4%4]
			ev.Start, ev.End = at(loc, old), at(loc, old.Add(45*time.Minute))
		}
		events = append(events, ev)
	}
	return events
}

func BenchmarkCompute10000(b *testing.B) {
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	events := benchEvents(now)
	start, end := DefaultWindow(now)
	opt := Options{Start: start, End: end, Location: berlin, Organizer: "alice@example.test"}
	periods, problems := Compute(events, opt)
	if len(problems) > 0 || len(periods) < 100 {
		b.Fatalf("%d periods, problems %v", len(periods), problems)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		periods, _ := Compute(events, opt)
		if err := Write(io.Discard, periods, opt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(periods)), "periods")
}
