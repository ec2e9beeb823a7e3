package controllers

import (
	"context"
	"fmt"
	goruntime "runtime"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/connlimit"
	"github.com/mailshift/mailshift/internal/egress"
	"github.com/mailshift/mailshift/internal/enginemetrics"
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

// Options choose how migrations run.
type Options struct {
	// Executor is "job" (worker Jobs, the default) or "inprocess" (inside the manager).
	Executor string
	// The Job executor's worker: image and command (the manager binary in the image). Each migration's
	// worker runs as a ServiceAccount of its own (see ensureWorkerAccess).
	WorkerImage   string
	WorkerCommand []string
	// WorkerImagePullSecrets name Secrets, in each migration's namespace, that the worker pods pull their
	// image with (the pod spec's imagePullSecrets).
	WorkerImagePullSecrets []string
	// InProcessRetryBackoff is the in-process executor's first retry wait (default 10 s).
	InProcessRetryBackoff time.Duration
	// InProcessPSTRoot confines the in-process executor: a namespace's PST files are read only from
	// <root>/<namespace>/. Empty means it reads none.
	InProcessPSTRoot string
	// AllowHostPathPSTVolumes lets a PST source use a hostPath volume (off: a tenant could otherwise read
	// any directory of any node through a worker).
	AllowHostPathPSTVolumes bool
	// FreeBusyFiles are the free/busy files the manager serves over HTTP; nil when it serves none.
	FreeBusyFiles *FreeBusyFiles
	// Now is the clock free/busy windows are cut from; nil means time.Now. Tests pin it so that their
	// windows (and daylight-saving changes inside them) do not move with the calendar.
	Now func() time.Time
	// Metrics registers the migration metrics with controller-runtime's registry (off in tests that start
	// more than one manager in a process).
	Metrics bool
	// AllowedServerHosts limits the hosts MailServers, MailboxMigrations' IMAP sources and
	// FreeBusyPublications' FTP servers may point at (host names, *.domain, IP addresses, CIDR ranges; see
	// package egress); nil or empty allows all. An object pointing elsewhere is Stalled with reason
	// HostNotAllowed and nothing connects there.
	AllowedServerHosts *egress.AllowList
	// MaxConcurrentReconciles is how many objects of each kind are reconciled at once (default
	// DefaultMaxConcurrentReconciles). Reconciles never wait on a mail server, so a few suffice.
	MaxConcurrentReconciles int
	// NetworkWorkers bounds the background network checks (logins, ACL changes, calendar reads) running at
	// once in the manager, over all kinds (default DefaultNetworkWorkers). Each server's
	// spec.limits.maxConnections bounds them further per server.
	NetworkWorkers int
	// Connections is the per-server connection limiter shared by the checks and in-process migration runs;
	// nil makes a new one.
	Connections *connlimit.Limiter
	// SyncBulkAbove is how many source messages a SyncPolicy's first cycle may copy in the manager; above,
	// a MailboxMigration copies them first. 0 means DefaultSyncBulkAbove, a negative value no limit.
	SyncBulkAbove int
}

// Defaults of Options.MaxConcurrentReconciles and Options.NetworkWorkers.
var (
	DefaultMaxConcurrentReconciles = max(4, 2*goruntime.GOMAXPROCS(0))
	DefaultNetworkWorkers          = 32
)

// controllerOptions are the options every controller is built with.
func controllerOptions(opts Options) controller.Options {
	n := opts.MaxConcurrentReconciles
	if n <= 0 {
		n = DefaultMaxConcurrentReconciles
	}
	return controller.Options{MaxConcurrentReconciles: n}
}

// mailboxChangedForShares lets through the Mailbox changes a FolderShare or FreeBusyPublication depends on:
// its spec, its readiness and its special folders. The Mailbox's periodic status writes (lastCheckTime,
// message counts) do not wake them: they would log in again for nothing.
var mailboxChangedForShares = builder.WithPredicates(predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*mailshiftv1.Mailbox)
		cur, okNew := e.ObjectNew.(*mailshiftv1.Mailbox)
		if !okOld || !okNew {
			return true
		}
		readyOf := func(m *mailshiftv1.Mailbox) metav1.ConditionStatus {
			if c := meta.FindStatusCondition(m.Status.Conditions, mailshiftv1.ConditionReady); c != nil {
				return c.Status
			}
			return metav1.ConditionUnknown
		}
		return old.Generation != cur.Generation || readyOf(old) != readyOf(cur) ||
			!equality.Semantic.DeepEqual(old.Status.SpecialFolders, cur.Status.SpecialFolders) ||
			!equality.Semantic.DeepEqual(old.Annotations, cur.Annotations)
	},
})

// SetupAll registers every controller with the manager.
func SetupAll(mgr ctrl.Manager, opts Options) error {
	ctx := context.Background()
	allowedServerHosts = opts.AllowedServerHosts
	tokenSources.writer = mgr.GetClient()
	if opts.Connections == nil {
		opts.Connections = connlimit.New()
	}
	pool := newCheckPool(opts.Connections, opts.NetworkWorkers)
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
		spec := o.(*mailshiftv1.Mailbox).Spec
		var names []string
		if ref := spec.CredentialsSecretRef; ref != nil {
			names = append(names, ref.Name)
		}
		if o := spec.OAuth2; o != nil {
			for _, ref := range []*mailshiftv1.SecretKeyRef{o.TokenSecretRef, o.RefreshTokenSecretRef} {
				if ref != nil {
					names = append(names, ref.Name)
				}
			}
			if o.ClientSecretRef != nil {
				names = append(names, o.ClientSecretRef.Name)
			}
		}
		return names
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

	c := uncachedSecrets(mgr)
	msr := &MailServerReconciler{Client: c, Recorder: mgr.GetEventRecorder("mailshift-mailserver"),
		checks: newNetChecks(pool, func(err error) serverCheck { return serverCheck{o: outcomeOf(err)} })}
	if err := ctrl.NewControllerManagedBy(mgr).Named("mailserver").WithOptions(controllerOptions(opts)).
		For(&mailshiftv1.MailServer{}, specChanged).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(usersOf(c, &mailshiftv1.MailServerList{}, indexSecrets, sameNamespaceName)), secretMetadata).
		WatchesRawSource(msr.checks.source()).
		Complete(msr); err != nil {
		return err
	}
	mbr := &MailboxReconciler{Client: c, Recorder: mgr.GetEventRecorder("mailshift-mailbox"),
		checks: newNetChecks(pool, func(err error) mailboxCheck { return mailboxCheck{o: outcomeOf(err)} })}
	if err := ctrl.NewControllerManagedBy(mgr).Named("mailbox").WithOptions(controllerOptions(opts)).
		For(&mailshiftv1.Mailbox{}, specChanged).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(usersOf(c, &mailshiftv1.MailboxList{}, indexSecrets, sameNamespaceName)), secretMetadata).
		Watches(&mailshiftv1.MailServer{}, handler.EnqueueRequestsFromMapFunc(usersOf(c, &mailshiftv1.MailboxList{}, indexServer, anyNamespaceKey)), specChanged).
		WatchesRawSource(mbr.checks.source()).
		Complete(mbr); err != nil {
		return err
	}
	fsr := &FolderShareReconciler{Client: c, Recorder: mgr.GetEventRecorder("mailshift-foldershare"),
		checks: newNetChecks(pool, func(err error) shareCheck { return shareCheck{o: outcomeOf(err)} })}
	if err := ctrl.NewControllerManagedBy(mgr).Named("foldershare").WithOptions(controllerOptions(opts)).
		For(&mailshiftv1.FolderShare{}, specChanged).
		Watches(&mailshiftv1.Mailbox{}, handler.EnqueueRequestsFromMapFunc(usersOf(c, &mailshiftv1.FolderShareList{}, indexMailboxRef, sameNamespaceName)), mailboxChangedForShares).
		WatchesRawSource(fsr.checks.source()).
		Complete(fsr); err != nil {
		return err
	}
	if err := setupFreeBusy(ctx, mgr, opts, pool); err != nil {
		return err
	}
	if err := setupClientConfig(mgr, opts); err != nil {
		return err
	}
	if err := setupSync(ctx, mgr, opts, pool); err != nil {
		return err
	}
	return setupMigrations(ctx, mgr, opts)
}

// setupFreeBusy registers the FreeBusyPublication controller, woken by its Mailbox and Secrets too.
func setupFreeBusy(ctx context.Context, mgr ctrl.Manager, opts Options, pool *checkPool) error {
	c := uncachedSecrets(mgr)
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &mailshiftv1.FreeBusyPublication{}, indexMailboxRef, func(o client.Object) []string {
		return []string{o.(*mailshiftv1.FreeBusyPublication).Spec.MailboxRef.Name}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &mailshiftv1.FreeBusyPublication{}, indexSecrets, func(o client.Object) []string {
		ftp := o.(*mailshiftv1.FreeBusyPublication).Spec.FTP
		names := []string{ftp.CredentialsSecretRef.Name}
		if ftp.CABundle != nil {
			names = append(names, ftp.CABundle.Name)
		}
		return names
	}); err != nil {
		return err
	}
	fbr := &FreeBusyReconciler{Client: c, Recorder: mgr.GetEventRecorder("mailshift-freebusy"), Files: opts.FreeBusyFiles, Now: opts.Now,
		checks: newNetChecks(pool, func(err error) freeBusyCheck { return freeBusyCheck{o: calendarOutcome(err)} })}
	return ctrl.NewControllerManagedBy(mgr).Named("freebusypublication").WithOptions(controllerOptions(opts)).
		For(&mailshiftv1.FreeBusyPublication{}, specChanged).
		Watches(&mailshiftv1.Mailbox{}, handler.EnqueueRequestsFromMapFunc(usersOf(c, &mailshiftv1.FreeBusyPublicationList{}, indexMailboxRef, sameNamespaceName)), specChanged).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(usersOf(c, &mailshiftv1.FreeBusyPublicationList{}, indexSecrets, sameNamespaceName)), secretMetadata).
		WatchesRawSource(fbr.checks.source()).
		Complete(fbr)
}

// setupSync registers the SyncPolicy controller, woken by its Mailboxes too.
func setupSync(ctx context.Context, mgr ctrl.Manager, opts Options, pool *checkPool) error {
	c := uncachedSecrets(mgr)
	if err := mgr.GetFieldIndexer().IndexField(ctx, &mailshiftv1.SyncPolicy{}, indexMailboxRef, func(o client.Object) []string {
		sp := o.(*mailshiftv1.SyncPolicy)
		return []string{sp.Spec.SourceRef.Name, sp.Spec.TargetRef.Name}
	}); err != nil {
		return err
	}
	spr := &SyncPolicyReconciler{Client: c, Recorder: mgr.GetEventRecorder("mailshift-sync"), BulkAbove: syncBulkAbove(opts.SyncBulkAbove),
		checks: newNetChecks(pool, func(err error) syncCycleResult { return syncCycleResult{o: outcomeOf(err), started: time.Now()} })}
	return ctrl.NewControllerManagedBy(mgr).Named("syncpolicy").WithOptions(controllerOptions(opts)).
		For(&mailshiftv1.SyncPolicy{}, specChanged).
		Watches(&mailshiftv1.Mailbox{}, handler.EnqueueRequestsFromMapFunc(usersOf(c, &mailshiftv1.SyncPolicyList{}, indexMailboxRef, sameNamespaceName)), specChanged).
		Owns(&mailshiftv1.MailboxMigration{}).
		WatchesRawSource(spr.checks.source()).
		Complete(spr)
}

// setupMigrations registers the MailboxMigration and MigrationBatch controllers with the chosen executor.
func setupMigrations(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	c := uncachedSecrets(mgr)
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &mailshiftv1.MailboxMigration{}, indexMailboxRef, func(o client.Object) []string {
		return []string{o.(*mailshiftv1.MailboxMigration).Spec.MailboxRef.Name}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &mailshiftv1.MailboxMigration{}, indexSecrets, func(o client.Object) []string {
		var names []string
		if im := o.(*mailshiftv1.MailboxMigration).Spec.Source.IMAP; im != nil {
			if im.CredentialsSecretRef != nil {
				names = append(names, im.CredentialsSecretRef.Name)
			}
			if im.TokenSecretRef != nil {
				names = append(names, im.TokenSecretRef.Name)
			}
			if im.CABundle != nil {
				names = append(names, im.CABundle.Name)
			}
		}
		return names
	}); err != nil {
		return err
	}
	metrics := NewMigrationMetrics(mgr.GetCache())
	progress := NewMigrationProgressCounters()
	if err := progress.Watch(ctx, mgr.GetCache()); err != nil {
		return err
	}
	mr := &MigrationReconciler{Client: c, Recorder: mgr.GetEventRecorder("mailshift-migration"), Metrics: metrics,
		AllowHostPathPSTVolumes: opts.AllowHostPathPSTVolumes}
	b := ctrl.NewControllerManagedBy(mgr).Named("mailboxmigration").WithOptions(controllerOptions(opts)).
		For(&mailshiftv1.MailboxMigration{}, specChanged).
		Watches(&mailshiftv1.Mailbox{}, handler.EnqueueRequestsFromMapFunc(usersOf(c, &mailshiftv1.MailboxMigrationList{}, indexMailboxRef, sameNamespaceName))).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(usersOf(c, &mailshiftv1.MailboxMigrationList{}, indexSecrets, sameNamespaceName)), secretMetadata)
	switch opts.Executor {
	case "", "job":
		if opts.WorkerImage == "" {
			return fmt.Errorf("the job executor needs a worker image (--worker-image)")
		}
		pullSecrets, err := imagePullSecrets(opts.WorkerImagePullSecrets)
		if err != nil {
			return err
		}
		mr.Executor = &JobExecutor{Client: c, APIReader: mgr.GetAPIReader(), Image: opts.WorkerImage, Command: opts.WorkerCommand,
			ImagePullSecrets: pullSecrets}
		b = b.Owns(&batchv1.Job{})
	case "inprocess":
		wm := enginemetrics.New()
		if opts.Metrics {
			ctrlmetrics.Registry.MustRegister(wm.Collectors()...)
		}
		// The worker code reads its checkpoint ConfigMap once a run: uncached, so that the manager needs no
		// list and watch of every ConfigMap in the cluster (config/inprocess grants get, create and patch).
		direct, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()})
		if err != nil {
			return err
		}
		ex := &InProcessExecutor{Client: direct, Reader: mgr.GetAPIReader(), Metrics: wm, RetryBackoff: opts.InProcessRetryBackoff,
			PSTRoot: opts.InProcessPSTRoot, Connections: opts.Connections}
		mr.Executor = ex
		b = b.WatchesRawSource(source.Channel(ex.Events(), &handler.EnqueueRequestForObject{}))
	default:
		return fmt.Errorf("unknown worker executor %q: job or inprocess", opts.Executor)
	}
	if opts.Metrics {
		ctrlmetrics.Registry.MustRegister(ManagerCollectors(mgr.GetCache(), metrics, progress)...)
	}
	if err := b.Complete(mr); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).Named("migrationbatch").WithOptions(controllerOptions(opts)).
		For(&mailshiftv1.MigrationBatch{}, specChanged).
		Owns(&mailshiftv1.MailboxMigration{}).
		Watches(&mailshiftv1.Mailbox{}, handler.EnqueueRequestsFromMapFunc(batchesIn(c))).
		Complete(&BatchReconciler{Client: c, APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("mailshift-batch")})
}

// batchesIn maps a Mailbox to every MigrationBatch of its namespace: a label change may add it to any.
func batchesIn(c client.Client) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var l mailshiftv1.MigrationBatchList
		if err := c.List(ctx, &l, client.InNamespace(o.GetNamespace())); err != nil {
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(l.Items))
		for _, b := range l.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: b.Namespace, Name: b.Name}})
		}
		return reqs
	}
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

// imagePullSecrets checks the worker's pull Secret names (DNS-1123 subdomains, as every Secret name is) and
// turns them into pod spec references.
func imagePullSecrets(names []string) ([]corev1.LocalObjectReference, error) {
	var refs []corev1.LocalObjectReference
	for _, n := range names {
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
			return nil, fmt.Errorf("worker image pull Secret %q is not a valid Secret name: %s", n, strings.Join(errs, "; "))
		}
		refs = append(refs, corev1.LocalObjectReference{Name: n})
	}
	return refs, nil
}

func syncBulkAbove(n int) int {
	switch {
	case n == 0:
		return DefaultSyncBulkAbove
	case n < 0:
		return 0
	}
	return n
}
