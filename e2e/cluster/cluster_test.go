package cluster_test

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/e2e/cluster"
)

// TestControllers checks, without any kubelet, that the controllers Start promises are really running: the
// Job controller creates a Pod, the garbage collector deletes it with its Job, the PV binder binds a static
// PV to a claim, and the CRDs are served.
func TestControllers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := cluster.Start(ctx, cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kube-controller-manager log tail:\n%s", c.ControllerManagerLogTail(30))
		}
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	const ns = "controllers"
	if err := c.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}

	var mbs mailshiftv1.MailboxList
	if err := c.Client.List(ctx, &mbs, client.InNamespace(ns)); err != nil {
		t.Fatalf("mailshift CRDs not served: %v", err)
	}

	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "j"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "c", Image: "none"}},
		}}},
	}
	if err := c.Client.Create(ctx, job); err != nil {
		t.Fatal(err)
	}
	var pods corev1.PodList
	poll(ctx, t, "the Job controller to create a Pod", func() bool {
		_ = c.Client.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"job-name": "j"})
		return len(pods.Items) == 1
	})
	if got := pods.Items[0].Spec.ServiceAccountName; got != "default" {
		t.Errorf("pod serviceAccountName = %q, want default (ServiceAccount admission)", got)
	}

	if err := c.Client.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
		t.Fatal(err)
	}
	// Unscheduled pods with a deletionTimestamp are removed by the pod garbage collector; the Job
	// controller's finalizer is dropped once the pod is terminating.
	poll(ctx, t, "the garbage collector to delete the Job's Pod", func() bool {
		_ = c.Client.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"job-name": "j"})
		return len(pods.Items) == 0
	})

	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "controllers-pv"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: t.TempDir()}},
		},
	}
	empty := ""
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "claim"},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &empty,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if err := c.Client.Create(ctx, pv); err != nil {
		t.Fatal(err)
	}
	if err := c.Client.Create(ctx, pvc); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the PV binder to bind the claim", func() bool {
		_ = c.Client.Get(ctx, client.ObjectKeyFromObject(pvc), pvc)
		return pvc.Status.Phase == corev1.ClaimBound && pvc.Spec.VolumeName == pv.Name
	})
}

func poll(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
