package controllers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/testserver"
)

// rawLogin opens an independent IMAP session with go-imap directly (not through mailshift's code), so what
// the controllers did is checked by a second client.
func rawLogin(t *testing.T, srv *testserver.Server, u testserver.User) *imapclient.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CAPEM)
	c, err := imapclient.DialStartTLS(srv.Addr(), &imapclient.Options{TLSConfig: &tls.Config{RootCAs: pool, ServerName: srv.Host}})
	if err != nil {
		t.Fatalf("dial %s: %v", srv.Addr(), err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Login(u.Login, u.Password).Wait(); err != nil {
		t.Fatalf("login %s: %v", u.Login, err)
	}
	return c
}

func listNames(t *testing.T, c *imapclient.Client) []string {
	t.Helper()
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range boxes {
		names = append(names, b.Mailbox)
	}
	return names
}

// TestSpecialFoldersPlacement: groupware folders land where each server layout requires them, carry their
// Kolab type annotations, and a second IMAP session sees both.
func TestSpecialFoldersPlacement(t *testing.T) {
	cases := []struct {
		name     string
		calendar string
		contacts string
	}{
		{"dovecot", "Calendar", "Contacts"},
		{"cyrus-modern", "Calendar", "Contacts"},
		{"cyrus-legacy", "INBOX.Calendar", "INBOX.Contacts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, tc.name)
			ns := newNamespace(t)
			ms, ca := serverObjects(ns, "imap", srv)
			mb, sec := userMailbox(ns, "imap", srv.Users["alice"])
			for _, o := range []clientObject{ca, sec, ms, mb} {
				mustCreate(t, o)
			}
			cond := waitForReady(t, mb, func() []metav1.Condition { return mb.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonReady, 60*time.Second)
			if !strings.Contains(cond.Message, "logged in as alice") {
				t.Errorf("Ready message %q does not say who logged in", cond.Message)
			}
			if mb.Status.AuthenticatedAs != "user" || !slices.Contains(mb.Status.Capabilities, "IMAP4rev1") {
				t.Errorf("status: authenticatedAs=%q capabilities=%v", mb.Status.AuthenticatedAs, mb.Status.Capabilities)
			}
			if name := mb.Status.ServerID["name"]; !strings.Contains(strings.ToLower(name), srv.Flavor) {
				t.Errorf("status.serverID = %v, want the %s server's name", mb.Status.ServerID, srv.Flavor)
			}
			if mb.Status.Namespaces == nil || len(mb.Status.Namespaces.Personal) == 0 {
				t.Fatalf("no personal namespace in status: %+v", mb.Status.Namespaces)
			}
			got := map[mailshiftv1.SpecialFolderType]string{}
			for _, f := range mb.Status.SpecialFolders {
				got[f.Type] = f.Mailbox
			}
			if got[mailshiftv1.SpecialCalendar] != tc.calendar || got[mailshiftv1.SpecialContacts] != tc.contacts || len(got) != 5 {
				t.Fatalf("special folders in status = %v, want Calendar at %q and five in all", got, tc.calendar)
			}
			for _, f := range mb.Status.SpecialFolders {
				if !f.Annotated {
					t.Errorf("status says %s is not annotated", f.Mailbox)
				}
			}
			// Zero counts are stored, not left out, so `kubectl get` shows "0 messages" rather than a blank.
			var raw unstructured.Unstructured
			raw.SetGroupVersionKind(mailshiftv1.GroupVersion.WithKind("Mailbox"))
			if err := k8s.Get(context.Background(), key(ns, mb.Name), &raw); err != nil {
				t.Fatal(err)
			}
			if n, found, _ := unstructured.NestedInt64(raw.Object, "status", "messages"); !found || n != 0 {
				t.Errorf("status.messages = %d (stored: %v), want a stored 0 for an empty mailbox", n, found)
			}
			if mb.Status.Folders < 6 {
				t.Errorf("status.folders = %d, want at least INBOX and five special folders", mb.Status.Folders)
			}

			c := rawLogin(t, srv, srv.Users["alice"])
			names := listNames(t, c)
			for _, want := range []string{tc.calendar, tc.contacts} {
				if !slices.Contains(names, want) {
					t.Errorf("LIST as alice = %v, missing %q", names, want)
				}
			}
			if tc.name == "cyrus-legacy" && slices.Contains(names, "Calendar") {
				t.Errorf("legacy layout has a top-level Calendar: %v", names)
			}
			md, err := c.GetMetadata(tc.calendar, []string{"/shared/vendor/kolab/folder-type", "/private/vendor/kolab/folder-type"}, nil).Wait()
			if err != nil {
				t.Fatalf("GETMETADATA %s: %v", tc.calendar, err)
			}
			if v := md.Entries["/shared/vendor/kolab/folder-type"]; v == nil || string(*v) != "event" {
				t.Errorf("shared folder-type of %s = %v, want event", tc.calendar, md.Entries)
			}
			if v := md.Entries["/private/vendor/kolab/folder-type"]; v == nil || string(*v) != "event.default" {
				t.Errorf("private folder-type of %s = %v, want event.default", tc.calendar, md.Entries)
			}
			if srv.Flavor == "cyrus" { // Cyrus offers CREATE-SPECIAL-USE, so the mail folders are ensured too
				special, err := c.List("", "*", &imap.ListOptions{ReturnSpecialUse: true}).Collect()
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []imap.MailboxAttr{imap.MailboxAttrSent, imap.MailboxAttrDrafts, imap.MailboxAttrTrash, imap.MailboxAttrJunk, imap.MailboxAttrArchive} {
					if !slices.ContainsFunc(special, func(d *imap.ListData) bool { return slices.Contains(d.Attrs, want) }) {
						t.Errorf("no folder carries %s after the check", want)
					}
				}
			}
			subs, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(subs, func(d *imap.ListData) bool { return d.Mailbox == tc.calendar }) {
				t.Errorf("%s is not subscribed", tc.calendar)
			}
		})
	}
}

// TestAdminImpersonation: a Mailbox without its own password is checked through the MailServer's admin
// credentials, acting as the user.
func TestAdminImpersonation(t *testing.T) {
	for _, flavor := range []string{"dovecot", "cyrus"} {
		t.Run(flavor, func(t *testing.T) {
			srv := startServer(t, flavor)
			ns := newNamespace(t)
			ms, ca := serverObjects(ns, "imap", srv)
			admin := secret(ns, "imap-admin", map[string]string{"username": srv.Admin.Login, "password": srv.Admin.Password})
			ms.Spec.Admin = &mailshiftv1.AdminCredentials{SecretRef: mailshiftv1.CredentialsSecretRef{Name: admin.Name}}
			if flavor == "dovecot" {
				// A Dovecot master user cannot log in as itself; the check acts as this user instead.
				ms.Spec.Admin.VerifyLogin = "alice"
			}
			mb, _ := userMailbox(ns, "imap", srv.Users["carol"])
			mb.Spec.CredentialsSecretRef = nil
			for _, o := range []clientObject{ca, admin, ms, mb} {
				mustCreate(t, o)
			}
			waitForReady(t, ms, func() []metav1.Condition { return ms.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonConnected, 60*time.Second)
			if ms.Status.AdminAuthenticated == nil || !*ms.Status.AdminAuthenticated {
				t.Errorf("MailServer status does not show the admin login accepted")
			}
			cond := waitForReady(t, mb, func() []metav1.Condition { return mb.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonReady, 60*time.Second)
			if mb.Status.AuthenticatedAs != "admin" || !strings.Contains(cond.Message, "impersonation") {
				t.Errorf("authenticatedAs=%q message=%q", mb.Status.AuthenticatedAs, cond.Message)
			}
			// The folders were created in carol's mailbox, not the admin's.
			names := listNames(t, rawLogin(t, srv, srv.Users["carol"]))
			if !slices.Contains(names, "Calendar") {
				t.Errorf("carol's folders %v lack the Calendar created by impersonation", names)
			}
		})
	}
}

// TestFailureReasons: wrong password, unreachable host and a TLS failure each give their own reason, Stalled
// where a person must act, an Event, and a retry rather than a crash loop; no password leaks anywhere.
func TestFailureReasons(t *testing.T) {
	srv := testserver.Dovecot(t)
	const wrongPassword = "Wr0ng-Pa55word-for-alice"
	ns := newNamespace(t)

	good, ca := serverObjects(ns, "good", srv)
	unreachable, _ := serverObjects(ns, "unreachable", srv)
	unreachable.Spec.Port = int32(closedPort(t))
	unreachable.Spec.CABundle.Name = ca.Name
	badTLS, _ := serverObjects(ns, "badtls", srv)
	otherCA := secret(ns, "other-ca", map[string]string{"ca.crt": string(selfSignedCA(t))})
	badTLS.Spec.CABundle = &mailshiftv1.SecretKeyRef{Name: otherCA.Name}

	alice := srv.Users["alice"]
	wrong, wrongSec := userMailbox(ns, "good", alice)
	wrong.Name = "wrong-password"
	wrongSec.Name, wrongSec.StringData = "wrong-password", map[string]string{"password": wrongPassword}
	wrong.Spec.CredentialsSecretRef.Name = wrongSec.Name
	unr, sec := userMailbox(ns, "unreachable", alice)
	unr.Name = "unreachable"
	tlsm, _ := userMailbox(ns, "badtls", alice)
	tlsm.Name = "bad-tls"
	missing, _ := userMailbox(ns, "good", alice)
	missing.Name = "missing-secret"
	missing.Spec.CredentialsSecretRef.Name = "no-such-secret"

	for _, o := range []clientObject{ca, otherCA, sec, wrongSec, good, unreachable, badTLS, wrong, unr, tlsm, missing} {
		mustCreate(t, o)
	}
	cases := []struct {
		mb      *mailshiftv1.Mailbox
		reason  string
		stalled bool
	}{
		{wrong, mailshiftv1.ReasonAuthenticationFailed, true},
		{unr, mailshiftv1.ReasonUnreachable, false},
		{tlsm, mailshiftv1.ReasonTLSFailed, true},
		{missing, mailshiftv1.ReasonSecretNotFound, true},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			mb := tc.mb
			waitForReady(t, mb, func() []metav1.Condition { return mb.Status.Conditions }, metav1.ConditionFalse, tc.reason, 60*time.Second)
			st := condition(mb.Status.Conditions, mailshiftv1.ConditionStalled)
			if (st.Status == metav1.ConditionTrue) != tc.stalled {
				t.Errorf("Stalled = %s, want stalled=%v", st.Status, tc.stalled)
			}
			rec := condition(mb.Status.Conditions, mailshiftv1.ConditionReconciling)
			if (rec.Status == metav1.ConditionTrue) == tc.stalled {
				t.Errorf("Reconciling = %s while stalled=%v", rec.Status, tc.stalled)
			}
			ev := waitForEvent(t, ns, mb.Name, tc.reason)
			if ev.Type != "Warning" {
				t.Errorf("event type %s, want Warning", ev.Type)
			}
			// Retried, not abandoned: the failure count grows with further checks.
			deadline := time.Now().Add(30 * time.Second)
			for mb.Status.ConsecutiveFailures < 2 && time.Now().Before(deadline) {
				time.Sleep(500 * time.Millisecond)
				_ = k8s.Get(context.Background(), key(ns, mb.Name), mb)
			}
			if mb.Status.ConsecutiveFailures < 2 {
				t.Errorf("not retried: consecutiveFailures = %d", mb.Status.ConsecutiveFailures)
			}
		})
	}

	// A fixed password heals the Mailbox on the next check without touching the Mailbox.
	wrongSec.StringData = map[string]string{"password": alice.Password}
	if err := k8s.Update(context.Background(), wrongSec); err != nil {
		t.Fatal(err)
	}
	waitForReady(t, wrong, func() []metav1.Condition { return wrong.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonReady, 60*time.Second)

	// No password in the logs, the Events or any status.
	assertNoSecret(t, "controller log", logBuf.String(), wrongPassword, alice.Password)
	for _, e := range eventsFor(t, ns, "") {
		assertNoSecret(t, "event "+e.Reason, e.Note, wrongPassword, alice.Password)
	}
	var all mailshiftv1.MailboxList
	if err := k8s.List(context.Background(), &all); err != nil {
		t.Fatal(err)
	}
	for _, m := range all.Items {
		assertNoSecret(t, "status of "+m.Name, strings.Join(conditionText(m.Status.Conditions), "\n"), wrongPassword, alice.Password)
	}
	// The IMAP operation metrics saw both outcomes, labelled by the error kind.
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]bool{}
	for _, f := range families {
		if f.GetName() != "mailshift_imap_operations_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && m.GetCounter().GetValue() > 0 {
					results[l.GetValue()] = true
				}
			}
		}
	}
	for _, want := range []string{"ok", "AuthenticationFailed", "Unreachable", "TLSFailed"} {
		if !results[want] {
			t.Errorf("mailshift_imap_operations_total has no result=%q series; has %v", want, results)
		}
	}
	if !strings.Contains(logBuf.String(), "check failed") {
		t.Error("the controller log does not mention the failed checks at all; the secrecy check would be vacuous")
	}
}

func conditionText(conds []metav1.Condition) []string {
	var out []string
	for _, c := range conds {
		out = append(out, c.Reason+": "+c.Message)
	}
	return out
}
