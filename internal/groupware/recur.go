package groupware

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/ical"
)

var weekdayCodes = [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

func weekdayCode(d time.Weekday) string { return weekdayCodes[int(d)%7] }

func (w WeekdayNum) code() string {
	if w.N == 0 {
		return weekdayCode(w.Weekday)
	}
	return strconv.Itoa(w.N) + weekdayCode(w.Weekday)
}

// checkRule rejects rules no format can express, naming the offending part.
func checkRule(r Rule) error {
	switch r.Freq {
	case Daily, Weekly, Monthly, Yearly:
	default:
		return fmt.Errorf("recurrence: frequency %q is not DAILY, WEEKLY, MONTHLY or YEARLY", r.Freq)
	}
	if r.Count > 0 && !r.Until.IsZero() {
		return fmt.Errorf("recurrence: both COUNT (%d) and UNTIL (%s) are set; RFC 5545 §3.3.10 allows one", r.Count, r.Until)
	}
	if r.Count < 0 || r.Interval < 0 {
		return fmt.Errorf("recurrence: negative COUNT or INTERVAL")
	}
	for _, d := range r.ByDay {
		if d.N < -53 || d.N > 53 {
			return fmt.Errorf("recurrence: BYDAY ordinal %d out of range", d.N)
		}
	}
	for _, m := range r.ByMonth {
		if m < 1 || m > 12 {
			return fmt.Errorf("recurrence: BYMONTH %d out of range", m)
		}
	}
	for _, d := range r.ByMonthDay {
		if d == 0 || d < -31 || d > 31 {
			return fmt.Errorf("recurrence: BYMONTHDAY %d out of range", d)
		}
	}
	return nil
}

// until is the rule's UNTIL in the form RFC 5545 §3.3.10 requires for start: a date for a date start, else
// UTC.
func until(r Rule, start zoned) zoned {
	if start.allDay {
		y, m, d := r.Until.Date()
		return zoned{t: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), loc: time.UTC, allDay: true}
	}
	return zoned{t: r.Until.UTC().Truncate(time.Second), loc: time.UTC}
}

func ints(v []int) []string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return s
}

// icalRRule is the RRULE value (RFC 5545 §3.3.10) in the recommended part order.
func icalRRule(r Rule, start zoned) string {
	parts := []string{"FREQ=" + string(r.Freq)}
	if !r.Until.IsZero() {
		parts = append(parts, "UNTIL="+until(r, start).icalValue())
	} else if r.Count > 0 {
		parts = append(parts, "COUNT="+strconv.Itoa(r.Count))
	}
	if r.Interval > 1 {
		parts = append(parts, "INTERVAL="+strconv.Itoa(r.Interval))
	}
	if len(r.ByDay) > 0 {
		days := make([]string, len(r.ByDay))
		for i, d := range r.ByDay {
			days[i] = d.code()
		}
		parts = append(parts, "BYDAY="+strings.Join(days, ","))
	}
	if len(r.ByMonthDay) > 0 {
		parts = append(parts, "BYMONTHDAY="+strings.Join(ints(r.ByMonthDay), ","))
	}
	if len(r.ByMonth) > 0 {
		parts = append(parts, "BYMONTH="+strings.Join(ints(r.ByMonth), ","))
	}
	if len(r.BySetPos) > 0 {
		parts = append(parts, "BYSETPOS="+strings.Join(ints(r.BySetPos), ","))
	}
	if r.WeekStart != time.Monday {
		parts = append(parts, "WKST="+weekdayCode(r.WeekStart))
	}
	return strings.Join(parts, ";")
}

// xcalRecur writes the recur value of RFC 6321 §3.6.10 in the element order its schema requires.
func xcalRecur(x *xmlWriter, r Rule, start zoned) {
	x.open("recur")
	x.leaf("freq", string(r.Freq))
	if !r.Until.IsZero() {
		x.open("until")
		vt, v := until(r, start).xcalValue()
		x.leaf(vt, v)
		x.close()
	} else if r.Count > 0 {
		x.leaf("count", strconv.Itoa(r.Count))
	}
	if r.Interval > 1 {
		x.leaf("interval", strconv.Itoa(r.Interval))
	}
	for _, d := range r.ByDay {
		x.leaf("byday", d.code())
	}
	for _, d := range r.ByMonthDay {
		x.leaf("bymonthday", strconv.Itoa(d))
	}
	for _, m := range r.ByMonth {
		x.leaf("bymonth", strconv.Itoa(m))
	}
	for _, p := range r.BySetPos {
		x.leaf("bysetpos", strconv.Itoa(p))
	}
	if r.WeekStart != time.Monday {
		x.leaf("wkst", weekdayCode(r.WeekStart))
	}
	x.close()
}

// busyCode is Outlook's free/busy value as Exchange writes it in X-MICROSOFT-CDO-BUSYSTATUS.
func busyCode(b BusyStatus) string {
	switch b {
	case BusyFree:
		return "FREE"
	case BusyTentative:
		return "TENTATIVE"
	case BusyOutOfOffice:
		return "OOF"
	case BusyWorkingElsewhere:
		return "WORKINGELSEWHERE"
	}
	return "BUSY"
}

// eventStatus is STATUS for an event: its own, or TENTATIVE for a tentatively shown event without one.
func eventStatus(e *Event) Status {
	if e.Status == StatusNone && e.Busy == BusyTentative {
		return StatusTentative
	}
	return e.Status
}

// customsWith prepends the generated X- properties to the item's own, dropping item properties that a
// generated one replaces, so no name appears twice.
func customsWith(generated []Custom, own []Custom) []Custom {
	out := append([]Custom(nil), generated...)
	for _, c := range own {
		dup := false
		for _, g := range generated {
			if strings.EqualFold(g.Name, c.Name) {
				dup = true
			}
		}
		if !dup && strings.TrimSpace(c.Name) != "" {
			out = append(out, c)
		}
	}
	return out
}

// alarmText is the DESCRIPTION a DISPLAY alarm requires (RFC 5545 §3.6.6).
func alarmText(a Alarm, summary string) string {
	if a.Description != "" {
		return a.Description
	}
	if summary != "" {
		return summary
	}
	return "Reminder"
}

// icalDuration is an alarm's TRIGGER (RFC 5545 §3.3.6): a positive Before becomes a negative duration.
func icalDuration(before time.Duration) string { return ical.FormatDuration(-before) }

// exceptionEvents are an event's modified instances ready to write: checked (the event must recur, each
// instance must name the start it replaces), with the series' UID and, where they have none, its creation and
// modification times. Every format writes them the same way, beside the series.
func exceptionEvents(e *Event, created, modified time.Time) ([]Event, error) {
	out := make([]Event, 0, len(e.Exceptions))
	for i, ex := range e.Exceptions {
		if e.Recurrence == nil {
			return nil, fmt.Errorf("exception %d: the event does not recur", i+1)
		}
		if ex.RecurrenceID.IsZero() {
			return nil, fmt.Errorf("exception %d: no RecurrenceID", i+1)
		}
		ev := ex.Event
		ev.UID = e.UID
		ev.Created, ev.LastModified = orTime(ev.Created, created), orTime(ev.LastModified, modified)
		out = append(out, ev)
	}
	return out, nil
}
