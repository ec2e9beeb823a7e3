package controllers

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/acl"
	"github.com/mailshift/mailshift/internal/testserver"
)

// getACL reads a folder's ACL with an independent client, letters normalised to sets.
func getACL(t *testing.T, c *imapclient.Client, folder string) map[string]string {
	t.Helper()
	data, err := c.GetACL(folder).Wait()
	if err != nil {
		t.Fatalf("GETACL %s: %v", folder, err)
	}
	out := map[string]string{}
	for id, rights := range data.Rights {
		out[string(id)] = acl.ParseLetters(string(rights)).String()
	}
	return out
}

// sharedCalendarVisible reports whether user sees alice's Calendar among the other users' folders.
func sharedCalendarVisible(t *testing.T, srv *testserver.Server, user string) bool {
	t.Helper()
	for _, n := range listNames(t, rawLogin(t, srv, srv.Users[user])) {
		if strings.Contains(n, "alice") && strings.HasSuffix(n, "Calendar") {
			return true
		}
	}
	return false
}

func setupShareFixture(t *testing.T, srv *testserver.Server) (ns string, share *mailshiftv1.FolderShare) {
	t.Helper()
	ns = newNamespace(t)
	ms, ca := serverObjects(ns, "imap", srv)
	mb, sec := userMailbox(ns, "imap", srv.Users["alice"])
	for _, o := range []clientObject{ca, sec, ms, mb} {
		mustCreate(t, o)
	}
	waitForReady(t, mb, func() []metav1.Condition { return mb.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonReady, 60*time.Second)
	share = &mailshiftv1.FolderShare{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-calendar"},
		Spec: mailshiftv1.FolderShareSpec{
			MailboxRef:     mailshiftv1.LocalObjectRef{Name: "alice"},
			SpecialFolder:  mailshiftv1.SpecialCalendar,
			Grants:         []mailshiftv1.Grant{{Grantee: "bob", Preset: mailshiftv1.PresetReadOnly}},
			ResyncInterval: &metav1.Duration{Duration: 2 * time.Second},
		},
	}
	return ns, share
}

// TestFolderShareLifecycle: a grant is applied and visible to the grantee, drift made by hand is put back
// and counted, Exact mode removes undeclared entries but never the owner's, and deleting the FolderShare
// revokes the grant.
func TestFolderShareLifecycle(t *testing.T) {
	for _, flavor := range []string{"dovecot", "cyrus"} {
		t.Run(flavor, func(t *testing.T) {
			srv := startServer(t, flavor)
			ns, share := setupShareFixture(t, srv)
			mustCreate(t, share)
			waitForReady(t, share, func() []metav1.Condition { return share.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonACLApplied, 60*time.Second)

			alice := rawLogin(t, srv, srv.Users["alice"])
			if got := getACL(t, alice, "Calendar")["bob"]; got != "lrs" {
				t.Fatalf("bob's rights on Calendar = %q, want lrs (ReadOnly)", got)
			}
			if !sharedCalendarVisible(t, srv, "bob") {
				t.Fatal("bob does not see alice's Calendar")
			}
			if sharedCalendarVisible(t, srv, "carol") {
				t.Fatal("carol sees alice's Calendar without a grant")
			}
			if len(share.Status.ACLs) != 1 || !slices.ContainsFunc(share.Status.ACLs[0].Entries, func(e mailshiftv1.ACLEntry) bool {
				return e.Identifier == "bob" && e.Letters == "lrs" && slices.Equal(e.Rights, []mailshiftv1.Right{"lookup", "read", "setSeen"})
			}) {
				t.Errorf("status does not show the ACL as read back: %+v", share.Status.ACLs)
			}

			// Drift: someone widens bob's rights by hand; the next resync puts them back and counts it.
			if err := alice.SetACL("Calendar", "bob", imap.RightModificationReplace, imap.RightSet("lrswi")).Wait(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 30*time.Second, "drift corrected", func() bool {
				_ = k8s.Get(context.Background(), key(ns, share.Name), share)
				return share.Status.DriftCorrections >= 1 && getACL(t, alice, "Calendar")["bob"] == "lrs"
			})
			waitForEvent(t, ns, share.Name, mailshiftv1.ReasonDriftCorrected)

			// The grant moves from bob to carol (still Merge mode): the withdrawn grant is taken back, while an
			// entry someone else made by hand is left alone.
			if err := alice.SetACL("Calendar", "anyone", imap.RightModificationReplace, imap.RightSet("l")).Wait(); err != nil {
				t.Fatal(err)
			}
			mutate(t, share, func(s *mailshiftv1.FolderShare) {
				s.Spec.Grants = []mailshiftv1.Grant{{Grantee: "carol", Preset: mailshiftv1.PresetReadOnly}}
			})
			waitFor(t, 30*time.Second, "grant moved from bob to carol", func() bool {
				a := getACL(t, alice, "Calendar")
				_, bob := a["bob"]
				return !bob && a["carol"] == "lrs"
			})
			if getACL(t, alice, "Calendar")["anyone"] != "l" {
				t.Error("Merge mode removed an entry it never made")
			}
			if !sharedCalendarVisible(t, srv, "carol") {
				t.Error("carol does not see alice's Calendar after the grant moved to her")
			}

			// Exact mode removes the undeclared entries but keeps the owner's own.
			ownerBefore := getACL(t, alice, "Calendar")["alice"]
			mutate(t, share, func(s *mailshiftv1.FolderShare) { s.Spec.Mode = mailshiftv1.ShareExact })
			waitFor(t, 30*time.Second, "anyone removed in Exact mode", func() bool {
				_, has := getACL(t, alice, "Calendar")["anyone"]
				return !has
			})
			if got := getACL(t, alice, "Calendar")["alice"]; got != ownerBefore || got == "" {
				t.Errorf("owner's entry changed from %q to %q", ownerBefore, got)
			}

			// Deleting the FolderShare revokes carol's grant, then the object goes away.
			if err := k8s.Delete(context.Background(), share); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 30*time.Second, "FolderShare deleted", func() bool {
				return apierrors.IsNotFound(k8s.Get(context.Background(), key(ns, share.Name), share))
			})
			if _, has := getACL(t, alice, "Calendar")["carol"]; has {
				t.Error("carol's grant survived the deletion of the FolderShare")
			}
			if sharedCalendarVisible(t, srv, "carol") {
				t.Error("carol still sees alice's Calendar")
			}
			if got := getACL(t, alice, "Calendar")["alice"]; got == "" {
				t.Error("deleting the FolderShare removed the owner's entry")
			}
		})
	}
}

// TestOwnerLockoutRefused: a grant that would cut the owner's own rights is refused, nothing is changed.
func TestOwnerLockoutRefused(t *testing.T) {
	srv := testserver.Dovecot(t)
	ns, share := setupShareFixture(t, srv)
	alice := rawLogin(t, srv, srv.Users["alice"])
	before := getACL(t, alice, "Calendar")
	share.Spec.Grants = append(share.Spec.Grants, mailshiftv1.Grant{Grantee: "alice", Preset: mailshiftv1.PresetReadOnly})
	mustCreate(t, share)
	cond := waitForReady(t, share, func() []metav1.Condition { return share.Status.Conditions }, metav1.ConditionFalse, mailshiftv1.ReasonOwnerLockout, 60*time.Second)
	if !strings.Contains(cond.Message, "allowOwnerLockout") {
		t.Errorf("message %q does not say how to proceed", cond.Message)
	}
	if st := condition(share.Status.Conditions, mailshiftv1.ConditionStalled); st.Status != metav1.ConditionTrue {
		t.Errorf("Stalled = %s, want True", st.Status)
	}
	waitForEvent(t, ns, share.Name, mailshiftv1.ReasonOwnerLockout)
	after := getACL(t, alice, "Calendar")
	if after["alice"] != before["alice"] {
		t.Errorf("owner's rights changed from %q to %q", before["alice"], after["alice"])
	}
	if _, has := after["bob"]; has {
		t.Error("the other grant was applied although the change as a whole was refused")
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for: %s", timeout, what)
}

// TestShareWithAnyoneAndSubfolders: the identifier "anyone" and applyToSubfolders, on both servers.
func TestShareWithAnyoneAndSubfolders(t *testing.T) {
	for _, flavor := range []string{"dovecot", "cyrus"} {
		t.Run(flavor, func(t *testing.T) {
			srv := startServer(t, flavor)
			_, share := setupShareFixture(t, srv)
			alice := rawLogin(t, srv, srv.Users["alice"])
			for _, f := range []string{"Public", "Public/Minutes"} {
				if err := alice.Create(f, nil).Wait(); err != nil {
					t.Fatalf("CREATE %s: %v", f, err)
				}
			}
			share.Spec.SpecialFolder = ""
			share.Spec.Folder = "Public"
			share.Spec.ApplyToSubfolders = true
			share.Spec.Grants = []mailshiftv1.Grant{{Grantee: "anyone", Rights: []mailshiftv1.Right{"lookup", "read"}}}
			mustCreate(t, share)
			waitForReady(t, share, func() []metav1.Condition { return share.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonACLApplied, 60*time.Second)
			for _, f := range []string{"Public", "Public/Minutes"} {
				if got := getACL(t, alice, f)["anyone"]; got != "lr" {
					t.Errorf("anyone's rights on %s = %q, want lr", f, got)
				}
			}
			if len(share.Status.ACLs) != 2 {
				t.Errorf("status shows %d folders, want 2", len(share.Status.ACLs))
			}
			var seen []string
			for _, n := range listNames(t, rawLogin(t, srv, srv.Users["carol"])) {
				if strings.Contains(n, "alice") && strings.Contains(n, "Public") {
					seen = append(seen, n)
				}
			}
			if len(seen) != 2 {
				t.Errorf("carol sees %v of alice's public folders, want both", seen)
			}

			// Subfolders turned off: the subfolder that is no longer shared loses the grant, the folder keeps it.
			mutate(t, share, func(s *mailshiftv1.FolderShare) { s.Spec.ApplyToSubfolders = false })
			waitFor(t, 30*time.Second, "grant revoked on the subfolder no longer shared", func() bool {
				_, has := getACL(t, alice, "Public/Minutes")["anyone"]
				return !has
			})
			if got := getACL(t, alice, "Public")["anyone"]; got != "lr" {
				t.Errorf("anyone's rights on Public = %q after turning subfolders off, want lr", got)
			}
		})
	}
}
