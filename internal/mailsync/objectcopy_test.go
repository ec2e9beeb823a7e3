package mailsync

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/calobject"
	"github.com/mailshift/mailshift/internal/groupware"
)

// TestRewriteConflict: a conflict's losing version, in each storage format, becomes an object of its own:
// the new UID, its title marked, the note in its description (a contact's note), the rest as it was.
func TestRewriteConflict(t *testing.T) {
	when := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	event := &groupware.Event{Common: groupware.Common{UID: "ev-1", Summary: "board meeting", Created: when, LastModified: when},
		Start: groupware.DateTime{Time: when.Add(48 * time.Hour)}, End: groupware.DateTime{Time: when.Add(49 * time.Hour)}, Location: "room 2", Sequence: 4}
	described := &groupware.Event{Common: groupware.Common{UID: "ev-2", Summary: "review", Description: "bring the figures", Created: when, LastModified: when},
		Start: groupware.DateTime{Time: when.Add(48 * time.Hour)}, End: groupware.DateTime{Time: when.Add(49 * time.Hour)}}
	contact := &groupware.Contact{Common: groupware.Common{UID: "c-1", Created: when, LastModified: when}, FormattedName: "Ada Lovelace",
		Name: groupware.Name{Family: "Lovelace", Given: "Ada"}, Emails: []groupware.Email{{Address: "ada@example.test"}}}
	for _, c := range []struct {
		name         string
		item         groupware.Item
		format       groupware.Format
		title, text  string
		keep, keepTo string // a property the rewrite must not lose, and its value
	}{
		{"Kolab v3 event", event, groupware.FormatKolab3, "SUMMARY", "DESCRIPTION", "LOCATION", "room 2"},
		{"iCalendar event", event, groupware.FormatICal, "SUMMARY", "DESCRIPTION", "LOCATION", "room 2"},
		{"Kolab v2 event", event, groupware.FormatKolab2, "SUMMARY", "DESCRIPTION", "LOCATION", "room 2"},
		{"Kolab v3 event with a description", described, groupware.FormatKolab3, "SUMMARY", "DESCRIPTION", "DESCRIPTION", "bring the figures"},
		{"Kolab v3 contact", contact, groupware.FormatKolab3, "FN", "NOTE", "EMAIL", "ada@example.test"},
		{"vCard contact", contact, groupware.FormatICal, "FN", "NOTE", "EMAIL", "ada@example.test"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var msg bytes.Buffer
			if err := groupware.WriteMessage(&msg, c.item, c.format, groupware.Envelope{}); err != nil {
				t.Fatal(err)
			}
			orig, err := calobject.OpenObject(msg.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			title, _ := orig.Get(c.title)
			out, err := rewriteConflict(msg.Bytes(), orig.UID()+"-conflict-1", "the target", when.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			got, err := calobject.OpenObject(out)
			if err != nil {
				t.Fatalf("the conflict copy is no object: %v\n%s", err, out)
			}
			if got.UID() != orig.UID()+"-conflict-1" || got.Format != orig.Format || got.KolabType != orig.KolabType {
				t.Errorf("UID %q, format %q/%q; want %q, %q/%q", got.UID(), got.Format, got.KolabType, orig.UID()+"-conflict-1", orig.Format, orig.KolabType)
			}
			if v, _ := got.Get(c.title); v != title+" (conflict copy)" {
				t.Errorf("%s %q", c.title, v)
			}
			if v, _ := got.Get(c.text); !strings.Contains(v, "Conflict copy kept by mailshift sync") || !strings.Contains(v, orig.UID()) || !strings.Contains(v, "the target") {
				t.Errorf("%s %q: no note naming the side and the original UID", c.text, v)
			}
			if v, _ := got.Get(c.keep); !strings.Contains(v, c.keepTo) {
				t.Errorf("%s %q, want it kept (%q)", c.keep, v, c.keepTo)
			}
		})
	}
}
