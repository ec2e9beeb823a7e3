// Package cluster starts a local Kubernetes control plane for end-to-end tests: etcd and kube-apiserver
// (through controller-runtime's envtest, with mailshift's CRDs from config/crd/bases installed) plus a real
// kube-controller-manager subprocess running the Job controller, the garbage collector, the PersistentVolume
// binder (resync every 2 s instead of 15 s, so a claim binds quickly) and the other controllers a worker Job
// needs. It runs no kubelet and no scheduler: pair it with e2e/processkubelet to have Pods actually run, as
// local processes.
//
// Everything is built from source by hack/build-controlplane.sh into $MAILSHIFT_CACHE/controlplane/bin (see
// internal/testenv.BinDir). A missing binary is an error naming the command that builds it, so tests fail
// rather than skip.
//
// Differences from envtest's defaults: the ServiceAccount admission plugin is enabled (envtest disables it),
// so Pods get spec.serviceAccountName "default" and the kube-api-access projected volume as in a real
// cluster, and creating a Pod in a namespace fails until the serviceaccount-controller has made its "default"
// ServiceAccount (CreateNamespace waits for that). Authorization is RBAC. Service-account tokens are signed
// with envtest's generated key (--service-account-issuer/-key-file/-signing-key-file), so the TokenRequest API
// works; kube-controller-manager gets the same private key for legacy token Secrets and the apiserver's CA as
// --root-ca-file for the kube-root-ca.crt ConfigMaps.
package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/testenv"
)

// DefaultControllers are the kube-controller-manager controllers Start enables when Options.Controllers is
// empty. node-lifecycle-controller is deliberately absent: nothing here needs Node taints or evictions.
var DefaultControllers = []string{
	"job-controller",
	"cronjob-controller",
	"ttl-after-finished-controller",
	"garbage-collector-controller",
	"pod-garbage-collector-controller",
	"namespace-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"root-ca-certificate-publisher-controller",
	"clusterrole-aggregation-controller",
	"persistentvolume-binder-controller",
	"persistentvolume-protection-controller",
	"persistentvolumeclaim-protection-controller",
}

// Options configure Start. The zero value is usable.
type Options struct {
	// Controllers for kube-controller-manager's --controllers; empty means DefaultControllers.
	Controllers []string
	// ControllerManagerArgs are appended to kube-controller-manager's command line (e.g. "-v=4").
	ControllerManagerArgs []string
	// Dir holds the admin kubeconfig, kube-controller-manager's log and certificates. Empty: a new temporary
	// directory, removed by Stop. A given Dir is kept.
	Dir string
	// ReadyTimeout bounds the wait for kube-controller-manager to work; default 60s.
	ReadyTimeout time.Duration
}

// Cluster is a running control plane. Stop it when done.
type Cluster struct {
	// Config is a system:masters user's REST config (QPS 1000).
	Config *rest.Config
	// Client uses Scheme: client-go's types and mailshift's api/v1. It is a client.Client that can also Watch.
	Client client.WithWatch
	// Clientset is a typed client-go client with Config.
	Clientset kubernetes.Interface
	// Scheme is the scheme of Client.
	Scheme *runtime.Scheme
	// KubeconfigPath is an admin kubeconfig file, for kubectl and other processes.
	KubeconfigPath string
	// ControllerManagerLogPath is kube-controller-manager's combined stdout and stderr.
	ControllerManagerLogPath string
	// Dir is the working directory (see Options.Dir).
	Dir string

	env        *envtest.Environment
	removeDir  bool
	kcm        *exec.Cmd
	kcmLog     *os.File
	kcmDone    chan struct{}
	kcmWaitErr error
	healthz    string
	stopOnce   sync.Once
	stopErr    error
}

// Binary returns the path of a control-plane binary built by hack/build-controlplane.sh (etcd,
// kube-apiserver, kube-controller-manager, kubectl), or an error saying how to build it.
func Binary(name string) (string, error) {
	p := filepath.Join(testenv.BinDir(), name)
	if _, err := os.Stat(p); err != nil {
		how := "`bash hack/build-controlplane.sh " + name + "`"
		switch name {
		case "etcd", "kube-apiserver":
			how = "`make controlplane` or " + how
		case "kubectl":
			how = "`make controlplane-tools` or " + how
		case "kube-controller-manager":
			how += " (at the time of writing `make controlplane` and `make controlplane-tools` do not build it; " +
				"`bash hack/build-controlplane.sh` builds all four)"
		}
		return "", fmt.Errorf("%s not found in %s: run %s, which builds it from source into $MAILSHIFT_CACHE/controlplane/bin",
			name, testenv.BinDir(), how)
	}
	return p, nil
}

// Start starts etcd, kube-apiserver and kube-controller-manager, and returns once the controllers work:
// kube-controller-manager's /healthz answers ok and the "default" namespace has its default ServiceAccount and
// kube-root-ca.crt ConfigMap. On error nothing is left running and the error ends with the tail of
// kube-controller-manager's log when it had started.
func Start(ctx context.Context, opts Options) (_ *Cluster, retErr error) {
	kcmBin := ""
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager"} {
		p, err := Binary(b)
		if err != nil {
			return nil, err
		}
		if b == "kube-controller-manager" {
			kcmBin = p
		}
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	c := &Cluster{Dir: opts.Dir, kcmDone: make(chan struct{})}
	if c.Dir == "" {
		d, err := os.MkdirTemp("", "mailshift-e2e-cluster-")
		if err != nil {
			return nil, err
		}
		c.Dir, c.removeDir = d, true
	} else if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			_ = c.Stop()
		}
	}()

	c.Scheme = runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(c.Scheme); err != nil {
		return nil, err
	}
	if err := mailshiftv1.AddToScheme(c.Scheme); err != nil {
		return nil, err
	}

	useExisting := false
	c.env = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(testenv.RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: testenv.BinDir(),
		UseExistingCluster:    &useExisting,
		Scheme:                c.Scheme,
	}
	api := c.env.ControlPlane.GetAPIServer()
	// envtest passes --disable-admission-plugins=ServiceAccount because nothing creates default
	// ServiceAccounts there; here the serviceaccount-controller does.
	api.Configure().Disable("disable-admission-plugins")
	if _, err := c.env.Start(); err != nil {
		return nil, fmt.Errorf("start etcd and kube-apiserver: %w", err)
	}

	admin, err := c.env.AddUser(envtest.User{Name: "mailshift-e2e-admin", Groups: []string{"system:masters"}},
		&rest.Config{QPS: 1000, Burst: 2000})
	if err != nil {
		return nil, fmt.Errorf("add admin user: %w", err)
	}
	c.Config = admin.Config()
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return nil, err
	}
	c.KubeconfigPath = filepath.Join(c.Dir, "admin.kubeconfig")
	if err := os.WriteFile(c.KubeconfigPath, kubeconfig, 0o600); err != nil {
		return nil, err
	}
	if c.Client, err = client.NewWithWatch(c.Config, client.Options{Scheme: c.Scheme}); err != nil {
		return nil, err
	}
	if c.Clientset, err = kubernetes.NewForConfig(c.Config); err != nil {
		return nil, err
	}

	if err := c.startControllerManager(kcmBin, api, opts); err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx, opts.ReadyTimeout); err != nil {
		return nil, c.withLog(err)
	}
	return c, nil
}

func (c *Cluster) startControllerManager(bin string, api *envtest.APIServer, opts Options) error {
	kcmDir := filepath.Join(c.Dir, "kube-controller-manager")
	if err := os.MkdirAll(kcmDir, 0o755); err != nil {
		return err
	}
	caPath := filepath.Join(kcmDir, "apiserver-ca.crt")
	if err := os.WriteFile(caPath, api.SecureServing.CA, 0o644); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	controllers := opts.Controllers
	if len(controllers) == 0 {
		controllers = DefaultControllers
	}
	args := []string{
		"--kubeconfig=" + c.KubeconfigPath,
		"--authentication-kubeconfig=" + c.KubeconfigPath,
		"--authorization-kubeconfig=" + c.KubeconfigPath,
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		"--controllers=" + strings.Join(controllers, ","),
		"--service-account-private-key-file=" + filepath.Join(api.CertDir, "sa-signer.key"),
		"--root-ca-file=" + caPath,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + kcmDir,
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		"--concurrent-job-syncs=10",
		// A claim created just after its PV waits for the binder's resync (default 15 s) to bind.
		"--pvclaimbinder-sync-period=2s",
		"-v=2",
	}
	args = append(args, opts.ControllerManagerArgs...)

	c.ControllerManagerLogPath = filepath.Join(c.Dir, "kube-controller-manager.log")
	logf, err := os.Create(c.ControllerManagerLogPath)
	if err != nil {
		return err
	}
	c.kcmLog = logf
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start kube-controller-manager: %w", err)
	}
	c.kcm = cmd
	go func() {
		c.kcmWaitErr = cmd.Wait()
		close(c.kcmDone)
	}()
	c.healthz = fmt.Sprintf("https://127.0.0.1:%d/healthz", port)
	return nil
}

// waitReady polls until kube-controller-manager reports healthy and its serviceaccount and root-ca
// controllers have done their work in "default".
func (c *Cluster) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		// kube-controller-manager serves a self-signed certificate; this probe carries no credentials.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback health probe of a self-signed test server, no credentials
	}}
	defer hc.CloseIdleConnections()
	last := "not polled yet"
	for {
		select {
		case <-c.kcmDone:
			return fmt.Errorf("kube-controller-manager exited during start-up: %v", c.kcmWaitErr)
		case <-ctx.Done():
			return fmt.Errorf("kube-controller-manager not ready after %s: %s", timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
		if err := probe(ctx, hc, c.healthz); err != nil {
			last = err.Error()
			continue
		}
		if err := c.namespaceReady(ctx, metav1.NamespaceDefault); err != nil {
			last = err.Error()
			continue
		}
		return nil
	}
}

func probe(ctx context.Context, hc *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("healthz: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// namespaceReady is nil once ns has its default ServiceAccount and kube-root-ca.crt ConfigMap.
func (c *Cluster) namespaceReady(ctx context.Context, ns string) error {
	if _, err := c.Clientset.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err != nil {
		return fmt.Errorf("ServiceAccount %s/default: %w", ns, err)
	}
	if _, err := c.Clientset.CoreV1().ConfigMaps(ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{}); err != nil {
		return fmt.Errorf("ConfigMap %s/kube-root-ca.crt: %w", ns, err)
	}
	return nil
}

// CreateNamespace creates namespace name (an existing one is fine) and waits until kube-controller-manager
// has given it its default ServiceAccount and kube-root-ca.crt ConfigMap, so Pods can be created in it.
func (c *Cluster) CreateNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.Clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		err := c.namespaceReady(ctx, name)
		if err == nil {
			return nil
		}
		select {
		case <-c.kcmDone:
			return c.withLog(fmt.Errorf("namespace %s: kube-controller-manager exited: %v", name, c.kcmWaitErr))
		case <-ctx.Done():
			return c.withLog(fmt.Errorf("namespace %s not ready: %w", name, err))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ControllerManagerLogTail returns about the last n lines of kube-controller-manager's log.
func (c *Cluster) ControllerManagerLogTail(n int) string {
	if c.ControllerManagerLogPath == "" {
		return ""
	}
	return tail(c.ControllerManagerLogPath, n)
}

// ControllerManagerRunning reports whether the kube-controller-manager process is still alive.
func (c *Cluster) ControllerManagerRunning() bool {
	if c.kcm == nil {
		return false
	}
	select {
	case <-c.kcmDone:
		return false
	default:
		return true
	}
}

func (c *Cluster) withLog(err error) error {
	if t := c.ControllerManagerLogTail(40); t != "" {
		return fmt.Errorf("%w\n--- tail of %s ---\n%s", err, c.ControllerManagerLogPath, t)
	}
	return err
}

// Stop stops kube-controller-manager (SIGTERM, SIGKILL after 10 s), kube-apiserver and etcd, and removes Dir
// when Start created it. It is safe to call more than once.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		var errs []error
		if c.kcm != nil && c.kcm.Process != nil {
			_ = syscall.Kill(-c.kcm.Process.Pid, syscall.SIGTERM)
			select {
			case <-c.kcmDone:
			case <-time.After(10 * time.Second):
				_ = syscall.Kill(-c.kcm.Process.Pid, syscall.SIGKILL)
				<-c.kcmDone
			}
		}
		if c.kcmLog != nil {
			_ = c.kcmLog.Close()
		}
		if c.env != nil {
			if err := c.env.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("stop etcd and kube-apiserver: %w", err))
			}
		}
		if c.removeDir {
			if err := os.RemoveAll(c.Dir); err != nil {
				errs = append(errs, err)
			}
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns about the last n lines of the file at path (reading at most its last 64 KiB).
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		_, _ = f.Seek(st.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
