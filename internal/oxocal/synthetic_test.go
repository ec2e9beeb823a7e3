package oxocal

import (
	"errors"
	"testing"
	"time"
)

func wall(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

// syntheticSeries covers every pattern type and end type, DST changes in Berlin and New York, all-day
// series, deleted and modified instances and Unicode exception subjects.
var syntheticSeries = []struct {
	name  string
	zone  string
	s     testSeries
	rrule string
	from  time.Time // window, wall clock in zone
	to    time.Time
}{
	{"daily every 2 days across the Berlin DST end, count 10", "Europe/Berlin", testSeries{
		freq: FrequencyDaily, pattern: PatternDay, period: 2 * 1440, end: EndAfterOccurrences, count: 10,
		start: wall(2024, 10, 20, 0, 0), startMin: 9 * 60, endMin: 10 * 60,
	}, "FREQ=DAILY;INTERVAL=2;COUNT=10;WKST=SU", wall(2024, 10, 1, 0, 0), wall(2025, 1, 1, 0, 0)},
	{"weekly Mon/Wed/Fri every 2 weeks across the New York DST start, until", "America/New_York", testSeries{
		freq: FrequencyWeekly, pattern: PatternWeek, period: 2, mask: 0x2A, end: EndAfterDate, firstDOW: time.Monday,
		start: wall(2024, 2, 26, 0, 0), last: wall(2024, 4, 19, 0, 0), startMin: 14*60 + 30, endMin: 15*60 + 30,
	}, "FREQ=WEEKLY;INTERVAL=2;UNTIL=20240419T183000Z;BYDAY=MO,WE,FR;WKST=MO", wall(2024, 1, 1, 0, 0), wall(2025, 1, 1, 0, 0)},
	{"every weekday (daily frequency, week pattern), never ends", "Europe/Berlin", testSeries{
		freq: FrequencyDaily, pattern: PatternWeek, period: 1, mask: MaskWeekdays, end: EndNever,
		start: wall(2024, 3, 25, 0, 0), startMin: 8 * 60, endMin: 8*60 + 15,
	}, "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;WKST=SU", wall(2024, 3, 1, 0, 0), wall(2024, 5, 1, 0, 0)},
	{"weekly Sunday and Monday every 2 weeks, week starting Monday", "Europe/Berlin", testSeries{
		freq: FrequencyWeekly, pattern: PatternWeek, period: 2, mask: 0x03, end: EndAfterOccurrences, count: 7,
		firstDOW: time.Monday, start: wall(2024, 1, 7, 0, 0), startMin: 12 * 60, endMin: 13 * 60,
	}, "FREQ=WEEKLY;INTERVAL=2;COUNT=7;BYDAY=SU,MO;WKST=MO", wall(2024, 1, 1, 0, 0), wall(2025, 1, 1, 0, 0)},
	{"monthly on day 31, count 8", "America/New_York", testSeries{
		freq: FrequencyMonthly, pattern: PatternMonth, period: 1, dayOfMonth: 31, end: EndAfterOccurrences, count: 8,
		start: wall(2024, 1, 31, 0, 0), startMin: 9 * 60, endMin: 10 * 60,
	}, "FREQ=MONTHLY;COUNT=8;BYMONTHDAY=-1;WKST=SU", wall(2024, 1, 1, 0, 0), wall(2025, 1, 1, 0, 0)},
	{"monthly on day 30 every 2 months", "Europe/Berlin", testSeries{
		freq: FrequencyMonthly, pattern: PatternMonth, period: 2, dayOfMonth: 30, end: EndAfterOccurrences, count: 6,
		start: wall(2023, 12, 30, 0, 0), startMin: 18 * 60, endMin: 19 * 60,
	}, "FREQ=MONTHLY;INTERVAL=2;COUNT=6;BYMONTHDAY=28,29,30;BYSETPOS=-1;WKST=SU", wall(2023, 12, 1, 0, 0), wall(2025, 1, 1, 0, 0)},
	{"monthly second Tuesday", "America/New_York", testSeries{
		freq: FrequencyMonthly, pattern: PatternMonthNth, period: 1, mask: 0x04, n: 2, end: EndAfterOccurrences, count: 6,
		start: wall(2024, 1, 9, 0, 0), startMin: 10 * 60, endMin: 11 * 60,
	}, "FREQ=MONTHLY;COUNT=6;BYDAY=2TU;WKST=SU", wall(2024, 1, 1, 0, 0), wall(2025, 1, 1, 0, 0)},
	{"monthly last Friday, until", "Europe/Berlin", testSeries{
		freq: FrequencyMonthly, pattern: PatternMonthNth, period: 1, mask: 0x20, n: NthLast, end: EndAfterDate,
		start: wall(2024, 1, 26, 0, 0), last: wall(2024, 6, 28, 0, 0), startMin: 16 * 60, endMin: 17 * 60,
	}, "FREQ=MONTHLY;UNTIL=20240628T140000Z;BYDAY=-1FR;WKST=SU", wall(2024, 1, 1, 0, 0), wall(2025, 1, 1, 0, 0)},
	{"monthly last weekday", "America/New_York", testSeries{
		freq: FrequencyMonthly, pattern: PatternMonthNth, period: 1, mask: MaskWeekdays, n: NthLast, end: EndAfterOccurrences, count: 12,
		start: wall(2024, 1, 31, 0, 0), startMin: 17 * 60, endMin: 17*60 + 30,
	}, "FREQ=MONTHLY;COUNT=12;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;WKST=SU", wall(2024, 1, 1, 0, 0), wall(2025, 2, 1, 0, 0)},
	{"every 3 months on the first weekend day", "Europe/Berlin", testSeries{
		freq: FrequencyMonthly, pattern: PatternMonthNth, period: 3, mask: MaskWeekendDays, n: 1, end: EndAfterOccurrences, count: 5,
		start: wall(2024, 3, 2, 0, 0), startMin: 11 * 60, endMin: 12 * 60,
	}, "FREQ=MONTHLY;INTERVAL=3;COUNT=5;BYDAY=SU,SA;BYSETPOS=1;WKST=SU", wall(2024, 1, 1, 0, 0), wall(2025, 6, 1, 0, 0)},
	{"monthly on the third day", "Europe/Berlin", testSeries{
		freq: FrequencyMonthly, pattern: PatternMonthNth, period: 1, mask: MaskAllDays, n: 3, end: EndAfterOccurrences, count: 4,
		start: wall(2024, 2, 3, 0, 0), startMin: 7 * 60, endMin: 8 * 60,
	}, "FREQ=MONTHLY;COUNT=4;BYDAY=SU,MO,TU,WE,TH,FR,SA;BYSETPOS=3;WKST=SU", wall(2024, 1, 1, 0, 0), wall(2025, 1, 1, 0, 0)},
	{"month end every 3 months, never ends", "America/New_York", testSeries{
		freq: FrequencyMonthly, pattern: PatternMonthEnd, period: 3, dayOfMonth: 31, end: EndNeverAlt,
		start: wall(2024, 2, 29, 0, 0), startMin: 12 * 60, endMin: 13 * 60,
	}, "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1;WKST=SU", wall(2024, 1, 1, 0, 0), wall(2026, 1, 1, 0, 0)},
	{"yearly on February 29", "Europe/Berlin", testSeries{
		freq: FrequencyYearly, pattern: PatternMonth, period: 12, dayOfMonth: 29, end: EndAfterOccurrences, count: 5,
		start: wall(2024, 2, 29, 0, 0), startMin: 0, endMin: 1440,
	}, "FREQ=YEARLY;COUNT=5;BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1;WKST=SU", wall(2024, 1, 1, 0, 0), wall(2030, 1, 1, 0, 0)},
	{"yearly on the last Sunday of October (the Berlin DST end)", "Europe/Berlin", testSeries{
		freq: FrequencyYearly, pattern: PatternMonthNth, period: 12, mask: 0x01, n: NthLast, end: EndAfterOccurrences, count: 4,
		start: wall(2024, 10, 27, 0, 0), startMin: 2*60 + 30, endMin: 3 * 60,
	}, "FREQ=YEARLY;COUNT=4;BYMONTH=10;BYDAY=-1SU;WKST=SU", wall(2024, 1, 1, 0, 0), wall(2029, 1, 1, 0, 0)},
	{"every 2 years on June 15", "America/New_York", testSeries{
		freq: FrequencyYearly, pattern: PatternMonth, period: 24, dayOfMonth: 15, end: EndAfterDate,
		start: wall(2023, 6, 15, 0, 0), last: wall(2031, 6, 15, 0, 0), startMin: 9 * 60, endMin: 10 * 60,
	}, "FREQ=YEARLY;INTERVAL=2;UNTIL=20310615T130000Z;BYMONTH=6;BYMONTHDAY=15;WKST=SU", wall(2023, 1, 1, 0, 0), wall(2035, 1, 1, 0, 0)},
	{"daily at 02:30 across the New York DST start (a skipped time)", "America/New_York", testSeries{
		freq: FrequencyDaily, pattern: PatternDay, period: 1440, end: EndAfterOccurrences, count: 5,
		start: wall(2024, 3, 8, 0, 0), startMin: 150, endMin: 180,
	}, "FREQ=DAILY;COUNT=5;WKST=SU", wall(2024, 3, 1, 0, 0), wall(2024, 4, 1, 0, 0)},
	{"daily at 01:30 across the New York DST end (a repeated time)", "America/New_York", testSeries{
		freq: FrequencyDaily, pattern: PatternDay, period: 1440, end: EndAfterOccurrences, count: 5,
		start: wall(2024, 11, 1, 0, 0), startMin: 90, endMin: 120,
	}, "FREQ=DAILY;COUNT=5;WKST=SU", wall(2024, 10, 1, 0, 0), wall(2024, 12, 1, 0, 0)},
	{"all-day daily, every day for a week, in UTC", "UTC", testSeries{
		freq: FrequencyDaily, pattern: PatternDay, period: 1440, end: EndAfterOccurrences, count: 7,
		start: wall(2024, 12, 28, 0, 0), startMin: 0, endMin: 1440,
	}, "FREQ=DAILY;COUNT=7;WKST=SU", wall(2024, 12, 1, 0, 0), wall(2025, 2, 1, 0, 0)},
	{"weekly Thursday with a deletion and a Unicode exception", "Europe/Berlin", testSeries{
		freq: FrequencyWeekly, pattern: PatternWeek, period: 1, mask: 0x10, end: EndAfterOccurrences, count: 6,
		start: wall(2024, 3, 14, 0, 0), startMin: 9 * 60, endMin: 10 * 60,
		deleted: []time.Time{wall(2024, 3, 21, 0, 0)},
		exceptions: []testException{{
			start: wall(2024, 4, 5, 13, 0), end: wall(2024, 4, 5, 14, 0), original: wall(2024, 4, 4, 9, 0),
			flags: OverrideSubject | OverrideLocation | OverrideBusyStatus, busy: 1,
			subject8: "Pr?sentation", subjectW: "Präsentation – 東京", location8: "Raum 1", locationW: "Raum 1 – Köln",
		}},
	}, "FREQ=WEEKLY;COUNT=6;BYDAY=TH;WKST=SU", wall(2024, 3, 1, 0, 0), wall(2024, 6, 1, 0, 0)},
}

// inZone reinterprets a wall clock in zone.
func inZone(t time.Time, loc *time.Location) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, loc)
}

// TestSyntheticRulesAgainstDateutil converts each series to an RRULE, checks the rule text, and compares
// the python3-dateutil expansion of it with Instances.
func TestSyntheticRulesAgainstDateutil(t *testing.T) {
	var cases []oracleCase
	var series []*AppointmentRecurrence
	for _, tt := range syntheticSeries {
		a, err := ParseAppointmentRecurrence(tt.s.encode())
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		loc := mustLoad(t, tt.zone)
		rec, _, err := a.Recurrence(loc)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := formatRRule(rec.Rule); got != tt.rrule {
			t.Errorf("%s: rule\n got %s\nwant %s", tt.name, got, tt.rrule)
		}
		series = append(series, a)
		cases = append(cases, oracleCaseFor(t, a, tt.zone, inZone(tt.from, loc), inZone(tt.to, loc)))
	}
	results := expandWithDateutil(t, cases)
	for i, tt := range syntheticSeries {
		loc := mustLoad(t, tt.zone)
		got := originalStarts(series[i].Instances(loc, inZone(tt.from, loc), inZone(tt.to, loc)))
		if len(got) == 0 {
			t.Errorf("%s: no instances", tt.name)
		}
		if !equalTimes(got, results[i]) {
			t.Errorf("%s:\nInstances %v\n dateutil %v", tt.name, got, results[i])
		}
	}
}

// TestSyntheticInstancesByHand pins some expansions to lists written by hand.
func TestSyntheticInstancesByHand(t *testing.T) {
	byName := func(name string) testSeries {
		for _, s := range syntheticSeries {
			if s.name == name {
				return s.s
			}
		}
		t.Fatalf("no series %q", name)
		return testSeries{}
	}
	tests := []struct {
		series string
		zone   string
		want   []string // RFC 3339 starts
	}{
		{"daily every 2 days across the Berlin DST end, count 10", "Europe/Berlin", []string{
			"2024-10-20T09:00:00+02:00", "2024-10-22T09:00:00+02:00", "2024-10-24T09:00:00+02:00",
			"2024-10-26T09:00:00+02:00", "2024-10-28T09:00:00+01:00", "2024-10-30T09:00:00+01:00",
			"2024-11-01T09:00:00+01:00", "2024-11-03T09:00:00+01:00", "2024-11-05T09:00:00+01:00",
			"2024-11-07T09:00:00+01:00"}},
		{"weekly Mon/Wed/Fri every 2 weeks across the New York DST start, until", "America/New_York", []string{
			"2024-02-26T14:30:00-05:00", "2024-02-28T14:30:00-05:00", "2024-03-01T14:30:00-05:00",
			"2024-03-11T14:30:00-04:00", "2024-03-13T14:30:00-04:00", "2024-03-15T14:30:00-04:00",
			"2024-03-25T14:30:00-04:00", "2024-03-27T14:30:00-04:00", "2024-03-29T14:30:00-04:00",
			"2024-04-08T14:30:00-04:00", "2024-04-10T14:30:00-04:00", "2024-04-12T14:30:00-04:00"}},
		{"monthly on day 31, count 8", "America/New_York", []string{
			"2024-01-31T09:00:00-05:00", "2024-02-29T09:00:00-05:00", "2024-03-31T09:00:00-04:00",
			"2024-04-30T09:00:00-04:00", "2024-05-31T09:00:00-04:00", "2024-06-30T09:00:00-04:00",
			"2024-07-31T09:00:00-04:00", "2024-08-31T09:00:00-04:00"}},
		{"weekly Sunday and Monday every 2 weeks, week starting Monday", "Europe/Berlin", []string{
			"2024-01-07T12:00:00+01:00", "2024-01-15T12:00:00+01:00", "2024-01-21T12:00:00+01:00",
			"2024-01-29T12:00:00+01:00", "2024-02-04T12:00:00+01:00", "2024-02-12T12:00:00+01:00",
			"2024-02-18T12:00:00+01:00"}},
		{"weekly Thursday with a deletion and a Unicode exception", "Europe/Berlin", []string{
			"2024-03-14T09:00:00+01:00", "2024-03-28T09:00:00+01:00", "2024-04-05T13:00:00+02:00",
			"2024-04-11T09:00:00+02:00", "2024-04-18T09:00:00+02:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.series, func(t *testing.T) {
			a, err := ParseAppointmentRecurrence(byName(tt.series).encode())
			if err != nil {
				t.Fatal(err)
			}
			loc := mustLoad(t, tt.zone)
			got := a.Instances(loc, time.Date(2000, 1, 1, 0, 0, 0, 0, loc), time.Date(2040, 1, 1, 0, 0, 0, 0, loc))
			if len(got) != len(tt.want) {
				t.Fatalf("%d instances, want %d: %v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				if !got[i].Start.Equal(rfc3339(t, w)) {
					t.Errorf("instance %d at %v, want %s", i, got[i].Start, w)
				}
			}
		})
	}
}

func TestUnicodeExceptionSubject(t *testing.T) {
	s := syntheticSeries[len(syntheticSeries)-1].s
	loc := mustLoad(t, "Europe/Berlin")
	for _, writer := range []uint32{0x3009, 0x3008} {
		s.writer2 = writer
		a, err := ParseAppointmentRecurrenceInCodePage(s.encode(), 1252)
		if err != nil {
			t.Fatalf("writer %#x: %v", writer, err)
		}
		_, overrides, err := a.Recurrence(loc)
		if err != nil {
			t.Fatal(err)
		}
		if len(overrides) != 1 {
			t.Fatalf("%d overrides", len(overrides))
		}
		o := overrides[0]
		if o.Info.Subject != "Präsentation – 東京" || o.Info.Location != "Raum 1 – Köln" || o.Info.BusyStatus != 1 {
			t.Errorf("writer %#x: subject %q location %q busy %d", writer, o.Info.Subject, o.Info.Location, o.Info.BusyStatus)
		}
		if string(o.Info.Subject8) != "Pr?sentation" || o.Info.HasChangeHighlight != (writer >= 0x3009) {
			t.Errorf("writer %#x: 8-bit subject %q, change highlight %v", writer, o.Info.Subject8, o.Info.HasChangeHighlight)
		}
		if !o.RecurrenceID.Equal(time.Date(2024, 4, 4, 9, 0, 0, 0, loc)) || !o.Start.Equal(time.Date(2024, 4, 5, 13, 0, 0, 0, loc)) {
			t.Errorf("override %v → %v", o.RecurrenceID, o.Start)
		}
	}
}

// TestNoExtendedExceptions: a writer that stops after ReservedBlock1, or stores only ReservedBlock2Size,
// still yields its 8-bit subjects, decoded in the item's code page.
func TestNoExtendedExceptions(t *testing.T) {
	s := syntheticSeries[len(syntheticSeries)-1].s
	s.exceptions = append([]testException(nil), s.exceptions...)
	s.exceptions[0].subject8 = "Pr\xe4sentation" // Windows-1252 ä
	full := s.encode()
	// The pattern and exception part ends where the 0x3009 extended array begins: find it by encoding
	// without exceptions' extended records.
	head := len(full) - extendedLen(s) - 4 // less ReservedBlock2Size
	for _, b := range [][]byte{full[:head], append(append([]byte(nil), full[:head]...), 0, 0, 0, 0)} {
		a, err := ParseAppointmentRecurrenceInCodePage(b, 1252)
		if err != nil {
			t.Fatalf("%d bytes: %v", len(b), err)
		}
		e := a.Exceptions[0]
		if a.HasExtendedExceptions || e.UnicodeSubject || e.Subject != "Präsentation" || e.Location != "Raum 1" {
			t.Errorf("%d bytes: extended=%v subject %q location %q", len(b), a.HasExtendedExceptions, e.Subject, e.Location)
		}
	}
}

// extendedLen is the length of the ExtendedException array testSeries.encode writes.
func extendedLen(s testSeries) int {
	n := 0
	for _, e := range s.exceptions {
		n += 8 + 4 // ChangeHighlight, ReservedBlockEE1Size
		if e.flags.Has(OverrideSubject) || e.flags.Has(OverrideLocation) {
			n += 12 + 4
			if e.flags.Has(OverrideSubject) {
				n += 2 + 2*len([]rune(e.subjectW)) // BMP only
			}
			if e.flags.Has(OverrideLocation) {
				n += 2 + 2*len([]rune(e.locationW))
			}
		}
	}
	return n
}

func TestUnsupportedPatterns(t *testing.T) {
	base := testSeries{freq: FrequencyMonthly, pattern: PatternMonth, period: 1, dayOfMonth: 5, end: EndNever,
		start: wall(2024, 1, 5, 0, 0), startMin: 600, endMin: 660}
	tests := []struct {
		name  string
		edit  func(*testSeries)
		field string
	}{
		{"Hijri month", func(s *testSeries) { s.pattern = PatternHjMonth }, "PatternType"},
		{"Hijri Nth", func(s *testSeries) { s.pattern, s.mask, s.n = PatternHjMonthNth, 0x02, 1 }, "PatternType"},
		{"Hebrew calendar", func(s *testSeries) { s.calendar = CalendarHebrewLunar }, "CalendarType"},
		{"sub-day period", func(s *testSeries) { s.pattern, s.period = PatternDay, 720 }, "Period"},
		{"no weekday", func(s *testSeries) { s.pattern, s.mask = PatternWeek, 0 }, "PatternTypeSpecific.Week"},
		{"bad N", func(s *testSeries) { s.pattern, s.mask, s.n = PatternMonthNth, 0x02, 7 }, "PatternTypeSpecific.MonthNth.N"},
		{"day 0", func(s *testSeries) { s.dayOfMonth = 0 }, "PatternTypeSpecific.Month"},
		{"unknown end", func(s *testSeries) { s.end = 0x2024 }, "EndType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			tt.edit(&s)
			a, err := ParseAppointmentRecurrence(s.encode())
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = a.Recurrence(time.UTC)
			var ue *UnsupportedPatternError
			if !errors.Is(err, ErrUnsupportedPattern) || !errors.As(err, &ue) || ue.Field != tt.field {
				t.Fatalf("error %v, want unsupported %s", err, tt.field)
			}
		})
	}
	// The Japanese era calendar shares Gregorian months and days, so it converts.
	s := base
	s.calendar = CalendarJapanEmperorEra
	a, _ := ParseAppointmentRecurrence(s.encode())
	if _, _, err := a.Recurrence(time.UTC); err != nil {
		t.Errorf("Japanese era calendar: %v", err)
	}
}

func TestCorruptBlobs(t *testing.T) {
	good := syntheticSeries[len(syntheticSeries)-1].s.encode()
	// Every truncation inside the fixed fields must fail with a CorruptError naming a field.
	for n := 0; n < len(good); n++ {
		a, err := ParseAppointmentRecurrence(good[:n])
		if err == nil {
			// Ending right after the ExceptionInfo array or ReservedBlock1 is tolerated.
			if a == nil {
				t.Fatalf("%d bytes: nil result without error", n)
			}
			continue
		}
		var ce *CorruptError
		if !errors.As(err, &ce) || ce.Field == "" || ce.Offset < 0 || ce.Offset > n {
			t.Fatalf("%d bytes: %v", n, err)
		}
	}
	tests := []struct {
		name  string
		blob  func() []byte
		field string
	}{
		{"reader version", func() []byte { b := append([]byte(nil), good...); b[0] = 0x05; return b }, "ReaderVersion"},
		{"huge deleted count", func() []byte {
			b := append([]byte(nil), good...)
			copy(b[38:], []byte{0xff, 0xff, 0xff, 0x7f}) // DeletedInstanceCount of a Week pattern
			return b
		}, "DeletedInstanceCount"},
		{"unknown pattern type", func() []byte { b := append([]byte(nil), good...); b[6] = 0x07; return b }, "PatternType"},
	}
	for _, tt := range tests {
		_, err := ParseAppointmentRecurrence(tt.blob())
		var ce *CorruptError
		if !errors.As(err, &ce) || ce.Field != tt.field {
			t.Errorf("%s: %v, want a CorruptError for %s", tt.name, err, tt.field)
		}
	}
}

// TestFirstDateTimeSetsThePhase: the valid months are those congruent with FirstDateTime's month modulo
// the period ([MS-OXOCAL] 2.2.1.44.1.2), even when StartDate lies in another month.
func TestFirstDateTimeSetsThePhase(t *testing.T) {
	january := uint32(0)       // 1601-01-01: months ≡ 0 (mod 3): January, April, July, October
	march := uint32(59 * 1440) // 1601-03-01: the month of a yearly series
	quarterly := testSeries{freq: FrequencyMonthly, pattern: PatternMonth, period: 3, dayOfMonth: 10,
		end: EndAfterOccurrences, count: 4, start: wall(2024, 2, 1, 0, 0), startMin: 600, endMin: 660, firstDT: &january}
	yearly := testSeries{freq: FrequencyYearly, pattern: PatternMonth, period: 12, dayOfMonth: 5,
		end: EndAfterOccurrences, count: 2, start: wall(2024, 1, 1, 0, 0), startMin: 600, endMin: 660, firstDT: &march}
	tests := []struct {
		s    testSeries
		want []time.Time
	}{
		{quarterly, []time.Time{wall(2024, 4, 10, 10, 0), wall(2024, 7, 10, 10, 0), wall(2024, 10, 10, 10, 0), wall(2025, 1, 10, 10, 0)}},
		{yearly, []time.Time{wall(2024, 3, 5, 10, 0), wall(2025, 3, 5, 10, 0)}},
	}
	for i, tt := range tests {
		a, err := ParseAppointmentRecurrence(tt.s.encode())
		if err != nil {
			t.Fatal(err)
		}
		got := originalStarts(a.Instances(time.UTC, wall(2023, 1, 1, 0, 0), wall(2030, 1, 1, 0, 0)))
		if !equalTimes(got, tt.want) {
			t.Errorf("case %d: %v, want %v", i, got, tt.want)
		}
	}
	a, _ := ParseAppointmentRecurrence(yearly.encode())
	rec, _, _ := a.Recurrence(time.UTC)
	if len(rec.Rule.ByMonth) != 1 || rec.Rule.ByMonth[0] != 3 {
		t.Errorf("yearly BYMONTH %v, want 3 from FirstDateTime", rec.Rule.ByMonth)
	}
}
