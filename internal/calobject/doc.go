// Package calobject is the read model of groupware objects: it reads what an IMAP calendar or address book
// folder holds, one message (or one VCALENDAR) at a time, with no Kubernetes imports and no IMAP sessions.
//
//   - Read, ParseICalendar, ParseXCal and ParseKolab2 turn Kolab v3 objects (xCal, RFC 6321, in MIME),
//     Kolab v2 XML objects and plain iCalendar (RFC 5545) messages or text into the few fields free/busy
//     needs (Event). Times keep their meaning: a DATE-TIME with a TZID is a time.Time in that zone (IANA
//     names, Windows names, vendor-prefixed names such as "/kolab.org/Europe/Berlin", or the object's own
//     VTIMEZONE); a UTC value is in time.UTC; a floating value or a DATE is marked as such, because only
//     the reader of the free/busy (its time zone) can place it on the time line.
//   - OpenObject opens a stored object (iCalendar, vCard, Kolab v3 xCal/xCard/note, Kolab v2) for the
//     read-modify-write sync does: change a few properties and write it back under the same UID, with
//     every property, parameter, sub-component, XML element and comment it does not understand kept.
//
// Dependencies run one way. Package ical is the one iCalendar/vCard wire codec (content lines, folding,
// escaping, parameters, values, durations); both models build on it. Package groupware is the write model
// (the neutral item model filled from Outlook items, and the writers of the three storage formats):
//
//	calobject -> ical
//	calobject -> oxocal -> groupware -> ical
//
// groupware never imports calobject: it would be a cycle through oxocal, whose time zone rules calobject
// shares. So the write-back of an opened object goes through plain values: Object.Body and its fields
// become a groupware.Stored, and groupware.WriteStored writes the message around it.
//
// Both models are kept because they do different work on different inputs: groupware writes complete
// messages from a typed model that the PST converter fills; calobject reads whatever clients stored,
// fast (a 10,000-event calendar per free/busy publication) and tolerant of their variations, and keeps
// what it does not model for the write-back. Neither parses or writes content lines itself.
package calobject
