package freebusy

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Document is what Parse read from a VFREEBUSY.
type Document struct {
	ProductID string // PRODID of the VCALENDAR
	Method    string // METHOD of the VCALENDAR, "" when absent
	UID       string
	// Organizer is the calendar address as written ("mailto:alice@example.test"), OrganizerName its CN.
	Organizer     string
	OrganizerName string
	// Stamp is DTSTAMP; Start and End are the window (DTSTART, DTEND). Each is zero when absent.
	Stamp, Start, End time.Time
	// Periods are the FREEBUSY periods in the order written, comma-separated lists expanded, in UTC.
	// FBTYPE defaults to BUSY, and types Parse does not know are BUSY too (RFC 5545 §3.2.9).
	Periods []Period
}

// Parse reads the first VFREEBUSY of an iCalendar document: what Write writes, and also comma-separated
// period lists, periods given as start and duration, FREEBUSY without FBTYPE, LF line ends and folded
// lines. Times must be UTC, as RFC 5545 requires for VFREEBUSY.
func Parse(data []byte) (*Document, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("freebusy: not UTF-8")
	}
	lines, err := unfold(data)
	if err != nil {
		return nil, err
	}
	doc := &Document{}
	var stack []string
	var done, seen bool
	have := map[string]bool{}
	for _, ln := range lines {
		fail := func(format string, args ...any) error {
			return fmt.Errorf("freebusy: line %d: %s", ln.no, fmt.Sprintf(format, args...))
		}
		if done {
			return nil, fail("content after END:VCALENDAR")
		}
		name, params, value, err := parseContentLine(ln.text)
		if err != nil {
			return nil, fail("%v", err)
		}
		switch name {
		case "BEGIN":
			comp := strings.ToUpper(value)
			if len(stack) == 0 && comp != "VCALENDAR" {
				return nil, fail("BEGIN:%s where BEGIN:VCALENDAR was expected", value)
			}
			stack = append(stack, comp)
			if comp == "VFREEBUSY" {
				if len(stack) != 2 {
					return nil, fail("VFREEBUSY inside %s", stack[len(stack)-2])
				}
				if seen {
					return nil, fail("a second VFREEBUSY")
				}
				seen = true
			}
			continue
		case "END":
			if len(stack) == 0 || stack[len(stack)-1] != strings.ToUpper(value) {
				if len(stack) == 0 {
					return nil, fail("END:%s outside any component", value)
				}
				return nil, fail("END:%s inside %s", value, stack[len(stack)-1])
			}
			stack = stack[:len(stack)-1]
			done = len(stack) == 0
			continue
		}
		if len(stack) == 0 {
			return nil, fail("%s outside VCALENDAR", name)
		}
		if len(stack) == 1 {
			switch name {
			case "PRODID":
				doc.ProductID = unescapeText(value)
			case "METHOD":
				doc.Method = value
			}
			continue
		}
		if len(stack) != 2 || stack[1] != "VFREEBUSY" {
			continue
		}
		switch name {
		case "DTSTART", "DTEND", "DTSTAMP", "ORGANIZER", "UID":
			if have[name] {
				return nil, fail("a second %s", name)
			}
			have[name] = true
		}
		switch name {
		case "DTSTART", "DTEND", "DTSTAMP":
			if p := params.get("VALUE"); p != "" && !strings.EqualFold(p, "DATE-TIME") {
				return nil, fail("%s;VALUE=%s: a UTC date-time is required", name, p)
			}
			if params.get("TZID") != "" {
				return nil, fail("%s with TZID: a UTC date-time is required", name)
			}
			t, err := parseUTC(value)
			if err != nil {
				return nil, fail("%s: %v", name, err)
			}
			switch name {
			case "DTSTART":
				doc.Start = t
			case "DTEND":
				doc.End = t
			default:
				doc.Stamp = t
			}
		case "ORGANIZER":
			doc.Organizer = value
			doc.OrganizerName = decodeCaret(params.get("CN"))
		case "UID":
			doc.UID = unescapeText(value)
		case "FREEBUSY":
			if p := params.get("VALUE"); p != "" && !strings.EqualFold(p, "PERIOD") {
				return nil, fail("FREEBUSY;VALUE=%s: periods are required", p)
			}
			typ := Busy
			switch t := Type(strings.ToUpper(params.get("FBTYPE"))); t {
			case Tentative, Unavailable, Free:
				typ = t
			}
			for i, v := range strings.Split(value, ",") {
				s, e, err := parsePeriod(v)
				if err != nil {
					return nil, fail("FREEBUSY period %d: %v", i+1, err)
				}
				doc.Periods = append(doc.Periods, Period{Start: s, End: e, Type: typ})
			}
		}
	}
	switch {
	case len(lines) == 0:
		return nil, errors.New("freebusy: empty document")
	case !done:
		return nil, fmt.Errorf("freebusy: END:%s missing", stack[len(stack)-1])
	case !seen:
		return nil, errors.New("freebusy: no VFREEBUSY in the calendar")
	case !doc.Start.IsZero() && !doc.End.IsZero() && doc.End.Before(doc.Start):
		return nil, errors.New("freebusy: DTEND before DTSTART")
	}
	return doc, nil
}

type logicalLine struct {
	no   int // the number of its first physical line
	text string
}

// unfold joins folded lines (RFC 5545 §3.1) and drops empty ones.
func unfold(data []byte) ([]logicalLine, error) {
	var out []logicalLine
	var cur []byte
	flush := func() {
		if len(out) > 0 {
			out[len(out)-1].text = string(cur)
		}
	}
	for no := 1; len(data) > 0; no++ {
		var ln []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			ln, data = data[:i], data[i+1:]
		} else {
			ln, data = data, nil
		}
		ln = bytes.TrimSuffix(ln, []byte("\r"))
		if len(ln) > 0 && (ln[0] == ' ' || ln[0] == '\t') {
			if len(out) == 0 {
				return nil, fmt.Errorf("freebusy: line %d: continuation without a line to continue", no)
			}
			cur = append(cur, ln[1:]...)
			continue
		}
		if len(ln) == 0 {
			continue
		}
		flush()
		out = append(out, logicalLine{no: no})
		cur = append(cur[:0], ln...)
	}
	flush()
	return out, nil
}

type params []struct{ name, value string }

// get is the first value of the named parameter, "" when absent.
func (ps params) get(name string) string {
	for _, p := range ps {
		if p.name == name {
			return p.value
		}
	}
	return ""
}

// parseContentLine splits "NAME;PARAM=value;P2="quoted":value" (RFC 5545 §3.1). Names are upper-cased;
// of a multi-valued parameter only the first value is kept.
func parseContentLine(s string) (name string, ps params, value string, err error) {
	i := 0
	for i < len(s) && (isAlnum(s[i]) || s[i] == '-') {
		i++
	}
	if i == 0 {
		return "", nil, "", fmt.Errorf("no property name in %q", clip(s))
	}
	name = strings.ToUpper(s[:i])
	for i < len(s) && s[i] == ';' {
		i++
		j := i
		for i < len(s) && (isAlnum(s[i]) || s[i] == '-') {
			i++
		}
		if i == j || i >= len(s) || s[i] != '=' {
			return "", nil, "", fmt.Errorf("%s: bad parameter in %q", name, clip(s))
		}
		pname := strings.ToUpper(s[j:i])
		i++
		first := true
		for {
			var v string
			if i < len(s) && s[i] == '"' {
				k := strings.IndexByte(s[i+1:], '"')
				if k < 0 {
					return "", nil, "", fmt.Errorf("%s: unterminated quoted %s", name, pname)
				}
				v, i = s[i+1:i+1+k], i+k+2
			} else {
				j := i
				for i < len(s) && s[i] != ',' && s[i] != ';' && s[i] != ':' && s[i] != '"' {
					i++
				}
				v = s[j:i]
			}
			if first {
				ps = append(ps, struct{ name, value string }{pname, v})
				first = false
			}
			if i < len(s) && s[i] == ',' {
				i++
				continue
			}
			break
		}
	}
	if i >= len(s) || s[i] != ':' {
		return "", nil, "", fmt.Errorf("%s: no ':' before the value", name)
	}
	return name, ps, s[i+1:], nil
}

func isAlnum(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func parseUTC(s string) (time.Time, error) {
	if len(s) != len(utcFormat) || s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, fmt.Errorf("%q is not a UTC date-time (YYYYMMDDTHHMMSSZ)", clip(s))
	}
	t, err := time.Parse(utcFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %v", s, err)
	}
	return t, nil
}

// parsePeriod reads "start/end" or "start/duration".
func parsePeriod(v string) (start, end time.Time, err error) {
	a, b, ok := strings.Cut(v, "/")
	if !ok {
		return start, end, fmt.Errorf("%q is not start/end or start/duration", clip(v))
	}
	if start, err = parseUTC(a); err != nil {
		return start, end, err
	}
	if strings.HasPrefix(b, "P") || strings.HasPrefix(b, "+P") || strings.HasPrefix(b, "-P") {
		d, err := parseDuration(b)
		if err != nil {
			return start, end, err
		}
		if d < 0 {
			return start, end, fmt.Errorf("negative duration %q", b)
		}
		return start, start.Add(d), nil
	}
	if end, err = parseUTC(b); err != nil {
		return start, end, err
	}
	if end.Before(start) {
		return start, end, fmt.Errorf("%q ends before it starts", v)
	}
	return start, end, nil
}

// parseDuration reads an RFC 5545 dur-value: [+-]P then weeks, or days and/or a T part with hours,
// minutes and seconds, in that order.
func parseDuration(s string) (time.Duration, error) {
	orig := s
	bad := func() (time.Duration, error) { return 0, fmt.Errorf("%q is not a duration", clip(orig)) }
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if !strings.HasPrefix(s, "P") || len(s) == 1 {
		return bad()
	}
	s = s[1:]
	const maxDur = 100 * 366 * 24 * time.Hour
	var total time.Duration
	order := "WDTHMS"
	pos, inTime, any := 0, false, false
	for len(s) > 0 {
		if s[0] == 'T' {
			if inTime || len(s) == 1 {
				return bad()
			}
			inTime, s = true, s[1:]
			pos = strings.IndexByte(order, 'T') + 1
			continue
		}
		n := 0
		var v int64
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			if v = v*10 + int64(s[n]-'0'); v > int64(maxDur/time.Second) {
				return 0, fmt.Errorf("duration %q is too long", clip(orig))
			}
			n++
		}
		if n == 0 || n == len(s) {
			return bad()
		}
		unit := s[n]
		k := strings.IndexByte(order[pos:], unit)
		if k < 0 || (unit == 'H' || unit == 'M' || unit == 'S') != inTime || unit == 'T' {
			return bad()
		}
		pos += k + 1
		if unit == 'W' && (len(s) > n+1 || any) {
			return bad() // weeks stand alone
		}
		per := time.Second
		switch unit {
		case 'W':
			per = 7 * 24 * time.Hour
		case 'D':
			per = 24 * time.Hour
		case 'H':
			per = time.Hour
		case 'M':
			per = time.Minute
		}
		total += time.Duration(v) * per
		if total > maxDur {
			return 0, fmt.Errorf("duration %q is too long", clip(orig))
		}
		any = true
		s = s[n+1:]
	}
	if !any {
		return bad()
	}
	if neg {
		total = -total
	}
	return total, nil
}

// unescapeText undoes TEXT escaping (RFC 5545 §3.3.11).
func unescapeText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n', 'N':
				sb.WriteByte('\n')
			default:
				sb.WriteByte(s[i])
			}
			continue
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

// decodeCaret undoes RFC 6868 parameter value encoding.
func decodeCaret(s string) string {
	if !strings.Contains(s, "^") {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '^' && i+1 < len(s) {
			switch s[i+1] {
			case '^':
				sb.WriteByte('^')
				i++
				continue
			case '\'':
				sb.WriteByte('"')
				i++
				continue
			case 'n':
				sb.WriteByte('\n')
				i++
				continue
			}
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}
