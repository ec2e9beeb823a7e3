package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
)

// recordTransition emits one Event when the Ready reason changes, so `kubectl describe` tells the story of
// an object without repeating itself every resync. The Event reason is the condition reason.
func recordTransition(rec events.EventRecorder, obj runtime.Object, previousReason string, o outcome, action string) {
	if rec == nil || previousReason == o.reason {
		return
	}
	kind := corev1.EventTypeNormal
	if !o.ready && !o.suspended && !inProgress[o.reason] {
		kind = corev1.EventTypeWarning
	}
	rec.Eventf(obj, nil, kind, o.reason, action, "%s", o.message)
}

// inProgress are the reasons of an object that is not Ready because its work is under way, not because
// anything went wrong: a running migration or batch, one waiting for its turn on the server, a first check
// in flight. Their Events are Normal; Warning is kept for what someone may have to look at.
var inProgress = map[string]bool{
	mailshiftv1.ReasonProgressing:      true,
	ReasonWaitingForServer:             true,
	ReasonChecking:                     true,
	mailshiftv1.ReasonFirstSyncRunning: true,
}
