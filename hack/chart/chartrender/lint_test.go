package chartrender_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/mailshift/mailshift/hack/chart/chartpkg"
	"github.com/mailshift/mailshift/hack/chart/chartrender"
	"github.com/mailshift/mailshift/hack/chart/chartsync"
	"github.com/mailshift/mailshift/internal/testenv"
)

// TestLint runs Helm's linter (`helm lint --strict`: warnings count) on both configurations.
func TestLint(t *testing.T) {
	kv, err := common.ParseKubeVersion(chartrender.DefaultKubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range configurations {
		t.Run(cfg.name, func(t *testing.T) {
			res := lint.RunAll(chartrender.ChartDir(), cfg.values(), "mailshift-system", lint.WithKubeVersion(kv))
			for _, m := range res.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("%s", m)
				} else {
					t.Logf("%s", m)
				}
			}
		})
	}
}

// TestChartCopiesInSync fails when the chart's copies of the CRDs or of the generated Roles differ from
// config/: run `make chart-generate` (cd hack/chart && go run ./cmd/chartsync).
func TestChartCopiesInSync(t *testing.T) {
	diffs, err := chartsync.Diff(testenv.RepoRoot())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Errorf("%s: run `make chart-generate`", d)
	}
}

// TestChartsyncFindsDrift: the check above can fail. A changed, missing or extra copy is each reported.
func TestChartsyncFindsDrift(t *testing.T) {
	root := t.TempDir()
	copyTree(t, filepath.Join(testenv.RepoRoot(), "config"), filepath.Join(root, "config"))
	if _, err := chartsync.Sync(root); err != nil {
		t.Fatal(err)
	}
	if d, err := chartsync.Diff(root); err != nil || len(d) != 0 {
		t.Fatalf("fresh copy: diffs %v, err %v", d, err)
	}
	crds := filepath.Join(root, chartsync.ChartDir, "files", "crds")
	if err := os.WriteFile(filepath.Join(crds, "mailshift.io_mailboxes.yaml"), []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, chartsync.ChartDir, "files", "rbac", "manager.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(crds, "mailshift.io_gone.yaml"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := chartsync.Diff(root)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(d, "\n")
	for _, want := range []string{"mailshift.io_mailboxes.yaml differs", "manager.yaml is missing", "mailshift.io_gone.yaml has no source"} {
		if !strings.Contains(joined, want) {
			t.Errorf("diffs %q lack %q", d, want)
		}
	}
	if _, err := chartsync.Sync(root); err != nil {
		t.Fatal(err)
	}
	if d, _ := chartsync.Diff(root); len(d) != 0 {
		t.Errorf("after Sync: %v", d)
	}
}

// TestAggregatedRolesCoverEveryKind: mailshift-view and mailshift-edit, in the chart and in config/rbac, name
// every kind of the API group, so a new kind is not left out of people's rights.
func TestAggregatedRolesCoverEveryKind(t *testing.T) {
	var plurals []string
	crds, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "crd", "bases", "*.yaml"))
	for _, p := range crds {
		var crd struct {
			Spec struct {
				Names struct{ Plural string }
			}
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &crd); err != nil {
			t.Fatal(err)
		}
		plurals = append(plurals, crd.Spec.Names.Plural)
	}
	if len(plurals) == 0 {
		t.Fatal("no CRDs found")
	}
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "aggregate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kustomized, err := chartrender.SplitObjects(string(b))
	if err != nil {
		t.Fatal(err)
	}
	chart := render(t, nil)
	for _, src := range []struct {
		name string
		objs []*chartrender.Rendered
	}{{"chart", []*chartrender.Rendered{chart}}, {"config/rbac/aggregate.yaml", []*chartrender.Rendered{{Objects: kustomized}}}} {
		for _, role := range []string{"mailshift-view", "mailshift-edit"} {
			objs := src.objs[0].Find("ClusterRole", role)
			if len(objs) != 1 {
				t.Errorf("%s: %d ClusterRoles %s", src.name, len(objs), role)
				continue
			}
			cr := convert[rbacv1.ClusterRole](t, objs[0])
			for _, p := range plurals {
				if !grants(cr.Rules, p) {
					t.Errorf("%s: %s does not cover %s", src.name, role, p)
				}
			}
			wantLabel := "rbac.authorization.k8s.io/aggregate-to-" + strings.TrimPrefix(role, "mailshift-")
			if cr.Labels[wantLabel] != "true" {
				t.Errorf("%s: %s lacks label %s", src.name, role, wantLabel)
			}
			writes := grantsVerb(cr.Rules, "mailboxes", "create")
			if writes != (role == "mailshift-edit") {
				t.Errorf("%s: %s grants create: %v", src.name, role, writes)
			}
		}
	}
}

// TestPackage: the packager sets the release's version and appVersion, and the archive loads back.
func TestPackage(t *testing.T) {
	out := t.TempDir()
	path, err := chartpkg.Package(chartpkg.Options{ChartDir: chartrender.ChartDir(), Version: "0.2.0", AppVersion: "v0.2.0", OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "mailshift-0.2.0.tgz" {
		t.Errorf("archive %s", path)
	}
	ch, err := loader.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Metadata.Version != "0.2.0" || ch.Metadata.AppVersion != "v0.2.0" {
		t.Errorf("packaged version %q appVersion %q", ch.Metadata.Version, ch.Metadata.AppVersion)
	}
	var names []string
	for _, f := range ch.Templates {
		names = append(names, f.Name)
	}
	if !slices.Contains(names, "templates/crds.yaml") || ch.Schema == nil {
		t.Errorf("archive lacks the CRD template or the schema: %v", names)
	}
	// With a SourceDateEpoch, packaging twice gives the same bytes (a release can be rebuilt and checked).
	epoch := time.Unix(1700000000, 0).UTC()
	var sums []string
	for i := range 2 {
		p, err := chartpkg.Package(chartpkg.Options{ChartDir: chartrender.ChartDir(), Version: "0.2.0", AppVersion: "v0.2.0",
			OutDir: filepath.Join(out, fmt.Sprint("epoch", i)), SourceDateEpoch: &epoch})
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, fmt.Sprintf("%x", sha256.Sum256(b)))
	}
	if sums[0] != sums[1] {
		t.Errorf("two packages with one SourceDateEpoch differ: %s, %s", sums[0], sums[1])
	}
	for _, bad := range []struct{ version, want string }{
		{"v0.2.0", "without the leading v"},
		{"0.2", "not SemVer 2"},
		{"", "required"},
	} {
		_, err := chartpkg.Package(chartpkg.Options{ChartDir: chartrender.ChartDir(), Version: bad.version, AppVersion: "v0.2.0", OutDir: out})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("version %q: error %v, want %q", bad.version, err, bad.want)
		}
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
