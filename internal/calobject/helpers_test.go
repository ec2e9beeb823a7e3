package calobject

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func mustLoad(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

func zone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// zt is a zoned (or, with time.UTC, a UTC) value.
func zt(loc *time.Location, y int, m time.Month, d, h, min int) Time {
	return Time{T: time.Date(y, m, d, h, min, 0, 0, loc)}
}

// date is a DATE value.
func date(y int, m time.Month, d int) Time {
	return Time{T: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), AllDay: true}
}

// floating is a floating DATE-TIME value.
func floating(y int, m time.Month, d, h, min int) Time {
	return Time{T: time.Date(y, m, d, h, min, 0, 0, time.UTC), Floating: true}
}

// sameTime compares values by meaning: the same kind, the same instant (or wall clock), the same zone name.
func sameTime(a, b Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() == b.IsZero()
	}
	if a.AllDay != b.AllDay || a.Floating != b.Floating || !a.T.Equal(b.T) {
		return false
	}
	if !a.AllDay && !a.Floating && a.T.Location().String() != b.T.Location().String() {
		return false
	}
	return true
}

func showTime(t Time) string {
	if t.IsZero() {
		return "zero"
	}
	return describe(t)
}

// diffEvent lists the differences between got and want in the fields free/busy uses.
func diffEvent(prefix string, got, want *Event) []string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s%s = %v, want %v", prefix, field, g, w)) }
	if got.UID != want.UID {
		add("UID", got.UID, want.UID)
	}
	if got.Summary != want.Summary {
		add("Summary", got.Summary, want.Summary)
	}
	for _, f := range []struct {
		name string
		g, w Time
	}{{"Start", got.Start, want.Start}, {"End", got.End, want.End}, {"RecurrenceID", got.RecurrenceID, want.RecurrenceID}} {
		if !sameTime(f.g, f.w) {
			add(f.name, showTime(f.g), showTime(f.w))
		}
	}
	if got.Duration != want.Duration {
		add("Duration", got.Duration, want.Duration)
	}
	if got.Status != want.Status {
		add("Status", got.Status, want.Status)
	}
	if got.Transparent != want.Transparent {
		add("Transparent", got.Transparent, want.Transparent)
	}
	if got.BusyStatus != want.BusyStatus {
		add("BusyStatus", got.BusyStatus, want.BusyStatus)
	}
	if got.RRule != want.RRule {
		add("RRule", got.RRule, want.RRule)
	}
	if got.ExpandInReaderZone != want.ExpandInReaderZone {
		add("ExpandInReaderZone", got.ExpandInReaderZone, want.ExpandInReaderZone)
	}
	if got.ThisAndFuture != want.ThisAndFuture {
		add("ThisAndFuture", got.ThisAndFuture, want.ThisAndFuture)
	}
	if !sameTimes(got.ExDates, want.ExDates) {
		add("ExDates", showTimes(got.ExDates), showTimes(want.ExDates))
	}
	if len(got.RDates) != len(want.RDates) {
		add("RDates", showRDates(got.RDates), showRDates(want.RDates))
	} else {
		for i := range got.RDates {
			if !sameTime(got.RDates[i].Start, want.RDates[i].Start) || !sameTime(got.RDates[i].End, want.RDates[i].End) {
				add("RDates", showRDates(got.RDates), showRDates(want.RDates))
				break
			}
		}
	}
	if len(got.Overrides) != len(want.Overrides) {
		add("len(Overrides)", len(got.Overrides), len(want.Overrides))
	} else {
		for i := range got.Overrides {
			d = append(d, diffEvent(fmt.Sprintf("%sOverrides[%d].", prefix, i), got.Overrides[i], want.Overrides[i])...)
		}
	}
	return d
}

func sameTimes(a, b []Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameTime(a[i], b[i]) {
			return false
		}
	}
	return true
}

func showTimes(ts []Time) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = showTime(t)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func showRDates(rs []RDate) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = showTime(r.Start) + "/" + showTime(r.End)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// checkEvents compares whole results.
func checkEvents(t *testing.T, name string, got, want []*Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d events, want %d", name, len(got), len(want))
		for _, e := range got {
			t.Logf("  got %+v", *e)
		}
		return
	}
	for i := range got {
		for _, d := range diffEvent(fmt.Sprintf("%s: event %d: ", name, i), got[i], want[i]) {
			t.Error(d)
		}
	}
}

// crlf turns a test document written with "\n" into the CRLF form mail carries.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
