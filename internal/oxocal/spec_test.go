package oxocal

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/groupware"
)

// The recurrence blobs of [MS-OXOCAL] section 4.1.1, with the field values the specification's tables
// give for them.
const (
	// 4.1.1.1 Weekly Recurrence BLOB Without Exceptions: beginning Monday 3/26/2007, every Monday,
	// Thursday and Friday 10:00-10:30, ending after 12 occurrences.
	specWeeklyHex = "043004300B2001000000C0210000010000000000000032000000222000000C00000000000000" +
		"00000000000000008020BC0C20ADBC0C0630000009300000580200007602000000000000000000000000"
	// 4.1.1.2 the same series with the Monday 4/16/2007 instance moved to 11:00-11:30, subject
	// "Simple Recurrence with exceptions", location "34/4141".
	specWeeklyExceptionHex = "043004300B2001000000C0210000010000000000000032000000222000000C00000000000000" +
		"01000000A096BC0C01000000A096BC0C8020BC0C20ADBC0C0630000009300000580200007602000001003499BC0C5299BC0C" +
		"F898BC0C11002200210053696D706C6520526563757272656E6365207769746820657863657074696F6E7308000700333" +
		"42F34313431000000000400000000000000000000003499BC0C5299BC0CF898BC0C2100530069006D0070006C0065002000" +
		"52006500630075007200720065006E006300650020007700690074006800200065007800630065007000740069006F006E00" +
		"73000700330034002F0034003100340031000000000000000000"
	// 4.1.1.3 Daily Recurrence BLOB with Exceptions: every three days, 4/7/2011 until 5/4/2011,
	// 8:00-8:30, the instances on 4/19/2011 and 4/22/2011 deleted.
	specDailyHex = "043004300A2000000000A0050000E010000000000000212000000A0000000000000002000000A0C1DC0C" +
		"80D2DC0C00000000207EDC0C0016DD0C0630000009300000E0010000FE01000000000000000000000000"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func date(y int, m time.Month, d int) LocalTime {
	return LocalTime(minutes1601(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)))
}

func TestSpecExampleFields(t *testing.T) {
	type want struct {
		freq              RecurFrequency
		pattern           PatternType
		firstDateTime     uint32
		period            uint32
		mask              DayMask
		end               EndType
		count             uint32
		deleted, modified []LocalTime
		start, endDate    LocalTime
		writer2           uint32
		startOff, endOff  uint32
		exceptions        int
		size              int
	}
	tests := []struct {
		name string
		hex  string
		want want
	}{
		{"4.1.1.1 weekly", specWeeklyHex, want{
			freq: FrequencyWeekly, pattern: PatternWeek, firstDateTime: 8640, period: 1, mask: 0x32,
			end: EndAfterOccurrences, count: 12, start: date(2007, 3, 26), endDate: date(2007, 4, 20),
			writer2: 0x3009, startOff: 600, endOff: 630,
		}},
		{"4.1.1.2 weekly with exception", specWeeklyExceptionHex, want{
			freq: FrequencyWeekly, pattern: PatternWeek, firstDateTime: 8640, period: 1, mask: 0x32,
			end: EndAfterOccurrences, count: 12, deleted: []LocalTime{date(2007, 4, 16)},
			modified: []LocalTime{date(2007, 4, 16)}, start: date(2007, 3, 26), endDate: date(2007, 4, 20),
			writer2: 0x3009, startOff: 600, endOff: 630, exceptions: 1, size: 0x106,
		}},
		{"4.1.1.3 daily", specDailyHex, want{
			freq: FrequencyDaily, pattern: PatternDay, firstDateTime: 1440, period: 4320,
			end: EndAfterDate, count: 10, deleted: []LocalTime{date(2011, 4, 19), date(2011, 4, 22)},
			start: date(2011, 4, 7), endDate: date(2011, 5, 4), writer2: 0x3009, startOff: 480, endOff: 510,
			size: 0x54,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustHex(t, tt.hex)
			if tt.want.size != 0 && len(b) != tt.want.size {
				t.Fatalf("blob is %#x bytes, the spec says %#x", len(b), tt.want.size)
			}
			a, err := ParseAppointmentRecurrence(b)
			if err != nil {
				t.Fatal(err)
			}
			w := tt.want
			got := want{a.RecurFrequency, a.PatternType, a.FirstDateTime, a.Period, a.DayMask, a.EndType,
				a.OccurrenceCount, a.DeletedInstanceDates, a.ModifiedInstanceDates, a.StartDate, a.EndDate,
				a.WriterVersion2, a.StartTimeOffset, a.EndTimeOffset, len(a.Exceptions), w.size}
			if !equalWant(got.deleted, w.deleted) || !equalWant(got.modified, w.modified) {
				t.Errorf("deleted %v modified %v, want %v %v", got.deleted, got.modified, w.deleted, w.modified)
			}
			got.deleted, got.modified, w.deleted, w.modified = nil, nil, nil, nil
			if got.freq != w.freq || got.pattern != w.pattern || got.firstDateTime != w.firstDateTime ||
				got.period != w.period || got.mask != w.mask || got.end != w.end || got.count != w.count ||
				got.start != w.start || got.endDate != w.endDate || got.writer2 != w.writer2 ||
				got.startOff != w.startOff || got.endOff != w.endOff || got.exceptions != w.exceptions {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
			if a.FirstDOW != time.Sunday || a.CalendarType != CalendarDefault || a.ReaderVersion2 != 0x3006 {
				t.Errorf("FirstDOW %v CalendarType %v ReaderVersion2 %#x", a.FirstDOW, a.CalendarType, a.ReaderVersion2)
			}
		})
	}
}

func equalWant(a, b []LocalTime) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSpecExampleException(t *testing.T) {
	a, err := ParseAppointmentRecurrence(mustHex(t, specWeeklyExceptionHex))
	if err != nil {
		t.Fatal(err)
	}
	e := a.Exceptions[0]
	wantStart := LocalTime(minutes1601(time.Date(2007, 4, 16, 11, 0, 0, 0, time.UTC)))
	if e.StartDateTime != wantStart || e.EndDateTime != wantStart+30 ||
		e.OriginalStartDate != wantStart-60 {
		t.Errorf("exception times %v %v %v", e.StartDateTime, e.EndDateTime, e.OriginalStartDate)
	}
	if e.OverrideFlags != OverrideSubject|OverrideLocation {
		t.Errorf("flags %#x", e.OverrideFlags)
	}
	if e.Subject != "Simple Recurrence with exceptions" || !e.UnicodeSubject || string(e.Subject8) != e.Subject {
		t.Errorf("subject %q (unicode %v, 8-bit %q)", e.Subject, e.UnicodeSubject, e.Subject8)
	}
	if e.Location != "34/4141" || !e.UnicodeLocation {
		t.Errorf("location %q", e.Location)
	}
	if !a.HasExtendedExceptions || !e.HasChangeHighlight || e.ChangeHighlight != 0 {
		t.Errorf("extended %v change highlight %v %#x", a.HasExtendedExceptions, e.HasChangeHighlight, e.ChangeHighlight)
	}
}

// TestSpecExampleInstances expands the examples and compares with the instance lists their descriptions
// state, written out by hand. The spec gives wall-clock times only; they are read in New York.
func TestSpecExampleInstances(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	at := func(m time.Month, d, h, min int, y int) time.Time { return time.Date(y, m, d, h, min, 0, 0, ny) }
	type inst struct {
		start, end time.Time
		subject    string
	}
	weekly := func(y int) []inst {
		// Mon 3/26, Thu 3/29, Fri 3/30, Mon 4/2, Thu 4/5, Fri 4/6, Mon 4/9, Thu 4/12, Fri 4/13, Mon 4/16,
		// Thu 4/19, Fri 4/20: twelve occurrences.
		var out []inst
		for _, md := range [][2]int{{3, 26}, {3, 29}, {3, 30}, {4, 2}, {4, 5}, {4, 6}, {4, 9}, {4, 12}, {4, 13}, {4, 16}, {4, 19}, {4, 20}} {
			s := at(time.Month(md[0]), md[1], 10, 0, y)
			out = append(out, inst{s, s.Add(30 * time.Minute), ""})
		}
		return out
	}
	withException := weekly(2007)
	withException[9] = inst{at(4, 16, 11, 0, 2007), at(4, 16, 11, 30, 2007), "Simple Recurrence with exceptions"}
	var daily []inst
	for _, md := range [][2]int{{4, 7}, {4, 10}, {4, 13}, {4, 16}, {4, 25}, {4, 28}, {5, 1}, {5, 4}} {
		s := at(time.Month(md[0]), md[1], 8, 0, 2011)
		daily = append(daily, inst{s, s.Add(30 * time.Minute), ""})
	}
	tests := []struct {
		name string
		hex  string
		want []inst
	}{
		{"4.1.1.1", specWeeklyHex, weekly(2007)},
		{"4.1.1.2", specWeeklyExceptionHex, withException},
		{"4.1.1.3", specDailyHex, daily},
	}
	from, to := time.Date(2007, 1, 1, 0, 0, 0, 0, ny), time.Date(2012, 1, 1, 0, 0, 0, 0, ny)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAppointmentRecurrence(mustHex(t, tt.hex))
			if err != nil {
				t.Fatal(err)
			}
			got := a.Instances(ny, from, to)
			if len(got) != len(tt.want) {
				t.Fatalf("%d instances, want %d: %v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				g := got[i]
				if !g.Start.Equal(w.start) || !g.End.Equal(w.end) || g.Subject != w.subject || g.Modified != (w.subject != "") {
					t.Errorf("instance %d = %v–%v %q modified=%v, want %v–%v %q", i, g.Start, g.End, g.Subject, g.Modified, w.start, w.end, w.subject)
				}
			}
		})
	}
}

func TestSpecExampleRules(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	tests := []struct {
		name    string
		hex     string
		want    groupware.Rule
		exdates []time.Time
		ovr     []time.Time
	}{
		{"4.1.1.1", specWeeklyHex, groupware.Rule{Freq: groupware.Weekly, Count: 12,
			ByDay: []groupware.WeekdayNum{{Weekday: time.Monday}, {Weekday: time.Thursday}, {Weekday: time.Friday}}}, nil, nil},
		{"4.1.1.2", specWeeklyExceptionHex, groupware.Rule{Freq: groupware.Weekly, Count: 12,
			ByDay: []groupware.WeekdayNum{{Weekday: time.Monday}, {Weekday: time.Thursday}, {Weekday: time.Friday}}},
			nil, []time.Time{time.Date(2007, 4, 16, 10, 0, 0, 0, ny)}},
		{"4.1.1.3", specDailyHex, groupware.Rule{Freq: groupware.Daily, Interval: 3, Until: time.Date(2011, 5, 4, 8, 0, 0, 0, ny)},
			[]time.Time{time.Date(2011, 4, 19, 8, 0, 0, 0, ny), time.Date(2011, 4, 22, 8, 0, 0, 0, ny)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAppointmentRecurrence(mustHex(t, tt.hex))
			if err != nil {
				t.Fatal(err)
			}
			rec, ovr, err := a.Recurrence(ny)
			if err != nil {
				t.Fatal(err)
			}
			if formatRRule(rec.Rule) != formatRRule(tt.want) || !rec.Rule.Until.Equal(tt.want.Until) {
				t.Errorf("rule %s, want %s", formatRRule(rec.Rule), formatRRule(tt.want))
			}
			if !equalTimes(rec.ExDates, tt.exdates) {
				t.Errorf("exdates %v, want %v", rec.ExDates, tt.exdates)
			}
			var ids []time.Time
			for _, o := range ovr {
				ids = append(ids, o.RecurrenceID)
			}
			if !equalTimes(ids, tt.ovr) {
				t.Errorf("overrides %v, want %v", ids, tt.ovr)
			}
		})
	}
}
