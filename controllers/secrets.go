package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// How the manager keeps Secrets out of its memory.
//
// The controllers read a handful of Secrets (credentials, CA bundles) that the custom resources name, but
// a typed watch of Secrets would make the cache list and hold every Secret of every watched namespace, with
// its contents, for the life of the process. Instead:
//
//   - every read of a Secret goes to the API server (secretsFromAPI, and ClientOptions for the manager's
//     own client): one GET when a reconcile needs a value, nothing kept afterwards;
//   - the watches that wake an object when its Secret changes are metadata-only (secretMetadata), so the
//     informer lists and watches PartialObjectMetadata, never data;
//   - what that informer stores is cut down to the Secret's identity (CacheOptions' transform), because
//     metadata is not harmless: `kubectl apply` copies a whole Secret, data included, into the
//     last-applied-configuration annotation.
//
// A label-selected cache was the other choice; it would make users label every Secret they already have
// and silently ignore the ones they forget, where metadata watches keep every existing reference working.
//
// RBAC stays get (the reads), list and watch (the metadata informer) on Secrets: a metadata list is still a
// list to the API server's authorizer. The markers sit on the reconcilers that read Secrets.

// secretMetadata makes a Secret watch metadata-only.
var secretMetadata = builder.OnlyMetadata

// secretsFromAPI is the controllers' client with Secret reads sent to the API server instead of the cache.
// SetupAll gives it to every reconciler, so that no code path can start a typed Secret informer, whatever
// cache options the manager was built with.
type secretsFromAPI struct {
	client.Client
	api client.Reader
}

func uncachedSecrets(mgr ctrl.Manager) client.Client {
	return secretsFromAPI{Client: mgr.GetClient(), api: mgr.GetAPIReader()}
}

func (c secretsFromAPI) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*corev1.Secret); ok {
		return c.api.Get(ctx, key, obj, opts...)
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

func (c secretsFromAPI) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if _, ok := list.(*corev1.SecretList); ok {
		return c.api.List(ctx, list, opts...)
	}
	return c.Client.List(ctx, list, opts...)
}

// ClientOptions are the manager client settings the controllers are built for: Secrets are never read
// from the cache (see above), nor ConfigMaps (the cache holds only the free/busy files' and the client
// configurations' ones, see CacheOptions: a read of any other, such as a migration's checkpoint, goes to the
// API server).
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}}}
}

// CacheOptions are the manager cache settings the controllers are built for. namespaces, when not empty,
// restricts every informer to those namespaces (objects elsewhere are neither seen nor reconciled); the
// Secret informer's entries keep only the Secret's identity; the ConfigMap informer holds only the
// ConfigMaps of served free/busy files (freebusy_store.go), which every replica answers HTTP from, and of
// the Mailboxes' client configurations (clientconfig_controller.go), whose changes it watches.
func CacheOptions(namespaces []string) cache.Options {
	o := cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.Secret{}:    {Transform: secretIdentityOnly},
		&corev1.ConfigMap{}: {Label: cachedConfigMaps()},
	}}
	if len(namespaces) > 0 {
		o.DefaultNamespaces = make(map[string]cache.Config, len(namespaces))
		for _, ns := range namespaces {
			o.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return o
}

// secretIdentityOnly is the Secret informer's transform: name, namespace, UID and resourceVersion are all
// the change triggers use. It drops labels, annotations (last-applied-configuration may hold the data),
// managed fields and, should a typed Secret ever reach it, data.
func secretIdentityOnly(in any) (any, error) {
	identity := func(m *metav1.ObjectMeta) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: m.Namespace, Name: m.Name, UID: m.UID, ResourceVersion: m.ResourceVersion,
			DeletionTimestamp: m.DeletionTimestamp}
	}
	switch o := in.(type) {
	case *metav1.PartialObjectMetadata:
		return &metav1.PartialObjectMetadata{TypeMeta: o.TypeMeta, ObjectMeta: identity(&o.ObjectMeta)}, nil
	case *corev1.Secret:
		return &corev1.Secret{TypeMeta: o.TypeMeta, ObjectMeta: identity(&o.ObjectMeta), Type: o.Type}, nil
	}
	return in, nil
}
