package oxocal

import (
	"testing"
	"time"
)

// fuzzWindow is the one-year window every parsed blob is expanded over.
var (
	fuzzFrom = time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
	fuzzTo   = time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
)

// FuzzParseAppointmentRecurrence: no blob panics the parser, and whatever parses converts and expands
// over a year without panicking or running away.
func FuzzParseAppointmentRecurrence(f *testing.F) {
	for _, h := range []string{specWeeklyHex, specWeeklyExceptionHex, specDailyHex} {
		f.Add(mustHex(f, h))
	}
	f.Add(loadAppointment(f, "javalibpst-dist-list.pst", "Test appointment").recur)
	for _, s := range syntheticSeries {
		f.Add(s.s.encode())
	}
	berlin := mustLoad(f, "Europe/Berlin")
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAppointmentRecurrence(b)
		if err != nil {
			if a != nil {
				t.Fatal("result and error")
			}
			return
		}
		if p, err := ParseRecurrencePattern(b); err != nil || p.Period != a.Period {
			t.Fatalf("pattern prefix: %v", err)
		}
		_, _ = a.Rule(berlin, int(a.StartTimeOffset))
		_, _, _ = a.Recurrence(berlin)
		in := a.Instances(berlin, fuzzFrom, fuzzTo)
		if len(in) > maxExpansion+len(a.Exceptions) {
			t.Fatalf("%d instances", len(in))
		}
	})
}

// FuzzParseTimeZoneDefinition: no blob panics the parser, and every parsed definition resolves to a
// usable location.
func FuzzParseTimeZoneDefinition(f *testing.F) {
	fx := loadAppointment(f, "javalibpst-dist-list.pst", "Test appointment")
	f.Add(fx.tzStart)
	f.Add(fx.tzEnd)
	f.Add(encodeTZDefinition("Odd Standard Time", []TimeZoneRule{oddRule}))
	f.Add(encodeTZDefinition("", []TimeZoneRule{berlinRule, newYorkRule}))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseTimeZoneDefinition(b)
		if err != nil {
			return
		}
		loc, _, _ := Location(d, "", 2016)
		if loc == nil {
			t.Fatal("nil location")
		}
		_ = fuzzFrom.In(loc).String()
		if s, err := ParseTimeZoneStruct(b); err == nil {
			Location(s.Definition(), "", 2016)
		}
	})
}
