package calobject

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// kolabEventType is the X-Kolab-Type of an event, and the media type of its Kolab 2 XML part.
const kolabEventType = "application/x-vnd.kolab.event"

// part kinds, in the order Read prefers them when a message has several: the Kolab object a Kolab client
// reads, then an iCalendar part by type, then one recognised only by its file name.
const (
	kindXCal = iota
	kindKolab2
	kindICal
	kindICSFile
	numKinds
)

// Read reads the events of one message as stored in an IMAP calendar folder: a Kolab v3 object (xCal in
// an application/calendar+xml part), a Kolab v2 object (an application/x-vnd.kolab.event part), or plain
// iCalendar (a text/calendar part anywhere in the MIME tree, a whole text/calendar message, or an .ics
// attachment). Transfer encodings and charsets are undone. Raw iCalendar or Kolab XML without a message
// around it is accepted too.
//
// A message with no calendar object (an ordinary mail, a Kolab task or contact) gives an error wrapping
// ErrNoCalendarObject. A malformed object gives *ParseError values as the Parse functions describe them;
// as there, the events of other UIDs in the same object are returned beside the error.
func Read(msg []byte) ([]*Event, error) {
	head := bytes.TrimLeft(bytes.TrimPrefix(msg, []byte("\xEF\xBB\xBF")), " \t\r\n")
	switch {
	case hasPrefixFold(head, "BEGIN:VCALENDAR"):
		return ParseICalendar(msg)
	case len(head) > 0 && head[0] == '<':
		return readXML(msg)
	}
	top := parseEntity(msg)
	if top.kolabType != "" && top.kolabType != kolabEventType {
		return nil, fmt.Errorf("%s: the message is a Kolab object of type %s, not an event: %w", FormatMIME, top.kolabType, ErrNoCalendarObject)
	}
	var found [numKinds]*entity
	count := 0
	leaves(top, 0, &count, func(e entity) {
		k := classify(e)
		if k >= 0 && found[k] == nil {
			found[k] = &e
		}
	})
	for k, e := range found {
		if e != nil {
			return readPart(*e, k)
		}
	}
	if top.kolabType == kolabEventType {
		return nil, &ParseError{Format: FormatMIME, Property: "X-Kolab-Type",
			Err: errors.New("the message is a Kolab event but has no application/calendar+xml or application/x-vnd.kolab.event part")}
	}
	if top.mediaType == "text/plain" && hasPrefixFold(bytes.TrimLeft(top.body, " \t\r\n"), "BEGIN:VCALENDAR") {
		return readPart(top, kindICal) // a calendar stored without its media type
	}
	return nil, fmt.Errorf("%s: the message has no calendar part (text/calendar, application/calendar+xml, %s or an .ics file): %w",
		FormatMIME, kolabEventType, ErrNoCalendarObject)
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}

// classify is the kind of calendar part e is, or -1.
func classify(e entity) int {
	switch e.mediaType {
	case "application/calendar+xml":
		return kindXCal
	case kolabEventType:
		return kindKolab2
	case "text/calendar", "application/ics", "text/x-ical":
		return kindICal
	}
	if n := strings.ToLower(strings.TrimSpace(e.filename)); strings.HasSuffix(n, ".ics") || strings.HasSuffix(n, ".ical") {
		if strings.HasPrefix(e.mediaType, "application/") || e.mediaType == "text/plain" {
			return kindICSFile
		}
	}
	return -1
}

func readPart(e entity, kind int) ([]*Event, error) {
	data, err := decodeBody(e)
	if err != nil {
		return nil, &ParseError{Format: FormatMIME, Property: "Content-Transfer-Encoding", Err: fmt.Errorf("%s part: %w", e.mediaType, err)}
	}
	cs := e.params["charset"]
	if kind == kindICal || kind == kindICSFile {
		if data, err = toUTF8(data, cs); err != nil {
			return nil, &ParseError{Format: FormatMIME, Property: "Content-Type", Err: fmt.Errorf("%s part: %w", e.mediaType, err)}
		}
		return ParseICalendar(data)
	}
	var src string
	if cs != "" && !isUTF8Name(cs) {
		conv, err := toUTF8(data, cs)
		if err != nil {
			return nil, &ParseError{Format: FormatMIME, Property: "Content-Type", Err: fmt.Errorf("%s part: %w", e.mediaType, err)}
		}
		src = string(conv)
	} else if src, err = xmlText(data); err != nil {
		format := FormatXCal
		if kind == kindKolab2 {
			format = FormatKolab2
		}
		return nil, &ParseError{Format: format, Err: err}
	}
	if kind == kindXCal {
		return parseXCal(src)
	}
	return parseKolab2(src)
}

// readXML reads a Kolab XML document given without its message: the root element decides the format.
func readXML(data []byte) ([]*Event, error) {
	src, err := xmlText(data)
	if err != nil {
		return nil, &ParseError{Format: FormatXCal, Err: err}
	}
	doc, err := parseXML(src)
	if err != nil {
		return nil, &ParseError{Format: FormatXCal, Err: fmt.Errorf("not well-formed XML: %w", err)}
	}
	if doc.root().name == "icalendar" {
		return parseXCal(src)
	}
	return parseKolab2(src)
}
