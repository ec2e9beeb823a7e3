// Package v1 contains the mailshift.io/v1 API: mail servers, mailboxes, folder shares, migrations, sync
// policies and free/busy publication, declared as Kubernetes objects.
// +kubebuilder:object:generate=true
// +groupName=mailshift.io
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every mailshift kind.
	GroupVersion = schema.GroupVersion{Group: "mailshift.io", Version: "v1"}

	// SchemeBuilder registers the mailshift kinds with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the mailshift kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
