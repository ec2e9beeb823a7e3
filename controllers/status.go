package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/csaupgrade"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Field managers: every writer of a status applies the fields it owns under its own name, so the API server
// merges the writers' claims instead of one writer's whole-object update overwriting (or conflicting with)
// another's. The worker's name, migrationrun.FieldManager ("mailshift-worker"), owns status.progress of a
// MailboxMigration.
const (
	fieldManagerMailServer  = "mailshift-mailserver-controller"
	fieldManagerMailbox     = "mailshift-mailbox-controller"
	fieldManagerFolderShare = "mailshift-foldershare-controller"
	fieldManagerFreeBusy    = "mailshift-freebusy-controller"
	fieldManagerMigration   = "mailshift-migration-controller"
	fieldManagerBatch       = "mailshift-batch-controller"
	fieldManagerSync        = "mailshift-syncpolicy-controller"
)

// writeStatus applies the status fields manager owns, when they changed, and only then. owned returns those
// fields of an object (the whole status for most kinds; a MailboxMigration's without the worker's progress).
//
// The write is a server-side apply with forced ownership and no resourceVersion: it cannot conflict with the
// worker's progress writes, and it never sends a field this writer does not own. A field that manager owned
// before and that owned now leaves out is removed by the API server; fields other managers own are kept.
// Conditions are a map keyed by type (listType=map), so each condition belongs to the manager that wrote it.
func writeStatus[T client.Object](ctx context.Context, c client.Client, manager string, before, after T, owned func(T) any) (ctrl.Result, error) {
	if equality.Semantic.DeepEqual(owned(before), owned(after)) {
		return ctrl.Result{}, nil
	}
	err := adoptStatusFields(ctx, c, manager, after)
	if err == nil {
		err = applyStatus(ctx, c, manager, after, owned(after), false)
	}
	switch {
	case err == nil, apierrors.IsNotFound(err):
		return ctrl.Result{}, nil
	case apierrors.IsConflict(err):
		return ctrl.Result{RequeueAfter: time.Second}, nil
	default:
		return ctrl.Result{}, fmt.Errorf("write status: %w", err)
	}
}

// legacyStatusManagers are the field managers of status written by whole-object updates before each writer
// had a name of its own: the client's default, the program's file name ("manager" in the image).
var legacyStatusManagers = sets.New("manager", filepath.Base(os.Args[0]))

// adoptStatusFields hands the status fields an older manager wrote by update over to manager, once, before
// manager's first apply. Without it such a field would stay owned by a writer that no longer exists, and a
// field this writer stops setting (a completion time cleared by a new run) would never be removed.
func adoptStatusFields(ctx context.Context, c client.Client, manager string, obj client.Object) error {
	patch, err := csaupgrade.UpgradeManagedFieldsPatch(obj, legacyStatusManagers, manager, csaupgrade.Subresource("status"))
	if err != nil || patch == nil {
		return err
	}
	// The patch replaces managedFields on the object itself and carries the resourceVersion read: a changed
	// object answers with a conflict and the reconcile runs again. It is sent on a copy, so that the status
	// being written is not replaced by the one stored.
	cp := obj.DeepCopyObject().(client.Object)
	if err := c.Patch(ctx, cp, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return fmt.Errorf("take over status fields written by update: %w", err)
	}
	obj.SetResourceVersion(cp.GetResourceVersion())
	obj.SetManagedFields(cp.GetManagedFields())
	return nil
}

// applyStatus applies status (the fields manager owns) to obj's status subresource. With ifUnchanged, the
// write carries obj's resourceVersion and is refused with a conflict when the object changed since it was
// read: for a write that must not be made from a stale view (a record kept before acting on a server).
// On success obj takes the new resourceVersion.
func applyStatus(ctx context.Context, c client.Client, manager string, obj client.Object, status any, ifUnchanged bool) error {
	gvk, err := apiutil.GVKForObject(obj, c.Scheme())
	if err != nil {
		return err
	}
	fields, err := toFields(status)
	if err != nil {
		return fmt.Errorf("status of %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"status": fields}}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(obj.GetNamespace())
	u.SetName(obj.GetName())
	if ifUnchanged {
		u.SetResourceVersion(obj.GetResourceVersion())
	}
	if err := c.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(manager), client.ForceOwnership); err != nil {
		return err
	}
	obj.SetResourceVersion(u.GetResourceVersion())
	return nil
}

// toFields turns a status value into its JSON object form, the shape an apply request carries. Integers stay
// int64 (a byte counter above 2^53 must not pass through a float).
func toFields(status any) (map[string]any, error) {
	b, err := json.Marshal(status)
	if err != nil {
		return nil, err
	}
	fields := map[string]any{}
	if err := utiljson.Unmarshal(b, &fields); err != nil {
		return nil, err
	}
	return fields, nil
}
