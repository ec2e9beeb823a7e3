// Package oxocal decodes the Outlook calendar structures a PST keeps in named properties, as specified by
// [MS-OXOCAL], and converts them into mailshift's neutral groupware model:
//
//   - recurrence blobs: the RecurrencePattern (section 2.2.1.44.1, also used by task recurrences) and the
//     AppointmentRecurrencePattern of PidLidAppointmentRecur (2.2.1.44.2) with its exceptions
//     (ExceptionInfo 2.2.1.44.3, ExtendedException 2.2.1.44.4);
//   - time zones: PidLidTimeZoneStruct (2.2.1.39) and the TZDEFINITION of
//     PidLidAppointmentTimeZoneDefinitionStartDisplay/EndDisplay/Recur (2.2.1.41, 2.2.1.42), mapped to IANA
//     zones through the CLDR windowsZones table, or synthesised when no IANA zone follows the stored rule;
//   - the conversion of a pattern to an RFC 5545 rule (Rule), and its direct expansion into instances
//     (Instances), which is independent of the rule so that each can check the other;
//   - PidLidGlobalObjectId / PidLidCleanGlobalObjectId (2.2.1.27, 2.2.1.28) to iCalendar UIDs.
//
// Dates inside a recurrence blob are wall-clock values of the series' time zone, counted in minutes since
// 1601-01-01 00:00 (type LocalTime); they are never UTC. Parsers are strict on bounds: a truncated or
// inconsistent blob yields a *CorruptError naming the field and its offset, and no count read from a blob
// allocates more than the blob could hold. Patterns that have no faithful RRULE (Hijri and other
// non-Gregorian calendars, sub-day periods) yield an error matching ErrUnsupportedPattern, so the caller
// can keep the raw blob and warn.
package oxocal
