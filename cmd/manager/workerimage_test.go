package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/mailshift/mailshift/controllers"
	"github.com/mailshift/mailshift/internal/testenv"
)

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestWorkerImageOf(t *testing.T) {
	ctr := func(name, image string) corev1.Container { return corev1.Container{Name: name, Image: image} }
	st := func(name, imageID string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, ImageID: imageID}
	}
	cases := []struct {
		name     string
		ctrs     []corev1.Container
		statuses []corev1.ContainerStatus
		want     string
		settled  bool // waiting for the kubelet cannot change the answer
		wantErr  string
	}{
		{"containerd digest pins the tag", []corev1.Container{ctr("manager", "ghcr.io/mailshift/mailshift:v0.2.0")},
			[]corev1.ContainerStatus{st("manager", "ghcr.io/mailshift/mailshift@"+digestA)}, "ghcr.io/mailshift/mailshift@" + digestA, true, ""},
		{"docker-pullable prefix", []corev1.Container{ctr("manager", "ghcr.io/mailshift/mailshift:v0.2.0")},
			[]corev1.ContainerStatus{st("manager", "docker-pullable://ghcr.io/mailshift/mailshift@"+digestA)}, "ghcr.io/mailshift/mailshift@" + digestA, true, ""},
		// The runtime may know the content under another name; the spec's repository is what this pod pulls.
		{"spec repository kept", []corev1.Container{ctr("manager", "registry.local:5000/ops/mailshift:v1")},
			[]corev1.ContainerStatus{st("manager", "docker.io/other/name@"+digestA)}, "registry.local:5000/ops/mailshift@" + digestA, true, ""},
		{"port without tag", []corev1.Container{ctr("manager", "registry.local:5000/mailshift")},
			[]corev1.ContainerStatus{st("manager", "registry.local:5000/mailshift@"+digestA)}, "registry.local:5000/mailshift@" + digestA, true, ""},
		{"manager among sidecars", []corev1.Container{ctr("proxy", "envoy:1"), ctr("manager", "mailshift:v1")},
			[]corev1.ContainerStatus{st("proxy", "envoy@"+digestB), st("manager", "mailshift@"+digestA)}, "mailshift@" + digestA, true, ""},
		{"single container of another name", []corev1.Container{ctr("operator", "mailshift:v1")}, nil, "mailshift:v1", false, ""},
		{"local image ID is no repository digest", []corev1.Container{ctr("manager", "mailshift:dev")},
			[]corev1.ContainerStatus{st("manager", digestA)}, "mailshift:dev", true, ""},
		{"no status yet", []corev1.Container{ctr("manager", "mailshift:dev")}, nil, "mailshift:dev", false, ""},
		{"truncated digest", []corev1.Container{ctr("manager", "mailshift:dev")},
			[]corev1.ContainerStatus{st("manager", "mailshift@sha256:abc")}, "mailshift:dev", true, ""},
		{"already pinned", []corev1.Container{ctr("manager", "mailshift@"+digestB)},
			[]corev1.ContainerStatus{st("manager", "mailshift@"+digestA)}, "mailshift@" + digestB, true, ""},
		{"which of two", []corev1.Container{ctr("a", "x:1"), ctr("b", "y:1")}, nil, "", false, `no container named "manager"`},
		{"no image", []corev1.Container{ctr("manager", "")}, nil, "", false, "has no image"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, settled, err := workerImageOf(&corev1.Pod{Spec: corev1.PodSpec{Containers: tc.ctrs}, Status: corev1.PodStatus{ContainerStatuses: tc.statuses}})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %q, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want || settled != tc.settled {
				t.Errorf("got %q (settled %v), %v; want %q (settled %v)", got, settled, err, tc.want, tc.settled)
			}
		})
	}
}

// TestOwnWorkerImageFromAPIServer reads a real Pod from a real API server, as the manager does at start,
// acting as the manager's ServiceAccount with exactly the Role config/manager/pod_reader.yaml grants.
func TestOwnWorkerImageFromAPIServer(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	ctx := context.Background()
	const ns = "mailshift-system"
	mustCreate := func(o client.Object) {
		t.Helper()
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
	mustCreate(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	mustCreate(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mailshift-manager"}})
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "manager", "pod_reader.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(b), "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("pod_reader.yaml has %d documents, want a Role and a RoleBinding", len(docs))
	}
	var role rbacv1.Role
	var binding rbacv1.RoleBinding
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &role); err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &binding); err != nil {
		t.Fatal(err)
	}
	mustCreate(&role)
	mustCreate(&binding)
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":mailshift-manager"}
	asManager, err := client.New(cfg, client.Options{Scheme: newScheme()})
	if err != nil {
		t.Fatal(err)
	}

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mailshift-manager-7d9f-x2x4q"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "kube-rbac-proxy", Image: "quay.io/brancz/kube-rbac-proxy:v0.18.0"},
			{Name: "manager", Image: "registry.example:5000/mailshift/mailshift:v0.2.0"}}}}
	mustCreate(pod)

	// The kubelet never reports the container within the wait: the spec's image.
	start := time.Now()
	if got, err := ownWorkerImage(ctx, asManager, ns, pod.Name, time.Second); err != nil || got != "registry.example:5000/mailshift/mailshift:v0.2.0" {
		t.Errorf("no status: %q, %v", got, err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("settled for the tag after %v without waiting for the kubelet", waited)
	}
	// The kubelet reports it while the manager waits: pinned to the digest it pulled.
	go func() {
		time.Sleep(time.Second)
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{
			{Name: "kube-rbac-proxy", Image: "quay.io/brancz/kube-rbac-proxy:v0.18.0", ImageID: "quay.io/brancz/kube-rbac-proxy@" + digestB},
			{Name: "manager", Image: "registry.example:5000/mailshift/mailshift:v0.2.0", ImageID: "registry.example:5000/mailshift/mailshift@" + digestA}}
		if err := env.Client.Status().Update(ctx, pod); err != nil {
			t.Error(err)
		}
	}()
	if got, err := ownWorkerImage(ctx, asManager, ns, pod.Name, 30*time.Second); err != nil || got != "registry.example:5000/mailshift/mailshift@"+digestA {
		t.Errorf("with status: %q, %v; want the digest of the manager container", got, err)
	}

	// The Role reaches no further than the manager's namespace.
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "elsewhere"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "manager", Image: "mailshift:v1"}}}}
	mustCreate(other)
	if _, err := ownWorkerImage(ctx, asManager, "default", other.Name, 0); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("read a pod of another namespace: %v, want forbidden", err)
	}

	// Missing pod, missing downward-API variables: an error that says both ways to fix it.
	for _, name := range []string{"no-such-pod", ""} {
		_, err := ownWorkerImage(ctx, asManager, ns, name, 0)
		if !errors.Is(err, errNoWorkerImage) || !strings.Contains(err.Error(), "--worker-image") || !strings.Contains(err.Error(), "POD_NAME") {
			t.Errorf("pod %q: %v, want an error naming --worker-image and POD_NAME", name, err)
		}
	}

	// The manager itself refuses to start without a worker image, before it does anything else.
	err = run(ctx, env.Config, managerOptions{metricsAddr: "0", probeAddr: "0", controllers: controllers.Options{Executor: "job"}})
	if !errors.Is(err, errNoWorkerImage) {
		t.Errorf("run without a worker image: %v, want errNoWorkerImage", err)
	}
}
