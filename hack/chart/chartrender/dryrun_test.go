package chartrender_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/mailshift/mailshift/hack/chart/chartrender"
	"github.com/mailshift/mailshift/internal/testenv"
)

// TestServerSideDryRun sends every object the chart renders, in both configurations, and every object of the
// kustomize builds (config/default, config/inprocess and the overlays), to a real kube-apiserver as a
// server-side dry-run apply: the server's own validation (schemas, CEL rules, defaults, RBAC object rules)
// accepts them all. The chart's CRDs are installed for real first, from the chart itself.
//
// The server has no Prometheus Operator, so ServiceMonitor and PrometheusRule get minimal stand-in CRDs
// (monitoringStandInCRDs: the right group, kinds and scope, any spec accepted): those two kinds are checked
// for apiVersion, kind, scope and metadata only, not against the Prometheus Operator's schemas.
func TestServerSideDryRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env := &envtest.Environment{BinaryAssetsDirectory: testenv.BinDir(), CRDInstallOptions: envtest.CRDInstallOptions{
		CRDs: monitoringStandInCRDs(),
	}}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start kube-apiserver (needs KUBEBUILDER_ASSETS or `make controlplane`): %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := dc.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver %s", sv.GitVersion)
	for _, ns := range append([]string{"mailshift-system"}, watchNamespaces...) {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}

	// The chart's CRDs, for real.
	defaults, err := chartrender.Render(ctx, chartrender.ChartDir(), nil, chartrender.Options{KubeVersion: sv.GitVersion})
	if err != nil {
		t.Fatal(err)
	}
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, o := range defaults.Find("CustomResourceDefinition", "") {
		crd := convert[apiextensionsv1.CustomResourceDefinition](t, o)
		if err := c.Create(ctx, crd); err != nil {
			t.Fatalf("install CRD %s: %v", crd.Name, err)
		}
		crds = append(crds, crd)
	}
	if err := envtest.WaitForCRDs(cfg, crds, envtest.CRDInstallOptions{MaxTime: time.Minute, PollInterval: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}

	for _, conf := range configurations {
		t.Run("chart/"+conf.name, func(t *testing.T) {
			r, err := chartrender.Render(ctx, chartrender.ChartDir(), conf.values(), chartrender.Options{KubeVersion: sv.GitVersion})
			if err != nil {
				t.Fatal(err)
			}
			dryRunAll(ctx, t, c, r.Objects)
		})
	}
	t.Run("a broken object is refused", func(t *testing.T) {
		// The check above can fail: the server refuses what its validation rejects.
		d := one(t, defaults, "Deployment", "mailshift").DeepCopy()
		if err := unstructured.SetNestedField(d.Object, int64(-1), "spec", "replicas"); err != nil {
			t.Fatal(err)
		}
		err := c.Patch(ctx, d, client.Apply, client.DryRunAll, client.ForceOwnership, client.FieldOwner("mailshift-chart-test")) //nolint:staticcheck // Patch with Apply keeps unstructured simple
		if !apierrors.IsInvalid(err) {
			t.Errorf("Deployment with replicas -1: %v, want Invalid", err)
		}
	})
	kubectl := filepath.Join(testenv.BinDir(), "kubectl")
	for _, dir := range []string{"config/default", "config/inprocess", "config/overlays/prometheus", "config/overlays/network-policy"} {
		t.Run("kustomize/"+dir, func(t *testing.T) {
			out, err := exec.CommandContext(ctx, kubectl, "kustomize", filepath.Join(testenv.RepoRoot(), dir)).Output()
			if err != nil {
				t.Fatalf("kubectl kustomize %s: %v %s", dir, err, stderr(err))
			}
			objs, err := chartrender.SplitObjects(string(out))
			if err != nil {
				t.Fatal(err)
			}
			dryRunAll(ctx, t, c, objs)
			checkKustomizedManager(t, objs)
		})
	}
}

// dryRunAll applies every object with dryRun=All, and fails for each one the server refuses.
func dryRunAll(ctx context.Context, t *testing.T, c client.Client, objs []*unstructured.Unstructured) {
	t.Helper()
	if len(objs) == 0 {
		t.Fatal("no objects")
	}
	kinds := map[string]int{}
	for _, o := range objs {
		o = o.DeepCopy()
		o.SetManagedFields(nil)
		err := c.Patch(ctx, o, client.Apply, client.DryRunAll, client.ForceOwnership, client.FieldOwner("mailshift-chart-test")) //nolint:staticcheck // Patch with Apply keeps unstructured simple
		if err != nil {
			t.Errorf("%s %s/%s refused: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
			continue
		}
		kinds[o.GetKind()]++
	}
	t.Logf("accepted: %v", kinds)
	// The dry run really ran: none of the namespaced workloads exists afterwards.
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(o.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(o), got); !apierrors.IsNotFound(err) {
			t.Errorf("Deployment %s exists after a dry run (err %v)", o.GetName(), err)
		}
	}
}

// checkKustomizedManager: the kustomize Deployment runs the chart's default image and finds its worker image
// from its own Pod, which its RBAC lets it read.
func checkKustomizedManager(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	r := &chartrender.Rendered{Objects: objs}
	d := convert[appsv1.Deployment](t, one(t, r, "Deployment", "mailshift-manager"))
	c := manager(t, d)
	if !strings.HasPrefix(c.Image, "ghcr.io/mailshift/mailshift:") {
		t.Errorf("kustomize image %q, want the chart's repository ghcr.io/mailshift/mailshift", c.Image)
	}
	chartTag := strings.TrimPrefix(convert[appsv1.Deployment](t, one(t, render(t, nil), "Deployment", "mailshift")).Spec.Template.Spec.Containers[0].Image, "ghcr.io/mailshift/mailshift:")
	if tag := strings.TrimPrefix(c.Image, "ghcr.io/mailshift/mailshift:"); tag != chartTag {
		t.Errorf("kustomize tag %q, chart tag %q: the two installs must run the same image", tag, chartTag)
	}
	assertDownwardAPI(t, c)
	found := false
	for _, o := range r.Find("Role", "") {
		role := convert[rbacv1.Role](t, o)
		if role.Namespace == d.Namespace && grantsVerb(role.Rules, "pods", "get") {
			found = true
		}
	}
	if !found {
		t.Errorf("no Role lets the manager get its own Pod in %s", d.Namespace)
	}
}

// monitoringStandInCRDs are minimal stand-ins for the Prometheus Operator's ServiceMonitor and
// PrometheusRule CRDs: same group, versions, kinds and scope, and a spec of any shape.
func monitoringStandInCRDs() []*apiextensionsv1.CustomResourceDefinition {
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, k := range []struct{ kind, plural string }{{"ServiceMonitor", "servicemonitors"}, {"PrometheusRule", "prometheusrules"}} {
		preserve := true
		out = append(out, &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: k.plural + ".monitoring.coreos.com",
				Annotations: map[string]string{"mailshift.io/test-stand-in": "minimal CRD, not the Prometheus Operator's schema"}},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: "monitoring.coreos.com",
				Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: k.kind, ListKind: k.kind + "List", Plural: k.plural, Singular: strings.ToLower(k.kind)},
				Scope: apiextensionsv1.NamespaceScoped,
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: "v1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object",
						Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"spec": {Type: "object", XPreserveUnknownFields: &preserve},
						},
					}},
				}},
			},
		})
	}
	return out
}

func stderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return fmt.Sprint(err)
}
