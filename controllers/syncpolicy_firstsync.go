package controllers

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/mailsync"
)

// A first cycle over a large source is not run by the manager: its network workers are for cycles of
// minutes, and copying a mailbox of years takes hours. The cycle declines (mailsync.Sync.BulkAbove) before
// it changes anything, and the policy hands the copy to a MailboxMigration of its own: a worker Job (or the
// in-process executor) running the migration engine's bulk path, resumable, under the servers' limits, with
// its progress in its own status. When that has finished, the cycles start; the first one links what it
// finds on both sides by identity and copies only what the migration left.

// DefaultSyncBulkAbove is how many source messages a first cycle may copy in the manager.
const DefaultSyncBulkAbove = 5000

// LabelSyncPolicy names the SyncPolicy a first-sync MailboxMigration belongs to.
const LabelSyncPolicy = "mailshift.io/sync-policy"

// firstSyncName is the MailboxMigration of a policy's first sync.
func firstSyncName(sp *mailshiftv1.SyncPolicy) string {
	return truncateName(sp.Name, 242) + "-first-sync"
}

// firstSync is the policy's first-sync MailboxMigration, nil when it has none.
func (r *SyncPolicyReconciler) firstSync(ctx context.Context, sp *mailshiftv1.SyncPolicy) (*mailshiftv1.MailboxMigration, error) {
	var mig mailshiftv1.MailboxMigration
	err := r.Get(ctx, types.NamespacedName{Namespace: sp.Namespace, Name: firstSyncName(sp)}, &mig)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !metav1.IsControlledBy(&mig, sp) {
		return nil, nil // a migration of that name someone else made is not the policy's
	}
	return &mig, nil
}

func firstSyncFinished(mig *mailshiftv1.MailboxMigration) bool {
	return mig.Status.Phase == mailshiftv1.PhaseSucceeded || mig.Status.Phase == mailshiftv1.PhaseFailed
}

// waitFirstSync shows a first sync in flight, and passes the policy's suspension on to it.
func (r *SyncPolicyReconciler) waitFirstSync(ctx context.Context, sp, before *mailshiftv1.SyncPolicy, mig *mailshiftv1.MailboxMigration) (ctrl.Result, error) {
	if mig.Spec.Suspend != sp.Spec.Suspend {
		mig.Spec.Suspend = sp.Spec.Suspend
		if err := r.Update(ctx, mig); err != nil {
			return ctrl.Result{}, err
		}
	}
	sp.Status.ObservedGeneration = sp.Generation
	sp.Status.NextSyncTime = nil
	o := outcome{reason: mailshiftv1.ReasonFirstSyncRunning, message: firstSyncMessage(mig)}
	if st := meta.FindStatusCondition(mig.Status.Conditions, mailshiftv1.ConditionStalled); st != nil && st.Status == metav1.ConditionTrue {
		// The migration waits for a person; so does the policy, for the same reason.
		o = failedOutcome(st.Reason, "the first sync, MailboxMigration "+mig.Name+": "+st.Message, true)
	}
	if sp.Spec.Suspend {
		o = suspendedOutcome("suspended, and with it the first sync by MailboxMigration " + mig.Name + ": nothing runs until spec.suspend is false")
	}
	o.apply(&sp.Status.Conditions, sp.Generation)
	out, err := writeStatus(ctx, r.Client, fieldManagerSync, before, sp, syncStatus)
	if err == nil {
		recordTransition(r.Recorder, sp, readyReason(before.Status.Conditions), o, "Sync")
	}
	return out, err // the migration's status changes wake the policy (it owns the migration)
}

func firstSyncMessage(mig *mailshiftv1.MailboxMigration) string {
	msg := fmt.Sprintf("the first sync runs as MailboxMigration %s (%s)", mig.Name, orDefault(string(mig.Status.Phase), string(mailshiftv1.PhasePending)))
	if p := mig.Status.Progress; p != nil {
		msg += fmt.Sprintf(": %d of %d items copied", p.ItemsCopied, p.ItemsTotal)
	}
	return msg + "; the cycles start when it has finished"
}

// firstSyncPlan is the migration a cycle of sp hands its copy to when it declines for size, nil when it
// may not decline: the manager has no limit, the policy had its first sync, or no migration can copy it.
func (r *SyncPolicyReconciler) firstSyncPlan(sp *mailshiftv1.SyncPolicy, src, dst *mailboxTarget, first *mailshiftv1.MailboxMigration) *mailshiftv1.MailboxMigration {
	if r.BulkAbove <= 0 || first != nil {
		return nil
	}
	mig, _ := firstSyncMigration(sp, src, dst)
	return mig
}

// startFirstSync creates the first-sync MailboxMigration a declined cycle planned (an existing one is left
// as it is).
func (r *SyncPolicyReconciler) startFirstSync(ctx context.Context, sp *mailshiftv1.SyncPolicy, mig *mailshiftv1.MailboxMigration, large *mailsync.LargeFirstSyncError) error {
	mig = mig.DeepCopy()
	if err := ctrl.SetControllerReference(sp, mig, r.Scheme()); err != nil {
		return err
	}
	if err := r.Create(ctx, mig); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	r.Recorder.Eventf(sp, mig, "Normal", "FirstSyncStarted", "Sync",
		"%d messages in %d source folders: the first sync runs as MailboxMigration %s", large.Messages, large.Folders, mig.Name)
	return nil
}

// firstSyncMigration is the MailboxMigration that copies sp's source into its target, or why there can be
// none: the migration reads the source with the source Mailbox's own login and password Secret, so a source
// that logs in otherwise (OAuth2, the server's admin) or whose server's CA is in another namespace, a
// target on the RefreshToken grant (see oauth2Target), a separate calendar, and folder names that are not
// plain top-level names are left to the cycles.
func firstSyncMigration(sp *mailshiftv1.SyncPolicy, src, dst *mailboxTarget) (*mailshiftv1.MailboxMigration, string) {
	srv := src.server.Spec
	switch {
	case src.authAs != "user" || src.mailbox == nil || src.mailbox.Spec.CredentialsSecretRef == nil:
		return nil, "the source Mailbox does not log in with credentialsSecretRef"
	case srv.CABundle != nil && src.server.Namespace != sp.Namespace:
		return nil, "the source's MailServer is in another namespace"
	case srv.ServerName != "":
		return nil, "the source's MailServer names its certificate's host"
	case dst.authAs == "oauth2" && dst.mailbox != nil && dst.mailbox.Spec.OAuth2.Grant == mailshiftv1.GrantRefreshToken:
		return nil, "the target Mailbox logs in with the RefreshToken grant, whose refresh token only the manager uses"
	case dst.authAs != "user" && dst.server.Namespace != sp.Namespace:
		return nil, "the target's admin credentials are in another namespace"
	case sp.Spec.Calendar != nil && sp.Spec.Calendar.Target == mailshiftv1.CalendarSeparate:
		return nil, "the calendar goes to a separate folder"
	}
	ref := src.mailbox.Spec.CredentialsSecretRef
	set := mailshiftv1.MigrationSettings{
		Source: mailshiftv1.MigrationSource{IMAP: &mailshiftv1.IMAPSource{
			Host: srv.Host, Port: srv.Port, TLS: srv.TLS, InsecureAllowPlaintext: srv.InsecureAllowPlaintext, CABundle: srv.CABundle,
			Flavor: srv.Flavor, Auth: mailshiftv1.AuthPassword, Login: src.mailbox.Spec.Login,
			CredentialsSecretRef: &mailshiftv1.CredentialsSecretRef{Name: ref.Name, PasswordKey: orDefault(ref.Key, "password")},
		}},
		Items:   sp.Spec.Items,
		Suspend: sp.Spec.Suspend,
	}
	if len(set.Items) == 0 {
		// The cycles' default, not the migration's (every kind): what the policy never syncs is not copied.
		set.Items = []mailshiftv1.ItemType{mailshiftv1.ItemMail, mailshiftv1.ItemCalendar, mailshiftv1.ItemContacts}
	}
	for _, f := range sp.Spec.Folders {
		target := orDefault(f.Target, f.Source)
		if !plainFolderName(f.Source) || !plainFolderName(target) {
			return nil, "folder pair " + f.Source + " is not a plain top-level name"
		}
		set.Folders.Include = append(set.Folders.Include, f.Source)
		if target != f.Source {
			set.Folders.Renames = append(set.Folders.Renames, mailshiftv1.FolderRename{From: f.Source, To: target})
		}
	}
	return &mailshiftv1.MailboxMigration{
		ObjectMeta: metav1.ObjectMeta{Namespace: sp.Namespace, Name: firstSyncName(sp), Labels: map[string]string{LabelSyncPolicy: truncateName(sp.Name, 63)}},
		Spec:       mailshiftv1.MailboxMigrationSpec{MailboxRef: sp.Spec.TargetRef, MigrationSettings: set},
	}, ""
}

// plainFolderName says whether name means the same as a migration's folder pattern: one level, no
// wildcard, nothing a server might take for its hierarchy separator.
func plainFolderName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "/.*%\\")
}
