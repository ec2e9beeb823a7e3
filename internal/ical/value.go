package ical

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DateTime is a DATE or DATE-TIME value as written (RFC 5545 §3.3.4, §3.3.5; RFC 6350 §4.3), before a
// time zone is applied: the zone is a property's TZID parameter, which only the reader can resolve.
type DateTime struct {
	Year, Month, Day     int
	Hour, Minute, Second int
	Date                 bool // a DATE: no time part
	UTC                  bool // ends in "Z"
}

// digits reads n decimal digits at s[i:].
func digits(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s[i : i+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

var (
	errTimeSyntax  = errors.New("not a DATE (YYYYMMDD) or DATE-TIME (YYYYMMDDTHHMMSS[Z])")
	errXTimeSyntax = errors.New("not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SS[Z])")
)

// ParseDateTime reads the basic form: "20260327", "20260327T100000", "20260327T100000Z". It is read by
// hand: time.Parse costs more than the rest of a typical event together.
func ParseDateTime(s string) (DateTime, error) {
	var st DateTime
	var ok1, ok2, ok3 bool
	st.Year, ok1 = digits(s, 0, 4)
	st.Month, ok2 = digits(s, 4, 2)
	st.Day, ok3 = digits(s, 6, 2)
	if !ok1 || !ok2 || !ok3 {
		return st, errTimeSyntax
	}
	switch {
	case len(s) == 8:
		st.Date = true
	case (len(s) == 15 || len(s) == 16 && (s[15] == 'Z' || s[15] == 'z')) && (s[8] == 'T' || s[8] == 't'):
		st.Hour, ok1 = digits(s, 9, 2)
		st.Minute, ok2 = digits(s, 11, 2)
		st.Second, ok3 = digits(s, 13, 2)
		if !ok1 || !ok2 || !ok3 {
			return st, errTimeSyntax
		}
		st.UTC = len(s) == 16
	default:
		return st, errTimeSyntax
	}
	return st, st.Check()
}

// ParseExtendedDateTime reads the xCal and Kolab form (RFC 6321 §3.3.4, §3.3.5): "2026-03-27",
// "2026-03-27T10:00:00", "2026-03-27T10:00:00Z". Fractions of a second, which some Kolab 2 writers add, are
// dropped; the basic form is accepted too, as some writers use it in XML.
func ParseExtendedDateTime(s string) (DateTime, error) {
	if len(s) >= 8 && s[4] != '-' {
		return ParseDateTime(s)
	}
	var st DateTime
	var ok1, ok2, ok3 bool
	st.Year, ok1 = digits(s, 0, 4)
	st.Month, ok2 = digits(s, 5, 2)
	st.Day, ok3 = digits(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return st, errXTimeSyntax
	}
	if len(s) == 10 {
		st.Date = true
		return st, st.Check()
	}
	if len(s) < 19 || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return st, errXTimeSyntax
	}
	st.Hour, ok1 = digits(s, 11, 2)
	st.Minute, ok2 = digits(s, 14, 2)
	st.Second, ok3 = digits(s, 17, 2)
	if !ok1 || !ok2 || !ok3 {
		return st, errXTimeSyntax
	}
	rest := s[19:]
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 {
			return st, errXTimeSyntax
		}
		rest = rest[i:]
	}
	switch rest {
	case "":
	case "Z", "z":
		st.UTC = true
	default:
		return st, errXTimeSyntax
	}
	return st, st.Check()
}

// DaysIn is the number of days of a month.
func DaysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Check reports a field out of range.
func (st DateTime) Check() error {
	switch {
	case st.Month < 1 || st.Month > 12:
		return fmt.Errorf("month %02d is not 01…12", st.Month)
	case st.Day < 1 || st.Day > DaysIn(st.Year, st.Month):
		return fmt.Errorf("day %02d does not exist in %04d-%02d", st.Day, st.Year, st.Month)
	case st.Hour > 23:
		return fmt.Errorf("hour %02d is not 00…23", st.Hour)
	case st.Minute > 59:
		return fmt.Errorf("minute %02d is not 00…59", st.Minute)
	case st.Second > 60: // 60 is a leap second (RFC 5545 §3.3.12); time.Date carries it into the next minute
		return fmt.Errorf("second %02d is not 00…60", st.Second)
	}
	return nil
}

// Reading is the date and clock time as written, as if it were UTC.
func (st DateTime) Reading() time.Time {
	return time.Date(st.Year, time.Month(st.Month), st.Day, st.Hour, st.Minute, st.Second, 0, time.UTC)
}

// String is the basic form, as DTSTART or an RRULE's UNTIL is written.
func (st DateTime) String() string {
	if st.Date {
		return fmt.Sprintf("%04d%02d%02d", st.Year, st.Month, st.Day)
	}
	z := ""
	if st.UTC {
		z = "Z"
	}
	return fmt.Sprintf("%04d%02d%02dT%02d%02d%02d%s", st.Year, st.Month, st.Day, st.Hour, st.Minute, st.Second, z)
}

// Layouts of the basic form, for time.Format and time.AppendFormat.
const (
	UTCLayout   = "20060102T150405Z" // a UTC DATE-TIME (form #2)
	LocalLayout = "20060102T150405"  // a floating DATE-TIME, or one with a TZID (forms #1 and #3)
	DateLayout  = "20060102"         // a DATE
)

// FormatUTC is t in UTC as a DATE-TIME: "20260327T090000Z".
func FormatUTC(t time.Time) string { return t.UTC().Format(UTCLayout) }

// FormatLocal is t's wall-clock time in its own location, without zone: the value of a property whose TZID
// names that location.
func FormatLocal(t time.Time) string { return t.Format(LocalLayout) }

// FormatDate is t's date as a DATE.
func FormatDate(t time.Time) string { return t.Format(DateLayout) }

// MaxDuration bounds DURATION values: nothing in a calendar lasts a century, and the bound keeps the
// arithmetic far from time.Duration's overflow.
const MaxDuration = 100 * 366 * 24 * time.Hour

var errDurationSyntax = errors.New("not a duration ([+|-]P[nW][nD][T[nH][nM][nS]], RFC 5545 §3.3.6)")

// ParseDuration reads a dur-value (RFC 5545 §3.3.6). RFC 5545 does not allow weeks together with other
// units, but some writers combine them, and the meaning is plain, so they are accepted; letters may be in
// either case.
func ParseDuration(s string) (time.Duration, error) {
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if len(s) < 2 || (s[0] != 'P' && s[0] != 'p') {
		return 0, errDurationSyntax
	}
	s = s[1:]
	var total time.Duration
	inTime := false
	units := 0
	order := 0 // units must come in the order W D (T) H M S
	for len(s) > 0 {
		if s[0] == 'T' || s[0] == 't' {
			if inTime {
				return 0, errDurationSyntax
			}
			inTime = true
			s = s[1:]
			if len(s) == 0 {
				return 0, errDurationSyntax
			}
			continue
		}
		i := 0
		n := int64(0)
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if i >= 9 {
				return 0, fmt.Errorf("duration %s is too long", Clip(s))
			}
			n = n*10 + int64(s[i]-'0')
			i++
		}
		if i == 0 || i == len(s) {
			return 0, errDurationSyntax
		}
		var unit time.Duration
		var rank int
		switch c := s[i] | 0x20; {
		case c == 'w' && !inTime:
			unit, rank = 7*24*time.Hour, 1
		case c == 'd' && !inTime:
			unit, rank = 24*time.Hour, 2
		case c == 'h' && inTime:
			unit, rank = time.Hour, 3
		case c == 'm' && inTime:
			unit, rank = time.Minute, 4
		case c == 's' && inTime:
			unit, rank = time.Second, 5
		default:
			return 0, errDurationSyntax
		}
		if rank <= order {
			return 0, errDurationSyntax
		}
		order = rank
		total += time.Duration(n) * unit
		if total > MaxDuration {
			return 0, errors.New("duration is longer than a century")
		}
		units++
		s = s[i+1:]
	}
	if units == 0 {
		return 0, errDurationSyntax
	}
	if neg {
		total = -total
	}
	return total, nil
}

// FormatDuration is d as a dur-value, in whole seconds: weeks when d is a whole number of them, else days
// and a time part; "PT0S" for zero.
func FormatDuration(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign = "-"
		d = -d
	}
	d = d.Truncate(time.Second)
	if d == 0 {
		return "PT0S"
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	var b strings.Builder
	b.WriteString(sign + "P")
	if days > 0 {
		if days%7 == 0 && d == 0 {
			return sign + "P" + strconv.Itoa(int(days/7)) + "W"
		}
		b.WriteString(strconv.Itoa(int(days)) + "D")
	}
	if d > 0 {
		b.WriteString("T")
		if h := d / time.Hour; h > 0 {
			b.WriteString(strconv.Itoa(int(h)) + "H")
		}
		if m := (d % time.Hour) / time.Minute; m > 0 {
			b.WriteString(strconv.Itoa(int(m)) + "M")
		}
		if s := (d % time.Minute) / time.Second; s > 0 {
			b.WriteString(strconv.Itoa(int(s)) + "S")
		}
	}
	return b.String()
}

// ParseUTCOffset reads a UTC-OFFSET (RFC 5545 §3.3.14: "+0100", "-053000"; "+01:00" as some writers put
// it) in seconds east of UTC.
func ParseUTCOffset(s string) (int, error) {
	bad := fmt.Errorf("UTC offset %s is not ±HHMM[SS]", Clip(s))
	if len(s) < 5 || (s[0] != '+' && s[0] != '-') {
		return 0, bad
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	body := strings.ReplaceAll(s[1:], ":", "")
	if len(body) != 4 && len(body) != 6 {
		return 0, bad
	}
	h, ok1 := digits(body, 0, 2)
	m, ok2 := digits(body, 2, 2)
	sec := 0
	ok3 := true
	if len(body) == 6 {
		sec, ok3 = digits(body, 4, 2)
	}
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 59 {
		return 0, bad
	}
	return sign * (h*3600 + m*60 + sec), nil
}

// FormatUTCOffset is a UTC-OFFSET of sec seconds east: "+0100", "-0330", "+004430".
func FormatUTCOffset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	s := fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec%3600/60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}

// Extended is the xCal form (RFC 6321 §3.3.4, §3.3.5): "2026-03-27", "2026-03-27T10:00:00[Z]".
func (st DateTime) Extended() string {
	if st.Date {
		return fmt.Sprintf("%04d-%02d-%02d", st.Year, st.Month, st.Day)
	}
	z := ""
	if st.UTC {
		z = "Z"
	}
	return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d%s", st.Year, st.Month, st.Day, st.Hour, st.Minute, st.Second, z)
}
