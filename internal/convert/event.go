package convert

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/oxocal"
	"github.com/mailshift/mailshift/internal/pst"
)

// PidLid properties of calendar items (PSETID_Appointment and PSETID_Meeting, [MS-OXOCAL] 2.2).
const (
	lidBusyStatus           = 0x8205
	lidExceptionalBody      = 0x8206
	lidLocation             = 0x8208
	lidAppointmentStart     = 0x820D
	lidAppointmentEnd       = 0x820E
	lidAppointmentColor     = 0x8214
	lidAllDay               = 0x8215
	lidAppointmentRecur     = 0x8216
	lidAppointmentState     = 0x8217
	lidResponseStatus       = 0x8218
	lidRecurring            = 0x8223
	lidExceptionReplaceTime = 0x8228
	lidAppointmentSequence  = 0x8201
	lidTimeZoneStruct       = 0x8233
	lidTimeZoneDescription  = 0x8234
	lidTZDefStartDisplay    = 0x825E
	lidTZDefEndDisplay      = 0x825F
	lidTZDefRecur           = 0x8260
	lidCommonStart          = 0x8516 // PSETID_Common
	lidCommonEnd            = 0x8517
	lidGlobalObjectID       = 0x0003 // PSETID_Meeting
	lidCleanGlobalObjectID  = 0x0023

	asfMeeting  = 0x1 // PidLidAppointmentStateFlags
	asfCanceled = 0x4

	recipOrganizer     = 0x0002 // PR_RECIPIENT_FLAGS
	tagResponseRequest = 0x0063
)

// exceptionClass is the message class of the embedded messages that hold a recurring series' modified
// instances ([MS-OXOCAL] 2.2.10.1.2).
const exceptionClass = "IPM.OLE.CLASS.{00061055-0000-0000-C000-000000000046}"

func minutes(n int64) time.Duration { return time.Duration(n) * time.Minute }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func rawCustom(name string, blob []byte) groupware.Custom {
	return groupware.Custom{Name: name, Value: hexString(blob)}
}

func hexString(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}

// isException reports whether an attachment is one of the series' modified instances, which become
// exceptions of the event rather than attachments.
func isException(a *pst.Attachment) bool {
	if a.Method != pst.AttachEmbedded {
		return false
	}
	em, err := a.Embedded()
	return err == nil && strings.EqualFold(em.Class, exceptionClass)
}

// timeZone finds the item's time zone: the definition Outlook shows the start in, else the recurrence's,
// else the older TZSTRUCT, matched to an IANA zone by name and rules.
func timeZone(m *pst.Message, year int, res *Result) (*time.Location, string) {
	p := props{m}
	desc := p.namedStr(pst.PSETIDAppointment, lidTimeZoneDescription)
	var def *oxocal.TimeZoneDefinition
	for _, lid := range []uint16{lidTZDefStartDisplay, lidTZDefRecur} {
		if b := p.namedBytes(pst.PSETIDAppointment, lid); len(b) > 0 {
			d, err := oxocal.ParseTimeZoneDefinition(b)
			if err == nil {
				def = d
				break
			}
			res.warn("time zone definition unreadable (%v); trying the next one", err)
		}
	}
	if def == nil {
		if b := p.namedBytes(pst.PSETIDAppointment, lidTimeZoneStruct); len(b) > 0 {
			if s, err := oxocal.ParseTimeZoneStruct(b); err == nil {
				def = s.Definition()
			}
		}
	}
	if def == nil && desc == "" {
		return time.UTC, ""
	}
	loc, tzid, exact := oxocal.Location(def, desc, year)
	if loc == nil {
		res.warn("time zone %q unknown; times written in UTC", desc)
		return time.UTC, ""
	}
	if !exact {
		res.warn("time zone %q matches no IANA zone; its own rules were kept as zone %q", desc, tzid)
	}
	return loc, tzid
}

func (c *Converter) event(m *pst.Message, id identity, res *Result) (groupware.Item, error) {
	p := props{m}
	ev := &groupware.Event{Common: c.common(m, id, res, isException)}
	if goid := p.namedBytes(pst.PSETIDMeeting, lidCleanGlobalObjectID); len(goid) > 0 {
		ev.UID = oxocal.UIDFromGlobalObjectID(goid)
	} else if goid := p.namedBytes(pst.PSETIDMeeting, lidGlobalObjectID); len(goid) > 0 {
		ev.UID = oxocal.UIDFromGlobalObjectID(oxocal.CleanGlobalObjectID(goid))
	}
	if ev.UID == "" {
		ev.UID = id.uid()
	}
	start := p.namedTime(pst.PSETIDAppointment, lidAppointmentStart)
	end := p.namedTime(pst.PSETIDAppointment, lidAppointmentEnd)
	if start.IsZero() {
		start, end = p.namedTime(pst.PSETIDCommon, lidCommonStart), p.namedTime(pst.PSETIDCommon, lidCommonEnd)
	}
	if start.IsZero() {
		return nil, errors.New("calendar item has no start time")
	}
	if end.Before(start) {
		res.warn("end %v before start %v; end set to the start", end, start)
		end = start
	}
	loc, tzid := timeZone(m, start.Year(), res)
	allDay := p.namedBool(pst.PSETIDAppointment, lidAllDay)
	ev.Start, ev.End = eventTime(start, loc, tzid, allDay), eventTime(end, loc, tzid, allDay)
	ev.Location = p.namedStr(pst.PSETIDAppointment, lidLocation)
	ev.Busy = busyStatus(p.namedInt(pst.PSETIDAppointment, lidBusyStatus))
	ev.Priority = priority(m, 0)
	if seq, ok := p.namedInt(pst.PSETIDAppointment, lidAppointmentSequence); ok && seq > 0 {
		ev.Sequence = int(seq)
	}
	ev.Alarms = reminder(m, ev.Summary)
	state, _ := p.namedInt(pst.PSETIDAppointment, lidAppointmentState)
	if state&asfCanceled != 0 {
		ev.Status = groupware.StatusCancelled
	}
	if state&asfMeeting != 0 {
		c.attendees(m, ev)
	}
	if color, ok := p.namedInt(pst.PSETIDAppointment, lidAppointmentColor); ok && color > 0 {
		ev.Custom = append(ev.Custom, groupware.Custom{Name: "X-MAILSHIFT-APPOINTMENT-COLOR", Value: itoa(color)})
	}
	if p.namedBool(pst.PSETIDAppointment, lidRecurring) {
		blob := p.namedBytes(pst.PSETIDAppointment, lidAppointmentRecur)
		if err := c.recurrence(m, ev, blob, loc, tzid, allDay, id, res); err != nil {
			// The series cannot be expressed: the event keeps its first instance and the whole pattern,
			// so nothing is lost and a later tool can still read it.
			res.warn("recurrence kept as X-MAILSHIFT-MAPI-RECURRENCE: %v", err)
			ev.Recurrence, ev.Exceptions = nil, nil
			ev.Custom = append(ev.Custom, rawCustom("X-MAILSHIFT-MAPI-RECURRENCE", blob))
		}
	}
	return ev, nil
}

// eventTime is a time as the model holds it: in the event's zone, or a calendar date for all-day events
// (Outlook stores those as local midnight to local midnight).
func eventTime(t time.Time, loc *time.Location, tzid string, allDay bool) groupware.DateTime {
	lt := t.In(loc)
	if allDay {
		return groupware.DateTime{Time: time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, time.UTC), AllDay: true}
	}
	return groupware.DateTime{Time: lt, TZID: tzid}
}

func busyStatus(v int64, ok bool) groupware.BusyStatus {
	if !ok {
		return groupware.BusyBusy
	}
	switch v {
	case 0:
		return groupware.BusyFree
	case 1:
		return groupware.BusyTentative
	case 3:
		return groupware.BusyOutOfOffice
	case 4:
		return groupware.BusyWorkingElsewhere
	}
	return groupware.BusyBusy
}

// attendees reads the organizer and attendees of a meeting from its recipient table.
func (c *Converter) attendees(m *pst.Message, ev *groupware.Event) {
	p := props{m}
	rcpts, _ := m.Recipients()
	rsvp := false
	if v, ok := p.int(tagResponseRequest); ok {
		rsvp = v != 0
	}
	for _, r := range rcpts {
		addr, _ := c.resolve(address{name: r.DisplayName, addrType: r.AddressType, addr: r.Address, smtp: r.SMTPAddress})
		person := groupware.Person{Name: strings.TrimSpace(r.DisplayName), Email: addr}
		if r.Flags&recipOrganizer != 0 {
			if ev.Organizer == nil {
				ev.Organizer = &person
			}
			continue
		}
		a := groupware.Attendee{Person: person, Role: groupware.RoleRequired, PartStat: groupware.PartStatNeedsAction, RSVP: rsvp, CUType: groupware.CUIndividual}
		switch r.Type {
		case pst.RecipientCc:
			a.Role = groupware.RoleOptional
		case pst.RecipientBcc:
			// Outlook puts resources (rooms, equipment) in the Bcc row of a meeting.
			a.Role, a.CUType = groupware.RoleNonParticipant, groupware.CUResource
		}
		switch r.TrackStatus {
		case 2:
			a.PartStat = groupware.PartStatTentative
		case 3:
			a.PartStat = groupware.PartStatAccepted
		case 4:
			a.PartStat = groupware.PartStatDeclined
		}
		ev.Attendees = append(ev.Attendees, a)
	}
	if ev.Organizer == nil {
		name, addr := p.str(tagSentReprName), ""
		addr, _ = c.resolve(address{name: name, addrType: p.str(tagSentReprAddrType), addr: p.str(tagSentReprEmail), smtp: p.str(tagSentReprSMTPAddress)})
		if name != "" || addr != "" {
			ev.Organizer = &groupware.Person{Name: name, Email: addr}
		}
	}
}
