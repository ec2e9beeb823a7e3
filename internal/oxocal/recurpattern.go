package oxocal

import (
	"fmt"
	"time"
)

// RecurFrequency is the RecurFrequency field of a RecurrencePattern ([MS-OXOCAL] 2.2.1.44.1).
type RecurFrequency uint16

const (
	FrequencyDaily   RecurFrequency = 0x200A
	FrequencyWeekly  RecurFrequency = 0x200B
	FrequencyMonthly RecurFrequency = 0x200C
	FrequencyYearly  RecurFrequency = 0x200D
)

func (f RecurFrequency) String() string {
	switch f {
	case FrequencyDaily:
		return "daily"
	case FrequencyWeekly:
		return "weekly"
	case FrequencyMonthly:
		return "monthly"
	case FrequencyYearly:
		return "yearly"
	}
	return fmt.Sprintf("RecurFrequency(%#x)", uint16(f))
}

// PatternType selects how PatternTypeSpecific is read and what one period holds. It, not RecurFrequency,
// decides the shape of the recurrence: "every weekday" is stored as a daily frequency with a week pattern.
type PatternType uint16

const (
	PatternDay        PatternType = 0x0
	PatternWeek       PatternType = 0x1
	PatternMonth      PatternType = 0x2
	PatternMonthNth   PatternType = 0x3
	PatternMonthEnd   PatternType = 0x4
	PatternHjMonth    PatternType = 0xA
	PatternHjMonthNth PatternType = 0xB
	PatternHjMonthEnd PatternType = 0xC
)

func (p PatternType) String() string {
	switch p {
	case PatternDay:
		return "Day"
	case PatternWeek:
		return "Week"
	case PatternMonth:
		return "Month"
	case PatternMonthNth:
		return "MonthNth"
	case PatternMonthEnd:
		return "MonthEnd"
	case PatternHjMonth:
		return "HjMonth"
	case PatternHjMonthNth:
		return "HjMonthNth"
	case PatternHjMonthEnd:
		return "HjMonthEnd"
	}
	return fmt.Sprintf("PatternType(%#x)", uint16(p))
}

// IsHijri reports whether the pattern counts months in the Hijri calendar.
func (p PatternType) IsHijri() bool {
	return p == PatternHjMonth || p == PatternHjMonthNth || p == PatternHjMonthEnd
}

// CalendarType is the CalendarType field: the calendar the pattern's months and days are counted in
// (values of the Windows CALID, [MS-OXOCAL] 2.2.1.44.1).
type CalendarType uint16

const (
	CalendarDefault           CalendarType = 0x0
	CalendarGregorian         CalendarType = 0x1
	CalendarGregorianUS       CalendarType = 0x2
	CalendarJapanEmperorEra   CalendarType = 0x3
	CalendarTaiwan            CalendarType = 0x4
	CalendarKoreaTangunEra    CalendarType = 0x5
	CalendarHijri             CalendarType = 0x6
	CalendarThai              CalendarType = 0x7
	CalendarHebrewLunar       CalendarType = 0x8
	CalendarGregorianMEFrench CalendarType = 0x9
	CalendarGregorianArabic   CalendarType = 0xA
	CalendarGregorianXlitEng  CalendarType = 0xB
	CalendarGregorianXlitFr   CalendarType = 0xC
	CalendarLunarJapanese     CalendarType = 0xE
	CalendarChineseLunar      CalendarType = 0xF
	CalendarSaka              CalendarType = 0x10
	CalendarLunarEtoChinese   CalendarType = 0x11
	CalendarLunarEtoKorean    CalendarType = 0x12
	CalendarLunarRokuyou      CalendarType = 0x13
	CalendarKoreanLunar       CalendarType = 0x14
	CalendarUmAlQura          CalendarType = 0x17
)

// GregorianDays reports whether the calendar has the Gregorian months and days. The era calendars
// (Japanese emperor, Taiwan, Korean Tangun, Thai Buddhist) number years differently but share Gregorian
// months and days, so a recurrence in them is a Gregorian recurrence.
func (c CalendarType) GregorianDays() bool {
	switch c {
	case CalendarDefault, CalendarGregorian, CalendarGregorianUS, CalendarJapanEmperorEra, CalendarTaiwan,
		CalendarKoreaTangunEra, CalendarThai, CalendarGregorianMEFrench, CalendarGregorianArabic,
		CalendarGregorianXlitEng, CalendarGregorianXlitFr:
		return true
	}
	return false
}

// EndType is how the recurrence range ends.
type EndType uint32

const (
	EndAfterDate        EndType = 0x2021
	EndAfterOccurrences EndType = 0x2022
	EndNever            EndType = 0x2023
	// EndNeverAlt is the other "never ends" value some writers store.
	EndNeverAlt EndType = 0xFFFFFFFF
)

// Never reports whether the range has no end.
func (e EndType) Never() bool { return e == EndNever || e == EndNeverAlt }

// DayMask is the weekday bit mask of the Week and MonthNth patterns: bit 0 Sunday … bit 6 Saturday.
type DayMask uint32

// Has reports whether the mask holds day d.
func (m DayMask) Has(d time.Weekday) bool { return m&(1<<uint(d)) != 0 }

// Days lists the weekdays of the mask, Sunday first.
func (m DayMask) Days() []time.Weekday {
	var days []time.Weekday
	for d := time.Sunday; d <= time.Saturday; d++ {
		if m.Has(d) {
			days = append(days, d)
		}
	}
	return days
}

const (
	// MaskWeekdays is Monday to Friday ("weekday" in the Nth-day patterns).
	MaskWeekdays DayMask = 0x3E
	// MaskWeekendDays is Saturday and Sunday ("weekend day").
	MaskWeekendDays DayMask = 0x41
	// MaskAllDays is every day ("day").
	MaskAllDays DayMask = 0x7F
)

// NthLast is the N of a MonthNth pattern meaning "the last".
const NthLast = 5

// LocalTime is a wall-clock time of the series' time zone as a recurrence blob stores it: minutes since
// 1601-01-01 00:00, in no zone at all. It is not UTC; In gives the time it names in a location.
type LocalTime uint32

// minutesPerDay and minutesPerWeek are the units FirstDateTime and Period are counted in.
const (
	minutesPerDay  = 1440
	minutesPerWeek = 7 * minutesPerDay
)

// NeverEndDate is the EndDate Outlook stores for ranges without an end: 4500-12-31 23:59.
const NeverEndDate LocalTime = 0x5AE980DF

// In returns the time t names on loc's wall clock. A wall-clock time that occurs twice when clocks go
// back is its first occurrence, one skipped when they go forward is read with the offset before the gap
// (RFC 5545 section 3.3.5).
func (t LocalTime) In(loc *time.Location) time.Time {
	return wallClock(t.Day(), int(t%minutesPerDay), loc)
}

// Day is the date part of t as days since 1601-01-01.
func (t LocalTime) Day() int { return int(t / minutesPerDay) }

// String formats t as an ISO wall-clock time without zone.
func (t LocalTime) String() string { return t.In(time.UTC).Format("2006-01-02T15:04") }

// RecurrencePattern is the RecurrencePattern structure ([MS-OXOCAL] 2.2.1.44.1): the pattern and range of
// a recurring appointment or task, with the dates of its deleted and modified instances.
type RecurrencePattern struct {
	ReaderVersion  uint16 // 0x3004
	WriterVersion  uint16 // 0x3004
	RecurFrequency RecurFrequency
	PatternType    PatternType
	CalendarType   CalendarType
	// FirstDateTime fixes the phase of the period: minutes from 1601-01-01 to the first day (Day), the
	// first day of the first week (Week), or the first day of the first month (Month*) of the series,
	// modulo one period (2.2.1.44.1.1).
	FirstDateTime uint32
	// Period is minutes for Day patterns (1440 per day), weeks for Week patterns, months for Month*
	// patterns (12 per year for a yearly frequency).
	Period      uint32
	SlidingFlag uint32 // tasks only: the next instance is computed from the completion date
	// PatternTypeSpecific, by PatternType: Week → DayMask; Month, MonthEnd, HjMonth, HjMonthEnd →
	// DayOfMonth; MonthNth, HjMonthNth → DayMask and N (1..4, NthLast).
	DayMask    DayMask
	DayOfMonth uint32
	N          uint32

	EndType         EndType
	OccurrenceCount uint32       // the number of instances when EndType is EndAfterOccurrences
	FirstDOW        time.Weekday // first day of the week, for Week patterns with Period > 1

	// DeletedInstanceDates are the original dates (midnight) of every deleted and every modified
	// instance; ModifiedInstanceDates those of the modified ones, which so appear in both lists.
	DeletedInstanceDates  []LocalTime
	ModifiedInstanceDates []LocalTime

	StartDate LocalTime // midnight of the first instance's date
	EndDate   LocalTime // midnight of the last instance's date (NeverEndDate when there is none)
}

// ParseRecurrencePattern decodes a RecurrencePattern ([MS-OXOCAL] 2.2.1.44.1), as found alone in
// PidLidTaskRecurrence or at the head of PidLidAppointmentRecur. Bytes after it are ignored.
func ParseRecurrencePattern(b []byte) (*RecurrencePattern, error) {
	r := newReader(b, "RecurrencePattern")
	p := readRecurrencePattern(r)
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}

func readRecurrencePattern(r *reader) *RecurrencePattern {
	p := &RecurrencePattern{}
	off := r.off
	p.ReaderVersion = r.u16("ReaderVersion")
	if r.err == nil && p.ReaderVersion != 0x3004 {
		// Only the reader version tells whether we can read the rest; writer versions vary.
		r.fail("ReaderVersion", off, fmt.Sprintf("%#x, want 0x3004", p.ReaderVersion))
	}
	p.WriterVersion = r.u16("WriterVersion")
	p.RecurFrequency = RecurFrequency(r.u16("RecurFrequency"))
	off = r.off
	p.PatternType = PatternType(r.u16("PatternType"))
	p.CalendarType = CalendarType(r.u16("CalendarType"))
	p.FirstDateTime = r.u32("FirstDateTime")
	p.Period = r.u32("Period")
	p.SlidingFlag = r.u32("SlidingFlag")
	switch p.PatternType {
	case PatternDay:
		// No PatternTypeSpecific field.
	case PatternWeek:
		p.DayMask = DayMask(r.u32("PatternTypeSpecific.Week"))
	case PatternMonth, PatternMonthEnd, PatternHjMonth, PatternHjMonthEnd:
		p.DayOfMonth = r.u32("PatternTypeSpecific.Month")
	case PatternMonthNth, PatternHjMonthNth:
		p.DayMask = DayMask(r.u32("PatternTypeSpecific.MonthNth.Days"))
		p.N = r.u32("PatternTypeSpecific.MonthNth.N")
	default:
		// The length of PatternTypeSpecific depends on the type, so nothing after it can be read.
		if r.err == nil {
			r.fail("PatternType", off, fmt.Sprintf("unknown value %#x", uint16(p.PatternType)))
		}
	}
	p.EndType = EndType(r.u32("EndType"))
	p.OccurrenceCount = r.u32("OccurrenceCount")
	off = r.off
	firstDOW := r.u32("FirstDOW")
	if r.err == nil && firstDOW > 6 {
		r.fail("FirstDOW", off, fmt.Sprintf("%d is not a weekday", firstDOW))
	}
	p.FirstDOW = time.Weekday(firstDOW)
	p.DeletedInstanceDates = readDates(r, "DeletedInstanceCount", "DeletedInstanceDates")
	p.ModifiedInstanceDates = readDates(r, "ModifiedInstanceCount", "ModifiedInstanceDates")
	p.StartDate = LocalTime(r.u32("StartDate"))
	p.EndDate = LocalTime(r.u32("EndDate"))
	return p
}

func readDates(r *reader, countField, field string) []LocalTime {
	n := r.count32(countField, 4)
	if n == 0 {
		return nil
	}
	dates := make([]LocalTime, n)
	for i := range dates {
		dates[i] = LocalTime(r.u32(field))
	}
	return dates
}

// IsDeleted reports whether the instance originally on day (days since 1601-01-01) was deleted or modified.
func (p *RecurrencePattern) IsDeleted(day int) bool { return containsDay(p.DeletedInstanceDates, day) }

// IsModified reports whether the instance originally on day was modified (it has an exception).
func (p *RecurrencePattern) IsModified(day int) bool {
	return containsDay(p.ModifiedInstanceDates, day)
}

func containsDay(dates []LocalTime, day int) bool {
	for _, d := range dates {
		if d.Day() == day {
			return true
		}
	}
	return false
}
