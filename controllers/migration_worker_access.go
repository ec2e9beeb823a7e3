package controllers

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/migrationrun"
)

// workerName names a migration's worker ServiceAccount, Role and RoleBinding.
func workerName(mig *mailshiftv1.MailboxMigration) string {
	return truncateName(mig.Name, 246) + "-worker"
}

// workerAccess is what a migration's worker runs as: a ServiceAccount of its own, bound to a Role that
// names the migration's objects, and those ConfigMaps made in advance (RBAC cannot limit create by name).
type workerAccess struct {
	serviceAccount *corev1.ServiceAccount
	role           *rbacv1.Role
	binding        *rbacv1.RoleBinding
	configMaps     []*corev1.ConfigMap
}

// workerAccessFor builds the worker's identity for mig; every object is owned by mig and goes with it.
func workerAccessFor(mig *mailshiftv1.MailboxMigration, scheme *runtime.Scheme) (*workerAccess, error) {
	name := workerName(mig)
	labels := map[string]string{labelManagedBy: "mailshift", labelComponent: "worker", labelMigration: migrationrun.LabelValue(mig.Name)}
	meta := func(n string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: mig.Namespace, Name: n, Labels: labels}
	}
	a := &workerAccess{
		serviceAccount: &corev1.ServiceAccount{ObjectMeta: meta(name)},
		role:           &rbacv1.Role{ObjectMeta: meta(name), Rules: migrationrun.WorkerRules(mig.Name, checkpointName(mig), reportName(mig))},
		binding: &rbacv1.RoleBinding{
			ObjectMeta: meta(name),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: mig.Namespace}},
		},
	}
	for _, o := range []client.Object{a.serviceAccount, a.role, a.binding} {
		if err := controllerutil.SetControllerReference(mig, o, scheme); err != nil {
			return nil, err
		}
	}
	// The same owner reference the worker applies, so that its server-side apply shares rather than fights it.
	owner := metav1.OwnerReference{APIVersion: mailshiftv1.GroupVersion.String(), Kind: "MailboxMigration", Name: mig.Name, UID: mig.UID}
	for _, n := range []string{checkpointName(mig), reportName(mig)} {
		cm := &corev1.ConfigMap{ObjectMeta: meta(n)}
		cm.OwnerReferences = []metav1.OwnerReference{owner}
		a.configMaps = append(a.configMaps, cm)
	}
	return a, nil
}

// ensureWorkerAccess makes the migration's worker identity exist before its Job: the ConfigMaps first, so
// that the worker never needs to create anything. An object of the same name that belongs to someone else
// stops the run: the worker would otherwise be given rights to it.
func (e *JobExecutor) ensureWorkerAccess(ctx context.Context, mig *mailshiftv1.MailboxMigration) error {
	a, err := workerAccessFor(mig, e.Client.Scheme())
	if err != nil {
		return err
	}
	for _, cm := range a.configMaps {
		if err := createOwned(ctx, e.Client, cm, &corev1.ConfigMap{}, mig); err != nil {
			return err
		}
	}
	if err := createOwned(ctx, e.Client, a.serviceAccount, &corev1.ServiceAccount{}, mig); err != nil {
		return err
	}
	var role rbacv1.Role
	if err := createOwned(ctx, e.Client, a.role, &role, mig); err != nil {
		return err
	}
	if role.Name != "" && !reflect.DeepEqual(role.Rules, a.role.Rules) {
		// Rules written by an older manager: bring them down to what this one grants.
		role.Rules = a.role.Rules
		if err := e.Client.Update(ctx, &role); err != nil {
			return fmt.Errorf("worker Role %s: %w", role.Name, err)
		}
	}
	return createOwned(ctx, e.Client, a.binding, &rbacv1.RoleBinding{}, mig)
}

// createOwned creates obj, or finds it already there; existing is filled with what exists then. An existing
// object must be owned by mig.
func createOwned(ctx context.Context, c client.Client, obj, existing client.Object, mig *mailshiftv1.MailboxMigration) error {
	kind := fmt.Sprintf("%T", obj)
	kind = kind[strings.LastIndexByte(kind, '.')+1:]
	err := c.Create(ctx, obj)
	if err == nil {
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("worker %s %s: %w", kind, obj.GetName(), err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), existing); err != nil {
		return fmt.Errorf("worker %s %s: %w", kind, obj.GetName(), err)
	}
	for _, o := range existing.GetOwnerReferences() {
		if o.UID == mig.UID {
			return nil
		}
	}
	return &refError{mailshiftv1.ReasonInvalidSpec, fmt.Sprintf(
		"%s %s already exists and does not belong to this MailboxMigration: rename the migration or remove it", kind, obj.GetName()), true}
}
