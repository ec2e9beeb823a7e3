package convert

import (
	"time"

	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/oxocal"
	"github.com/mailshift/mailshift/internal/pst"
)

// recurrence fills the series' rule, its deleted instances and its modified instances from
// PidLidAppointmentRecur. A modified instance takes what its exception record overrides (subject, location,
// times, busy status, reminder, all-day) and, when the instance has a body of its own, the body of the
// exception message embedded in the series.
func (c *Converter) recurrence(m *pst.Message, ev *groupware.Event, blob []byte, loc *time.Location, tzid string, allDay bool, id identity, res *Result) error {
	pattern, err := oxocal.ParseAppointmentRecurrenceInCodePage(blob, m.CodePage)
	if err != nil {
		return err
	}
	// The blob's dates are wall-clock times of the series' zone. All-day series are read as plain dates.
	seriesLoc := loc
	if allDay {
		seriesLoc = time.UTC
	}
	rec, overrides, err := pattern.Recurrence(seriesLoc)
	if err != nil {
		return err
	}
	ev.Recurrence = &rec
	bodies := c.exceptionMessages(m)
	at := func(t time.Time, day bool) groupware.DateTime {
		if day {
			return groupware.DateTime{Time: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), AllDay: true}
		}
		return groupware.DateTime{Time: t, TZID: tzid}
	}
	for _, o := range overrides {
		info := o.Info
		x := groupware.Event{
			Common: groupware.Common{UID: ev.UID, Summary: ev.Summary, Description: ev.Description, Categories: ev.Categories,
				Class: ev.Class, Created: ev.Created, LastModified: ev.LastModified, ProductID: ev.ProductID},
			Location: ev.Location, Busy: ev.Busy, Status: ev.Status, Priority: ev.Priority, Sequence: ev.Sequence,
			Organizer: ev.Organizer, Attendees: ev.Attendees, Alarms: ev.Alarms,
		}
		day := allDay
		if info.OverrideFlags.Has(oxocal.OverrideSubType) {
			day = info.SubType
		}
		x.Start, x.End = at(o.Start, day), at(o.End, day)
		if info.OverrideFlags.Has(oxocal.OverrideSubject) {
			x.Summary = info.Subject
		}
		if info.OverrideFlags.Has(oxocal.OverrideLocation) {
			x.Location = info.Location
		}
		if info.OverrideFlags.Has(oxocal.OverrideBusyStatus) {
			x.Busy = busyStatus(int64(info.BusyStatus), true)
		}
		if info.OverrideFlags.Has(oxocal.OverrideReminder) {
			x.Alarms = nil
			if info.ReminderSet {
				delta := int64(info.ReminderDelta)
				if info.OverrideFlags.Has(oxocal.OverrideReminderDelta) == false && len(ev.Alarms) > 0 {
					delta = int64(ev.Alarms[0].Before / time.Minute)
				}
				x.Alarms = []groupware.Alarm{{Before: minutes(delta), Description: x.Summary}}
			}
		}
		if em := bodies[o.RecurrenceID.UTC().Unix()]; em != nil {
			if info.OverrideFlags.Has(oxocal.OverrideBody) {
				x.Description = c.plainBody(em, res)
			}
			if info.OverrideFlags.Has(oxocal.OverrideAttachment) {
				res.warn("the modified instance of %s has attachments of its own; they stay in the series' exception message only", o.RecurrenceID.Format(time.DateOnly))
			}
		}
		ev.Exceptions = append(ev.Exceptions, groupware.Exception{RecurrenceID: at(o.RecurrenceID, allDay), Event: x})
	}
	return nil
}

// exceptionMessages are the series' embedded exception messages by the original start they replace
// (PidLidExceptionReplaceTime, UTC), in Unix seconds.
func (c *Converter) exceptionMessages(m *pst.Message) map[int64]*pst.Message {
	out := map[int64]*pst.Message{}
	atts, _ := m.Attachments()
	for _, a := range atts {
		if !isException(a) {
			continue
		}
		em, err := a.Embedded()
		if err != nil {
			continue
		}
		if t := (props{em}).namedTime(pst.PSETIDAppointment, lidExceptionReplaceTime); !t.IsZero() {
			out[t.Unix()] = em
		}
	}
	return out
}

// taskRecurrence reads PidLidTaskRecurrence, a RecurrencePattern of dates ([MS-OXOTASK] 2.2.2.2.15).
func taskRecurrence(blob []byte, t *groupware.Task) (*groupware.Recurrence, error) {
	p, err := oxocal.ParseRecurrencePattern(blob)
	if err != nil {
		return nil, err
	}
	rec, err := p.Rule(time.UTC, 0)
	if err != nil {
		return nil, err
	}
	return &rec, nil
}
