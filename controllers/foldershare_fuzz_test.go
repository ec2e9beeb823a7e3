package controllers

import (
	"strings"
	"testing"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/acl"
)

// FuzzSharePlanning drives the FolderShare planning with arbitrary grants and server ACLs: it must never
// panic, in Exact mode without allowOwnerLockout the plan must never drop the owner's existing entry, every
// declared grant is given, Merge never lowers a grantee's rights from before the share, and Merge takes
// back an entry the share made once it is no longer declared.
func FuzzSharePlanning(f *testing.F) {
	f.Add("bob", "lookup,read", "ReadOnly", "alice", "lrswipkxtea", "kxten", true)
	f.Add("group:staff", "create,delete", "", "alice", "", "", false)
	f.Add("anyone", "fly", "Full", "x", "lr", "texk", true)
	f.Fuzz(func(t *testing.T, grantee, rights, preset, owner, ownerLetters, serverRights string, exact bool) {
		var rs []mailshiftv1.Right
		for _, r := range strings.Split(rights, ",") {
			rs = append(rs, mailshiftv1.Right(r))
		}
		grants := []mailshiftv1.Grant{{Grantee: grantee, Rights: rs, Preset: mailshiftv1.RightsPreset(preset)}}
		desired, err := desiredACL(grants, serverRights, mailshiftv1.FlavorDovecot)
		if err != nil {
			return // invalid grants are rejected, which is the point
		}
		actual := map[string]acl.Set{owner: acl.ParseLetters(ownerLetters), "carol": acl.ParseLetters("lr")}
		plan := sharePlan{desired: desired, owner: owner, exact: exact, prior: priorLedger{{"f", "carol"}: {}}}
		want := plan.want("f", actual)
		set, remove := acl.Diff(want, actual, exact)
		// The operations the reconciler sends (DELETEACL for remove, then SETACL for set) leave the folder
		// exactly as the plan wants it.
		after := map[string]acl.Set{}
		for id, r := range actual {
			after[id] = r
		}
		for _, id := range remove {
			delete(after, id)
		}
		for id, r := range set {
			after[id] = r
		}
		for id, w := range want {
			got, present := after[id]
			if w.IsEmpty() && present {
				t.Fatalf("%s should have no entry after DELETEACL %v, SETACL %v, but has %q", id, remove, set, got)
			}
			if !w.IsEmpty() && !got.Equal(w) {
				t.Fatalf("%s has %q after DELETEACL %v, SETACL %v; the plan wants %q", id, got, remove, set, w)
			}
		}
		for id, d := range desired {
			if !want[id].ContainsSet(d) {
				t.Fatalf("%s is declared %q but the plan gives %q", id, d, want[id])
			}
			// Merge never lowers what a grantee held before the share touched its entry (carol's entry is
			// recorded as made by the share).
			if _, recorded := plan.prior[priorKey{"f", id}]; !exact && id != owner && !recorded && !want[id].ContainsSet(actual[id]) {
				t.Fatalf("Merge lowers %s from %q to %q", id, actual[id], want[id])
			}
		}
		if _, declared := desired["carol"]; !declared && !exact && "carol" != owner && !want["carol"].IsEmpty() {
			t.Fatalf("Merge does not take back carol's entry, which the share made: %q", want["carol"])
		}
		if _, declared := desired[owner]; exact && !declared && !actual[owner].IsEmpty() {
			for _, id := range remove {
				if id == owner {
					t.Fatalf("Exact plan removes the owner's entry: %v", remove)
				}
			}
		}
	})
}
