package oracle

import (
	"testing"
	"time"
)

// The oracles must report what they reject, or the writers' tests could not fail.
func TestOraclesReportErrors(t *testing.T) {
	k := Kolab(t, []KolabDoc{{Kind: "event", XML: []byte("<icalendar/>")}, {Kind: "note", XML: []byte("not xml")}})
	for i, r := range k {
		if r.ErrorLevel < 2 || r.Err() == nil {
			t.Errorf("kolab %d: error level %d for a broken document", i, r.ErrorLevel)
		}
	}
	ic := ICalendar(t, [][]byte{[]byte("BEGIN:VCALENDAR\r\nBROKEN\r\n")}, time.Unix(0, 0), time.Unix(1, 0))
	if ic[0].Error == "" {
		t.Error("icalendar accepted a broken calendar")
	}
	vc := VCard(t, [][]byte{[]byte("BEGIN:VCARD\r\nVERSION:3.0\r\n")})
	if vc[0].Error == "" {
		t.Error("vobject accepted a broken vCard")
	}
	em := Email(t, [][]byte{[]byte("Subject: x\nContent-Type: multipart/mixed\n\nno boundary\n")})
	if len(em[0].AllDefects()) == 0 || em[0].BareLF == 0 {
		t.Errorf("email: no defects reported for a broken message: %+v", em[0])
	}
	x := XML(t, [][]byte{[]byte("<a><b>1</b><b>2</b></a>"), []byte("<a>")})
	if len(x[0].Root.All("b")) != 2 || x[0].Root.TextAt("b") != "1" || x[1].Error == "" {
		t.Errorf("xml: %+v", x)
	}
}
