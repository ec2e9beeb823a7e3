package freebusy

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mailshift/mailshift/internal/ical"
)

// Document is what Parse read from a VFREEBUSY: the tests' independent view of what Write wrote. Nothing
// but tests reads free/busy documents, so the reader lives here, on top of package ical.
type Document struct {
	ProductID string // PRODID of the VCALENDAR
	Method    string // METHOD of the VCALENDAR, "" when absent
	UID       string
	// Organizer is the calendar address as written ("mailto:alice@example.test"), OrganizerName its CN.
	Organizer     string
	OrganizerName string
	// Stamp is DTSTAMP; Start and End are the window (DTSTART, DTEND). Each is zero when absent.
	Stamp, Start, End time.Time
	// Periods are the FREEBUSY periods in the order written, comma-separated lists expanded, in UTC.
	// FBTYPE defaults to BUSY, and types Parse does not know are BUSY too (RFC 5545 §3.2.9).
	Periods []Period
}

// Parse reads the one VFREEBUSY of a VCALENDAR: what Write writes, and also comma-separated period lists,
// periods given as start and duration, FREEBUSY without FBTYPE, LF line ends and folded lines. Times must
// be UTC, as RFC 5545 requires for VFREEBUSY.
func Parse(data []byte) (*Document, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("freebusy: not UTF-8")
	}
	top, err := ical.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("freebusy: %w", err)
	}
	cal := top[0]
	switch {
	case cal.Name != "VCALENDAR":
		return nil, fmt.Errorf("freebusy: line %d: BEGIN:%s where BEGIN:VCALENDAR was expected", cal.Line, cal.Name)
	case len(top) > 1:
		return nil, fmt.Errorf("freebusy: line %d: content after END:VCALENDAR", top[1].Line)
	}
	if err := nestedFreeBusy(cal.Components); err != nil {
		return nil, err
	}
	fbs := cal.Sub("VFREEBUSY")
	switch len(fbs) {
	case 0:
		return nil, errors.New("freebusy: no VFREEBUSY in the calendar")
	case 1:
	default:
		return nil, fmt.Errorf("freebusy: line %d: a second VFREEBUSY", fbs[1].Line)
	}
	doc := &Document{ProductID: cal.Value("PRODID", true), Method: cal.Value("METHOD", false)}
	have := map[string]bool{}
	for i := range fbs[0].Props {
		c := &fbs[0].Props[i]
		c.Name = ical.Upper(c.Name)
		fail := func(format string, args ...any) error {
			return fmt.Errorf("freebusy: line %d: %s", c.Line, fmt.Sprintf(format, args...))
		}
		switch c.Name {
		case "DTSTART", "DTEND", "DTSTAMP", "ORGANIZER", "UID":
			if have[c.Name] {
				return nil, fail("a second %s", c.Name)
			}
			have[c.Name] = true
		}
		switch c.Name {
		case "DTSTART", "DTEND", "DTSTAMP":
			if p, _ := c.Param("VALUE"); p != "" && !strings.EqualFold(p, "DATE-TIME") {
				return nil, fail("%s;VALUE=%s: a UTC date-time is required", c.Name, p)
			}
			if _, ok := c.Param("TZID"); ok {
				return nil, fail("%s with TZID: a UTC date-time is required", c.Name)
			}
			t, err := parseUTC(c.Value)
			if err != nil {
				return nil, fail("%s: %v", c.Name, err)
			}
			switch c.Name {
			case "DTSTART":
				doc.Start = t
			case "DTEND":
				doc.End = t
			default:
				doc.Stamp = t
			}
		case "ORGANIZER":
			doc.Organizer = c.Value
			doc.OrganizerName, _ = c.Param("CN")
		case "UID":
			doc.UID = ical.UnescapeText(c.Value)
		case "FREEBUSY":
			if p, _ := c.Param("VALUE"); p != "" && !strings.EqualFold(p, "PERIOD") {
				return nil, fail("FREEBUSY;VALUE=%s: periods are required", p)
			}
			typ := Busy
			fbtype, _ := c.Param("FBTYPE")
			switch t := Type(strings.ToUpper(fbtype)); t {
			case Tentative, Unavailable, Free:
				typ = t
			}
			for i, v := range strings.Split(c.Value, ",") {
				s, e, err := parsePeriod(v)
				if err != nil {
					return nil, fail("FREEBUSY period %d: %v", i+1, err)
				}
				doc.Periods = append(doc.Periods, Period{Start: s, End: e, Type: typ})
			}
		}
	}
	if !doc.Start.IsZero() && !doc.End.IsZero() && doc.End.Before(doc.Start) {
		return nil, errors.New("freebusy: DTEND before DTSTART")
	}
	return doc, nil
}

// nestedFreeBusy reports a VFREEBUSY that is not a direct child of the VCALENDAR.
func nestedFreeBusy(comps []*ical.Component) error {
	for _, c := range comps {
		for _, sub := range c.Components {
			if sub.Name == "VFREEBUSY" {
				return fmt.Errorf("freebusy: line %d: VFREEBUSY inside %s", sub.Line, c.Name)
			}
		}
		if err := nestedFreeBusy(c.Components); err != nil {
			return err
		}
	}
	return nil
}

func parseUTC(s string) (time.Time, error) {
	d, err := ical.ParseDateTime(s)
	if err == nil && (d.Date || !d.UTC) {
		err = errors.New("not UTC")
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a UTC date-time (YYYYMMDDTHHMMSSZ): %v", s, err)
	}
	return d.Reading(), nil
}

// parsePeriod reads "start/end" or "start/duration".
func parsePeriod(v string) (start, end time.Time, err error) {
	a, b, ok := strings.Cut(v, "/")
	if !ok {
		return start, end, fmt.Errorf("%q is not start/end or start/duration", v)
	}
	if start, err = parseUTC(a); err != nil {
		return start, end, err
	}
	if strings.HasPrefix(b, "P") || strings.HasPrefix(b, "+P") || strings.HasPrefix(b, "-P") {
		d, err := ical.ParseDuration(b)
		if err != nil {
			return start, end, fmt.Errorf("%q: %v", b, err)
		}
		if d < 0 {
			return start, end, fmt.Errorf("negative duration %q", b)
		}
		return start, start.Add(d), nil
	}
	if end, err = parseUTC(b); err != nil {
		return start, end, err
	}
	if end.Before(start) {
		return start, end, fmt.Errorf("%q ends before it starts", v)
	}
	return start, end, nil
}
