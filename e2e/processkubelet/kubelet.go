package processkubelet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// Options configure a Kubelet. Config and WorkDir are required.
type Options struct {
	// Config reaches the apiserver with enough rights to manage Nodes, Leases, Pods and their status, Events,
	// and to read Secrets, ConfigMaps, PVCs, PVs and ServiceAccounts and create their tokens (system:masters
	// is simplest). Its Host and CA data also go into the kubeconfig given to the Pods.
	Config *rest.Config
	// NodeName is the Node to register; default "processkubelet".
	NodeName string
	// NodeLabels are added to the Node's labels (kubernetes.io/hostname, kubernetes.io/os=linux and
	// kubernetes.io/arch are always set).
	NodeLabels map[string]string
	// Capacity is the Node's capacity and allocatable; default cpu = number of CPUs, memory 16Gi, pods 110,
	// ephemeral-storage 100Gi. Nothing is enforced.
	Capacity corev1.ResourceList
	// WorkDir holds the log files (<namespace>_<pod>_<container>.log) and the per-Pod directories (pods/<uid>:
	// volumes, termination-message files, kubeconfig). Created when missing.
	WorkDir string
	// Binaries maps a container's command[0], or its image when command is empty, to a local executable.
	Binaries map[string]string
	// PullImages makes a container that Binaries has no entry for run from its image: pulled from a registry
	// on loopback (any other registry is refused), its layers unpacked under WorkDir/images, its Entrypoint,
	// Cmd, Env, WorkingDir and User applied as a container runtime applies them. See "Executables" in the
	// package documentation.
	PullImages bool
	// MaxImageBytes bounds the bytes of regular files one image unpacks to; default 2 GiB.
	MaxImageBytes int64
	// Env is the base environment of every process (before HOME, HOSTNAME, KUBERNETES_* and the container's
	// own); nil means just PATH of the current process.
	Env []string
	// MaxGracePeriod caps the time between SIGTERM and SIGKILL on deletion; default 30s.
	MaxGracePeriod time.Duration
	// RestartBackoff is the first delay before restarting a failed container (OnFailure, Always); it doubles
	// up to 10 times its value. Default 1s.
	RestartBackoff time.Duration
	// HeartbeatInterval is the Lease renewal period; default 10s.
	HeartbeatInterval time.Duration
	// Logf, when set, receives the kubelet's own diagnostics (e.g. t.Logf). Nil: silent.
	Logf func(format string, args ...any)
}

// Kubelet is a running process-based kubelet. Create it with New, run it with Start (or use Run).
type Kubelet struct {
	opts      Options
	cs        kubernetes.Interface
	apiURL    *url.URL
	caData    []byte
	baseEnv   []string
	images    *imageStore
	capacity  corev1.ResourceList
	recorder  record.EventRecorder
	events    record.EventBroadcaster
	nodeLabel map[string]string

	podLister corelisters.PodLister

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	procs   map[string]procRef // "ns/pod/container" → running process
	started bool
	stopped bool
}

type procRef struct {
	uid types.UID
	pid int
}

// New validates opts and prepares a Kubelet; nothing talks to the apiserver until Start.
func New(opts Options) (*Kubelet, error) {
	if opts.Config == nil {
		return nil, errors.New("processkubelet: Options.Config is required")
	}
	if opts.WorkDir == "" {
		return nil, errors.New("processkubelet: Options.WorkDir is required")
	}
	if opts.NodeName == "" {
		opts.NodeName = "processkubelet"
	}
	if opts.MaxGracePeriod <= 0 {
		opts.MaxGracePeriod = 30 * time.Second
	}
	if opts.RestartBackoff <= 0 {
		opts.RestartBackoff = time.Second
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 10 * time.Second
	}
	if opts.MaxImageBytes <= 0 {
		opts.MaxImageBytes = defaultMaxImageBytes
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	wd, err := filepath.Abs(opts.WorkDir)
	if err != nil {
		return nil, err
	}
	opts.WorkDir = wd
	if err := os.MkdirAll(filepath.Join(wd, "pods"), 0o755); err != nil {
		return nil, fmt.Errorf("processkubelet: work dir: %w", err)
	}
	cfg := rest.CopyConfig(opts.Config)
	if cfg.QPS < 100 {
		cfg.QPS, cfg.Burst = 200, 400
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.Host)
	if err != nil || u.Host == "" {
		// rest.Config.Host may be "host:port" without a scheme.
		u, err = url.Parse("https://" + cfg.Host)
		if err != nil {
			return nil, fmt.Errorf("processkubelet: apiserver host %q: %w", cfg.Host, err)
		}
	}
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		if ca, err = os.ReadFile(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("processkubelet: CA file: %w", err)
		}
	}
	k := &Kubelet{
		opts:    opts,
		cs:      cs,
		apiURL:  u,
		caData:  ca,
		workers: map[types.UID]*podWorker{},
		procs:   map[string]procRef{},
		images:  newImageStore(filepath.Join(wd, "images"), opts.MaxImageBytes),
	}
	k.baseEnv = opts.Env
	if k.baseEnv == nil {
		k.baseEnv = []string{"PATH=" + os.Getenv("PATH")}
	}
	k.capacity = corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory:           resource.MustParse("16Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	for n, q := range opts.Capacity {
		k.capacity[n] = q
	}
	k.nodeLabel = map[string]string{}
	for l, v := range opts.NodeLabels {
		k.nodeLabel[l] = v
	}
	k.nodeLabel[corev1.LabelHostname] = opts.NodeName
	k.nodeLabel[corev1.LabelOSStable] = "linux"
	k.nodeLabel[corev1.LabelArchStable] = runtime.GOARCH
	return k, nil
}

// Run starts a Kubelet and blocks until ctx ends; then every process is killed and Run returns nil (or the
// start-up error).
func Run(ctx context.Context, opts Options) error {
	k, err := New(opts)
	if err != nil {
		return err
	}
	if err := k.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	k.Stop()
	return nil
}

// Start registers the Node, starts the heartbeat, the scheduler and the pod informers, and returns once they
// are synced. The Kubelet works until ctx ends or Stop is called.
func (k *Kubelet) Start(ctx context.Context) error {
	k.mu.Lock()
	if k.started {
		k.mu.Unlock()
		return errors.New("processkubelet: already started")
	}
	k.started = true
	k.mu.Unlock()
	k.ctx, k.cancel = context.WithCancel(ctx)

	k.events = record.NewBroadcaster(record.WithContext(k.ctx))
	k.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: k.cs.CoreV1().Events("")})
	k.recorder = k.events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "processkubelet", Host: k.opts.NodeName})

	if err := k.registerNode(k.ctx); err != nil {
		k.cancel()
		return err
	}
	k.wg.Add(1)
	go func() { defer k.wg.Done(); k.heartbeat(k.ctx) }()

	mine := informers.NewSharedInformerFactoryWithOptions(k.cs, 5*time.Minute,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "spec.nodeName=" + k.opts.NodeName }))
	podInf := mine.Core().V1().Pods()
	k.podLister = podInf.Lister()
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { k.podEvent(o) },
		UpdateFunc: func(_, o any) { k.podEvent(o) },
		DeleteFunc: func(o any) { k.podEvent(o) },
	}); err != nil {
		k.cancel()
		return err
	}

	s := newScheduler(k)
	unbound := informers.NewSharedInformerFactoryWithOptions(k.cs, 30*time.Second,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = "spec.nodeName=,status.phase!=Succeeded,status.phase!=Failed"
		}))
	ubInf := unbound.Core().V1().Pods()
	s.lister = ubInf.Lister()
	if _, err := ubInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    s.enqueue,
		UpdateFunc: func(_, o any) { s.enqueue(o) },
	}); err != nil {
		k.cancel()
		return err
	}

	mine.Start(k.ctx.Done())
	unbound.Start(k.ctx.Done())
	k.wg.Add(1)
	go func() { defer k.wg.Done(); <-k.ctx.Done(); mine.Shutdown(); unbound.Shutdown() }()
	for typ, ok := range mine.WaitForCacheSync(k.ctx.Done()) {
		if !ok {
			k.cancel()
			return fmt.Errorf("processkubelet: %v informer did not sync", typ)
		}
	}
	for typ, ok := range unbound.WaitForCacheSync(k.ctx.Done()) {
		if !ok {
			k.cancel()
			return fmt.Errorf("processkubelet: %v informer did not sync", typ)
		}
	}
	k.wg.Add(1)
	go func() { defer k.wg.Done(); s.run(k.ctx) }()
	return nil
}

// Stop kills every process (SIGKILL to each process group), stops all goroutines and waits for them. Pod
// statuses are not updated. Safe to call more than once, and after ctx has ended.
func (k *Kubelet) Stop() {
	k.mu.Lock()
	if !k.started || k.stopped {
		k.mu.Unlock()
		return
	}
	k.stopped = true
	k.mu.Unlock()
	k.cancel()
	k.wg.Wait()
	k.events.Shutdown()
}

// NodeName is the name of the Node this Kubelet registered.
func (k *Kubelet) NodeName() string { return k.opts.NodeName }

// PID returns the process id of the running process of container in namespace/pod, if one is running. The
// process leads its own process group: syscall.Kill(-pid, sig) signals all of it.
func (k *Kubelet) PID(namespace, pod, container string) (int, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, ok := k.procs[namespace+"/"+pod+"/"+container]
	return p.pid, ok
}

// LogPath is the file receiving stdout and stderr of container in namespace/pod (all its runs, appended).
func (k *Kubelet) LogPath(namespace, pod, container string) string {
	return filepath.Join(k.opts.WorkDir, namespace+"_"+pod+"_"+container+".log")
}

func (k *Kubelet) setProc(ns, pod, container string, uid types.UID, pid int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := ns + "/" + pod + "/" + container
	if pid == 0 {
		if k.procs[key].uid == uid {
			delete(k.procs, key)
		}
		return
	}
	k.procs[key] = procRef{uid: uid, pid: pid}
}

// podEvent hands a Pod informer event to the Pod's worker, starting one for a Pod not seen before.
func (k *Kubelet) podEvent(o any) {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	pod, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped || k.ctx.Err() != nil {
		return
	}
	w, ok := k.workers[pod.UID]
	if !ok {
		if _, err := k.podLister.Pods(pod.Namespace).Get(pod.Name); err != nil {
			return // already gone: nothing to run or clean
		}
		w = newPodWorker(k, pod)
		k.workers[pod.UID] = w
		k.wg.Add(1)
		go func() {
			defer k.wg.Done()
			w.run(k.ctx)
			k.mu.Lock()
			delete(k.workers, pod.UID)
			k.mu.Unlock()
		}()
	}
	w.poke()
}

// apiHostPort is the apiserver's host and port, for KUBERNETES_SERVICE_HOST/PORT.
func (k *Kubelet) apiHostPort() (string, string) {
	host, port, err := net.SplitHostPort(k.apiURL.Host)
	if err != nil {
		host, port = k.apiURL.Host, "443"
	}
	return host, port
}
