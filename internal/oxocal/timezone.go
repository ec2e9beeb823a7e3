package oxocal

import (
	"fmt"
	"sort"
	"time"
)

// SystemTime is a Windows SYSTEMTIME as used in time zone rules. With Year 0 it is a recurring
// "day-in-month" date: Day is the week (1..4, 5 = last) and DayOfWeek the weekday (0 = Sunday) of Month;
// with Year set it is that one absolute date. Month 0 means the rule has no daylight saving time.
type SystemTime struct {
	Year, Month, DayOfWeek, Day, Hour, Minute, Second, Milliseconds uint16
}

func readSystemTime(r *reader, field string) SystemTime {
	return SystemTime{
		Year: r.u16(field + ".wYear"), Month: r.u16(field + ".wMonth"), DayOfWeek: r.u16(field + ".wDayOfWeek"),
		Day: r.u16(field + ".wDay"), Hour: r.u16(field + ".wHour"), Minute: r.u16(field + ".wMinute"),
		Second: r.u16(field + ".wSecond"), Milliseconds: r.u16(field + ".wMilliseconds"),
	}
}

// TZRULE flags ([MS-OXOCAL] 2.2.1.41.1).
const (
	TZRuleRecurCurrent   = 0x0001 // TZRULE_FLAG_RECUR_CURRENT_TZREG: the rule used for recurring series
	TZRuleEffectiveTZReg = 0x0002 // TZRULE_FLAG_EFFECTIVE_TZREG: the rule in effect now
)

// TimeZoneRule is one TZRULE ([MS-OXOCAL] 2.2.1.41.1), or the single rule of a TimeZoneStruct. Biases are
// minutes with UTC = local time + bias: standard time is UTC-(Bias+StandardBias), daylight time
// UTC-(Bias+DaylightBias). DaylightDate is when daylight time starts (a standard-time wall clock),
// StandardDate when it ends (a daylight-time wall clock).
type TimeZoneRule struct {
	Flags        uint16
	Year         uint16 // the first year the rule applies to; 0 or 1601 for all years
	Bias         int32
	StandardBias int32
	DaylightBias int32
	StandardDate SystemTime
	DaylightDate SystemTime
}

// HasDST reports whether the rule switches to daylight time at all.
func (r TimeZoneRule) HasDST() bool {
	return r.DaylightDate.Month != 0 && r.StandardDate.Month != 0 && r.DaylightBias != r.StandardBias
}

// StandardOffset and DaylightOffset are the UTC offsets in seconds east, as time.Location uses them.
func (r TimeZoneRule) StandardOffset() int { return -int(r.Bias+r.StandardBias) * 60 }

func (r TimeZoneRule) DaylightOffset() int { return -int(r.Bias+r.DaylightBias) * 60 }

// TimeZoneStruct is PidLidTimeZoneStruct ([MS-OXOCAL] 2.2.1.39): the rule of the time zone a recurring
// series was created in.
type TimeZoneStruct struct {
	Bias, StandardBias, DaylightBias int32
	StandardYear                     uint16
	StandardDate                     SystemTime
	DaylightYear                     uint16
	DaylightDate                     SystemTime
}

// ParseTimeZoneStruct decodes PidLidTimeZoneStruct (48 bytes).
func ParseTimeZoneStruct(b []byte) (*TimeZoneStruct, error) {
	r := newReader(b, "TimeZoneStruct")
	s := &TimeZoneStruct{}
	s.Bias = r.i32("lBias")
	s.StandardBias = r.i32("lStandardBias")
	s.DaylightBias = r.i32("lDaylightBias")
	s.StandardYear = r.u16("wStandardYear")
	s.StandardDate = readSystemTime(r, "stStandardDate")
	s.DaylightYear = r.u16("wDaylightYear")
	s.DaylightDate = readSystemTime(r, "stDaylightDate")
	if r.err != nil {
		return nil, r.err
	}
	if err := validateRuleDates(s.StandardDate, s.DaylightDate, "TimeZoneStruct", 14, 32); err != nil {
		return nil, err
	}
	return s, nil
}

// Rule is the struct's rule in the TZRULE form.
func (s *TimeZoneStruct) Rule() TimeZoneRule {
	return TimeZoneRule{
		Flags: TZRuleEffectiveTZReg | TZRuleRecurCurrent, Year: s.StandardYear,
		Bias: s.Bias, StandardBias: s.StandardBias, DaylightBias: s.DaylightBias,
		StandardDate: s.StandardDate, DaylightDate: s.DaylightDate,
	}
}

// Definition wraps the struct's rule as a one-rule TimeZoneDefinition without a key name, the form
// Location takes.
func (s *TimeZoneStruct) Definition() *TimeZoneDefinition {
	return &TimeZoneDefinition{MajorVersion: 2, MinorVersion: 1, Rules: []TimeZoneRule{s.Rule()}}
}

// TimeZoneDefinition is a TZDEFINITION ([MS-OXOCAL] 2.2.1.41), as stored in
// PidLidAppointmentTimeZoneDefinitionStartDisplay, …EndDisplay and …Recur.
type TimeZoneDefinition struct {
	MajorVersion, MinorVersion uint8
	KeyName                    string // the Windows time zone key, e.g. "Pacific Standard Time"
	Rules                      []TimeZoneRule
}

// tzRuleSize is the size of a TZRULE after its 4-byte version and size header.
const tzRuleSize = 0x3E

// ParseTimeZoneDefinition decodes a TZDEFINITION.
func ParseTimeZoneDefinition(b []byte) (*TimeZoneDefinition, error) {
	r := newReader(b, "TZDEFINITION")
	d := &TimeZoneDefinition{}
	d.MajorVersion = r.u8("bMajorVersion")
	if r.err == nil && d.MajorVersion != 2 {
		r.fail("bMajorVersion", 0, fmt.Sprintf("%d, want 2", d.MajorVersion))
	}
	d.MinorVersion = r.u8("bMinorVersion")
	headerOff := r.off
	cbHeader := int(r.u16("cbHeader"))
	headerStart := r.off
	r.u16("wReserved")
	keyLen := r.count16("cchKeyName", 2)
	d.KeyName = r.utf16("KeyName", keyLen)
	ruleCountOff := r.off
	nRules := int(r.u16("cRules"))
	if r.err != nil {
		return nil, r.err
	}
	// cbHeader counts the header after itself; a later minor version may lengthen it.
	if cbHeader < r.off-headerStart || cbHeader > len(b)-headerStart {
		r.fail("cbHeader", headerOff, fmt.Sprintf("%d does not cover the header", cbHeader))
		return nil, r.err
	}
	r.off = headerStart + cbHeader
	if uint64(nRules)*(4+tzRuleSize) > uint64(r.remaining()) {
		r.fail("cRules", ruleCountOff, fmt.Sprintf("%d rules do not fit in %d bytes", nRules, r.remaining()))
		return nil, r.err
	}
	r.structure = "TZRULE"
	for i := 0; i < nRules; i++ {
		start := r.off
		major := r.u8("bMajorVersion")
		if r.err == nil && major != 2 {
			r.fail("bMajorVersion", start, fmt.Sprintf("%d, want 2", major))
		}
		r.u8("bMinorVersion")
		// The "Reserved" word holds 0x3E, the rule's size; honour a larger one for later minor versions.
		size := int(r.u16("Reserved"))
		body := r.off
		var rule TimeZoneRule
		rule.Flags = r.u16("wFlags")
		rule.Year = r.u16("wYear")
		r.take("X", 14)
		rule.Bias = r.i32("lBias")
		rule.StandardBias = r.i32("lStandardBias")
		rule.DaylightBias = r.i32("lDaylightBias")
		rule.StandardDate = readSystemTime(r, "stStandardDate")
		rule.DaylightDate = readSystemTime(r, "stDaylightDate")
		if r.err != nil {
			return nil, r.err
		}
		if err := validateRuleDates(rule.StandardDate, rule.DaylightDate, "TZRULE", body+30, body+46); err != nil {
			return nil, err
		}
		if size > tzRuleSize {
			r.take("TZRULE padding", size-tzRuleSize)
			if r.err != nil {
				return nil, r.err
			}
		}
		d.Rules = append(d.Rules, rule)
	}
	return d, nil
}

// validateRuleDates rejects SYSTEMTIMEs no rule can mean, so that later date arithmetic stays sane.
func validateRuleDates(std, dst SystemTime, structure string, stdOff, dstOff int) error {
	for _, c := range []struct {
		st    SystemTime
		field string
		off   int
	}{{std, "stStandardDate", stdOff}, {dst, "stDaylightDate", dstOff}} {
		st := c.st
		if st.Month == 0 {
			continue
		}
		bad := ""
		switch {
		case st.Month > 12:
			bad = fmt.Sprintf("month %d", st.Month)
		case st.Year == 0 && (st.Day < 1 || st.Day > 5):
			bad = fmt.Sprintf("week %d", st.Day)
		case st.Year == 0 && st.DayOfWeek > 6:
			bad = fmt.Sprintf("weekday %d", st.DayOfWeek)
		case st.Year != 0 && (st.Day < 1 || st.Day > 31):
			bad = fmt.Sprintf("day %d", st.Day)
		case st.Hour > 23 || st.Minute > 59 || st.Second > 59 || st.Milliseconds > 999:
			bad = fmt.Sprintf("time %d:%d:%d.%d", st.Hour, st.Minute, st.Second, st.Milliseconds)
		}
		if bad != "" {
			return &CorruptError{Structure: structure, Field: c.field, Offset: c.off, Reason: "impossible " + bad}
		}
	}
	return nil
}

// RuleFor returns the rule in force in year: the one with the latest Year not after it (rules are sorted
// by year first), else the earliest. ok is false when the definition has no rules.
func (d *TimeZoneDefinition) RuleFor(year int) (rule TimeZoneRule, ok bool) {
	if d == nil || len(d.Rules) == 0 {
		return TimeZoneRule{}, false
	}
	rules := append([]TimeZoneRule(nil), d.Rules...)
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].Year < rules[j].Year })
	rule = rules[0]
	for _, r := range rules {
		if int(r.Year) <= year {
			rule = r
		}
	}
	return rule, true
}

// EffectiveRule returns the rule flagged TZRULE_FLAG_EFFECTIVE_TZREG, else the latest.
func (d *TimeZoneDefinition) EffectiveRule() (TimeZoneRule, bool) {
	if d == nil || len(d.Rules) == 0 {
		return TimeZoneRule{}, false
	}
	for _, r := range d.Rules {
		if r.Flags&TZRuleEffectiveTZReg != 0 {
			return r, true
		}
	}
	return d.RuleFor(1 << 16)
}

// transitionDay is the date a SYSTEMTIME rule names in year: the wDay-th (5 = last) wDayOfWeek of wMonth,
// or the absolute date when wYear is set.
func transitionDay(st SystemTime, year int) (time.Month, int) {
	m := time.Month(st.Month)
	if st.Year != 0 {
		return m, int(st.Day)
	}
	first := time.Date(year, m, 1, 0, 0, 0, 0, time.UTC).Weekday()
	day := 1 + (int(st.DayOfWeek)-int(first)+7)%7 + 7*(int(st.Day)-1)
	last := daysIn(year, m)
	for day > last {
		day -= 7
	}
	return m, day
}

func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// wallSeconds is the SYSTEMTIME's time of day in seconds; milliseconds round to the nearest second, so
// Windows' 23:59:59.999 becomes midnight of the next day as in the tz database.
func wallSeconds(st SystemTime) int {
	s := int(st.Hour)*3600 + int(st.Minute)*60 + int(st.Second)
	if st.Milliseconds >= 500 {
		s++
	}
	return s
}

// offsetChange is one UTC-offset change: from At on, the offset is Offset seconds east.
type offsetChange struct {
	At     time.Time
	Offset int
}

// transitionsIn returns the rule's offset at the start of year (UTC) and its changes during that year.
func (r TimeZoneRule) transitionsIn(year int) (startOffset int, changes []offsetChange) {
	std, dst := r.StandardOffset(), r.DaylightOffset()
	if !r.HasDST() {
		return std, nil
	}
	at := func(st SystemTime, wallOffset int) time.Time {
		m, d := transitionDay(st, year)
		wall := time.Date(year, m, d, 0, 0, wallSeconds(st), 0, time.UTC)
		return wall.Add(-time.Duration(wallOffset) * time.Second)
	}
	start := at(r.DaylightDate, std) // daylight time begins, read on the standard clock
	end := at(r.StandardDate, dst)   // and ends, read on the daylight clock
	if start.Before(end) {
		return std, []offsetChange{{start, dst}, {end, std}}
	}
	return dst, []offsetChange{{end, std}, {start, dst}}
}
