// Package groupware is the write model of groupware objects: mailshift's neutral model of calendar,
// contact, task, note and journal items, and its writers for the formats an IMAP groupware folder can
// hold: Kolab v3 (xCal/xCard in MIME, the default), plain iCalendar/vCard in MIME, and Kolab v2 XML for
// older Outlook connectors.
//
// The model knows nothing of PST or IMAP: the converter (package convert) fills it from Outlook items, the
// writers turn it into the bytes that are appended. Times are time.Time values in their own location: a
// DateTime's location is its time zone, and a DateTime with AllDay set is a calendar date.
//
// Dependencies run one way. Package ical is the one iCalendar/vCard wire codec (content lines, folding,
// escaping, parameters, values, durations): every iCalendar and vCard line written here goes through it.
// Package calobject is the read model, and depends on this package, never the reverse:
//
//	groupware -> ical
//	calobject -> oxocal -> groupware
//
// (calobject uses oxocal's time zone rules, and oxocal uses this package's recurrence model.) For sync's
// read-modify-write, calobject.OpenObject reads and changes a stored object; WriteStored takes the changed
// object's bytes and fields as plain values (Stored) and writes the message around them again.
package groupware
