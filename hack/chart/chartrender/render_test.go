package chartrender_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/mailshift/mailshift/hack/chart/chartrender"
)

func convert[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	var out T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, &out, true); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return &out
}

func deployment(t *testing.T, r *chartrender.Rendered) *appsv1.Deployment {
	t.Helper()
	return convert[appsv1.Deployment](t, one(t, r, "Deployment", "mailshift"))
}

func manager(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(d.Spec.Template.Spec.Containers))
	}
	return d.Spec.Template.Spec.Containers[0]
}

// flag returns the value of --name=value in args, and whether it is there.
func flag(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func TestDefaults(t *testing.T) {
	r := render(t, nil)
	d := deployment(t, r)
	c := manager(t, d)

	if got, want := c.Image, "ghcr.io/mailshift/mailshift:0.0.0-dev"; got != want {
		t.Errorf("image %q, want %q (repository and the chart's appVersion)", got, want)
	}
	if *d.Spec.Replicas != 1 {
		t.Errorf("replicas %d, want 1", *d.Spec.Replicas)
	}
	if len(r.Find("PodDisruptionBudget", "")) != 0 {
		t.Error("a PodDisruptionBudget with one replica blocks every node drain")
	}
	if len(d.Spec.Template.Spec.TopologySpreadConstraints) != 0 {
		t.Error("topology spread constraints with one replica")
	}
	for name, want := range map[string]string{
		"leader-elect": "true", "worker-executor": "job", "zap-log-level": "info", "zap-encoder": "json",
		"health-probe-bind-address": ":8081", "metrics-bind-address": ":8443", "metrics-secure": "true",
		"freebusy-bind-address": ":8082", "leader-election-namespace": "mailshift-system",
	} {
		if got, ok := flag(c.Args, name); !ok || got != want {
			t.Errorf("--%s=%q (present %v), want %q; args %q", name, got, ok, want, c.Args)
		}
	}
	for _, absent := range []string{"worker-image", "worker-image-pull-secrets", "watch-namespaces", "allowed-server-hosts", "freebusy-global-names-namespace"} {
		if v, ok := flag(c.Args, absent); ok {
			t.Errorf("--%s=%q by default; it must be absent (args %q)", absent, v, c.Args)
		}
	}
	assertDownwardAPI(t, c)
	assertRestricted(t, d)
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" || p.HTTPGet.Port.String() != "probes" {
		t.Errorf("readiness probe %+v, want GET /readyz on port probes", p)
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe %+v, want GET /healthz", p)
	}
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "probes" && p.ContainerPort == 8081 }) {
		t.Errorf("ports %+v: want probes on 8081", c.Ports)
	}

	// Cluster-wide RBAC: one ClusterRole with the reconcilers' rules and the Job executor's, no Roles for them.
	cr := convert[rbacv1.ClusterRole](t, one(t, r, "ClusterRole", "mailshift-manager"))
	for _, res := range []string{"mailboxes", "secrets", "persistentvolumes", "jobs", "serviceaccounts", "roles"} {
		if !grants(cr.Rules, res) {
			t.Errorf("ClusterRole mailshift-manager does not grant %s; rules %+v", res, cr.Rules)
		}
	}
	one(t, r, "ClusterRoleBinding", "mailshift-manager")
	if roles := r.Find("Role", "mailshift-manager"); len(roles) != 0 {
		t.Errorf("cluster-wide install renders %d namespaced manager Roles", len(roles))
	}
	le := convert[rbacv1.Role](t, one(t, r, "Role", "mailshift-leader-election"))
	if le.Namespace != "mailshift-system" || !grants(le.Rules, "leases") || !grantsVerb(le.Rules, "pods", "get") {
		t.Errorf("leader-election Role in %q: want leases and get on pods in the release namespace; rules %+v", le.Namespace, le.Rules)
	}
	for _, name := range []string{"mailshift-view", "mailshift-edit"} {
		one(t, r, "ClusterRole", name)
	}

	crds := r.Find("CustomResourceDefinition", "")
	if len(crds) != 7 {
		t.Errorf("%d CRDs, want 7", len(crds))
	}
	for _, crd := range crds {
		if crd.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
			t.Errorf("CRD %s lacks helm.sh/resource-policy: keep", crd.GetName())
		}
	}
	for _, kind := range []string{"Service", "ServiceMonitor", "PrometheusRule", "NetworkPolicy", "ConfigMap"} {
		if objs := r.Find(kind, ""); len(objs) != 0 {
			t.Errorf("%d %s by default; optional objects are off by default", len(objs), kind)
		}
	}
	if !strings.Contains(r.Notes, "helm uninstall` keeps the CRDs") {
		t.Errorf("NOTES do not say that uninstall keeps the CRDs:\n%s", r.Notes)
	}
}

func TestEverythingOn(t *testing.T) {
	r := render(t, everythingOn())
	d := deployment(t, r)
	c := manager(t, d)
	if want := "ghcr.io/mailshift/mailshift:0.0.0-dev@sha256:" + sixtyFourHex; c.Image != want {
		t.Errorf("image %q, want %q", c.Image, want)
	}
	if *d.Spec.Replicas != 3 {
		t.Errorf("replicas %d, want 3", *d.Spec.Replicas)
	}
	pdb := convert[policyv1.PodDisruptionBudget](t, one(t, r, "PodDisruptionBudget", "mailshift"))
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.String() != "1" {
		t.Errorf("PDB maxUnavailable %v, want 1", pdb.Spec.MaxUnavailable)
	}
	if !subset(pdb.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("PDB selector %v does not select the Pods (labels %v)", pdb.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	}
	tsc := d.Spec.Template.Spec.TopologySpreadConstraints
	if len(tsc) != 1 || tsc[0].TopologyKey != "kubernetes.io/hostname" || !subset(tsc[0].LabelSelector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("topology spread %+v: want one over kubernetes.io/hostname selecting the Pods", tsc)
	}
	for name, want := range map[string]string{
		"watch-namespaces":                "mail-a,mail-b",
		"worker-image":                    "registry.example/mailshift-worker:v9",
		"worker-image-pull-secrets":       "registry-a,registry-b",
		"allowed-server-hosts":            "*.mail.example,10.20.0.0/24",
		"zap-log-level":                   "debug",
		"zap-encoder":                     "console",
		"freebusy-global-names-namespace": "mail-a",
	} {
		if got, ok := flag(c.Args, name); !ok || got != want {
			t.Errorf("--%s=%q (present %v), want %q; args %q", name, got, ok, want, c.Args)
		}
	}
	if c.Args[len(c.Args)-1] != "--allow-hostpath-pst-volumes" {
		t.Errorf("extraArgs not appended last: %q", c.Args)
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "GOMEMLIMIT" && e.Value == "200MiB" }) {
		t.Errorf("extraEnv missing: %+v", c.Env)
	}
	assertDownwardAPI(t, c)
	assertRestricted(t, d)
	ps := d.Spec.Template.Spec
	if len(ps.ImagePullSecrets) != 1 || ps.ImagePullSecrets[0].Name != "registry-manager" {
		t.Errorf("imagePullSecrets %+v", ps.ImagePullSecrets)
	}
	if ps.PriorityClassName != "system-cluster-critical" || ps.NodeSelector["kubernetes.io/os"] != "linux" || len(ps.Tolerations) != 1 {
		t.Errorf("scheduling settings not rendered: %+v", ps)
	}
	if d.Spec.Template.Annotations["example.com/team"] != "mail" || d.Spec.Template.Labels["example.com/tier"] != "operator" {
		t.Errorf("pod annotations/labels: %v / %v", d.Spec.Template.Annotations, d.Spec.Template.Labels)
	}
	if d.Spec.Selector.MatchLabels["example.com/tier"] != "" {
		t.Error("podLabels leaked into the Deployment's selector, which cannot change on upgrade")
	}

	// Namespaced RBAC: a Role and RoleBinding per watched namespace, and no ClusterRole that grants
	// mailshift's namespaced resources.
	for _, ns := range watchNamespaces {
		var role *rbacv1.Role
		for _, o := range r.Find("Role", "mailshift-manager") {
			if o.GetNamespace() == ns {
				role = convert[rbacv1.Role](t, o)
			}
		}
		if role == nil {
			t.Fatalf("no manager Role in %s; rendered:\n%s", ns, r.Kinds())
		}
		for _, res := range []string{"mailboxes", "secrets", "jobs", "roles", "mailboxmigrations/status"} {
			if !grants(role.Rules, res) {
				t.Errorf("Role in %s does not grant %s", ns, res)
			}
		}
		if grants(role.Rules, "persistentvolumes") {
			t.Errorf("Role in %s names the cluster-scoped persistentvolumes, which a Role cannot grant", ns)
		}
		found := false
		for _, o := range r.Find("RoleBinding", "mailshift-manager") {
			found = found || o.GetNamespace() == ns
		}
		if !found {
			t.Errorf("no manager RoleBinding in %s", ns)
		}
	}
	for _, o := range r.Find("ClusterRole", "") {
		cr := convert[rbacv1.ClusterRole](t, o)
		if cr.Name == "mailshift-view" || cr.Name == "mailshift-edit" {
			continue // for people, not the manager
		}
		for _, res := range []string{"mailboxes", "secrets", "jobs", "configmaps", "roles"} {
			if grants(cr.Rules, res) {
				t.Errorf("ClusterRole %s grants %s although watchNamespaces is set", cr.Name, res)
			}
		}
	}
	if cr := convert[rbacv1.ClusterRole](t, one(t, r, "ClusterRole", "mailshift-manager-cluster")); !grants(cr.Rules, "persistentvolumes") {
		t.Errorf("ClusterRole mailshift-manager-cluster: want persistentvolumes, got %+v", cr.Rules)
	}

	svc := convert[corev1.Service](t, one(t, r, "Service", "mailshift-metrics"))
	if !subset(svc.Spec.Selector, d.Spec.Template.Labels) || svc.Spec.Ports[0].TargetPort.String() != "metrics" {
		t.Errorf("metrics Service %+v does not point at the manager's metrics port", svc.Spec)
	}
	fb := convert[corev1.Service](t, one(t, r, "Service", "mailshift-freebusy"))
	if fb.Spec.Ports[0].TargetPort.String() != "freebusy" {
		t.Errorf("free/busy Service targets %v", fb.Spec.Ports[0].TargetPort)
	}
	sm := one(t, r, "ServiceMonitor", "mailshift")
	if l := sm.GetLabels()["release"]; l != "prometheus" {
		t.Errorf("ServiceMonitor label release=%q", l)
	}
	if sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels"); !subset(sel, svc.Labels) {
		t.Errorf("ServiceMonitor selector %v does not select the metrics Service (labels %v)", sel, svc.Labels)
	}
	rule := one(t, r, "PrometheusRule", "mailshift")
	if groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups"); len(groups) == 0 {
		t.Error("PrometheusRule has no rule groups")
	}
	dash := convert[corev1.ConfigMap](t, one(t, r, "ConfigMap", "mailshift-dashboard"))
	if dash.Labels["grafana_dashboard"] != "1" || !strings.HasPrefix(strings.TrimSpace(dash.Data["mailshift.json"]), "{") {
		t.Errorf("dashboard ConfigMap: labels %v, data starts %.40q", dash.Labels, dash.Data["mailshift.json"])
	}
	np := one(t, r, "NetworkPolicy", "mailshift-egress")
	if sel, _, _ := unstructured.NestedStringMap(np.Object, "spec", "podSelector", "matchLabels"); !subset(sel, d.Spec.Template.Labels) {
		t.Errorf("NetworkPolicy selects %v, not the manager Pods", sel)
	}
	argo := convert[corev1.ConfigMap](t, one(t, r, "ConfigMap", "mailshift-argocd-health"))
	for _, kind := range []string{"MailServer", "Mailbox", "FolderShare", "MailboxMigration", "MigrationBatch", "SyncPolicy", "FreeBusyPublication"} {
		if !strings.Contains(argo.Data["resource.customizations.health.mailshift.io_"+kind], "hs") {
			t.Errorf("Argo CD health ConfigMap lacks a script for %s (keys %v)", kind, keys(argo.Data))
		}
	}
	if !strings.Contains(r.Notes, "registry-a, registry-b") {
		t.Errorf("NOTES do not mention the worker pull Secrets:\n%s", r.Notes)
	}
}

func TestOptionsOneByOne(t *testing.T) {
	t.Run("inprocess executor gets ConfigMap rights and no Job rights", func(t *testing.T) {
		r := render(t, map[string]any{"executor": "inprocess"})
		cr := convert[rbacv1.ClusterRole](t, one(t, r, "ClusterRole", "mailshift-manager"))
		if !grants(cr.Rules, "configmaps") || grants(cr.Rules, "jobs") || grants(cr.Rules, "roles") {
			t.Errorf("inprocess rules %+v", cr.Rules)
		}
		if v, _ := flag(manager(t, deployment(t, r)).Args, "worker-executor"); v != "inprocess" {
			t.Errorf("--worker-executor=%q", v)
		}
	})
	t.Run("crds off", func(t *testing.T) {
		if n := len(render(t, map[string]any{"crds": map[string]any{"enabled": false}}).Find("CustomResourceDefinition", "")); n != 0 {
			t.Errorf("%d CRDs with crds.enabled=false", n)
		}
	})
	t.Run("crds not kept", func(t *testing.T) {
		r := render(t, map[string]any{"crds": map[string]any{"keep": false}})
		for _, crd := range r.Find("CustomResourceDefinition", "") {
			if _, ok := crd.GetAnnotations()["helm.sh/resource-policy"]; ok {
				t.Errorf("CRD %s keeps a resource policy with crds.keep=false", crd.GetName())
			}
		}
		if !strings.Contains(r.Notes, "WARNING") {
			t.Error("NOTES do not warn that uninstall deletes the CRDs")
		}
	})
	t.Run("two replicas", func(t *testing.T) {
		r := render(t, map[string]any{"replicaCount": 2})
		one(t, r, "PodDisruptionBudget", "mailshift")
	})
	t.Run("leader election off", func(t *testing.T) {
		if v, _ := flag(manager(t, deployment(t, render(t, map[string]any{"leaderElection": map[string]any{"enabled": false}}))).Args, "leader-elect"); v != "false" {
			t.Errorf("--leader-elect=%q, want false (the manager's own default is true)", v)
		}
	})
	t.Run("free/busy off", func(t *testing.T) {
		if v, _ := flag(manager(t, deployment(t, render(t, map[string]any{"freebusy": map[string]any{"enabled": false}}))).Args, "freebusy-bind-address"); v != "0" {
			t.Errorf("--freebusy-bind-address=%q, want 0", v)
		}
	})
	t.Run("metrics over HTTP", func(t *testing.T) {
		r := render(t, map[string]any{"metrics": map[string]any{"secure": false}})
		if len(r.Find("ClusterRole", "mailshift-metrics-auth")) != 0 {
			t.Error("token and access review rights without secure metrics")
		}
	})
	t.Run("release name and override", func(t *testing.T) {
		r, err := chartrender.Render(context.Background(), chartrender.ChartDir(), nil, chartrender.Options{ReleaseName: "ops", Namespace: "ops-system"})
		if err != nil {
			t.Fatal(err)
		}
		d := convert[appsv1.Deployment](t, one(t, r, "Deployment", "ops-mailshift"))
		if d.Namespace != "ops-system" || d.Spec.Template.Spec.ServiceAccountName != "ops-mailshift" {
			t.Errorf("Deployment %s/%s with ServiceAccount %s", d.Namespace, d.Name, d.Spec.Template.Spec.ServiceAccountName)
		}
		r = render(t, map[string]any{"fullnameOverride": "mail-operator"})
		one(t, r, "Deployment", "mail-operator")
	})
}

// TestRejectedValues: combinations that cannot work fail the render with a message that says why, and
// values.schema.json rejects wrong types and unknown keys.
func TestRejectedValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		want   []string
	}{
		{"wrong type", map[string]any{"replicaCount": "three"}, []string{"/replicaCount", "want integer"}},
		{"unknown key", map[string]any{"replicas": 2}, []string{"additional properties 'replicas' not allowed"}},
		{"unknown nested key", map[string]any{"image": map[string]any{"name": "x"}}, []string{"/image", "'name' not allowed"}},
		{"bad enum", map[string]any{"logFormat": "text"}, []string{"/logFormat"}},
		{"bad executor", map[string]any{"executor": "thread"}, []string{"/executor"}},
		{"pull secrets as objects", map[string]any{"worker": map[string]any{"imagePullSecrets": []any{map[string]any{"name": "a"}}}}, []string{"/worker/imagePullSecrets/0"}},
		{"replicas without leader election", map[string]any{"replicaCount": 2, "leaderElection": map[string]any{"enabled": false}}, []string{"needs leaderElection.enabled"}},
		{"ServiceMonitor without Service", map[string]any{"metrics": map[string]any{"serviceMonitor": map[string]any{"enabled": true}}}, []string{"needs metrics.service.enabled"}},
		{"NetworkPolicy without API server", map[string]any{"networkPolicy": map[string]any{"enabled": true}}, []string{"networkPolicy.apiServerCIDRs"}},
		{"free/busy Service without endpoint", map[string]any{"freebusy": map[string]any{"enabled": false, "service": map[string]any{"enabled": true}}}, []string{"needs freebusy.enabled"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := chartrender.Render(context.Background(), chartrender.ChartDir(), tc.values, chartrender.Options{})
			if err == nil {
				t.Fatalf("values %v rendered", tc.values)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func assertDownwardAPI(t *testing.T, c corev1.Container) {
	t.Helper()
	want := map[string]string{"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}
	for _, e := range c.Env {
		if e.Name == "MAILSHIFT_WORKER_IMAGE" {
			t.Errorf("MAILSHIFT_WORKER_IMAGE is set: the worker image must come from the manager's own Pod")
		}
		if path, ok := want[e.Name]; ok {
			if e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != path {
				t.Errorf("env %s = %+v, want fieldRef %s", e.Name, e, path)
			}
			delete(want, e.Name)
		}
	}
	if len(want) != 0 {
		t.Errorf("env lacks %v: %+v", keys(want), c.Env)
	}
}

// assertRestricted checks the restricted Pod Security Standard's requirements on the manager Pod.
func assertRestricted(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	ps := d.Spec.Template.Spec.SecurityContext
	c := d.Spec.Template.Spec.Containers[0].SecurityContext
	if ps == nil || c == nil {
		t.Fatal("no security contexts")
	}
	nonRoot := (ps.RunAsNonRoot != nil && *ps.RunAsNonRoot) || (c.RunAsNonRoot != nil && *c.RunAsNonRoot)
	seccomp := (ps.SeccompProfile != nil && ps.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault) ||
		(c.SeccompProfile != nil && c.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault)
	switch {
	case !nonRoot:
		t.Error("runAsNonRoot is not set")
	case ps.RunAsUser == nil || *ps.RunAsUser != 65532:
		t.Errorf("runAsUser %v, want 65532 (the image's user)", ps.RunAsUser)
	case !seccomp:
		t.Error("seccomp profile is not RuntimeDefault")
	case c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation:
		t.Error("privilege escalation allowed")
	case c.Capabilities == nil || !slices.Equal(c.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(c.Capabilities.Add) != 0:
		t.Errorf("capabilities %+v, want drop ALL and none added", c.Capabilities)
	case c.ReadOnlyRootFilesystem == nil || !*c.ReadOnlyRootFilesystem:
		t.Error("root filesystem writable")
	case c.Privileged != nil && *c.Privileged:
		t.Error("privileged")
	}
}

func grants(rules []rbacv1.PolicyRule, resource string) bool {
	for _, r := range rules {
		if slices.Contains(r.Resources, resource) || slices.Contains(r.Resources, "*") {
			return true
		}
	}
	return false
}

func grantsVerb(rules []rbacv1.PolicyRule, resource, verb string) bool {
	for _, r := range rules {
		if slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}

// subset reports whether every label of sel is in labels (and sel is not empty).
func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
