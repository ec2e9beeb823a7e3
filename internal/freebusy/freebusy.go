// Package freebusy turns calendar events into the busy periods of a time window and writes them as an
// iCalendar VFREEBUSY (RFC 5545 §3.6.4), the .vfb file Outlook reads for other people's free/busy.
//
// The busy rules are those of CalDAV's free-busy-query (RFC 4791 §7.10) as Cyrus implements them, plus
// Outlook's X-MICROSOFT-CDO-BUSYSTATUS:
//
//   - transparent (TRANSP:TRANSPARENT), cancelled (STATUS:CANCELLED) and "show as free" events take no time;
//   - "out of office" is BUSY-UNAVAILABLE, tentative (STATUS or show-as) is BUSY-TENTATIVE, anything else BUSY;
//   - recurring events are expanded inside the window with RRULE, RDATE and EXDATE; an instance with an
//     override (RECURRENCE-ID) is replaced by the override, and RANGE=THISANDFUTURE overrides carry their
//     time shift and properties to every later instance; an override counts on its own, also when its
//     master is cancelled or cannot be read;
//   - periods are clipped to the window and merged in UTC; where they overlap the strongest type wins
//     (BUSY-UNAVAILABLE over BUSY over BUSY-TENTATIVE).
//
// The package has no Kubernetes imports, reads no clock and opens no connection: the same events and
// Options always give the same bytes.
package freebusy

import (
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/calobject"
)

// Type is a FBTYPE value.
type Type string

// The FBTYPE values Compute produces, and FREE, which Parse may read from other producers' files.
const (
	Busy        Type = "BUSY"
	Tentative   Type = "BUSY-TENTATIVE"
	Unavailable Type = "BUSY-UNAVAILABLE"
	Free        Type = "FREE"
)

// Period is one busy interval, [Start, End) in UTC.
type Period struct {
	Start, End time.Time
	Type       Type
}

// Options are the window and the identity of a free/busy document.
type Options struct {
	// Start and End are the window; End is exclusive.
	Start, End time.Time
	// Location is the reader's time zone: it places floating times, all-day dates and rules that Kolab 2
	// clients expand in their own zone (calobject.Event.ExpandInReaderZone) on the time line. nil is UTC.
	Location *time.Location
	// Organizer is the owner's calendar address, "mailto:alice@example.test" or a bare address (then
	// "mailto:" is added).
	Organizer string
	// OrganizerName is the optional CN of the organizer.
	OrganizerName string
	// Stamp is DTSTAMP; zero means Start, so that the output depends on the inputs only.
	Stamp time.Time
	// ProductID is PRODID; "" means DefaultProductID.
	ProductID string
	// UID is the VFREEBUSY's UID, which RFC 5545 requires; "" derives one from the organizer, the same for
	// every publication of the same calendar.
	UID string
}

// DefaultProductID is the PRODID written when Options.ProductID is empty.
const DefaultProductID = "-//mailshift//free-busy//EN"

// DefaultWindow is the window published when none is configured: from 7 days before now to 60 days after
// (Outlook's own default is two months ahead), both ends at 00:00 UTC of their day, so that the window,
// and with it the file, stays the same all day.
func DefaultWindow(now time.Time) (start, end time.Time) { return Window(now, 7, 60) }

// Window is the window from daysBack days before now to daysAhead days after, both ends at 00:00 UTC.
func Window(now time.Time, daysBack, daysAhead int) (start, end time.Time) {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d-daysBack, 0, 0, 0, 0, time.UTC), time.Date(y, m, d+daysAhead, 0, 0, 0, 0, time.UTC)
}

// Problem is an event that could not be expanded, or not completely (a bad RRULE, an end before its start).
// Compute reports every such event instead of dropping it silently; what could be placed on the time line
// still counts.
type Problem struct {
	UID, Summary string
	Err          error
}

func (p Problem) Error() string { return "event " + p.UID + ": " + p.Err.Error() }

// rank orders the types for merging: a higher rank wins where periods overlap.
type rank int8

const (
	rankTentative rank = iota
	rankBusy
	rankUnavailable
	numRanks
)

var rankTypes = [numRanks]Type{Tentative, Busy, Unavailable}

// classify maps an event's STATUS, TRANSP and Outlook busy status to the rank of its busy time; ok is false
// when the event takes no time.
//
// X-MICROSOFT-CDO-BUSYSTATUS:WORKINGELSEWHERE is BUSY. VFREEBUSY has no type for it, and the slot is
// claimed by a confirmed appointment: publishing it as free would invite meetings into it, and
// BUSY-TENTATIVE would say the appointment itself is unsure, which it is not.
func classify(status string, transparent bool, busyStatus string) (r rank, ok bool) {
	if transparent || strings.EqualFold(status, "CANCELLED") || strings.EqualFold(busyStatus, "FREE") {
		return 0, false
	}
	switch {
	case strings.EqualFold(busyStatus, "OOF"):
		return rankUnavailable, true
	case strings.EqualFold(status, "TENTATIVE") || strings.EqualFold(busyStatus, "TENTATIVE"):
		return rankTentative, true
	}
	return rankBusy, true
}

// Compute returns the merged busy periods of events inside the window of opt, sorted by start, and the
// events it could not expand. An empty or inverted window has no periods.
func Compute(events []*calobject.Event, opt Options) (periods []Period, problems []Problem) {
	if !opt.End.After(opt.Start) {
		return nil, nil
	}
	c := newComputer(opt)
	for _, ev := range events {
		if ev != nil {
			c.addEvent(ev)
		}
	}
	return merge(c.raw), c.problems
}
