package controllers

import (
	"testing"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/acl"
)

// TestLedgerAdoptsOldStatus: status written before entries were recorded named only the identifiers the
// FolderShare had set; those are adopted as entries it created (never the owner's), so deleting such a
// FolderShare still removes them, and a recorded ledger is taken as it is.
func TestLedgerAdoptsOldStatus(t *testing.T) {
	old := mailshiftv1.FolderShareStatus{
		ACLs:            []mailshiftv1.FolderACL{{Folder: "Calendar"}, {Folder: "Calendar/Team"}},
		AppliedGrantees: []string{"alice", "bob"},
	}
	l := ledgerOf(&old, "alice")
	if len(l) != 2 {
		t.Fatalf("adopted %v, want bob on both folders", l)
	}
	actual := map[string]acl.Set{"alice": acl.ParseLetters("lrswipkxtea"), "bob": acl.ParseLetters("lrs")}
	want := l.restoreWant("Calendar", "alice", actual)
	if w, ok := want["bob"]; !ok || !w.IsEmpty() || len(want) != 1 {
		t.Errorf("restoring Calendar asks for %v, want bob removed and the owner left alone", want)
	}

	recorded := mailshiftv1.FolderShareStatus{
		ACLs:            old.ACLs,
		AppliedGrantees: []string{"bob"},
		PriorEntries:    []mailshiftv1.PriorACLEntry{{Folder: "Calendar", Identifier: "bob", Existed: true, Letters: "ilrsw"}},
	}
	l = ledgerOf(&recorded, "alice")
	if got := l.restoreWant("Calendar", "alice", actual)["bob"]; got.String() != "ilrsw" || len(l) != 1 {
		t.Errorf("restoring bob asks for %q (ledger %v), want ilrsw as recorded", got, l)
	}
	if got := l.entries(); len(got) != 1 || got[0] != recorded.PriorEntries[0] {
		t.Errorf("entries() = %+v, want the recorded entry back", got)
	}
}

// TestOwnerRestoredOnlyUpwards: putting the owner's entry back never removes it or takes rights from it;
// it only gives back rights a change took (with allowOwnerLockout).
func TestOwnerRestoredOnlyUpwards(t *testing.T) {
	for _, c := range []struct {
		prior   priorEntry
		now     string
		want    string
		touched bool
	}{
		{priorEntry{existed: false}, "lrs", "", false},
		{priorEntry{existed: true, rights: acl.ParseLetters("lr")}, "lrswi", "", false},
		{priorEntry{existed: true, rights: acl.ParseLetters("lrswipkxtea")}, "lrs", "aeiklprstwx", true},
	} {
		l := priorLedger{{"Calendar", "alice"}: c.prior}
		want := l.restoreWant("Calendar", "alice", map[string]acl.Set{"alice": acl.ParseLetters(c.now)})
		got, touched := want["alice"]
		if touched != c.touched || got.String() != c.want {
			t.Errorf("prior %+v, now %q: restore asks %q (touched %v), want %q (touched %v)", c.prior, c.now, got, touched, c.want, c.touched)
		}
	}
}
