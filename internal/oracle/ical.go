package oracle

import (
	"testing"
	"time"
)

// ICalResult is what icalendar 4 (Calendar.from_ical) and dateutil read from one iCalendar document.
type ICalResult struct {
	Error      string          `json:"error"`
	LongLines  int             `json:"long_lines"` // content lines over 75 octets (RFC 5545 §3.1)
	BareLF     int             `json:"bare_lf"`
	Components []ICalComponent `json:"components"` // every component of Calendar.walk(), the VCALENDAR first
	// TimeZones are the TZIDs of the VTIMEZONE components dateutil.tz.tzical could read; MissingTimeZones the
	// TZIDs used by DTSTART, EXDATE or RECURRENCE-ID values without one.
	TimeZones        []string `json:"timezones"`
	MissingTimeZones []string `json:"missing_timezones"`
	// Instances are the occurrences of every VEVENT/VTODO/VJOURNAL series inside the window, expanded with
	// dateutil.rrule.rrulestr from the document's own VTIMEZONE rules, with EXDATE and RDATE applied and each
	// RECURRENCE-ID override replacing its instance. OrphanOverrides are overrides matching no instance.
	Instances       []ICalInstance `json:"instances"`
	OrphanOverrides []string       `json:"orphan_overrides"`
}

type ICalComponent struct {
	Name  string     `json:"name"`
	Props []ICalProp `json:"props"`
}

// ICalProp: Value is the property's iCalendar form as icalendar re-serialises it, Text the decoded (unescaped)
// text of TEXT properties and the joined values of CATEGORIES.
type ICalProp struct {
	Name   string            `json:"name"`
	Params map[string]string `json:"params"`
	Value  string            `json:"value"`
	Text   string            `json:"text"`
}

// ICalInstance: Start is "2006-01-02T15:04:05Z" (UTC, through the VTIMEZONE), "2006-01-02" for dates, or
// local "2006-01-02T15:04:05" for floating times. RecurrenceID is set for an overridden instance.
type ICalInstance struct {
	UID          string `json:"uid"`
	Start        string `json:"start"`
	Summary      string `json:"summary"`
	RecurrenceID string `json:"recurrence_id"`
}

// Props are the named component's properties with the given name, from the first such component.
func (r ICalResult) Props(component, name string) []ICalProp {
	for _, c := range r.Components {
		if c.Name != component {
			continue
		}
		var out []ICalProp
		for _, p := range c.Props {
			if p.Name == name {
				out = append(out, p)
			}
		}
		return out
	}
	return nil
}

// ICalendar parses every document and expands its recurrences in [windowStart, windowEnd].
func ICalendar(tb testing.TB, docs [][]byte, windowStart, windowEnd time.Time) []ICalResult {
	tb.Helper()
	var res []ICalResult
	run(tb, "ical", map[string]any{
		"docs":         docs,
		"window_start": windowStart.UTC().Format(time.RFC3339),
		"window_end":   windowEnd.UTC().Format(time.RFC3339),
	}, &res)
	checkCount(tb, "ical", len(res), len(docs))
	return res
}

// FreeBusy returns the FREEBUSY properties of the first VFREEBUSY as icalendar read them, one string per
// property: "FBTYPE start/end" (FBTYPE BUSY when the parameter is absent), in document order. icalendar
// rejects comma-separated period lists, so a document using them shows up as the result's Error instead.
func (r ICalResult) FreeBusy() []string {
	var out []string
	for _, p := range r.Props("VFREEBUSY", "FREEBUSY") {
		t := p.Params["FBTYPE"]
		if t == "" {
			t = "BUSY"
		}
		out = append(out, t+" "+p.Value)
	}
	return out
}
