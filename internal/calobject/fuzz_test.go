package calobject

import (
	"bytes"
	"mime"
	"os"
	"testing"

	"github.com/mailshift/mailshift/internal/groupware"
)

// The fuzz targets check that no input panics and that every event returned has a start; hack/fuzz-brief.sh
// runs them briefly as part of the test suite.

// seedMessages are the round-trip items written in every format.
func seedMessages(tb testing.TB) map[groupware.Format][][]byte {
	out := map[groupware.Format][][]byte{}
	for _, c := range roundTrips() {
		for _, f := range []groupware.Format{groupware.FormatKolab3, groupware.FormatICal, groupware.FormatKolab2} {
			var b bytes.Buffer
			if err := groupware.WriteMessage(&b, c.item, f, groupware.Envelope{}); err != nil {
				tb.Fatal(err)
			}
			out[f] = append(out[f], b.Bytes())
		}
	}
	return out
}

// calendarPart is the decoded calendar part of a written message.
func calendarPart(tb testing.TB, msg []byte) []byte {
	var part []byte
	count := 0
	leaves(parseEntity(msg), 0, &count, func(e entity) {
		if classify(e) >= 0 && part == nil {
			var err error
			if part, err = decodeBody(e); err != nil {
				tb.Fatal(err)
			}
		}
	})
	if part == nil {
		tb.Fatalf("no calendar part in\n%s", msg)
	}
	return part
}

func checkFuzzResult(t *testing.T, evs []*Event) {
	var check func(e *Event)
	check = func(e *Event) {
		if e == nil {
			t.Fatal("nil event")
		}
		if e.Start.IsZero() {
			t.Fatalf("event %q has no start", e.UID)
		}
		for _, o := range e.Overrides {
			check(o)
		}
	}
	for _, e := range evs {
		check(e)
	}
}

func FuzzParseICalendar(f *testing.F) {
	for _, m := range seedMessages(f)[groupware.FormatICal] {
		f.Add(calendarPart(f, m))
	}
	for _, doc := range []string{outlookExport, lightningExport, customZone, recurrenceValues} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, _ := ParseICalendar(data)
		checkFuzzResult(t, evs)
	})
}

func FuzzParseXCal(f *testing.F) {
	for _, m := range seedMessages(f)[groupware.FormatKolab3] {
		f.Add(calendarPart(f, m))
	}
	f.Add([]byte(rfc6321Doc))
	if doc, err := os.ReadFile("testdata/libkolabxml-allday.xml"); err == nil {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, _ := ParseXCal(data)
		checkFuzzResult(t, evs)
	})
}

func FuzzParseKolab2(f *testing.F) {
	for _, m := range seedMessages(f)[groupware.FormatKolab2] {
		f.Add(calendarPart(f, m))
	}
	f.Add([]byte(kontactKolab2))
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, _ := ParseKolab2(data)
		checkFuzzResult(t, evs)
	})
}

func FuzzRead(f *testing.F) {
	for _, msgs := range seedMessages(f) {
		for _, m := range msgs {
			f.Add(m)
		}
	}
	if rc, err := os.ReadFile("testdata/roundcube-kolab3.eml"); err == nil {
		f.Add(rc)
	}
	f.Add([]byte("Content-Type: text/calendar\r\nContent-Transfer-Encoding: base64\r\n\r\n" + wrap76([]byte(invitation))))
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, _ := Read(data)
		checkFuzzResult(t, evs)
	})
}

// FuzzMediaType checks the fast Content-Type parser against mime.ParseMediaType wherever it answers.
func FuzzMediaType(f *testing.F) {
	f.Add(`text/calendar; charset="utf-8"; method=REQUEST`)
	f.Add(`multipart/mixed; boundary=abc`)
	f.Fuzz(func(t *testing.T, v string) {
		mt, params, ok := simpleMediaType(v)
		if !ok {
			return
		}
		wmt, wparams, err := mime.ParseMediaType(v)
		if err != nil {
			t.Fatalf("%q accepted, mime: %v", v, err)
		}
		if mt != wmt || len(params) != len(wparams) {
			t.Fatalf("%q: %q %v vs %q %v", v, mt, params, wmt, wparams)
		}
		for k, pv := range wparams {
			if params[k] != pv {
				t.Fatalf("%q: %s %q vs %q", v, k, params[k], pv)
			}
		}
	})
}
