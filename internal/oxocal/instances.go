package oxocal

import (
	"math/bits"
	"sort"
	"time"
)

// Instance is one occurrence of a series. For a modified instance Start and End are the exception's and
// Subject and Location are set when the exception overrides them; for the others Start is OriginalStart
// and Subject and Location are empty (the series' own apply).
type Instance struct {
	OriginalStart, Start, End time.Time
	Subject, Location         string
	Modified                  bool
}

// maxExpansion bounds the candidate dates one Instances call examines, so that no blob (or window) can
// make it run away; about 180 years of a daily series.
const maxExpansion = 1 << 16

// Instances expands the series in loc into the instances whose Start lies in [from, to), sorted by
// Start. It reads the pattern directly, following [MS-OXOCAL] 2.2.1.44.1.2 (a day, week or month is valid
// when congruent with FirstDateTime modulo the period), and does not use the RRULE conversion, so the two
// can be checked against each other. Deleted instances are left out; modified ones appear at their
// exception's start and end. A pattern Rule rejects (Hijri, sub-day periods, …) yields no instances
// apart from its exceptions.
func (a *AppointmentRecurrence) Instances(loc *time.Location, from, to time.Time) []Instance {
	if loc == nil {
		loc = time.UTC
	}
	if !to.After(from) {
		return nil
	}
	var out []Instance
	inWindow := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	exceptionDays := a.exceptionDays()
	for _, e := range a.uniqueExceptions() {
		in := Instance{
			OriginalStart: e.OriginalStartDate.In(loc),
			Start:         e.StartDateTime.In(loc),
			End:           e.EndDateTime.In(loc),
			Modified:      true,
		}
		if e.OverrideFlags.Has(OverrideSubject) {
			in.Subject = e.Subject
		}
		if e.OverrideFlags.Has(OverrideLocation) {
			in.Location = e.Location
		}
		if inWindow(in.Start) {
			out = append(out, in)
		}
	}
	deleted := make(map[int]bool, len(a.DeletedInstanceDates))
	for _, d := range a.DeletedInstanceDates {
		deleted[d.Day()] = true
	}
	// Candidate dates: the window's dates less the start offset, with a day of slack either side for
	// zone offsets.
	offsetDays := int(a.StartTimeOffset / minutesPerDay)
	fromDay := dayIndex(from.In(loc)) - offsetDays - 1
	toDay := dayIndex(to.In(loc)) - offsetDays + 1
	a.occurrences(fromDay, toDay, func(day int) {
		if deleted[day] || exceptionDays[day] {
			return
		}
		start := wallClock(day, int(a.StartTimeOffset), loc)
		if inWindow(start) {
			out = append(out, Instance{
				OriginalStart: start,
				Start:         start,
				End:           wallClock(day, int(a.EndTimeOffset), loc),
			})
		}
	})
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].OriginalStart.Before(out[j].OriginalStart)
	})
	return out
}

// epoch1601 is the reference of all blob dates; dayIndex counts days from it on the civil calendar.
var epoch1601 = time.Date(1601, time.January, 1, 0, 0, 0, 0, time.UTC)

func dayIndex(t time.Time) int {
	y, m, d := t.Date()
	// Unix seconds, not time.Sub: a Duration cannot span the centuries since 1601.
	return int((time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() - epoch1601.Unix()) / 86400)
}

// weekdayOf is the weekday of a day index: 1601-01-01 was a Monday.
func weekdayOf(day int) time.Weekday { return time.Weekday(mod(int64(day)+1, 7)) }

func mod(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

// occurrences calls visit, in order, for every date (day index) of the pattern in [fromDay, toDay] that
// lies in the series' range, deleted or not: OccurrenceCount counts deleted instances too.
func (p *RecurrencePattern) occurrences(fromDay, toDay int, visit func(day int)) {
	if p.checkCalendar() != nil || fromDay > toDay {
		return
	}
	startDay := p.StartDate.Day()
	lastDay := toDay
	if p.EndType == EndAfterDate && p.EndDate.Day() < lastDay {
		lastDay = p.EndDate.Day()
	}
	var limit int64 = -1 // occurrences allowed, -1 for no limit
	switch {
	case p.EndType == EndAfterOccurrences:
		limit = int64(p.OccurrenceCount)
	case p.EndType == EndAfterDate, p.EndType.Never():
	default:
		return
	}
	steps := 0
	emit := func(day int, ordinal int64) bool {
		if steps++; steps > maxExpansion || day > lastDay || (limit >= 0 && ordinal >= limit) {
			return false
		}
		if day >= fromDay {
			visit(day)
		}
		return true
	}
	switch p.PatternType {
	case PatternDay:
		p.dailyOccurrences(startDay, fromDay, emit)
	case PatternWeek:
		p.weeklyOccurrences(startDay, fromDay, emit)
	case PatternMonth, PatternMonthNth, PatternMonthEnd:
		p.monthlyOccurrences(startDay, fromDay, emit)
	}
}

// dailyOccurrences: a day is valid when its minutes since 1601 are congruent with FirstDateTime modulo
// Period.
func (p *RecurrencePattern) dailyOccurrences(startDay, fromDay int, emit func(int, int64) bool) {
	period := int64(p.Period)
	if period%minutesPerDay != 0 {
		return
	}
	step := period / minutesPerDay
	gap := mod(int64(p.FirstDateTime)-int64(startDay)*minutesPerDay, period)
	first := int64(startDay) + (gap+minutesPerDay-1)/minutesPerDay
	var k int64
	if int64(fromDay) > first {
		k = (int64(fromDay) - first) / step // skip whole periods before the window
	}
	for ; ; k++ {
		if !emit(int(first+k*step), k) {
			return
		}
	}
}

// weeklyOccurrences: a week (starting on FirstDOW) is valid when its first day's minutes are congruent
// with FirstDateTime modulo Period weeks; its days in the mask are the instances.
func (p *RecurrencePattern) weeklyOccurrences(startDay, fromDay int, emit func(int, int64) bool) {
	mask := p.DayMask & MaskAllDays
	perWeek := int64(bits.OnesCount32(uint32(mask)))
	if perWeek == 0 {
		return
	}
	span := int64(p.Period) * minutesPerWeek
	weekStart := func(day int) int64 { return int64(day) - mod(int64(weekdayOf(day))-int64(p.FirstDOW), 7) }
	first := weekStart(startDay)
	if off := mod(first*minutesPerDay-int64(p.FirstDateTime), span); off >= minutesPerWeek {
		first += (span - off + minutesPerWeek - 1) / minutesPerWeek * 7
	}
	// Instances of the first valid week before StartDate do not exist, so they are not counted.
	var inFirst int64
	for i := int64(0); i < 7; i++ {
		if d := first + i; mask.Has(weekdayOf(int(d))) && d >= int64(startDay) {
			inFirst++
		}
	}
	stride := 7 * int64(p.Period)
	var k, ordinal int64
	if w := weekStart(fromDay); w > first+stride {
		k = (w - first) / stride
		ordinal = inFirst + (k-1)*perWeek
	}
	for ; ; k++ {
		w := first + k*stride
		for i := int64(0); i < 7; i++ {
			d := w + i
			if !mask.Has(weekdayOf(int(d))) || d < int64(startDay) {
				continue
			}
			if !emit(int(d), ordinal) {
				return
			}
			ordinal++
		}
	}
}

// monthlyOccurrences: a month is valid when its index since January 1601 is congruent with
// FirstDateTime's month modulo Period; the pattern picks the day within it.
func (p *RecurrencePattern) monthlyOccurrences(startDay, fromDay int, emit func(int, int64) bool) {
	if p.PatternType == PatternMonth && (p.DayOfMonth < 1 || p.DayOfMonth > 31) {
		return
	}
	if p.PatternType == PatternMonthNth && ((p.DayMask&MaskAllDays) == 0 || p.N < 1 || p.N > NthLast) {
		return
	}
	period := int64(p.Period)
	monthOf := func(day int) int64 {
		t := epoch1601.AddDate(0, 0, day)
		return int64(t.Year()-1601)*12 + int64(t.Month()-1)
	}
	startMonth := monthOf(startDay)
	first := startMonth + mod(monthOf(LocalTime(p.FirstDateTime).Day())-startMonth, period)
	var inFirst int64
	if p.dayInMonth(first) >= startDay {
		inFirst = 1
	}
	var k, ordinal int64
	if m := monthOf(fromDay); m > first+period {
		k = (m - first) / period
		ordinal = inFirst + k - 1
	}
	for ; ; k++ {
		d := p.dayInMonth(first + k*period)
		if d < startDay {
			continue
		}
		if !emit(d, ordinal) {
			return
		}
		ordinal++
	}
}

// dayInMonth is the pattern's date (day index) in month index m: DayOfMonth, or the month's last day
// when it is shorter (Month); the last day (MonthEnd); the Nth, or last, day of the mask (MonthNth).
func (p *RecurrencePattern) dayInMonth(m int64) int {
	year, month := int(1601+m/12), time.Month(m%12+1)
	n := daysIn(year, month)
	firstDay := dayIndex(time.Date(year, month, 1, 0, 0, 0, 0, time.UTC))
	switch p.PatternType {
	case PatternMonth:
		return firstDay + min(int(p.DayOfMonth), n) - 1
	case PatternMonthEnd:
		return firstDay + n - 1
	}
	mask := p.DayMask & MaskAllDays
	if p.N == NthLast {
		for d := n - 1; d >= 0; d-- {
			if mask.Has(weekdayOf(firstDay + d)) {
				return firstDay + d
			}
		}
	}
	seen := uint32(0)
	for d := 0; d < n; d++ {
		if mask.Has(weekdayOf(firstDay + d)) {
			if seen++; seen == p.N {
				return firstDay + d
			}
		}
	}
	return firstDay + n - 1 // unreachable: every month has four of each weekday
}
