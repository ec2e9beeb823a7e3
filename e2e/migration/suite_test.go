// Package migration_test runs MailboxMigrations and MigrationBatches end to end on a real local cluster:
// etcd, kube-apiserver and kube-controller-manager built from source (e2e/cluster), the process-based
// stand-in for the kubelet (e2e/processkubelet) running worker pods as processes of the real manager binary,
// the mailshift manager, and a real Dovecot.
package migration_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/mailshift/mailshift/controllers"
	"github.com/mailshift/mailshift/e2e/cluster"
	"github.com/mailshift/mailshift/e2e/processkubelet"
	"github.com/mailshift/mailshift/internal/testenv"
)

var (
	kc      *cluster.Cluster
	kubelet *processkubelet.Kubelet
	// managerBin is the manager binary built for this run: the worker pods run its `worker` subcommand.
	managerBin string
	logs       syncBuffer
	// pstRoot is the in-process executor's root of the running manager: <pstRoot>/<namespace>/.
	pstRoot string
)

const workerImage = "ghcr.io/mailshift/mailshift:e2e"

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(&logs), zap.UseDevMode(true)))
	dir, err := os.MkdirTemp("", "mailshift-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	managerBin = filepath.Join(dir, "manager")
	build := exec.Command("go", "build", "-o", managerBin, "./cmd/manager")
	build.Dir = testenv.RepoRoot()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the manager: %v\n%s", err, out)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	startCtx, startCancel := context.WithTimeout(ctx, 3*time.Minute)
	defer startCancel()
	kc, err = cluster.Start(startCtx, cluster.Options{Dir: filepath.Join(dir, "cluster")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer kc.Stop()
	kubelet, err = processkubelet.New(processkubelet.Options{
		Config: kc.Config, WorkDir: filepath.Join(dir, "kubelet"),
		Binaries:       map[string]string{"/manager": managerBin},
		MaxGracePeriod: 10 * time.Second,
	})
	if err == nil {
		err = kubelet.Start(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubelet:", err)
		return 1
	}
	defer kubelet.Stop()
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- manager log (last 8000 bytes) ---\n%s\n--- kube-controller-manager log ---\n%s\n",
			tail(logs.String(), 8000), kc.ControllerManagerLogTail(40))
	}
	return code
}

// startManager runs the mailshift manager with the given executor until the test ends. Tests run one at a
// time, each with its own manager, so that the executor can differ.
func startManager(t *testing.T, executor string) {
	t.Helper()
	mgr, err := ctrl.NewManager(kc.Config, ctrl.Options{
		Scheme:                 kc.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Every test starts a manager of its own in this process; their controllers share names.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	pstRoot = t.TempDir()
	opts := controllers.Options{Executor: executor, WorkerImage: workerImage, WorkerCommand: []string{"/manager"},
		InProcessRetryBackoff: time.Second, InProcessPSTRoot: pstRoot}
	if err := controllers.SetupAll(mgr, opts); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}
