package controllers

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// checkStatus points at the status fields every periodically checked kind (MailServer, Mailbox) shares.
type checkStatus struct {
	conditions          *[]metav1.Condition
	lastCheckTime       **metav1.Time
	consecutiveFailures *int32
	observedGeneration  *int64
}

// checkOutcome is what every background check result can tell: its outcome.
type checkOutcome interface{ result() outcome }

// periodicCheck is one Reconcile of a periodically checked kind, whose check runs in the background:
// version fingerprints the inputs the check depends on, run is the check itself (it may only touch its own
// copy of the object), fill copies a result into after's status.
type periodicCheck[T client.Object, R checkOutcome] struct {
	checks   *netChecks[R]
	manager  string // the status field manager
	before   T
	after    T
	st       checkStatus
	interval time.Duration
	version  string
	slot     serverSlot
	run      func(ctx context.Context) R
	fill     func(R)
	status   func(T) any
	checking string // the message while the first check of a generation runs
}

// reconcile writes a result not yet shown, starts a check when none is fresh for the current inputs, and
// schedules the next one. It never waits for the network.
func (p periodicCheck[T, R]) reconcile(ctx context.Context, c client.Client, rec events.EventRecorder) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(p.after)
	if res, ok := p.checks.last(key); ok && res.version == p.version {
		if !res.applied {
			p.fill(res.value)
			result, written, err := finishCheck(ctx, c, p.manager, rec, p.before, p.after, p.st, readyReason(*p.st.conditions), res.value.result(),
				res.finished, p.interval, p.status)
			if written {
				p.checks.markApplied(key, res.finished)
			}
			return result, err
		}
		if wait := time.Until(res.finished.Add(nextCheckAfter(res.value.result(), *p.st.consecutiveFailures, p.interval))); wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}
	p.checks.start(p.after, p.version, p.slot, p.run)
	if needsChecking(*p.st.conditions, p.after.GetGeneration()) {
		markChecking(p.st.conditions, p.after.GetGeneration(), p.checking)
		return writeStatus(ctx, c, p.manager, p.before, p.after, p.status)
	}
	return ctrl.Result{}, nil
}

// nextCheckAfter is how long a result stays fresh: the interval when healthy, a growing backoff capped at
// the interval when not (stalled too: a fixed password or server heals without anyone touching the object).
func nextCheckAfter(o outcome, failures int32, interval time.Duration) time.Duration {
	if o.ready {
		return interval
	}
	return retryAfter(max(failures, 1), interval)
}

// finishCheck records the outcome of one check, made at checkedAt, in after's status, emits an Event when
// the Ready reason changed, writes the status if it changed, and schedules the next check. written says the
// status now shows the outcome. Failures are returned as results, never as errors, so a broken server is
// retried steadily instead of in controller-runtime's fast error loop.
func finishCheck[T client.Object](ctx context.Context, c client.Client, manager string, rec events.EventRecorder, before, after T,
	st checkStatus, previousReason string, o outcome, checkedAt time.Time, interval time.Duration, status func(T) any) (ctrl.Result, bool, error) {
	at := metav1.NewTime(checkedAt)
	*st.lastCheckTime = &at
	*st.observedGeneration = after.GetGeneration()
	if o.ready {
		*st.consecutiveFailures = 0
	} else {
		*st.consecutiveFailures++
	}
	o.apply(st.conditions, after.GetGeneration())
	if res, err := writeStatus(ctx, c, manager, before, after, status); err != nil || !res.IsZero() {
		return res, false, err
	}
	recordTransition(rec, after, previousReason, o, "Check")
	if !o.ready {
		log.FromContext(ctx).Info("check failed", "reason", o.reason, "message", o.message)
	}
	wait := time.Until(checkedAt.Add(nextCheckAfter(o, *st.consecutiveFailures, interval)))
	return ctrl.Result{RequeueAfter: max(wait, time.Second)}, true, nil
}
