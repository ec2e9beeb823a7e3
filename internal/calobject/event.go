package calobject

import "time"

// Time is one DTSTART, DTEND, RECURRENCE-ID, RDATE or EXDATE value.
type Time struct {
	// T is the value. For a zoned DATE-TIME its location is the zone; for UTC it is time.UTC; for a
	// floating DATE-TIME or a DATE it holds the wall-clock fields in time.UTC and Floating or AllDay is set.
	T time.Time
	// AllDay marks a DATE value (only T's year, month and day count).
	AllDay bool
	// Floating marks a DATE-TIME without zone (RFC 5545 §3.3.5 form #1).
	Floating bool
}

// IsZero reports whether the value is unset.
func (t Time) IsZero() bool { return t.T.IsZero() }

// RDate is one extra instance of a recurring event: a start, and for an RDATE of VALUE=PERIOD its own end.
type RDate struct {
	Start Time
	End   Time // zero: the instance lasts as long as the series' first instance
}

// Event is one VEVENT (or its Kolab form), with the overrides of its instances found in the same object.
type Event struct {
	UID     string
	Summary string // for messages about the event only

	Start Time
	// End is DTEND; when the source gave a DURATION instead, End is zero and Duration is set. Both unset
	// means RFC 5545's default: a DATE start lasts one day, a DATE-TIME start takes no time. An all-day End
	// is always the day after the last day, as RFC 5545 counts: sources that store the last day itself
	// (Kolab v2, Kolab v3 written through libkolabxml, a DTEND equal to DTSTART) are converted.
	End      Time
	Duration time.Duration

	// Status is the upper-cased STATUS value: "TENTATIVE", "CONFIRMED", "CANCELLED" or "".
	Status string
	// Transparent is TRANSP:TRANSPARENT.
	Transparent bool
	// BusyStatus is Outlook's "show as", upper-cased as X-MICROSOFT-CDO-BUSYSTATUS spells it: "BUSY",
	// "FREE", "TENTATIVE", "OOF", "WORKINGELSEWHERE", or "" when the object does not say. Kolab v2's
	// show-time-as is mapped onto these (outofoffice → OOF).
	BusyStatus string

	// RRule is the RRULE value in RFC 5545 syntax ("FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20270101T000000Z"),
	// whatever the source format; "" for a single event. Kolab v2 and xCal rules are converted to it.
	RRule  string
	RDates []RDate
	// ExDates are the original starts of removed instances. A date (AllDay) against a timed Start removes
	// the instance that starts on that day: Kolab v2 exclusions are dates, and some iCalendar writers do the
	// same.
	ExDates []Time
	// ExpandInReaderZone says the recurrence is defined in the wall clock of whoever reads it, not in
	// Start's location: Kolab v2 stores UTC instants and its clients expand rules in their own zone. Start
	// is then to be moved into the reader's zone before expanding; the RRULE's UNTIL of a timed event is
	// the floating end of the range's last day ("UNTIL=20270101T235959") and ExDates are dates, both in that
	// wall clock.
	ExpandInReaderZone bool

	// RecurrenceID is set on an override: the original start of the instance it replaces.
	RecurrenceID Time
	// ThisAndFuture is RANGE=THISANDFUTURE on the RECURRENCE-ID.
	ThisAndFuture bool
	// Overrides are the modified instances of this (recurring) event carried in the same object.
	Overrides []*Event
}
