package acl

import (
	"fmt"
	"sort"
)

// Diff computes the SETACL and DELETEACL operations that turn actual into
// desired.
//
//   - An identifier whose actual set equals the desired one is untouched.
//   - An identifier desired with a different (or no) actual set is in set.
//   - An identifier desired with an empty set means "no entry": it is removed
//     if present.
//   - In exact mode, identifiers present but not desired are removed, except
//     negative-rights entries ("-bob"), which are left alone unless desired
//     lists them. In merge mode (exact false) undesired entries are kept.
//
// remove is sorted. set is nil when there is nothing to set.
func Diff(desired, actual map[string]Set, exact bool) (set map[string]Set, remove []string) {
	for id, want := range desired {
		have, ok := actual[id]
		if want.IsEmpty() {
			if ok {
				remove = append(remove, id)
			}
			continue
		}
		if ok && have.Equal(want) {
			continue
		}
		if set == nil {
			set = make(map[string]Set)
		}
		set[id] = want
	}
	if exact {
		for id := range actual {
			if _, ok := desired[id]; ok || IsNegative(id) {
				continue
			}
			remove = append(remove, id)
		}
	}
	sort.Strings(remove)
	return set, remove
}

// LockoutError is returned by CheckOwner when a change would remove or
// reduce the mailbox owner's own rights.
type LockoutError struct {
	Owner    string
	Current  Set  // the owner's rights now
	Proposed Set  // the owner's rights after the change (empty when removed)
	Removed  bool // the owner's entry would be deleted
}

func (e *LockoutError) Error() string {
	if e.Removed {
		return fmt.Sprintf("acl: refusing to remove the owner %q's own entry (%s); allow it explicitly to proceed", e.Owner, e.Current)
	}
	return fmt.Sprintf("acl: refusing to reduce the owner %q's own rights from %q to %q (losing %q); allow it explicitly to proceed",
		e.Owner, e.Current.String(), e.Proposed.String(), e.Current.Minus(e.Proposed).String())
}

// CheckOwner returns a *LockoutError when applying Diff(desired, actual,
// exact) would take any right away from the owner's own entry: removing it
// (absent from desired in exact mode, or desired empty) or setting it to a
// set that lacks any letter the owner holds now, a and l included. Adding
// rights is fine, and so is an owner who has no explicit entry (servers grant
// owners implicit rights that GETACL may not show). Callers that mean it skip
// the check.
func CheckOwner(owner string, desired, actual map[string]Set, exact bool) error {
	if owner == "" {
		return nil
	}
	cur, ok := actual[owner]
	if !ok || cur.IsEmpty() {
		return nil
	}
	want, desiredOK := desired[owner]
	switch {
	case !desiredOK && !exact:
		return nil
	case !desiredOK || want.IsEmpty():
		return &LockoutError{Owner: owner, Current: cur, Removed: true}
	case !want.ContainsSet(cur):
		return &LockoutError{Owner: owner, Current: cur, Proposed: want}
	}
	return nil
}
