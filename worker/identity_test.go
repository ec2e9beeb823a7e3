package worker

import (
	"testing"

	"github.com/mailshift/mailshift/internal/msgid"
)

// TestIdentity: the keys a migration recognises a message by, including through Exchange's rewritten
// Message-ID, and the content key only for messages without one.
func TestIdentity(t *testing.T) {
	orig := msgid.FromHeader([]byte("Message-ID: <A1@Example.ORG>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nFrom: a@example.org\r\nSubject: hi"), 100)
	viaExchange := msgid.FromHeader([]byte("Message-ID: <XYZ@exchange.example.com>\r\nX-MS-Exchange-Parent-Message-Id: <A1@example.org>\r\nSubject: hi"), 100)
	other := msgid.FromHeader([]byte("Message-ID: <B2@example.org>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nFrom: a@example.org\r\nSubject: hi"), 100)
	noID := msgid.FromHeader([]byte("Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nFrom: a@example.org\r\nSubject: hi"), 100)
	noIDOtherSize := msgid.FromHeader([]byte("Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nFrom: a@example.org\r\nSubject: hi"), 101)
	if orig.MessageID != "A1@example.org" {
		t.Errorf("normalised Message-ID %q", orig.MessageID)
	}
	target := identitySet{}
	target.add(orig, targetMsg{uid: 1})
	for _, c := range []struct {
		name string
		id   Identity
		want bool
	}{
		{"the same message", orig, true},
		{"Exchange's copy of it, with its own Message-ID", viaExchange, true},
		{"another message with the same date, sender, subject and size", other, false},
		{"a message without Message-ID, same content key", noID, true},
		{"a message without Message-ID, other size", noIDOtherSize, false},
	} {
		if got := target.has(c.id); got != c.want {
			t.Errorf("%s: has = %v, want %v", c.name, got, c.want)
		}
	}
	// And the other way: Exchange's copy is on the target; the original comes again.
	target = identitySet{}
	target.add(viaExchange, targetMsg{uid: 2})
	if !target.has(orig) {
		t.Error("the original is not recognised against Exchange's copy")
	}
}

// TestCountStoredIsALowerBound: a message another unit's read already saw is not counted again when its
// APPEND settles, and neither is one without a UID; the checkpoint compares the mailbox with this count, so
// one too many would make the next run distrust a good checkpoint.
func TestCountStoredIsALowerBound(t *testing.T) {
	d := &destination{messages: 10, readUpTo: 12}
	for _, uid := range []uint32{11, 12, 0, 13, 14} {
		d.countStored(uid)
	}
	if d.messages != 12 {
		t.Errorf("messages = %d after storing UIDs 11 and 12 (read already), one without a UID, 13 and 14; want 12", d.messages)
	}
}
