package calobject

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/groupware"
)

const invitation = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:invite-1\r\n" +
	"SUMMARY:Besprechung \xfcber Pl\xe4ne\r\nDTSTART;TZID=Europe/Berlin:20260520T150000\r\nDTEND;TZID=Europe/Berlin:20260520T160000\r\n" +
	"END:VEVENT\r\nEND:VCALENDAR\r\n"

// wrap76 is base64 in 76-character lines.
func wrap76(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s + "\r\n")
	return b.String()
}

var wantInvite = []*Event{{UID: "invite-1", Summary: "Besprechung über Pläne", Start: zt(berlin, 2026, 5, 20, 15, 0), End: zt(berlin, 2026, 5, 20, 16, 0)}}

func TestReadMIMELayouts(t *testing.T) {
	alternative := crlf(`From: Anna <anna@example.org>
To: bernd@example.org
Subject: Einladung
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative;
	boundary=inner

--inner
Content-Type: text/plain; charset=utf-8

Bitte zusagen.
--inner
Content-Type: text/html; charset=utf-8

<p>Bitte zusagen.</p>
--inner
Content-Type: text/calendar; charset="ISO-8859-1"; method=REQUEST
Content-Transfer-Encoding: base64

`) + wrap76([]byte(invitation)) + crlf(`--inner--

--outer
Content-Type: application/pdf; name="agenda.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--outer--
`)
	wholeQP := crlf(`Subject: whole
MIME-Version: 1.0
Content-Type: text/calendar; method=PUBLISH; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
UID:invite-1
SUMMARY:Besprechung =FCber Pl=E4ne
DTSTART;TZID=3DEurope/Berlin:20260520T150000=20
DTEND;TZID=3DEurope/Berl=
in:20260520T160000
END:VEVENT
END:VCALENDAR
`)
	icsFile := crlf(`Subject: attached
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b1

--b1
Content-Type: text/plain

See attachment.
--b1
Content-Type: application/octet-stream; name="=?utf-8?q?einladung=2Eics?="
Content-Disposition: attachment
Content-Transfer-Encoding: base64

`) + wrap76([]byte(strings.ReplaceAll(strings.ReplaceAll(invitation, "\xfc", "ü"), "\xe4", "ä"))) + "--b1--\r\n"
	noBlankLine := crlf(`Subject: sloppy
Content-Type: multipart/mixed; boundary=x

--x

A part without header fields is text/plain.
--x
Content-Type: text/calendar; charset=latin1

`) + invitation // the last part is never closed: a cut-off message still gives its object
	lfOnly := strings.ReplaceAll(wholeQP, "\r\n", "\n")
	for name, msg := range map[string]string{"alternative": alternative, "whole QP": wholeQP, "ics file": icsFile,
		"sloppy": noBlankLine, "LF only": lfOnly} {
		got, err := Read([]byte(msg))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		checkEvents(t, name, got, wantInvite)
	}
}

func TestReadWithoutMessage(t *testing.T) {
	got, err := Read([]byte("\xEF\xBB\xBF\r\n" + strings.ReplaceAll(strings.ReplaceAll(invitation, "\xfc", "ü"), "\xe4", "ä")))
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "raw iCalendar", got, wantInvite)
	if got, err := Read([]byte(kontactKolab2)); err != nil || len(got) != 1 || got[0].UID != "libkcal-1829371902.731" {
		t.Errorf("raw Kolab 2: %v, %v", got, err)
	}
	if got, err := Read([]byte(rfc6321Doc)); err != nil || len(got) != 2 {
		t.Errorf("raw xCal: %v, %v", got, err)
	}
}

// A Kolab message with an .ics attachment is read from its xCal part, which Kolab clients read.
func TestReadPrefersKolabPart(t *testing.T) {
	e := &groupware.Event{Common: groupware.Common{UID: "kolab-with-ics", Created: created,
		Attachments: []groupware.Attachment{{Filename: "other.ics", MIMEType: "text/calendar", Open: openString(invitation)}}},
		Start: gwAt(berlin, 2026, 2, 2, 8, 0), End: gwAt(berlin, 2026, 2, 2, 9, 0)}
	for _, f := range []groupware.Format{groupware.FormatKolab3, groupware.FormatKolab2} {
		var b bytes.Buffer
		if err := groupware.WriteMessage(&b, e, f, groupware.Envelope{}); err != nil {
			t.Fatal(err)
		}
		got, err := Read(b.Bytes())
		if err != nil || len(got) != 1 || got[0].UID != "kolab-with-ics" {
			t.Errorf("%s: %v, %v", f, got, err)
		}
	}
}

func TestReadNoCalendarObject(t *testing.T) {
	task := &groupware.Task{Common: groupware.Common{UID: "task-1", Summary: "Task", Created: created},
		Due: gwAt(berlin, 2026, 2, 2, 8, 0)}
	note := &groupware.Note{Common: groupware.Common{UID: "note-1", Summary: "Note", Created: created}}
	msgs := map[string][]byte{
		"ordinary mail": []byte(crlf("From: a@example.org\nTo: b@example.org\nSubject: Lunch?\nContent-Type: text/plain; charset=utf-8\n\nHungry?\n")),
		"html mail": []byte(crlf("Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=q\n\n--q\nContent-Type: text/plain\n\nhi\n--q\n" +
			"Content-Type: text/html\n\n<b>hi</b>\n--q--\n")),
		"vtodo only":   []byte(crlf("Content-Type: text/calendar\n\nBEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VTODO\nUID:t\nEND:VTODO\nEND:VCALENDAR\n")),
		"garbage":      {0x00, 0xff, 0x13, 'x', '\n', 0x80},
		"empty":        {},
		"headers only": []byte("Subject: nothing\r\n"),
	}
	for name, it := range map[string]groupware.Item{"kolab3 task": task, "kolab2 task": task, "kolab3 note": note, "ical task": task} {
		f := groupware.FormatKolab3
		switch {
		case strings.HasPrefix(name, "kolab2"):
			f = groupware.FormatKolab2
		case strings.HasPrefix(name, "ical"):
			f = groupware.FormatICal
		}
		var b bytes.Buffer
		if err := groupware.WriteMessage(&b, it, f, groupware.Envelope{}); err != nil {
			t.Fatal(err)
		}
		msgs[name] = b.Bytes()
	}
	for name, msg := range msgs {
		evs, err := Read(msg)
		if !errors.Is(err, ErrNoCalendarObject) || len(evs) != 0 {
			t.Errorf("%s: %d events, err %v; want ErrNoCalendarObject", name, len(evs), err)
		}
		var pe *ParseError
		if errors.As(err, &pe) {
			t.Errorf("%s: %v is a ParseError; a message without an object is no fault", name, err)
		}
	}
}

func TestReadMIMEErrors(t *testing.T) {
	for name, c := range map[string]struct {
		msg, format, prop, says string
	}{
		"kolab without part": {"X-Kolab-Type: application/x-vnd.kolab.event\r\nContent-Type: text/plain\r\n\r\nnothing\r\n",
			FormatMIME, "X-Kolab-Type", "no application/calendar+xml"},
		"bad base64": {"Content-Type: text/calendar\r\nContent-Transfer-Encoding: base64\r\n\r\nQkVHSU4$$$\r\n",
			FormatMIME, "Content-Transfer-Encoding", "not base64"},
		"unknown encoding": {"Content-Type: text/calendar\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644\r\n",
			FormatMIME, "Content-Transfer-Encoding", "x-uuencode"},
		"unknown charset": {"Content-Type: text/calendar; charset=x-klingon\r\n\r\n\xff\xfe\r\n",
			FormatMIME, "Content-Type", "x-klingon"},
		"truncated xcal": {"X-Kolab-Type: application/x-vnd.kolab.event\r\nContent-Type: application/calendar+xml\r\n\r\n<icalendar><vcalendar><components>",
			FormatXCal, "", "truncated"},
	} {
		_, err := Read([]byte(c.msg))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: err = %v, want a *ParseError", name, err)
			continue
		}
		if pe.Format != c.format || pe.Property != c.prop || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %q (format %q, property %q); want format %q, property %q, mentioning %q", name, err, pe.Format, pe.Property, c.format, c.prop, c.says)
		}
	}
}

func TestDecodeQP(t *testing.T) {
	for in, want := range map[string]string{
		"a=3Db":          "a=b",
		"soft=\r\nbreak": "softbreak",
		"soft=\nbreak":   "softbreak",
		"pad  \r\nnext":  "pad\r\nnext",
		"pad=  \r\nnext": "padnext",
		"stray = sign":   "stray = sign",
		"bad=G1":         "bad=G1",
		"lower=e4":       "lower\xe4",
		"end=":           "end",
		"tab\tinside":    "tab\tinside",
	} {
		if got := string(decodeQP([]byte(in))); got != want {
			t.Errorf("decodeQP(%q) = %q, want %q", in, got, want)
		}
	}
}

func openString(s string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(s)), nil }
}

// simpleMediaType must agree with mime.ParseMediaType wherever it answers.
func TestSimpleMediaType(t *testing.T) {
	for _, v := range []string{
		`multipart/mixed; boundary="=_mailshift_dd62f53adc796ffca0aecf1636cbc783"`,
		`application/calendar+xml; charset="UTF-8"; name="kolab.xml"`,
		`text/calendar; charset=utf-8; method=REQUEST`,
		`Text/Calendar;CHARSET=ISO-8859-1 ;method=PUBLISH;`,
		`multipart/alternative;` + "\r\n\t" + `boundary=inner`,
		`text/plain`,
		`text/plain; name="a;b.ics"`,
		`text/plain; name="a \"quoted\" name"`,
		`text/plain; name*=utf-8''%C3%A4.ics`,
		`text/plain; a=1; a=2`,
		`text/plain; =x`,
		`text/plain; name="unterminated`,
		`attachment; filename=kolab.xml; size=3019`,
	} {
		mt, params, ok := simpleMediaType(v)
		if !ok {
			continue
		}
		wmt, wparams, err := mime.ParseMediaType(v)
		if err != nil {
			t.Errorf("%q: simple parse accepted what mime rejects (%v)", v, err)
			continue
		}
		if mt != wmt || len(params) != len(wparams) {
			t.Errorf("%q: %q %v, mime: %q %v", v, mt, params, wmt, wparams)
			continue
		}
		for k, pv := range wparams {
			if params[k] != pv {
				t.Errorf("%q: %s = %q, mime: %q", v, k, params[k], pv)
			}
		}
	}
}

// Read is safe for concurrent use: the zone cache is shared.
func TestReadConcurrent(t *testing.T) {
	msgs := benchMessages(t, 200)
	done := make(chan error)
	for w := 0; w < 4; w++ {
		go func() {
			for _, m := range msgs {
				if _, err := Read(m); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for w := 0; w < 4; w++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
