package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/mailsync"
	"github.com/mailshift/mailshift/internal/opmetrics"
)

// SyncPolicyReconciler runs a SyncPolicy's cycles: one every spec.interval from the last one's start, or at
// once when the mailshift.io/sync-now annotation takes a new value; never two at once; none while
// suspended (a running one finishes). A cycle runs in the background (netChecks), under the connection
// limits of both servers, and its result is written into the status by the Reconcile it wakes.
type SyncPolicyReconciler struct {
	client.Client
	Recorder events.EventRecorder
	// Now is the clock (tests move it); nil means time.Now.
	Now func() time.Time
	// BulkAbove is how many source messages a first cycle may copy in the manager; above, a MailboxMigration
	// copies them first (syncpolicy_firstsync.go). 0: the cycles copy everything themselves.
	BulkAbove int

	checks *netChecks[syncCycleResult]
}

// syncCycleResult is one finished cycle.
type syncCycleResult struct {
	o       outcome
	started time.Time
	cycle   *mailshiftv1.SyncCycle // nil when the cycle could not run
	syncNow string                 // the sync-now value it answered
	report  string                 // the report ConfigMap it wrote, "" if none
	state   string                 // the state ConfigMap
	lost    bool                   // the state was unreadable and started over
	// large is a first cycle declined for its size: firstSync, the migration planned with the cycle, is to
	// copy the source.
	large     *mailsync.LargeFirstSyncError
	firstSync *mailshiftv1.MailboxMigration
}

func (r syncCycleResult) result() outcome { return r.o }

// +kubebuilder:rbac:groups=mailshift.io,resources=syncpolicies,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=mailshift.io,resources=syncpolicies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=mailshift.io,resources=mailboxes,verbs=get;list;watch
// +kubebuilder:rbac:groups=mailshift.io,resources=mailservers,verbs=get;list;watch
// +kubebuilder:rbac:groups=mailshift.io,resources=mailboxmigrations,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func (r *SyncPolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var sp mailshiftv1.SyncPolicy
	if err := r.Get(ctx, req.NamespacedName, &sp); err != nil {
		if apierrors.IsNotFound(err) {
			// Its state and report ConfigMaps go with it (owner references).
			r.checks.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := sp.DeepCopy()
	key := req.NamespacedName
	// A finished cycle is shown first, whatever else changed meanwhile.
	if res, ok := r.checks.last(key); ok && !res.applied {
		if large := res.value.large; large != nil {
			if err := r.startFirstSync(ctx, &sp, res.value.firstSync, large); err != nil {
				return ctrl.Result{}, err
			}
		}
		r.apply(&sp, res.value)
		if out, err := writeStatus(ctx, r.Client, fieldManagerSync, before, &sp, syncStatus); err != nil || !out.IsZero() {
			return out, err
		}
		r.checks.markApplied(key, res.finished)
		r.tell(&sp, before, res.value)
		if res.value.large != nil {
			return ctrl.Result{}, nil // the first-sync migration, once in the cache, wakes the policy
		}
		before = sp.DeepCopy()
	}
	if r.checks.busy(key) {
		return ctrl.Result{}, nil // the cycle's end wakes the policy
	}
	first, err := r.firstSync(ctx, &sp)
	if err != nil {
		return ctrl.Result{}, err
	}
	if first != nil && !firstSyncFinished(first) {
		return r.waitFirstSync(ctx, &sp, before, first)
	}
	interval := intervalOf(&sp.Spec.Interval, 15*time.Minute)
	if sp.Spec.Suspend {
		sp.Status.NextSyncTime = nil
		sp.Status.ObservedGeneration = sp.Generation
		suspendedOutcome("suspended: no cycle runs until spec.suspend is false").apply(&sp.Status.Conditions, sp.Generation)
		return writeStatus(ctx, r.Client, fieldManagerSync, before, &sp, syncStatus)
	}
	now := r.now()
	trigger := sp.Annotations[mailshiftv1.AnnotationSyncNow]
	asked := trigger != "" && trigger != sp.Status.LastSyncNow
	if last := sp.Status.LastSyncTime; last != nil && !asked && sp.Status.ObservedGeneration == sp.Generation {
		next := last.Add(interval)
		if next.After(now) {
			at := metav1.NewTime(next)
			sp.Status.NextSyncTime = &at
			if out, err := writeStatus(ctx, r.Client, fieldManagerSync, before, &sp, syncStatus); err != nil || !out.IsZero() {
				return out, err
			}
			return ctrl.Result{RequeueAfter: next.Sub(now)}, nil
		}
	}
	src, dst, err := r.resolve(ctx, &sp)
	if err != nil {
		o := outcomeOf(err)
		sp.Status.ObservedGeneration = sp.Generation
		o.apply(&sp.Status.Conditions, sp.Generation)
		if out, err := writeStatus(ctx, r.Client, fieldManagerSync, before, &sp, syncStatus); err != nil || !out.IsZero() {
			return out, err
		}
		recordTransition(r.Recorder, &sp, readyReason(before.Status.Conditions), o, "Sync")
		return ctrl.Result{RequeueAfter: retryAfter(failuresSince(before.Status.Conditions), interval)}, nil
	}
	// A cycle a person waits for (a new or changed policy, sync-now) goes before routine re-checks of the
	// server; a cycle of the interval is one of them, or a thousand policies' cycles would always be first
	// and the server's Mailbox checks would wait behind them until they time out.
	waited := asked
	if needsChecking(sp.Status.Conditions, sp.Generation) {
		waited = true
		markChecking(&sp.Status.Conditions, sp.Generation, "first cycle running")
		if out, err := writeStatus(ctx, r.Client, fieldManagerSync, before, &sp, syncStatus); err != nil || !out.IsZero() {
			return out, err
		}
	}
	work := sp.DeepCopy()
	plan := r.firstSyncPlan(work, src, dst, first)
	// Each cycle is new work: its start time is part of its version, so it never stands for another.
	version := inputVersion(sp.Generation, now.UnixNano())
	slot, srcSlot := serverSlotOf(dst.server), serverSlotOf(src.server)
	if srcSlot.key == slot.key {
		slot.conns = 2 // a connection to each mailbox, both on this server
	} else {
		slot.also = &srcSlot
	}
	r.checks.startAs(&sp, version, slot, &waited, func(ctx context.Context) syncCycleResult {
		return r.cycle(ctx, work, src, dst, trigger, plan)
	})
	return ctrl.Result{}, nil
}

func (r *SyncPolicyReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func syncStatus(s *mailshiftv1.SyncPolicy) any { return s.Status }

// resolve follows the policy's two Mailboxes to their servers and credentials.
func (r *SyncPolicyReconciler) resolve(ctx context.Context, sp *mailshiftv1.SyncPolicy) (src, dst *mailboxTarget, err error) {
	get := func(ref mailshiftv1.LocalObjectRef, what string) (*mailboxTarget, error) {
		var mbx mailshiftv1.Mailbox
		key := types.NamespacedName{Namespace: sp.Namespace, Name: ref.Name}
		if err := r.Get(ctx, key, &mbx); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, &refError{mailshiftv1.ReasonMailboxNotFound, fmt.Sprintf("%s Mailbox %s not found", what, key), true}
			}
			return nil, err
		}
		t, err := resolveMailbox(ctx, r.Client, &mbx)
		if re := (*refError)(nil); errors.As(err, &re) {
			re.message = what + " Mailbox " + mbx.Name + ": " + re.message
		}
		return t, err
	}
	if src, err = get(sp.Spec.SourceRef, "source"); err != nil {
		return nil, nil, err
	}
	if dst, err = get(sp.Spec.TargetRef, "target"); err != nil {
		return nil, nil, err
	}
	return src, dst, nil
}

// cycle runs one cycle of sp (a copy of its own) in the background, and counts it in the metrics.
func (r *SyncPolicyReconciler) cycle(ctx context.Context, sp *mailshiftv1.SyncPolicy, src, dst *mailboxTarget, trigger string, plan *mailshiftv1.MailboxMigration) syncCycleResult {
	res := r.runCycle(ctx, sp, src, dst, trigger, plan)
	if c := res.cycle; c != nil {
		opmetrics.ObserveSync(res.o.reason, time.Since(res.started), c.ToTarget.ByKind(), c.ToSource.ByKind(), c.Conflicts)
	} else {
		opmetrics.ObserveSync(res.o.reason, time.Since(res.started), nil, nil, 0)
	}
	return res
}

// runCycle is the cycle itself.
// plan, when set, is the first-sync migration the cycle hands its copy to if it is a first one over
// r.BulkAbove source messages.
func (r *SyncPolicyReconciler) runCycle(ctx context.Context, sp *mailshiftv1.SyncPolicy, src, dst *mailboxTarget, trigger string, plan *mailshiftv1.MailboxMigration) syncCycleResult {
	started := time.Now()
	res := syncCycleResult{syncNow: trigger, started: started}
	// The connection slots on both servers are held (netChecks).
	store := &configMapState{c: r.Client, sp: sp}
	s := &mailsync.Sync{
		A:       mailsync.Server{Endpoint: src.endpoint, Credentials: src.creds},
		B:       mailsync.Server{Endpoint: dst.endpoint, Credentials: dst.creds},
		Options: syncOptions(sp.Spec),
		State:   store,
	}
	if plan != nil {
		s.BulkAbove = r.BulkAbove
	}
	s.Folders = syncFolders(sp.Spec)
	s.Kinds = syncKinds(sp.Spec.Items)
	if cal := sp.Spec.Calendar; cal != nil && cal.Target == mailshiftv1.CalendarSeparate {
		s.Calendar = mailsync.Calendar{Separate: true, Name: cal.Name}
	}
	rep, err := s.Cycle(ctx)
	res.lost = store.lost
	res.state = store.name()
	if large := (*mailsync.LargeFirstSyncError)(nil); errors.As(err, &large) {
		res.large, res.firstSync = large, plan
		res.o = outcome{reason: mailshiftv1.ReasonFirstSyncRunning, message: fmt.Sprintf(
			"%d messages in %d source folders: the first sync runs as MailboxMigration %s; the cycles start when it has finished", large.Messages, large.Folders, firstSyncName(sp))}
		return res
	}
	if err != nil {
		res.o = outcomeOf(err)
		return res
	}
	toB, toA, conflicts := rep.Totals()
	c := &mailshiftv1.SyncCycle{StartTime: metav1.NewTime(started), CompletionTime: metav1.NewTime(time.Now()),
		ToTarget: syncCounts(toB), ToSource: syncCounts(toA), Conflicts: int64(conflicts)}
	for _, f := range rep.Folders {
		c.Folders++
		if f.Error != "" {
			c.FailedFolders++
		}
	}
	res.cycle = c
	if name, err := writeSyncReport(ctx, r.Client, sp, rep); err != nil {
		log.FromContext(ctx).Error(err, "writing the sync report")
	} else {
		res.report = name
	}
	switch {
	case rep.InStep():
		res.o = readyOutcome(mailshiftv1.ReasonSynced, fmt.Sprintf("in step: %d folders; to target %s; to source %s", c.Folders, orNone(toB.String()), orNone(toA.String())))
	default:
		failed := toA.Failed + toB.Failed
		res.o = failedOutcome(mailshiftv1.ReasonItemsFailed, fmt.Sprintf("%d items and %d folders failed (see ConfigMap %s); the next cycle tries them again", failed, c.FailedFolders, res.report), false)
	}
	return res
}

func orNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

func syncCounts(c mailsync.Counts) mailshiftv1.SyncCounts {
	return mailshiftv1.SyncCounts{Added: int64(c.Added), Updated: int64(c.Updated), Flags: int64(c.Flags), Deleted: int64(c.Deleted + c.Doubles), Failed: int64(c.Failed)}
}

// syncKinds are the kinds of folders a policy's items name; none: mailsync's default (mail, calendars,
// contacts).
func syncKinds(items []mailshiftv1.ItemType) []string {
	kinds := map[mailshiftv1.ItemType]string{mailshiftv1.ItemMail: mailsync.KindMail, mailshiftv1.ItemCalendar: mailsync.KindEvent,
		mailshiftv1.ItemContacts: mailsync.KindContact, mailshiftv1.ItemTasks: mailsync.KindTask, mailshiftv1.ItemNotes: mailsync.KindNote,
		mailshiftv1.ItemJournal: mailsync.KindJournal}
	var out []string
	for _, it := range items {
		if k, ok := kinds[it]; ok {
			out = append(out, k)
		}
	}
	return out
}

// syncFolders are the spec's folder pairs, each with its own rules where it overrides the policy's.
func syncFolders(spec mailshiftv1.SyncPolicySpec) []mailsync.FolderPair {
	var out []mailsync.FolderPair
	for _, f := range spec.Folders {
		pair := mailsync.FolderPair{A: f.Source, B: orDefault(f.Target, f.Source)}
		if f.Direction != "" || f.Deletions != "" {
			own := spec
			if f.Direction != "" {
				own.Direction = f.Direction
			}
			if f.Deletions != "" {
				own.Deletions = f.Deletions
			}
			o := syncOptions(own)
			pair.Options = &o
		}
		out = append(out, pair)
	}
	return out
}

func syncOptions(spec mailshiftv1.SyncPolicySpec) mailsync.Options {
	o := mailsync.Options{Direction: mailsync.OneWay, Deletions: mailsync.DeleteIgnore, Conflicts: mailsync.KeepBoth}
	if spec.Direction == mailshiftv1.SyncTwoWay {
		o.Direction = mailsync.TwoWay
	}
	switch spec.Deletions {
	case mailshiftv1.DeletionPropagate:
		o.Deletions = mailsync.DeletePropagate
	case mailshiftv1.DeletionMoveToTrash:
		o.Deletions = mailsync.DeleteMoveToTrash
	}
	switch spec.Conflicts {
	case mailshiftv1.ConflictSourceWins:
		o.Conflicts = mailsync.SourceWins
	case mailshiftv1.ConflictTargetWins:
		o.Conflicts = mailsync.TargetWins
	case mailshiftv1.ConflictNewest:
		o.Conflicts = mailsync.Newest
	}
	return o
}

// apply writes a finished cycle into the status.
func (r *SyncPolicyReconciler) apply(sp *mailshiftv1.SyncPolicy, res syncCycleResult) {
	sp.Status.ObservedGeneration = sp.Generation
	if res.large != nil {
		// No cycle ran; the first-sync migration's end starts the first one.
		sp.Status.NextSyncTime = nil
		res.o.apply(&sp.Status.Conditions, sp.Generation)
		return
	}
	if res.syncNow != "" {
		sp.Status.LastSyncNow = res.syncNow
	}
	// A cycle that could not run counts as one for the interval too: tried again then, not in a loop.
	start := metav1.NewTime(res.started)
	sp.Status.LastSyncTime = &start
	next := metav1.NewTime(res.started.Add(intervalOf(&sp.Spec.Interval, 15*time.Minute)))
	sp.Status.NextSyncTime = &next
	if res.state != "" {
		sp.Status.StateConfigMap = res.state
	}
	if res.cycle != nil {
		sp.Status.LastCycle = res.cycle
		sp.Status.Conflicts += res.cycle.Conflicts
		if res.report != "" {
			sp.Status.ReportConfigMap = res.report
		}
	}
	res.o.apply(&sp.Status.Conditions, sp.Generation)
}

// tell emits the Events of a finished cycle: a change of its Ready reason, conflicts, a lost state.
func (r *SyncPolicyReconciler) tell(sp, before *mailshiftv1.SyncPolicy, res syncCycleResult) {
	recordTransition(r.Recorder, sp, readyReason(before.Status.Conditions), res.o, "Sync")
	if res.cycle != nil && res.cycle.Conflicts > 0 {
		r.Recorder.Eventf(sp, nil, "Warning", "Conflicts", "Sync", "%d conflicts settled by %s (see ConfigMap %s)", res.cycle.Conflicts, orDefault(string(sp.Spec.Conflicts), "KeepBoth"), res.report)
	}
	if res.lost {
		r.Recorder.Eventf(sp, nil, "Warning", mailshiftv1.ReasonStateLost, "Sync", "the sync state was unreadable and was started over: every message was matched again by identity, nothing copied twice")
	}
}
