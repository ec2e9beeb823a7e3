// Command manager runs the mailshift operator: the controllers that reconcile MailServers, Mailboxes and
// FolderShares against real IMAP servers.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/controllers"
	"github.com/mailshift/mailshift/internal/egress"
	"github.com/mailshift/mailshift/internal/version"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		os.Exit(runWorker(os.Args[2:], os.Stdout, os.Stderr))
	}
	var (
		metricsAddr   string
		metricsSecure bool
		probeAddr     string
		leaderElect   bool
		leaderNS      string
		exec          controllers.Options
		workerCommand string
		freeBusyAddr  string
		freeBusyNS    string
		allowedHosts  string
		showVersion   bool
		pullSecrets   string
		watchNS       string
	)
	flag.BoolVar(&showVersion, "version", false, "print the version and exit")
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "address of the metrics endpoint; 0 turns it off")
	flag.BoolVar(&metricsSecure, "metrics-secure", true,
		"serve metrics over HTTPS, allowing only callers that the API server authenticates and authorizes for GET /metrics")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz probes")
	flag.BoolVar(&leaderElect, "leader-elect", true, "elect a leader, so that only one replica reconciles at a time")
	flag.StringVar(&leaderNS, "leader-election-namespace", "", "namespace of the leader-election Lease (default: the pod's)")
	flag.StringVar(&exec.Executor, "worker-executor", "job",
		"how migrations run: job (a worker Job per migration; RBAC in config/rbac/jobexecutor) or inprocess (inside this manager, "+
			"for single-machine installs; needs the ConfigMap rights of config/inprocess)")
	flag.StringVar(&exec.WorkerImage, "worker-image", os.Getenv("MAILSHIFT_WORKER_IMAGE"),
		"image of the worker Jobs (default $MAILSHIFT_WORKER_IMAGE); when empty, the image this manager's own Pod runs, "+
			"pinned to its digest, read once at start with $"+podNameEnv+" and $"+podNamespaceEnv+" from the downward API")
	flag.StringVar(&pullSecrets, "worker-image-pull-secrets", "",
		"comma-separated names of Secrets, in each migration's namespace, that worker pods pull their image with")
	flag.StringVar(&watchNS, "watch-namespaces", "",
		"comma-separated namespaces whose objects the manager watches and reconciles; empty watches all")
	flag.StringVar(&workerCommand, "worker-command", "/manager", "the manager binary inside the worker image")
	flag.StringVar(&freeBusyAddr, "freebusy-bind-address", ":8082",
		"address serving FreeBusyPublications with serveHTTP at /freebusy/<namespace>/<name>.vfb; 0 turns it off")
	flag.StringVar(&freeBusyNS, "freebusy-global-names-namespace", "",
		"the one trusted namespace whose FreeBusyPublications are also served at /freebusy/<name>.vfb (Outlook's %NAME%)")
	flag.BoolVar(&exec.AllowHostPathPSTVolumes, "allow-hostpath-pst-volumes", false,
		"let MailboxMigrations read PST files from hostPath volumes (a worker then mounts a directory of its node)")
	flag.StringVar(&exec.InProcessPSTRoot, "inprocess-pst-root", "",
		"directory whose <namespace>/ subdirectory holds the PST files the in-process executor may read for that namespace")
	flag.StringVar(&allowedHosts, "allowed-server-hosts", "",
		"comma-separated host names, *.domain wildcards, IP addresses and CIDR ranges that MailServers, "+
			"MailboxMigrations' IMAP sources and FreeBusyPublications' FTP servers may point at; others are Stalled "+
			"(HostNotAllowed) and never connected to; empty allows all")
	flag.IntVar(&exec.MaxConcurrentReconciles, "max-concurrent-reconciles", controllers.DefaultMaxConcurrentReconciles,
		"objects of each kind reconciled at once (reconciles never wait on a mail server)")
	flag.IntVar(&exec.NetworkWorkers, "network-workers", controllers.DefaultNetworkWorkers,
		"background network checks (logins, ACL changes, calendar reads) running at once, over all kinds; "+
			"each MailServer's spec.limits.maxConnections bounds them further")
	flag.IntVar(&exec.SyncBulkAbove, "sync-bulk-above", controllers.DefaultSyncBulkAbove,
		"source messages a SyncPolicy's first cycle may copy in the manager; above, a MailboxMigration of the "+
			"policy (a worker Job) copies them first; a negative value: the manager copies any first cycle")
	opts := zap.Options{Development: false}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	if showVersion {
		fmt.Println(version.Get().String())
		os.Exit(0)
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")
	v := version.Get()
	log.Info("mailshift manager", "version", v.Version, "commit", v.Commit, "date", v.Date, "go", v.GoVersion, "platform", v.Platform)
	allowed, err := egress.Parse(strings.Split(allowedHosts, ","))
	if err != nil {
		log.Error(err, "bad --allowed-server-hosts")
		os.Exit(2)
	}
	exec.AllowedServerHosts = allowed
	if exec.WorkerImagePullSecrets, err = nameList(pullSecrets, validation.IsDNS1123Subdomain); err != nil {
		log.Error(err, "bad --worker-image-pull-secrets")
		os.Exit(2)
	}
	namespaces, err := nameList(watchNS, validation.IsDNS1123Label)
	if err != nil {
		log.Error(err, "bad --watch-namespaces")
		os.Exit(2)
	}

	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "no kubeconfig")
		os.Exit(1)
	}
	exec.WorkerCommand = []string{workerCommand}
	exec.Metrics = true
	opts2 := managerOptions{metricsAddr: metricsAddr, metricsSecure: metricsSecure, probeAddr: probeAddr, leaderElect: leaderElect,
		leaderNS: leaderNS, controllers: exec, freeBusyAddr: freeBusyAddr, freeBusyNS: freeBusyNS, watchNamespaces: namespaces,
		podName: os.Getenv(podNameEnv), podNamespace: os.Getenv(podNamespaceEnv)}
	if err := run(ctrl.SetupSignalHandler(), cfg, opts2); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}

// Scheme holds the kinds the manager reads and writes.
func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(mailshiftv1.AddToScheme(s))
	return s
}

// managerOptions are the command-line settings of the manager.
type managerOptions struct {
	metricsAddr   string
	metricsSecure bool
	probeAddr     string
	leaderElect   bool
	leaderNS      string
	controllers   controllers.Options
	freeBusyAddr  string
	freeBusyNS    string // namespace allowed the global /freebusy/<name>.vfb path
	// watchNamespaces restricts the cache, and so the reconciled objects, to these namespaces; empty is all.
	watchNamespaces []string
	// The manager's own Pod, whose image the workers run when controllers.WorkerImage is empty.
	podName, podNamespace string
	// anotherManagerInProcess lets tests start several managers in one process: controller names are then
	// not unique, which controller-runtime otherwise refuses (they would share metric series).
	anotherManagerInProcess bool
}

// nameList splits a comma-separated flag value into names, each checked by valid (a Kubernetes name
// validator); blanks around and between commas are ignored.
func nameList(value string, valid func(string) []string) ([]string, error) {
	var names []string
	for _, n := range strings.Split(value, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if errs := valid(n); len(errs) > 0 {
			return nil, fmt.Errorf("%q: %s", n, strings.Join(errs, "; "))
		}
		names = append(names, n)
	}
	return names, nil
}

// run starts the manager and blocks until ctx is cancelled.
func run(ctx context.Context, cfg *rest.Config, o managerOptions) error {
	log := ctrl.Log.WithName("setup")
	if (o.controllers.Executor == "" || o.controllers.Executor == "job") && o.controllers.WorkerImage == "" {
		// Read once, directly: the manager caches no pods, and its image does not change while it runs.
		api, err := client.New(cfg, client.Options{Scheme: newScheme()})
		if err != nil {
			return err
		}
		readCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		image, err := ownWorkerImage(readCtx, api, o.podNamespace, o.podName, statusWait)
		cancel()
		if err != nil {
			return err
		}
		o.controllers.WorkerImage = image
		log.Info("worker image is the manager's own", "image", image)
	}
	metricsOpts := metricsserver.Options{
		BindAddress:   o.metricsAddr,
		SecureServing: o.metricsSecure,
		// HTTP/2 stays off: it has had denial-of-service flaws (CVE-2023-44487) and metrics gain nothing from it.
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }},
	}
	if o.metricsSecure {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  newScheme(),
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  o.probeAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "mailshift-manager.mailshift.io",
		LeaderElectionNamespace: o.leaderNS,
		// Stepping down at once on shutdown lets the next replica take over without waiting out the lease.
		LeaderElectionReleaseOnCancel: true,
		// Namespaces to watch, and Secrets never cached with their contents (see controllers/secrets.go).
		Cache:      controllers.CacheOptions(o.watchNamespaces),
		Client:     controllers.ClientOptions(),
		Controller: config.Controller{SkipNameValidation: ptr.To(o.anotherManagerInProcess)},
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if o.freeBusyAddr != "" && o.freeBusyAddr != "0" {
		// The leader's reconciles write the files to ConfigMaps; every replica serves them from its cache, so
		// a failover or a Service over all replicas keeps answering.
		files := controllers.NewFreeBusyFiles(mgr.GetClient(), mgr.GetCache(), mgr.GetAPIReader())
		files.GlobalNamespace = o.freeBusyNS
		o.controllers.FreeBusyFiles = files
		if err := mgr.Add(files.Server(o.freeBusyAddr, mgr.GetCache())); err != nil {
			return err
		}
	}
	if err := controllers.SetupAll(mgr, o.controllers); err != nil {
		return fmt.Errorf("set up controllers: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	// Liveness stays a ping: a slow API server must not get the manager restarted. Readiness says whether
	// this replica sees the cluster: its cache has synced and the API server answers.
	if err := mgr.AddReadyzCheck("cache", cacheSynced(mgr.GetCache())); err != nil {
		return err
	}
	apiCheck, err := apiServerReachable(cfg)
	if err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("apiserver", apiCheck); err != nil {
		return err
	}
	log.Info("starting manager", "watchNamespaces", o.watchNamespaces)
	return mgr.Start(ctx)
}
