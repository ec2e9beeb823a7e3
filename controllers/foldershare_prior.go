package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/acl"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
)

// priorKey names one ACL entry: an identifier on a folder.
type priorKey struct{ folder, id string }

// priorEntry is an ACL entry as it was before the FolderShare first touched it.
type priorEntry struct {
	existed bool
	rights  acl.Set
}

// priorLedger is status.priorEntries as a lookup. It is what makes a FolderShare undoable: an entry is
// recorded before the first change to it, so withdrawing the change (or deleting the FolderShare) can put
// back exactly what was there, including "no entry".
type priorLedger map[priorKey]priorEntry

// ledgerOf reads status.priorEntries. Status written before entries were recorded only named the
// identifiers the FolderShare set (appliedGrantees), and those it had created: they are adopted as entries
// that did not exist, which is what deleting such a FolderShare used to undo. A FolderShare that has synced
// once always records at least its declared grantees, so an empty ledger beside appliedGrantees means old
// status.
func ledgerOf(st *mailshiftv1.FolderShareStatus, owner string) priorLedger {
	l := priorLedger{}
	for _, e := range st.PriorEntries {
		l[priorKey{e.Folder, e.Identifier}] = priorEntry{existed: e.Existed, rights: acl.ParseLetters(e.Letters)}
	}
	if len(st.PriorEntries) == 0 {
		for _, fa := range st.ACLs {
			for _, id := range st.AppliedGrantees {
				if id != owner {
					l[priorKey{fa.Folder, id}] = priorEntry{}
				}
			}
		}
	}
	return l
}

// record notes how an entry is now, unless it was recorded before; it reports whether it added one.
func (l priorLedger) record(folder, id string, actual map[string]acl.Set) bool {
	k := priorKey{folder, id}
	if _, ok := l[k]; ok {
		return false
	}
	cur, existed := actual[id]
	l[k] = priorEntry{existed: existed, rights: cur}
	return true
}

// entries renders the ledger for status, sorted by folder and identifier.
func (l priorLedger) entries() []mailshiftv1.PriorACLEntry {
	out := make([]mailshiftv1.PriorACLEntry, 0, len(l))
	for k, e := range l {
		out = append(out, mailshiftv1.PriorACLEntry{Folder: k.folder, Identifier: k.id, Existed: e.existed, Letters: e.rights.String()})
	}
	slices.SortFunc(out, func(a, b mailshiftv1.PriorACLEntry) int {
		if a.Folder != b.Folder {
			return strings.Compare(a.Folder, b.Folder)
		}
		return strings.Compare(a.Identifier, b.Identifier)
	})
	if len(out) == 0 {
		return nil
	}
	return out
}

// restoreWant is what putting back the recorded entries of one folder asks for: each identifier as it
// was, "no entry" where there was none. The owner's own entry is put back only when that gives rights
// back (Exact mode with allowOwnerLockout took some): removing it, or taking rights the owner holds now,
// could lock the owner out.
func (l priorLedger) restoreWant(folder, owner string, actual map[string]acl.Set) map[string]acl.Set {
	want := map[string]acl.Set{}
	for k, e := range l {
		if k.folder != folder {
			continue
		}
		if k.id == owner {
			if e.existed && !actual[owner].ContainsSet(e.rights) {
				want[owner] = actual[owner].Union(e.rights)
			}
			continue
		}
		if e.existed {
			want[k.id] = e.rights
		} else {
			want[k.id] = acl.Set{}
		}
	}
	return want
}

// restoreFolder puts the recorded entries of one folder back and forgets them. A folder that no longer
// exists has nothing to put back.
func (l priorLedger) restoreFolder(ctx context.Context, s *imapsession.Session, server, folder, owner string) error {
	actual, err := s.GetACL(ctx, folder)
	switch {
	case imapconn.KindOf(err) == imapconn.NotFound:
	case err != nil:
		return fmt.Errorf("GETACL %s: %w", folder, err)
	default:
		if _, err := applyFolderACL(ctx, s, server, folder, l.restoreWant(folder, owner, actual), actual, false); err != nil {
			return fmt.Errorf("restore the ACL of %s: %w", folder, err)
		}
	}
	for k := range l {
		if k.folder == folder {
			delete(l, k)
		}
	}
	return nil
}

// folders lists the folders the ledger has entries for, sorted.
func (l priorLedger) folders() []string {
	var out []string
	for k := range l {
		if !slices.Contains(out, k.folder) {
			out = append(out, k.folder)
		}
	}
	slices.Sort(out)
	return out
}

// forgetUndone drops the entries of shared folders that are back as they were after a sync: in Merge mode
// those of identifiers no longer declared (put back), in Exact mode those of undeclared identifiers that had
// no entry before (removed again). What is left is what the FolderShare still holds changed.
func (l priorLedger) forgetUndone(folders []string, desired map[string]acl.Set, exact bool) {
	for k, e := range l {
		if _, declared := desired[k.id]; declared || !slices.Contains(folders, k.folder) {
			continue
		}
		if !exact || !e.existed {
			delete(l, k)
		}
	}
}

// removed returns the entries of folder that existed before the FolderShare and are gone from actual, as
// they were: what Exact mode removed.
func (l priorLedger) removed(folder string, actual map[string]acl.Set) map[string]acl.Set {
	out := map[string]acl.Set{}
	for k, e := range l {
		if _, still := actual[k.id]; k.folder == folder && e.existed && !still {
			out[k.id] = e.rights
		}
	}
	return out
}
