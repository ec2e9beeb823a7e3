package calobject

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/wallclock"
)

// stamp is a DATE or DATE-TIME value as written, before a zone is applied. Both textual forms are read by
// hand: time.Parse costs more than the rest of a typical event together.
type stamp struct {
	year, month, day     int
	hour, minute, second int
	date                 bool // a DATE: no time part
	utc                  bool // ends in "Z"
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

var errTimeSyntax = errors.New("not a DATE (YYYYMMDD) or DATE-TIME (YYYYMMDDTHHMMSS[Z])")

// parseBasic reads the iCalendar form (RFC 5545 §3.3.4, §3.3.5): "20260327", "20260327T100000",
// "20260327T100000Z".
func parseBasic(s string) (stamp, error) {
	var st stamp
	var ok1, ok2, ok3 bool
	st.year, ok1 = digits(s, 0, 4)
	st.month, ok2 = digits(s, 4, 2)
	st.day, ok3 = digits(s, 6, 2)
	if !ok1 || !ok2 || !ok3 {
		return st, errTimeSyntax
	}
	switch {
	case len(s) == 8:
		st.date = true
	case (len(s) == 15 || len(s) == 16 && (s[15] == 'Z' || s[15] == 'z')) && (s[8] == 'T' || s[8] == 't'):
		st.hour, ok1 = digits(s, 9, 2)
		st.minute, ok2 = digits(s, 11, 2)
		st.second, ok3 = digits(s, 13, 2)
		if !ok1 || !ok2 || !ok3 {
			return st, errTimeSyntax
		}
		st.utc = len(s) == 16
	default:
		return st, errTimeSyntax
	}
	return st, st.check()
}

var errXTimeSyntax = errors.New("not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SS[Z])")

// parseExtended reads the xCal and Kolab form (RFC 6321 §3.3.4, §3.3.5): "2026-03-27", "2026-03-27T10:00:00",
// "2026-03-27T10:00:00Z". Fractions of a second, which some Kolab 2 writers add, are dropped; the basic
// form is accepted too, as some writers use it in XML.
func parseExtended(s string) (stamp, error) {
	if len(s) >= 8 && s[4] != '-' {
		return parseBasic(s)
	}
	var st stamp
	var ok1, ok2, ok3 bool
	st.year, ok1 = digits(s, 0, 4)
	st.month, ok2 = digits(s, 5, 2)
	st.day, ok3 = digits(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return st, errXTimeSyntax
	}
	if len(s) == 10 {
		st.date = true
		return st, st.check()
	}
	if len(s) < 19 || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return st, errXTimeSyntax
	}
	st.hour, ok1 = digits(s, 11, 2)
	st.minute, ok2 = digits(s, 14, 2)
	st.second, ok3 = digits(s, 17, 2)
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
		st.utc = true
	default:
		return st, errXTimeSyntax
	}
	return st, st.check()
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func (st stamp) check() error {
	switch {
	case st.month < 1 || st.month > 12:
		return fmt.Errorf("month %02d is not 01…12", st.month)
	case st.day < 1 || st.day > daysIn(st.year, st.month):
		return fmt.Errorf("day %02d does not exist in %04d-%02d", st.day, st.year, st.month)
	case st.hour > 23:
		return fmt.Errorf("hour %02d is not 00…23", st.hour)
	case st.minute > 59:
		return fmt.Errorf("minute %02d is not 00…59", st.minute)
	case st.second > 60: // 60 is a leap second (RFC 5545 §3.3.12); time.Date carries it into the next minute
		return fmt.Errorf("second %02d is not 00…60", st.second)
	}
	return nil
}

// in makes the model value: a date, a UTC time, a time in loc, or (loc nil) a floating time.
func (st stamp) in(loc *time.Location) Time {
	switch {
	case st.date:
		return Time{T: time.Date(st.year, time.Month(st.month), st.day, 0, 0, 0, 0, time.UTC), AllDay: true}
	case st.utc, loc == time.UTC:
		return Time{T: st.reading()}
	case loc != nil:
		return Time{T: wallclock.At(st.reading().Unix(), loc)}
	}
	return Time{T: st.reading(), Floating: true}
}

// reading is the date and clock time as written, as if it were UTC.
func (st stamp) reading() time.Time {
	return time.Date(st.year, time.Month(st.month), st.day, st.hour, st.minute, st.second, 0, time.UTC)
}

// basic is the iCalendar text of the value, as an RRULE's UNTIL is written.
func (st stamp) basic() string {
	if st.date {
		return fmt.Sprintf("%04d%02d%02d", st.year, st.month, st.day)
	}
	z := ""
	if st.utc {
		z = "Z"
	}
	return fmt.Sprintf("%04d%02d%02dT%02d%02d%02d%s", st.year, st.month, st.day, st.hour, st.minute, st.second, z)
}

// maxDuration bounds DURATION values: nothing in a calendar lasts a century, and the bound keeps the
// arithmetic far from time.Duration's overflow.
const maxDuration = 100 * 366 * 24 * time.Hour

var errDurationSyntax = errors.New("not a duration ([+|-]P[nW][nD][T[nH][nM][nS]], RFC 5545 §3.3.6)")

// parseDuration reads a dur-value. RFC 5545 does not allow weeks together with other units, but some
// writers combine them, and the meaning is plain, so they are accepted.
func parseDuration(s string) (time.Duration, error) {
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
				return 0, fmt.Errorf("duration %s is too long", quoteValue(s))
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
		if total > maxDuration {
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

// parseOffset reads a UTC offset (RFC 5545 §3.3.14, "+0100", "-053000"; also "+01:00") in seconds east.
func parseOffset(s string) (int, error) {
	bad := fmt.Errorf("UTC offset %s is not ±HHMM[SS]", quoteValue(s))
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
