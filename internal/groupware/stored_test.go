package groupware_test

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/calobject"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/oracle"
)

// The sync round trip through whole messages: read a stored object, change it, write the message again
// with groupware.WriteStored, and read it back: the same UID, kind of message and attachments, the changed object.

var storedNow = time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)

// withAttachment adds a base64 part with a Content-ID before the closing boundary of a multipart message.
func withAttachment(t *testing.T, msg []byte, boundary string) []byte {
	t.Helper()
	closing := []byte("--" + boundary + "--")
	i := bytes.LastIndex(msg, closing)
	if i < 0 {
		t.Fatalf("no closing boundary %q", boundary)
	}
	part := "--" + boundary + "\r\nContent-Type: application/pdf; name=\"Plan Q2.pdf\"\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-ID: <plan-q2@example.org>\r\nContent-Disposition: attachment; filename=\"Plan Q2.pdf\"\r\n\r\nJVBERi0xLjQKJcOkw7zDtsOfCg==\r\n\r\n"
	return append(append(append([]byte(nil), msg[:i]...), part...), msg[i:]...)
}

func storedOf(o *calobject.Object, subject string) groupware.Stored {
	s := groupware.Stored{UID: o.UID(), KolabType: o.KolabType, MediaType: o.MediaType, Filename: o.Filename, Body: o.Body(),
		Subject: subject, Modified: storedNow}
	for _, a := range o.Attachments {
		s.Attachments = append(s.Attachments, groupware.StoredPart{MediaType: a.MediaType, Filename: a.Filename, ContentID: a.ContentID, Body: a.Body})
	}
	return s
}

func TestWriteStoredRoundTrip(t *testing.T) {
	kolab3, err := os.ReadFile("../calobject/testdata/roundcube-kolab3.eml")
	if err != nil {
		t.Fatal(err)
	}
	kolab3 = withAttachment(t, kolab3, "=_3a1b8e8e3f0c6f7d1b2c4d5e6f708192")
	thunderbird, err := os.ReadFile("../calobject/testdata/thunderbird-event.ics")
	if err != nil {
		t.Fatal(err)
	}
	plain := append([]byte("From: anna@example.org\r\nSubject: Quartalsplanung Q2\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/calendar; charset=utf-8; method=PUBLISH\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"), thunderbird...)
	kolab2, err := os.ReadFile("../calobject/testdata/kolab2-event.xml")
	if err != nil {
		t.Fatal(err)
	}
	kolab2Msg := append([]byte("From: anna@example.org\r\nSubject: KOrganizer-1731540201.1042\r\nMIME-Version: 1.0\r\n"+
		"X-Kolab-Type: application/x-vnd.kolab.event\r\nContent-Type: multipart/mixed; boundary=\"b2\"\r\n\r\n"+
		"--b2\r\nContent-Type: text/plain\r\n\r\nThis is a Kolab Groupware object.\r\n"+
		"--b2\r\nContent-Type: application/x-vnd.kolab.event; name=kolab.xml\r\nContent-Disposition: attachment; filename=kolab.xml\r\n\r\n"),
		kolab2...)
	kolab2Msg = append(kolab2Msg, "\r\n--b2--\r\n"...)

	var outs [][]byte
	for _, tt := range []struct {
		name        string
		msg         []byte
		kolabType   string
		mimeVersion string // X-Kolab-Mime-Version
		attachments int
		kept        []string // what the reader does not understand, as it must come back in the object
	}{
		{"Kolab v3 by Roundcube", kolab3, "application/x-vnd.kolab.event", "3.0", 1,
			[]string{"<identifier>X-MICROSOFT-CDO-BUSYSTATUS</identifier>", "<x-kolab-version>"}},
		{"iCalendar by Thunderbird", plain, "", "", 0,
			[]string{"\r\nX-MOZ-GENERATION:3\r\n", "\r\nX-MOZ-LASTACK:20260301T075012Z\r\nEND:VALARM\r\n", "X-NUM-GUESTS=0"}},
		{"Kolab v2 by KOrganizer", kolab2Msg, "application/x-vnd.kolab.event", "", 0,
			[]string{`<horde-extension xmlns:h="http://horde.org/kolab" h:scope="private"><h:color>#ff8800</h:color></horde-extension>`,
				"<!-- written by a client that knows elements this reader does not -->"}},
	} {
		o, err := calobject.OpenObject(tt.msg)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		uid := o.UID()
		o.SetText("SUMMARY", "Geändert beim Abgleich")
		if err := o.Touch(storedNow); err != nil {
			t.Fatal(err)
		}
		changed := o.Body()
		var out bytes.Buffer
		if err := groupware.WriteStored(&out, storedOf(o, "Geändert beim Abgleich"), groupware.Envelope{From: groupware.Person{Email: "anna@example.org"}}); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		outs = append(outs, out.Bytes())
		again, err := calobject.OpenObject(out.Bytes())
		if err != nil {
			t.Fatalf("%s: reading the written message: %v\n%s", tt.name, err, out.Bytes())
		}
		if again.UID() != uid || uid == "" || again.KolabType != tt.kolabType || again.MediaType != o.MediaType || again.Format != o.Format {
			t.Errorf("%s: read back UID %q, type %q, %s, %s; want %q, %q, %s, %s", tt.name, again.UID(), again.KolabType,
				again.MediaType, again.Format, uid, tt.kolabType, o.MediaType, o.Format)
		}
		// A text part ends with a line end, which an XML object may not have had: white space after the
		// root element means nothing.
		if got := again.Body(); !bytes.Equal(bytes.TrimRight(got, "\r\n"), bytes.TrimRight(changed, "\r\n")) {
			t.Errorf("%s: the object changed on the way through the message:\n%q\nwant\n%q", tt.name, got, changed)
		}
		if len(again.Attachments) != tt.attachments || !reflect.DeepEqual(again.Attachments, o.Attachments) {
			t.Errorf("%s: attachments %+v, want %d as read: %+v", tt.name, again.Attachments, tt.attachments, o.Attachments)
		}
		for _, want := range tt.kept {
			if !bytes.Contains(tt.msg, []byte(want)) || !bytes.Contains(again.Body(), []byte(want)) {
				t.Errorf("%s: %q is not in both the message read and the message written", tt.name, want)
			}
		}
		if s, _ := again.Get("SUMMARY"); s != "Geändert beim Abgleich" {
			t.Errorf("%s: SUMMARY %q", tt.name, s)
		}
		evs, err := calobject.Read(out.Bytes())
		if err != nil || len(evs) == 0 || evs[0].UID != uid {
			t.Errorf("%s: the free/busy reader reads %v, %v", tt.name, evs, err)
		}
		if mv := header(out.Bytes(), "X-Kolab-Mime-Version"); mv != tt.mimeVersion {
			t.Errorf("%s: X-Kolab-Mime-Version %q, want %q", tt.name, mv, tt.mimeVersion)
		}
	}
	// Python's email package, an independent reader, finds well-formed messages with the object part and
	// the attachment where they belong.
	for i, r := range oracle.Email(t, outs) {
		if r.Error != "" || len(r.AllDefects()) > 0 || r.BareLF > 0 || r.LongestLine > 998 {
			t.Errorf("message %d: %s %v bare LF %d longest %d", i, r.Error, r.AllDefects(), r.BareLF, r.LongestLine)
		}
		if i == 0 {
			leaves := r.Leaves()
			if len(leaves) != 3 || leaves[1].ContentType != "application/calendar+xml" || leaves[2].ContentID != "<plan-q2@example.org>" ||
				leaves[2].Filename != "Plan Q2.pdf" || r.Header("Subject") != "3f4a1d2e-roundcube-7c1b@example.org" {
				t.Errorf("Kolab v3 message as Python reads it: subject %q, parts %+v", r.Header("Subject"), leaves)
			}
		}
	}
}

func header(msg []byte, name string) string {
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestWriteStoredRejects(t *testing.T) {
	ok := groupware.Stored{UID: "u", MediaType: "text/calendar", Body: []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), Modified: storedNow}
	for name, s := range map[string]groupware.Stored{
		"no UID":        func() groupware.Stored { s := ok; s.UID = " "; return s }(),
		"no media type": func() groupware.Stored { s := ok; s.MediaType = "calendar"; return s }(),
		"empty body":    func() groupware.Stored { s := ok; s.Body = nil; return s }(),
		"no time":       func() groupware.Stored { s := ok; s.Modified = time.Time{}; return s }(),
		"bad cid": func() groupware.Stored {
			s := ok
			s.Attachments = []groupware.StoredPart{{MediaType: "text/plain", ContentID: "a b@c", Body: []byte("x")}}
			return s
		}(),
	} {
		if err := groupware.WriteStored(&bytes.Buffer{}, s, groupware.Envelope{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := groupware.WriteStored(&bytes.Buffer{}, ok, groupware.Envelope{}); err != nil {
		t.Errorf("a valid object: %v", err)
	}
}
