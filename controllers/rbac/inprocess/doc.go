// Package inprocess holds only the RBAC markers of what the manager needs to run migrations itself
// (--worker-executor=inprocess); `make generate` turns them into the ClusterRole mailshift-manager-inprocess
// in config/inprocess, the kustomize overlay that installs the manager that way. The in-process worker
// writes its checkpoint and report ConfigMaps with server-side apply, which creates them on first write.
package inprocess

// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;create;patch
