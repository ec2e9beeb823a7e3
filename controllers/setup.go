package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
)

// Field indexes that let a change to a Secret, MailServer or Mailbox wake exactly the objects that use it.
const (
	indexSecrets    = ".mailshift.secrets"    // Secret names an object reads
	indexServer     = ".mailshift.server"     // namespace/name of a Mailbox's MailServer
	indexMailboxRef = ".mailshift.mailboxRef" // name of a FolderShare's Mailbox
)

// specChanged lets through spec changes (generation), deletions and annotation edits, but not the
// controller's own status writes: periodic checks come from RequeueAfter, not from watching ourselves.
var specChanged = builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))

// SetupAll registers every controller of this scope with the manager.
func SetupAll(mgr ctrl.Manager) error {
	ctx := context.Background()
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &mailshiftv1.MailServer{}, indexSecrets, func(o client.Object) []string {
		s := o.(*mailshiftv1.MailServer)
		var names []string
		if s.Spec.Admin != nil {
			names = append(names, s.Spec.Admin.SecretRef.Name)
		}
		if s.Spec.CABundle != nil {
			names = append(names, s.Spec.CABundle.Name)
		}
		return names
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &mailshiftv1.Mailbox{}, indexSecrets, func(o client.Object) []string {
		if ref := o.(*mailshiftv1.Mailbox).Spec.CredentialsSecretRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &mailshiftv1.Mailbox{}, indexServer, func(o client.Object) []string {
		m := o.(*mailshiftv1.Mailbox)
		return []string{orDefault(m.Spec.ServerRef.Namespace, m.Namespace) + "/" + m.Spec.ServerRef.Name}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &mailshiftv1.FolderShare{}, indexMailboxRef, func(o client.Object) []string {
		return []string{o.(*mailshiftv1.FolderShare).Spec.MailboxRef.Name}
	}); err != nil {
		return err
	}

	c := mgr.GetClient()
	if err := ctrl.NewControllerManagedBy(mgr).Named("mailserver").
		For(&mailshiftv1.MailServer{}, specChanged).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(usersOf(c, &mailshiftv1.MailServerList{}, indexSecrets, sameNamespaceName))).
		Complete(&MailServerReconciler{Client: c, Recorder: mgr.GetEventRecorder("mailshift-mailserver")}); err != nil {
		return err
	}
	if err := ctrl.NewControllerManagedBy(mgr).Named("mailbox").
		For(&mailshiftv1.Mailbox{}, specChanged).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(usersOf(c, &mailshiftv1.MailboxList{}, indexSecrets, sameNamespaceName))).
		Watches(&mailshiftv1.MailServer{}, handler.EnqueueRequestsFromMapFunc(usersOf(c, &mailshiftv1.MailboxList{}, indexServer, anyNamespaceKey)), specChanged).
		Complete(&MailboxReconciler{Client: c, Recorder: mgr.GetEventRecorder("mailshift-mailbox")}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).Named("foldershare").
		For(&mailshiftv1.FolderShare{}, specChanged).
		Watches(&mailshiftv1.Mailbox{}, handler.EnqueueRequestsFromMapFunc(usersOf(c, &mailshiftv1.FolderShareList{}, indexMailboxRef, sameNamespaceName))).
		Complete(&FolderShareReconciler{Client: c, Recorder: mgr.GetEventRecorder("mailshift-foldershare")})
}

// A lookup says how a changed object is found in an index, and in which namespace to look.
type lookup func(o client.Object) (namespace, key string)

func sameNamespaceName(o client.Object) (string, string) { return o.GetNamespace(), o.GetName() }

// anyNamespaceKey finds users in every namespace: Mailboxes may refer to a MailServer elsewhere.
func anyNamespaceKey(o client.Object) (string, string) {
	return "", o.GetNamespace() + "/" + o.GetName()
}

// usersOf maps a changed object to the objects of list's kind whose index field names it.
func usersOf[L client.ObjectList](c client.Client, list L, field string, find lookup) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		ns, key := find(o)
		l := list.DeepCopyObject().(client.ObjectList)
		opts := []client.ListOption{client.MatchingFields{field: key}}
		if ns != "" {
			opts = append(opts, client.InNamespace(ns))
		}
		if err := c.List(ctx, l, opts...); err != nil {
			return nil
		}
		var reqs []reconcile.Request
		_ = meta.EachListItem(l, func(item runtime.Object) error {
			if obj, ok := item.(client.Object); ok {
				reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}})
			}
			return nil
		})
		return reqs
	}
}
