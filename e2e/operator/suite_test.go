// Package operator_test runs the operator end to end on a real local cluster: etcd, kube-apiserver and
// kube-controller-manager built from source (e2e/cluster), the process-based stand-in for the kubelet
// (e2e/processkubelet) running worker pods from mailshift's real image (built by hack/imagebuild, pushed to
// go-containerregistry's registry on loopback, pulled and unpacked by the kubelet), the mailshift manager,
// and a real Dovecot. It covers MailboxMigrations, MigrationBatches, and SyncPolicies across a manager
// restart.
package operator_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/mailshift/mailshift/controllers"
	"github.com/mailshift/mailshift/e2e/cluster"
	"github.com/mailshift/mailshift/e2e/processkubelet"
	"github.com/mailshift/mailshift/hack/imagebuild"
	"github.com/mailshift/mailshift/internal/testenv"
)

var (
	kc      *cluster.Cluster
	kubelet *processkubelet.Kubelet
	// workerImage is mailshift's image built for this run, in the registry on loopback: the worker pods run
	// its /manager's `worker` subcommand. workerImageID is repository@digest, as the kubelet reports it.
	workerImage, workerImageID string
	logs                       syncBuffer
	// pstRoot is the in-process executor's root of the running manager: <pstRoot>/<namespace>/.
	pstRoot string
)

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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	if workerImage, workerImageID, err = pushImage(ctx, strings.TrimPrefix(reg.URL, "http://")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
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
		PullImages:     true,
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
	if code == 0 {
		if err := checkWorkerPodsRanImage(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- manager log (last 8000 bytes) ---\n%s\n--- kube-controller-manager log ---\n%s\n",
			tail(logs.String(), 8000), kc.ControllerManagerLogTail(40))
	}
	return code
}

// pushImage builds mailshift's image for this machine's platform only (the others would only cost time) and
// pushes it to the registry at host; it returns the reference and repository@digest.
func pushImage(ctx context.Context, host string) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	start := time.Now()
	idx, err := imagebuild.Build(ctx, imagebuild.Options{
		RepoRoot: testenv.RepoRoot(), Version: "e2e",
		// Any fixed time: the suite tests the image's behaviour, not its reproducibility.
		Created:   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Platforms: []string{"linux/" + runtime.GOARCH},
	})
	if err != nil {
		return "", "", fmt.Errorf("build the image: %w", err)
	}
	ref := host + "/mailshift:e2e"
	if err := imagebuild.Push(ctx, idx, ref); err != nil {
		return "", "", err
	}
	digest, err := idx.Digest()
	if err != nil {
		return "", "", err
	}
	fmt.Fprintf(os.Stderr, "e2e: worker image %s@%s built and pushed in %s\n", ref, digest, time.Since(start).Round(time.Second))
	return ref, host + "/mailshift@" + digest.String(), nil
}

// checkWorkerPodsRanImage makes sure that the worker pods the tests left behind ran the pushed image (and not
// something else the kubelet found): at least one started, and every one that started reports its digest.
func checkWorkerPodsRanImage(ctx context.Context) error {
	var pods corev1.PodList
	if err := kc.Client.List(ctx, &pods, client.HasLabels{"job-name"}); err != nil {
		return err
	}
	started := 0
	for _, p := range pods.Items {
		for _, st := range p.Status.ContainerStatuses {
			if st.ContainerID == "" {
				continue
			}
			started++
			if st.ImageID != workerImageID {
				return fmt.Errorf("worker pod %s/%s ran image %q (%s), want %s", p.Namespace, p.Name, st.Image, st.ImageID, workerImageID)
			}
		}
	}
	if started == 0 {
		return fmt.Errorf("no worker pod was left to show which image the workers ran")
	}
	fmt.Fprintf(os.Stderr, "e2e: %d worker containers ran %s\n", started, workerImageID)
	return nil
}

// startManager runs the mailshift manager with the given executor until the test ends, or until the
// function it returns stops it (a manager restart). Tests run one at a time, each with its own manager, so
// that the executor can differ.
func startManager(t *testing.T, executor string, tune ...func(*controllers.Options)) (stop func()) {
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
	for _, f := range tune {
		f(&opts)
	}
	if err := controllers.SetupAll(mgr, opts); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("manager: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
