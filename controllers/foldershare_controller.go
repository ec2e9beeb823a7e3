package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/acl"
	"github.com/mailshift/mailshift/internal/imapsession"
	"github.com/mailshift/mailshift/internal/opmetrics"
)

// revokeFinalizer makes deleting a FolderShare take back the grants it made.
const revokeFinalizer = "mailshift.io/revoke-grants"

// FolderShareReconciler keeps a folder's IMAP ACL equal to the declared grants. The IMAP part (applying,
// verifying, revoking) runs in the background (netcheck.go); Reconcile resolves references and writes results.
type FolderShareReconciler struct {
	client.Client
	Recorder events.EventRecorder

	checks *netChecks[shareCheck]
}

// shareCheck is one finished background sync or revoke: the outcome, the status it left, and err when the
// record of prior entries could not be saved (nothing was changed on the server then).
type shareCheck struct {
	o      outcome
	status mailshiftv1.FolderShareStatus
	// synced: a sync ran and status is what it left. A sync that never ran (no connection slot in time)
	// has no status: the FolderShare's own stands, its record of prior entries above all.
	synced bool
	err    error
	// revoked: a revoke finished and the finalizer may go.
	revoked bool
}

// revokeVersion marks a background revoke in netChecks (a sync's version is a hash, never this).
const revokeVersion = "revoke"

// +kubebuilder:rbac:groups=mailshift.io,resources=foldershares,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=mailshift.io,resources=foldershares/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=mailshift.io,resources=foldershares/finalizers,verbs=update
// +kubebuilder:rbac:groups=mailshift.io,resources=mailboxes,verbs=get;list;watch
// +kubebuilder:rbac:groups=mailshift.io,resources=mailservers,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func (r *FolderShareReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var share mailshiftv1.FolderShare
	if err := r.Get(ctx, req.NamespacedName, &share); err != nil {
		if apierrors.IsNotFound(err) {
			r.checks.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !share.DeletionTimestamp.IsZero() {
		return r.revoke(ctx, &share)
	}
	if controllerutil.AddFinalizer(&share, revokeFinalizer) {
		if err := r.Update(ctx, &share); err != nil {
			return ctrl.Result{}, err
		}
	}
	before := share.DeepCopy()
	interval := intervalOf(share.Spec.ResyncInterval, 5*time.Minute)
	statusOf := func(s *mailshiftv1.FolderShare) any { return s.Status }

	target, folder, mailboxReady, err := r.resolveShare(ctx, &share)
	if err != nil {
		// Nothing to dial: the answer is known now.
		r.checks.forget(req.NamespacedName)
		res, _, err := r.finish(ctx, before, &share, outcomeOf(err), interval)
		return res, err
	}
	key := req.NamespacedName
	// The Mailbox's readiness is an input: a Mailbox that comes back is shared again at once, not after the
	// share's own backoff.
	version := inputVersion(share.Generation, share.Spec, folder, target.endpoint, target.creds, target.server.Spec.Flavor, mailboxReady)
	if res, ok := r.checks.last(key); ok && res.version == version {
		if !res.applied {
			if res.value.err != nil {
				// The record of prior entries could not be saved: nothing was changed on the server, try again.
				r.checks.forget(key)
				if apierrors.IsConflict(res.value.err) {
					return ctrl.Result{RequeueAfter: time.Second}, nil
				}
				return ctrl.Result{}, res.value.err
			}
			if res.value.synced {
				share.Status = *res.value.status.DeepCopy()
			}
			result, written, err := r.finish(ctx, before, &share, res.value.o, interval)
			if written {
				r.checks.markApplied(key, res.finished)
			}
			return result, err
		}
		wait := interval
		if !res.value.o.ready {
			wait = retryAfter(failuresSince(share.Status.Conditions), interval)
		}
		if until := time.Until(res.finished.Add(wait)); until > 0 {
			return ctrl.Result{RequeueAfter: until}, nil
		}
	}
	if r.checks.busy(key) && !r.checks.inFlight(key, version) {
		// A sync of older inputs is under way. It is stopped rather than left to run beside the new one: what
		// it did on the server until then (a grantee subscribed or unsubscribed) is in its result only, which
		// the new sync must start from (lastRecord). A stopped sync ends at once.
		r.checks.stop(key)
		return ctrl.Result{RequeueAfter: 200 * time.Millisecond}, nil
	}
	if stale := waitingForMailbox(share.Status.Conditions); needsChecking(share.Status.Conditions, share.Generation) || stale {
		// Written before the sync starts, so that the sync's own record of prior entries (written only if the
		// object did not change meanwhile) starts from this resourceVersion.
		msg := fmt.Sprintf("applying the ACL on %s as %s", folder, target.creds.Login)
		if stale {
			// The Mailbox has what the share waited for: Ready must not keep saying it is missing while the
			// sync waits for a connection to a busy server.
			meta.SetStatusCondition(&share.Status.Conditions, metav1.Condition{Type: mailshiftv1.ConditionReady, Status: metav1.ConditionUnknown,
				Reason: ReasonChecking, Message: msg, ObservedGeneration: share.Generation})
		}
		markChecking(&share.Status.Conditions, share.Generation, msg)
		if res, err := writeStatus(ctx, r.Client, fieldManagerFolderShare, before, &share, statusOf); err != nil || !res.IsZero() {
			return res, err
		}
	}
	work := share.DeepCopy()
	if last, ok := r.lastRecord(key); ok {
		work.Status.PriorEntries, work.Status.Subscriptions = last.PriorEntries, last.Subscriptions
	}
	r.checks.start(&share, version, serverSlotOf(target.server), func(ctx context.Context) shareCheck {
		o, err := r.sync(ctx, work, target, folder)
		return shareCheck{o: o, err: err, status: work.Status, synced: true}
	})
	return ctrl.Result{}, nil
}

// finish writes an outcome into the status and schedules the next sync; written says the status shows it.
func (r *FolderShareReconciler) finish(ctx context.Context, before, share *mailshiftv1.FolderShare, o outcome, interval time.Duration) (ctrl.Result, bool, error) {
	share.Status.ObservedGeneration = share.Generation
	o.apply(&share.Status.Conditions, share.Generation)
	if res, err := writeStatus(ctx, r.Client, fieldManagerFolderShare, before, share, func(s *mailshiftv1.FolderShare) any { return s.Status }); err != nil || !res.IsZero() {
		return res, false, err
	}
	recordTransition(r.Recorder, share, readyReason(before.Status.Conditions), o, "ApplyACL")
	if !o.ready {
		return ctrl.Result{RequeueAfter: retryAfter(failuresSince(before.Status.Conditions), interval)}, true, nil
	}
	return ctrl.Result{RequeueAfter: interval}, true, nil
}

// waitingForMailbox says whether Ready still shows that the Mailbox was missing or had not the folder yet: an
// answer found without a server, out of date once the share can be synced.
func waitingForMailbox(conds []metav1.Condition) bool {
	c := meta.FindStatusCondition(conds, mailshiftv1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionFalse &&
		(c.Reason == mailshiftv1.ReasonMailboxNotReady || c.Reason == mailshiftv1.ReasonMailboxNotFound)
}

// failuresSince estimates how many retries have failed from how long Ready has been False (one per 5 s, at
// most 10), so the backoff grows without a failure counter in the status.
func failuresSince(conds []metav1.Condition) int32 {
	c := meta.FindStatusCondition(conds, mailshiftv1.ConditionReady)
	if c == nil || c.Status != metav1.ConditionFalse {
		return 1
	}
	return int32(min(time.Since(c.LastTransitionTime.Time)/(5*time.Second), 10)) + 1
}

// resolveShare follows the FolderShare's references to its Mailbox's server and credentials and resolves the
// folder name; it reads the cache and the API server only. mailboxReady is the Mailbox's Ready status.
func (r *FolderShareReconciler) resolveShare(ctx context.Context, share *mailshiftv1.FolderShare) (_ *mailboxTarget, _ string, mailboxReady metav1.ConditionStatus, _ error) {
	var mbx mailshiftv1.Mailbox
	key := types.NamespacedName{Namespace: share.Namespace, Name: share.Spec.MailboxRef.Name}
	if err := r.Get(ctx, key, &mbx); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, "", "", &refError{mailshiftv1.ReasonMailboxNotFound, fmt.Sprintf("Mailbox %s not found", key), true}
		}
		return nil, "", "", err
	}
	folder := share.Spec.Folder
	if t := share.Spec.SpecialFolder; t != "" {
		for _, f := range mbx.Status.SpecialFolders {
			if f.Type == t {
				folder = f.Mailbox
			}
		}
		if folder == "" {
			return nil, "", "", &refError{mailshiftv1.ReasonMailboxNotReady,
				fmt.Sprintf("Mailbox %s has no %s folder yet", mbx.Name, t), false}
		}
	}
	target, err := resolveMailbox(ctx, r.Client, &mbx)
	if err != nil {
		return nil, "", "", err
	}
	if c := meta.FindStatusCondition(mbx.Status.Conditions, mailshiftv1.ConditionReady); c != nil {
		mailboxReady = c.Status
	}
	return target, folder, mailboxReady, nil
}

// sync makes the ACLs on the server equal the declared grants, subscribes the grantees, and reads the ACLs
// back into status. An error means the record of prior entries could not be saved before a change; nothing
// was changed then.
//
// It runs in the background, on a copy of the FolderShare of its own.
func (r *FolderShareReconciler) sync(ctx context.Context, share *mailshiftv1.FolderShare, target *mailboxTarget, folder string) (outcome, error) {
	s, err := target.dial(ctx)
	if err != nil {
		return outcomeOf(err), nil
	}
	defer s.Close()
	share.Status.Mailbox = folder
	if !s.Has("ACL") {
		return failedOutcome(mailshiftv1.ReasonNotSupported, "the server does not support IMAP ACLs (RFC 4314)", true), nil
	}
	folders, err := foldersToShare(ctx, s, folder, share.Spec.ApplyToSubfolders)
	if err != nil {
		return outcomeOf(err), nil
	}
	desired, err := desiredACL(share.Spec.Grants, s.RightsCapability(), target.server.Spec.Flavor)
	if err != nil {
		return failedOutcome(mailshiftv1.ReasonInvalidSpec, err.Error(), true), nil
	}
	owner := target.creds.Login
	ledger := ledgerOf(&share.Status, owner)
	plan := sharePlan{
		desired:      desired,
		prior:        ledger,
		owner:        owner,
		exact:        share.Spec.Mode == mailshiftv1.ShareExact,
		allowLockout: share.Spec.AllowOwnerLockout,
	}

	// Read every folder first and refuse before changing anything, so a lockout is never half-applied.
	actuals := make(map[string]map[string]acl.Set, len(folders))
	for _, f := range folders {
		actual, err := s.GetACL(ctx, f)
		if err != nil {
			return outcomeOf(fmt.Errorf("GETACL %s: %w", f, err)), nil
		}
		actuals[f] = actual
		var lockout *acl.LockoutError
		if err := acl.CheckOwner(plan.owner, plan.want(f, actual), actual, plan.exact); !plan.allowLockout && errors.As(err, &lockout) {
			return failedOutcome(mailshiftv1.ReasonOwnerLockout, fmt.Sprintf(
				"refused on %s: the grants would reduce the owner %s's own rights from %q to %q; set allowOwnerLockout: true if that is intended",
				f, plan.owner, lockout.Current.String(), lockout.Proposed.String()), true), nil
		}
	}

	// Record how every entry this FolderShare declares or is about to change was, and save that before the
	// first change: a failure halfway, or a crash, must never leave a change that deleting the FolderShare
	// would not know how to undo.
	recorded := len(share.Status.PriorEntries) == 0 && len(ledger) > 0 // adopted from old status
	for _, f := range folders {
		set, remove := acl.Diff(plan.want(f, actuals[f]), actuals[f], plan.exact)
		for _, id := range slices.Concat(sortedKeys(desired), sortedKeys(set), remove) {
			recorded = ledger.record(f, id, actuals[f]) || recorded
		}
	}
	share.Status.AppliedGrantees = sortedKeys(desired)
	if recorded {
		share.Status.PriorEntries = ledger.entries()
		if err := applyStatus(ctx, r.Client, fieldManagerFolderShare, share, share.Status, true); err != nil {
			return outcome{}, fmt.Errorf("save the ACL entries as they were before the change: %w", err)
		}
	}

	// Folders shared before but not now (the folder changed, or subfolders were turned off) get back what
	// they had.
	for _, f := range ledger.folders() {
		if !slices.Contains(folders, f) {
			if err := ledger.restoreFolder(ctx, s, target.server.Name, f, owner); err != nil {
				share.Status.PriorEntries = ledger.entries()
				return outcomeOf(fmt.Errorf("%s is no longer shared: %w", f, err)), nil
			}
		}
	}

	// A difference found after this generation was already applied is drift: someone changed the ACL by hand.
	alreadyApplied := share.Status.ObservedGeneration == share.Generation && readyReason(share.Status.Conditions) == mailshiftv1.ReasonACLApplied
	changed := 0
	for _, f := range folders {
		want := plan.want(f, actuals[f])
		r.reportLowered(share, f, plan, want, actuals[f])
		n, err := applyFolderACL(ctx, s, target.server.Name, f, want, actuals[f], plan.exact)
		if err != nil {
			share.Status.PriorEntries = ledger.entries()
			return outcomeOf(err), nil
		}
		changed += n
	}
	ledger.forgetUndone(folders, desired, plan.exact)
	share.Status.PriorEntries = ledger.entries()
	if alreadyApplied && changed > 0 {
		r.recordDrift(ctx, share, folder, changed)
	}

	// Read back what the server now holds: status shows the truth, not what was sent.
	share.Status.ACLs = nil
	share.Status.RemovedByExact = nil
	for _, f := range folders {
		actual, err := s.GetACL(ctx, f)
		if err != nil {
			return outcomeOf(fmt.Errorf("GETACL %s: %w", f, err)), nil
		}
		share.Status.ACLs = append(share.Status.ACLs, folderACL(f, actual))
		if removed := ledger.removed(f, actual); len(removed) > 0 {
			share.Status.RemovedByExact = append(share.Status.RemovedByExact, folderACL(f, removed))
		}
		if set, remove := acl.Diff(plan.want(f, actual), actual, plan.exact); len(set)+len(remove) > 0 {
			return failedOutcome(mailshiftv1.ReasonACLFailed, fmt.Sprintf(
				"the server did not keep the ACL on %s: %d entries still differ after SETACL", f, len(set)+len(remove)), false), nil
		}
	}
	now := metav1.Now()
	share.Status.LastSyncTime = &now
	// The owner's session ends before the grantees' begin: the check holds one connection slot of the server
	// (spec.limits.maxConnections), so it never has two connections open at once.
	_ = s.Close()
	r.syncSubscriptions(ctx, share, target, folders, desired)
	msg := fmt.Sprintf("%s applied on %s", plural(len(desired), "grant"), plural(len(folders), "folder"))
	if lowered := plan.lowered(folders); len(lowered) > 0 {
		msg += "; lowered rights held before the share: " + strings.Join(lowered, ", ")
	}
	if n := countEntries(share.Status.RemovedByExact); n > 0 {
		msg += fmt.Sprintf("; Exact mode removed %d ACL %s that existed before (status.removedByExact)", n, map[bool]string{true: "entry", false: "entries"}[n == 1])
	}
	return readyOutcome(mailshiftv1.ReasonACLApplied, msg), nil
}

// sharePlan is what a FolderShare wants on a folder, given what the server holds there.
type sharePlan struct {
	desired      map[string]acl.Set
	prior        priorLedger
	owner        string
	exact        bool
	allowLockout bool
}

// want is the desired ACL for a folder whose entries are actual.
//
//   - A declared grantee gets the declared rights; in Merge mode together with the rights it held before
//     the FolderShare first touched its entry, so that Merge never lowers anyone's rights. The owner's own
//     entry is the exception: declaring it means exactly those rights, and fewer than the owner holds is
//     refused as OwnerLockout unless allowed.
//   - In Merge mode, an entry the FolderShare changed for an identifier it no longer declares goes back
//     to how it was (no entry where there was none).
//   - In Exact mode the owner's own entry is kept, since Exact removes undeclared entries but never the
//     owner's by omission (unless owner lockout is allowed).
func (p sharePlan) want(folder string, actual map[string]acl.Set) map[string]acl.Set {
	out := make(map[string]acl.Set, len(p.desired)+1)
	if !p.exact {
		for id, w := range p.prior.restoreWant(folder, p.owner, actual) {
			if _, declared := p.desired[id]; !declared {
				out[id] = w
			}
		}
	}
	for id, d := range p.desired {
		w := d
		if !p.exact && id != p.owner {
			if e, ok := p.prior[priorKey{folder, id}]; ok {
				w = w.Union(e.rights)
			} else {
				w = w.Union(actual[id])
			}
		}
		out[id] = w
	}
	if cur, has := actual[p.owner]; has && p.exact && !p.allowLockout {
		if _, declared := p.desired[p.owner]; !declared {
			out[p.owner] = cur
		}
	}
	return out
}

// lowered describes, for status, every declared grantee whose rights were set below those it held before
// the FolderShare ("bob on Calendar: lrswi → lrs"): in Exact mode, or the owner with allowOwnerLockout.
// Sorted; at most five, then a count.
func (p sharePlan) lowered(folders []string) []string {
	var out []string
	for _, f := range folders {
		for _, id := range sortedKeys(p.desired) {
			if !p.exact && id != p.owner {
				continue // Merge keeps what a grantee held
			}
			if e, ok := p.prior[priorKey{f, id}]; ok && e.existed && !p.desired[id].ContainsSet(e.rights) {
				out = append(out, fmt.Sprintf("%s on %s: %s → %s", id, f, e.rights, p.desired[id]))
			}
		}
	}
	if len(out) > 5 {
		out = append(out[:5], fmt.Sprintf("%d more", len(out)-5))
	}
	return out
}

// reportLowered emits a RightsLowered Event when the change about to be made takes away rights an entry
// held before the FolderShare (Exact mode, or the owner's entry with allowOwnerLockout): never silently.
func (r *FolderShareReconciler) reportLowered(share *mailshiftv1.FolderShare, folder string, p sharePlan, want, actual map[string]acl.Set) {
	if r.Recorder == nil {
		return
	}
	for _, id := range sortedKeys(want) {
		e, ok := p.prior[priorKey{folder, id}]
		if !ok || !e.existed || want[id].IsEmpty() {
			continue
		}
		if taken := actual[id].Intersect(e.rights).Minus(want[id]); !taken.IsEmpty() {
			r.Recorder.Eventf(share, nil, "Warning", mailshiftv1.ReasonRightsLowered, "ApplyACL",
				"taking %q from %s on %s, rights held before the share; deleting the FolderShare gives them back",
				taken.String(), id, folder)
		}
	}
}

func countEntries(fas []mailshiftv1.FolderACL) int {
	n := 0
	for _, fa := range fas {
		n += len(fa.Entries)
	}
	return n
}

// applyFolderACL sends the SETACL and DELETEACL commands that turn actual into want, and returns how many.
func applyFolderACL(ctx context.Context, s *imapsession.Session, server, folder string, want, actual map[string]acl.Set, exact bool) (int, error) {
	set, remove := acl.Diff(want, actual, exact)
	for _, id := range sortedKeys(set) {
		start := time.Now()
		err := s.SetACL(ctx, folder, id, set[id])
		opmetrics.Observe("setacl", server, start, err)
		if err != nil {
			return 0, fmt.Errorf("SETACL %s %s: %w", folder, id, err)
		}
	}
	for _, id := range remove {
		start := time.Now()
		err := s.DeleteACL(ctx, folder, id)
		opmetrics.Observe("deleteacl", server, start, err)
		if err != nil {
			return 0, fmt.Errorf("DELETEACL %s %s: %w", folder, id, err)
		}
	}
	return len(set) + len(remove), nil
}

// recordDrift counts and reports ACL entries someone changed on the server and that were put back.
func (r *FolderShareReconciler) recordDrift(ctx context.Context, share *mailshiftv1.FolderShare, folder string, changed int) {
	now := metav1.Now()
	share.Status.DriftCorrections += int64(changed)
	share.Status.LastDriftTime = &now
	opmetrics.DriftCorrected(share.Namespace, changed)
	if r.Recorder != nil {
		r.Recorder.Eventf(share, nil, "Warning", mailshiftv1.ReasonDriftCorrected, "ApplyACL",
			"%d ACL entries on %s had been changed on the server and were put back", changed, folder)
	}
	log.FromContext(ctx).Info("ACL drift corrected", "entries", changed, "folder", folder)
}

// desiredACL turns the grants into identifier → letters for this server.
func desiredACL(grants []mailshiftv1.Grant, serverRights string, flavor mailshiftv1.Flavor) (map[string]acl.Set, error) {
	out := make(map[string]acl.Set, len(grants))
	for _, g := range grants {
		rights := make([]acl.Right, 0, len(g.Rights))
		for _, r := range g.Rights {
			rights = append(rights, acl.Right(r))
		}
		resolved, err := acl.Resolve(presetOf(g.Preset), rights)
		if err != nil {
			return nil, fmt.Errorf("grant to %s: %w", g.Grantee, err)
		}
		id := g.Grantee
		if name, ok := strings.CutPrefix(id, "group:"); ok {
			id = acl.GroupIdentifier(name, string(flavor))
		}
		if err := acl.ValidateIdentifier(id, string(flavor)); err != nil {
			return nil, fmt.Errorf("grant to %s: %w", g.Grantee, err)
		}
		out[id] = acl.SetFor(resolved, serverRights)
	}
	return out, nil
}

func presetOf(p mailshiftv1.RightsPreset) acl.Preset {
	switch p {
	case mailshiftv1.PresetReadOnly:
		return acl.PresetReadOnly
	case mailshiftv1.PresetAuthor:
		return acl.PresetAuthor
	case mailshiftv1.PresetEditor:
		return acl.PresetEditor
	case mailshiftv1.PresetFull:
		return acl.PresetFull
	}
	return ""
}

// foldersToShare is the folder itself, plus every folder below it when asked.
func foldersToShare(ctx context.Context, s *imapsession.Session, folder string, subfolders bool) ([]string, error) {
	all, err := s.Folders(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	found := false
	for _, f := range all {
		switch {
		case f.Name == folder:
			found = true
			out = append(out, f.Name)
		case subfolders && f.Delim != 0 && strings.HasPrefix(f.Name, folder+string(f.Delim)):
			out = append(out, f.Name)
		}
	}
	if !found {
		return nil, &refError{mailshiftv1.ReasonFolderNotFound, fmt.Sprintf("folder %q does not exist in the mailbox", folder), false}
	}
	sort.Strings(out)
	return out, nil
}

func folderACL(folder string, m map[string]acl.Set) mailshiftv1.FolderACL {
	fa := mailshiftv1.FolderACL{Folder: folder}
	for _, id := range sortedKeys(m) {
		var rights []mailshiftv1.Right
		for _, r := range acl.FromLetters(m[id]) {
			rights = append(rights, mailshiftv1.Right(r))
		}
		fa.Entries = append(fa.Entries, mailshiftv1.ACLEntry{Identifier: id, Letters: m[id].String(), Rights: rights})
	}
	return fa
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// revoke puts back every ACL entry this FolderShare changed as it was before, unsubscribes the grantees it
// subscribed, then lets the object go. If the mailbox or its server is gone for good there is nothing left
// to revoke; a server that is only unreachable is retried. The IMAP part runs in the background.
func (r *FolderShareReconciler) revoke(ctx context.Context, share *mailshiftv1.FolderShare) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(share)
	if !controllerutil.ContainsFinalizer(share, revokeFinalizer) {
		r.checks.forget(key)
		return ctrl.Result{}, nil
	}
	if res, ok := r.checks.last(key); ok && res.version == revokeVersion {
		r.checks.forget(key)
		if !res.value.revoked {
			if res.value.err != nil {
				return ctrl.Result{}, res.value.err
			}
			if r.Recorder != nil {
				r.Recorder.Eventf(share, nil, "Warning", res.value.o.reason, "RevokeACL", "cannot revoke grants yet: %s", res.value.o.message)
			}
			return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
		}
		return r.release(ctx, share)
	}
	target, _, _, err := r.resolveShare(ctx, share)
	var re *refError
	switch {
	case errors.As(err, &re) && (re.reason == mailshiftv1.ReasonMailboxNotFound || re.reason == mailshiftv1.ReasonServerNotFound):
		log.FromContext(ctx).Info("mailbox gone; nothing to revoke", "reason", re.reason)
		r.checks.forget(key)
		return r.release(ctx, share)
	case err != nil:
		o := outcomeOf(err)
		if r.Recorder != nil {
			r.Recorder.Eventf(share, nil, "Warning", o.reason, "RevokeACL", "cannot revoke grants yet: %s", o.message)
		}
		return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
	}
	if r.checks.inFlight(key, revokeVersion) {
		return ctrl.Result{}, nil // it wakes the controller when done
	}
	if r.checks.busy(key) {
		// A sync is under way: what it changes on the server (a grantee subscribed) is recorded only in its
		// result. The revoke waits for it rather than cancel it, so that it undoes that too.
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	work := share.DeepCopy()
	if last, ok := r.lastRecord(key); ok {
		work.Status = *last
	}
	r.checks.start(share, revokeVersion, serverSlotOf(target.server), func(ctx context.Context) shareCheck {
		s, err := target.dial(ctx)
		if err != nil {
			return shareCheck{o: outcomeOf(err)}
		}
		defer s.Close()
		ledger := ledgerOf(&work.Status, target.creds.Login)
		for _, f := range ledger.folders() {
			if err := ledger.restoreFolder(ctx, s, target.server.Name, f, target.creds.Login); err != nil {
				return shareCheck{o: outcomeOf(err), err: fmt.Errorf("revoke: %w", err)}
			}
		}
		_ = s.Close() // one connection at a time, as in sync
		r.unsubscribeAll(ctx, work, target)
		return shareCheck{revoked: true}
	})
	return ctrl.Result{}, nil
}

// lastRecord returns the status the last sync of this manager left, when there is one: it records what
// that sync changed on the server (the ACL entries as they were before, the grantees it subscribed), and it
// is newer than the cache's copy until the status write reaches the cache. That write may not have been
// made yet (the sync finished just now), or may land after a change of the object that the cache already
// shows: a FolderShare deleted while its status was written was revoked from the older status, and a
// grantee subscribed by the last sync stayed subscribed. Only syncs write these records, so the last one's
// are the newest this manager has.
func (r *FolderShareReconciler) lastRecord(key types.NamespacedName) (*mailshiftv1.FolderShareStatus, bool) {
	res, ok := r.checks.last(key)
	if !ok || res.version == revokeVersion || !res.value.synced || res.value.err != nil {
		return nil, false
	}
	return res.value.status.DeepCopy(), true
}

// release removes the finalizer: nothing is left to revoke.
func (r *FolderShareReconciler) release(ctx context.Context, share *mailshiftv1.FolderShare) (ctrl.Result, error) {
	controllerutil.RemoveFinalizer(share, revokeFinalizer)
	return ctrl.Result{}, client.IgnoreNotFound(r.Update(ctx, share))
}

// plural writes "1 grant", "2 grants".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
