// Package jobexecutor holds only the RBAC markers of what the manager needs to run migrations as worker
// Jobs (the default executor); `make generate` turns them into the ClusterRole mailshift-manager-jobs in
// config/rbac/jobexecutor. They live apart from the controllers' markers so that a manager running the
// in-process executor is not given them.
//
// For each migration the manager creates the worker's checkpoint and report ConfigMaps (RBAC cannot limit
// create by name, so the worker is never given create), a ServiceAccount, a Role naming those ConfigMaps
// and the MailboxMigration, and its RoleBinding. Kubernetes lets a Role grant only what its creator holds,
// which is why the manager itself needs get and patch on ConfigMaps; it needs no list, watch, update or
// delete of them (the garbage collector removes them with their MailboxMigration).
package jobexecutor

// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;create
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;create;patch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles,verbs=get;create;update
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings,verbs=get;create
