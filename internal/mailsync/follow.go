package mailsync

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/syncstate"
)

// Two-way, a folder renamed or deleted on one side is renamed or dealt with on the other, rather than
// created again where it went and filled from the other side. A folder pair the last cycles synced whose
// folder is gone from one side was renamed when that side has a folder no pair knows with the pair's
// UIDVALIDITY (RENAME keeps it, on Dovecot and Cyrus alike): the other side's folder is renamed to match,
// and the pair keeps its links. Else it was deleted: Propagate deletes the other side's folder too when
// that holds nothing the pair does not know (else keeps it, and says so); Ignore and MoveToTrash keep it,
// detached, never synced again and never created again on the side that deleted it.

// followFolders brings the folder pairs of st in line with what happened to their folders on either side
// since the last cycle, and reports what it did. Only for pairs made by autoPairs, two-way.
func (s *Sync) followFolders(ctx context.Context, st *syncstate.State, a, b *imapbulk.Conn, fa, fb *sideFolders) []FolderReport {
	var out []FolderReport
	known := [2]map[string]bool{{}, {}}
	for _, p := range st.Pairs {
		known[A][p.A], known[B][p.B] = true, true
	}
	var keep []syncstate.Pair
	for _, p := range st.Pairs {
		_, okA := fa.find(p.A)
		_, okB := fb.find(p.B)
		switch {
		case p.Detached() || (okA && okB) || p.MA.UIDValidity == 0 || p.MB.UIDValidity == 0:
			keep = append(keep, p) // in step, never synced yet, or detached before
			continue
		case !okA && !okB:
			out = append(out, FolderReport{A: p.A, B: p.B, Folder: "deleted on both sides"})
			continue // forgotten
		}
		gone, there := A, B
		thereConn, goneSide, thereSide := b, fa, fb
		if !okB {
			gone, there = B, A
			thereConn, goneSide, thereSide = a, fb, fa
		}
		name := [2]string{p.A, p.B}
		validity := [2]uint32{p.MA.UIDValidity, p.MB.UIDValidity}
		rep := FolderReport{A: p.A, B: p.B}
		if to, ok := goneSide.renamed(validity[gone], known[gone]); ok {
			f, _ := goneSide.find(to)
			newName, err := counterpart(f, goneSide, thereSide)
			if err == nil {
				err = thereConn.Rename(ctx, name[there], newName)
			}
			if err != nil {
				rep.Error = fmt.Sprintf("renamed to %q on side %s; renaming %q to match failed: %v", to, sideName(gone), name[there], err)
				keep = append(keep, p)
				out = append(out, rep)
				continue
			}
			thereSide.rename(name[there], newName)
			rep.Folder = fmt.Sprintf("renamed on side %s: %q, and on side %s to match: %q", sideName(gone), to, sideName(there), newName)
			name[gone], name[there] = to, newName
			p.A, p.B = name[A], name[B]
			keep = append(keep, p)
			out = append(out, rep)
			continue
		}
		// Deleted on that side.
		rep.Folder = fmt.Sprintf("deleted on side %s", sideName(gone))
		if s.Options.Deletions == DeletePropagate {
			if err := deleteIfKnown(ctx, thereConn, name[there], &p, there); err != nil {
				rep.Error = fmt.Sprintf("deleted on side %s; %q kept on side %s: %v", sideName(gone), name[there], sideName(there), err)
			} else {
				rep.Folder += fmt.Sprintf(", and on side %s", sideName(there))
				thereSide.remove(name[there])
				out = append(out, rep)
				continue
			}
		}
		// Kept there, alone: remembered, so that it is not paired and created again.
		rep.Folder += fmt.Sprintf("; %q kept on side %s and no longer synced", name[there], sideName(there))
		d := syncstate.Pair{}
		if there == A {
			d.A = name[A]
		} else {
			d.B = name[B]
		}
		keep = append(keep, d)
		out = append(out, rep)
	}
	st.Pairs = keep
	return out
}

// detach takes the folders that detached pairs of st remember for side s out of the side's list: the sync
// leaves them alone.
func (f *sideFolders) detach(st *syncstate.State, s Side) {
	for _, p := range st.Pairs {
		if name := [2]string{p.A, p.B}[s]; p.Detached() && name != "" {
			f.list = slices.DeleteFunc(f.list, func(x imapconn.Folder) bool { return x.Name == name })
		}
	}
}

func sideName(s Side) string { return []string{"A (source)", "B (target)"}[s] }

// renamed finds the folder of this side that no pair knows and has UIDVALIDITY validity: where a pair's
// folder went.
func (s *sideFolders) renamed(validity uint32, known map[string]bool) (string, bool) {
	for _, f := range s.list {
		if st, ok := s.status[f.Name]; ok && !known[f.Name] && st.UIDValidity == validity {
			return f.Name, true
		}
	}
	return "", false
}

// rename records a RENAME of folder from to to, and of the folders below it.
func (s *sideFolders) rename(from, to string) {
	for i, f := range s.list {
		rest, below := strings.CutPrefix(f.Name, from)
		if f.Name == from || (below && s.delim != 0 && strings.HasPrefix(rest, string(s.delim))) {
			s.list[i].Name = to + rest
			if st, ok := s.status[f.Name]; ok {
				delete(s.status, f.Name)
				s.status[to+rest] = st
			}
			if t, ok := s.types[f.Name]; ok {
				delete(s.types, f.Name)
				s.types[to+rest] = t
			}
		}
	}
}

// remove records a DELETE of folder name.
func (s *sideFolders) remove(name string) {
	s.list = slices.DeleteFunc(s.list, func(f imapconn.Folder) bool { return f.Name == name })
	delete(s.status, name)
}

// deleteIfKnown deletes folder name of side s when every message it holds is one the pair links (the
// other side deleted them with their folder); a message the pair does not know there would be lost.
func deleteIfKnown(ctx context.Context, c *imapbulk.Conn, name string, p *syncstate.Pair, s Side) error {
	st, err := c.Select(ctx, name, true)
	if err != nil {
		return err
	}
	uids, err := c.UIDSearch(ctx, "ALL")
	if err != nil {
		return err
	}
	linked := map[uint32]bool{}
	for _, l := range p.Links {
		if s == A {
			linked[l.A] = true
		} else {
			linked[l.B] = true
		}
	}
	if st.UIDValidity != [2]uint32{p.MA.UIDValidity, p.MB.UIDValidity}[s] {
		return fmt.Errorf("it was rebuilt since the last cycle (another UIDVALIDITY)")
	}
	for _, uid := range uids {
		if !linked[uid] {
			return fmt.Errorf("it holds messages the sync never carried (UID %d)", uid)
		}
	}
	if err := c.Unselect(ctx); err != nil {
		return err
	}
	return c.Delete(ctx, name)
}
