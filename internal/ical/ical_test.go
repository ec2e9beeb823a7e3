package ical

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		in      string
		want    ContentLine
		wantErr string
	}{
		{in: "SUMMARY:Hello", want: ContentLine{Name: "SUMMARY", Value: "Hello"}},
		{in: "dtstart;tzid=Europe/Berlin:20260302T093000", want: ContentLine{Name: "dtstart",
			Params: []Param{{Name: "tzid", Values: []string{"Europe/Berlin"}}}, Value: "20260302T093000"}},
		{in: `ATTENDEE;CN="Doe, Jane";ROLE=REQ-PARTICIPANT;DELEGATED-FROM="mailto:a@x","mailto:b@x":mailto:j@x`,
			want: ContentLine{Name: "ATTENDEE", Params: []Param{
				{Name: "CN", Values: []string{"Doe, Jane"}},
				{Name: "ROLE", Values: []string{"REQ-PARTICIPANT"}},
				{Name: "DELEGATED-FROM", Values: []string{"mailto:a@x", "mailto:b@x"}}}, Value: "mailto:j@x"}},
		{in: `X-A;P="a ^'b^' ^^ ^n":v:w`, want: ContentLine{Name: "X-A", Params: []Param{{Name: "P", Values: []string{"a \"b\" ^ \n"}}}, Value: "v:w"}},
		{in: "item1.EMAIL;TYPE=INTERNET,pref:a@x", want: ContentLine{Name: "item1.EMAIL", Params: []Param{{Name: "TYPE", Values: []string{"INTERNET", "pref"}}}, Value: "a@x"}},
		{in: "X-EMPTY:", want: ContentLine{Name: "X-EMPTY"}},
		{in: ":value", wantErr: "no property name"},
		{in: "SUM MARY:x", wantErr: "not allowed in a property name"},
		{in: "SUMMARY;LANGUAGE:x", wantErr: "has no '='"},
		{in: `SUMMARY;CN="open:x`, wantErr: "not closed"},
		{in: "SUMMARY", wantErr: "no ':'"},
	}
	for _, tt := range tests {
		got, err := ParseLine(tt.in, 0)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseLine(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseLine(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
}

func TestAppendFolded(t *testing.T) {
	tests := []string{
		"SUMMARY:short",
		"DESCRIPTION:" + strings.Repeat("a", 200),
		"DESCRIPTION:" + strings.Repeat("ö", 80),       // two-octet sequences
		"DESCRIPTION:x" + strings.Repeat("€", 60),      // three-octet sequences, odd start
		"DESCRIPTION:" + strings.Repeat("😀", 40),       // four-octet sequences
		"X:" + strings.Repeat("\x80", 100),             // not UTF-8: folded at 75 all the same
		"DESCRIPTION:" + strings.Repeat("a", 73) + "é", // the sequence would straddle octet 75
	}
	for _, line := range tests {
		out := string(AppendFolded(nil, line))
		if !strings.HasSuffix(out, "\r\n") {
			t.Errorf("%q: no CRLF at the end", out)
		}
		phys := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
		var joined strings.Builder
		for i, p := range phys {
			if len(p) > MaxLineOctets {
				t.Errorf("physical line %d has %d octets: %q", i, len(p), p)
			}
			if i > 0 {
				if !strings.HasPrefix(p, " ") {
					t.Fatalf("continuation %q does not start with a space", p)
				}
				p = p[1:]
			}
			if utf8.ValidString(line) && !utf8.ValidString(p) {
				t.Errorf("physical line %d splits a UTF-8 sequence: %q", i, p)
			}
			joined.WriteString(p)
		}
		if joined.String() != line {
			t.Errorf("unfolded %q, want %q", joined.String(), line)
		}
		l, _ := NewLexer(out).Next()
		if l.Text() != line {
			t.Errorf("Lexer unfolds %q, want %q", l.Text(), line)
		}
	}
}

func TestText(t *testing.T) {
	tests := []struct{ text, escaped string }{
		{"plain", "plain"},
		{"a;b,c\\d", `a\;b\,c\\d`},
		{"line 1\nline 2", `line 1\nline 2`},
		{"Grüße, 日本", `Grüße\, 日本`},
	}
	for _, tt := range tests {
		if got := EscapeText(tt.text); got != tt.escaped {
			t.Errorf("EscapeText(%q) = %q, want %q", tt.text, got, tt.escaped)
		}
		if got := UnescapeText(tt.escaped); got != tt.text {
			t.Errorf("UnescapeText(%q) = %q, want %q", tt.escaped, got, tt.text)
		}
	}
	if got := UnescapeText(`a\Nb\:c`); got != "a\nb:c" {
		t.Errorf("UnescapeText of \\N and \\: = %q", got)
	}
	if got := EscapeText("a\r\nb"); got != `a\nb` {
		t.Errorf("EscapeText of CRLF = %q", got)
	}
}

func TestParamValue(t *testing.T) {
	tests := []struct{ in, plain, quoted string }{
		{"Jane", "Jane", `"Jane"`},
		{"Doe, Jane", `"Doe, Jane"`, `"Doe, Jane"`},
		{"mailto:a@x", `"mailto:a@x"`, `"mailto:a@x"`},
		{`say "hi"`, `"say ^'hi^'"`, `"say ^'hi^'"`},
		{"two\nlines ^", `"two^nlines ^^"`, `"two^nlines ^^"`},
	}
	for _, tt := range tests {
		if got := ParamValue(tt.in); got != tt.plain {
			t.Errorf("ParamValue(%q) = %s, want %s", tt.in, got, tt.plain)
		}
		if got := QuotedParamValue(tt.in); got != tt.quoted {
			t.Errorf("QuotedParamValue(%q) = %s, want %s", tt.in, got, tt.quoted)
		}
		c, err := ParseLine("X;P="+tt.plain+":v", 0)
		if v, _ := c.Param("P"); err != nil || v != tt.in {
			t.Errorf("ParamValue(%q) reads back as %q, %v", tt.in, v, err)
		}
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		out  string // FormatDuration(want); "" when in is already that
		bad  bool
	}{
		{in: "PT15M", want: 15 * time.Minute},
		{in: "-PT15M", want: -15 * time.Minute},
		{in: "+P1D", want: 24 * time.Hour, out: "P1D"},
		{in: "P2W", want: 14 * 24 * time.Hour},
		{in: "P1DT2H3M4S", want: 26*time.Hour + 3*time.Minute + 4*time.Second},
		{in: "P1W2D", want: 9 * 24 * time.Hour, out: "P9D"}, // weeks with days: not RFC 5545, written by some
		{in: "pt1h", want: time.Hour, out: "PT1H"},
		{in: "PT0S", want: 0},
		{in: "P", bad: true},
		{in: "PT", bad: true},
		{in: "P1H", bad: true},
		{in: "PT1D", bad: true},
		{in: "P1D1W", bad: true},
		{in: "PT1M1H", bad: true},
		{in: "1D", bad: true},
		{in: "P1000000000D", bad: true},
		{in: "P40000D", bad: true}, // more than a century
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseDuration(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		out := tt.out
		if out == "" {
			out = tt.in
		}
		if f := FormatDuration(tt.want); f != out {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.want, f, out)
		}
	}
}

func TestDateTime(t *testing.T) {
	tests := []struct {
		in       string
		extended bool
		want     DateTime
		bad      string
	}{
		{in: "20260327", want: DateTime{Year: 2026, Month: 3, Day: 27, Date: true}},
		{in: "20260327T100000", want: DateTime{Year: 2026, Month: 3, Day: 27, Hour: 10}},
		{in: "20260327T100000Z", want: DateTime{Year: 2026, Month: 3, Day: 27, Hour: 10, UTC: true}},
		{in: "2026-03-27T10:00:00.123Z", extended: true, want: DateTime{Year: 2026, Month: 3, Day: 27, Hour: 10, UTC: true}},
		{in: "2026-03-27", extended: true, want: DateTime{Year: 2026, Month: 3, Day: 27, Date: true}},
		{in: "20260230", bad: "does not exist"},
		{in: "20261301", bad: "month"},
		{in: "20260327T250000", bad: "hour"},
		{in: "2026-03-27", bad: "not a DATE"},
		{in: "2026-03-27T10:00", extended: true, bad: "not a date"},
	}
	for _, tt := range tests {
		parse := ParseDateTime
		if tt.extended {
			parse = ParseExtendedDateTime
		}
		got, err := parse(tt.in)
		if tt.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("parse(%q) error = %v, want %q", tt.in, err, tt.bad)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		back, err := ParseDateTime(got.String())
		if err != nil || back != got {
			t.Errorf("%+v.String() = %q reads back as %+v, %v", got, got.String(), back, err)
		}
	}
	berlin := time.FixedZone("CET", 3600)
	at := time.Date(2026, 3, 27, 10, 0, 0, 0, berlin)
	if got := FormatUTC(at); got != "20260327T090000Z" {
		t.Errorf("FormatUTC = %q", got)
	}
	if got := FormatLocal(at); got != "20260327T100000" {
		t.Errorf("FormatLocal = %q", got)
	}
	if got := FormatDate(at); got != "20260327" {
		t.Errorf("FormatDate = %q", got)
	}
}

func TestUTCOffset(t *testing.T) {
	for in, want := range map[string]int{"+0100": 3600, "-0330": -12600, "+004430": 2670, "+01:00": 3600} {
		got, err := ParseUTCOffset(in)
		if err != nil || got != want {
			t.Errorf("ParseUTCOffset(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"0100", "+1", "+2400", "+0160"} {
		if _, err := ParseUTCOffset(bad); err == nil {
			t.Errorf("ParseUTCOffset(%q) accepted", bad)
		}
	}
	for sec, want := range map[int]string{3600: "+0100", -12600: "-0330", 2670: "+004430", 0: "+0000"} {
		if got := FormatUTCOffset(sec); got != want {
			t.Errorf("FormatUTCOffset(%d) = %q, want %q", sec, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	deep := strings.Repeat("BEGIN:X\r\n", 20) + strings.Repeat("END:X\r\n", 20)
	tests := []struct {
		name, in, want string
		limit          bool
	}{
		{"empty", "", "no BEGIN", false},
		{"blank only", "\r\n  \r\n", "no BEGIN", false},
		{"outside", "SUMMARY:x\r\n", "SUMMARY outside any component", false},
		{"unclosed", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n", "line 3: END:VCALENDAR closes BEGIN:VEVENT of line 2", false},
		{"truncated", "BEGIN:VCARD\r\nFN:x\r\n", "BEGIN:VCARD has no END:VCARD", false},
		{"stray END", "END:VCARD\r\n", "END:VCARD outside any component", false},
		{"no name", "BEGIN:\r\nEND:\r\n", "BEGIN without a component name", false},
		{"not a line", "BEGIN:VCARD\r\nthis is prose\r\nEND:VCARD\r\n", "line 2", false},
		{"deep", deep, "nested more than 16 deep", true},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want %q", tt.name, err, tt.want)
		}
		if errors.Is(err, ErrLimit) != tt.limit {
			t.Errorf("%s: errors.Is(err, ErrLimit) = %v", tt.name, !tt.limit)
		}
	}
	small := Limits{MaxBytes: 1000, MaxLineBytes: 20, MaxDepth: 4, MaxComponents: 2, MaxProps: 2}
	for name, in := range map[string]string{
		"bytes":      strings.Repeat("X", 1001),
		"line":       "BEGIN:A\r\nX:" + strings.Repeat("y", 30) + "\r\nEND:A\r\n",
		"components": "BEGIN:A\r\nBEGIN:B\r\nEND:B\r\nBEGIN:B\r\nEND:B\r\nEND:A\r\n",
		"props":      "BEGIN:A\r\nX:1\r\nX:2\r\nX:3\r\nEND:A\r\n",
	} {
		if _, err := small.Parse([]byte(in)); !errors.Is(err, ErrLimit) {
			t.Errorf("limit %s: error = %v, want ErrLimit", name, err)
		}
	}
}

func TestComponentGetSet(t *testing.T) {
	src := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\nSUMMARY;LANGUAGE=de:Alt\r\n" +
		"X-FOO;X-P=1:bar\r\nSEQUENCE:1\r\nBEGIN:VALARM\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	comps, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ev := comps[0].Sub("VEVENT")[0]
	ev.SetText("SUMMARY", "Neu; mit Komma, und\nZeile")
	ev.Set("SEQUENCE", "2")
	ev.Set("LAST-MODIFIED", "20260301T100000Z")
	want := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\nSUMMARY;LANGUAGE=de:Neu\\; mit Komma\\, und\\nZeile\r\n" +
		"X-FOO;X-P=1:bar\r\nSEQUENCE:2\r\nLAST-MODIFIED:20260301T100000Z\r\nBEGIN:VALARM\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if got := string(Encode(comps...)); got != want {
		t.Errorf("Encode after Set:\n%s\nwant:\n%s", got, want)
	}
	if got := ev.Value("SUMMARY", true); got != "Neu; mit Komma, und\nZeile" {
		t.Errorf("Value(SUMMARY) = %q", got)
	}
	// Names come back as they were written; a line made in code is written in upper case.
	vc, err := Parse([]byte("BEGIN:VCARD\r\nitem1.X-ABLabel;type=pref:x\r\nEND:VCARD\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	vc[0].Set("fn", "y")
	if got := string(Encode(vc...)); got != "BEGIN:VCARD\r\nitem1.X-ABLabel;type=pref:x\r\nFN:y\r\nEND:VCARD\r\n" {
		t.Errorf("names as written: %q", got)
	}
	ev.Remove("X-FOO")
	if ev.Get("X-FOO") != nil || len(ev.All("UID")) != 1 {
		t.Errorf("Remove or All: %+v", ev.Props)
	}
}

func TestParametersOfAttendee(t *testing.T) {
	c, err := ParseLine(`ATTENDEE;CN="Doe, Jane";MEMBER="mailto:a@x","mailto:b@x";X-Q=^'quoted^' ^^ ^n:mailto:jane@x`, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "ATTENDEE" || c.Value != "mailto:jane@x" || len(c.Params) != 3 {
		t.Fatalf("%+v", c)
	}
	if v, _ := c.Param("CN"); v != "Doe, Jane" {
		t.Errorf("CN = %q", v)
	}
	if p := c.Params[1]; len(p.Values) != 2 || p.Values[0] != "mailto:a@x" || p.Values[1] != "mailto:b@x" {
		t.Errorf("MEMBER = %q", p.Values)
	}
	if v, _ := c.Param("X-Q"); v != "\"quoted\" ^ \n" {
		t.Errorf("X-Q = %q", v)
	}
	for _, bad := range []string{`DTSTART;TZID="Europe/Berlin:20260101T000000`, `DTSTART;TZID:20260101T000000`, `DTSTART`} {
		if _, err := ParseLine(bad, 1); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestDurationsAsWritten(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"PT1H": time.Hour, "PT1H30M": 90 * time.Minute, "P1D": 24 * time.Hour, "P1DT2H3M4S": 26*time.Hour + 3*time.Minute + 4*time.Second,
		"P2W": 14 * 24 * time.Hour, "-PT15M": -15 * time.Minute, "+PT10S": 10 * time.Second, "-P1W": -7 * 24 * time.Hour,
		"PT0S": 0, "P1W2D": 9 * 24 * time.Hour, "pt5m": 5 * time.Minute,
	} {
		got, err := ParseDuration(s)
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "P", "PT", "1H", "PT1H2H", "P1H", "PT1D", "P1M", "PT99999999999H", "P-1D", "PT1.5H", "PD"} {
		if d, err := ParseDuration(s); err == nil {
			t.Errorf("%q = %v, want an error", s, d)
		}
	}
}
