package mailsync

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/syncstate"
)

// world is a pair's last agreed state and both sides now, written compactly for TestDecide:
// links "A:B:flags" (flags comma separated), messages "UID:flags:ID". A groupware object's link is
// "A:B:flags:UID", its message "UID:flags:obj:OBJECTUID/SEQUENCE/DIGEST".
type world struct {
	links, a, b  []string
	keptA, keptB []uint32
	pending      []syncstate.Pending
}

func (w world) build() (*syncstate.Pair, Snapshot, Snapshot) {
	p := &syncstate.Pair{A: "INBOX", B: "INBOX"}
	fl := func(s string) syncstate.Flags {
		if s == "" {
			return syncstate.Flags{}
		}
		return p.FlagsOf(strings.Split(s, ","))
	}
	for _, l := range w.links {
		var a, b uint32
		f := strings.SplitN(l, ":", 4)
		fmt.Sscan(f[0], &a)
		fmt.Sscan(f[1], &b)
		link := syncstate.Link{A: a, B: b, Flags: fl(f[2])}
		if len(f) == 4 {
			link.Object = ObjectKey(objectID(f[3]))
		}
		p.SetLink(link)
	}
	snap := func(ms []string) Snapshot {
		s := Snapshot{}
		for _, m := range ms {
			f := strings.SplitN(m, ":", 3)
			var uid uint32
			fmt.Sscan(f[0], &uid)
			m := Message{UID: uid, Flags: fl(f[1]), ID: f[2]}
			if obj, ok := strings.CutPrefix(f[2], objectPrefix); ok {
				v := strings.Split(obj, "/")
				m.ID, m.Version = objectID(v[0]), &Version{}
				fmt.Sscan(v[1], &m.Version.Sequence)
				fmt.Sscan(v[2], &m.Version.Digest)
			}
			s[uid] = m
		}
		return s
	}
	p.KeptA, p.KeptB, p.Pending = w.keptA, w.keptB, w.pending
	return p, snap(w.a), snap(w.b)
}

// show writes a decision compactly: actions "copy A 3 \Seen", "flags B 7 \Seen,$x", "delete B 2",
// "trash A 4", a "!" after one that settles a conflict; links "A-B", then kept messages "kept B 9".
func show(p *syncstate.Pair, d Decision) (actions, links []string) {
	side := map[Side]string{A: "A", B: "B"}
	for _, a := range d.Actions {
		var s string
		switch a.Kind {
		case Copy:
			s = strings.TrimSpace(fmt.Sprintf("copy %s %d %s", side[a.On], a.UID, strings.Join(p.Names(a.Flags), ",")))
		case SetFlags:
			s = fmt.Sprintf("flags %s %d %s", side[a.On], a.UID, strings.Join(p.Names(a.Flags), ","))
		case Delete:
			s = fmt.Sprintf("delete %s %d", side[a.On], a.UID)
		case Trash:
			s = fmt.Sprintf("trash %s %d", side[a.On], a.UID)
		}
		if a.Conflict {
			s += " !"
		}
		if a.Double {
			s += " ="
		}
		if a.Replaces != 0 {
			s += fmt.Sprintf(" >%d", a.Replaces)
		}
		if a.Rewrite {
			s += " *"
		}
		if a.Refused {
			s += " refused"
		}
		actions = append(actions, strings.TrimSpace(s))
	}
	for _, l := range d.Links {
		links = append(links, fmt.Sprintf("%d-%d", l.A, l.B))
	}
	for _, uid := range d.KeptA {
		links = append(links, fmt.Sprintf("kept A %d", uid))
	}
	for _, uid := range d.KeptB {
		links = append(links, fmt.Sprintf("kept B %d", uid))
	}
	return actions, links
}

// decideCase is a row of TestDecide or TestDecideObjects.
type decideCase struct {
	name      string
	o         Options
	w         world
	actions   []string
	links     []string
	conflicts int
}

func with(o Options, f func(*Options)) Options { f(&o); return o }

// TestDecideObjects: the rows of the semantics table for groupware objects, synced by their UID. An action
// "copy A 2 >10" copies version 2 to side B, replacing message 10 there; "copy A 2 *" keeps a conflict's
// losing version 2 as a copy with a new UID on both sides.
func TestDecideObjects(t *testing.T) {
	one := Options{Direction: OneWay, Deletions: DeletePropagate, Objects: true}
	two := Options{Direction: TwoWay, Deletions: DeletePropagate, Conflicts: KeepBoth, Objects: true}
	runDecide(t, []decideCase{
		{"one-way: a new object on the source is copied", one,
			world{a: []string{`1::obj:x/0/1`}},
			[]string{`copy A 1`}, nil, 0},
		{"an object changed on neither side: nothing to do", two,
			world{links: []string{`1:9::x`}, a: []string{`1::`}, b: []string{`9::`}},
			nil, []string{"1-9"}, 0},
		{"one-way: a new version on the source replaces the target's", one,
			world{links: []string{`1:9::x`}, a: []string{`2::obj:x/1/2`}, b: []string{`9::`}},
			[]string{`copy A 2 >9`}, nil, 0},
		{"one-way: the same, the target's version deleted meanwhile: copied", one,
			world{links: []string{`1:9::x`}, a: []string{`2::obj:x/1/2`}},
			[]string{`copy A 2`}, nil, 0},
		{"two-way: a new version on the target replaces the source's", two,
			world{links: []string{`1:9::x`}, a: []string{`1::`}, b: []string{`10::obj:x/1/3`}},
			[]string{`copy B 10 >1`}, nil, 0},
		{"two-way: a client that stored the new version and left the old one: the old one removed", two,
			world{links: []string{`1:9::x`}, a: []string{`1::`}, b: []string{`9::`, `10::obj:x/1/3`}},
			[]string{`copy B 10 >1`, `delete B 9 =`}, nil, 0},
		{"one-way: a new version on the target is put back (the source's copied over it)", one,
			world{links: []string{`1:9::x`}, a: []string{`1::`}, b: []string{`10::obj:x/1/3`}},
			[]string{`copy A 1 >10`}, nil, 0},
		{"one-way: the same, the target's old version still there: the new one removed", one,
			world{links: []string{`1:9::x`}, a: []string{`1::`}, b: []string{`9::`, `10::obj:x/1/3`}},
			[]string{`delete B 10 =`}, []string{"1-9"}, 0},
		{"two-way: new versions on both sides, Newest: the higher SEQUENCE wins", with(two, func(o *Options) { o.Conflicts = Newest }),
			world{links: []string{`1:9::x`}, a: []string{`2::obj:x/2/5`}, b: []string{`10::obj:x/1/6`}},
			[]string{`copy A 2 ! >10`}, nil, 1},
		{"the same, KeepBoth: the newer wins, the other kept as a copy with a new UID on both sides", two,
			world{links: []string{`1:9::x`}, a: []string{`2::obj:x/1/5`}, b: []string{`10::obj:x/3/6`}},
			[]string{`copy B 10 ! >2`, `copy A 2 ! *`}, nil, 1},
		{"the same, SourceWins: the source's version, however old", with(two, func(o *Options) { o.Conflicts = SourceWins }),
			world{links: []string{`1:9::x`}, a: []string{`2::obj:x/1/5`}, b: []string{`10::obj:x/3/6`}},
			[]string{`copy A 2 ! >10`}, nil, 1},
		{"the same, TargetWins: the target's version", with(two, func(o *Options) { o.Conflicts = TargetWins }),
			world{links: []string{`1:9::x`}, a: []string{`2::obj:x/4/5`}, b: []string{`10::obj:x/3/6`}},
			[]string{`copy B 10 ! >2`}, nil, 1},
		{"a cycle killed between storing a new version and removing the old: the same bytes on both sides, linked, the old removed", two,
			world{links: []string{`1:9::x`}, a: []string{`2::obj:x/1/7`}, b: []string{`9::`, `10::obj:x/1/7`}},
			[]string{`delete B 9 =`}, []string{"2-10"}, 0},
		{"two-way: changed on the source, deleted on the target, KeepBoth: the change wins", two,
			world{links: []string{`1:9::x`}, a: []string{`2::obj:x/1/2`}},
			[]string{`copy A 2 !`}, nil, 1},
		{"the same, TargetWins: the deletion wins", with(two, func(o *Options) { o.Conflicts = TargetWins }),
			world{links: []string{`1:9::x`}, a: []string{`2::obj:x/1/2`}},
			[]string{`delete A 2 !`}, nil, 1},
		{"one-way: deleted on the source, Propagate: deleted on the target", one,
			world{links: []string{`1:9::x`}, b: []string{`9::`}},
			[]string{`delete B 9`}, nil, 0},
		{"first cycle: the same object, the same bytes on both sides: linked", two,
			world{a: []string{`1::obj:x/1/4`}, b: []string{`9::obj:x/1/4`}},
			nil, []string{"1-9"}, 0},
		{"first cycle, one-way: the same object in another version: the source's replaces the target's", one,
			world{a: []string{`1::obj:x/1/4`}, b: []string{`9::obj:x/2/5`}},
			[]string{`copy A 1 >9`}, nil, 0},
		{"an old version a client left beside the new one, never synced: only the newest is copied (one-way: the source is never written to)", one,
			world{a: []string{`1::obj:x/0/1`, `2::obj:x/1/2`}},
			[]string{`copy A 2`}, nil, 0},
		{"the same two-way: the old version removed", two,
			world{a: []string{`1::obj:x/0/1`, `2::obj:x/1/2`}},
			[]string{`delete A 1 =`, `copy A 2`}, nil, 0},
		{"a killed cycle's copy of a new version beside the version it replaced, the link lost: linked, the old one removed", two,
			world{a: []string{`2::obj:x/1/2`}, b: []string{`9::obj:x/0/1`, `12::obj:x/1/2`}},
			[]string{`delete B 9 =`}, []string{"2-12"}, 0},
		{"one-way: the target's own object in two versions: left alone", one,
			world{b: []string{`9::obj:y/0/1`, `12::obj:y/1/2`}},
			nil, nil, 0},
		{"a copy a killed cycle sent while the object's message is still there: removed", two,
			world{links: []string{`1:9::x`}, a: []string{`1::`}, b: []string{`9::`, `12::obj:x/0/1`}, pending: []syncstate.Pending{{To: 1, ID: "obj:x"}}},
			[]string{`delete B 12 =`}, []string{"1-9"}, 0},
		{"an older version left beside the linked one (its removal failed): removed", two,
			world{links: []string{`2:9::x`}, a: []string{`1::obj:x/0/1`, `2::`}, b: []string{`9::`}},
			[]string{`delete A 1 =`}, []string{"2-9"}, 0},
		{"the same, one-way: the source is never written to", one,
			world{links: []string{`2:9::x`}, a: []string{`1::obj:x/0/1`, `2::`}, b: []string{`9::`}},
			nil, []string{"2-9"}, 0},
		{"KeepBoth: a conflict copy a killed cycle already stored is not made again", two,
			world{links: []string{`1:9::x`}, a: []string{`2::obj:x/1/5`, `3::obj:x-conflict-00000005/0/8`}, b: []string{`10::obj:x/3/6`}},
			[]string{`copy B 10 ! >2`, `copy A 3`}, nil, 1},
		{"a source the user may not add to: an object they added on the target is removed, one they changed put back", with(one, func(o *Options) { o.ReadOnlySource = true }),
			world{links: []string{`1:9::x`}, a: []string{`1::`}, b: []string{`10::obj:x/1/3`, `11::obj:mine/0/4`}},
			[]string{`copy A 1 >10`, `delete B 11 refused`}, nil, 0},
		{"a message that is no object, in a groupware folder: synced as mail", one,
			world{a: []string{`3::m3`}, b: []string{`8::m3`}},
			nil, []string{"3-8"}, 0},
	})
}

// TestDecide: one case per row of the semantics table (mail).
func TestDecide(t *testing.T) {
	one := Options{Direction: OneWay, Deletions: DeletePropagate}
	two := Options{Direction: TwoWay, Deletions: DeletePropagate, Conflicts: KeepBoth}
	runDecide(t, []decideCase{
		{"one-way: new on the source is copied", one,
			world{a: []string{`1:\Seen:m1`}},
			[]string{`copy A 1 \Seen`}, nil, 0},
		{"one-way: what only the target has is left alone", one,
			world{b: []string{`5::m5`}},
			nil, nil, 0},
		{"two-way: new on the target is copied to the source", two,
			world{b: []string{`5:\Flagged:m5`}},
			[]string{`copy B 5 \Flagged`}, nil, 0},
		{"a message on both sides, not linked, is linked by identity, not copied (one-way: the source's flags)", one,
			world{a: []string{`1:\Seen:m1`}, b: []string{`9:\Flagged:m1`}},
			[]string{`flags B 9 \Seen`}, []string{"1-9"}, 0},
		{"the same, two-way: both sides' flags", two,
			world{a: []string{`1:\Seen:m1`}, b: []string{`9:\Flagged:m1`}},
			[]string{`flags A 1 \Seen,\Flagged`, `flags B 9 \Seen,\Flagged`}, []string{"1-9"}, 0},
		{"a source holding a message twice gets two copies on the target, one already there", one,
			world{a: []string{`1::dup`, `2::dup`}, b: []string{`9::dup`}},
			[]string{`copy A 2`}, []string{"1-9"}, 0},
		{"a message whose identity could not be read is copied, never matched", one,
			world{a: []string{`1::`}, b: []string{`9::`}},
			[]string{`copy A 1`}, nil, 0},
		{"nothing changed: nothing to do", two,
			world{links: []string{`1:9:\Seen`}, a: []string{`1:\Seen:m1`}, b: []string{`9:\Seen:m1`}},
			nil, []string{"1-9"}, 0},
		{"one-way: a flag set on the source is set on the target", one,
			world{links: []string{`1:9:`}, a: []string{`1:\Seen,$x:m1`}, b: []string{`9::m1`}},
			[]string{`flags B 9 \Seen,$x`}, []string{"1-9"}, 0},
		{"one-way: a flag changed on the target is put back", one,
			world{links: []string{`1:9:\Seen`}, a: []string{`1:\Seen:m1`}, b: []string{`9:\Flagged:m1`}},
			[]string{`flags B 9 \Seen`}, []string{"1-9"}, 0},
		{"two-way: a flag set on the target is set on the source", two,
			world{links: []string{`1:9:`}, a: []string{`1::m1`}, b: []string{`9:\Answered:m1`}},
			[]string{`flags A 1 \Answered`}, []string{"1-9"}, 0},
		{"two-way: both changed: what either set is set, what either cleared is cleared", two,
			world{links: []string{`1:9:\Seen,$x`}, a: []string{`1:\Seen,$x,\Flagged:m1`}, b: []string{`9:$x:m1`}},
			[]string{`flags A 1 \Flagged,$x`, `flags B 9 \Flagged,$x`}, []string{"1-9"}, 1},
		{"one-way: deleted on the source, Propagate: deleted on the target", one,
			world{links: []string{`1:9:`}, b: []string{`9::m1`}},
			[]string{`delete B 9`}, nil, 0},
		{"one-way: deleted on the source, MoveToTrash: to the target's trash", with(one, func(o *Options) { o.Deletions = DeleteMoveToTrash }),
			world{links: []string{`1:9:`}, b: []string{`9::m1`}},
			[]string{`trash B 9`}, nil, 0},
		{"one-way: deleted on the source, Ignore: the target keeps it, unlinked", with(one, func(o *Options) { o.Deletions = DeleteIgnore }),
			world{links: []string{`1:9:`}, b: []string{`9::m1`}},
			nil, []string{"kept B 9"}, 0},
		{"two-way: deleted on the target, Ignore: the source keeps it", with(two, func(o *Options) { o.Deletions = DeleteIgnore }),
			world{links: []string{`1:9:`}, a: []string{`1::m1`}},
			nil, []string{"kept A 1"}, 0},
		{"two-way: a message kept under Ignore is never copied back", with(two, func(o *Options) { o.Deletions = DeleteIgnore }),
			world{keptB: []uint32{9}, b: []string{`9:\Seen:m1`}, a: []string{`4::m2`}},
			[]string{`copy A 4`}, []string{"kept B 9"}, 0},
		{"a copy a killed cycle sent, stored after the next cycle copied it again: removed", two,
			world{links: []string{`1:9:`}, a: []string{`1::m1`}, b: []string{`9::m1`, `12::m1`}, pending: []syncstate.Pending{{To: 1, ID: "m1"}}},
			[]string{`delete B 12 =`}, []string{"1-9"}, 0},
		{"the same, the copy not linked yet: matched, the other removed", two,
			world{a: []string{`1::m1`}, b: []string{`9::m1`, `12::m1`}, pending: []syncstate.Pending{{To: 1, ID: "m1"}}},
			[]string{`delete B 12 =`}, []string{"1-9"}, 0},
		{"a message twice on one side with no pending copy: the user's, synced", two,
			world{links: []string{`1:9:`}, a: []string{`1::m1`}, b: []string{`9::m1`, `12::m1`}},
			[]string{`copy B 12`}, []string{"1-9"}, 0},
		{"a source the user may not add to: a message they added on the target is removed", with(one, func(o *Options) { o.ReadOnlySource = true }),
			world{links: []string{`1:9:`}, a: []string{`1::m1`}, b: []string{`9::m1`, `12::m2`}},
			[]string{`delete B 12 refused`}, []string{"1-9"}, 0},
		{"a kept message deleted since: forgotten", two,
			world{keptA: []uint32{1}, keptB: []uint32{9}},
			nil, nil, 0},
		{"one-way: deleted on the target only: put back", one,
			world{links: []string{`1:9:\Seen`}, a: []string{`1:\Seen:m1`}},
			[]string{`copy A 1 \Seen`}, nil, 0},
		{"two-way: deleted on the target, unchanged on the source, Propagate: deleted on the source", two,
			world{links: []string{`1:9:`}, a: []string{`1::m1`}},
			[]string{`delete A 1`}, nil, 0},
		{"two-way: deleted on both: nothing left", two,
			world{links: []string{`1:9:`}},
			nil, nil, 0},
		{"two-way conflict, deleted on the source and flagged on the target, KeepBoth: kept, copied back", two,
			world{links: []string{`1:9:`}, b: []string{`9:\Flagged:m1`}},
			[]string{`copy B 9 \Flagged !`}, nil, 1},
		{"two-way: deleted on the source, marked \\Deleted on the target (a cycle stopped before its UID EXPUNGE): deleted, no conflict", two,
			world{links: []string{`1:9:\Seen`}, b: []string{`9:\Seen,\Deleted:m1`}},
			[]string{`delete B 9`}, nil, 0},
		{"the same, Newest: as KeepBoth", with(two, func(o *Options) { o.Conflicts = Newest }),
			world{links: []string{`1:9:`}, b: []string{`9:\Flagged:m1`}},
			[]string{`copy B 9 \Flagged !`}, nil, 1},
		{"the same, SourceWins: the deletion wins", with(two, func(o *Options) { o.Conflicts = SourceWins }),
			world{links: []string{`1:9:`}, b: []string{`9:\Flagged:m1`}},
			[]string{`delete B 9 !`}, nil, 1},
		{"the same, TargetWins: the target's change wins", with(two, func(o *Options) { o.Conflicts = TargetWins }),
			world{links: []string{`1:9:`}, b: []string{`9:\Flagged:m1`}},
			[]string{`copy B 9 \Flagged !`}, nil, 1},
		{"two-way conflict, deleted on the target and flagged on the source, TargetWins: the deletion wins", with(two, func(o *Options) { o.Conflicts = TargetWins }),
			world{links: []string{`1:9:`}, a: []string{`1:\Flagged:m1`}},
			[]string{`delete A 1 !`}, nil, 1},
		{"the same, SourceWins: the source's change wins", with(two, func(o *Options) { o.Conflicts = SourceWins }),
			world{links: []string{`1:9:`}, a: []string{`1:\Flagged:m1`}},
			[]string{`copy A 1 \Flagged !`}, nil, 1},
	})
}

func runDecide(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, a, b := c.w.build()
			before := fmt.Sprint(p.Links)
			d := Decide(p, a, b, c.o)
			actions, links := show(p, d)
			if !reflect.DeepEqual(actions, c.actions) {
				t.Errorf("actions\n got %q\nwant %q", actions, c.actions)
			}
			if !reflect.DeepEqual(links, c.links) {
				t.Errorf("links %q, want %q", links, c.links)
			}
			if d.Conflicts != c.conflicts {
				t.Errorf("%d conflicts, want %d", d.Conflicts, c.conflicts)
			}
			if fmt.Sprint(p.Links) != before {
				t.Error("Decide changed the pair")
			}
		})
	}
}
