package mailsync

import (
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/calobject"
	"github.com/mailshift/mailshift/internal/syncstate"
)

// Groupware objects (events, contacts, tasks, notes in a Kolab v3 or v2, iCalendar or vCard folder) are
// synced by their UID, never as messages. A client changes an object by storing a new message with the same
// UID and deleting the old one, so a change is seen as a linked message gone from a side and a message of
// the same UID there that the pair does not know: the object's new version. The other side gets it by the
// same means: the new version is appended, and the message it replaces removed once the copy is stored.
// Each link keeps a hash of its object's UID (syncstate.Link.Object) to find the new version by.
//
// A cycle killed between the append and the removal leaves the old and the new version on that side; the
// next cycle finds both versions changed, with the same bytes on both sides (Version.Digest), links them
// and removes the old one: no UID is left twice.

// objectPrefix starts a groupware object's identity, so that it never equals a message's.
const objectPrefix = "obj:"

// objectID is the identity of the groupware object with UID uid.
func objectID(uid string) string { return objectPrefix + uid }

// ObjectKey is what a link keeps of a groupware object's identity: a 64-bit hash, never 0.
func ObjectKey(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	if k := h.Sum64(); k != 0 {
		return k
	}
	return 1
}

// Version tells two versions of a groupware object apart, and which of them is the newer.
type Version struct {
	Sequence int       // SEQUENCE (iCalendar, xCal); 0 when the object has none
	Modified time.Time // LAST-MODIFIED, REV (vCard) or last-modification-date (Kolab v2); zero when absent
	Date     time.Time // the message's internal date
	Digest   uint64    // of the message's bytes: a copy the sync made has its original's
}

// newer says whether x is newer than y: the higher SEQUENCE, then the later modification time, then the
// later internal date (RFC 5546 §2.1.5 orders revisions by SEQUENCE, then DTSTAMP; the last two stand in for
// what a client that keeps no SEQUENCE writes). On a tie x is not newer.
func newer(x, y *Version) bool {
	switch {
	case x.Sequence != y.Sequence:
		return x.Sequence > y.Sequence
	case !x.Modified.Equal(y.Modified):
		return x.Modified.After(y.Modified)
	}
	return x.Date.After(y.Date)
}

// objectIndex is each side's object messages no link holds, by object key, UIDs ascending.
type objectIndex struct {
	free    [2]map[uint64][]uint32
	snap    [2]Snapshot
	pending [2]map[uint64]bool // object keys with a pending copy to the side
}

func indexObjects(p *syncstate.Pair, a, b Snapshot) *objectIndex {
	x := &objectIndex{snap: [2]Snapshot{a, b}}
	held := [2]map[uint32]bool{{}, {}}
	for _, l := range p.Links {
		held[A][l.A], held[B][l.B] = true, true
	}
	for _, uid := range p.KeptA {
		held[A][uid] = true
	}
	for _, uid := range p.KeptB {
		held[B][uid] = true
	}
	for s := range 2 {
		x.free[s], x.pending[s] = map[uint64][]uint32{}, map[uint64]bool{}
		for _, uid := range sortedUIDs(x.snap[s]) {
			if m := x.snap[s][uid]; m.Version != nil && !held[s][uid] {
				k := ObjectKey(m.ID)
				x.free[s][k] = append(x.free[s][k], uid)
			}
		}
	}
	for _, pd := range p.Pending {
		if strings.HasPrefix(pd.ID, objectPrefix) {
			x.pending[pd.To][ObjectKey(pd.ID)] = true
		}
	}
	return x
}

// take returns the new version on side s of the object with key k, whose linked message there is
// linked (held: whether the side still has it), and takes every free message of that object out of the
// index. Without a new version it returns ok false: no free message; or, while the linked message is
// there, copies a killed cycle sent, or versions older than the linked one (a client's, or one whose
// removal failed), which are removed where the sync may write (writable).
func (x *objectIndex) take(d *Decision, s Side, k uint64, linked uint32, held, writable bool) (m Message, ok bool) {
	uids := x.free[s][k]
	delete(x.free[s], k)
	if len(uids) == 0 {
		return Message{}, false
	}
	newest := uids[len(uids)-1]
	if held && (x.pending[s][k] || newest < linked) {
		for _, uid := range uids {
			if writable {
				d.Actions = append(d.Actions, Action{Kind: Delete, On: s, UID: uid, Double: true})
			}
		}
		return Message{}, false
	}
	return x.snap[s][newest], true
}

// hold marks every object message as held, so that the mail rules after matchObjects pass them by.
func (x *objectIndex) hold(linkedA, linkedB map[uint32]bool) {
	for s, linked := range []map[uint32]bool{linkedA, linkedB} {
		for uid, m := range x.snap[s] {
			if m.Version != nil {
				linked[uid] = true
			}
		}
	}
}

// object decides a linked groupware object. Without a new version on either side it is a message (flags,
// deletions). A new version on one side replaces the other side's (OneWay: only the source's; the
// target's is put back); new versions on both sides are a conflict unless they are the same bytes.
func (d *Decision) object(l syncstate.Link, a, b Snapshot, x *objectIndex, o Options) {
	ma, onA := a[l.A]
	mb, onB := b[l.B]
	newA, updA := x.take(d, A, l.Object, l.A, onA, o.Direction == TwoWay)
	newB, updB := x.take(d, B, l.Object, l.B, onB, true)
	// A version a newer one superseded on its side is removed there (what the client's update meant, or
	// what a cycle killed before removing it left): OneWay never writes to the source.
	superseded := func(s Side, m Message, there bool) {
		if there && (s == B || o.Direction == TwoWay) {
			d.Actions = append(d.Actions, Action{Kind: Delete, On: s, UID: m.UID, Double: true})
		}
	}
	switch {
	case !updA && !updB:
		d.message(l, a, b, o)
	case o.Direction == OneWay && updA:
		// The source's new version replaces what the target holds.
		switch {
		case updB:
			d.replace(A, newA, newB.UID, false)
			superseded(B, mb, onB)
		case onB:
			d.replace(A, newA, mb.UID, false)
		default:
			d.replace(A, newA, 0, false)
		}
	case o.Direction == OneWay:
		// The target changed a synced object: put back.
		switch {
		case onA && onB:
			d.Actions = append(d.Actions, Action{Kind: Delete, On: B, UID: newB.UID, Double: true})
			d.both(l, ma, mb, o)
		case onA:
			d.replace(A, ma, newB.UID, false)
		default:
			// The source deleted it: the deletion reaches the target's version as any other.
			d.propagate(B, newB, o, false)
			if onB {
				d.propagate(B, mb, o, false)
			}
		}
	case updA && updB:
		d.diverged(newA, newB, x, o)
		superseded(A, ma, onA)
		superseded(B, mb, onB)
	case updA:
		d.updatedOn(A, newA, Message{UID: l.B}, onB, ma, onA, o, superseded)
	default:
		d.updatedOn(B, newB, Message{UID: l.A}, onA, mb, onB, o, superseded)
	}
}

// updatedOn decides a TwoWay object with a new version m on side s only: it replaces the other side's
// linked message (other, there: still on that side), unless that side deleted it, a conflict. old is the
// linked message on side s (held: still there).
func (d *Decision) updatedOn(s Side, m, other Message, there bool, old Message, held bool, o Options, superseded func(Side, Message, bool)) {
	if there {
		d.replace(s, m, other.UID, false)
		superseded(s, old, held)
		return
	}
	// The other side deleted what this side changed.
	d.Conflicts++
	if deletionWins := (o.Conflicts == SourceWins && s == B) || (o.Conflicts == TargetWins && s == A); deletionWins {
		d.propagate(s, m, o, true)
		if held {
			d.propagate(s, old, o, true)
		}
		return
	}
	d.replace(s, m, 0, true)
	superseded(s, old, held)
}

// replace copies version m of side from to the other side, where it replaces message replaces (0: none).
func (d *Decision) replace(from Side, m Message, replaces uint32, conflict bool) {
	d.Actions = append(d.Actions, Action{Kind: Copy, On: from, UID: m.UID, Flags: m.Flags, Object: ObjectKey(m.ID), Replaces: replaces, Conflict: conflict})
}

// diverged decides an object both sides hold in a version the pair did not link: the same bytes are
// linked; else OneWay the source's replaces the target's, and TwoWay it is a conflict, settled by
// Conflicts (Newest and KeepBoth: the newer version wins; KeepBoth keeps the other as a copy with a new
// UID and a note, on both sides).
func (d *Decision) diverged(ma, mb Message, x *objectIndex, o Options) {
	obj := ObjectKey(ma.ID)
	if ma.Version.Digest == mb.Version.Digest {
		want := ma.Flags
		if o.Direction == TwoWay {
			want = union(ma.Flags, mb.Flags)
		}
		d.settle(ma, mb, want, obj)
		return
	}
	if o.Direction == OneWay {
		d.replace(A, ma, mb.UID, false)
		return
	}
	d.Conflicts++
	win := A
	switch o.Conflicts {
	case TargetWins:
		win = B
	case Newest, KeepBoth:
		if newer(mb.Version, ma.Version) {
			win = B
		}
	}
	w, lose := ma, mb
	if win == B {
		w, lose = mb, ma
	}
	d.replace(win, w, lose.UID, true)
	// The losing version's copy is made once: a cycle killed after storing it on a side finds it there, an
	// object of its own (matchObjects).
	if k := ObjectKey(objectID(conflictUID(lose))); o.Conflicts == KeepBoth && len(x.free[A][k]) == 0 && len(x.free[B][k]) == 0 {
		d.Actions = append(d.Actions, Action{Kind: Copy, On: win.other(), UID: lose.UID, Flags: lose.Flags, Rewrite: true, Conflict: true})
	}
}

// conflictUID is the UID of the copy of a conflict's losing version m: derived from its UID and bytes, so
// that the cycle after a killed one derives the same.
func conflictUID(m Message) string {
	return fmt.Sprintf("%s-conflict-%08x", strings.TrimPrefix(m.ID, objectPrefix), uint32(m.Version.Digest))
}

// readVersion reads the groupware object of a message: its identity (objectID), version, and title (its
// summary or name). ok is false for a message that holds no object with a UID (a mail in a groupware
// folder), synced as a message.
func readVersion(msg []byte, date time.Time) (id string, v *Version, title string, ok bool) {
	obj, err := calobject.OpenObject(msg)
	if err != nil {
		return "", nil, "", false
	}
	uid := obj.UID()
	if uid == "" || len(uid) > maxObjectUID {
		return "", nil, "", false
	}
	h := fnv.New64a()
	h.Write(msg)
	v = &Version{Date: date, Digest: h.Sum64()}
	if s, ok := obj.Get("SEQUENCE"); ok {
		v.Sequence, _ = strconv.Atoi(strings.TrimSpace(s))
	}
	for _, name := range []string{"LAST-MODIFIED", "REV"} {
		if s, ok := obj.Get(name); ok {
			if t, ok := parseStamp(s); ok {
				v.Modified = t
				break
			}
		}
	}
	for _, name := range []string{"SUMMARY", "FN"} {
		if s, ok := obj.Get(name); ok && strings.TrimSpace(s) != "" {
			title = oneLine(s)
			break
		}
	}
	return objectID(uid), v, title, true
}

// maxObjectUID bounds an object's UID (it is kept in pending copies, whose identities syncstate bounds).
const maxObjectUID = 1024

// parseStamp reads a time stamp as iCalendar, vCard, xCal and Kolab v2 write it.
func parseStamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"20060102T150405Z", "2006-01-02T15:04:05Z07:00", "20060102T150405Z07:00", "20060102T150405", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// matchObjects decides the objects no link holds: one on both sides is linked, or settled by diverged;
// one on one side only is copied (from side B only TwoWay). Of several versions of an object on one side
// (a client left the old one, or a cycle was killed before it removed the version its copy replaced) the
// newest is synced, and the older ones are removed where the sync may write: never two messages of one
// UID in a folder.
func (d *Decision) matchObjects(a, b Snapshot, x *objectIndex, o Options) {
	older := func(s Side, uids []uint32) {
		if s == B || o.Direction == TwoWay {
			for _, uid := range uids[:len(uids)-1] {
				d.Actions = append(d.Actions, Action{Kind: Delete, On: s, UID: uid, Double: true})
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(x.free[A])) {
		uids := x.free[A][k]
		older(A, uids)
		ma := a[uids[len(uids)-1]]
		if q := x.free[B][k]; len(q) > 0 {
			older(B, q)
			d.diverged(ma, b[q[len(q)-1]], x, o)
			delete(x.free[B], k)
			continue
		}
		d.replace(A, ma, 0, false)
	}
	for _, k := range slices.Sorted(maps.Keys(x.free[B])) {
		uids := x.free[B][k]
		switch {
		case o.Direction == TwoWay:
			older(B, uids)
			d.replace(B, b[uids[len(uids)-1]], 0, false)
		case o.ReadOnlySource:
			d.refuse(uids)
		}
		// Else one-way: what only the target holds is left alone.
	}
}
