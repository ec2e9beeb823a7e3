package msgid

import "testing"

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"<A1@Example.ORG>":     "A1@example.org",
		" <a1@x.org>\r\n ":     "a1@x.org",
		"<Part\r\n One@X.org>": "PartOne@x.org",
		"<>":                   "",
		"":                     "",
		"no-domain":            "no-domain",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFromHeader: the Message-ID Exchange rewrote is seen through, and the Headers key is the same for the
// same message written two ways (another time zone, another From display name and case, an encoded
// Subject), and differs for another message.
func TestFromHeader(t *testing.T) {
	ex := FromHeader([]byte("Message-ID: <XYZ@exchange.example.com>\r\nX-MS-Exchange-Parent-Message-Id: <A1@Example.org>\r\nSubject: hi"), 10)
	if ex.MessageID != "XYZ@exchange.example.com" || ex.ParentMessageID != "A1@example.org" {
		t.Errorf("Exchange's copy: %+v", ex)
	}
	if k := ex.Keys(); len(k) != 3 || k[1] != "id:A1@example.org" {
		t.Errorf("keys %q", k)
	}
	one := FromHeader([]byte("Message-ID: <m@x.org>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nFrom: Ann <Ann@X.org>\r\nSubject: =?utf-8?q?caf=C3=A9?="), 10)
	two := FromHeader([]byte("Message-ID: <m@x.org>\r\nDate: Mon, 1 Jan 2024 11:00:00 +0100\r\nFrom: ann@x.org\r\nSubject: café"), 20)
	other := FromHeader([]byte("Message-ID: <m@x.org>\r\nDate: Mon, 1 Jan 2024 11:00:00 +0000\r\nFrom: ann@x.org\r\nSubject: café"), 20)
	if one.Headers == "" || one.Headers != two.Headers {
		t.Errorf("the same message written two ways: %q and %q", one.Headers, two.Headers)
	}
	if other.Headers == one.Headers {
		t.Error("another Date gave the same Headers key")
	}
	if one.Content == two.Content {
		t.Error("the content key is of the values as written, with the size: it must differ here")
	}
	noID := FromHeader([]byte("Subject: x"), 1)
	if dk := noID.DecidingKeys(); len(dk) != 1 || dk[0] != "content:"+noID.Content {
		t.Errorf("deciding keys without a Message-ID: %q", dk)
	}
	if broken := FromHeader([]byte("\x00not a header"), 1); broken.String() != "content:" {
		t.Errorf("an unreadable header gave %+v", broken)
	}
}
