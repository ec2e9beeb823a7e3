// Package argocd holds the Argo CD health check for the mailshift.io kinds. Its canonical copy is the Helm
// chart's files/argocd-health.lua (the chart ships it in a ConfigMap); health-mailshift.io.lua here is a
// relative symbolic link to it, so the kustomize users' copy cannot drift from the chart's.
package argocd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

const (
	script      = "health-mailshift.io.lua"
	chartScript = "../../charts/mailshift/files/argocd-health.lua"
)

// health is what Argo CD reads back from a health script.
type health struct{ status, message string }

// runHealth runs script on obj the way Argo CD runs a health customization from argocd-cm: a fresh state
// without the standard libraries except package, base and table (custom scripts get no string or os
// library unless useOpenLibs is set), a one-second deadline, the object as the global `obj` (JSON numbers as
// Lua numbers, arrays as sequences), and the returned table's status and message.
func runHealth(t *testing.T, src string, obj map[string]any) health {
	t.Helper()
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(src); err != nil {
		t.Fatalf("the script fails: %v", err)
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("the script returns %s, want a table", l.Get(-1).Type())
	}
	h := health{status: lua.LVAsString(ret.RawGetString("status")), message: lua.LVAsString(ret.RawGetString("message"))}
	// Argo CD turns any other status into Unknown ("Lua returned an invalid health status").
	if !slices.Contains([]string{"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}, h.status) {
		t.Fatalf("the script returns status %q, which Argo CD does not know", h.status)
	}
	return h
}

// toLua converts a decoded object as Argo CD's decodeValue does.
func toLua(l *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case bool:
		return lua.LBool(x)
	case int64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case string:
		return lua.LString(x)
	case []any:
		t := l.CreateTable(len(x), 0)
		for _, e := range x {
			t.Append(toLua(l, e))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(x))
		for k, e := range x {
			t.RawSetH(lua.LString(k), toLua(l, e))
		}
		return t
	}
	return lua.LNil
}

// kinds are the mailshift.io kinds with the statuses each must be shown in.
var kinds = map[string][]string{
	"MailServer":          {"Healthy", "Progressing", "Degraded"},
	"Mailbox":             {"Healthy", "Progressing", "Degraded"},
	"FolderShare":         {"Healthy", "Progressing", "Degraded"},
	"FreeBusyPublication": {"Healthy", "Progressing", "Degraded"},
	"MailboxMigration":    {"Healthy", "Progressing", "Degraded", "Suspended"},
	"MigrationBatch":      {"Healthy", "Progressing", "Degraded", "Suspended"},
	"SyncPolicy":          {"Healthy", "Progressing", "Degraded", "Suspended"},
}

// TestHealth runs the script on every object in testdata, named <kind>-<status>[-<case>].yaml, and checks
// that each kind is seen in each of its statuses.
func TestHealth(t *testing.T) {
	src, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			parts := strings.SplitN(strings.TrimSuffix(filepath.Base(f), ".yaml"), "-", 3)
			if len(parts) < 2 {
				t.Fatalf("name %s is not <kind>-<status>[-<case>].yaml", f)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			js, err := yaml.YAMLToJSON(data)
			if err != nil {
				t.Fatal(err)
			}
			var u unstructured.Unstructured // decoded as the API server's objects are: integers as int64
			if err := u.UnmarshalJSON(js); err != nil {
				t.Fatal(err)
			}
			if strings.ToLower(u.GetKind()) != parts[0] {
				t.Fatalf("%s holds a %s", f, u.GetKind())
			}
			want := strings.ToUpper(parts[1][:1]) + parts[1][1:]
			got := runHealth(t, string(src), u.Object)
			if got.status != want {
				t.Errorf("%s: %s (%q), want %s", f, got.status, got.message, want)
			}
			if got.message == "" {
				t.Errorf("%s: %s with no message", f, got.status)
			}
			seen[u.GetKind()+"/"+got.status] = true
		})
	}
	for kind, statuses := range kinds {
		for _, s := range statuses {
			if !seen[kind+"/"+s] {
				t.Errorf("no testdata shows a %s as %s", kind, s)
			}
		}
	}
}

// TestHealthCoversEveryKind: a new kind in config/crd/bases needs its testdata here.
func TestHealthCoversEveryKind(t *testing.T) {
	crds, err := filepath.Glob("../crd/bases/*.yaml")
	if err != nil || len(crds) == 0 {
		t.Fatalf("no CRDs: %v", err)
	}
	for _, f := range crds {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd struct {
			Spec struct {
				Names struct{ Kind string } `json:"names"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(data, &crd); err != nil {
			t.Fatal(err)
		}
		if _, ok := kinds[crd.Spec.Names.Kind]; !ok {
			t.Errorf("%s (%s) has no health testdata", crd.Spec.Names.Kind, f)
		}
	}
}

// TestHealthScriptIsTheChartsCopy: the kustomize path and the chart serve the same script.
func TestHealthScriptIsTheChartsCopy(t *testing.T) {
	here, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	chart, err := os.ReadFile(chartScript)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(here, chart) {
		t.Errorf("%s differs from %s: make it a link again (ln -sf %s %s)", script, chartScript, chartScript, script)
	}
}
