package calobject

import (
	"errors"
	"fmt"
	"strings"
)

// built is one component as read: its event, or why it could not be read.
type built struct {
	ev  *Event
	uid string
	err error
}

// group attaches overrides to their series and collects the errors. An object is read whole or not at all:
// when any component of a UID fails, every component of that UID is left out (a series without its moved
// instance, or an instance without its series, would publish wrong times), and the error says why. The
// events of other UIDs are returned beside the error.
func group(format string, items []built) ([]*Event, error) {
	var errs []error
	failed := map[string]bool{}
	for _, it := range items {
		if it.err != nil {
			errs = append(errs, it.err)
			if it.uid != "" {
				failed[it.uid] = true
			}
		}
	}
	masters := map[string]*Event{}
	for _, it := range items {
		if it.err == nil && it.ev.RecurrenceID.IsZero() && it.uid != "" && !failed[it.uid] {
			if _, dup := masters[it.uid]; !dup {
				masters[it.uid] = it.ev
			}
		}
	}
	var out []*Event
	for _, it := range items {
		if it.err != nil || failed[it.uid] && it.uid != "" {
			continue
		}
		if !it.ev.RecurrenceID.IsZero() {
			if m := masters[it.uid]; m != nil {
				m.Overrides = append(m.Overrides, it.ev)
				continue
			}
		}
		out = append(out, it.ev)
	}
	switch {
	case len(errs) == 1:
		return out, errs[0]
	case len(errs) > 1:
		return out, errors.Join(errs...)
	case len(out) == 0:
		return nil, fmt.Errorf("%s: the document has no event: %w", format, ErrNoCalendarObject)
	}
	return out, nil
}

// checkSpan rejects an end before the start. Values of different kinds (a floating end for a zoned start)
// cannot be compared without the reader's zone and are left to the reader.
func checkSpan(ev *Event) error {
	if ev.End.IsZero() {
		if ev.Duration < 0 {
			return fmt.Errorf("is negative (%s)", ev.Duration)
		}
		return nil
	}
	s, e := ev.Start, ev.End
	comparable := s.AllDay == e.AllDay && s.Floating == e.Floating
	if comparable && e.T.Before(s.T) {
		return fmt.Errorf("%s is before the start %s", describe(e), describe(s))
	}
	return nil
}

// allDayEnd turns an inclusive all-day end into the exclusive one of the model. An end on the start day
// itself is always read as that one day: RFC 5545 requires DTEND to be later, and writers that put the last
// day there mean a one-day event, not an empty one.
func allDayEnd(ev *Event, inclusive bool) {
	if !ev.Start.AllDay || !ev.End.AllDay {
		return
	}
	if inclusive || ev.End.T.Equal(ev.Start.T) {
		ev.End.T = ev.End.T.AddDate(0, 0, 1)
	}
}

// describe is a value as a person would check it against the source.
func describe(t Time) string {
	switch {
	case t.AllDay:
		return t.T.Format("2006-01-02")
	case t.Floating:
		return t.T.Format("2006-01-02T15:04:05") + " (floating)"
	}
	return t.T.Format("2006-01-02T15:04:05 MST") + " (" + t.T.Location().String() + ")"
}

// clone copies a string out of the document, so that events do not keep a whole message alive (the caller
// may also reuse its buffer).
func clone(s string) string { return strings.Clone(s) }
