package chartrender_test

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mailshift/mailshift/hack/chart/chartrender"
)

// watchNamespaces of the everything-on configuration.
var watchNamespaces = []string{"mail-a", "mail-b"}

// everythingOn switches every option of the chart on: namespaced RBAC, three replicas, every optional
// object, and a value for every setting that changes the Deployment.
func everythingOn() map[string]any {
	return map[string]any{
		"watchNamespaces":    []any{watchNamespaces[0], watchNamespaces[1]},
		"replicaCount":       3,
		"imagePullSecrets":   []any{"registry-manager"},
		"image":              map[string]any{"digest": "sha256:" + sixtyFourHex},
		"worker":             map[string]any{"image": "registry.example/mailshift-worker:v9", "imagePullSecrets": []any{"registry-a", "registry-b"}},
		"allowedServerHosts": []any{"*.mail.example", "10.20.0.0/24"},
		"logLevel":           "debug",
		"logFormat":          "console",
		"extraEnv":           []any{map[string]any{"name": "GOMEMLIMIT", "value": "200MiB"}},
		"extraArgs":          []any{"--allow-hostpath-pst-volumes"},
		"priorityClassName":  "system-cluster-critical",
		"podAnnotations":     map[string]any{"example.com/team": "mail"},
		"podLabels":          map[string]any{"example.com/tier": "operator"},
		"nodeSelector":       map[string]any{"kubernetes.io/os": "linux"},
		"tolerations":        []any{map[string]any{"key": "dedicated", "operator": "Equal", "value": "mail", "effect": "NoSchedule"}},
		"serviceAccount":     map[string]any{"annotations": map[string]any{"example.com/identity": "mailshift"}},
		"freebusy": map[string]any{
			"globalNamesNamespace": "mail-a",
			"service":              map[string]any{"enabled": true},
		},
		"metrics": map[string]any{
			"service":        map[string]any{"enabled": true},
			"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}},
		},
		"prometheusRule":   map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}},
		"grafanaDashboard": map[string]any{"enabled": true},
		"networkPolicy": map[string]any{
			"enabled":        true,
			"apiServerCIDRs": []any{"10.0.0.1/32"},
			"serverCIDRs":    []any{"10.20.0.0/24"},
		},
		"argocd": map[string]any{"healthConfigMap": map[string]any{"enabled": true}},
	}
}

const sixtyFourHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// configurations are the two renderings every whole-chart test covers.
var configurations = []struct {
	name   string
	values func() map[string]any
}{
	{"defaults", func() map[string]any { return nil }},
	{"everything-on", everythingOn},
}

func render(t *testing.T, values map[string]any) *chartrender.Rendered {
	t.Helper()
	r, err := chartrender.Render(context.Background(), chartrender.ChartDir(), values, chartrender.Options{})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return r
}

// one returns the single object of kind and name, failing the test otherwise.
func one(t *testing.T, r *chartrender.Rendered, kind, name string) *unstructured.Unstructured {
	t.Helper()
	objs := r.Find(kind, name)
	if len(objs) != 1 {
		t.Fatalf("want exactly one %s %q, got %d; rendered:\n%s", kind, name, len(objs), r.Kinds())
	}
	return objs[0]
}
