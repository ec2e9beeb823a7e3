package groupware

import (
	"fmt"
	"time"

	"github.com/mailshift/mailshift/internal/ical"
)

// location is the time zone of a timed DateTime: Time's own location when it is the named zone, else the
// zone loaded by name; UTC when TZID is empty.
func location(d DateTime) (*time.Location, error) {
	if d.TZID == "" || d.TZID == "UTC" || d.TZID == "Etc/UTC" {
		return time.UTC, nil
	}
	if loc := d.Time.Location(); loc.String() == d.TZID {
		return loc, nil
	}
	loc, err := time.LoadLocation(d.TZID)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %v", d.TZID, err)
	}
	return loc, nil
}

// zoned is a DateTime resolved for writing: its wall-clock time in its zone (or UTC), or its date.
type zoned struct {
	t      time.Time // in loc; for a date, midnight of that date in UTC
	loc    *time.Location
	allDay bool
	tzid   string // "" for UTC and dates
}

func (z zoned) isUTC() bool { return !z.allDay && z.tzid == "" }

func resolve(d DateTime, field string) (zoned, error) {
	if d.AllDay {
		y, m, day := d.Time.Date()
		return zoned{t: time.Date(y, m, day, 0, 0, 0, 0, time.UTC), loc: time.UTC, allDay: true}, nil
	}
	loc, err := location(d)
	if err != nil {
		return zoned{}, fmt.Errorf("%s: %w", field, err)
	}
	z := zoned{t: d.Time.In(loc).Truncate(time.Second), loc: loc}
	if loc != time.UTC {
		z.tzid = d.TZID
	}
	return z, nil
}

// like expresses instant t the way ref is expressed: as a date when ref is a date, else in ref's zone. EXDATE
// and RECURRENCE-ID values must have the value type and zone of DTSTART (RFC 5545 §3.8.5.1, §3.8.4.4).
func like(t time.Time, ref zoned) zoned {
	if ref.allDay {
		y, m, d := t.Date()
		return zoned{t: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), loc: time.UTC, allDay: true}
	}
	return zoned{t: t.In(ref.loc).Truncate(time.Second), loc: ref.loc, tzid: ref.tzid}
}

// Textual forms: xCal uses the extended ISO 8601 form (RFC 6321 §3.3.4, §3.3.5), iCalendar the basic one
// (RFC 5545 §3.3.4, §3.3.5).
func (z zoned) xcalValue() (valueType, value string) {
	switch {
	case z.allDay:
		return "date", z.t.Format("2006-01-02")
	case z.isUTC():
		return "date-time", z.t.UTC().Format("2006-01-02T15:04:05Z")
	}
	return "date-time", z.t.Format("2006-01-02T15:04:05")
}

func (z zoned) icalValue() string {
	switch {
	case z.allDay:
		return ical.FormatDate(z.t)
	case z.isUTC():
		return ical.FormatUTC(z.t)
	}
	return ical.FormatLocal(z.t)
}

func utcStamp(t time.Time) string { return ical.FormatUTC(t) }
func utcXCal(t time.Time) string  { return t.UTC().Format("2006-01-02T15:04:05Z") }
