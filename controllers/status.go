package controllers

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// writeStatus writes the status subresource when it changed, and only then. It sends the whole status
// (an update, not a diff) so that zero counters such as "0 messages" are stored rather than left out, and
// relies on the resourceVersion: if the object changed meanwhile, the write is refused and the reconcile is
// simply run again on the newer object.
func writeStatus[T client.Object](ctx context.Context, c client.Client, before, after T, status func(T) any) (ctrl.Result, error) {
	if equality.Semantic.DeepEqual(status(before), status(after)) {
		return ctrl.Result{}, nil
	}
	err := c.Status().Update(ctx, after)
	switch {
	case err == nil, apierrors.IsNotFound(err):
		return ctrl.Result{}, nil
	case apierrors.IsConflict(err):
		return ctrl.Result{RequeueAfter: time.Second}, nil
	default:
		return ctrl.Result{}, fmt.Errorf("write status: %w", err)
	}
}
