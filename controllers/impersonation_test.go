package controllers

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestImpersonationGrants: the one decision every controller's admin login goes through.
func TestImpersonationGrants(t *testing.T) {
	srv := &mailshiftv1.MailServer{
		ObjectMeta: metav1.ObjectMeta{Namespace: "mail", Name: "imap"},
		Spec: mailshiftv1.MailServerSpec{
			AllowedNamespaces: []string{"*"}, // may use the server: grants no impersonation by itself
			Admin: &mailshiftv1.AdminCredentials{AllowedNamespaces: []mailshiftv1.ImpersonationGrant{
				{Namespace: "team-a", Logins: []string{"*@team-a.example.com", "alice"}},
				{Namespace: "ops", Logins: []string{"*"}},
				{Namespace: "odd", Logins: []string{"**", "", "bob*"}},
				{Namespace: "mid", Logins: []string{"svc-*-ro"}},
			}},
		},
	}
	cases := []struct {
		ns, login string
		allowed   bool
		because   string
	}{
		{"mail", "ceo", true, ""}, // the server's own namespace
		{"mail", "ceo*mailadmin", false, "master-user separator"},
		{"team-a", "alice", true, ""},
		{"team-a", "bob@team-a.example.com", true, ""},
		{"team-a", "ceo", false, "only for logins"},
		{"team-a", "alice2", false, "only for logins"},
		{"team-a", "Alice", false, "only for logins"},
		{"team-a", "ceo@corp.example.com", false, "only for logins"},
		{"team-a", "x@team-a.example.com.evil", false, "only for logins"},
		{"team-a", "@team-a.example.com", true, ""},
		{"team-a", "ceo*x@team-a.example.com", false, "master-user separator"},
		{"team-a", "ceo\x00@team-a.example.com", false, "control"},
		{"team-b", "alice", false, "no admin impersonation"},
		{"", "alice", false, "no admin impersonation"},
		{"ops", "anyone-at-all", true, ""},
		// Patterns the CRD rejects are ignored if an old object carries them: "**" and "" match nothing.
		{"odd", "ceo", false, "only for logins"},
		{"odd", "bobby", true, ""},
		{"mid", "svc-backup-ro", true, ""},
		{"mid", "svc--ro", true, ""},
		{"mid", "svc-ro", false, "only for logins"},
		{"mid", "svc-backup-rw", false, "only for logins"},
	}
	for _, c := range cases {
		why := impersonationDenied(srv, c.ns, c.login)
		if (why == "") != c.allowed || !strings.Contains(why, c.because) {
			t.Errorf("namespace %q login %q: allowed=%v (%q), want allowed=%v with %q", c.ns, c.login, why == "", why, c.allowed, c.because)
		}
	}
	noGrants := srv.DeepCopy()
	noGrants.Spec.Admin.AllowedNamespaces = nil
	if why := impersonationDenied(noGrants, "team-a", "alice"); why == "" {
		t.Error("a server without grants lets another namespace impersonate")
	}
	// DeepCopy must copy the grants, not share them (the cache hands out copies that controllers may edit).
	cp := srv.DeepCopy()
	cp.Spec.Admin.AllowedNamespaces[0].Logins[0] = "*"
	if srv.Spec.Admin.AllowedNamespaces[0].Logins[0] != "*@team-a.example.com" {
		t.Error("DeepCopy shares the grants' logins")
	}
}

func TestLoginPatterns(t *testing.T) {
	for _, c := range []struct {
		pattern string
		valid   bool
	}{{"*", true}, {"alice", true}, {"*@a.example", true}, {"a*b*c", true}, {"pre*", true},
		{"", false}, {"**", false}, {"***", false}, {"a**b", false}, {"a b", false}, {"a\tb", false}} {
		if got := loginPatternValid(c.pattern); got != c.valid {
			t.Errorf("loginPatternValid(%q) = %v, want %v", c.pattern, got, c.valid)
		}
	}
	for _, c := range []struct {
		pattern, login string
		match          bool
	}{
		{"*", "x", true}, {"a*", "a", true}, {"a*", "ba", false}, {"*a", "ba", true}, {"*a", "ab", false},
		{"a*a", "a", false}, {"a*a", "aa", true}, {"a*b*a", "aba", true}, {"a*b*a", "aab", false},
		{"*@x.org", "u@x.org", true}, {"*@x.org", "u@y.org", false}, {"abc", "abc", true}, {"abc", "abcd", false},
	} {
		if got := loginMatches(c.pattern, c.login); got != c.match {
			t.Errorf("loginMatches(%q, %q) = %v, want %v", c.pattern, c.login, got, c.match)
		}
	}
}

// TestImpersonationAcrossNamespaces runs the real manager (in-process executor) against a real Dovecot with
// a MailServer in one namespace and Mailboxes without their own credentials in another: nothing logs in as
// a user of the other namespace until the MailServer grants that namespace that login, and every kind
// (Mailbox, FolderShare, FreeBusyPublication, MailboxMigration with either executor) obeys the same grant.
func TestImpersonationAcrossNamespaces(t *testing.T) {
	srv := testserver.Dovecot(t)
	serverNS, tenantNS := newNamespace(t), newNamespace(t)
	ms, ca := serverObjects(serverNS, "imap", srv)
	admin := secret(serverNS, "imap-admin", map[string]string{"username": srv.Admin.Login, "password": srv.Admin.Password})
	ms.Spec.Admin = &mailshiftv1.AdminCredentials{SecretRef: mailshiftv1.CredentialsSecretRef{Name: admin.Name}, VerifyLogin: "alice"}
	ms.Spec.AllowedNamespaces = []string{tenantNS} // the tenant may use the server: that alone grants no impersonation
	for _, o := range []clientObject{ca, admin, ms} {
		mustCreate(t, o)
	}
	tenantMailbox := func(login string) *mailshiftv1.Mailbox {
		mb := &mailshiftv1.Mailbox{
			ObjectMeta: metav1.ObjectMeta{Namespace: tenantNS, Name: login},
			Spec:       mailshiftv1.MailboxSpec{ServerRef: mailshiftv1.ServerRef{Name: ms.Name, Namespace: serverNS}, Login: login},
		}
		mustCreate(t, mb)
		return mb
	}
	mbConds := func(mb *mailshiftv1.Mailbox) func() []metav1.Condition {
		return func() []metav1.Condition { return mb.Status.Conditions }
	}
	loggedInAs := func(user string) bool {
		b, err := os.ReadFile(filepath.Join(srv.Dir, "dovecot.log"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(b), "user=<"+user+">")
	}

	// No grant: refused, Stalled, and no login as carol.
	carol := tenantMailbox("carol")
	cond := waitForReady(t, carol, mbConds(carol), metav1.ConditionFalse, mailshiftv1.ReasonImpersonationNotAllowed, 60*time.Second)
	if st := condition(carol.Status.Conditions, mailshiftv1.ConditionStalled); st == nil || st.Status != metav1.ConditionTrue {
		t.Errorf("refused impersonation is not Stalled: %+v", st)
	}
	if !strings.Contains(cond.Message, tenantNS) || !strings.Contains(cond.Message, "credentialsSecretRef") {
		t.Errorf("message does not say which namespace lacks a grant and what to do: %q", cond.Message)
	}
	share := &mailshiftv1.FolderShare{
		ObjectMeta: metav1.ObjectMeta{Namespace: tenantNS, Name: "carol-inbox"},
		Spec: mailshiftv1.FolderShareSpec{MailboxRef: mailshiftv1.LocalObjectRef{Name: "carol"}, Folder: "INBOX",
			Grants: []mailshiftv1.Grant{{Grantee: "bob", Preset: mailshiftv1.PresetReadOnly}}},
	}
	mustCreate(t, share)
	shareConds := func() []metav1.Condition { return share.Status.Conditions }
	waitForReady(t, share, shareConds, metav1.ConditionFalse, mailshiftv1.ReasonImpersonationNotAllowed, 60*time.Second)
	// Free/busy reads the calendar as the Mailbox: the same refusal (its FTP target is a closed port; the
	// refusal comes before any publishing).
	fb, fbSecrets := freeBusyObjects(tenantNS, "carol-fb", "carol", &testserver.FTPServer{Host: "127.0.0.1", Port: closedPort(t)},
		"publisher", "ftp-password", mailshiftv1.FTPNoTLS)
	for _, o := range fbSecrets {
		mustCreate(t, o)
	}
	mustCreate(t, fb)
	waitForReady(t, fb, fbConds(fb), metav1.ConditionFalse, mailshiftv1.ReasonImpersonationNotAllowed, 60*time.Second)
	if loggedInAs("carol") {
		t.Error("Dovecot saw a login as carol before any grant")
	}

	// A grant for the tenant's namespace with a pattern matching carol: everything works.
	mutate(t, ms, func(m *mailshiftv1.MailServer) {
		m.Spec.Admin.AllowedNamespaces = []mailshiftv1.ImpersonationGrant{{Namespace: tenantNS, Logins: []string{"car*", "nobody"}}}
	})
	waitForReady(t, carol, mbConds(carol), metav1.ConditionTrue, mailshiftv1.ReasonReady, 60*time.Second)
	if carol.Status.AuthenticatedAs != "admin" {
		t.Errorf("authenticatedAs = %q, want admin", carol.Status.AuthenticatedAs)
	}
	waitForReady(t, share, shareConds, metav1.ConditionTrue, "", 60*time.Second)
	mig := pstMigration(tenantNS, "carol-pst", "carol", "tika-testPST.pst")
	mustCreate(t, mig)
	waitMigration(t, mig, metav1.ConditionTrue, ReasonCompleted, 120*time.Second)

	// A login the grant does not match is refused, before any login as bob.
	bob := tenantMailbox("bob")
	waitForReady(t, bob, mbConds(bob), metav1.ConditionFalse, mailshiftv1.ReasonImpersonationNotAllowed, 60*time.Second)
	// A migration checks the grant itself, whatever the Mailbox's status says and whichever executor runs it.
	bob.Status.Conditions = []metav1.Condition{{Type: mailshiftv1.ConditionReady, Status: metav1.ConditionTrue, Reason: mailshiftv1.ReasonReady,
		Message: "set by the test", LastTransitionTime: metav1.Now()}}
	if err := k8s.Status().Update(context.Background(), bob); err != nil {
		t.Fatal(err)
	}
	bobMig := imapMigration(tenantNS, "bob-imap", "bob", srv, "source-login")
	executors := map[string]Executor{"in-process": &InProcessExecutor{Client: k8s, Reader: k8s}, "job": &JobExecutor{Client: k8s, APIReader: k8s}}
	for name, ex := range executors {
		r := &MigrationReconciler{Client: k8s, Executor: ex}
		_, err := r.plan(context.Background(), bobMig)
		var re *refError
		if !errors.As(err, &re) || re.reason != mailshiftv1.ReasonImpersonationNotAllowed {
			t.Errorf("%s executor: plan for a login without a grant: %v, want %s", name, err, mailshiftv1.ReasonImpersonationNotAllowed)
		}
	}
	if loggedInAs("bob") {
		t.Error("Dovecot saw a login as bob, whom no grant covers")
	}
	if !loggedInAs("carol") {
		t.Error("Dovecot's log shows no login as carol: the check for refused logins looks at the wrong log")
	}

	// Taking the grant away stops impersonation again.
	mutate(t, ms, func(m *mailshiftv1.MailServer) { m.Spec.Admin.AllowedNamespaces = nil })
	waitForReady(t, carol, mbConds(carol), metav1.ConditionFalse, mailshiftv1.ReasonImpersonationNotAllowed, 60*time.Second)
}
