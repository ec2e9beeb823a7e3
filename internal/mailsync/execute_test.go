package mailsync

import (
	"fmt"
	"testing"

	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/syncstate"
)

// TestPlanStoresOnlyWhatChanges: flags are set by what is added and removed (+FLAGS, -FLAGS), grouped by
// the same change, never replaced whole (which would undo a flag the user set in the meantime); deletions
// are a \Deleted STORE of exactly those messages, after the moves to the trash (their UID EXPUNGE waits for
// the side's last round trip: finishOn).
func TestPlanStoresOnlyWhatChanges(t *testing.T) {
	p := &syncstate.Pair{A: "INBOX", B: "INBOX"}
	fl := func(names ...string) syncstate.Flags { return p.FlagsOf(names) }
	c := &pairCycle{pair: p, fa: &sideFolders{}, fb: &sideFolders{trash: "Trash"}}
	c.snap[B] = Snapshot{
		1: {UID: 1, Flags: fl(`\Seen`)}, 2: {UID: 2, Flags: fl(`\Seen`)}, 3: {UID: 3, Flags: fl(`\Seen`, "$Work")},
		4: {UID: 4}, 5: {UID: 5}, 6: {UID: 6}, 7: {UID: 7},
	}
	d := Decision{Actions: []Action{
		{Kind: SetFlags, On: B, UID: 1, Flags: fl(`\Seen`, `\Flagged`)},
		{Kind: SetFlags, On: B, UID: 2, Flags: fl(`\Seen`, `\Flagged`)},
		{Kind: SetFlags, On: B, UID: 3, Flags: fl(`\Flagged`)},
		{Kind: Delete, On: B, UID: 4}, {Kind: Delete, On: B, UID: 5},
		{Kind: Trash, On: B, UID: 6},
		{Kind: Delete, On: B, UID: 7, Double: true},
		{Kind: SetFlags, On: A, UID: 9, Flags: fl(`\Seen`)},
	}}
	groups, changes := c.plan(B, d)
	var got []string
	for _, ch := range changes {
		switch {
		case ch.Expunge:
			got = append(got, "EXPUNGE "+ch.UIDs)
		case ch.MoveTo != "":
			got = append(got, "MOVE "+ch.UIDs+" "+ch.MoveTo)
		default:
			got = append(got, fmt.Sprint(ch.Store, " ", ch.UIDs, " ", ch.Flags))
		}
	}
	want := []string{
		`+FLAGS 1:2 [\Flagged]`,
		`+FLAGS 3 [\Flagged]`, `-FLAGS 3 [\Seen $Work]`,
		"MOVE 6 Trash",
		`+FLAGS 4:5 [\Deleted]`,
		`+FLAGS 7 [\Deleted]`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changes\n got %q\nwant %q", got, want)
	}
	if len(groups) != 5 || groups[1].n != 2 || !groups[1].flags.Equal(fl(`\Flagged`)) {
		t.Errorf("groups %+v", groups)
	}
}

// TestResyncedPresent: after a read QRESYNC answered, a side holds the messages the pair knows there less
// the vanished ones (ranges in any order, overlapping, naming UIDs that never were), and the new ones; a
// count that does not add up (a message the pair does not know below the old UIDNEXT) asks for the UIDs.
func TestResyncedPresent(t *testing.T) {
	known := map[uint32]syncstate.Flags{1: {}, 2: {}, 5: {}, 6: {}, 9: {}, 40: {}}
	read := &imapbulk.Folder{
		Vanished:   imapconn.UIDSet{{First: 8, Last: 12}, {First: 2, Last: 2}, {First: 10, Last: 30}, {First: 1000, Last: 2000}},
		Identities: []imapbulk.Identity{{UID: 40}, {UID: 41}, {UID: 43}},
	}
	present, ok := resyncedPresent(read, known, 6)
	if !ok || fmt.Sprint(present) != "[1 5 6 40 41 43]" {
		t.Errorf("present %v, ok %v", present, ok)
	}
	if _, ok := resyncedPresent(read, known, 7); ok {
		t.Error("a folder holding one more message than known and new: taken as read")
	}
	if got := merged(read.Vanished); got.String() != "2,8:30,1000:2000" || inRanges(got, 7) || !inRanges(got, 30) || !inRanges(got, 1000) {
		t.Errorf("merged %v", got)
	}
}
