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
	"github.com/mailshift/mailshift/internal/imapx"
	"github.com/mailshift/mailshift/internal/opmetrics"
)

// revokeFinalizer makes deleting a FolderShare take back the grants it made.
const revokeFinalizer = "mailshift.io/revoke-grants"

// FolderShareReconciler keeps a folder's IMAP ACL equal to the declared grants.
type FolderShareReconciler struct {
	client.Client
	Recorder events.EventRecorder
}

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

	o := r.sync(ctx, &share)
	share.Status.ObservedGeneration = share.Generation
	recordTransition(r.Recorder, &share, readyReason(before.Status.Conditions), o, "ApplyACL")
	o.apply(&share.Status.Conditions, share.Generation)
	if res, err := writeStatus(ctx, r.Client, before, &share, func(s *mailshiftv1.FolderShare) any { return s.Status }); err != nil || !res.IsZero() {
		return res, err
	}
	if !o.ready {
		return ctrl.Result{RequeueAfter: retryAfter(failuresSince(before.Status.Conditions), interval)}, nil
	}
	return ctrl.Result{RequeueAfter: interval}, nil
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

// shareSession logs in as the folder's owner and resolves the folder name on the server.
func (r *FolderShareReconciler) shareSession(ctx context.Context, share *mailshiftv1.FolderShare) (*imapx.Session, *mailboxTarget, string, error) {
	var mbx mailshiftv1.Mailbox
	key := types.NamespacedName{Namespace: share.Namespace, Name: share.Spec.MailboxRef.Name}
	if err := r.Get(ctx, key, &mbx); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, "", &refError{mailshiftv1.ReasonMailboxNotFound, fmt.Sprintf("Mailbox %s not found", key), true}
		}
		return nil, nil, "", err
	}
	folder := share.Spec.Folder
	if t := share.Spec.SpecialFolder; t != "" {
		for _, f := range mbx.Status.SpecialFolders {
			if f.Type == t {
				folder = f.Mailbox
			}
		}
		if folder == "" {
			return nil, nil, "", &refError{mailshiftv1.ReasonMailboxNotReady,
				fmt.Sprintf("Mailbox %s has no %s folder yet", mbx.Name, t), false}
		}
	}
	target, err := resolveMailbox(ctx, r.Client, &mbx)
	if err != nil {
		return nil, nil, "", err
	}
	s, err := target.dial(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	return s, target, folder, nil
}

// sync makes the ACLs on the server equal the declared grants and reads them back into status.
func (r *FolderShareReconciler) sync(ctx context.Context, share *mailshiftv1.FolderShare) outcome {
	s, target, folder, err := r.shareSession(ctx, share)
	if err != nil {
		return outcomeOf(err)
	}
	defer s.Close()
	share.Status.Mailbox = folder
	if !s.Has("ACL") {
		return failedOutcome(mailshiftv1.ReasonNotSupported, "the server does not support IMAP ACLs (RFC 4314)", true)
	}
	folders, err := foldersToShare(ctx, s, folder, share.Spec.ApplyToSubfolders)
	if err != nil {
		return outcomeOf(err)
	}
	desired, err := desiredACL(share.Spec.Grants, s.RightsCapability(), target.server.Spec.Flavor)
	if err != nil {
		return failedOutcome(mailshiftv1.ReasonInvalidSpec, err.Error(), true)
	}
	plan := sharePlan{
		desired: desired,
		owner:   target.creds.Login,
		exact:   share.Spec.Mode == mailshiftv1.ShareExact,
		// Grants this FolderShare made before but no longer declares are taken back, in Merge mode too:
		// Merge leaves alone what others set, not what we set.
		withdrawn:    withdrawnGrantees(share.Status.AppliedGrantees, desired, target.creds.Login),
		allowLockout: share.Spec.AllowOwnerLockout,
	}

	// Read every folder first and refuse before changing anything, so a lockout is never half-applied.
	actuals := make(map[string]map[string]acl.Set, len(folders))
	for _, f := range folders {
		actual, err := s.GetACL(ctx, f)
		if err != nil {
			return outcomeOf(fmt.Errorf("GETACL %s: %w", f, err))
		}
		actuals[f] = actual
		var lockout *acl.LockoutError
		if err := acl.CheckOwner(plan.owner, plan.want(actual), actual, plan.exact); !plan.allowLockout && errors.As(err, &lockout) {
			return failedOutcome(mailshiftv1.ReasonOwnerLockout, fmt.Sprintf(
				"refused on %s: the grants would reduce the owner %s's own rights from %q to %q; set allowOwnerLockout: true if that is intended",
				f, plan.owner, lockout.Current.String(), lockout.Proposed.String()), true)
		}
	}

	// Recorded before any change, so that a failure halfway never leaves a grant that a later deletion would
	// not know to revoke.
	previouslyApplied := share.Status.AppliedGrantees
	share.Status.AppliedGrantees = union(previouslyApplied, sortedKeys(desired))
	if err := revokeOnDroppedFolders(ctx, s, share.Status.ACLs, folders, previouslyApplied, plan.owner); err != nil {
		return outcomeOf(err)
	}

	// A difference found after this generation was already applied is drift: someone changed the ACL by hand.
	alreadyApplied := share.Status.ObservedGeneration == share.Generation && readyReason(share.Status.Conditions) == mailshiftv1.ReasonACLApplied
	changed := 0
	for _, f := range folders {
		n, err := applyFolderACL(ctx, s, target.server.Name, f, plan.want(actuals[f]), actuals[f], plan.exact)
		if err != nil {
			return outcomeOf(err)
		}
		changed += n
	}
	if alreadyApplied && changed > 0 {
		r.recordDrift(ctx, share, folder, changed)
	}

	// Read back what the server now holds: status shows the truth, not what was sent.
	share.Status.ACLs = nil
	for _, f := range folders {
		actual, err := s.GetACL(ctx, f)
		if err != nil {
			return outcomeOf(fmt.Errorf("GETACL %s: %w", f, err))
		}
		share.Status.ACLs = append(share.Status.ACLs, folderACL(f, actual))
		if set, remove := acl.Diff(plan.want(actual), actual, plan.exact); len(set)+len(remove) > 0 {
			return failedOutcome(mailshiftv1.ReasonACLFailed, fmt.Sprintf(
				"the server did not keep the ACL on %s: %d entries still differ after SETACL", f, len(set)+len(remove)), false)
		}
	}
	share.Status.AppliedGrantees = sortedKeys(desired)
	now := metav1.Now()
	share.Status.LastSyncTime = &now
	return readyOutcome(mailshiftv1.ReasonACLApplied, fmt.Sprintf("%s applied on %s", plural(len(desired), "grant"), plural(len(folders), "folder")))
}

// sharePlan is what a FolderShare wants on a folder, given what the server holds there.
type sharePlan struct {
	desired      map[string]acl.Set
	withdrawn    []string
	owner        string
	exact        bool
	allowLockout bool
}

// want is the desired ACL for a folder whose entries are actual: the declared grants, withdrawn grants as
// "no entry", and in Exact mode the owner's own entry kept, since Exact removes undeclared entries but never
// the owner's by omission (unless owner lockout is allowed).
func (p sharePlan) want(actual map[string]acl.Set) map[string]acl.Set {
	out := make(map[string]acl.Set, len(p.desired)+len(p.withdrawn)+1)
	for _, id := range p.withdrawn {
		out[id] = acl.Set{} // an empty desired set means "no entry"
	}
	for k, v := range p.desired {
		out[k] = v
	}
	if cur, has := actual[p.owner]; has && p.exact && !p.allowLockout {
		if _, declared := p.desired[p.owner]; !declared {
			out[p.owner] = cur
		}
	}
	return out
}

// applyFolderACL sends the SETACL and DELETEACL commands that turn actual into want, and returns how many.
func applyFolderACL(ctx context.Context, s *imapx.Session, server, folder string, want, actual map[string]acl.Set, exact bool) (int, error) {
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

// revokeOnDroppedFolders takes our grants back from folders shared before but not now (the folder changed,
// or subfolders were turned off). A folder that no longer exists has nothing to revoke.
func revokeOnDroppedFolders(ctx context.Context, s *imapx.Session, before []mailshiftv1.FolderACL, now, applied []string, owner string) error {
	for _, fa := range before {
		if slices.Contains(now, fa.Folder) {
			continue
		}
		for _, id := range applied {
			if id == owner {
				continue
			}
			if err := s.DeleteACL(ctx, fa.Folder, id); err != nil && imapx.KindOf(err) != imapx.NotFound {
				return fmt.Errorf("revoke %s on %s, no longer shared: %w", id, fa.Folder, err)
			}
		}
	}
	return nil
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

// withdrawnGrantees are identifiers applied earlier that the spec no longer grants; never the owner.
func withdrawnGrantees(applied []string, desired map[string]acl.Set, owner string) []string {
	var out []string
	for _, id := range applied {
		if _, still := desired[id]; !still && id != owner {
			out = append(out, id)
		}
	}
	return out
}

// union returns the sorted union of two identifier lists.
func union(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
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
func foldersToShare(ctx context.Context, s *imapx.Session, folder string, subfolders bool) ([]string, error) {
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

// revoke takes back the grants this FolderShare made, then lets the object go. If the mailbox or its server
// is gone for good there is nothing left to revoke; a server that is only unreachable is retried.
func (r *FolderShareReconciler) revoke(ctx context.Context, share *mailshiftv1.FolderShare) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(share, revokeFinalizer) {
		return ctrl.Result{}, nil
	}
	s, target, _, err := r.shareSession(ctx, share)
	var re *refError
	switch {
	case errors.As(err, &re) && (re.reason == mailshiftv1.ReasonMailboxNotFound || re.reason == mailshiftv1.ReasonServerNotFound):
		log.FromContext(ctx).Info("mailbox gone; nothing to revoke", "reason", re.reason)
	case err != nil:
		o := outcomeOf(err)
		if r.Recorder != nil {
			r.Recorder.Eventf(share, nil, "Warning", o.reason, "RevokeACL", "cannot revoke grants yet: %s", o.message)
		}
		return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
	default:
		defer s.Close()
		for _, fa := range share.Status.ACLs {
			for _, id := range share.Status.AppliedGrantees {
				if id == target.creds.Login {
					continue // never revoke the owner's own entry: that would lock the owner out
				}
				if err := s.DeleteACL(ctx, fa.Folder, id); err != nil && imapx.KindOf(err) != imapx.NotFound {
					return ctrl.Result{}, fmt.Errorf("revoke %s on %s: %w", id, fa.Folder, err)
				}
			}
		}
	}
	controllerutil.RemoveFinalizer(share, revokeFinalizer)
	return ctrl.Result{}, r.Update(ctx, share)
}

// plural writes "1 grant", "2 grants".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
