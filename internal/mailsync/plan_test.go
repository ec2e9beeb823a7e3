package mailsync

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/syncstate"
)

// world is a pair's last agreed state and both sides now, written compactly for TestDecide:
// links "A:B:flags" (flags comma separated), messages "UID:flags:ID".
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
		f := strings.SplitN(l, ":", 3)
		fmt.Sscan(f[0], &a)
		fmt.Sscan(f[1], &b)
		p.SetLink(syncstate.Link{A: a, B: b, Flags: fl(f[2])})
	}
	snap := func(ms []string) Snapshot {
		s := Snapshot{}
		for _, m := range ms {
			f := strings.SplitN(m, ":", 3)
			var uid uint32
			fmt.Sscan(f[0], &uid)
			s[uid] = Message{UID: uid, Flags: fl(f[1]), ID: f[2]}
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
			s = fmt.Sprintf("copy %s %d %s", side[a.On], a.UID, strings.Join(p.Names(a.Flags), ","))
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

// TestDecide: one case per row of the semantics table (mail).
func TestDecide(t *testing.T) {
	one := Options{Direction: OneWay, Deletions: DeletePropagate}
	two := Options{Direction: TwoWay, Deletions: DeletePropagate, Conflicts: KeepBoth}
	with := func(o Options, f func(*Options)) Options { f(&o); return o }
	cases := []struct {
		name      string
		o         Options
		w         world
		actions   []string
		links     []string
		conflicts int
	}{
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
	}
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
