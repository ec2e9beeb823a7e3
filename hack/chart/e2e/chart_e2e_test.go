// Package e2e installs the mailshift Helm chart into a real local cluster and runs the real image: it builds
// the image with hack/imagebuild, serves it from go-containerregistry's registry on 127.0.0.1, and lets the
// process-based stand-in for the kubelet (e2e/processkubelet, a named fake: no container runtime runs here)
// pull and run it. etcd, kube-apiserver and kube-controller-manager (with its Deployment and ReplicaSet
// controllers) are real (e2e/cluster); so is the Dovecot the Mailbox is checked against, and Helm's install,
// upgrade and uninstall actions.
package e2e

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/e2e/cluster"
	"github.com/mailshift/mailshift/e2e/processkubelet"
	"github.com/mailshift/mailshift/hack/chart/chartrender"
	"github.com/mailshift/mailshift/hack/imagebuild"
	"github.com/mailshift/mailshift/internal/testenv"
	"github.com/mailshift/mailshift/internal/testserver"
)

const (
	release   = "mailshift"
	namespace = "mailshift-system"
	tenant    = "mail-e2e"
	imageTag  = "v0.0.0-e2e"
)

// TestChartInstallUpgradeUninstall: helm install runs the manager from the real image and a Mailbox on a
// real Dovecot becomes Ready; helm upgrade with a changed pod annotation rolls the Deployment to a new
// ReplicaSet; helm uninstall with crds.keep leaves the CRDs and the custom resources.
func TestChartInstallUpgradeUninstall(t *testing.T) {
	ctrllog.SetLogger(logr.Discard())
	if testing.Short() {
		t.Skip("builds the image and runs a cluster: minutes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	step := stepper(t)

	// The image, built as `make image` builds it, for this machine's architecture only.
	idx, err := imagebuild.Build(ctx, imagebuild.Options{
		RepoRoot: testenv.RepoRoot(), Version: imageTag, Created: time.Unix(1700000000, 0).UTC(),
		Platforms: []string{"linux/" + runtime.GOARCH},
	})
	if err != nil {
		t.Fatalf("build the image: %v", err)
	}
	digest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	step("built image index %s for linux/%s", digest, runtime.GOARCH)

	regAddr := serveRegistry(t)
	repository := regAddr + "/mailshift"
	if err := imagebuild.Push(ctx, idx, repository+":"+imageTag); err != nil {
		t.Fatalf("push: %v", err)
	}
	step("pushed %s:%s to go-containerregistry's registry on %s", repository, imageTag, regAddr)

	// The cluster: the default controllers plus those that turn a Deployment into Pods.
	kc, err := cluster.Start(ctx, cluster.Options{
		Controllers: append(slices.Clone(cluster.DefaultControllers), "deployment-controller", "replicaset-controller", "disruption-controller"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kc.Stop() })
	if err := apiextensionsv1.AddToScheme(kc.Scheme); err != nil {
		t.Fatal(err)
	}
	kubeletDir := t.TempDir()
	kubelet, err := processkubelet.New(processkubelet.Options{
		Config: kc.Config, WorkDir: kubeletDir, PullImages: true, MaxGracePeriod: 10 * time.Second,
		Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := kubelet.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kubelet.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, kubeletDir)
			t.Logf("--- kube-controller-manager ---\n%s", kc.ControllerManagerLogTail(30))
		}
	})
	step("cluster up: etcd, kube-apiserver, kube-controller-manager (deployment and replicaset controllers), processkubelet pulling images")

	// The chart's CRDs are in its templates: the cluster must not have them before the install. e2e/cluster
	// installs config/crd/bases through envtest, so they are deleted first, and the chart puts them back.
	deleteCRDs(ctx, t, kc.Client)
	if err := kc.CreateNamespace(ctx, namespace); err != nil {
		t.Fatal(err)
	}

	helmCfg := helmConfig(t, kc.KubeconfigPath)
	ports := freePorts(t, 3)
	values := map[string]any{
		"image":    map[string]any{"repository": repository, "tag": imageTag},
		"health":   map[string]any{"port": ports[0]},
		"metrics":  map[string]any{"port": ports[1]},
		"freebusy": map[string]any{"port": ports[2]},
		// Every Pod shares the host's network here: the new Pod could not bind the ports while the old one runs.
		"strategy":       map[string]any{"type": "Recreate"},
		"podAnnotations": map[string]any{"e2e.mailshift.io/revision": "1"},
		"logFormat":      "console",
	}
	ch, err := chartrender.Load(chartrender.ChartDir())
	if err != nil {
		t.Fatal(err)
	}
	inst := action.NewInstall(helmCfg)
	inst.ReleaseName, inst.Namespace = release, namespace
	inst.WaitStrategy = kube.HookOnlyStrategy
	inst.Timeout = 2 * time.Minute
	if _, err := inst.RunWithContext(ctx, ch, values); err != nil {
		t.Fatalf("helm install: %v", err)
	}
	step("helm install %s in %s (chart %s, image %s:%s)", release, namespace, ch.Metadata.Version, repository, imageTag)
	for _, crd := range []string{"mailboxes.mailshift.io", "mailservers.mailshift.io"} {
		var got apiextensionsv1.CustomResourceDefinition
		if err := kc.Client.Get(ctx, client.ObjectKey{Name: crd}, &got); err != nil {
			t.Fatalf("CRD %s after install: %v", crd, err)
		}
	}
	waitCRDsEstablished(ctx, t, kc.Client)

	pod := waitManagerPod(ctx, t, kc.Client, "")
	if !strings.HasSuffix(imageID(pod), "@"+digest.String()) {
		t.Fatalf("manager pod runs imageID %q, not the pushed index %s", imageID(pod), digest)
	}
	step("manager pod %s running image %s (imageID %s)", pod.Name, pod.Spec.Containers[0].Image, imageID(pod))

	// A MailServer and a Mailbox on a real Dovecot.
	srv := testserver.Dovecot(t)
	if err := kc.CreateNamespace(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	alice := srv.Users["alice"]
	mustCreate(ctx, t, kc.Client,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "dovecot-ca"}, StringData: map[string]string{"ca.crt": string(srv.CAPEM)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "alice-imap"}, StringData: map[string]string{"password": alice.Password}},
		&mailshiftv1.MailServer{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "dovecot"}, Spec: mailshiftv1.MailServerSpec{
			Host: srv.Host, Port: int32(srv.Port), TLS: mailshiftv1.TLSStartTLS, Flavor: mailshiftv1.Flavor(srv.Flavor),
			CABundle: &mailshiftv1.SecretKeyRef{Name: "dovecot-ca", Key: "ca.crt"}}},
		&mailshiftv1.Mailbox{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "alice"}, Spec: mailshiftv1.MailboxSpec{
			ServerRef: mailshiftv1.ServerRef{Name: "dovecot"}, Login: alice.Login, Address: alice.Address,
			CredentialsSecretRef: &mailshiftv1.SecretKeyRef{Name: "alice-imap"}}},
	)
	ready := waitMailboxReady(ctx, t, kc.Client, "alice")
	step("Mailbox %s/alice Ready=True on Dovecot %s (%s: %s)", tenant, srv.Addr(), ready.Reason, ready.Message)

	// helm upgrade with a changed pod annotation rolls the Deployment.
	before := deploymentState(ctx, t, kc.Client)
	values["podAnnotations"] = map[string]any{"e2e.mailshift.io/revision": "2"}
	up := action.NewUpgrade(helmCfg)
	up.Namespace = namespace
	up.WaitStrategy = kube.HookOnlyStrategy
	up.Timeout = 2 * time.Minute
	if _, err := up.RunWithContext(ctx, release, ch, values); err != nil {
		t.Fatalf("helm upgrade: %v", err)
	}
	step("helm upgrade: podAnnotations e2e.mailshift.io/revision 1 -> 2")
	newPod := waitManagerPod(ctx, t, kc.Client, before.podTemplateHash)
	after := deploymentState(ctx, t, kc.Client)
	if after.podTemplateHash == before.podTemplateHash || after.generation <= before.generation {
		t.Fatalf("the Deployment did not roll: pod-template-hash %s -> %s, generation %d -> %d",
			before.podTemplateHash, after.podTemplateHash, before.generation, after.generation)
	}
	if newPod.Annotations["e2e.mailshift.io/revision"] != "2" {
		t.Errorf("new pod's annotations %v", newPod.Annotations)
	}
	waitPodGone(ctx, t, kc.Client, pod.Name)
	step("rolled: ReplicaSet pod-template-hash %s -> %s, generation %d -> %d, pod %s replaced by %s",
		before.podTemplateHash, after.podTemplateHash, before.generation, after.generation, pod.Name, newPod.Name)
	// The new pod reconciles: a Mailbox created now becomes Ready.
	bob := srv.Users["bob"]
	mustCreate(ctx, t, kc.Client,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "bob-imap"}, StringData: map[string]string{"password": bob.Password}},
		&mailshiftv1.Mailbox{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "bob"}, Spec: mailshiftv1.MailboxSpec{
			ServerRef: mailshiftv1.ServerRef{Name: "dovecot"}, Login: bob.Login, Address: bob.Address,
			CredentialsSecretRef: &mailshiftv1.SecretKeyRef{Name: "bob-imap"}}},
	)
	ready = waitMailboxReady(ctx, t, kc.Client, "bob")
	step("the new pod reconciles: Mailbox %s/bob created after the roll is Ready=True (%s: %s)", tenant, ready.Reason, ready.Message)

	// helm uninstall keeps the CRDs (crds.keep) and with them the Mailbox.
	un := action.NewUninstall(helmCfg)
	un.WaitStrategy = kube.HookOnlyStrategy
	un.Timeout = 2 * time.Minute
	res, err := un.Run(release)
	if err != nil {
		t.Fatalf("helm uninstall: %v", err)
	}
	step("helm uninstall %s: %s", release, strings.TrimSpace(res.Info))
	var dep appsv1.Deployment
	if err := kc.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: release}, &dep); !apierrors.IsNotFound(err) {
		t.Errorf("Deployment after uninstall: %v (want NotFound)", err)
	}
	var crds apiextensionsv1.CustomResourceDefinitionList
	if err := kc.Client.List(ctx, &crds); err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, c := range crds.Items {
		if c.Spec.Group == "mailshift.io" {
			kept = append(kept, c.Name)
		}
	}
	if len(kept) != 7 {
		t.Errorf("%d mailshift.io CRDs after uninstall, want 7: %v", len(kept), kept)
	}
	var mb mailshiftv1.Mailbox
	if err := kc.Client.Get(ctx, client.ObjectKey{Namespace: tenant, Name: "alice"}, &mb); err != nil {
		t.Errorf("Mailbox after uninstall: %v", err)
	}
	step("after uninstall: Deployment gone, %d mailshift.io CRDs kept, Mailbox %s/alice still there", len(kept), tenant)
}

// stepper logs numbered steps with the time since the test began: the transcript of the run.
func stepper(t *testing.T) func(format string, args ...any) {
	start := time.Now()
	n := 0
	return func(format string, args ...any) {
		t.Helper()
		n++
		t.Logf("step %d (+%s): %s", n, time.Since(start).Round(100*time.Millisecond), fmt.Sprintf(format, args...))
	}
}

// serveRegistry serves go-containerregistry's in-memory registry on 127.0.0.1 until the test ends.
func serveRegistry(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// helmConfig is Helm's action configuration for the cluster, with releases stored in Secrets as `helm` does.
func helmConfig(t *testing.T, kubeconfig string) *action.Configuration {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &kubeconfig
	ns := namespace
	flags.Namespace = &ns
	cfg := action.NewConfiguration()
	if err := cfg.Init(flags, namespace, "secret"); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

func deleteCRDs(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	var list apiextensionsv1.CustomResourceDefinitionList
	if err := c.List(ctx, &list); err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		if list.Items[i].Spec.Group == "mailshift.io" {
			if err := c.Delete(ctx, &list.Items[i]); err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
		}
	}
	poll(ctx, t, "mailshift.io CRDs deleted", time.Minute, func() (bool, string) {
		if err := c.List(ctx, &list); err != nil {
			return false, err.Error()
		}
		for _, crd := range list.Items {
			if crd.Spec.Group == "mailshift.io" {
				return false, crd.Name + " still there"
			}
		}
		return true, ""
	})
}

func waitCRDsEstablished(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	poll(ctx, t, "CRDs established", time.Minute, func() (bool, string) {
		var list apiextensionsv1.CustomResourceDefinitionList
		if err := c.List(ctx, &list); err != nil {
			return false, err.Error()
		}
		n := 0
		for _, crd := range list.Items {
			if crd.Spec.Group != "mailshift.io" {
				continue
			}
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					n++
				}
			}
		}
		return n == 7, fmt.Sprintf("%d of 7 established", n)
	})
}

// waitManagerPod waits for a running manager Pod whose pod-template-hash is not notHash.
func waitManagerPod(ctx context.Context, t *testing.T, c client.Client, notHash string) *corev1.Pod {
	t.Helper()
	var found *corev1.Pod
	poll(ctx, t, "manager pod running", 3*time.Minute, func() (bool, string) {
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabels{"app.kubernetes.io/component": "manager"}); err != nil {
			return false, err.Error()
		}
		var states []string
		for i := range pods.Items {
			p := &pods.Items[i]
			states = append(states, p.Name+":"+string(p.Status.Phase)+containerState(p))
			if p.Labels["pod-template-hash"] == notHash || p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
				continue
			}
			for _, s := range p.Status.ContainerStatuses {
				if s.Name == "manager" && s.State.Running != nil {
					found = p
					return true, ""
				}
			}
		}
		return false, strings.Join(states, ", ")
	})
	return found
}

func waitPodGone(ctx context.Context, t *testing.T, c client.Client, name string) {
	t.Helper()
	poll(ctx, t, "old pod "+name+" gone", 2*time.Minute, func() (bool, string) {
		var p corev1.Pod
		err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &p)
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		return false, fmt.Sprintf("phase %s, err %v", p.Status.Phase, err)
	})
}

func waitMailboxReady(ctx context.Context, t *testing.T, c client.Client, name string) *metav1.Condition {
	t.Helper()
	var ready *metav1.Condition
	poll(ctx, t, "Mailbox "+name+" Ready", 3*time.Minute, func() (bool, string) {
		var mb mailshiftv1.Mailbox
		if err := c.Get(ctx, client.ObjectKey{Namespace: tenant, Name: name}, &mb); err != nil {
			return false, err.Error()
		}
		ready = meta.FindStatusCondition(mb.Status.Conditions, "Ready")
		if ready == nil {
			return false, "no Ready condition yet"
		}
		return ready.Status == metav1.ConditionTrue, fmt.Sprintf("Ready=%s %s: %s", ready.Status, ready.Reason, ready.Message)
	})
	return ready
}

type rollout struct {
	podTemplateHash string
	generation      int64
}

// deploymentState reads the Deployment's generation and the pod-template-hash of its newest ReplicaSet.
func deploymentState(ctx context.Context, t *testing.T, c client.Client) rollout {
	t.Helper()
	var d appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: release}, &d); err != nil {
		t.Fatal(err)
	}
	var newest *appsv1.ReplicaSet
	poll(ctx, t, "ReplicaSet of the current template", time.Minute, func() (bool, string) {
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: release}, &d); err != nil {
			return false, err.Error()
		}
		var rss appsv1.ReplicaSetList
		if err := c.List(ctx, &rss, client.InNamespace(namespace)); err != nil {
			return false, err.Error()
		}
		for i := range rss.Items {
			rs := &rss.Items[i]
			if revision(rs) > 0 && d.Status.ObservedGeneration == d.Generation && (newest == nil || revision(rs) > revision(newest)) {
				newest = rs
			}
		}
		return newest != nil, "waiting for the deployment controller"
	})
	return rollout{podTemplateHash: newest.Labels["pod-template-hash"], generation: d.Generation}
}

// revision is the Deployment revision the deployment controller stamped on a ReplicaSet (0: none).
func revision(rs *appsv1.ReplicaSet) int {
	n, _ := strconv.Atoi(rs.Annotations["deployment.kubernetes.io/revision"])
	return n
}

func mustCreate(ctx context.Context, t *testing.T, c client.Client, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

func poll(ctx context.Context, t *testing.T, what string, timeout time.Duration, f func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, msg := f()
		if ok {
			return
		}
		last = msg
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s: not after %s: %s", what, timeout, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func containerState(p *corev1.Pod) string {
	for _, s := range p.Status.ContainerStatuses {
		switch {
		case s.State.Waiting != nil:
			return fmt.Sprintf("(waiting %s: %.200s)", s.State.Waiting.Reason, s.State.Waiting.Message)
		case s.State.Terminated != nil:
			return fmt.Sprintf("(terminated %d %s)", s.State.Terminated.ExitCode, s.State.Terminated.Reason)
		}
	}
	return ""
}

func imageID(p *corev1.Pod) string {
	for _, s := range p.Status.ContainerStatuses {
		return s.ImageID
	}
	return ""
}

// dumpLogs prints the tail of every container log the kubelet wrote.
func dumpLogs(t *testing.T, dir string) {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		t.Logf("--- %s ---\n%s", filepath.Base(l), b)
	}
}
