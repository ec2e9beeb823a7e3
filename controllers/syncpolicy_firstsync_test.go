package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/syncstate"
	"github.com/mailshift/mailshift/internal/testserver"
)

// testSyncBulkAbove is the suite manager's SyncBulkAbove: the other SyncPolicy tests stay below it.
const testSyncBulkAbove = 20

// TestSyncFirstSyncByMigration: a first cycle over more source messages than the manager copies itself
// is handed to a MailboxMigration the policy owns (here run by the in-process executor; e2e runs it as a
// Job). When it has finished, the first cycle links what the migration copied, copying nothing again.
func TestSyncFirstSyncByMigration(t *testing.T) {
	t.Parallel()
	ns, alice, bob := syncAccounts(t)
	const n = testSyncBulkAbove + 5
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("bulk%02d", i))
	}
	alice.put("Archive", ids...)

	sp := &mailshiftv1.SyncPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-bob-bulk"},
		Spec: mailshiftv1.SyncPolicySpec{
			SourceRef: mailshiftv1.LocalObjectRef{Name: "alice"}, TargetRef: mailshiftv1.LocalObjectRef{Name: "bob"},
			Direction: mailshiftv1.SyncTwoWay, Interval: metav1.Duration{Duration: 5 * time.Minute},
			Folders: []mailshiftv1.SyncFolderPair{{Source: "Archive", Target: "Archived"}},
		},
	}
	mustCreate(t, sp)
	waitForReady(t, sp, func() []metav1.Condition { return sp.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonSynced, 120*time.Second)

	var mig mailshiftv1.MailboxMigration
	if err := k8s.Get(context.Background(), key(ns, firstSyncName(sp)), &mig); err != nil {
		t.Fatalf("the first-sync MailboxMigration: %v", err)
	}
	if !metav1.IsControlledBy(&mig, sp) || mig.Status.Phase != mailshiftv1.PhaseSucceeded || mig.Status.Progress == nil || mig.Status.Progress.ItemsCopied != n {
		t.Errorf("first-sync migration: owners %+v, phase %s, progress %+v; want controlled by the policy, Succeeded, %d copied",
			mig.OwnerReferences, mig.Status.Phase, mig.Status.Progress, n)
	}
	wantItems := []mailshiftv1.ItemType{mailshiftv1.ItemMail, mailshiftv1.ItemCalendar, mailshiftv1.ItemContacts}
	if im := mig.Spec.Source.IMAP; im == nil || im.Login != "alice" || im.CredentialsSecretRef.Name != "alice-imap" || mig.Spec.MailboxRef.Name != "bob" ||
		!slices.Equal(mig.Spec.Items, wantItems) {
		t.Errorf("first-sync migration spec: %+v", mig.Spec)
	}
	if c := sp.Status.LastCycle; c == nil || c.ToTarget.Added != 0 || c.ToSource.Added != 0 {
		t.Errorf("the first cycle after the migration copied again: %+v", c)
	}
	if got := bob.count("Archived"); got != n {
		t.Errorf("the target holds %d messages, want %d", got, n)
	}
	if got := alice.count("Archive"); got != n {
		t.Errorf("the source holds %d messages, want %d (nothing came back)", got, n)
	}
	var cm corev1.ConfigMap
	if err := k8s.Get(context.Background(), key(ns, sp.Status.StateConfigMap), &cm); err != nil {
		t.Fatal(err)
	}
	if st, err := syncstate.Decode(cm.BinaryData["state"]); err != nil || len(st.Pairs) != 1 || len(st.Pairs[0].Links) != n {
		t.Errorf("state after the first cycle: %v %+v, want %d links", err, st, n)
	}
	// Later cycles are the manager's whatever their size: no second migration.
	more := make([]string, 0, n)
	for i := range n {
		more = append(more, fmt.Sprintf("more%02d", i))
	}
	alice.put("Archive", more...)
	mutate(t, sp, func(p *mailshiftv1.SyncPolicy) {
		p.Annotations = map[string]string{mailshiftv1.AnnotationSyncNow: "more"}
	})
	waitFor(t, 60*time.Second, "the cycle asked for", func() bool {
		return k8s.Get(context.Background(), key(ns, sp.Name), sp) == nil && sp.Status.LastSyncNow == "more"
	})
	if c := sp.Status.LastCycle; c == nil || c.ToTarget.Added != n {
		t.Errorf("a later cycle of %d new messages: %+v", n, c)
	}
}

// TestSyncFirstSyncWaits: while its first-sync migration has not finished the policy runs no cycle and
// says why; its suspension is passed on to the migration and taken back; a migration that needs a person
// makes the policy need one too.
func TestSyncFirstSyncWaits(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	dovecot := testserver.Dovecot(t)
	ms, ca := serverObjects(ns, "dovecot", dovecot)
	src, srcSecret := userMailbox(ns, "dovecot", dovecot.Users["alice"])
	for _, o := range []client.Object{ca, ms, srcSecret, src} {
		mustCreate(t, o)
	}
	sp := &mailshiftv1.SyncPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "waits"},
		Spec: mailshiftv1.SyncPolicySpec{SourceRef: mailshiftv1.LocalObjectRef{Name: "alice"}, TargetRef: mailshiftv1.LocalObjectRef{Name: "nobody"},
			Interval: metav1.Duration{Duration: 15 * time.Minute}, Suspend: true},
	}
	mustCreate(t, sp)
	conds := func() []metav1.Condition { return sp.Status.Conditions }
	waitForReady(t, sp, conds, metav1.ConditionFalse, ReasonSuspended, 30*time.Second)
	// The policy's first-sync migration, into a Mailbox that does not exist: it stays Pending, Stalled.
	mig := &mailshiftv1.MailboxMigration{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: firstSyncName(sp), OwnerReferences: []metav1.OwnerReference{{
			APIVersion: mailshiftv1.GroupVersion.String(), Kind: "SyncPolicy", Name: sp.Name, UID: sp.UID, Controller: ptr.To(true)}}},
		Spec: mailshiftv1.MailboxMigrationSpec{MailboxRef: mailshiftv1.LocalObjectRef{Name: "nobody"},
			MigrationSettings: mailshiftv1.MigrationSettings{Source: mailshiftv1.MigrationSource{IMAP: &mailshiftv1.IMAPSource{
				Host: dovecot.Host, Port: int32(dovecot.Port), Login: "alice", CredentialsSecretRef: &mailshiftv1.CredentialsSecretRef{Name: srcSecret.Name}}}}},
	}
	mustCreate(t, mig)
	waitFor(t, 30*time.Second, "the policy's suspension passed to its migration", func() bool {
		return k8s.Get(context.Background(), key(ns, mig.Name), mig) == nil && mig.Spec.Suspend
	})
	c := waitForReady(t, sp, conds, metav1.ConditionFalse, ReasonSuspended, 30*time.Second)
	if !strings.Contains(c.Message, mig.Name) {
		t.Errorf("suspended with a first sync: %q does not name the migration", c.Message)
	}
	mutate(t, sp, func(p *mailshiftv1.SyncPolicy) { p.Spec.Suspend = false })
	waitFor(t, 30*time.Second, "the resumption passed to the migration", func() bool {
		return k8s.Get(context.Background(), key(ns, mig.Name), mig) == nil && !mig.Spec.Suspend
	})
	c = waitForReady(t, sp, conds, metav1.ConditionFalse, mailshiftv1.ReasonMailboxNotFound, 60*time.Second)
	if !strings.Contains(c.Message, "MailboxMigration "+mig.Name) || !meta.IsStatusConditionTrue(sp.Status.Conditions, mailshiftv1.ConditionStalled) {
		t.Errorf("a stalled first sync: %+v", sp.Status.Conditions)
	}
	if sp.Status.LastSyncTime != nil || sp.Status.NextSyncTime != nil {
		t.Errorf("a cycle ran or is due while the first sync waits: last %v, next %v", sp.Status.LastSyncTime, sp.Status.NextSyncTime)
	}
}
