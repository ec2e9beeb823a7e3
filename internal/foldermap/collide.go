package foldermap

import (
	"fmt"
	"sort"
	"strings"
)

// CollisionError reports two source folders that would be stored in one target folder although their
// contents must stay apart: special folders of different roles, or folders of different kinds, configured
// or renamed onto one name.
type CollisionError struct {
	Target string   // the shared target name
	First  []string // source paths, the one sorting first first
	Second []string
	Why    string
}

func (e *CollisionError) Error() string {
	return fmt.Sprintf("foldermap: %q and %q would both be stored in %q: %s",
		joinPath(e.First), joinPath(e.Second), e.Target, e.Why)
}

// resolveCollisions makes every non-skipped target name unique, except where folders are merged on
// purpose. Names are settled from the top of the hierarchy down: disambiguating a folder renames its
// subtree, which can only create collisions deeper down, where they are settled later. A suffixed name is
// chosen among names nobody uses, so it cannot disturb a group already settled.
func (p *planner) resolveCollisions() error {
	taken := make(map[string]int)
	maxDepth := 0
	for _, pl := range p.placed {
		if !pl.skip {
			taken[p.t.collisionKey(pl.name)]++
			maxDepth = max(maxDepth, p.t.depth(pl.name))
		}
	}
	for depth := 0; depth <= maxDepth; depth++ {
		groups := make(map[string][]int)
		for i, pl := range p.placed {
			if !pl.skip && p.t.depth(pl.name) == depth {
				key := p.t.collisionKey(pl.name)
				groups[key] = append(groups[key], i)
			}
		}
		keys := make([]string, 0, len(groups))
		for key, members := range groups {
			if len(members) > 1 {
				keys = append(keys, key)
			}
		}
		sort.Strings(keys)
		for _, key := range keys {
			if err := p.resolveGroup(groups[key], taken); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolveGroup settles the folders sharing one target name. Fixed names (special folders, groupware
// folders, renamed folders) keep it and are merged if they may be; the others get a " (n)" suffix, in the
// order of their source paths, so the result does not depend on the order of the sources.
func (p *planner) resolveGroup(members []int, taken map[string]int) error {
	sort.Slice(members, func(a, b int) bool {
		x, y := members[a], members[b]
		fx, fy := p.placed[x].fixed != notFixed, p.placed[y].fixed != notFixed
		if fx != fy {
			return fx
		}
		if px, py := joinPath(p.src[x].Path), joinPath(p.src[y].Path); px != py {
			return px < py
		}
		return x < y
	})
	var fixed, movable []int
	for _, i := range members {
		if p.placed[i].fixed != notFixed {
			fixed = append(fixed, i)
		} else {
			movable = append(movable, i)
		}
	}
	if err := p.mergeFixed(fixed); err != nil {
		return err
	}
	keeper := members[0]
	if len(fixed) == 0 {
		movable = movable[1:]
	}
	for _, i := range movable {
		p.disambiguate(i, keeper, taken)
	}
	return nil
}

// mergeFixed lets fixed names share a folder when that is what they mean: special folders of one role
// ("Sent Items" and "Gesendete Elemente"), or a rename the user asked for onto a folder of the same kind.
func (p *planner) mergeFixed(fixed []int) error {
	if len(fixed) < 2 {
		return nil
	}
	first := fixed[0]
	anyRename := false
	for _, i := range fixed {
		anyRename = anyRename || p.placed[i].fixed == fixedRename
	}
	for _, i := range fixed[1:] {
		a, b := p.placed[first], p.placed[i]
		ka, kb := folderKind(p.src[first].Kind), folderKind(p.src[i].Kind)
		var why string
		switch {
		case ka != kb:
			why = fmt.Sprintf("folders of different kinds (%s, %s) cannot share a folder", ka, kb)
		case !anyRename && (a.fixed != fixedRole || b.fixed != fixedRole):
			why = "two special folders of the target are configured with one name"
		case !anyRename && a.role != b.role:
			why = fmt.Sprintf("the %s and %s folders must stay distinct", a.role, b.role)
		}
		if why != "" {
			return &CollisionError{Target: a.name, First: p.src[first].Path, Second: p.src[i].Path, Why: why}
		}
	}
	for _, i := range fixed {
		var others []string
		for _, j := range fixed {
			if j != i {
				others = append(others, fmt.Sprintf("%q", joinPath(p.src[j].Path)))
			}
		}
		p.placed[i].reasons = append(p.placed[i].reasons, "merged with "+strings.Join(others, ", "))
	}
	return nil
}

// disambiguate gives mapping i the first free name "<leaf> (n)", n ≥ 2, and moves the folders whose names
// were derived from its name along with it.
func (p *planner) disambiguate(i, keeper int, taken map[string]int) {
	pl := &p.placed[i]
	old := pl.name
	var leaf, name string
	for n := 2; ; n++ {
		leaf = withSuffix(pl.leaf, escapeText(fmt.Sprintf(" (%d)", n), p.t), p.t)
		name = p.t.child(pl.parent, leaf)
		if taken[p.t.collisionKey(name)] == 0 {
			break
		}
	}
	taken[p.t.collisionKey(old)]--
	taken[p.t.collisionKey(name)]++
	pl.leaf, pl.name = leaf, name
	pl.reasons = append(pl.reasons, fmt.Sprintf("%q is also the target of %q: renamed to %q", old, joinPath(p.src[keeper].Path), name))

	// Subfolders follow, unless their placement was decided at or below themselves (their own rename or
	// special folder) or the path is ambiguous (two sources with one path cannot be told apart).
	path := p.src[i].Path
	if !p.uniquePath(path) {
		return
	}
	oldPrefix, newPrefix := old+string(p.t.Separator), name+string(p.t.Separator)
	for j := range p.placed {
		m := &p.placed[j]
		if j == i || m.skip || m.origin > len(path) || !isBelow(p.src[j].Path, path) || !strings.HasPrefix(m.name, oldPrefix) {
			continue
		}
		taken[p.t.collisionKey(m.name)]--
		m.name = newPrefix + m.name[len(oldPrefix):]
		taken[p.t.collisionKey(m.name)]++
		if m.parent == old {
			m.parent = name
		} else if strings.HasPrefix(m.parent, oldPrefix) {
			m.parent = newPrefix + m.parent[len(oldPrefix):]
		}
	}
}

// isBelow reports whether path lies strictly below ancestor.
func isBelow(path, ancestor []string) bool {
	if len(path) <= len(ancestor) {
		return false
	}
	for k, c := range ancestor {
		if path[k] != c {
			return false
		}
	}
	return true
}
