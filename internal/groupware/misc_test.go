package groupware

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/oracle"
)

func TestDeterministic(t *testing.T) {
	for _, f := range []Format{FormatKolab3, FormatICal, FormatKolab2} {
		for name, it := range allItems() {
			a := write(t, it, f)
			b := write(t, allItems()[name], f)
			if !bytes.Equal(a, b) {
				t.Errorf("%s %s: two writes differ", f, name)
			}
		}
	}
}

func TestWriteErrors(t *testing.T) {
	failing := attachment("x.bin", "application/octet-stream", nil)
	failing.Open = func() (io.ReadCloser, error) { return nil, errors.New("disk gone") }
	for _, tc := range []struct {
		name string
		item func() Item
		env  func(Envelope) Envelope
		want string
	}{
		{"no uid", func() Item { e := weeklyMeeting(); e.UID = " "; return e }, nil, "no UID"},
		{"unknown zone", func() Item {
			e := busyEvent("z", BusyBusy)
			e.Start.TZID = "Mars/Olympus"
			e.Start.Time = e.Start.Time.UTC()
			return e
		}, nil, `start: time zone "Mars/Olympus"`},
		{"priority", func() Item { e := weeklyMeeting(); e.Priority = 10; return e }, nil, "priority: 10"},
		{"count and until", func() Item { e := weeklyMeeting(); e.Recurrence.Rule.Until = changed; return e }, nil, "both COUNT"},
		{"bad frequency", func() Item { e := weeklyMeeting(); e.Recurrence.Rule.Freq = "HOURLY"; return e }, nil, `frequency "HOURLY"`},
		{"no start", func() Item { e := busyEvent("s", BusyBusy); e.Start = DateTime{}; return e }, nil, "start: not set"},
		{"end before start", func() Item { e := busyEvent("s", BusyBusy); e.End = at(newYork, 2024, 1, 1, 0, 0); return e }, nil, "end:"},
		{"exception without recurrence", func() Item { e := weeklyMeeting(); e.Recurrence = nil; return e }, nil, "exception 1: the event does not recur"},
		{"attachment without content", func() Item {
			n := fullNote()
			n.Attachments = []Attachment{{Filename: "a.txt"}}
			return n
		}, nil, `attachment 1 ("a.txt"): no content`},
		{"attachment read failure", func() Item { n := fullNote(); n.Attachments = []Attachment{failing}; return n }, nil, "disk gone"},
		{"percent", func() Item { k := fullTask(); k.PercentComplete = 101; return k }, nil, "percent-complete: 101"},
		{"gender", func() Item { c := fullContact(); c.Gender = "X"; return c }, nil, `gender: "X"`},
		{"message id", func() Item { return fullNote() }, func(e Envelope) Envelope { e.MessageID = "<a@b@c>"; return e }, "Message-ID"},
	} {
		for _, f := range []Format{FormatKolab3, FormatICal, FormatKolab2} {
			it := tc.item()
			env := envelopeFor(it)
			if tc.env != nil {
				env = tc.env(env)
			}
			err := WriteMessage(io.Discard, it, f, env)
			if tc.name == "gender" && f != FormatKolab3 {
				continue // only Kolab v3 has a gender element to reject
			}
			if tc.name == "bad frequency" && f == FormatKolab2 || tc.name == "count and until" && f == FormatKolab2 {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s/%s: err = %v, want %q", tc.name, f, err, tc.want)
				}
				continue
			}
			if tc.name == "exception without recurrence" && f == FormatKolab2 {
				continue // Kolab 2 drops exceptions of a series to exclusions, a non-recurring event has none to drop
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s/%s: err = %v, want %q", tc.name, f, err, tc.want)
			}
			if tc.name == "no uid" && !errors.Is(err, ErrNoUID) {
				t.Errorf("no uid: %v is not ErrNoUID", err)
			}
		}
	}
}

func TestCleanText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{trickyText, trickyClean},
		{"a\rb\x00c\x1fd\x7fe\uFFFEf", "a\nbcdef"},
		{"tab\tkept", "tab\tkept"},
	} {
		eq(t, "cleanText("+tc.in+")", cleanText(tc.in), tc.want)
	}
	eq(t, "icalEscape", icalEscape("a\\b;c,d\ne"), `a\\b\;c\,d\ne`)
	eq(t, "xmlEscape", xmlEscape(`<a href="x">&'</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;")
	eq(t, "param", icalParamValue(`Doe, "Jo"`), `"Doe, 'Jo'"`)
	var w icalWriter
	w.line("DESCRIPTION:" + strings.Repeat("ö", 80))
	for _, l := range strings.Split(strings.TrimSuffix(w.b.String(), "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("folded line %q: %d octets", l, len(l))
		}
		if strings.ToValidUTF8(l, "?") != l {
			t.Errorf("folded line splits a UTF-8 sequence: %q", l)
		}
	}
	eq(t, "duration", icalDuration(90*time.Minute)+" "+icalDuration(14*24*time.Hour)+" "+icalDuration(-5*time.Minute)+" "+icalDuration(0), "-PT1H30M -P2W PT5M PT0S")
}

// TestHeadersAndAttachments checks RFC 2047 subjects, a missing From and the base64 line length with the
// email parser.
func TestHeadersAndAttachments(t *testing.T) {
	long := strings.Repeat("Überlange Betreffzeile mit Umlauten äöü ", 6) + "Ende"
	e := busyEvent("long-subject", BusyBusy)
	e.Summary = long
	e.Attachments = []Attachment{attachment("Größe ½ — ☃.bin", "application/octet-stream", pattern(10_000))}
	var withFrom, noFrom bytes.Buffer
	if err := WriteMessage(&withFrom, e, FormatICal, envelopeFor(e)); err != nil {
		t.Fatal(err)
	}
	if err := WriteMessage(&noFrom, e, FormatKolab3, Envelope{}); err != nil {
		t.Fatal(err)
	}
	res := oracle.Email(t, [][]byte{withFrom.Bytes(), noFrom.Bytes()})
	for i, r := range res {
		if d := r.AllDefects(); len(d) > 0 || r.Error != "" {
			t.Errorf("message %d: %v %s", i, d, r.Error)
		}
		if r.LongestLine > 78 {
			t.Errorf("message %d: line of %d octets", i, r.LongestLine)
		}
	}
	eq(t, "subject", res[0].Subject, long)
	var att oracle.EmailPart
	for _, p := range res[0].Leaves() {
		if p.ContentType == "application/octet-stream" {
			att = p
		}
	}
	eq(t, "non-ASCII filename", att.Filename, "Größe ½ — ☃.bin")
	eq(t, "attachment size", att.Size, 10_000)
	if len(res[1].From) != 1 || res[1].From[0].Email != placeholderFrom {
		t.Errorf("placeholder From = %+v", res[1].From)
	}
	eq(t, "derived Message-ID", strings.HasSuffix(res[1].Header("Message-ID"), "@mailshift.invalid>"), true)
	eq(t, "date from LastModified", res[1].Header("Date"), "Sat, 03 Feb 2024 04:05:06 +0000")
	// base64 lines are exactly 76 characters (RFC 2045 §6.8)
	for _, l := range strings.Split(noFrom.String(), "\r\n") {
		if len(l) > 76 && !strings.Contains(l, ":") && !strings.HasPrefix(l, " ") {
			t.Fatalf("base64 line of %d characters", len(l))
		}
	}
}

// TestVTimezoneIrregular: São Paulo ended summer time in 2019, so its transitions do not repeat and are
// written one by one; dateutil must still place every instance right.
func TestVTimezoneIrregular(t *testing.T) {
	sp := mustZone("America/Sao_Paulo")
	e := &Event{
		Common: Common{UID: "sao-paulo", Created: created, LastModified: changed, Summary: "Anual"},
		Start:  at(sp, 2018, 12, 1, 10, 0), End: at(sp, 2018, 12, 1, 11, 0),
		Recurrence: &Recurrence{Rule: Rule{Freq: Yearly, Count: 3, WeekStart: time.Monday}},
	}
	syd := mustZone("Australia/Sydney")
	s := &Event{
		Common: Common{UID: "sydney", Created: created, LastModified: changed, Summary: "Monthly"},
		Start:  at(syd, 2024, 3, 5, 9, 0), End: at(syd, 2024, 3, 5, 9, 30),
		Recurrence: &Recurrence{Rule: Rule{Freq: Monthly, Count: 3, ByDay: []WeekdayNum{{N: 1, Weekday: time.Tuesday}}, WeekStart: time.Monday}},
	}
	var docs [][]byte
	for _, ev := range []*Event{e, s} {
		body, err := icalEvent(ev, nil, created, changed)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, []byte(body))
	}
	res := oracle.ICalendar(t, docs, time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	want := [][]string{
		{"2018-12-01T12:00:00Z", "2019-12-01T13:00:00Z", "2020-12-01T13:00:00Z"},
		// first Tuesdays (5 March, 2 April, 7 May); Sydney leaves summer time (UTC+11) on 7 April 2024 for UTC+10
		{"2024-03-04T22:00:00Z", "2024-04-01T22:00:00Z", "2024-05-06T23:00:00Z"},
	}
	for i, r := range res {
		if r.Error != "" {
			t.Fatalf("%d: %s", i, r.Error)
		}
		var got []string
		for _, in := range r.Instances {
			got = append(got, in.Start)
		}
		eqSlice(t, "instances", got, want[i])
	}
}
