package controllers

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/migrationrun"
)

// TestWorkerJobPullSecrets: the names given with --worker-image-pull-secrets reach the worker pod's
// imagePullSecrets, and a name no Secret can have is refused with the name in the error.
func TestWorkerJobPullSecrets(t *testing.T) {
	refs, err := imagePullSecrets([]string{"registry-a", "registry.b"})
	if err != nil {
		t.Fatal(err)
	}
	e := &JobExecutor{Client: k8s, Image: "mailshift:test", ImagePullSecrets: refs}
	mig := &mailshiftv1.MailboxMigration{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "alice", UID: "u-1"}}
	j, err := e.job(mig, &migrationPlan{run: "alice-1", spec: migrationrun.Spec{Source: migrationrun.Source{IMAP: &migrationrun.IMAPSource{}}}}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []corev1.LocalObjectReference{{Name: "registry-a"}, {Name: "registry.b"}}
	if got := j.Spec.Template.Spec.ImagePullSecrets; !slices.Equal(got, want) {
		t.Errorf("worker pod imagePullSecrets %v, want %v", got, want)
	}
	// Each Job has its own copy: changing one pod spec does not change the next Job's.
	j.Spec.Template.Spec.ImagePullSecrets[0].Name = "changed"
	j2, _ := e.job(mig, &migrationPlan{run: "alice-2", spec: migrationrun.Spec{Source: migrationrun.Source{IMAP: &migrationrun.IMAPSource{}}}}, false)
	if got := j2.Spec.Template.Spec.ImagePullSecrets; !slices.Equal(got, want) {
		t.Errorf("second Job's imagePullSecrets %v, want %v", got, want)
	}

	none, _ := (&JobExecutor{Client: k8s, Image: "mailshift:test"}).job(mig, &migrationPlan{run: "alice-3"}, false)
	if got := none.Spec.Template.Spec.ImagePullSecrets; got != nil {
		t.Errorf("no pull Secrets configured, pod has %v", got)
	}

	for _, bad := range []string{"Registry", "a_b", "-a", strings.Repeat("a", 254), ""} {
		if _, err := imagePullSecrets([]string{"ok", bad}); err == nil || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("pull Secret %q: error %v, want one naming it", bad, err)
		}
	}
}

// TestSecretCacheHoldsIdentityOnly: what the Secret informer stores keeps the name a change trigger needs
// and nothing of the contents, not even the copy kubectl apply leaves in an annotation.
func TestSecretCacheHoldsIdentityOnly(t *testing.T) {
	const value = "c2VjcmV0LXBhc3N3b3Jk"
	meta := metav1.ObjectMeta{Namespace: "team-a", Name: "alice", UID: "u-1", ResourceVersion: "42",
		Labels:        map[string]string{"team": "a"},
		Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"data":{"password":"` + value + `"}}`},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", FieldsV1: metav1.NewFieldsV1(`{"f:data":{"f:password":{}}}`)}}}
	for _, in := range []any{
		&metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: *meta.DeepCopy()},
		&corev1.Secret{ObjectMeta: *meta.DeepCopy(), Data: map[string][]byte{"password": []byte("secret-password")}},
	} {
		out, err := secretIdentityOnly(in)
		if err != nil {
			t.Fatal(err)
		}
		var m metav1.Object
		switch o := out.(type) {
		case *metav1.PartialObjectMetadata:
			m = o
			if o.Kind != "Secret" {
				t.Errorf("kind lost: %+v", o.TypeMeta)
			}
		case *corev1.Secret:
			m = o
			if len(o.Data) != 0 || len(o.StringData) != 0 {
				t.Errorf("typed Secret keeps its data: %v", o.Data)
			}
		default:
			t.Fatalf("transform returned %T", out)
		}
		if m.GetNamespace() != "team-a" || m.GetName() != "alice" || m.GetUID() != "u-1" || m.GetResourceVersion() != "42" {
			t.Errorf("identity lost: %s/%s uid %s rv %s", m.GetNamespace(), m.GetName(), m.GetUID(), m.GetResourceVersion())
		}
		if len(m.GetAnnotations()) != 0 || len(m.GetLabels()) != 0 || len(m.GetManagedFields()) != 0 {
			t.Errorf("%T keeps annotations %v, labels %v or managed fields", out, m.GetAnnotations(), m.GetLabels())
		}
	}
	// Anything else passes unchanged.
	cm := &corev1.ConfigMap{ObjectMeta: meta}
	if out, _ := secretIdentityOnly(cm); out != cm {
		t.Error("a ConfigMap was transformed")
	}
}
