package calobject

import (
	"bytes"
	"os"
	"testing"
)

// FuzzObject checks the read-modify-write path on any input: what OpenObject opens, Body writes so that
// it opens again and is written the same a second time (the XML tree and package ical keep what they read).
func FuzzObject(f *testing.F) {
	for _, name := range []string{"libkolabxml-event-alarm.xml", "kolab2-event.xml", "thunderbird-event.ics", "roundcube-contact.vcf", "roundcube-kolab3.eml"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><event><a b="x&#xA;y">t&amp;<![CDATA[<c>]]></a><e/><!--c--></event>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := OpenObject(data)
		if err != nil {
			return
		}
		first := o.Body()
		again, err := OpenObject(first)
		if err != nil {
			t.Fatalf("written object does not open: %v\n%q", err, first)
		}
		if second := again.Body(); !bytes.Equal(first, second) {
			t.Fatalf("written differently the second time:\n%q\n%q", first, second)
		}
		if again.UID() != o.UID() {
			t.Fatalf("UID %q became %q", o.UID(), again.UID())
		}
	})
}
