package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
)

// cancelFinalizer makes deleting a MailboxMigration stop its worker first and say what was done.
const cancelFinalizer = "mailshift.io/cancel-migration"

// Reasons of MailboxMigration conditions beyond the shared ones.
const (
	ReasonCompleted        = "Completed"
	ReasonSuspended        = "Suspended"
	ReasonWaitingForServer = "WaitingForServer"
	ReasonRunFailed        = "RunFailed"
)

// MigrationReconciler runs each MailboxMigration through an Executor: it checks the references, starts a
// run when the server has room, suspends and resumes it, turns its outcome into conditions, and cancels it
// when the object is deleted. The worker writes status.progress; this controller owns everything else in
// the status.
type MigrationReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Executor Executor
	Metrics  *MigrationMetrics
	// AllowHostPathPSTVolumes lets PST sources use hostPath volumes (the manager's --allow-hostpath-pst-volumes).
	AllowHostPathPSTVolumes bool

	// started remembers runs this manager started that the cache may not show as Running yet, so that two
	// migrations reconciled back to back cannot both take the server's last slot.
	mu      sync.Mutex
	started map[types.NamespacedName]types.NamespacedName // migration -> server
}

// +kubebuilder:rbac:groups=mailshift.io,resources=mailboxmigrations,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=mailshift.io,resources=mailboxmigrations/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=mailshift.io,resources=mailboxmigrations/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims;persistentvolumes,verbs=get;list;watch

func (r *MigrationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var mig mailshiftv1.MailboxMigration
	if err := r.Get(ctx, req.NamespacedName, &mig); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !mig.DeletionTimestamp.IsZero() {
		return r.cancel(ctx, &mig)
	}
	// Finalizers are patched, not updated: an update carries the resourceVersion and would lose to the
	// worker's progress writes.
	unchanged := client.MergeFrom(mig.DeepCopy())
	if controllerutil.AddFinalizer(&mig, cancelFinalizer) {
		if err := r.Patch(ctx, &mig, unchanged); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	before := mig.DeepCopy()
	o, phase, requeue, err := r.step(ctx, &mig)
	if err != nil {
		return ctrl.Result{}, err
	}
	changed := phase != mig.Status.Phase
	mig.Status.Phase = phase
	// observedGeneration says the controller is done acting on this spec: finished, or suspended (kstatus reads
	// an older one as "not yet observed" and would wait for a suspended migration forever).
	if phase == mailshiftv1.PhaseSucceeded || phase == mailshiftv1.PhaseFailed || phase == mailshiftv1.PhaseSuspended {
		mig.Status.ObservedGeneration = mig.Generation
	}
	recordTransition(r.Recorder, &mig, readyReason(before.Status.Conditions), o, "Migrate")
	o.apply(&mig.Status.Conditions, mig.Generation)
	if res, err := writeStatus(ctx, r.Client, fieldManagerMigration, before, &mig, migrationControllerStatus); err != nil || !res.IsZero() {
		return res, err
	}
	if changed && r.Metrics != nil {
		r.Metrics.transition(&mig, phase)
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// migrationControllerStatus is the part of a MailboxMigration's status this controller owns: all of it but
// status.progress, which the worker applies under its own field manager while the run goes on, and but
// conditions of types it does not set.
func migrationControllerStatus(m *mailshiftv1.MailboxMigration) any {
	s := m.Status
	s.Progress = nil
	s.Conditions = standardConditions(s.Conditions)
	return s
}

// step decides what the migration needs now and returns its outcome, phase and when to look again.
func (r *MigrationReconciler) step(ctx context.Context, mig *mailshiftv1.MailboxMigration) (outcome, mailshiftv1.MigrationPhase, time.Duration, error) {
	key := types.NamespacedName{Namespace: mig.Namespace, Name: mig.Name}
	p, err := r.plan(ctx, mig)
	if err != nil {
		var re *refError
		if !errors.As(err, &re) && !apierrors.IsNotFound(err) {
			return outcome{}, "", 0, err
		}
		o := outcomeOf(err)
		phase := mig.Status.Phase
		if phase == "" || phase == mailshiftv1.PhaseRunning {
			phase = mailshiftv1.PhasePending
		}
		return o, phase, 30 * time.Second, nil
	}
	// A spec change replaces the run: the old one stops (its checkpoint stays; the new run continues from it).
	if err := r.Executor.remove(ctx, mig, p.run); err != nil {
		return outcome{}, "", 0, err
	}
	st, err := r.Executor.observe(ctx, mig, p.run)
	if err != nil {
		return outcome{}, "", 0, err
	}
	previousRun := mig.Status.JobName
	mig.Status.JobName = p.run
	if st.exists {
		mig.Status.Attempts = st.attempts
		if st.start != nil && mig.Status.StartTime == nil {
			mig.Status.StartTime = st.start
		}
	}
	switch {
	case st.succeeded:
		r.release(key)
		mig.Status.CompletionTime = st.end
		mig.Status.ReportConfigMap = reportName(mig)
		msg := "migration complete"
		if st.summary != nil {
			msg = st.summary.Message
			if st.summary.Totals.Failed > 0 {
				msg += fmt.Sprintf("; the failed items are listed in ConfigMap %s", reportName(mig))
			}
		}
		return readyOutcome(ReasonCompleted, msg), mailshiftv1.PhaseSucceeded, 0, nil
	case st.failed:
		r.release(key)
		mig.Status.CompletionTime = st.end
		mig.Status.ReportConfigMap = reportName(mig)
		reason, msg := ReasonRunFailed, st.lastError
		if st.summary != nil && st.summary.Result == "Failed" {
			reason, msg = st.summary.Reason, st.summary.Message
		}
		if st.attempts > 0 {
			msg = fmt.Sprintf("gave up after %d attempts: %s", st.attempts, msg)
		}
		return failedOutcome(reason, msg, true), mailshiftv1.PhaseFailed, 0, nil
	}

	if !st.exists && mig.Status.Phase == mailshiftv1.PhaseSucceeded && previousRun == p.run {
		// Finished, and its run was cleaned away since: nothing to do until the spec changes.
		return readyOutcome(ReasonCompleted, readyMessage(mig)), mailshiftv1.PhaseSucceeded, 0, nil
	}
	if mig.Spec.Suspend {
		r.release(key)
		if st.exists && !st.suspended {
			if err := r.Executor.ensure(ctx, mig, p, true); err != nil {
				return outcome{}, "", 0, err
			}
		}
		return suspendedOutcome("suspended: the worker is stopped and its checkpoint kept; clear spec.suspend to resume"),
			mailshiftv1.PhaseSuspended, 0, nil
	}
	if !st.exists || st.suspended {
		running, err := r.runningOn(ctx, p.server, key)
		if err != nil {
			return outcome{}, "", 0, err
		}
		if running >= int(p.limit) {
			return failedOutcome(ReasonWaitingForServer, fmt.Sprintf("waiting: %d migrations already write to MailServer %s (spec.limits.maxConcurrentMigrations %d)",
				running, p.server, p.limit), false), mailshiftv1.PhasePending, 10 * time.Second, nil
		}
		r.mu.Lock()
		if r.started == nil {
			r.started = map[types.NamespacedName]types.NamespacedName{}
		}
		r.started[key] = p.server
		r.mu.Unlock()
		if err := r.Executor.ensure(ctx, mig, p, false); err != nil {
			r.release(key)
			var re *refError
			if errors.As(err, &re) {
				// A person must act (a name the worker's objects need is taken): say so in the status.
				return outcomeOf(err), mailshiftv1.PhasePending, 30 * time.Second, nil
			}
			return outcome{}, "", 0, err
		}
		if mig.Status.StartTime == nil {
			now := metav1.Now()
			mig.Status.StartTime = &now
		}
		mig.Status.CompletionTime = nil
	}
	msg := fmt.Sprintf("run %s in progress", p.run)
	if st.attempts > 1 {
		msg += fmt.Sprintf(" (attempt %d; last: %s)", st.attempts, st.lastError)
	}
	return failedOutcome(mailshiftv1.ReasonProgressing, msg, false), mailshiftv1.PhaseRunning, 0, nil
}

func readyMessage(mig *mailshiftv1.MailboxMigration) string {
	if c := meta.FindStatusCondition(mig.Status.Conditions, mailshiftv1.ConditionReady); c != nil && c.Message != "" {
		return c.Message
	}
	return "migration complete"
}

func (r *MigrationReconciler) release(key types.NamespacedName) {
	r.mu.Lock()
	delete(r.started, key)
	r.mu.Unlock()
}

// runningOn counts the migrations writing to server now, in every namespace, other than self.
func (r *MigrationReconciler) runningOn(ctx context.Context, server, self types.NamespacedName) (int, error) {
	var all mailshiftv1.MailboxMigrationList
	if err := r.List(ctx, &all); err != nil {
		return 0, err
	}
	seen := map[types.NamespacedName]bool{self: true}
	n := 0
	r.mu.Lock()
	for m, s := range r.started {
		if !seen[m] && s == server {
			seen[m] = true
			n++
		}
	}
	r.mu.Unlock()
	for i := range all.Items {
		m := &all.Items[i]
		k := types.NamespacedName{Namespace: m.Namespace, Name: m.Name}
		if seen[k] || m.Status.Phase != mailshiftv1.PhaseRunning {
			continue
		}
		var mbx mailshiftv1.Mailbox
		if err := r.Get(ctx, types.NamespacedName{Namespace: m.Namespace, Name: m.Spec.MailboxRef.Name}, &mbx); err != nil {
			continue
		}
		if (types.NamespacedName{Namespace: orDefault(mbx.Spec.ServerRef.Namespace, mbx.Namespace), Name: mbx.Spec.ServerRef.Name}) == server {
			seen[k] = true
			n++
		}
	}
	return n, nil
}

// cancel stops the run of a deleted migration, records what it had done, and lets the deletion finish.
// What was copied stays on the target.
func (r *MigrationReconciler) cancel(ctx context.Context, mig *mailshiftv1.MailboxMigration) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(mig, cancelFinalizer) {
		return ctrl.Result{}, nil
	}
	if err := r.Executor.remove(ctx, mig, ""); err != nil {
		return ctrl.Result{}, err
	}
	r.release(types.NamespacedName{Namespace: mig.Namespace, Name: mig.Name})
	if r.Recorder != nil && mig.Status.Phase != mailshiftv1.PhaseSucceeded {
		msg := "migration cancelled before it started"
		if p := mig.Status.Progress; p != nil {
			msg = fmt.Sprintf("migration cancelled: %d of %d items copied, %d already there, %d failed; what was copied stays on the target",
				p.ItemsCopied, p.ItemsTotal, p.ItemsSkipped, p.ItemsFailed)
		}
		r.Recorder.Eventf(mig, nil, "Normal", "Cancelled", "Delete", "%s", msg)
	}
	unchanged := client.MergeFrom(mig.DeepCopy())
	controllerutil.RemoveFinalizer(mig, cancelFinalizer)
	return ctrl.Result{}, client.IgnoreNotFound(r.Patch(ctx, mig, unchanged))
}
