package oxocal

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

func TestWallClockFollowsRFC5545(t *testing.T) {
	tests := []struct {
		zone      string
		y         int
		m         time.Month
		d, minute int
		want      string
	}{
		{"Europe/Berlin", 2024, 3, 31, 150, "2024-03-31T03:30:00+02:00"},    // skipped: offset before the gap
		{"Europe/Berlin", 2024, 10, 27, 150, "2024-10-27T02:30:00+02:00"},   // repeated: first occurrence
		{"America/New_York", 2024, 3, 10, 150, "2024-03-10T03:30:00-04:00"}, // skipped
		{"America/New_York", 2024, 11, 3, 90, "2024-11-03T01:30:00-04:00"},  // repeated
		{"America/New_York", 2024, 7, 1, 600, "2024-07-01T10:00:00-04:00"},  // ordinary
		{"Australia/Sydney", 2024, 4, 7, 150, "2024-04-07T02:30:00+11:00"},  // repeated, southern
		{"Australia/Sydney", 2024, 10, 6, 150, "2024-10-06T03:30:00+11:00"}, // skipped, southern
	}
	for _, tt := range tests {
		loc := mustLoad(t, tt.zone)
		day := int(minutes1601(time.Date(tt.y, tt.m, tt.d, 0, 0, 0, 0, time.UTC)) / 1440)
		if got := wallClock(day, tt.minute, loc); !got.Equal(rfc3339(t, tt.want)) {
			t.Errorf("%s %d-%02d-%02d +%dmin = %v, want %s", tt.zone, tt.y, tt.m, tt.d, tt.minute, got, tt.want)
		}
	}
}

func TestParseTimeZoneStructFixtureLayout(t *testing.T) {
	// The javalibpst PidLidTimeZoneStruct: bias 480, daylight bias -60, DST from the second Sunday of
	// March to the first Sunday of November at 02:00.
	b := mustHex(t, "e001000000000000c4ffffff000000000b00000001000200000000000000000000000300000002000200000000000000")
	s, err := ParseTimeZoneStruct(b)
	if err != nil {
		t.Fatal(err)
	}
	want := TimeZoneStruct{Bias: 480, DaylightBias: -60,
		StandardDate: SystemTime{Month: 11, DayOfWeek: 0, Day: 1, Hour: 2},
		DaylightDate: SystemTime{Month: 3, DayOfWeek: 0, Day: 2, Hour: 2}}
	if *s != want {
		t.Errorf("got %+v", *s)
	}
	if got := posixTZ(s.Rule()); got != "<-0800>8<-0700>7,M3.2.0/2,M11.1.0/2" {
		t.Errorf("POSIX TZ %s", got)
	}
	if _, err := ParseTimeZoneStruct(b[:47]); err == nil {
		t.Error("truncated struct accepted")
	}
}

// encodeTZDefinition writes a TZDEFINITION ([MS-OXOCAL] 2.2.1.41) for tests.
func encodeTZDefinition(key string, rules []TimeZoneRule) []byte {
	var w blobWriter
	w = append(w, 2, 1)
	name := utf16.Encode([]rune(key))
	w.u16(uint16(6 + 2*len(name)))
	w.u16(2)
	w.u16(uint16(len(name)))
	for _, c := range name {
		w.u16(c)
	}
	w.u16(uint16(len(rules)))
	st := func(s SystemTime) {
		for _, v := range []uint16{s.Year, s.Month, s.DayOfWeek, s.Day, s.Hour, s.Minute, s.Second, s.Milliseconds} {
			w.u16(v)
		}
	}
	for _, r := range rules {
		w = append(w, 2, 1)
		w.u16(0x3E)
		w.u16(r.Flags)
		w.u16(r.Year)
		w = append(w, make([]byte, 14)...)
		w = binary.LittleEndian.AppendUint32(w, uint32(r.Bias))
		w = binary.LittleEndian.AppendUint32(w, uint32(r.StandardBias))
		w = binary.LittleEndian.AppendUint32(w, uint32(r.DaylightBias))
		st(r.StandardDate)
		st(r.DaylightDate)
	}
	return w
}

var (
	berlinRule = TimeZoneRule{Flags: TZRuleEffectiveTZReg, Year: 2007, Bias: -60, DaylightBias: -60,
		StandardDate: SystemTime{Month: 10, Day: 5, Hour: 3}, DaylightDate: SystemTime{Month: 3, Day: 5, Hour: 2}}
	newYorkRule = TimeZoneRule{Flags: TZRuleEffectiveTZReg, Year: 2007, Bias: 300, DaylightBias: -60,
		StandardDate: SystemTime{Month: 11, Day: 1, Hour: 2}, DaylightDate: SystemTime{Month: 3, Day: 2, Hour: 2}}
	// A rule no IANA zone follows: UTC+03:30 standard, +04:30 from the first Friday of April at 01:00 to
	// the third Monday of September at 23:59:59.999.
	oddRule = TimeZoneRule{Flags: TZRuleEffectiveTZReg, Year: 1601, Bias: -210, DaylightBias: -60,
		StandardDate: SystemTime{Month: 9, DayOfWeek: 1, Day: 3, Hour: 23, Minute: 59, Second: 59, Milliseconds: 999},
		DaylightDate: SystemTime{Month: 4, DayOfWeek: 5, Day: 1, Hour: 1}}
)

func TestLocation(t *testing.T) {
	def := func(key string, rules ...TimeZoneRule) *TimeZoneDefinition {
		d, err := ParseTimeZoneDefinition(encodeTZDefinition(key, rules))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name        string
		def         *TimeZoneDefinition
		description string
		year        int
		tzid        string
		exact       bool
	}{
		{"key name", def("W. Europe Standard Time", berlinRule), "", 2024, "Europe/Berlin", true},
		{"key name, New York", def("Eastern Standard Time", newYorkRule), "", 2024, "America/New_York", true},
		{"key name with the wrong rules", def("W. Europe Standard Time", newYorkRule), "", 2024, "W. Europe Standard Time", false},
		{"key wrong, description right", def("Romance Standard Time", newYorkRule), "(UTC-05:00) Eastern Time (US & Canada)", 2024, "America/New_York", true},
		{"rules only, description", def("", berlinRule), "(GMT+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", 2024, "Europe/Berlin", true},
		{"description only, old spelling", nil, "(GMT-06:00) Central Time (US & Canada)", 2004, "America/Chicago", true},
		{"description only, new spelling", nil, "(UTC-08:00) Pacific Time (US & Canada)", 2020, "America/Los_Angeles", true},
		{"description, XP name", nil, "(GMT-08:00) Pacific Time (US & Canada); Tijuana", 2005, "America/Los_Angeles", true},
		{"UTC", nil, "(UTC) Coordinated Universal Time", 2021, "UTC", true},
		{"India, canonical name", def("India Standard Time", TimeZoneRule{Bias: -330}), "", 2024, "Asia/Kolkata", true},
		{"unknown name, odd rule", def("Mars Standard Time", oddRule), "", 2024, "Mars Standard Time", false},
		{"odd rule, description only", def("", oddRule), "(UTC+03:30) Somewhere", 2024, "(UTC+03:30) Somewhere", false},
		{"nothing", nil, "", 2024, "", false},
		{"old US rule in 2006", def("Pacific Standard Time", TimeZoneRule{Year: 2000, Bias: 480, DaylightBias: -60,
			StandardDate: SystemTime{Month: 10, Day: 5, Hour: 2}, DaylightDate: SystemTime{Month: 4, Day: 1, Hour: 2}},
			TimeZoneRule{Year: 2007, Bias: 480, DaylightBias: -60,
				StandardDate: SystemTime{Month: 11, Day: 1, Hour: 2}, DaylightDate: SystemTime{Month: 3, Day: 2, Hour: 2}}),
			"", 2006, "America/Los_Angeles", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, tzid, exact := Location(tt.def, tt.description, tt.year)
			if tzid != tt.tzid || exact != tt.exact || loc == nil {
				t.Errorf("Location = %v %q %v, want %q %v", loc, tzid, exact, tt.tzid, tt.exact)
			}
		})
	}
}

// TestSynthesizedLocationFollowsRule checks offsets on dates either side of both transitions, for a rule
// no IANA zone has, over several years (the footer applies to all of them).
func TestSynthesizedLocationFollowsRule(t *testing.T) {
	loc, tzid, exact := Location(&TimeZoneDefinition{KeyName: "Odd Standard Time", Rules: []TimeZoneRule{oddRule}}, "", 2024)
	if exact || tzid != "Odd Standard Time" {
		t.Fatalf("tzid %q exact %v", tzid, exact)
	}
	std, dst := 210*60, 270*60
	for _, y := range []int{2024, 2025, 2031} {
		// First Friday of April and the third Monday of September, written out per year.
		dstStart := map[int]int{2024: 5, 2025: 4, 2031: 4}[y]
		dstEnd := map[int]int{2024: 16, 2025: 15, 2031: 15}[y]
		checks := []struct {
			wallUTC time.Time // an instant, given in UTC
			offset  int
		}{
			{time.Date(y, 1, 15, 12, 0, 0, 0, time.UTC), std},
			// 01:00 standard = 21:30 UTC the day before.
			{time.Date(y, 4, dstStart-1, 21, 29, 0, 0, time.UTC), std},
			{time.Date(y, 4, dstStart-1, 21, 30, 0, 0, time.UTC), dst},
			{time.Date(y, 7, 1, 0, 0, 0, 0, time.UTC), dst},
			// 24:00 daylight (23:59:59.999 rounded) = 19:30 UTC of the Monday.
			{time.Date(y, 9, dstEnd, 19, 29, 0, 0, time.UTC), dst},
			{time.Date(y, 9, dstEnd, 19, 30, 0, 0, time.UTC), std},
			{time.Date(y, 12, 31, 12, 0, 0, 0, time.UTC), std},
		}
		for _, c := range checks {
			if _, off := c.wallUTC.In(loc).Zone(); off != c.offset {
				t.Errorf("%v: offset %d, want %d", c.wallUTC, off, c.offset)
			}
		}
	}
	if got := posixTZ(oddRule); got != "<+0330>-3:30<+0430>-4:30,M4.1.5/1,M9.3.1/24" {
		t.Errorf("POSIX TZ %s", got)
	}
}

// TestSynthesizedLocationMatchesIANA: a synthesised New York and Berlin agree with the tz database at
// every hour of 2024.
func TestSynthesizedLocationMatchesIANA(t *testing.T) {
	for _, c := range []struct {
		rule TimeZoneRule
		zone string
	}{{newYorkRule, "America/New_York"}, {berlinRule, "Europe/Berlin"}} {
		syn, err := SynthesizeLocation("synthetic", c.rule)
		if err != nil {
			t.Fatal(err)
		}
		real := mustLoad(t, c.zone)
		for tm := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); tm.Year() == 2024; tm = tm.Add(time.Hour) {
			_, a := tm.In(syn).Zone()
			_, b := tm.In(real).Zone()
			if a != b {
				t.Fatalf("%s at %v: synthesised %d, tz database %d", c.zone, tm, a, b)
			}
		}
	}
}

func TestWindowsZonesTable(t *testing.T) {
	if len(windowsZones) < 130 {
		t.Fatalf("%d zones, the CLDR table has about 140", len(windowsZones))
	}
	seen := map[string]bool{}
	for _, z := range windowsZones {
		if seen[z.Key] {
			t.Errorf("duplicate key %q", z.Key)
		}
		seen[z.Key] = true
		iana, ok := IANAFromWindows(z.Key)
		if !ok {
			t.Errorf("%q not mapped", z.Key)
			continue
		}
		if _, err := loadIANA(iana); err != nil {
			t.Errorf("%q → %q does not load: %v", z.Key, iana, err)
		}
		if key, ok := WindowsFromDescription(z.Display); !ok || key != z.Key {
			t.Errorf("display %q → %q", z.Display, key)
		}
	}
	for _, tt := range []struct{ key, iana string }{
		{"Pacific Standard Time", "America/Los_Angeles"},
		{"W. Europe Standard Time", "Europe/Berlin"},
		{"UTC", "UTC"},
		{"Tokyo Standard Time", "Asia/Tokyo"},
		{"India Standard Time", "Asia/Kolkata"},
		{"Line Islands Standard Time", "Pacific/Kiritimati"},
		{"Dateline Standard Time", "Etc/GMT+12"},
		{"  central standard time ", "America/Chicago"},
	} {
		iana, ok := IANAFromWindows(tt.key)
		if !ok || iana != tt.iana {
			t.Errorf("IANAFromWindows(%q) = %q, want %q", tt.key, iana, tt.iana)
		}
		back, ok := WindowsFromIANA(iana)
		if !ok || back != strings.TrimSpace(strings.Replace(tt.key, "central standard time", "Central Standard Time", 1)) {
			t.Errorf("WindowsFromIANA(%q) = %q", iana, back)
		}
	}
	if _, ok := IANAFromWindows("Atlantis Standard Time"); ok {
		t.Error("unknown key mapped")
	}
}

func TestCorruptTimeZoneDefinitions(t *testing.T) {
	good := encodeTZDefinition("Pacific Standard Time", []TimeZoneRule{newYorkRule})
	for n := 0; n < len(good); n++ {
		_, err := ParseTimeZoneDefinition(good[:n])
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Fatalf("%d bytes: %v", n, err)
		}
	}
	bad := append([]byte(nil), good...)
	bad[len(bad)-14] = 13 // the last rule's stDaylightDate.wMonth
	if _, err := ParseTimeZoneDefinition(bad); err == nil {
		t.Error("month 13 accepted")
	}
}
