package oxocal

import (
	"fmt"
	"sort"
	"time"

	"github.com/mailshift/mailshift/internal/groupware"
)

// Override is a modified instance of a series: the RECURRENCE-ID it replaces, its new start and end (all
// in the series' location), and the exception record with the fields it overrides. The caller builds a
// groupware.Exception from it, taking the fields the flags do not override from the series or from the
// exception's embedded message.
type Override struct {
	RecurrenceID time.Time // the instance's original start: ExceptionInfo.OriginalStartDate
	Start, End   time.Time
	Info         ExceptionInfo
}

// Rule converts the pattern to an RFC 5545 recurrence in loc, the series' time zone; startTimeOffset is
// the instances' start in minutes after midnight (AppointmentRecurrence.StartTimeOffset; 0 for all-day
// series and tasks, whose caller passes the zone the dates are to be read in, usually time.UTC).
//
// The period sets FREQ and INTERVAL (Day: Period/1440 days; Week: Period weeks; Month*: Period months,
// or FREQ=YEARLY with INTERVAL=Period/12 for a yearly frequency), PatternTypeSpecific the BY parts, the
// range COUNT or UNTIL (the last instance's date at startTimeOffset, inclusive, in loc), FirstDOW WKST.
// Deleted instances that are not also modified become ExDates at their original start; modified ones are
// left to the caller (see AppointmentRecurrence.Recurrence). Patterns RRULE cannot express return an
// error matching ErrUnsupportedPattern.
func (p *RecurrencePattern) Rule(loc *time.Location, startTimeOffset int) (groupware.Recurrence, error) {
	rule, err := p.rule(loc, startTimeOffset)
	if err != nil {
		return groupware.Recurrence{}, err
	}
	rec := groupware.Recurrence{Rule: rule}
	for _, d := range p.DeletedInstanceDates {
		if !p.IsModified(d.Day()) {
			rec.ExDates = append(rec.ExDates, wallClock(d.Day(), startTimeOffset, loc))
		}
	}
	rec.ExDates = sortedUnique(rec.ExDates)
	return rec, nil
}

// Recurrence converts the series: its rule in loc (see RecurrencePattern.Rule) with the instances'
// StartTimeOffset, ExDates for the instances that were deleted (and those marked modified for which the
// blob holds no exception), and one Override per exception, sorted by RecurrenceID.
func (a *AppointmentRecurrence) Recurrence(loc *time.Location) (groupware.Recurrence, []Override, error) {
	offset := int(a.StartTimeOffset)
	rule, err := a.rule(loc, offset)
	if err != nil {
		return groupware.Recurrence{}, nil, err
	}
	rec := groupware.Recurrence{Rule: rule}
	overridden := a.exceptionDays()
	for _, d := range a.DeletedInstanceDates {
		if !overridden[d.Day()] {
			rec.ExDates = append(rec.ExDates, wallClock(d.Day(), offset, loc))
		}
	}
	rec.ExDates = sortedUnique(rec.ExDates)
	var overrides []Override
	for _, e := range a.uniqueExceptions() {
		overrides = append(overrides, Override{
			RecurrenceID: e.OriginalStartDate.In(loc),
			Start:        e.StartDateTime.In(loc),
			End:          e.EndDateTime.In(loc),
			Info:         e,
		})
	}
	sort.SliceStable(overrides, func(i, j int) bool { return overrides[i].RecurrenceID.Before(overrides[j].RecurrenceID) })
	return rec, overrides, nil
}

// exceptionDays is the set of original days that have an ExceptionInfo.
func (a *AppointmentRecurrence) exceptionDays() map[int]bool {
	days := make(map[int]bool, len(a.Exceptions))
	for _, e := range a.Exceptions {
		days[e.OriginalStartDate.Day()] = true
	}
	return days
}

// uniqueExceptions drops all but the first exception for one original day: a series has at most one
// instance a day ([MS-OXOCAL] 3.1.5.5), so later duplicates are writer errors.
func (a *AppointmentRecurrence) uniqueExceptions() []ExceptionInfo {
	seen := make(map[int]bool, len(a.Exceptions))
	var out []ExceptionInfo
	for _, e := range a.Exceptions {
		if !seen[e.OriginalStartDate.Day()] {
			seen[e.OriginalStartDate.Day()] = true
			out = append(out, e)
		}
	}
	return out
}

func sortedUnique(ts []time.Time) []time.Time {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	out := ts[:0]
	for i, t := range ts {
		if i == 0 || !t.Equal(out[len(out)-1]) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// checkCalendar rejects what only a non-Gregorian calendar can express.
func (p *RecurrencePattern) checkCalendar() error {
	if p.PatternType.IsHijri() {
		return unsupported("PatternType", uint32(p.PatternType), p.PatternType.String()+" counts Hijri months, which RRULE cannot")
	}
	if !p.CalendarType.GregorianDays() {
		return unsupported("CalendarType", uint32(p.CalendarType), "the pattern counts months of a non-Gregorian calendar")
	}
	if p.SlidingFlag != 0 {
		return unsupported("SlidingFlag", p.SlidingFlag, "a regenerating task recurrence depends on completion dates")
	}
	if p.Period == 0 {
		return unsupported("Period", 0, "a zero period repeats nothing")
	}
	return nil
}

func (p *RecurrencePattern) rule(loc *time.Location, startTimeOffset int) (groupware.Rule, error) {
	if err := p.checkCalendar(); err != nil {
		return groupware.Rule{}, err
	}
	r := groupware.Rule{WeekStart: p.FirstDOW}
	switch p.PatternType {
	case PatternDay:
		if p.Period%minutesPerDay != 0 {
			return r, unsupported("Period", p.Period, "a daily period that is not whole days")
		}
		r.Freq, r.Interval = groupware.Daily, int(p.Period/minutesPerDay)
	case PatternWeek:
		days := (p.DayMask & MaskAllDays).Days()
		if len(days) == 0 {
			return r, unsupported("PatternTypeSpecific.Week", uint32(p.DayMask), "no weekday set")
		}
		r.Freq, r.Interval = groupware.Weekly, int(p.Period)
		for _, d := range days {
			r.ByDay = append(r.ByDay, groupware.WeekdayNum{Weekday: d})
		}
	case PatternMonth, PatternMonthNth, PatternMonthEnd:
		if err := p.monthRule(&r); err != nil {
			return r, err
		}
	default:
		return r, unsupported("PatternType", uint32(p.PatternType), "unknown pattern type")
	}
	if r.Interval == 1 {
		r.Interval = 0
	}
	switch {
	case p.EndType == EndAfterOccurrences:
		if p.OccurrenceCount == 0 {
			return r, unsupported("OccurrenceCount", 0, "a series that ends after no occurrences")
		}
		r.Count = int(p.OccurrenceCount)
	case p.EndType == EndAfterDate:
		if p.EndDate != NeverEndDate {
			r.Until = wallClock(p.EndDate.Day(), startTimeOffset, loc)
		}
	case p.EndType.Never():
	default:
		return r, unsupported("EndType", uint32(p.EndType), "unknown end type")
	}
	return r, nil
}

// monthRule fills the Month, MonthNth and MonthEnd patterns, monthly or yearly.
func (p *RecurrencePattern) monthRule(r *groupware.Rule) error {
	r.Freq, r.Interval = groupware.Monthly, int(p.Period)
	if p.RecurFrequency == FrequencyYearly && p.Period%12 == 0 {
		// The month of the year is the month FirstDateTime falls in: the first instance's month modulo
		// the period (2.2.1.44.1.1).
		r.Freq, r.Interval = groupware.Yearly, int(p.Period/12)
		r.ByMonth = []int{int(LocalTime(p.FirstDateTime).In(time.UTC).Month())}
	}
	switch p.PatternType {
	case PatternMonth:
		d := int(p.DayOfMonth)
		switch {
		case d < 1 || d > 31:
			return unsupported("PatternTypeSpecific.Month", p.DayOfMonth, "not a day of the month")
		case d <= 28:
			r.ByMonthDay = []int{d}
		case d == 31:
			r.ByMonthDay = []int{-1}
		default:
			// Outlook puts day 29 or 30 on the last day of shorter months; RRULE would skip those months.
			// The last of 28..d in each month is exactly that day.
			for md := 28; md <= d; md++ {
				r.ByMonthDay = append(r.ByMonthDay, md)
			}
			r.BySetPos = []int{-1}
		}
	case PatternMonthEnd:
		r.ByMonthDay = []int{-1}
	case PatternMonthNth:
		days := (p.DayMask & MaskAllDays).Days()
		if len(days) == 0 {
			return unsupported("PatternTypeSpecific.MonthNth", uint32(p.DayMask), "no weekday set")
		}
		n := int(p.N)
		switch {
		case n == NthLast:
			n = -1
		case n < 1 || n > 4:
			return unsupported("PatternTypeSpecific.MonthNth.N", p.N, "not first to fourth or last")
		}
		if len(days) == 1 {
			r.ByDay = []groupware.WeekdayNum{{N: n, Weekday: days[0]}}
			break
		}
		// "The Nth weekday / weekend day / day": the Nth of the set of matching days.
		for _, d := range days {
			r.ByDay = append(r.ByDay, groupware.WeekdayNum{Weekday: d})
		}
		r.BySetPos = []int{n}
	}
	return nil
}

// String renders the pattern for logs and errors, e.g. "Week every 1 (Tuesday) from 2016-08-02".
func (p *RecurrencePattern) String() string {
	return fmt.Sprintf("%s/%s every %d from %s end %#x", p.RecurFrequency, p.PatternType, p.Period, p.StartDate, uint32(p.EndType))
}
