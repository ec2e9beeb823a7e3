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
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/acl"
	"github.com/mailshift/mailshift/internal/connlimit"
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
			// Without admin credentials nobody can act as bob to subscribe him: status says so.
			if c := condition(share.Status.Conditions, mailshiftv1.ConditionSubscribed); c == nil || c.Status != metav1.ConditionFalse ||
				c.Reason != mailshiftv1.ReasonGranteeNotSubscribed || !strings.Contains(c.Message, "bob") || !strings.Contains(c.Message, "admin credentials") {
				t.Errorf("Subscribed condition = %+v, want False/%s naming bob and the missing admin credentials", c, mailshiftv1.ReasonGranteeNotSubscribed)
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
			// The anyone entry Exact mode removed is back as it was before the share touched it.
			if got := getACL(t, alice, "Calendar")["anyone"]; got != "l" {
				t.Errorf("anyone's entry after deletion = %q, want l as before Exact mode removed it", got)
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

// withAdmin gives the fixture's MailServer the test server's admin credentials, so that the controllers can
// act as the grantees.
func withAdmin(t *testing.T, ns string, srv *testserver.Server) {
	t.Helper()
	admin := secret(ns, "imap-admin", map[string]string{"username": srv.Admin.Login, "password": srv.Admin.Password})
	mustCreate(t, admin)
	ms := &mailshiftv1.MailServer{}
	ms.Namespace, ms.Name = ns, "imap"
	mutate(t, ms, func(m *mailshiftv1.MailServer) {
		m.Spec.Admin = &mailshiftv1.AdminCredentials{SecretRef: mailshiftv1.CredentialsSecretRef{Name: admin.Name}}
		if srv.Flavor == "dovecot" {
			m.Spec.Admin.VerifyLogin = "alice" // a Dovecot master user cannot log in as itself
		}
	})
}

// subscribedNames lists what a user is subscribed to, with an independent client (LIST (SUBSCRIBED)).
func subscribedNames(t *testing.T, srv *testserver.Server, user string) []string {
	t.Helper()
	c := rawLogin(t, srv, srv.Users[user])
	boxes, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatalf("LIST (SUBSCRIBED) as %s: %v", user, err)
	}
	var names []string
	for _, b := range boxes {
		names = append(names, b.Mailbox)
	}
	_ = c.Logout().Wait()
	return names
}

// sharedName is alice's Calendar as another user of the test server sees it.
func sharedName(srv *testserver.Server) string {
	if srv.Flavor == "dovecot" {
		return "shared/alice/Calendar"
	}
	return "Other Users/alice/Calendar"
}

// readAndSubscribe lets user read alice's Calendar (set by hand, as alice) and subscribes user to it. Servers
// refuse subscribing to a folder the user cannot see.
func readAndSubscribe(t *testing.T, srv *testserver.Server, user string) {
	t.Helper()
	if err := rawLogin(t, srv, srv.Users["alice"]).SetACL("Calendar", imap.RightsIdentifier(user), imap.RightModificationReplace, imap.RightSet("lr")).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := rawLogin(t, srv, srv.Users[user]).Subscribe(sharedName(srv)).Wait(); err != nil {
		t.Fatalf("%s SUBSCRIBE %s: %v", user, sharedName(srv), err)
	}
}

// TestFolderShareSubscribesGrantees: a login grantee is subscribed to the shared folder (through admin
// impersonation) by the time the share is Ready, so it appears in the grantee's folder list; the
// subscription is taken back when the grant moves to someone else and when the FolderShare is deleted, and
// a subscription the grantee had made itself is left alone.
func TestFolderShareSubscribesGrantees(t *testing.T) {
	for _, flavor := range []string{"dovecot", "cyrus"} {
		t.Run(flavor, func(t *testing.T) {
			srv := startServer(t, flavor)
			ns, share := setupShareFixture(t, srv)
			withAdmin(t, ns, srv)
			name := sharedName(srv)
			// carol could already read it (granted by hand) and subscribed to it herself.
			readAndSubscribe(t, srv, "carol")
			share.Spec.Grants = append(share.Spec.Grants,
				mailshiftv1.Grant{Grantee: "anyone", Rights: []mailshiftv1.Right{"lookup"}},
				mailshiftv1.Grant{Grantee: "carol", Preset: mailshiftv1.PresetReadOnly})
			mustCreate(t, share)
			waitForReady(t, share, func() []metav1.Condition { return share.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonACLApplied, 60*time.Second)

			if got := subscribedNames(t, srv, "bob"); !slices.Contains(got, name) {
				t.Fatalf("bob is subscribed to %v once the share is Ready, want %q among them", got, name)
			}
			if c := condition(share.Status.Conditions, mailshiftv1.ConditionSubscribed); c == nil || c.Status != metav1.ConditionTrue || c.Reason != mailshiftv1.ReasonGranteesSubscribed {
				t.Errorf("Subscribed condition = %+v, want True/%s", c, mailshiftv1.ReasonGranteesSubscribed)
			}
			want := []mailshiftv1.GranteeSubscription{
				{Grantee: "bob", Folder: "Calendar", Mailbox: name, ByShare: true},
				{Grantee: "carol", Folder: "Calendar", Mailbox: name, ByShare: false},
			}
			if !slices.Equal(share.Status.Subscriptions, want) {
				t.Errorf("status.subscriptions = %+v, want %+v (anyone is never subscribed)", share.Status.Subscriptions, want)
			}

			// The grant to bob is withdrawn: his subscription goes with it; carol keeps hers.
			mutate(t, share, func(s *mailshiftv1.FolderShare) { s.Spec.Grants = s.Spec.Grants[1:] })
			waitFor(t, 30*time.Second, "bob unsubscribed after his grant was withdrawn", func() bool {
				return !slices.Contains(subscribedNames(t, srv, "bob"), name)
			})

			// bob is granted again, then the FolderShare is deleted: unsubscribed again; carol's own
			// subscription survives.
			mutate(t, share, func(s *mailshiftv1.FolderShare) {
				s.Spec.Grants = append(s.Spec.Grants, mailshiftv1.Grant{Grantee: "bob", Preset: mailshiftv1.PresetReadOnly})
			})
			waitFor(t, 30*time.Second, "bob subscribed again", func() bool {
				return slices.Contains(subscribedNames(t, srv, "bob"), name)
			})
			if err := k8s.Delete(context.Background(), share); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 30*time.Second, "FolderShare deleted", func() bool {
				return apierrors.IsNotFound(k8s.Get(context.Background(), key(ns, share.Name), share))
			})
			if got := subscribedNames(t, srv, "bob"); slices.Contains(got, name) {
				t.Errorf("bob is still subscribed to %q after the FolderShare was deleted", name)
			}
			if got := subscribedNames(t, srv, "carol"); !slices.Contains(got, name) {
				t.Errorf("carol's own subscription to %q was removed; she has %v", name, got)
			}
		})
	}
}

// TestFolderShareRevokeUsesLastSyncRecord: the revoke of a deleted FolderShare undoes what the last sync
// did even when the copy of the object it is given does not show that sync's status yet (the status write
// came after the delete, and the cache has only the delete). A reconciler of its own is driven by hand, so
// that the stale copy is certain rather than a matter of timing.
func TestFolderShareRevokeUsesLastSyncRecord(t *testing.T) {
	for _, flavor := range []string{"dovecot", "cyrus"} {
		t.Run(flavor, func(t *testing.T) {
			srv := startServer(t, flavor)
			ns, share := setupShareFixture(t, srv)
			withAdmin(t, ns, srv)
			name := sharedName(srv)
			// What the last sync did on the server: bob may read alice's Calendar and is subscribed to it.
			readAndSubscribe(t, srv, "bob")
			r := &FolderShareReconciler{Client: k8s, checks: newNetChecks(newCheckPool(connlimit.New(), 1),
				func(err error) shareCheck { return shareCheck{o: outcomeOf(err)} })}
			key := client.ObjectKeyFromObject(share)
			synced := share.Status.DeepCopy()
			synced.Subscriptions = []mailshiftv1.GranteeSubscription{{Grantee: "bob", Folder: "Calendar", Mailbox: name, ByShare: true}}
			r.checks.results[key] = checkResult[shareCheck]{version: "synced", finished: time.Now(), applied: true,
				value: shareCheck{o: outcome{ready: true}, status: *synced, synced: true}}

			// The copy the revoke is given: deleted, with the status from before that sync.
			stale := share.DeepCopy()
			stale.Finalizers = []string{revokeFinalizer}
			stale.DeletionTimestamp = &metav1.Time{Time: time.Now()}
			if _, err := r.revoke(context.Background(), stale); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 30*time.Second, "the revoke finished", func() bool {
				res, ok := r.checks.last(key)
				return ok && res.version == revokeVersion
			})
			if res, _ := r.checks.last(key); !res.value.revoked {
				t.Fatalf("revoke did not finish: %+v", res.value.o)
			}
			if got := subscribedNames(t, srv, "bob"); slices.Contains(got, name) {
				t.Errorf("bob is still subscribed to %q after the revoke: it went from the stale status, not the last sync's", name)
			}
		})
	}
}

// TestFolderShareMergeKeepsBroaderRights: in Merge mode a grantee who already had broader rights keeps
// them, and deleting the FolderShare leaves the entry exactly as it was before while removing the entry it
// created.
func TestFolderShareMergeKeepsBroaderRights(t *testing.T) {
	for _, flavor := range []string{"dovecot", "cyrus"} {
		t.Run(flavor, func(t *testing.T) {
			srv := startServer(t, flavor)
			ns, share := setupShareFixture(t, srv)
			alice := rawLogin(t, srv, srv.Users["alice"])
			if err := alice.SetACL("Calendar", "bob", imap.RightModificationReplace, imap.RightSet("lrswi")).Wait(); err != nil {
				t.Fatal(err)
			}
			share.Spec.Grants = append(share.Spec.Grants, mailshiftv1.Grant{Grantee: "carol", Preset: mailshiftv1.PresetReadOnly})
			mustCreate(t, share)
			waitForReady(t, share, func() []metav1.Condition { return share.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonACLApplied, 60*time.Second)
			acl := getACL(t, alice, "Calendar")
			if acl["bob"] != "ilrsw" {
				t.Errorf("bob's rights after a ReadOnly grant in Merge mode = %q, want his earlier ilrsw kept", acl["bob"])
			}
			if acl["carol"] != "lrs" {
				t.Errorf("carol's rights = %q, want lrs", acl["carol"])
			}
			// Two resyncs later nothing has been lowered either.
			time.Sleep(5 * time.Second)
			if got := getACL(t, alice, "Calendar")["bob"]; got != "ilrsw" {
				t.Errorf("bob's rights after resyncs = %q, want ilrsw", got)
			}
			if err := k8s.Delete(context.Background(), share); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 30*time.Second, "FolderShare deleted", func() bool {
				return apierrors.IsNotFound(k8s.Get(context.Background(), key(ns, share.Name), share))
			})
			acl = getACL(t, alice, "Calendar")
			if acl["bob"] != "ilrsw" {
				t.Errorf("bob's entry after deletion = %q, want ilrsw as before the share", acl["bob"])
			}
			if _, has := acl["carol"]; has {
				t.Errorf("carol's entry, created by the share, survived its deletion: %q", acl["carol"])
			}
		})
	}
}

// TestFolderShareExactRestoresOnDelete: Exact mode removes a pre-existing "anyone" entry and lowers a
// grantee's broader rights, says so in status and an Event, and deleting the FolderShare puts both back as
// they were.
func TestFolderShareExactRestoresOnDelete(t *testing.T) {
	for _, flavor := range []string{"dovecot", "cyrus"} {
		t.Run(flavor, func(t *testing.T) {
			srv := startServer(t, flavor)
			ns, share := setupShareFixture(t, srv)
			alice := rawLogin(t, srv, srv.Users["alice"])
			for id, rights := range map[string]string{"anyone": "lr", "bob": "lrswi"} {
				if err := alice.SetACL("Calendar", imap.RightsIdentifier(id), imap.RightModificationReplace, imap.RightSet(rights)).Wait(); err != nil {
					t.Fatal(err)
				}
			}
			before := getACL(t, alice, "Calendar")
			share.Spec.Mode = mailshiftv1.ShareExact
			mustCreate(t, share)
			cond := waitForReady(t, share, func() []metav1.Condition { return share.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonACLApplied, 60*time.Second)
			acl := getACL(t, alice, "Calendar")
			if _, has := acl["anyone"]; has || acl["bob"] != "lrs" {
				t.Fatalf("Exact mode left %v, want anyone removed and bob at lrs", acl)
			}
			if !strings.Contains(cond.Message, "lowered") || !strings.Contains(cond.Message, "removed 1 ACL entry") {
				t.Errorf("Ready message %q does not say that rights were lowered and an entry removed", cond.Message)
			}
			wantRemoved := []mailshiftv1.FolderACL{{Folder: "Calendar", Entries: []mailshiftv1.ACLEntry{
				{Identifier: "anyone", Letters: "lr", Rights: []mailshiftv1.Right{"lookup", "read"}}}}}
			if !equalFolderACLs(share.Status.RemovedByExact, wantRemoved) {
				t.Errorf("status.removedByExact = %+v, want %+v", share.Status.RemovedByExact, wantRemoved)
			}
			waitForEvent(t, ns, share.Name, mailshiftv1.ReasonRightsLowered)

			if err := k8s.Delete(context.Background(), share); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 30*time.Second, "FolderShare deleted", func() bool {
				return apierrors.IsNotFound(k8s.Get(context.Background(), key(ns, share.Name), share))
			})
			after := getACL(t, alice, "Calendar")
			for _, id := range []string{"anyone", "bob", "alice"} {
				if after[id] != before[id] {
					t.Errorf("%s's entry after deletion = %q, want %q as before the share", id, after[id], before[id])
				}
			}
		})
	}
}

func equalFolderACLs(a, b []mailshiftv1.FolderACL) bool {
	return slices.EqualFunc(a, b, func(x, y mailshiftv1.FolderACL) bool {
		return x.Folder == y.Folder && slices.EqualFunc(x.Entries, y.Entries, func(p, q mailshiftv1.ACLEntry) bool {
			return p.Identifier == q.Identifier && p.Letters == q.Letters && slices.Equal(p.Rights, q.Rights)
		})
	})
}

// TestFolderShareRecordOnlyFromASync: a check that never ran (no connection slot in time) carries no status,
// so it is never taken for the FolderShare's record of prior entries and subscriptions: an empty one would
// leave nothing to restore or unsubscribe when the FolderShare is deleted.
func TestFolderShareRecordOnlyFromASync(t *testing.T) {
	r := &FolderShareReconciler{checks: newNetChecks(newCheckPool(connlimit.New(), 1),
		func(err error) shareCheck { return shareCheck{o: outcomeOf(err)} })}
	key := client.ObjectKey{Namespace: "t", Name: "alice-calendar"}
	r.checks.results[key] = checkResult[shareCheck]{version: "v1", value: r.checks.failed(context.DeadlineExceeded)}
	if st, ok := r.lastRecord(key); ok {
		t.Errorf("a check that never ran was taken for the record: %+v", st)
	}
	synced := mailshiftv1.FolderShareStatus{PriorEntries: []mailshiftv1.PriorACLEntry{{Folder: "Calendar", Identifier: "bob"}}}
	r.checks.results[key] = checkResult[shareCheck]{version: "v1", value: shareCheck{o: outcome{ready: true}, status: synced, synced: true}}
	if st, ok := r.lastRecord(key); !ok || len(st.PriorEntries) != 1 {
		t.Errorf("a sync's record: %+v, %v", st, ok)
	}
}
