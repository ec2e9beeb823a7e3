package calobject

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/ical"
)

// Formats of an Object beside those of ParseError.
const (
	FormatVCard = "vCard"
	FormatXCard = "xCard"
	FormatNote  = "Kolab note"
)

// Object is one stored groupware object opened for a read-modify-write, as sync does it: read it, change
// a few properties, write it back under the same UID. Everything it does not change comes back as it was:
// X- and unknown IANA properties with their parameters, VALARM, VTIMEZONE and other sub-components in
// iCalendar and vCard (kept by package ical's component tree); elements, attributes and comments it has
// no schema for in Kolab v3 (xCal, xCard, notes) and Kolab v2 XML. groupware.WriteStored writes the message
// around Body again.
//
// Property names are those of iCalendar and vCard ("SUMMARY", "DTSTART", "FN"); in xCal and xCard they
// are the same names in lower case (RFC 6321 §3.4, RFC 6351 §4), in Kolab v2 the element of the same
// meaning (kolab2Names).
type Object struct {
	Format    string // FormatICalendar, FormatVCard, FormatXCal, FormatXCard, FormatNote or FormatKolab2
	KolabType string // the message's X-Kolab-Type ("application/x-vnd.kolab.event"); "" for plain iCalendar
	MediaType string // of the part that holds the object
	Filename  string // of that part, "" when it has none
	// Attachments are the message's other parts (Kolab attachments referenced by cid: URLs, files of a
	// plain invitation), decoded; the human-readable text/plain part is not among them.
	Attachments []Attachment

	cal []*ical.Component // iCalendar, vCard
	doc *tnode            // the XML formats
}

// Attachment is one MIME part kept for the rewrite.
type Attachment struct {
	MediaType string
	Filename  string
	ContentID string // without angle brackets
	Body      []byte
}

// kolab2Names are the Kolab v2 elements of iCalendar properties (Kolab XML format 2.0, "event", "task",
// "note", "contact").
var kolab2Names = map[string]string{
	"SUMMARY": "summary", "DESCRIPTION": "body", "LOCATION": "location", "DTSTART": "start-date",
	"DTEND": "end-date", "DUE": "due-date", "UID": "uid", "CREATED": "creation-date",
	"LAST-MODIFIED": "last-modification-date", "CLASS": "sensitivity", "CATEGORIES": "categories",
	"PRODID": "product-id", "FN": "full-name",
}

// OpenObject reads one message as stored in a groupware folder (or bare iCalendar, vCard or Kolab XML).
func OpenObject(msg []byte) (*Object, error) {
	head := bytes.TrimLeft(bytes.TrimPrefix(msg, []byte("\xEF\xBB\xBF")), " \t\r\n")
	switch {
	case hasPrefixFold(head, "BEGIN:"):
		return openText(&Object{}, msg)
	case len(head) > 0 && head[0] == '<':
		return openXML(&Object{}, msg, "")
	}
	top := parseEntity(msg)
	o := &Object{KolabType: top.kolabType}
	var object *entity
	count := 0
	var others []entity
	leaves(top, 0, &count, func(e entity) {
		if object == nil && objectPart(e, top.kolabType != "") {
			object = &e
			return
		}
		others = append(others, e)
	})
	if object == nil {
		return nil, fmt.Errorf("%s: the message has no groupware object part: %w", FormatMIME, ErrNoCalendarObject)
	}
	for _, e := range others {
		if e.mediaType == "text/plain" && e.filename == "" {
			continue // the explanation or summary for mail clients, written anew
		}
		body, err := decodeBody(e)
		if err != nil {
			return nil, &ParseError{Format: FormatMIME, Property: "Content-Transfer-Encoding", Err: fmt.Errorf("%s part: %w", e.mediaType, err)}
		}
		o.Attachments = append(o.Attachments, Attachment{MediaType: e.mediaType, Filename: e.filename, ContentID: e.contentID, Body: body})
	}
	o.MediaType, o.Filename = object.mediaType, object.filename
	data, err := decodeBody(*object)
	if err != nil {
		return nil, &ParseError{Format: FormatMIME, Property: "Content-Transfer-Encoding", Err: fmt.Errorf("%s part: %w", object.mediaType, err)}
	}
	cs := object.params["charset"]
	if strings.HasSuffix(object.mediaType, "xml") || strings.HasPrefix(object.mediaType, "application/x-vnd.kolab.") {
		if cs != "" && !isUTF8Name(cs) {
			if data, err = toUTF8(data, cs); err != nil {
				return nil, &ParseError{Format: FormatMIME, Property: "Content-Type", Err: err}
			}
		}
		return openXML(o, data, object.mediaType)
	}
	if data, err = toUTF8(data, cs); err != nil {
		return nil, &ParseError{Format: FormatMIME, Property: "Content-Type", Err: err}
	}
	return openText(o, data)
}

// objectPart reports whether e holds the groupware object: a Kolab XML part, or an iCalendar or vCard part.
func objectPart(e entity, kolab bool) bool {
	switch e.mediaType {
	case "application/calendar+xml", "application/vcard+xml", "application/vnd.kolab+xml",
		"text/calendar", "application/ics", "text/vcard", "text/x-vcard", "text/directory":
		return true
	}
	return kolab && strings.HasPrefix(e.mediaType, "application/x-vnd.kolab.")
}

func openText(o *Object, data []byte) (*Object, error) {
	comps, err := ical.Parse(data)
	if err != nil {
		return nil, &ParseError{Format: FormatICalendar, Err: err}
	}
	o.cal = comps
	o.Format = FormatICalendar
	if comps[0].Name == "VCARD" {
		o.Format = FormatVCard
	}
	if o.main() == nil {
		return nil, &ParseError{Format: o.Format, Err: fmt.Errorf("no VEVENT, VTODO, VJOURNAL or VCARD: %w", ErrNoCalendarObject)}
	}
	return o, nil
}

func openXML(o *Object, data []byte, mediaType string) (*Object, error) {
	src, err := xmlText(data)
	if err != nil {
		return nil, &ParseError{Format: FormatXCal, Err: err}
	}
	doc, err := parseTree(src)
	if err != nil {
		return nil, &ParseError{Format: FormatXCal, Err: fmt.Errorf("not well-formed XML: %w", err)}
	}
	o.doc = doc
	switch root := doc.root().name.Local; {
	case root == "icalendar":
		o.Format = FormatXCal
	case root == "vcards":
		o.Format = FormatXCard
	case root == "note" && mediaType == "application/vnd.kolab+xml":
		o.Format = FormatNote
	default:
		o.Format = FormatKolab2
	}
	if o.xmlProps() == nil {
		return nil, &ParseError{Format: o.Format, Err: fmt.Errorf("no object in the XML: %w", ErrNoCalendarObject)}
	}
	return o, nil
}

// main is the component the object is about: the first VEVENT, VTODO or VJOURNAL without RECURRENCE-ID
// (the series, not a modified instance), or the first VCARD.
func (o *Object) main() *ical.Component {
	var first *ical.Component
	for _, top := range o.cal {
		if top.Name == "VCARD" {
			return top
		}
		for _, c := range top.Components {
			if c.Name == "VEVENT" || c.Name == "VTODO" || c.Name == "VJOURNAL" {
				if c.Get("RECURRENCE-ID") == nil {
					return c
				}
				if first == nil {
					first = c
				}
			}
		}
	}
	return first
}

// xmlProps is the element whose children are the object's properties.
func (o *Object) xmlProps() *tnode {
	root := o.doc.root()
	switch o.Format {
	case FormatXCal:
		comps := root.child("vcalendar")
		if comps != nil {
			comps = comps.child("components")
		}
		if comps == nil {
			return nil
		}
		for _, c := range comps.elements() {
			if c.name.Local == "vevent" || c.name.Local == "vtodo" || c.name.Local == "vjournal" {
				return c.child("properties")
			}
		}
		return nil
	case FormatXCard:
		return root.child("vcard")
	}
	return root
}

// xmlProp is the element of a property, or nil.
func (o *Object) xmlProp(name string) *tnode {
	return o.xmlProps().child(o.xmlName(name))
}

func (o *Object) xmlName(name string) string {
	name = ical.Upper(name)
	if o.Format == FormatKolab2 || o.Format == FormatNote {
		if n, ok := kolab2Names[name]; ok {
			return n
		}
	}
	return strings.ToLower(name)
}

// xmlValue is the value element of an xCal or xCard property (its first child other than parameters), or
// the property element itself in Kolab v2 and notes.
func (o *Object) xmlValue(prop *tnode) *tnode {
	if o.Format != FormatXCal && o.Format != FormatXCard {
		return prop
	}
	for _, c := range prop.elements() {
		if c.name.Local != "parameters" {
			return c
		}
	}
	return nil
}

// UID is the object's UID.
func (o *Object) UID() string {
	v, _ := o.Get("UID")
	return strings.TrimSpace(v)
}

// Get is a property's value: TEXT unescaped in iCalendar and vCard, the value element's text in XML.
func (o *Object) Get(name string) (string, bool) {
	if o.doc != nil {
		p := o.xmlProp(name)
		if p == nil {
			return "", false
		}
		if v := o.xmlValue(p); v != nil {
			return v.textContent(), true
		}
		return "", true
	}
	p := o.main().Get(ical.Upper(name))
	if p == nil {
		return "", false
	}
	return ical.UnescapeText(p.Value), true
}

// SetText sets a text property (SUMMARY, DESCRIPTION, LOCATION, FN, …), keeping its parameters. A
// property the object does not have is added after the others: in Kolab v3, whose schema fixes the order
// of properties, set only those the object has.
func (o *Object) SetText(name, text string) {
	if o.doc == nil {
		o.main().SetText(name, text)
		return
	}
	o.setXML(name, "text", text)
}

// SetTextAfter is SetText for a property the object may not have, placed where a schema that orders the
// properties wants it: a new XML property goes right after property after (when the object has it), as
// Kolab v3 orders DESCRIPTION after SUMMARY. In iCalendar and vCard, order does not matter.
func (o *Object) SetTextAfter(name, text, after string) {
	if o.doc == nil || o.xmlProp(name) != nil || o.xmlProp(after) == nil {
		o.SetText(name, text)
		return
	}
	props := o.xmlProps()
	anchor := o.xmlProp(after)
	p := props.add(o.xmlName(name))
	props.children = props.children[:len(props.children)-1]
	i := slices.Index(props.children, anchor)
	props.children = slices.Insert(props.children, i+1, p)
	p.add("text").setText(text)
}

// setXML sets the value of an XML property; valueType names the value element a new property gets.
func (o *Object) setXML(name, valueType, value string) {
	props := o.xmlProps()
	p := props.child(o.xmlName(name))
	if p == nil {
		p = props.add(o.xmlName(name))
	}
	v := o.xmlValue(p)
	if v == nil {
		v = p.add(valueType)
	}
	if (o.Format == FormatXCal || o.Format == FormatXCard) && valueType != "text" {
		v.name.Local = valueType // a DATE may become a DATE-TIME and back
	}
	v.setText(value)
}

// SetTime sets a DATE or DATE-TIME property (DTSTART, DTEND, DUE, RECURRENCE-ID). A TZID the property has
// stays unless t is UTC or a DATE: t is the wall-clock time in that zone.
func (o *Object) SetTime(name string, t ical.DateTime) error {
	if err := t.Check(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if o.doc != nil {
		typ := "date-time"
		if t.Date {
			typ = "date"
		}
		if p := o.xmlProp(name); p != nil && (t.Date || t.UTC) {
			if params := p.child("parameters"); params != nil {
				params.children = slicesDeleteTZID(params.children)
			}
		}
		o.setXML(name, typ, t.Extended())
		return nil
	}
	m := o.main()
	p := m.Get(ical.Upper(name))
	if p == nil {
		m.Set(name, t.String())
		p = m.Get(ical.Upper(name))
	}
	p.Value = t.String()
	kept := p.Params[:0]
	for _, prm := range p.Params {
		if prm.Name == "VALUE" || prm.Name == "TZID" && (t.Date || t.UTC) {
			continue
		}
		kept = append(kept, prm)
	}
	p.Params = kept
	if t.Date {
		p.SetParam("VALUE", "DATE")
	}
	return nil
}

func slicesDeleteTZID(ns []*tnode) []*tnode {
	out := ns[:0]
	for _, n := range ns {
		if n.name.Local != "tzid" {
			out = append(out, n)
		}
	}
	return out
}

// Touch records a change made at now: SEQUENCE one higher, LAST-MODIFIED and DTSTAMP now (RFC 5545
// §3.8.7); REV for a vCard (RFC 6350 §6.7.4); last-modification-date in Kolab v2.
func (o *Object) Touch(now time.Time) error {
	stamp := ical.DateTime{Year: now.UTC().Year(), Month: int(now.UTC().Month()), Day: now.UTC().Day(),
		Hour: now.UTC().Hour(), Minute: now.UTC().Minute(), Second: now.UTC().Second(), UTC: true}
	switch o.Format {
	case FormatVCard:
		o.main().Set("REV", stamp.String())
		return nil
	case FormatXCard:
		o.setXML("REV", "timestamp", stamp.String())
		return nil
	case FormatKolab2, FormatNote:
		o.setXML("LAST-MODIFIED", "", stamp.Extended())
		return nil
	}
	seq := 0
	if v, ok := o.Get("SEQUENCE"); ok && strings.TrimSpace(v) != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return fmt.Errorf("SEQUENCE %q is not a non-negative integer", v)
		}
		seq = n
	}
	if o.doc != nil {
		// libkolabxml's schema orders the properties: only those present are changed (libkolabxml writes
		// sequence and dtstamp, its last-modification time, always).
		for _, p := range [...]struct{ name, typ, value string }{
			{"SEQUENCE", "integer", strconv.Itoa(seq + 1)},
			{"LAST-MODIFIED", "date-time", stamp.Extended()},
			{"DTSTAMP", "date-time", stamp.Extended()},
		} {
			if o.xmlProp(p.name) != nil {
				o.setXML(p.name, p.typ, p.value)
			}
		}
		return nil
	}
	m := o.main()
	m.Set("SEQUENCE", strconv.Itoa(seq+1))
	m.Set("LAST-MODIFIED", stamp.String())
	m.Set("DTSTAMP", stamp.String())
	return nil
}

// Component is the iCalendar or vCard component the object is about, for changes Get and Set do not cover;
// nil for the XML formats.
func (o *Object) Component() *ical.Component {
	if o.doc != nil {
		return nil
	}
	return o.main()
}

// Body is the object as it is to be stored: iCalendar or vCard text with CRLF line ends, or the XML.
func (o *Object) Body() []byte {
	if o.doc == nil {
		return ical.Encode(o.cal...)
	}
	var b bytes.Buffer
	o.doc.encode(&b)
	return b.Bytes()
}
