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

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/controllers"
	"github.com/mailshift/mailshift/internal/egress"
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
	)
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
		"image of the worker Jobs: this manager's own image (default $MAILSHIFT_WORKER_IMAGE)")
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
	opts := zap.Options{Development: false}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")
	allowed, err := egress.Parse(strings.Split(allowedHosts, ","))
	if err != nil {
		log.Error(err, "bad --allowed-server-hosts")
		os.Exit(2)
	}
	exec.AllowedServerHosts = allowed

	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "no kubeconfig")
		os.Exit(1)
	}
	exec.WorkerCommand = []string{workerCommand}
	exec.Metrics = true
	opts2 := managerOptions{metricsAddr: metricsAddr, metricsSecure: metricsSecure, probeAddr: probeAddr, leaderElect: leaderElect,
		leaderNS: leaderNS, controllers: exec, freeBusyAddr: freeBusyAddr, freeBusyNS: freeBusyNS}
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
}

// run starts the manager and blocks until ctx is cancelled.
func run(ctx context.Context, cfg *rest.Config, o managerOptions) error {
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
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if o.freeBusyAddr != "" && o.freeBusyAddr != "0" {
		files := controllers.NewFreeBusyFiles()
		files.GlobalNamespace = o.freeBusyNS
		o.controllers.FreeBusyFiles = files
		// A leader-only runnable: only the leader's reconciles fill the files.
		if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error { return files.Serve(ctx, o.freeBusyAddr) })); err != nil {
			return err
		}
	}
	if err := controllers.SetupAll(mgr, o.controllers); err != nil {
		return fmt.Errorf("set up controllers: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	ctrl.Log.WithName("setup").Info("starting manager")
	return mgr.Start(ctx)
}
