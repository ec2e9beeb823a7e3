package calobject

import (
	"time"

	"github.com/mailshift/mailshift/internal/ical"
	"github.com/mailshift/mailshift/internal/wallclock"
)

// stamp is a DATE or DATE-TIME value as written, before a zone is applied; package ical reads both textual
// forms.
type stamp struct {
	year, month, day     int
	hour, minute, second int
	date                 bool // a DATE: no time part
	utc                  bool // ends in "Z"
}

// fromWire is the value ical read.
func fromWire(d ical.DateTime, err error) (stamp, error) {
	return stamp{year: d.Year, month: d.Month, day: d.Day, hour: d.Hour, minute: d.Minute, second: d.Second,
		date: d.Date, utc: d.UTC}, err
}

func (st stamp) wire() ical.DateTime {
	return ical.DateTime{Year: st.year, Month: st.month, Day: st.day, Hour: st.hour, Minute: st.minute,
		Second: st.second, Date: st.date, UTC: st.utc}
}

// parseBasic reads the iCalendar form (RFC 5545 §3.3.4, §3.3.5): "20260327", "20260327T100000",
// "20260327T100000Z".
func parseBasic(s string) (stamp, error) { return fromWire(ical.ParseDateTime(s)) }

// parseExtended reads the xCal and Kolab form (RFC 6321 §3.3.4, §3.3.5), and the basic form, which some
// writers use in XML.
func parseExtended(s string) (stamp, error) { return fromWire(ical.ParseExtendedDateTime(s)) }

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
func (st stamp) basic() string { return st.wire().String() }
