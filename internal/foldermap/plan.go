package foldermap

import (
	"fmt"
	"strings"

	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapconn"
)

// Source is one folder of the source store.
type Source struct {
	// Path holds the components as the user sees them, decoded UTF-8 ("Inbox", "Projekte", "2024"),
	// relative to the PST's top of information store or the IMAP personal namespace (prefix removed).
	Path []string
	// Kind is what the folder holds (from PR_CONTAINER_CLASS or the IMAP folder's annotation).
	Kind groupware.Kind
	// Role is the folder's special purpose when the source knows it (SPECIAL-USE, the PST's default
	// folder entry IDs), at any depth. RoleNone lets a top-level folder get its role by name (RoleOf).
	Role Role
	// Default marks the store's default folder of its Kind (Outlook's PR_IPM_APPOINTMENT_ENTRYID and
	// siblings), when the source knows it. It decides which of several calendars becomes the mailbox's
	// calendar.
	Default bool
}

// Mapping is the plan for one source folder.
type Mapping struct {
	Source Source
	// Target is the full target name, decoded UTF-8, with the target's separator and prefix
	// ("INBOX.Projekte.2024"); "" when skipped.
	Target string
	// Wire is Target in modified UTF-7, as sent on the wire.
	Wire string
	// Role is set when the folder maps onto a special folder itself (INBOX, \Sent, …), not on its
	// subfolders.
	Role Role
	Skip bool
	// Outbox marks the outbox and its subfolders: their messages were never sent. They go into the Drafts
	// folder (unless skipped), and each must be stored as a draft (\Draft) so that nothing sends it.
	Outbox bool
	// Reason says why the folder is skipped or how its target was chosen, including merges, suffixes and
	// shortening.
	Reason string
}

// Plan decides the target of every source folder. The result has one Mapping per source, in the order of
// src. It fails on an invalid target or rule, a source without a path, or two folders that would share a
// name although they must stay distinct (*CollisionError): for example special folders of different roles
// configured onto one target folder.
//
// Plan never merges folders silently: two special folders of one role ("Sent Items" and "Gesendete
// Elemente") share their target on purpose, and the Reason of both says so; any other two folders landing on
// one name are told apart with a " (2)" suffix on the one whose source path sorts later, and its subfolders
// move with it.
func Plan(src []Source, t Target, r Rules) ([]Mapping, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	rules, err := compileRules(r)
	if err != nil {
		return nil, err
	}
	for i, s := range src {
		if len(s.Path) == 0 {
			return nil, fmt.Errorf("foldermap: source %d has an empty path", i)
		}
	}
	p := newPlanner(src, t, rules)
	for i := range src {
		p.place(i)
	}
	if err := p.resolveCollisions(); err != nil {
		return nil, err
	}
	out := make([]Mapping, len(src))
	for i, pl := range p.placed {
		m := Mapping{Source: src[i], Skip: pl.skip, Role: pl.role, Outbox: pl.outbox, Reason: strings.Join(pl.reasons, "; ")}
		if !pl.skip {
			m.Target = pl.name
			m.Wire = imapconn.EncodeUTF7(pl.name)
		}
		out[i] = m
	}
	return out, nil
}

// fixedBy says why a target name may not be changed to resolve a collision.
type fixedBy int

const (
	notFixed       fixedBy = iota
	fixedRole              // a special folder of the target
	fixedGroupware         // a groupware folder of the mailbox
	fixedRename            // a name the user chose
)

// placed is the working state of one mapping.
type placed struct {
	skip    bool
	name    string // full decoded target name
	parent  string // full name above the last generated component; "" is the top of the personal namespace
	leaf    string // the last generated component (escaped); "" when the name is a fixed one given whole
	fixed   fixedBy
	role    Role
	origin  int // depth of the source path where the placement was derived: 0 = top, k = the anchor P[:k]
	outbox  bool
	reasons []string
}

type planner struct {
	t       Target
	rules   compiledRules
	src     []Source
	byPath  map[string][]int // exact source path → indices in input order
	primary map[groupware.Kind]int
	placed  []placed
}

func newPlanner(src []Source, t Target, rules compiledRules) *planner {
	p := &planner{t: t, rules: rules, src: src, byPath: make(map[string][]int), placed: make([]placed, len(src))}
	for i, s := range src {
		k := pathKey(s.Path)
		p.byPath[k] = append(p.byPath[k], i)
	}
	p.primary = p.choosePrimaries()
	return p
}

func pathKey(path []string) string { return strings.Join(path, "\x00") }

func joinPath(path []string) string { return strings.Join(path, "/") }

// lookup returns the first source with exactly this path.
func (p *planner) lookup(path []string) (int, bool) {
	if ids := p.byPath[pathKey(path)]; len(ids) > 0 {
		return ids[0], true
	}
	return 0, false
}

func (p *planner) uniquePath(path []string) bool { return len(p.byPath[pathKey(path)]) == 1 }

// roleAt is the role of the folder at path: the source's own role, or for a top-level folder its role by
// name (also when the folder itself is not among the sources, so "Sent Items/2023" follows "Sent Items").
func (p *planner) roleAt(path []string) Role {
	if i, ok := p.lookup(path); ok {
		s := p.src[i]
		switch {
		case isGroupware(s.Kind):
			return RoleNone
		case s.Role != RoleNone:
			return s.Role
		}
	}
	if len(path) == 1 {
		return RoleOf(path[0])
	}
	return RoleNone
}

func (p *planner) kindAt(path []string) groupware.Kind {
	if i, ok := p.lookup(path); ok {
		return folderKind(p.src[i].Kind)
	}
	return groupware.KindMail
}

// isGroupwareAnchor reports whether the folder at path is a groupware folder whose parent is not a folder
// of the same kind: the top of a tree of calendars (contacts, …) that moves to the mailbox's folder.
func (p *planner) isGroupwareAnchor(path []string) bool {
	k := p.kindAt(path)
	if !isGroupware(k) {
		return false
	}
	return len(path) == 1 || p.kindAt(path[:len(path)-1]) != k
}

// choosePrimaries picks, for each groupware kind, the anchor that becomes the mailbox's folder of that kind;
// other anchors of the kind become its subfolders. Preference: the source's default folder, then a
// top-level folder with Outlook's default name, then the shallowest, then the first by path, so that
// the choice does not depend on the order of the sources.
// Filters do not take part (they decide what is copied, not where), renamed folders do: they are placed by
// their rule.
func (p *planner) choosePrimaries() map[groupware.Kind]int {
	type rank struct {
		notDefault, notNamed bool
		depth                int
		path                 string
		index                int
	}
	less := func(a, b rank) bool {
		if a.notDefault != b.notDefault {
			return !a.notDefault
		}
		if a.notNamed != b.notNamed {
			return !a.notNamed
		}
		if a.depth != b.depth {
			return a.depth < b.depth
		}
		if a.path != b.path {
			return a.path < b.path
		}
		return a.index < b.index
	}
	best := make(map[groupware.Kind]rank)
	primary := make(map[groupware.Kind]int)
	for i, s := range p.src {
		if first, _ := p.lookup(s.Path); first != i || !p.isGroupwareAnchor(s.Path) {
			continue
		}
		if _, renamed := p.rules.rename(s.Path); renamed {
			continue
		}
		k := folderKind(s.Kind)
		r := rank{
			notDefault: !s.Default,
			notNamed:   !(len(s.Path) == 1 && isDefaultGroupwareName(s.Path[0], k)),
			depth:      len(s.Path),
			path:       joinPath(s.Path),
			index:      i,
		}
		if cur, ok := best[k]; !ok || less(r, cur) {
			best[k], primary[k] = r, i
		}
	}
	return primary
}

// place decides the target of source i, before collisions are resolved.
func (p *planner) place(i int) {
	s := p.src[i]
	pl := &p.placed[i]
	skip := func(reason string) { pl.skip, pl.reasons = true, []string{reason} }

	if ok, reason := p.rules.selection(foldPath(s.Path)); !ok {
		skip(reason)
		return
	}
	// Unsent messages stay drafts wherever a rule puts them.
	pl.outbox = p.underOutbox(s.Path)
	if isGroupware(s.Kind) && p.rules.SkipGroupware {
		skip(fmt.Sprintf("groupware (%s) folders are skipped by rule", s.Kind))
		return
	}
	if r, ok := p.rules.rename(s.Path); ok {
		pl.reasons = append(pl.reasons, fmt.Sprintf("renamed by rule %q → %q", r.keyText, r.valueText))
		raw := append(append([]string(nil), r.value...), s.Path[len(r.key):]...)
		p.below(pl, "", raw)
		pl.origin = len(r.key)
		if len(r.key) == len(s.Path) {
			pl.fixed = fixedRename
		}
		return
	}

	// The deepest special folder at or above this one decides where the subtree goes.
	for k := len(s.Path); k >= 1; k-- {
		anchor := s.Path[:k]
		if p.isGroupwareAnchor(anchor) {
			p.placeGroupware(pl, s, k)
			return
		}
		if role := p.roleAt(anchor); role != RoleNone {
			if p.placeSpecial(pl, s, k, role) {
				return
			}
			break // RootSpecial: an ordinary folder
		}
	}
	p.placeOrdinary(pl, s)
}

// underOutbox reports whether the folder at path is the outbox or below it.
func (p *planner) underOutbox(path []string) bool {
	for k := len(path); k >= 1; k-- {
		if p.roleAt(path[:k]) == RoleOutbox {
			return true
		}
	}
	return false
}

// placeSpecial places a folder at or below the special folder s.Path[:k]. It returns false when the folder
// is to be placed as an ordinary one (RootSpecial).
func (p *planner) placeSpecial(pl *placed, s Source, k int, role Role) bool {
	self := k == len(s.Path)
	if role == RoleOutbox {
		pl.outbox = true
		if !p.rules.MigrateOutbox {
			pl.skip = true
			if self {
				pl.reasons = []string{"outbox: unsent messages are not migrated (Rules.MigrateOutbox is off)"}
			} else {
				pl.reasons = []string{fmt.Sprintf("below the outbox %q, which is not migrated (Rules.MigrateOutbox is off)", joinPath(s.Path[:k]))}
			}
			return true
		}
	}
	if p.rules.RootSpecial {
		pl.reasons = append(pl.reasons, fmt.Sprintf("%s folder %q copied as an ordinary folder (RootSpecial)", role, joinPath(s.Path[:k])))
		return false
	}
	if role == RoleOutbox {
		// Unsent messages are the user's own writing, not yet sent: they become drafts, where every client
		// looks for them and none sends them by itself. RFC 6154 has no outbox.
		base, why := p.roleTarget(RoleDrafts)
		if self {
			pl.name, pl.fixed, pl.role, pl.origin = base, fixedRole, RoleDrafts, k
			pl.reasons = append(pl.reasons, "outbox: unsent messages go to Drafts as drafts ("+why+")")
			return true
		}
		pl.reasons = append(pl.reasons, fmt.Sprintf("below the outbox %q: placed below Drafts %q (%s)", joinPath(s.Path[:k]), base, why))
		p.below(pl, base, s.Path[k:])
		pl.origin = k
		return true
	}
	base, why := p.roleTarget(role)
	if self {
		pl.name, pl.fixed, pl.role, pl.origin = base, fixedRole, role, k
		pl.reasons = append(pl.reasons, why)
		return true
	}
	pl.reasons = append(pl.reasons, fmt.Sprintf("below %s %q (%s)", role.label(), base, why))
	p.below(pl, base, s.Path[k:])
	pl.origin = k
	return true
}

// roleTarget is the target folder of a role and how it was found.
func (p *planner) roleTarget(role Role) (name, why string) {
	if role == RoleInbox {
		return inboxName, "INBOX"
	}
	if name := p.t.SpecialUse[role]; name != "" {
		if role.SpecialUse() == "" {
			return name, fmt.Sprintf("the target's %s folder", role)
		}
		return name, "special-use " + role.SpecialUse()
	}
	conventional := role.ConventionalName()
	name = p.t.child("", Escape(conventional, p.t))
	return name, fmt.Sprintf("no %s folder on the target: conventional name %q", role.label(), name)
}

// placeGroupware places a folder at or below the groupware anchor s.Path[:k].
func (p *planner) placeGroupware(pl *placed, s Source, k int) {
	anchor := s.Path[:k]
	anchorIndex, _ := p.lookup(anchor)
	kind := folderKind(p.src[anchorIndex].Kind)
	self := k == len(s.Path)
	if p.rules.SkipGroupware {
		pl.skip, pl.reasons = true, []string{fmt.Sprintf("below the groupware (%s) folder %q, skipped by rule", kind, joinPath(anchor))}
		return
	}
	base := p.t.Groupware[kind]
	if base == "" {
		pl.skip = true
		if self {
			pl.reasons = []string{fmt.Sprintf("no %s folder on the target (Target.Groupware): groupware is never copied into a mail folder", kind)}
		} else {
			pl.reasons = []string{fmt.Sprintf("below the %s folder %q, which has no place on the target (Target.Groupware)", kind, joinPath(anchor))}
		}
		return
	}
	if p.primary[kind] == anchorIndex {
		if self {
			pl.name, pl.fixed, pl.origin = base, fixedGroupware, k
			pl.reasons = append(pl.reasons, "groupware → "+base)
			return
		}
		pl.reasons = append(pl.reasons, fmt.Sprintf("below groupware folder %q", base))
		p.below(pl, base, s.Path[k:])
	} else {
		// A further calendar (contacts, …) of the source becomes a subfolder of the mailbox's one, so that
		// the top level holds one folder per kind, as Kolab clients expect, and no folder is merged.
		pl.reasons = append(pl.reasons, fmt.Sprintf("groupware: another %s folder, placed below %q", kind, base))
		p.below(pl, base, s.Path[k-1:])
	}
	pl.origin = k
}

// placeOrdinary places a folder under its source path, below Root when set.
func (p *planner) placeOrdinary(pl *placed, s Source) {
	base := ""
	if len(p.rules.root) > 0 {
		var scratch placed
		p.below(&scratch, "", p.rules.root)
		base = scratch.name
		pl.reasons = append(pl.reasons, fmt.Sprintf("below root %q", base))
	} else if len(pl.reasons) == 0 {
		pl.reasons = append(pl.reasons, "source path")
	}
	p.below(pl, base, s.Path)
	pl.origin = 0
}

// below sets pl's name to the escaped components raw below base ("" = top of the personal namespace),
// shortening over-long components.
func (p *planner) below(pl *placed, base string, raw []string) {
	cur := base
	shortened := false
	for j, c := range raw {
		esc, cut := shorten(Escape(c, p.t), p.t)
		shortened = shortened || cut
		if j == len(raw)-1 {
			pl.parent, pl.leaf = cur, esc
		}
		cur = p.t.child(cur, esc)
	}
	pl.name = cur
	if shortened {
		pl.reasons = append(pl.reasons, fmt.Sprintf("name shortened to %d bytes with a hash suffix", p.t.MaxComponent))
	}
}
