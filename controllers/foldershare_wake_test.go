package controllers

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestFolderShareWokenBySpecialFolder: a FolderShare created before its Mailbox has a Calendar folder waits
// with MailboxNotReady and backs off; when the Mailbox's status gets the folder, the share is applied within
// seconds, not when its backoff or resync would have woken it anyway. At scale, shares that sat out their
// backoff came Ready minutes after their Mailboxes.
func TestFolderShareWokenBySpecialFolder(t *testing.T) {
	srv := testserver.Dovecot(t)
	ns := newNamespace(t)
	ms, ca := serverObjects(ns, "imap", srv)
	mb, sec := userMailbox(ns, "imap", srv.Users["alice"])
	// The MailServer comes last: until then the Mailbox cannot be checked and has no special folders.
	for _, o := range []clientObject{ca, sec, mb} {
		mustCreate(t, o)
	}
	share := &mailshiftv1.FolderShare{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-calendar"},
		Spec: mailshiftv1.FolderShareSpec{
			MailboxRef:    mailshiftv1.LocalObjectRef{Name: "alice"},
			SpecialFolder: mailshiftv1.SpecialCalendar,
			Grants:        []mailshiftv1.Grant{{Grantee: "bob", Preset: mailshiftv1.PresetReadOnly}},
			// Longer than the test: only a prompt wake-up can make the share Ready in time.
			ResyncInterval: &metav1.Duration{Duration: 10 * time.Minute},
		},
	}
	mustCreate(t, share)
	waitForReady(t, share, func() []metav1.Condition { return share.Status.Conditions }, metav1.ConditionFalse, mailshiftv1.ReasonMailboxNotReady, 30*time.Second)
	// Let the backoff grow well beyond the time allowed below (failuresSince counts one failure per 5 s).
	time.Sleep(25 * time.Second)

	mustCreate(t, ms)
	waitForReady(t, mb, func() []metav1.Condition { return mb.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonReady, 60*time.Second)
	mbReady := time.Now()
	if len(mb.Status.SpecialFolders) == 0 {
		t.Fatalf("Mailbox Ready without special folders: %+v", mb.Status)
	}
	const allowed = 8 * time.Second
	waitForReady(t, share, func() []metav1.Condition { return share.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonACLApplied, allowed)
	took := time.Since(mbReady)
	t.Logf("FolderShare Ready %s after its Mailbox", took.Round(100*time.Millisecond))
	if c := meta.FindStatusCondition(share.Status.Conditions, mailshiftv1.ConditionReady); c == nil || c.ObservedGeneration != share.Generation {
		t.Errorf("Ready condition %+v does not speak of generation %d", c, share.Generation)
	}
}
