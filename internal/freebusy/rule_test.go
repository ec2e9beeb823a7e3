package freebusy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/calobject"
	"github.com/mailshift/mailshift/internal/ical"
	"github.com/mailshift/mailshift/internal/oracle"
	"github.com/teambition/rrule-go"
)

// Moving DTSTART forward must not change a single instance: random rules are expanded by rrule-go from
// their real DTSTART and from the fast-forwarded one, and the instances in a month after the target must
// be the same.
func TestFastForwardKeepsInstances(t *testing.T) {
	zones := []*time.Location{time.UTC, berlin, newYork, mustLoad("Australia/Lord_Howe"), mustLoad("America/Santiago"),
		mustLoad("Asia/Kathmandu")}
	freqs := []rrule.Frequency{rrule.YEARLY, rrule.MONTHLY, rrule.WEEKLY, rrule.DAILY, rrule.HOURLY, rrule.MINUTELY}
	days := []string{"MO", "TU", "WE", "TH", "FR", "SA", "SU"}
	rng := rand.New(rand.NewPCG(1, 2))
	n := 2000
	if testing.Short() {
		n = 300
	}
	moved := 0
	for i := 0; i < n; i++ {
		freq := freqs[rng.IntN(len(freqs))]
		parts := []string{"FREQ=" + freq.String()}
		if rng.IntN(2) == 0 {
			parts = append(parts, fmt.Sprintf("INTERVAL=%d", 1+rng.IntN(5)))
		}
		if rng.IntN(3) == 0 {
			parts = append(parts, "WKST="+days[rng.IntN(7)])
		}
		if rng.IntN(2) == 0 {
			var byday []string
			for range 1 + rng.IntN(3) {
				d := days[rng.IntN(7)]
				if (freq == rrule.MONTHLY || freq == rrule.YEARLY) && rng.IntN(2) == 0 {
					d = fmt.Sprintf("%+d%s", []int{1, 2, -1, 3}[rng.IntN(4)], d)
				}
				byday = append(byday, d)
			}
			parts = append(parts, "BYDAY="+strings.Join(byday, ","))
		}
		if rng.IntN(4) == 0 {
			parts = append(parts, fmt.Sprintf("BYMONTHDAY=%d", []int{1, 13, 28, 31, -1}[rng.IntN(5)]))
		}
		if rng.IntN(5) == 0 {
			parts = append(parts, fmt.Sprintf("BYMONTH=%d,%d", 1+rng.IntN(12), 1+rng.IntN(12)))
		}
		if freq <= rrule.DAILY && rng.IntN(3) == 0 {
			parts = append(parts, fmt.Sprintf("BYHOUR=%d,%d", rng.IntN(24), rng.IntN(24)))
		}
		if freq == rrule.MONTHLY && rng.IntN(5) == 0 {
			parts = append(parts, "BYSETPOS=-1")
		}
		rule := strings.Join(parts, ";")
		loc := zones[rng.IntN(len(zones))]
		target := time.Date(2026, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), 0, 0, 0, time.UTC)
		back := 3 * 365 * 24 * time.Hour
		switch freq {
		case rrule.HOURLY:
			back = 200 * 24 * time.Hour
		case rrule.MINUTELY:
			back = 5 * 24 * time.Hour
		}
		dtstart := target.Add(-time.Duration(rng.Int64N(int64(back)))).In(loc).Truncate(time.Minute)
		if rng.IntN(3) == 0 {
			y, m, d := dtstart.Date()
			dtstart = time.Date(y, m, d, 0, 0, 0, 0, loc)
		}

		opt, _, err := parseRule(rule, loc)
		if err != nil {
			t.Fatalf("%s: %v", rule, err)
		}
		if !reachable(opt, dtstart) || !satisfiable(opt, dtstart) {
			continue
		}
		opt.Dtstart = dtstart
		fillDefaults(opt, dtstart)
		full, err := rrule.NewRRule(*opt)
		if err != nil {
			continue // bounds rrule-go rejects
		}
		ff := *opt
		fastForward(&ff, target.Unix(), loc)
		if !ff.Dtstart.Equal(dtstart) {
			moved++
		}
		short, err := rrule.NewRRule(ff)
		if err != nil {
			t.Fatalf("%s: %v", rule, err)
		}
		end := target.AddDate(0, 1, 0)
		if freq >= rrule.HOURLY {
			end = target.AddDate(0, 0, 2)
		}
		want, got := full.Between(target, end, true), short.Between(target, end, true)
		if !slices.EqualFunc(want, got, time.Time.Equal) {
			t.Errorf("%s from %v (%s), fast-forwarded to %v: instances after %v\n got %v\nwant %v",
				rule, dtstart, loc, ff.Dtstart, target, got, want)
		}
	}
	if moved < n/2 {
		t.Errorf("only %d of %d rules were fast-forwarded", moved, n)
	}
}

func TestParseRule(t *testing.T) {
	for _, c := range []struct {
		rule      string
		ok        bool
		dateUntil bool
	}{
		{"FREQ=WEEKLY;BYDAY=MO", true, false},
		{"RRULE:freq=weekly;until=20261231;", true, true},
		{"FREQ=DAILY;UNTIL=20261231T100000Z;INTERVAL=2", true, false},
		{"FREQ=DAILY;COUNT=-1", false, false},
		{"FREQ=DAILY\nDTSTART:20260101T000000Z", false, false},
		{"", false, false},
		{"INTERVAL=2", false, false},
		{"FREQ=DAILY;X-FOO=1", false, false},
	} {
		_, dateUntil, err := parseRule(c.rule, berlin)
		if (err == nil) != c.ok || dateUntil != c.dateUntil {
			t.Errorf("%q: error %v, date UNTIL %v", c.rule, err, dateUntil)
		}
	}
}

const vtimezones = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n" +
	"BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nDTSTART:19810329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n" +
	"BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nDTSTART:19961027T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n" +
	"END:VTIMEZONE\r\n" +
	"BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n" +
	"BEGIN:DAYLIGHT\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nDTSTART:20070311T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\nEND:DAYLIGHT\r\n" +
	"BEGIN:STANDARD\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nDTSTART:20071104T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nEND:STANDARD\r\n" +
	"END:VTIMEZONE\r\n"

// icalProp writes a DATE-TIME property in t's zone, as the VTIMEZONEs above name them.
func icalProp(name string, t time.Time) string {
	if t.Location() == time.UTC {
		return name + ":" + t.Format(ical.UTCLayout) + "\r\n"
	}
	return name + ";TZID=" + t.Location().String() + ":" + t.Format("20060102T150405") + "\r\n"
}

// Expansion is checked against dateutil, an independent implementation, reading the same series as
// iCalendar with its own VTIMEZONE rules: every instance start inside the window must agree, across
// daylight-saving changes, for series started years before the window (fast-forwarded here).
func TestExpansionMatchesDateutil(t *testing.T) {
	rules := []string{
		"FREQ=WEEKLY", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU",
		"FREQ=WEEKLY;INTERVAL=3;BYDAY=SA", "FREQ=DAILY", "FREQ=DAILY;INTERVAL=4", "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
		"FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYDAY=2TU", "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15",
		"FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=YEARLY",
		"FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU", "FREQ=DAILY;COUNT=400", "FREQ=WEEKLY;UNTIL=20260415T000000Z",
	}
	zones := []*time.Location{berlin, newYork, time.UTC}
	ws, we := ts("2026-02-20T00:00Z"), ts("2026-05-10T00:00Z")
	rng := rand.New(rand.NewPCG(3, 4))
	var docs [][]byte
	var events []*calobject.Event
	for i := range 160 {
		loc := zones[i%len(zones)]
		rule := rules[rng.IntN(len(rules))]
		start := ws.AddDate(0, 0, -rng.IntN(3*365)).In(loc)
		start = time.Date(start.Year(), start.Month(), start.Day(), rng.IntN(24), 15*rng.IntN(4), 0, 0, loc)
		ev := &calobject.Event{UID: fmt.Sprint("s", i), Start: calobject.Time{T: start}, Duration: time.Minute, RRule: rule}
		var text strings.Builder
		text.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + vtimezones)
		text.WriteString("BEGIN:VEVENT\r\nUID:" + ev.UID + "\r\nDTSTAMP:20260101T000000Z\r\n")
		text.WriteString(icalProp("DTSTART", start) + "DURATION:PT1M\r\nRRULE:" + rule + "\r\n")
		for range rng.IntN(3) {
			// A wall-clock time a few weeks into the window: an instance of most rules.
			x := time.Date(2026, 3, 1+rng.IntN(40), start.Hour(), start.Minute(), 0, 0, loc)
			ev.ExDates = append(ev.ExDates, calobject.Time{T: x})
			text.WriteString(icalProp("EXDATE", x))
		}
		if rng.IntN(3) == 0 {
			x := time.Date(2026, 4, 1+rng.IntN(20), rng.IntN(24), 0, 0, 0, loc)
			ev.RDates = append(ev.RDates, calobject.RDate{Start: calobject.Time{T: x}})
			text.WriteString(icalProp("RDATE", x))
		}
		text.WriteString("END:VEVENT\r\nEND:VCALENDAR\r\n")
		docs = append(docs, []byte(text.String()))
		events = append(events, ev)
	}
	results := oracle.ICalendar(t, docs, ws, we)
	total := 0
	for i, r := range results {
		if r.Error != "" || len(r.MissingTimeZones) > 0 {
			t.Fatalf("doc %d: %s %v", i, r.Error, r.MissingTimeZones)
		}
		want := map[string]bool{}
		for _, in := range r.Instances {
			if s, err := time.Parse("2006-01-02T15:04:05Z", in.Start); err != nil {
				t.Fatalf("doc %d: instance %q", i, in.Start)
			} else if s.Before(we) {
				want[s.Format(time.RFC3339)] = true
			}
		}
		periods, problems := Compute(events[i:i+1], Options{Start: ws, End: we})
		if len(problems) > 0 {
			t.Fatalf("doc %d: %v", i, problems)
		}
		got := map[string]bool{}
		for _, p := range periods {
			got[p.Start.Format(time.RFC3339)] = true
		}
		// dateutil leaves out a DTSTART its rule does not produce; Compute keeps it busy.
		if d := events[i].Start.T.UTC().Format(time.RFC3339); !want[d] {
			delete(got, d)
		}
		total += len(want)
		var missing, extra []string
		for s := range want {
			if !got[s] {
				missing = append(missing, s)
			}
		}
		for s := range got {
			if !want[s] {
				extra = append(extra, s)
			}
		}
		if len(missing)+len(extra) > 0 {
			slices.Sort(missing)
			slices.Sort(extra)
			t.Errorf("%s from %v: missing %v, extra %v", events[i].RRule, events[i].Start.T, missing, extra)
		}
	}
	if total < 1000 {
		t.Errorf("only %d instances compared", total)
	}
}
