package freebusy

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mailshift/mailshift/internal/ical"
)

// Write writes periods as a VFREEBUSY (RFC 5545 §3.6.4) inside a VCALENDAR with METHOD:PUBLISH: CRLF line
// ends, lines folded at 75 octets, times in UTC. Every period gets its own FREEBUSY property: RFC 5545
// allows comma-separated lists, but some readers (icalendar 4, Debian's python3-icalendar) reject them,
// and Outlook reads either form.
func Write(w io.Writer, periods []Period, opt Options) error {
	b, err := appendDocument(make([]byte, 0, 512+64*len(periods)), periods, opt)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func appendDocument(b []byte, periods []Period, opt Options) ([]byte, error) {
	if opt.Start.IsZero() || !opt.End.After(opt.Start) {
		return nil, fmt.Errorf("freebusy: window %s to %s is empty", opt.Start.Format(time.RFC3339), opt.End.Format(time.RFC3339))
	}
	if !writable(opt.Start) || !writable(opt.End) || !writable(opt.Stamp) {
		return nil, errors.New("freebusy: window or stamp outside the years 0000 to 9999")
	}
	org, err := organizerURI(opt.Organizer)
	if err != nil {
		return nil, err
	}
	prodID := opt.ProductID
	if prodID == "" {
		prodID = DefaultProductID
	}
	uid := opt.UID
	if uid == "" {
		uid = "freebusy-" + strings.TrimPrefix(strings.TrimPrefix(org, "mailto:"), "MAILTO:")
	}
	stamp := opt.Stamp
	if stamp.IsZero() {
		stamp = opt.Start
	}

	var line []byte
	put := func() { b = ical.AppendFolded(b, line); line = line[:0] }
	text := func(name, v string) error {
		esc, err := escapeText(v)
		if err != nil {
			return fmt.Errorf("freebusy: %s: %w", name, err)
		}
		line = append(append(append(line, name...), ':'), esc...)
		put()
		return nil
	}
	at := func(name string, t time.Time) {
		line = t.UTC().AppendFormat(append(append(line, name...), ':'), ical.UTCLayout)
		put()
	}

	b = append(b, "BEGIN:VCALENDAR\r\n"...)
	if err := text("PRODID", prodID); err != nil {
		return nil, err
	}
	b = append(b, "VERSION:2.0\r\nMETHOD:PUBLISH\r\nBEGIN:VFREEBUSY\r\n"...)
	line = append(line, "ORGANIZER"...)
	if opt.OrganizerName != "" {
		cn, err := paramValue(opt.OrganizerName)
		if err != nil {
			return nil, fmt.Errorf("freebusy: organizer name: %w", err)
		}
		line = append(append(line, ";CN="...), cn...)
	}
	line = append(append(line, ':'), org...)
	put()
	at("DTSTAMP", stamp)
	at("DTSTART", opt.Start)
	at("DTEND", opt.End)
	if err := text("UID", uid); err != nil {
		return nil, err
	}
	for i, p := range periods {
		typ := p.Type
		switch typ {
		case "":
			typ = Busy
		case Busy, Tentative, Unavailable, Free:
		default:
			return nil, fmt.Errorf("freebusy: period %d: unknown type %q", i, p.Type)
		}
		s, e := p.Start.UTC().Truncate(time.Second), p.End.UTC().Truncate(time.Second)
		if !writable(s) || !writable(e) {
			return nil, fmt.Errorf("freebusy: period %d is outside the years 0000 to 9999", i)
		}
		if !e.After(s) {
			return nil, fmt.Errorf("freebusy: period %d (%s to %s) is empty", i, p.Start.Format(time.RFC3339), p.End.Format(time.RFC3339))
		}
		line = append(append(append(line, "FREEBUSY;FBTYPE="...), typ...), ':')
		line = e.AppendFormat(append(s.AppendFormat(line, ical.UTCLayout), '/'), ical.UTCLayout)
		put()
	}
	b = append(b, "END:VFREEBUSY\r\nEND:VCALENDAR\r\n"...)
	return b, nil
}

// writable reports whether t fits the four-digit year of an iCalendar DATE-TIME.
func writable(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 0 && y <= 9999
}

// organizerURI is the calendar address of an organizer: a URI as given, or a bare address as a mailto URI.
func organizerURI(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("freebusy: no organizer")
	}
	for _, r := range s {
		if r < 0x21 || r == 0x7f {
			return "", fmt.Errorf("freebusy: organizer %q: white space or control character", s)
		}
	}
	if !strings.Contains(s, ":") {
		s = "mailto:" + s
	}
	return s, nil
}

// escapeText is a TEXT value (RFC 5545 §3.3.11) of one line.
func escapeText(s string) (string, error) {
	if err := checkText(s, false); err != nil {
		return "", err
	}
	return ical.EscapeText(s), nil
}

// paramValue is a quoted parameter value; newlines are kept, in RFC 6868 caret encoding.
func paramValue(s string) (string, error) {
	if err := checkText(s, true); err != nil {
		return "", err
	}
	return ical.QuotedParamValue(s), nil
}

func checkText(s string, newline bool) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%q is not UTF-8", s)
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && !(newline && r == '\n') || r == 0x7f {
			return fmt.Errorf("%q holds a control character", s)
		}
	}
	return nil
}
