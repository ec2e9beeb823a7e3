// Package ical is mailshift's one implementation of the iCalendar and vCard wire format: the text both
// share, not what their properties mean. It implements RFC 5545 §3.1–3.3 (content lines, parameters,
// value types) and RFC 6350 §3.2–3.4 (line delimiting and folding, ABNF, property value escaping), with
// the RFC 6868 parameter value encoding both use.
//
//   - Content lines (RFC 5545 §3.1, RFC 6350 §3.2): Lexer splits text into lines and unfolds them (CRLF or
//     LF, a space or tab continues a line); ParseLine reads the name, the parameters (quoted values,
//     comma-separated multiple values, RFC 6868 caret encoding) and the value; ContentLine.AppendTo writes
//     one back, folded at 75 octets without splitting a UTF-8 sequence, ended by CRLF.
//   - Parameters (RFC 5545 §3.2, RFC 6350 §5): ParamValue and QuotedParamValue quote and encode a value.
//   - Values (RFC 5545 §3.3, RFC 6350 §4): TEXT escaping (EscapeText, UnescapeText), DURATION
//     (ParseDuration, FormatDuration), DATE and DATE-TIME in the basic and the xCal form (ParseDateTime,
//     ParseExtendedDateTime, FormatUTC, FormatDate, FormatLocal), UTC-OFFSET (ParseUTCOffset,
//     FormatUTCOffset).
//   - Components (RFC 5545 §3.4–3.6, RFC 6350 §3.3): Parse reads BEGIN/END nesting into a tree of
//     Components that keeps every property, parameter and sub-component it does not understand, so an
//     object can be read, changed with Get/Set and written back with Encode without losing anything.
//     Depth, line length, counts and size are bounded by Limits: the input comes from mail folders and is
//     hostile until proven otherwise.
//
// VCALENDAR and VCARD are read and written alike. The readers and writers of particular formats build on
// this package, which imports none of them: calobject (the read model) -> ical <- groupware (the write
// model), and freebusy -> ical.
package ical
