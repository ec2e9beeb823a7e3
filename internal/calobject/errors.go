package calobject

import (
	"errors"
	"strconv"
	"strings"
)

// ErrNoCalendarObject is returned (wrapped) for a message or document that holds no event at all: an
// ordinary mail filed into a calendar folder, a Kolab task or contact, a VCALENDAR with only VTODOs. It is
// not a fault of the object; callers count such messages and move on.
var ErrNoCalendarObject = errors.New("no calendar object")

// ErrUnknownTimeZone is the cause (inside a *ParseError) of a TZID that names no IANA or Windows zone and has
// no usable VTIMEZONE. Guessing UTC would move the event by hours without anyone noticing, so the event is
// reported instead.
var ErrUnknownTimeZone = errors.New("unknown time zone")

// Format names used in ParseError.Format.
const (
	FormatICalendar = "iCalendar"
	FormatXCal      = "xCal"
	FormatKolab2    = "Kolab 2"
	FormatMIME      = "MIME"
)

// ParseError is a calendar object, or one event of it, that cannot be read. It says which format, which
// event (when its UID is known), where, which property or element and what is wrong with it, so that a
// report names what a person would have to fix.
type ParseError struct {
	Format   string // FormatICalendar, FormatXCal, FormatKolab2 or FormatMIME
	UID      string // the event's UID, when known
	Line     int    // iCalendar: the content line (1-based, counted in the unfolded text's physical lines); else 0
	Property string // the property, element or header field ("DTSTART", "dtstart", "start-date"); "" for the whole document
	Err      error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.Format)
	if e.UID != "" {
		b.WriteString(": event ")
		b.WriteString(strconv.Quote(e.UID))
	}
	if e.Line > 0 {
		b.WriteString(": line ")
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Property != "" {
		b.WriteString(": ")
		b.WriteString(e.Property)
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("invalid")
	}
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }
