// Package mailsync keeps the mail of two IMAP folders in step, one way or both ways (SyncPolicy, mailshift
// sync). A cycle reads what each side holds now, decides against what the two sides held when they last
// agreed (syncstate), and carries the differences over.
//
// This file is the deciding part, without any network: Decide turns the last agreed state of a folder
// pair and both sides' snapshots into the actions of a cycle. Each rule of the semantics table is a case
// of TestDecide.
package mailsync

import (
	"slices"
	"sort"

	"github.com/mailshift/mailshift/internal/syncstate"
)

// Direction: OneWay, the target (side B) follows the source (side A); TwoWay, changes go both ways.
type Direction int

const (
	OneWay Direction = iota
	TwoWay
)

// Deletions says what a message deleted on one side does on the other.
type Deletions int

const (
	DeleteIgnore      Deletions = iota // the other side keeps it; the two are no longer linked
	DeletePropagate                    // deleted there too
	DeleteMoveToTrash                  // moved to that side's trash folder
)

// Conflicts says who wins when one side deleted a message whose flags the other side changed since the
// last cycle. (Flags changed on both sides are merged, see Decide.)
type Conflicts int

const (
	KeepBoth   Conflicts = iota // the change wins: the message is kept, and copied back where it was deleted
	SourceWins                  // what side A did wins
	TargetWins                  // what side B did wins
	Newest                      // for mail as KeepBoth: a deletion has no time an IMAP server reports
)

// Options are a pair's rules.
type Options struct {
	Direction Direction
	Deletions Deletions
	Conflicts Conflicts
	// Objects: the pair is a groupware folder pair, whose objects are matched by their UID and updated by
	// replacing their message (see objects.go).
	Objects bool
	// ReadOnlySource: the user may not add to side A's folder (a shared calendar or folder whose MYRIGHTS
	// lack "i"). The pair runs one-way, and what the user adds on side B, which can never reach side A, is
	// removed there (after a notice carrying it reached side B's INBOX; see notice.go).
	ReadOnlySource bool
}

// Message is a message as a side holds it now.
type Message struct {
	UID   uint32
	Flags syncstate.Flags // in the pair's keyword table (Pair.FlagsOf)
	// ID is the message's identity (see msgid): what matches it with a message of the other side that is
	// not linked yet. "" when it could not be read; such a message is never matched. A groupware object's
	// is its UID (objectID), and it has a Version.
	ID      string
	Version *Version
}

// Snapshot is every message a side's folder holds now, by UID.
type Snapshot map[uint32]Message

// Side names side A (the source) or side B (the target).
type Side int

const (
	A Side = iota
	B
)

func (s Side) other() Side { return 1 - s }

// ActionKind is what an action does.
type ActionKind int

const (
	// Copy copies message UID of side On to the other side, and links the two with Flags. With Replaces, the
	// copy is a groupware object's new version: message Replaces of the other side, the version it
	// replaces, is removed once the copy is stored. With Rewrite, the copy is a conflict's losing version,
	// kept under a new UID with a note (conflictCopy), and stored on both sides.
	Copy ActionKind = iota
	// SetFlags sets the flags of message UID on side On to Flags.
	SetFlags
	// Delete deletes message UID on side On; Trash moves it to that side's trash folder.
	Delete
	Trash
)

// Action is one step of a cycle.
type Action struct {
	Kind  ActionKind
	On    Side // the side acted on (for Copy: the side copied from)
	UID   uint32
	Flags syncstate.Flags // Copy, SetFlags
	// Conflict: the action settles a conflict.
	Conflict bool
	// Double: the Delete removes a copy a killed cycle sent twice (see dropDoubles), or a groupware object's
	// version a newer one superseded, whatever Deletions.
	Double bool
	// Object is the link's object key (ObjectKey) a Copy makes; 0 for a message.
	Object   uint64
	Replaces uint32
	Rewrite  bool
	// Refused: the Delete removes what the user added on side B to a pair whose source they may not add to
	// (Options.ReadOnlySource).
	Refused bool
}

// Decision is what a cycle does for a pair: the actions, and the links that stand once they are done (the
// links of Copy actions are added by the caller, with the UID the target gave the copy).
type Decision struct {
	Actions   []Action
	Links     []syncstate.Link // sorted by A
	Conflicts int
	// KeptA and KeptB are the pair's next KeptA and KeptB (see syncstate.Pair), sorted.
	KeptA, KeptB []uint32
}

// Decide decides a cycle of pair p from a and b, what sides A and B hold now. It does not change p.
//
// A linked message is on both sides, or was deleted on one or both since the last cycle; its flags are
// compared with those the sides agreed on (the link's). OneWay: side B gets side A's flags, and a message
// deleted on side B only is copied there again (a change made on the target side is put back); a
// deletion on side A goes to side B per Deletions. TwoWay: flags changed on either side are merged (what
// either side set is set, what either side cleared is cleared); a deletion on either side goes to the
// other per Deletions, unless the other side changed the message's flags meanwhile, a conflict settled by
// Conflicts. A message that is not linked is matched by ID with one of the other side's that is not
// linked either (each once, in UID order), or copied: from side A always, from side B only TwoWay.
func Decide(p *syncstate.Pair, a, b Snapshot, o Options) Decision {
	var d Decision
	linkedA, linkedB := map[uint32]bool{}, map[uint32]bool{}
	var objs *objectIndex
	if o.Objects {
		objs = indexObjects(p, a, b)
	}
	// A message kept under Ignore stays out of the sync while it is there.
	for _, uid := range p.KeptA {
		if _, ok := a[uid]; ok {
			linkedA[uid] = true
			d.KeptA = append(d.KeptA, uid)
		}
	}
	for _, uid := range p.KeptB {
		if _, ok := b[uid]; ok {
			linkedB[uid] = true
			d.KeptB = append(d.KeptB, uid)
		}
	}
	for _, l := range p.Links {
		linkedA[l.A], linkedB[l.B] = true, true
		if objs != nil && l.Object != 0 {
			d.object(l, a, b, objs, o)
			continue
		}
		d.message(l, a, b, o)
	}
	// Groupware objects not linked, matched by UID; every object message is done with after this.
	if objs != nil {
		d.matchObjects(a, b, objs, o)
		objs.hold(linkedA, linkedB)
	}
	// Messages not linked, matched by identity before anything is copied: a copy a killed cycle made
	// (APPENDed, not yet linked) is found, not copied again.
	freeB := map[string][]uint32{}
	for _, uid := range sortedUIDs(b) {
		if m := b[uid]; !linkedB[uid] && m.ID != "" {
			freeB[m.ID] = append(freeB[m.ID], uid)
		}
	}
	matchedB := map[uint32]bool{}
	var restA, restB []uint32
	for _, uid := range sortedUIDs(a) {
		if linkedA[uid] {
			continue
		}
		ma := a[uid]
		if q := freeB[ma.ID]; ma.ID != "" && len(q) > 0 {
			mb := b[q[0]]
			freeB[ma.ID] = q[1:]
			matchedB[mb.UID] = true
			linkedA[uid] = true
			// No flags were agreed yet: OneWay takes side A's, TwoWay the union of both.
			want := ma.Flags
			if o.Direction == TwoWay {
				want = union(ma.Flags, mb.Flags)
			}
			d.settle(ma, mb, want, 0)
			continue
		}
		restA = append(restA, uid)
	}
	for _, uid := range sortedUIDs(b) {
		if !linkedB[uid] && !matchedB[uid] {
			restB = append(restB, uid)
		} else {
			linkedB[uid] = true
		}
	}
	// A copy a killed cycle sent may be stored after the next cycle read the folder, which then copied it
	// again: the one left over doubles a message the sync holds, and is removed.
	restA = d.dropDoubles(A, p, a, linkedA, restA)
	restB = d.dropDoubles(B, p, b, linkedB, restB)
	for _, uid := range restA {
		d.Actions = append(d.Actions, Action{Kind: Copy, On: A, UID: uid, Flags: a[uid].Flags})
	}
	switch {
	case o.Direction == TwoWay:
		for _, uid := range restB {
			d.Actions = append(d.Actions, Action{Kind: Copy, On: B, UID: uid, Flags: b[uid].Flags})
		}
	case o.ReadOnlySource:
		d.refuse(restB)
	}
	sort.Slice(d.Links, func(i, j int) bool { return d.Links[i].A < d.Links[j].A })
	slices.Sort(d.KeptA)
	slices.Sort(d.KeptB)
	return d
}

// message decides a linked message (or an object neither side has a new version of): its flags, or its
// deletion on a side. Deleted on both, nothing is left to do, and no link.
func (d *Decision) message(l syncstate.Link, a, b Snapshot, o Options) {
	ma, onA := a[l.A]
	mb, onB := b[l.B]
	switch {
	case onA && onB:
		d.both(l, ma, mb, o)
	case onA:
		d.deletedOn(B, l, ma, o)
	case onB:
		d.deletedOn(A, l, mb, o)
	}
}

// both decides a linked message that is on both sides.
func (d *Decision) both(l syncstate.Link, ma, mb Message, o Options) {
	want := ma.Flags
	if o.Direction == TwoWay {
		changedA, changedB := !ma.Flags.Equal(l.Flags), !mb.Flags.Equal(l.Flags)
		want = merge(l.Flags, ma.Flags, mb.Flags)
		if changedA && changedB && !ma.Flags.Equal(mb.Flags) {
			d.Conflicts++ // settled by the merge
		}
	}
	d.settle(ma, mb, want, l.Object)
}

// settle sets want on the side(s) that differ and links the two (a groupware object's with its key obj).
func (d *Decision) settle(ma, mb Message, want syncstate.Flags, obj uint64) {
	if !ma.Flags.Equal(want) {
		d.Actions = append(d.Actions, Action{Kind: SetFlags, On: A, UID: ma.UID, Flags: want})
	}
	if !mb.Flags.Equal(want) {
		d.Actions = append(d.Actions, Action{Kind: SetFlags, On: B, UID: mb.UID, Flags: want})
	}
	d.Links = append(d.Links, syncstate.Link{A: ma.UID, B: mb.UID, Flags: want, Object: obj})
}

// deletedOn decides a linked message deleted on side gone and still held, as kept, on the other side.
func (d *Decision) deletedOn(gone Side, l syncstate.Link, kept Message, o Options) {
	keeper := gone.other()
	if o.Direction == OneWay && gone == B {
		// The target deleted what the source holds: put back.
		d.Actions = append(d.Actions, Action{Kind: Copy, On: A, UID: kept.UID, Flags: kept.Flags, Object: l.Object})
		return
	}
	if o.Direction == TwoWay && !kept.Flags.Equal(l.Flags) && kept.Flags.System&syncstate.Deleted == 0 {
		// The other side changed it meanwhile. Marked \Deleted there, it is on its way out on that side too
		// (or a cycle that propagated the deletion was stopped before its UID EXPUNGE): no conflict.
		d.Conflicts++
		deletionWins := (o.Conflicts == SourceWins && gone == A) || (o.Conflicts == TargetWins && gone == B)
		if !deletionWins {
			d.Actions = append(d.Actions, Action{Kind: Copy, On: keeper, UID: kept.UID, Flags: kept.Flags, Conflict: true, Object: l.Object})
			return
		}
		d.propagate(keeper, kept, o, true)
		return
	}
	d.propagate(keeper, kept, o, false)
}

// dropDoubles returns rest (side's messages neither linked nor matched) without the doubles: those whose
// identity a pending copy to this side has, while a message of the side that is linked or matched has it
// too. It deletes them.
func (d *Decision) dropDoubles(side Side, p *syncstate.Pair, snap Snapshot, held map[uint32]bool, rest []uint32) []uint32 {
	pending := map[string]bool{}
	for _, x := range p.Pending {
		if Side(x.To) == side {
			pending[x.ID] = true
		}
	}
	if len(pending) == 0 {
		return rest
	}
	heldIDs := map[string]bool{}
	for uid := range held {
		if m, ok := snap[uid]; ok && m.ID != "" {
			heldIDs[m.ID] = true
		}
	}
	return slices.DeleteFunc(rest, func(uid uint32) bool {
		id := snap[uid].ID
		if id == "" || !pending[id] || !heldIDs[id] {
			return false
		}
		d.Actions = append(d.Actions, Action{Kind: Delete, On: side, UID: uid, Double: true})
		return true
	})
}

// propagate carries a deletion to side on, where m is, per Deletions.
func (d *Decision) propagate(on Side, m Message, o Options, conflict bool) {
	switch o.Deletions {
	case DeletePropagate:
		d.Actions = append(d.Actions, Action{Kind: Delete, On: on, UID: m.UID, Conflict: conflict})
	case DeleteMoveToTrash:
		d.Actions = append(d.Actions, Action{Kind: Trash, On: on, UID: m.UID, Conflict: conflict})
	default: // DeleteIgnore: the message stays there, no longer linked, and is not copied back.
		if on == A {
			d.KeptA = append(d.KeptA, m.UID)
		} else {
			d.KeptB = append(d.KeptB, m.UID)
		}
	}
}

// refuse removes side B's messages uids, which the user added where the source takes nothing from them.
func (d *Decision) refuse(uids []uint32) {
	for _, uid := range uids {
		d.Actions = append(d.Actions, Action{Kind: Delete, On: B, UID: uid, Refused: true})
	}
}

// merge is base with what either side set since set, and what either side cleared cleared.
func merge(base, a, b syncstate.Flags) syncstate.Flags {
	sys := base.System | (a.System &^ base.System) | (b.System &^ base.System)
	sys &^= (base.System &^ a.System) | (base.System &^ b.System)
	var kw []uint16
	for _, k := range union(union(base, a), b).Keywords {
		inBase, inA, inB := slices.Contains(base.Keywords, k), slices.Contains(a.Keywords, k), slices.Contains(b.Keywords, k)
		if inBase && (!inA || !inB) {
			continue // cleared on one side
		}
		kw = append(kw, k)
	}
	return syncstate.Flags{System: sys, Keywords: kw}
}

func union(a, b syncstate.Flags) syncstate.Flags {
	kw := slices.Concat(a.Keywords, b.Keywords)
	slices.Sort(kw)
	return syncstate.Flags{System: a.System | b.System, Keywords: slices.Compact(kw)}
}

func sortedUIDs(s Snapshot) []uint32 {
	out := make([]uint32, 0, len(s))
	for uid := range s {
		out = append(out, uid)
	}
	slices.Sort(out)
	return out
}
