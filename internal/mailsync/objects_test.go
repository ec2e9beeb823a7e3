package mailsync

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailshift/mailshift/internal/calobject"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/syncstate"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestCycleObjects runs the rows of the semantics table for groupware objects against real servers,
// Dovecot and Cyrus each as source and as target: objects matched by UID, a change carried over as a new
// version replacing the old one, conflicts settled per policy, never a UID twice in a folder.
func TestCycleObjects(t *testing.T) {
	for _, sd := range sides(t) {
		t.Run(sd.name, func(t *testing.T) {
			t.Run("TwoWay", func(t *testing.T) { testObjectsTwoWay(t, sd.a, sd.b) })
			t.Run("OneWay", func(t *testing.T) { testObjectsOneWay(t, sd.a, sd.b) })
			t.Run("Interrupted", func(t *testing.T) { testObjectsInterrupted(t, sd.a, sd.b) })
		})
	}
}

// putObject stores version seq of event uid (summary what) in the folder the way a Kolab client does:
// the new message appended, the old one (any message of that UID) removed. format is Kolab v3 or plain
// iCalendar. It returns the message as stored.
func (f *folder) putObject(uid, what string, seq int, format groupware.Format) []byte {
	f.t.Helper()
	modified := time.Date(2026, 11, 1, 9, 0, seq, 0, time.UTC)
	ev := &groupware.Event{Common: groupware.Common{UID: uid, Summary: what, Created: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), LastModified: modified},
		Start: groupware.DateTime{Time: time.Date(2026, 12, 10, 14, 0, 0, 0, time.UTC)}, End: groupware.DateTime{Time: time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC)},
		Sequence: seq}
	var msg bytes.Buffer
	if err := groupware.WriteMessage(&msg, ev, format, groupware.Envelope{}); err != nil {
		f.t.Fatal(err)
	}
	old := f.objectUIDs()[uid]
	f.appendRaw(msg.Bytes(), nil)
	if len(old) > 0 {
		f.removeUIDs(old...)
	}
	return msg.Bytes()
}

// createTyped creates the folder as a groupware folder of kind (Kolab folder-type).
func (f *folder) createTyped(kind string) {
	f.t.Helper()
	f.create()
	v := []byte(kind)
	if err := f.c.SetMetadata(f.name, map[string]*[]byte{sharedFolderType: &v}).Wait(); err != nil {
		f.t.Fatalf("SETMETADATA %s: %v", f.name, err)
	}
}

// folderType is the folder's shared Kolab folder-type.
func (f *folder) folderType() string {
	f.t.Helper()
	md, err := f.c.GetMetadata(f.name, []string{sharedFolderType}, nil).Wait()
	if err != nil {
		f.t.Fatalf("GETMETADATA %s: %v", f.name, err)
	}
	if v := md.Entries[sharedFolderType]; v != nil {
		return string(*v)
	}
	return ""
}

// objects reads every message of the folder as a groupware object: for each UID, the summaries of the
// messages that hold it (one per message, so a UID stored twice shows twice).
func (f *folder) objects() map[string][]string {
	f.t.Helper()
	out := map[string][]string{}
	for uid, msgs := range f.objectMessages() {
		for _, m := range msgs {
			o, err := calobject.OpenObject(m)
			if err != nil {
				f.t.Fatalf("%s: a message that is no object: %v", f.name, err)
			}
			s, _ := o.Get("SUMMARY")
			out[uid] = append(out[uid], s)
		}
	}
	return out
}

// objectUIDs is, for each object UID, the IMAP UIDs of the messages holding it.
func (f *folder) objectUIDs() map[string][]imap.UID {
	out := map[string][]imap.UID{}
	for uid, ms := range f.objectMessagesByUID() {
		out[uid] = slices.Sorted(func(yield func(imap.UID) bool) {
			for u := range ms {
				if !yield(u) {
					return
				}
			}
		})
	}
	return out
}

func (f *folder) objectMessages() map[string][][]byte {
	out := map[string][][]byte{}
	for uid, ms := range f.objectMessagesByUID() {
		for _, m := range ms {
			out[uid] = append(out[uid], m)
		}
	}
	return out
}

func (f *folder) objectMessagesByUID() map[string]map[imap.UID][]byte {
	f.t.Helper()
	if _, err := f.c.Select(f.name, nil).Wait(); err != nil {
		f.t.Fatalf("SELECT %s: %v", f.name, err)
	}
	all := imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}
	got, err := f.c.Fetch(all, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		f.t.Fatalf("FETCH %s: %v", f.name, err)
	}
	out := map[string]map[imap.UID][]byte{}
	for _, m := range got {
		for _, b := range m.BodySection {
			o, err := calobject.OpenObject(b.Bytes)
			if err != nil {
				f.t.Fatalf("%s: a message that is no object: %v", f.name, err)
			}
			if out[o.UID()] == nil {
				out[o.UID()] = map[imap.UID][]byte{}
			}
			out[o.UID()][m.UID] = b.Bytes
		}
	}
	return out
}

// sameObjects fails unless every folder holds exactly want: each object UID once, with that summary.
func sameObjects(t *testing.T, want map[string]string, folders ...*folder) {
	t.Helper()
	for _, f := range folders {
		got := f.objects()
		var diff []string
		for uid, s := range got {
			if w, ok := want[uid]; !ok || len(s) != 1 || s[0] != w {
				diff = append(diff, fmt.Sprintf("%s: %q", uid, s))
			}
		}
		for uid, w := range want {
			if _, ok := got[uid]; !ok {
				diff = append(diff, fmt.Sprintf("%s: missing (want %q)", uid, w))
			}
		}
		if len(diff) > 0 {
			sort.Strings(diff)
			t.Errorf("%s on %s:\n  %s", f.name, f.srv.Flavor, strings.Join(diff, "\n  "))
		}
	}
}

// conflictCopyOf is the UID of the conflict copy the folder holds of object uid ("" if none).
func conflictCopyOf(f *folder, uid string) string {
	for u := range f.objects() {
		if strings.HasPrefix(u, uid+"-conflict-") {
			return u
		}
	}
	return ""
}

func testObjectsTwoWay(t *testing.T, sa, sb *testserver.Server) {
	a, b := openFolder(t, sa, "alice", named(t, "Calendar")), openFolder(t, sb, "bob", named(t, "Calendar"))
	a.createTyped("event")
	a.putObject("e1", "planning", 0, groupware.FormatKolab3)
	a.putObject("e2", "review", 0, groupware.FormatICal)
	a.putObject("e3", "offsite", 0, groupware.FormatKolab3)
	s := newSync(a, b, Options{Direction: TwoWay, Deletions: DeletePropagate, Conflicts: KeepBoth})

	// The target's folder is created as a calendar and filled, each object once.
	rep := cycle(t, s)
	if f := rep.Folders[0]; f.ToB.Added != 3 {
		t.Errorf("first cycle: %+v", f)
	}
	if typ := b.folderType(); typ != "event" {
		t.Errorf("the target's folder has folder-type %q, want event", typ)
	}
	want := map[string]string{"e1": "planning", "e2": "review", "e3": "offsite"}
	sameObjects(t, want, a, b)

	// A change on each side: the new version replaces the old on the other side.
	a.putObject("e1", "planning (moved)", 1, groupware.FormatKolab3)
	b.putObject("e2", "review (room 4)", 1, groupware.FormatICal)
	b.putObject("e4", "lunch", 0, groupware.FormatKolab3)
	rep = cycle(t, s)
	if f := rep.Folders[0]; f.ToB.Updated != 1 || f.ToA.Updated != 1 || f.ToA.Added != 1 || f.Conflicts != 0 {
		t.Errorf("change cycle: %+v", f)
	}
	want = map[string]string{"e1": "planning (moved)", "e2": "review (room 4)", "e3": "offsite", "e4": "lunch"}
	sameObjects(t, want, a, b)

	// Both sides changed e3: KeepBoth keeps the newer version (the higher SEQUENCE, the target's) in both
	// places, and the source's as a conflict copy with a UID of its own, on both sides.
	a.putObject("e3", "offsite (source)", 1, groupware.FormatKolab3)
	b.putObject("e3", "offsite (target)", 2, groupware.FormatKolab3)
	rep = cycle(t, s)
	if f := rep.Folders[0]; f.Conflicts != 1 || f.ToA.Updated != 1 {
		t.Errorf("conflict cycle: %+v", f)
	}
	copyUID := conflictCopyOf(a, "e3")
	if copyUID == "" {
		t.Fatalf("no conflict copy of e3 on the source: %v", a.objects())
	}
	want["e3"] = "offsite (target)"
	want[copyUID] = "offsite (source) (conflict copy)"
	sameObjects(t, want, a, b)
	for uid, msgs := range b.objectMessages() {
		if uid == copyUID && !bytes.Contains(msgs[0], []byte("Conflict copy kept by mailshift sync")) {
			t.Errorf("the conflict copy carries no note: %s", msgs[0])
		}
	}

	// A cycle killed after storing a new version on the target and before removing the old one: the next
	// cycle leaves the object there once.
	msg := a.putObject("e1", "planning (final)", 2, groupware.FormatKolab3)
	b.appendRaw(msg, nil)
	rep = cycle(t, s)
	if f := rep.Folders[0]; f.ToB.Doubles != 1 || f.ToB.Added+f.ToB.Updated+f.ToA.Added+f.ToA.Updated != 0 || f.Conflicts != 0 {
		t.Errorf("after the killed update: %+v; want the old version removed as a double, nothing copied", f)
	}
	want["e1"] = "planning (final)"
	sameObjects(t, want, a, b)

	// A deletion is carried over (Propagate), and then a cycle with nothing changed reads nothing.
	b.removeUIDs(b.objectUIDs()["e4"]...)
	cycle(t, s)
	delete(want, "e4")
	sameObjects(t, want, a, b)
	for range 2 {
		if rep := cycle(t, s); !rep.Folders[0].Unchanged {
			t.Errorf("a cycle with nothing changed read the folders: %+v", rep.Folders[0])
		}
	}
}

func testObjectsOneWay(t *testing.T, sa, sb *testserver.Server) {
	a, b := openFolder(t, sa, "carol", named(t, "Contacts")), openFolder(t, sb, "carol", named(t, "Contacts"))
	a.createTyped("event")
	b.createTyped("event")
	a.putObject("o1", "standup", 0, groupware.FormatKolab3)
	a.putObject("o2", "retro", 0, groupware.FormatKolab3)
	// The target already holds o2 in another version, and an object of its own.
	b.putObject("o2", "retro (old)", 0, groupware.FormatICal)
	b.putObject("mine", "dentist", 0, groupware.FormatKolab3)
	s := newSync(a, b, Options{Direction: OneWay, Deletions: DeletePropagate})
	cycle(t, s)
	sameObjects(t, map[string]string{"o1": "standup", "o2": "retro", "mine": "dentist"}, b)

	// The target's user changes a synced object: put back. The source changes one: carried over.
	b.putObject("o1", "standup (changed on the target)", 3, groupware.FormatKolab3)
	a.putObject("o2", "retro (moved)", 1, groupware.FormatKolab3)
	rep := cycle(t, s)
	if f := rep.Folders[0]; f.ToA != (Counts{}) || f.ToB.Updated != 2 {
		t.Errorf("one-way cycle: %+v", f)
	}
	sameObjects(t, map[string]string{"o1": "standup", "o2": "retro (moved)", "mine": "dentist"}, b)
	sameObjects(t, map[string]string{"o1": "standup", "o2": "retro (moved)"}, a)
}

// testObjectsInterrupted updates many objects on both sides and stops cycles at many points, then lets
// one finish: each object is once in each folder, in its newest version.
func testObjectsInterrupted(t *testing.T, sa, sb *testserver.Server) {
	a, b := openFolder(t, sa, "alice", named(t, "Tasks")), openFolder(t, sb, "bob", named(t, "Tasks"))
	a.createTyped("event")
	const n = 30
	want := map[string]string{}
	for i := range n {
		uid := fmt.Sprintf("t%02d", i)
		a.putObject(uid, "v0", 0, groupware.FormatKolab3)
		want[uid] = "v0"
	}
	s := newSync(a, b, Options{Direction: TwoWay, Deletions: DeletePropagate, Conflicts: Newest})
	s.State = &memStore{}
	cycle(t, s)
	for i := range n {
		uid := fmt.Sprintf("t%02d", i)
		f := a
		if i%2 == 1 {
			f = b
		}
		f.putObject(uid, "v1", 1, groupware.FormatKolab3)
		want[uid] = "v1"
	}
	for d := 2 * time.Millisecond; d < 400*time.Millisecond; d = d * 3 / 2 {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		s.Cycle(ctx)
		cancel()
	}
	cycle(t, s)
	time.Sleep(time.Second)
	rep := cycle(t, s)
	if f := rep.Folders[0]; f.Conflicts != 0 {
		t.Errorf("interrupted cycles made conflicts of their own copies: %+v", f)
	}
	sameObjects(t, want, a, b)
	var st *syncstate.State
	st, _ = s.State.Load()
	if p := st.Pair(a.name, b.name); len(p.Links) != n {
		t.Errorf("%d links, want %d", len(p.Links), n)
	}
}

// TestCalendarPlacement: without folder pairs, the source's default calendar goes into the target's
// default calendar (whatever it is called there), or into a calendar of its own (Calendar.Separate); the
// default address book into the target's; only the kinds asked for are synced.
func TestCalendarPlacement(t *testing.T) {
	sa, sb := testserver.Dovecot(t), testserver.Cyrus(t, "modern")
	cal, contacts := openFolder(t, sa, "alice", "Calendar"), openFolder(t, sa, "alice", "Contacts")
	cal.createDefault("event")
	contacts.createDefault("contact")
	cal.putObject("m1", "weekly", 0, groupware.FormatKolab3)
	contacts.putContact("c1", "Ada Lovelace")
	openFolder(t, sa, "alice", "INBOX").put("mail1")

	mailOnly := testserver.Cyrus(t, "modern") // a target account of its own for the third case
	for _, c := range []struct {
		srv      *testserver.Server
		user     string
		calendar Calendar
		kinds    []string
		// want: the target's folders and what each must hold (object UIDs, or message ids for INBOX)
		want map[string][]string
	}{
		{sb, "bob", Calendar{}, nil, map[string][]string{"Kalender": {"m1", "own"}, "Contacts": {"urn:uuid:c1"}, "INBOX": {"mail1"}}},
		{sb, "carol", Calendar{Separate: true, Name: "Calendar (Exchange)"}, nil, map[string][]string{"Calendar (Exchange)": {"m1"}, "Kalender": {"own"}, "Contacts": {"urn:uuid:c1"}}},
		{mailOnly, "bob", Calendar{}, []string{KindMail}, map[string][]string{"Kalender": {"own"}, "INBOX": {"mail1"}}},
	} {
		t.Run(c.user, func(t *testing.T) {
			sb := c.srv
			own := openFolder(t, sb, c.user, "Kalender")
			own.createDefault("event")
			own.putObject("own", "the target's own", 0, groupware.FormatKolab3)
			s := &Sync{A: cal.server(), B: own.server(), Options: Options{Direction: OneWay}, Calendar: c.calendar, Kinds: c.kinds, State: &memStore{}}
			cycle(t, s)
			for name, ids := range c.want {
				f := openFolder(t, sb, c.user, name)
				var got []string
				if name == "INBOX" {
					for id := range f.view() {
						got = append(got, id)
					}
				} else {
					for uid := range f.objects() {
						got = append(got, uid)
					}
				}
				sort.Strings(got)
				if !slices.Equal(got, ids) {
					t.Errorf("%s holds %v, want %v", name, got, ids)
				}
			}
			if c.calendar.Separate {
				if typ := openFolder(t, sb, c.user, c.calendar.Name).folderType(); typ != "event" {
					t.Errorf("the separate calendar has folder-type %q, want event", typ)
				}
			}
			if slices.Equal(c.kinds, []string{KindMail}) {
				if got := openFolder(t, sb, c.user, "Contacts"); got.exists() {
					t.Error("contacts were synced although only mail was asked for")
				}
			}
		})
	}
}

// createDefault creates the folder as the account's default groupware folder of kind.
func (f *folder) createDefault(kind string) {
	f.t.Helper()
	f.createTyped(kind)
	v := []byte(kind + ".default")
	if err := f.c.SetMetadata(f.name, map[string]*[]byte{privateFolderType: &v}).Wait(); err != nil {
		f.t.Fatalf("SETMETADATA %s: %v", f.name, err)
	}
}

// exists says whether the folder exists.
func (f *folder) exists() bool {
	f.t.Helper()
	list, err := f.c.List("", f.name, nil).Collect()
	if err != nil {
		f.t.Fatal(err)
	}
	return len(list) > 0
}

// putContact stores contact uid (formatted name fn) in the folder, as Kolab v3.
func (f *folder) putContact(uid, fn string) {
	f.t.Helper()
	c := &groupware.Contact{Common: groupware.Common{UID: uid, Created: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), LastModified: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)},
		FormattedName: fn}
	var msg bytes.Buffer
	if err := groupware.WriteMessage(&msg, c, groupware.FormatKolab3, groupware.Envelope{}); err != nil {
		f.t.Fatal(err)
	}
	f.appendRaw(msg.Bytes(), nil)
}

// TestReadOnlySource: a calendar shared with the user read-only (alice's, with rights "lr" for bob) kept in
// step with bob's own calendar on the other server, two-way as asked. What alice adds reaches bob; what bob
// adds on his side cannot reach hers: it is removed there, after a notice in his INBOX that carries it;
// what he changes is put back. Dovecot and Cyrus each as either side.
func TestReadOnlySource(t *testing.T) {
	for _, sd := range sides(t) {
		t.Run(sd.name, func(t *testing.T) {
			name := named(t, "Team")
			owner := openFolder(t, sd.a, "alice", name)
			owner.createTyped("event")
			if err := owner.c.SetACL(name, "bob", imap.RightModificationReplace, imap.RightSet("lr")).Wait(); err != nil {
				t.Fatalf("SETACL: %v", err)
			}
			owner.putObject("team-1", "all hands", 0, groupware.FormatKolab3)
			shared := "shared/alice/" + name
			if sd.a.Flavor == "cyrus" {
				shared = "Other Users/alice/" + name
			}
			a := openFolder(t, sd.a, "bob", shared)
			b := openFolder(t, sd.b, "bob", name)
			b.createTyped("event")
			s := newSync(a, b, Options{Direction: TwoWay, Deletions: DeletePropagate, Conflicts: KeepBoth})
			cycle(t, s)
			sameObjects(t, map[string]string{"team-1": "all hands"}, b)

			b.putObject("bobs-own", "dentist", 0, groupware.FormatKolab3)
			b.putObject("team-1", "all hands (moved by bob)", 1, groupware.FormatKolab3)
			owner.putObject("team-2", "offsite", 0, groupware.FormatKolab3)
			rep := cycle(t, s)
			f := rep.Folders[0]
			if f.SourceRights != "lr" || len(f.Refused) != 1 || f.Refused[0].Title != "dentist" || f.ToA != (Counts{}) {
				t.Errorf("the cycle: %+v", f)
			}
			want := map[string]string{"team-1": "all hands", "team-2": "offsite"}
			sameObjects(t, want, owner, b)
			// The notice: in bob's INBOX on the target, saying what and why, the item attached.
			var notice []byte
			for _, m := range openFolder(t, sd.b, "bob", "INBOX").messages() {
				if bytes.Contains(m, []byte("Removed from")) && bytes.Contains(m, []byte(name)) {
					notice = m
				}
			}
			switch {
			case notice == nil:
				t.Fatal("no notice in the target's INBOX")
			case !bytes.Contains(notice, []byte("dentist")) || !bytes.Contains(notice, []byte("message/rfc822")) || !bytes.Contains(notice, []byte("bobs-own")):
				t.Errorf("the notice does not name and carry the removed item:\n%s", notice)
			}
			if rep := cycle(t, s); len(rep.Folders[0].Refused) != 0 {
				t.Errorf("the next cycle removed more: %+v", rep.Folders[0])
			}
		})
	}
}

// messages is every message of the folder, whole.
func (f *folder) messages() [][]byte {
	f.t.Helper()
	if _, err := f.c.Select(f.name, nil).Wait(); err != nil {
		f.t.Fatalf("SELECT %s: %v", f.name, err)
	}
	got, err := f.c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		f.t.Fatalf("FETCH %s: %v", f.name, err)
	}
	var out [][]byte
	for _, m := range got {
		for _, b := range m.BodySection {
			out = append(out, b.Bytes)
		}
	}
	return out
}
