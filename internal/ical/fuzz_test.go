package ical

import (
	"reflect"
	"strings"
	"testing"
)

// strip drops what writing does not keep: the line numbers.
func strip(comps []*Component) {
	for _, c := range comps {
		c.Line = 0
		for i := range c.Props {
			c.Props[i].Line = 0
		}
		strip(c.Components)
	}
}

// FuzzRoundTrip checks that whatever Parse reads, Encode writes so that Parse reads it again unchanged:
// parse(write(parse(x))) == parse(x). That is the promise sync relies on when it writes back an object with
// properties it does not understand. Encode's output must also be made of lines of at most 75 octets.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTART;TZID=Europe/Berlin:20260302T093000\r\n" +
		"SUMMARY;LANGUAGE=de:Grüße\\, Welt\r\nATTENDEE;CN=\"Doe, Jane\";PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:j@x\r\n" +
		"X-MOZ-GENERATION:3\r\nBEGIN:VALARM\r\nTRIGGER;RELATED=START:-PT15M\r\nX-MOZ-LASTACK:20260301T000000Z\r\nEND:VALARM\r\n" +
		"END:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("BEGIN:VCARD\nVERSION:3.0\nFN:Jane\nitem1.EMAIL;TYPE=INTERNET,pref:j@x\nitem1.X-ABLabel:work\n" +
		"NOTE:long long long long long long long long long long long long long long long long\n  folded\nEND:VCARD\n"))
	f.Add([]byte("BEGIN:A\r\nX;P=\"a^'b^n^^\",c:v:w\r\nBEGIN:B\r\nEND:B\r\nY:\r\nEND:A\r\n\r\nBEGIN:A\r\nEND:A\r\n"))
	f.Add([]byte("BEGIN:VTIMEZONE\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:-053000\r\nDTSTART:19700329T020000\r\nEND:VTIMEZONE\r\n" +
		"BEGIN:VTODO\r\nDURATION:P1W2DT3H4M5S\r\nDUE;VALUE=DATE:20260229\r\nEND:VTODO\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		first, err := Parse(data)
		if err != nil {
			return
		}
		out := Encode(first...)
		second, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Encode(Parse(x))): %v\n%q", err, out)
		}
		strip(first)
		strip(second)
		if !reflect.DeepEqual(first, second) {
			t.Fatalf("round trip changed the object:\nfirst  %#v\nsecond %#v\nwritten %q", first, second, out)
		}
		// Every value is also tried as each value type the codec reads: what a parser accepts, the matching
		// writer writes so that the parser reads the same value again.
		var values func(cs []*Component)
		values = func(cs []*Component) {
			for _, c := range cs {
				for _, p := range c.Props {
					checkValue(t, p.Value)
				}
				values(c.Components)
			}
		}
		values(first)
		lx := NewLexer(string(out))
		for {
			l, ok := lx.Next()
			if !ok {
				break
			}
			for _, seg := range splitCRLF(l.Region) {
				if len(seg) > MaxLineOctets {
					t.Fatalf("a physical line of %d octets: %q", len(seg), seg)
				}
			}
		}
	})
}

func splitCRLF(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		seg := s[:i]
		if len(seg) > 0 && seg[len(seg)-1] == '\r' {
			seg = seg[:len(seg)-1]
		}
		out = append(out, seg)
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
	return out
}

// checkValue checks the value codecs on v: TEXT, DURATION, DATE/DATE-TIME in both forms, UTC-OFFSET.
func checkValue(t *testing.T, v string) {
	t.Helper()
	text := UnescapeText(v)
	if got, want := UnescapeText(EscapeText(text)), strings.ReplaceAll(text, "\r\n", "\n"); got != want {
		t.Fatalf("TEXT %q: escaped %q, read back %q", text, EscapeText(text), got)
	}
	if d, err := ParseDuration(v); err == nil {
		if again, err := ParseDuration(FormatDuration(d)); err != nil || again != d.Truncate(1e9) {
			t.Fatalf("DURATION %q = %v, written %q, read back %v, %v", v, d, FormatDuration(d), again, err)
		}
	}
	if st, err := ParseDateTime(v); err == nil {
		if again, err := ParseDateTime(st.String()); err != nil || again != st {
			t.Fatalf("DATE-TIME %q = %+v, written %q, read back %+v, %v", v, st, st.String(), again, err)
		}
		if again, err := ParseExtendedDateTime(st.Extended()); err != nil || again != st {
			t.Fatalf("DATE-TIME %q = %+v, written %q, read back %+v, %v", v, st, st.Extended(), again, err)
		}
	}
	if sec, err := ParseUTCOffset(v); err == nil {
		if again, err := ParseUTCOffset(FormatUTCOffset(sec)); err != nil || again != sec {
			t.Fatalf("UTC-OFFSET %q = %d, written %q, read back %d, %v", v, sec, FormatUTCOffset(sec), again, err)
		}
	}
}
