package calobject

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/ical"
	"github.com/mailshift/mailshift/internal/oracle"
)

// The sync round trip: open a stored object, change what sync changes (SUMMARY, DTSTART, SEQUENCE,
// LAST-MODIFIED), write it back, and find everything else as it was.

var syncNow = time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openFixture(t *testing.T, data []byte) *Object {
	t.Helper()
	o, err := OpenObject(data)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Unchanged objects come back byte for byte where the writer wrote what package ical and the XML tree
// write (CRLF, 75-octet folds, properties before sub-components; any XML), and as the same tree otherwise.
func TestObjectUnchanged(t *testing.T) {
	for _, tt := range []struct {
		file      string
		format    string
		uid       string
		identical bool
	}{
		{"libkolabxml-event-alarm.xml", FormatXCal, "7d1e5c1a-sync-roundtrip@example.org", true},
		{"libkolabxml-allday.xml", FormatXCal, "allday-libkolabxml", true},
		{"kolab2-event.xml", FormatKolab2, "KOrganizer-1731540201.1042", true},
		{"thunderbird-event.ics", FormatICalendar, "5a3c2b1e-8f4d-4e2a-9b7c-1d2e3f4a5b6c", true},
		{"roundcube-event.ics", FormatICalendar, "9C5A2F7E3B1D4A6C8E0F1A2B3C4D5E6F-8D1A2B3C4D5E6F70", false},
		{"roundcube-contact.vcf", FormatVCard, "7f0e1d2c-3b4a-5968-7a6b-5c4d3e2f1a0b", true},
		{"thunderbird-contact.vcf", FormatVCard, "3b9e2a1c-7d4f-4c8e-a1b2-c3d4e5f60718", true},
	} {
		in := readFixture(t, tt.file)
		o := openFixture(t, in)
		if o.Format != tt.format || o.UID() != tt.uid {
			t.Errorf("%s: format %q, UID %q; want %q, %q", tt.file, o.Format, o.UID(), tt.format, tt.uid)
		}
		out := o.Body()
		if tt.identical && !bytes.Equal(out, in) {
			t.Errorf("%s: unchanged object written differently:\n%s", tt.file, out)
		}
		if o.doc == nil {
			sameTree(t, tt.file, in, out, nil)
		}
	}
}

// sameTree compares two iCalendar or vCard texts as component trees, leaving out the named properties of
// the object's main component.
func sameTree(t *testing.T, what string, before, after []byte, changed []string) {
	t.Helper()
	parse := func(b []byte) []*ical.Component {
		o, err := OpenObject(b)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for _, name := range changed {
			o.main().Remove(name)
		}
		stripLines(o.cal)
		return o.cal
	}
	if a, b := parse(before), parse(after); !reflect.DeepEqual(a, b) {
		t.Errorf("%s: properties or components other than %v changed:\nbefore %s\nafter  %s", what, changed, ical.Encode(a...), ical.Encode(b...))
	}
}

func stripLines(comps []*ical.Component) {
	for _, c := range comps {
		c.Line = 0
		for i := range c.Props {
			c.Props[i].Line = 0
		}
		stripLines(c.Components)
	}
}

func TestObjectRoundTripICalendar(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	for _, tt := range []struct {
		file  string
		start ical.DateTime // earlier on the same day
	}{
		{"thunderbird-event.ics", ical.DateTime{Year: 2026, Month: 3, Day: 2, Hour: 8, Minute: 45}},
		{"roundcube-event.ics", ical.DateTime{Year: 2026, Month: 3, Day: 10, Hour: 13}},
	} {
		file := tt.file
		in := readFixture(t, file)
		o := openFixture(t, in)
		seq, _ := o.Get("SEQUENCE")
		o.SetText("SUMMARY", "Neuer Titel; mit Komma, und Umlaut ä")
		if err := o.SetTime("DTSTART", tt.start); err != nil {
			t.Fatal(err)
		}
		if err := o.Touch(syncNow); err != nil {
			t.Fatal(err)
		}
		out := o.Body()
		sameTree(t, file, in, out, []string{"SUMMARY", "DTSTART", "SEQUENCE", "LAST-MODIFIED", "DTSTAMP"})

		again := openFixture(t, out)
		if got, _ := again.Get("SEQUENCE"); got == seq || got == "" {
			t.Errorf("%s: SEQUENCE %q after the change, %q before", file, got, seq)
		}
		if got, _ := again.Get("LAST-MODIFIED"); got != "20260305T120000Z" {
			t.Errorf("%s: LAST-MODIFIED %q", file, got)
		}
		if p := again.Component().Get("DTSTART"); p == nil || p.Value != tt.start.String() {
			t.Errorf("%s: DTSTART %+v", file, p)
		} else if tz, _ := p.Param("TZID"); tz != "Europe/Berlin" {
			t.Errorf("%s: DTSTART lost its TZID: %+v", file, p)
		}
		// The read model sees the change: the series moved, its modified instance did not.
		evs, err := Read(out)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if evs[0].Summary != "Neuer Titel; mit Komma, und Umlaut ä" || !evs[0].Start.T.Equal(tt.start.Reading().Add(-time.Hour).In(berlin)) {
			t.Errorf("%s: read back %q at %v", file, evs[0].Summary, evs[0].Start.T)
		}
		// The properties this code knows nothing of, spelled out, so that the test fails should the
		// comparison above ever compare nothing.
		for _, want := range []string{"X-MOZ-GENERATION:3", "X-MOZ-LASTACK:20260301T075012Z", "X-NUM-GUESTS=0", "X-ROUNDCUBE-UID=bob-42",
			"X-ROUNDCUBE-FREEBUSY:BUSY", "X-ROUNDCUBE-ALARM-ID:1", `CN="Raum ^'Elbe^', 3. OG"`, "BEGIN:VTIMEZONE", "X-LIC-LOCATION:Europe/Berlin"} {
			if bytes.Contains(in, []byte(want)) != bytes.Contains(unfold(out), []byte(want)) {
				t.Errorf("%s: %q is no longer written", file, want)
			}
		}
	}
}

func unfold(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n "), nil) }

func TestObjectRoundTripVCard(t *testing.T) {
	for _, tt := range []struct {
		file string
		kept []string // properties this code knows nothing of, spelled out
	}{
		{"roundcube-contact.vcf", []string{"item1.X-ABLabel:privat", "X-MANAGER:Anna Beispiel", "BDAY;VALUE=date:1980-04-12", "PHOTO;ENCODING=b;TYPE=PNG:"}},
		{"thunderbird-contact.vcf", []string{"X-MOZILLA-HTML:TRUE", "X-CUSTOM1;VALUE=TEXT:Kundennummer 4711", "TEL;TYPE=cell;VALUE=TEXT:+49 171 7654321", "EMAIL;PREF=1:"}},
	} {
		in := readFixture(t, tt.file)
		o := openFixture(t, in)
		o.SetText("FN", "Jürgen Müller-Schulze")
		if err := o.Touch(syncNow); err != nil {
			t.Fatal(err)
		}
		out := o.Body()
		sameTree(t, tt.file, in, out, []string{"FN", "REV"})
		again := openFixture(t, out)
		if fn, _ := again.Get("FN"); fn != "Jürgen Müller-Schulze" {
			t.Errorf("%s: FN %q", tt.file, fn)
		}
		if rev, _ := again.Get("REV"); rev != "20260305T120000Z" {
			t.Errorf("%s: REV %q", tt.file, rev)
		}
		for _, want := range tt.kept {
			if !bytes.Contains(unfold(out), []byte(want)) {
				t.Errorf("%s: %q is no longer written", tt.file, want)
			}
		}
	}
}

// withoutElements is an XML document written without the named elements (at any depth): what must be
// the same before and after a change of those elements.
func withoutElements(t *testing.T, doc []byte, names ...string) string {
	t.Helper()
	tree, err := parseTree(string(doc))
	if err != nil {
		t.Fatal(err)
	}
	var drop func(n *tnode)
	drop = func(n *tnode) {
		kept := n.children[:0]
		for _, c := range n.children {
			if c.raw == nil && !c.text && contains(names, c.name.Local) {
				continue
			}
			drop(c)
			kept = append(kept, c)
		}
		n.children = kept
	}
	drop(tree)
	var b bytes.Buffer
	tree.encode(&b)
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Kolab v3 as libkolabxml writes it, with an element from a future schema added: the change reaches the
// read model and libkolabxml itself, and every other element comes back as it was.
func TestObjectRoundTripKolab3(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	pristine := readFixture(t, "libkolabxml-event-alarm.xml")
	unknown := `<x-future-extension xmlns:f="urn:example:future" f:kind="opaque"><f:data>kept &amp; untouched</f:data></x-future-extension>`
	extended := bytes.Replace(pristine, []byte("<x-custom>"), []byte(unknown+"\n          <x-custom>"), 1)
	var outs [][]byte
	for _, in := range [][]byte{pristine, extended} {
		o := openFixture(t, in)
		o.SetText("SUMMARY", "Jour fixe (neu) & mehr")
		if err := o.SetTime("DTSTART", ical.DateTime{Year: 2026, Month: 3, Day: 2, Hour: 9, Minute: 15}); err != nil {
			t.Fatal(err)
		}
		if err := o.Touch(syncNow); err != nil {
			t.Fatal(err)
		}
		out := o.Body()
		outs = append(outs, out)
		changed := []string{"summary", "dtstart", "sequence", "dtstamp"}
		if a, b := withoutElements(t, in, changed...), withoutElements(t, out, changed...); a != b {
			t.Errorf("elements other than %v changed:\nbefore %s\nafter  %s", changed, a, b)
		}
		evs, err := Read(out)
		if err != nil {
			t.Fatal(err)
		}
		if evs[0].Summary != "Jour fixe (neu) & mehr" || !evs[0].Start.T.Equal(time.Date(2026, 3, 2, 9, 15, 0, 0, berlin)) {
			t.Errorf("read back %q at %v", evs[0].Summary, evs[0].Start.T)
		}
	}
	if !bytes.Contains(outs[1], []byte(unknown)) {
		t.Errorf("the unknown element is no longer written as it was:\n%s", outs[1])
	}
	// libkolabxml validates against its schema, which has no room for the unknown element: it reads the
	// object as libkolabxml wrote it, changed.
	res := oracle.Kolab(t, []oracle.KolabDoc{{Kind: "event", XML: outs[0]}})[0]
	if err := res.Err(); err != nil || res.Incidence == nil {
		t.Fatalf("libkolabxml: %v\n%s", err, outs[0])
	}
	inc := res.Incidence
	if inc.Summary != "Jour fixe (neu) & mehr" || inc.Sequence != 4 || len(inc.Alarms) != 1 || len(inc.Custom) != 2 ||
		len(inc.Attendees) != 1 || inc.Start == nil || inc.Start.Value != "2026-03-02T09:15:00" {
		t.Errorf("libkolabxml reads %+v", inc)
	}
}

func TestObjectRoundTripKolab2(t *testing.T) {
	in := readFixture(t, "kolab2-event.xml")
	o := openFixture(t, in)
	o.SetText("SUMMARY", "Teamrunde <verschoben>")
	if err := o.SetTime("DTSTART", ical.DateTime{Year: 2026, Month: 3, Day: 2, Hour: 9, UTC: true}); err != nil {
		t.Fatal(err)
	}
	if err := o.Touch(syncNow); err != nil {
		t.Fatal(err)
	}
	out := o.Body()
	changed := []string{"summary", "start-date", "last-modification-date"}
	if a, b := withoutElements(t, in, changed...), withoutElements(t, out, changed...); a != b {
		t.Errorf("elements other than %v changed:\nbefore %s\nafter  %s", changed, a, b)
	}
	for _, want := range []string{`<horde-extension xmlns:h="http://horde.org/kolab" h:scope="private"><h:color>#ff8800</h:color></horde-extension>`,
		"<!-- written by a client", "<revision>4</revision>", "<last-modification-date>2026-03-05T12:00:00Z</last-modification-date>",
		"<summary>Teamrunde &lt;verschoben&gt;</summary>"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("%q missing from\n%s", want, out)
		}
	}
	evs, err := Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].Summary != "Teamrunde <verschoben>" || !evs[0].Start.T.Equal(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("read back %q at %v", evs[0].Summary, evs[0].Start.T)
	}
}

// The message around a Kolab v3 object as Roundcube stored it: the object part is found, decoded and
// changed; the explanation part is not kept as an attachment.
func TestObjectOpenMessage(t *testing.T) {
	o := openFixture(t, readFixture(t, "roundcube-kolab3.eml"))
	if o.Format != FormatXCal || o.KolabType != "application/x-vnd.kolab.event" || o.MediaType != "application/calendar+xml" ||
		o.Filename != "kolab.xml" || o.UID() != "3f4a1d2e-roundcube-7c1b@example.org" {
		t.Errorf("opened %+v, UID %q", o, o.UID())
	}
	for _, a := range o.Attachments {
		if a.MediaType == "text/plain" && a.Filename == "" {
			t.Errorf("the explanation part is kept as an attachment")
		}
	}
	if _, err := OpenObject([]byte("From: a@b\r\nSubject: hi\r\n\r\njust mail\r\n")); err == nil {
		t.Errorf("a plain mail opened as an object")
	}
}

// After a change, the written object is the object as read with exactly the changed values replaced: the
// same bytes everywhere else (line ends, folds, order, case, quoting, X- and unknown properties, comments
// and XML the reader has no schema for). Each replacement must occur once in the input, so that a fixture
// edited out from under the test fails it rather than making it compare nothing.
func TestObjectRoundTripBytes(t *testing.T) {
	for _, tt := range []struct {
		file   string
		change func(o *Object) error
		repl   []string // old, new, …: each old occurs exactly once in the file
	}{
		{"thunderbird-event.ics", func(o *Object) error {
			o.SetText("SUMMARY", "Neuer Titel; mit Komma, und Umlaut ä")
			if err := o.SetTime("DTSTART", ical.DateTime{Year: 2026, Month: 3, Day: 2, Hour: 8, Minute: 45}); err != nil {
				return err
			}
			return o.Touch(syncNow)
		}, []string{
			"\r\nSUMMARY:Quartalsplanung Q2\r\n", "\r\nSUMMARY:Neuer Titel\\; mit Komma\\, und Umlaut ä\r\n",
			"\r\nDTSTART;TZID=Europe/Berlin:20260302T090000\r\n", "\r\nDTSTART;TZID=Europe/Berlin:20260302T084500\r\n",
			"\r\nSEQUENCE:2\r\n", "\r\nSEQUENCE:3\r\n",
			"\r\nLAST-MODIFIED:20260216T083012Z\r\n", "\r\nLAST-MODIFIED:20260305T120000Z\r\n",
			"\r\nDTSTAMP:20260216T083012Z\r\n", "\r\nDTSTAMP:20260305T120000Z\r\n",
		}},
		{"thunderbird-contact.vcf", func(o *Object) error {
			o.SetText("FN", "Jürgen Müller-Schulze")
			return o.Touch(syncNow) // the contact has no REV: it is added last
		}, []string{
			"\r\nFN:Anna Beispiel\r\n", "\r\nFN:Jürgen Müller-Schulze\r\n",
			"\r\nX-CUSTOM1;VALUE=TEXT:Kundennummer 4711\r\n", "\r\nX-CUSTOM1;VALUE=TEXT:Kundennummer 4711\r\nREV:20260305T120000Z\r\n",
		}},
		{"roundcube-contact.vcf", func(o *Object) error {
			o.SetText("NOTE", "Zwei Zeilen,\nmit Komma; und Semikolon")
			return o.Touch(syncNow)
		}, []string{
			"\r\nNOTE:Ansprechpartner für alle Fragen zur Migration der Kalender\\, Adressb\r\n ücher und Aufgaben. Bevorzugt per E-Mail – bitte keine Anrufe vor 9 Uhr\r\n .\r\n",
			"\r\nNOTE:Zwei Zeilen\\,\\nmit Komma\\; und Semikolon\r\n",
			"\r\nREV:20260220T081500Z\r\n", "\r\nREV:20260305T120000Z\r\n",
		}},
		{"libkolabxml-event-alarm.xml", func(o *Object) error {
			o.SetText("SUMMARY", "Jour fixe (neu) & <mehr>")
			if err := o.SetTime("DTSTART", ical.DateTime{Year: 2026, Month: 3, Day: 2, Hour: 9, Minute: 15}); err != nil {
				return err
			}
			return o.Touch(syncNow)
		}, []string{
			"<text>Projekt-Jour-fixe: Grüße</text>", "<text>Jour fixe (neu) &amp; &lt;mehr&gt;</text>",
			"<date-time>2026-03-02T09:30:00</date-time>", "<date-time>2026-03-02T09:15:00</date-time>",
			"<integer>3</integer>", "<integer>4</integer>",
			"<date-time>2026-02-21T08:00:00Z</date-time>", "<date-time>2026-03-05T12:00:00Z</date-time>",
		}},
		{"kolab2-event.xml", func(o *Object) error {
			o.SetText("SUMMARY", "Teamrunde <verschoben>")
			if err := o.SetTime("DTSTART", ical.DateTime{Year: 2026, Month: 3, Day: 2, Hour: 9, UTC: true}); err != nil {
				return err
			}
			return o.Touch(syncNow)
		}, []string{
			"<summary>Teamrunde Groupware</summary>", "<summary>Teamrunde &lt;verschoben&gt;</summary>",
			"<start-date>2026-03-02T08:30:00Z</start-date>", "<start-date>2026-03-02T09:00:00Z</start-date>",
			"<last-modification-date>2026-02-21T08:00:00Z</last-modification-date>", "<last-modification-date>2026-03-05T12:00:00Z</last-modification-date>",
		}},
	} {
		in := readFixture(t, tt.file)
		want := string(in)
		for i := 0; i < len(tt.repl); i += 2 {
			if n := strings.Count(want, tt.repl[i]); n != 1 {
				t.Fatalf("%s: %q occurs %d times in the fixture, want once", tt.file, tt.repl[i], n)
			}
			want = strings.Replace(want, tt.repl[i], tt.repl[i+1], 1)
		}
		o := openFixture(t, in)
		if err := tt.change(o); err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if got := string(o.Body()); got != want {
			t.Errorf("%s: written\n%s\nwant\n%s", tt.file, got, want)
		}
	}
}
