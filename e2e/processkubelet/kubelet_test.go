package processkubelet_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/mailshift/mailshift/e2e/cluster"
	"github.com/mailshift/mailshift/e2e/processkubelet"
)

// One control plane and one process kubelet serve every test in this package; each test works in its own
// namespace and runs in parallel with the others.
var (
	setupOnce sync.Once
	setupErr  error
	cl        *cluster.Cluster
	kubelet   *processkubelet.Kubelet
	stopAll   = func() {}
	workDir   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	stopAll()
	os.Exit(code)
}

func shared(t *testing.T) (*cluster.Cluster, *processkubelet.Kubelet) {
	t.Helper()
	setupOnce.Do(func() {
		kubectl, err := cluster.Binary("kubectl")
		if err != nil {
			setupErr = err
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		c, err := cluster.Start(ctx, cluster.Options{})
		if err != nil {
			cancel()
			setupErr = err
			return
		}
		// Under /tmp on purpose: TestServiceAccountKubeconfig mounts an emptyDir there.
		workDir, err = os.MkdirTemp("/tmp", "processkubelet-test-")
		if err != nil {
			cancel()
			_ = c.Stop()
			setupErr = err
			return
		}
		k, err := processkubelet.New(processkubelet.Options{
			Config:   c.Config,
			NodeName: "e2e-node",
			WorkDir:  workDir,
			Binaries: map[string]string{"/bin/sh": "/bin/sh", "kubectl": kubectl},
			// Containers with no Binaries entry run their images from the test registry (image_test.go).
			PullImages: true,
			Logf:       func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) },
		})
		if err == nil {
			err = k.Start(ctx)
		}
		if err != nil {
			cancel()
			_ = c.Stop()
			setupErr = err
			return
		}
		cl, kubelet = c, k
		stopAll = func() {
			cancel()
			k.Stop()
			if err := c.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "stop cluster:", err)
			}
			_ = os.RemoveAll(workDir)
		}
	})
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	return cl, kubelet
}

// namespace makes a fresh namespace for t, ready for Pods.
func namespace(ctx context.Context, t *testing.T) string {
	t.Helper()
	c, _ := shared(t)
	ns := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	if len(ns) > 50 {
		ns = ns[:50]
	}
	ns = strings.Trim(ns, "-") + "-" + rand.String(4)
	if err := c.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	return ns
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 75*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond every 100 ms until it returns true, failing t with what and the last error or dump.
func eventually(ctx context.Context, t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := ""
	for {
		ok, detail := cond()
		if ok {
			return
		}
		last = detail
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s\n%s", what, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func dump(o any) string {
	b, _ := yaml.Marshal(o)
	return string(b)
}

func podsOf(ctx context.Context, t *testing.T, ns string, labels map[string]string) []corev1.Pod {
	t.Helper()
	c, _ := shared(t)
	var pods corev1.PodList
	if err := c.Client.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels(labels)); err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

func jobCondition(job *batchv1.Job, typ batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if c := &job.Status.Conditions[i]; c.Type == typ && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

// waitJob waits for the Job to reach condition typ (Complete or Failed), failing on the other one.
func waitJob(ctx context.Context, t *testing.T, job *batchv1.Job, typ batchv1.JobConditionType, timeout time.Duration) *batchv1.Job {
	t.Helper()
	c, _ := shared(t)
	other := batchv1.JobFailed
	if typ == batchv1.JobFailed {
		other = batchv1.JobComplete
	}
	var got batchv1.Job
	eventually(ctx, t, timeout, fmt.Sprintf("Job %s/%s %s", job.Namespace, job.Name, typ), func() (bool, string) {
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(job), &got); err != nil {
			return false, err.Error()
		}
		if cond := jobCondition(&got, other); cond != nil {
			t.Fatalf("Job %s/%s is %s (%s: %s), want %s\njob status:\n%s\npods:\n%s", job.Namespace, job.Name, other,
				cond.Reason, cond.Message, typ, dump(got.Status), dump(podsOf(ctx, t, job.Namespace, map[string]string{"job-name": job.Name})))
		}
		return jobCondition(&got, typ) != nil, "job status:\n" + dump(got.Status) + "\npods:\n" +
			dump(podsOf(ctx, t, job.Namespace, map[string]string{"job-name": job.Name}))
	})
	return &got
}

// hostPathClaim creates a static hostPath PersistentVolume on dir and a claim that the PV binder binds to it.
func hostPathClaim(ctx context.Context, t *testing.T, ns, name, dir string) {
	t.Helper()
	c, _ := shared(t)
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}},
			ClaimRef:                      &corev1.ObjectReference{Namespace: ns, Name: name},
		},
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: ptr.To(""),
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	for _, o := range []client.Object{pv, pvc} {
		if err := c.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = c.Client.Delete(context.Background(), pv) })
	eventually(ctx, t, 30*time.Second, "the PV binder to bind claim "+name, func() (bool, string) {
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(pvc), pvc); err != nil {
			return false, err.Error()
		}
		return pvc.Status.Phase == corev1.ClaimBound, dump(pvc.Status)
	})
}

func shJob(ns, name, script string, args ...string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](2),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{
					Name:    "work",
					Image:   "mailshift/test:none",
					Command: append([]string{"/bin/sh", "-c", script, "sh"}, args...),
				}},
			}},
		},
	}
}

func create(ctx context.Context, t *testing.T, objs ...client.Object) {
	t.Helper()
	c, _ := shared(t)
	for _, o := range objs {
		if err := c.Client.Create(ctx, o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

// (a) Secret env, secret volume and PVC directory reach the process; the Job completes and the termination
// message is what the process wrote to /dev/termination-log.
func TestJobSecretsVolumesTerminationMessage(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	ns := namespace(ctx, t)
	pvDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(pvDir, "input.txt"), []byte("from-pvc"), 0o644); err != nil {
		t.Fatal(err)
	}
	hostPathClaim(ctx, t, ns, "data", pvDir)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds"},
		Data:       map[string][]byte{"password": []byte("s3cret-pw"), "token": []byte("tok-123")},
	}
	job := shJob(ns, "copy",
		`printf 'env=%s file=%s pvc=%s pod=%s' "$PASSWORD" "$(cat "$1")" "$(cat "$2")" "$POD_NAME" >"$3" && echo written >"$2.out" && printf %s "$SPEC" >"$2.spec"`,
		"/etc/creds/token", "/data/input.txt", "/dev/termination-log")
	spec := &job.Spec.Template.Spec
	spec.Volumes = []corev1.Volume{
		{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds",
			Items: []corev1.KeyToPath{{Key: "token", Path: "token"}}}}},
		{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
	}
	spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "creds", MountPath: "/etc/creds", ReadOnly: true}, {Name: "data", MountPath: "/data"}}
	spec.Containers[0].Env = []corev1.EnvVar{
		{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		// Paths inside a JSON value (as the mailshift worker's spec carries them) are rewritten too.
		{Name: "SPEC", Value: `{"password":{"file":"/etc/creds/token"},"spool":"/data","other":"/elsewhere","n":12345678901234567890}`},
	}
	create(ctx, t, secret, job)
	waitJob(ctx, t, job, batchv1.JobComplete, 40*time.Second)

	pods := podsOf(ctx, t, ns, map[string]string{"job-name": "copy"})
	if len(pods) != 1 {
		t.Fatalf("%d pods, want 1:\n%s", len(pods), dump(pods))
	}
	pod := pods[0]
	if pod.Status.Phase != corev1.PodSucceeded || len(pod.Status.ContainerStatuses) != 1 || pod.Status.ContainerStatuses[0].State.Terminated == nil {
		t.Fatalf("pod status:\n%s", dump(pod.Status))
	}
	term := pod.Status.ContainerStatuses[0].State.Terminated
	want := "env=s3cret-pw file=tok-123 pvc=from-pvc pod=" + pod.Name
	if term.Message != want || term.ExitCode != 0 || term.Reason != "Completed" {
		t.Errorf("terminated = %+v, want message %q, exit code 0, reason Completed", term, want)
	}
	if pod.Spec.NodeName != "e2e-node" || pod.Status.PodIP != "127.0.0.1" || pod.Status.StartTime == nil {
		t.Errorf("nodeName %q podIP %q startTime %v", pod.Spec.NodeName, pod.Status.PodIP, pod.Status.StartTime)
	}
	if b, err := os.ReadFile(filepath.Join(pvDir, "input.txt.out")); err != nil || string(b) != "written\n" {
		t.Errorf("file written through the PVC mount: %q, %v", b, err)
	}
	var seen struct {
		Password struct{ File string }
		Spool    string
		Other    string
		N        json.Number
	}
	b, err := os.ReadFile(filepath.Join(pvDir, "input.txt.spec"))
	if err == nil {
		err = json.Unmarshal(b, &seen)
	}
	if err != nil {
		t.Fatalf("SPEC as the process saw it: %q: %v", b, err)
	}
	if tok, err := os.ReadFile(seen.Password.File); err != nil || string(tok) != "tok-123" ||
		seen.Spool != pvDir || seen.Other != "/elsewhere" || seen.N != "12345678901234567890" {
		t.Errorf("SPEC as the process saw it: %s (secret file: %q, %v)", b, tok, err)
	}
}

// (b) The first attempt exits 3, the second succeeds: the real Job controller retries.
func TestJobRetriedAfterFailure(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	ns := namespace(ctx, t)
	hostPathClaim(ctx, t, ns, "state", t.TempDir())
	job := shJob(ns, "retry",
		`if [ -e "$1/attempted" ]; then echo second-attempt >"$2"; else touch "$1/attempted"; echo first-attempt >"$2"; exit 3; fi`,
		"/state", "/dev/termination-log")
	spec := &job.Spec.Template.Spec
	spec.Volumes = []corev1.Volume{{Name: "state", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "state"}}}}
	spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "state", MountPath: "/state"}}
	create(ctx, t, job)
	got := waitJob(ctx, t, job, batchv1.JobComplete, 50*time.Second)
	if got.Status.Failed != 1 || got.Status.Succeeded != 1 {
		t.Errorf("status.failed = %d, status.succeeded = %d, want 1 and 1", got.Status.Failed, got.Status.Succeeded)
	}
	codes := map[int32]string{}
	for _, p := range podsOf(ctx, t, ns, map[string]string{"job-name": "retry"}) {
		if st := p.Status.ContainerStatuses; len(st) == 1 && st[0].State.Terminated != nil {
			codes[st[0].State.Terminated.ExitCode] = strings.TrimSpace(st[0].State.Terminated.Message) + "/" + string(p.Status.Phase)
		}
	}
	if codes[3] != "first-attempt/Failed" || codes[0] != "second-attempt/Succeeded" {
		t.Errorf("pods by exit code: %v", codes)
	}
}

// (c) podFailurePolicy FailJob on exit code 42.
func TestJobPodFailurePolicy(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	ns := namespace(ctx, t)
	job := shJob(ns, "fatal", `echo bad input >&2; exit 42`)
	job.Spec.BackoffLimit = ptr.To[int32](6)
	job.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
		Action:      batchv1.PodFailurePolicyActionFailJob,
		OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}},
	}}}
	job.Spec.Template.Spec.Containers[0].TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
	create(ctx, t, job)
	got := waitJob(ctx, t, job, batchv1.JobFailed, 40*time.Second)
	if c := jobCondition(got, batchv1.JobFailed); c.Reason != batchv1.JobReasonPodFailurePolicy {
		t.Errorf("Failed reason = %q, want %s", c.Reason, batchv1.JobReasonPodFailurePolicy)
	}
	pods := podsOf(ctx, t, ns, map[string]string{"job-name": "fatal"})
	if len(pods) != 1 {
		t.Fatalf("%d pods, want 1 (no retry)", len(pods))
	}
	term := pods[0].Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.ExitCode != 42 || term.Message != "bad input\n" {
		t.Errorf("terminated = %+v, want exit code 42 with the log as message (FallbackToLogsOnError)", term)
	}
}

// (d) Suspending a running Job kills its process and its Pod goes away.
func TestJobSuspendKillsProcess(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c, k := shared(t)
	ns := namespace(ctx, t)
	job := shJob(ns, "long", `echo started; sleep 300`)
	create(ctx, t, job)
	var pod corev1.Pod
	pid := 0
	eventually(ctx, t, 30*time.Second, "the Job's pod to run", func() (bool, string) {
		pods := podsOf(ctx, t, ns, map[string]string{"job-name": "long"})
		if len(pods) != 1 || pods[0].Status.Phase != corev1.PodRunning {
			return false, dump(pods)
		}
		pod = pods[0]
		var ok bool
		pid, ok = k.PID(ns, pod.Name, "work")
		return ok, "no PID"
	})
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("process %d of a running pod: %v", pid, err)
	}
	if err := c.Client.Patch(ctx, job, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"suspend":true}}`))); err != nil {
		t.Fatal(err)
	}
	// Within the 30 s grace period: the process got SIGTERM, not just the SIGKILL at its end.
	eventually(ctx, t, 20*time.Second, "the suspended Job's pod to be gone", func() (bool, string) {
		err := c.Client.Get(ctx, client.ObjectKeyFromObject(&pod), &corev1.Pod{})
		return apierrors.IsNotFound(err), fmt.Sprintf("get pod: %v", err)
	})
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d still exists after its pod was deleted (kill 0: %v)", pid, err)
	}
	if _, ok := k.PID(ns, pod.Name, "work"); ok {
		t.Errorf("PID still reported for a deleted pod")
	}
	if b, _ := os.ReadFile(k.LogPath(ns, pod.Name, "work")); string(b) != "started\n" {
		t.Errorf("log = %q, want %q", b, "started\n")
	}
	got := waitJob(ctx, t, job, batchv1.JobSuspended, 20*time.Second)
	if got.Status.Active != 0 {
		t.Errorf("suspended Job has %d active pods", got.Status.Active)
	}
}

// (e) The TokenRequest kubeconfig authenticates as the Pod's ServiceAccount: allowed with a Role, forbidden
// without.
func TestServiceAccountKubeconfig(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	ns := namespace(ctx, t)
	create(ctx, t,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nobody"}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "read-configmaps"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "read-configmaps"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "reader"}}},
	)
	pod := func(sa string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sa},
			Spec: corev1.PodSpec{
				ServiceAccountName: sa,
				RestartPolicy:      corev1.RestartPolicyNever,
				// An emptyDir over /tmp, where the kubelet's WorkDir (and so KUBECONFIG and HOME) lives in this
				// test: the kubelet's own paths must not be rewritten into it.
				Volumes: []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				Containers: []corev1.Container{{
					Name: "kubectl", Image: "kubectl",
					VolumeMounts:             []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
					Command:                  []string{"kubectl", "--kubeconfig=$(KUBECONFIG)", "get", "configmaps", "-o", "name"},
					TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
				}},
			},
		}
	}
	create(ctx, t, pod("reader"), pod("nobody"))
	c, k := shared(t)
	final := func(name string) *corev1.Pod {
		var p corev1.Pod
		eventually(ctx, t, 40*time.Second, "pod "+name+" to finish", func() (bool, string) {
			if err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &p); err != nil {
				return false, err.Error()
			}
			return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed, dump(p.Status)
		})
		return &p
	}
	if p := final("reader"); p.Status.Phase != corev1.PodSucceeded {
		t.Errorf("kubectl as reader failed:\n%s", dump(p.Status))
	}
	if b, _ := os.ReadFile(k.LogPath(ns, "reader", "kubectl")); !strings.Contains(string(b), "configmap/kube-root-ca.crt") {
		t.Errorf("kubectl as reader printed %q, want configmap/kube-root-ca.crt", b)
	}
	p := final("nobody")
	msg := ""
	if st := p.Status.ContainerStatuses; len(st) == 1 && st[0].State.Terminated != nil {
		msg = st[0].State.Terminated.Message
	}
	if p.Status.Phase != corev1.PodFailed || !strings.Contains(msg, "forbidden") ||
		!strings.Contains(msg, "system:serviceaccount:"+ns+":nobody") {
		t.Errorf("kubectl as nobody: phase %s, message %q; want Failed with a forbidden error naming the ServiceAccount", p.Status.Phase, msg)
	}
}

// A missing Secret keeps the container waiting with CreateContainerConfigError until it exists.
func TestMissingSecretWaits(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c, _ := shared(t)
	ns := namespace(ctx, t)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "needs-secret"},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: "c", Image: "none", Command: []string{"/bin/sh", "-c", `printf %s "$KEY" >"$1"`, "sh", "/dev/termination-log"},
			Env: []corev1.EnvVar{{Name: "KEY", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "later"}, Key: "k"}}}},
		}}},
	}
	create(ctx, t, p)
	eventually(ctx, t, 30*time.Second, "CreateContainerConfigError", func() (bool, string) {
		_ = c.Client.Get(ctx, client.ObjectKeyFromObject(p), p)
		st := p.Status.ContainerStatuses
		return p.Status.Phase == corev1.PodPending && len(st) == 1 && st[0].State.Waiting != nil &&
			st[0].State.Waiting.Reason == "CreateContainerConfigError" &&
			st[0].State.Waiting.Message == `secret "later" not found`, dump(p.Status)
	})
	create(ctx, t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "later"}, Data: map[string][]byte{"k": []byte("v1")}})
	eventually(ctx, t, 30*time.Second, "the pod to succeed once the Secret exists", func() (bool, string) {
		_ = c.Client.Get(ctx, client.ObjectKeyFromObject(p), p)
		st := p.Status.ContainerStatuses
		return p.Status.Phase == corev1.PodSucceeded && st[0].State.Terminated.Message == "v1", dump(p.Status)
	})
}

// A nodeSelector the Node does not match leaves the Pod Pending and Unschedulable.
func TestUnschedulable(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c, _ := shared(t)
	ns := namespace(ctx, t)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "elsewhere"},
		Spec: corev1.PodSpec{NodeSelector: map[string]string{"disk": "ssd"}, Containers: []corev1.Container{{
			Name: "c", Image: "none", Command: []string{"/bin/sh", "-c", "true"}}}},
	}
	create(ctx, t, p)
	eventually(ctx, t, 20*time.Second, "PodScheduled=False Unschedulable", func() (bool, string) {
		_ = c.Client.Get(ctx, client.ObjectKeyFromObject(p), p)
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
				return true, ""
			}
		}
		return false, dump(p.Status)
	})
	if p.Spec.NodeName != "" || p.Status.Phase != corev1.PodPending {
		t.Errorf("nodeName %q phase %s", p.Spec.NodeName, p.Status.Phase)
	}
}

// SIGKILL through PID: the container is terminated with exit code 137 and signal 9; with OnFailure it is
// restarted, the restart counted, and the Pod then succeeds (state kept in an emptyDir).
func TestKillAndRestart(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c, k := shared(t)
	ns := namespace(ctx, t)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "crashy"},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyOnFailure,
			Volumes:       []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			Containers: []corev1.Container{{
				Name: "c", Image: "none",
				Command:      []string{"/bin/sh", "-c", `if [ -e "$1/ran" ]; then echo again >"$2"; exit 0; fi; touch "$1/ran"; sleep 300`, "sh", "/scratch", "/dev/termination-log"},
				VolumeMounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}},
			}},
		},
	}
	create(ctx, t, p)
	pid := 0
	eventually(ctx, t, 30*time.Second, "the pod to run", func() (bool, string) {
		var ok bool
		pid, ok = k.PID(ns, "crashy", "c")
		return ok, "no PID"
	})
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(ctx, t, 30*time.Second, "the restarted pod to succeed", func() (bool, string) {
		_ = c.Client.Get(ctx, client.ObjectKeyFromObject(p), p)
		return p.Status.Phase == corev1.PodSucceeded, dump(p.Status)
	})
	st := p.Status.ContainerStatuses[0]
	if last := st.LastTerminationState.Terminated; st.RestartCount != 1 || last == nil || last.ExitCode != 137 || last.Signal != 9 {
		t.Errorf("restartCount %d, lastState %+v; want 1 and a termination with exit code 137, signal 9", st.RestartCount, last)
	}
	if term := st.State.Terminated; term == nil || term.Message != "again\n" {
		t.Errorf("state %+v", st.State)
	}
}

// activeDeadlineSeconds fails the Pod with DeadlineExceeded and kills its process.
func TestActiveDeadline(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c, _ := shared(t)
	ns := namespace(ctx, t)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "slow"},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, ActiveDeadlineSeconds: ptr.To[int64](2),
			Containers: []corev1.Container{{Name: "c", Image: "none", Command: []string{"/bin/sh", "-c", "sleep 300"}}}},
	}
	create(ctx, t, p)
	eventually(ctx, t, 30*time.Second, "DeadlineExceeded", func() (bool, string) {
		_ = c.Client.Get(ctx, client.ObjectKeyFromObject(p), p)
		return p.Status.Phase == corev1.PodFailed && p.Status.Reason == "DeadlineExceeded", dump(p.Status)
	})
	if term := p.Status.ContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 143 {
		t.Errorf("container state %+v, want terminated by SIGTERM (143)", p.Status.ContainerStatuses[0].State)
	}
}

// runAsNonRoot with runAsUser 0 is refused as the kubelet refuses it.
func TestRunAsNonRootRefused(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c, _ := shared(t)
	ns := namespace(ctx, t)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "root"},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](0)},
			Containers:      []corev1.Container{{Name: "c", Image: "none", Command: []string{"/bin/sh", "-c", "true"}}},
		},
	}
	create(ctx, t, p)
	eventually(ctx, t, 20*time.Second, "CreateContainerConfigError", func() (bool, string) {
		_ = c.Client.Get(ctx, client.ObjectKeyFromObject(p), p)
		st := p.Status.ContainerStatuses
		return len(st) == 1 && st[0].State.Waiting != nil && st[0].State.Waiting.Reason == "CreateContainerConfigError" &&
			strings.Contains(st[0].State.Waiting.Message, "breaks non-root policy"), dump(p.Status)
	})
}

// Twenty Pods of one Job run at once.
func TestManyPods(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	ns := namespace(ctx, t)
	job := shJob(ns, "wide", `sleep 1; printf %s "$POD_NAME" >"$1"`, "/dev/termination-log")
	job.Spec.Parallelism, job.Spec.Completions = ptr.To[int32](20), ptr.To[int32](20)
	job.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "POD_NAME",
		ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
	create(ctx, t, job)
	got := waitJob(ctx, t, job, batchv1.JobComplete, 60*time.Second)
	if got.Status.Succeeded != 20 || got.Status.Failed != 0 {
		t.Errorf("succeeded %d failed %d", got.Status.Succeeded, got.Status.Failed)
	}
	for _, p := range podsOf(ctx, t, ns, map[string]string{"job-name": "wide"}) {
		if term := p.Status.ContainerStatuses[0].State.Terminated; term == nil || term.Message != p.Name {
			t.Errorf("pod %s: state %+v", p.Name, p.Status.ContainerStatuses[0].State)
		}
	}
}

// Init containers run one after the other before the container; the ServiceAccount admission plugin's
// projected kube-api-access volume is mapped like any other volume.
func TestInitContainersAndProjectedToken(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c, _ := shared(t)
	ns := namespace(ctx, t)
	step := func(name, text string) corev1.Container {
		return corev1.Container{Name: name, Image: "none",
			Command:      []string{"/bin/sh", "-c", `echo "$2" >>"$1/order"`, "sh", "/work", text},
			VolumeMounts: []corev1.VolumeMount{{Name: "work", MountPath: "/work"}}}
	}
	const sa = "/var/run/secrets/kubernetes.io/serviceaccount"
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "inits"},
		Spec: corev1.PodSpec{
			RestartPolicy:  corev1.RestartPolicyNever,
			Volumes:        []corev1.Volume{{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			InitContainers: []corev1.Container{step("one", "first"), step("two", "second")},
			Containers: []corev1.Container{{
				Name: "main", Image: "none",
				Command: []string{"/bin/sh", "-c",
					`{ cat "$1/order"; cat "$2/namespace"; echo; test -s "$2/token" && grep -q "BEGIN CERTIFICATE" "$2/ca.crt" && echo token-and-ca; } >"$3"`,
					"sh", "/work", sa, "/dev/termination-log"},
				VolumeMounts: []corev1.VolumeMount{{Name: "work", MountPath: "/work"}},
			}},
		},
	}
	create(ctx, t, p)
	eventually(ctx, t, 30*time.Second, "the pod to succeed", func() (bool, string) {
		_ = c.Client.Get(ctx, client.ObjectKeyFromObject(p), p)
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed, dump(p.Status)
	})
	want := "first\nsecond\n" + ns + "\ntoken-and-ca\n"
	if p.Status.Phase != corev1.PodSucceeded || p.Status.ContainerStatuses[0].State.Terminated.Message != want {
		t.Fatalf("want Succeeded with message %q:\n%s", want, dump(p.Status))
	}
	hasProjected := false
	for _, v := range p.Spec.Volumes {
		hasProjected = hasProjected || v.Projected != nil
	}
	if !hasProjected {
		t.Errorf("the ServiceAccount admission plugin added no projected token volume: %s", dump(p.Spec.Volumes))
	}
	for _, st := range p.Status.InitContainerStatuses {
		if st.State.Terminated == nil || st.State.Terminated.ExitCode != 0 || !st.Ready {
			t.Errorf("init container %s: %s", st.Name, dump(st))
		}
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodInitialized && cond.Status != corev1.ConditionTrue {
			t.Errorf("Initialized = %s", cond.Status)
		}
	}
}
