package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
)

// recordTransition emits one Event when the Ready reason changes, so `kubectl describe` tells the story of
// an object without repeating itself every resync. The Event reason is the condition reason.
func recordTransition(rec events.EventRecorder, obj runtime.Object, previousReason string, o outcome, action string) {
	if rec == nil || previousReason == o.reason {
		return
	}
	kind := corev1.EventTypeNormal
	if !o.ready && !o.suspended {
		kind = corev1.EventTypeWarning
	}
	rec.Eventf(obj, nil, kind, o.reason, action, "%s", o.message)
}
