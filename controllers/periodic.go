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

// finishCheck records the outcome of one check in after's status, emits an Event when the Ready reason
// changed, writes the status if it changed, and schedules the next check: the interval when healthy, a
// growing backoff capped at the interval when not. Failures are returned as results, never as errors, so a
// broken server is retried steadily instead of in controller-runtime's fast error loop.
func finishCheck[T client.Object](ctx context.Context, c client.Client, rec events.EventRecorder, before, after T,
	st checkStatus, previousReason string, o outcome, interval time.Duration, status func(T) any) (ctrl.Result, error) {
	now := metav1.Now()
	*st.lastCheckTime = &now
	*st.observedGeneration = after.GetGeneration()
	if o.ready {
		*st.consecutiveFailures = 0
	} else {
		*st.consecutiveFailures++
	}
	recordTransition(rec, after, previousReason, o, "Check")
	o.apply(st.conditions, after.GetGeneration())
	if res, err := writeStatus(ctx, c, before, after, status); err != nil || !res.IsZero() {
		return res, err
	}
	if !o.ready {
		log.FromContext(ctx).Info("check failed", "reason", o.reason, "message", o.message)
		return ctrl.Result{RequeueAfter: retryAfter(*st.consecutiveFailures, interval)}, nil
	}
	return ctrl.Result{RequeueAfter: interval}, nil
}
