package controllers

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
)

// outcome is what one reconcile concluded, expressed once and turned into the three standard conditions.
// Keeping the mapping in one place is what makes every kind read the same to kstatus, Flux and Argo CD.
type outcome struct {
	ready     bool
	stalled   bool // a person must act
	suspended bool // a person paused it: nothing is in flight, nothing is wrong
	reason    string
	message   string
}

func readyOutcome(reason, message string) outcome {
	return outcome{ready: true, reason: reason, message: message}
}

func failedOutcome(reason, message string, stalled bool) outcome {
	return outcome{reason: reason, message: message, stalled: stalled}
}

// suspendedOutcome is an object paused on purpose: not Ready (it is not done), but not Reconciling either,
// since no work is in flight until someone resumes it. kstatus (Flux) and Argo CD would otherwise wait for a
// suspended object forever.
func suspendedOutcome(message string) outcome {
	return outcome{suspended: true, reason: ReasonSuspended, message: message}
}

// apply writes Ready, Reconciling and Stalled for this outcome. LastTransitionTime only moves when a
// condition's status flips (meta.SetStatusCondition keeps it otherwise).
func (o outcome) apply(conds *[]metav1.Condition, generation int64) {
	ready := metav1.ConditionFalse
	if o.ready {
		ready = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: mailshiftv1.ConditionReady, Status: ready, Reason: o.reason, Message: o.message, ObservedGeneration: generation,
	})
	reconciling := metav1.ConditionFalse
	recReason, recMessage := o.reason, "no work in flight"
	if !o.ready && !o.stalled && !o.suspended {
		reconciling = metav1.ConditionTrue
		recMessage = "retrying: " + o.message
	}
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: mailshiftv1.ConditionReconciling, Status: reconciling, Reason: recReason, Message: recMessage, ObservedGeneration: generation,
	})
	stalled := metav1.ConditionFalse
	stMessage := "nothing needs a person"
	if o.stalled {
		stalled = metav1.ConditionTrue
		stMessage = o.message
	}
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: mailshiftv1.ConditionStalled, Status: stalled, Reason: o.reason, Message: stMessage, ObservedGeneration: generation,
	})
}

// standardConditions returns the Ready, Reconciling and Stalled conditions of conds, those an outcome
// writes. A writer that applies only these leaves any other condition to the manager that set it.
func standardConditions(conds []metav1.Condition) []metav1.Condition {
	var out []metav1.Condition
	for _, c := range conds {
		switch c.Type {
		case mailshiftv1.ConditionReady, mailshiftv1.ConditionReconciling, mailshiftv1.ConditionStalled:
			out = append(out, c)
		}
	}
	return out
}

// readyReason returns the reason of the current Ready condition, "" when there is none.
func readyReason(conds []metav1.Condition) string {
	if c := meta.FindStatusCondition(conds, mailshiftv1.ConditionReady); c != nil {
		return c.Reason
	}
	return ""
}
