// Package chartrender renders the mailshift Helm chart through Helm's own install action (client-side dry
// run, the code behind `helm template`), and splits the result into Kubernetes objects for tests to inspect.
package chartrender

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/mailshift/mailshift/internal/testenv"
)

// ChartDir is the chart in this repository.
func ChartDir() string {
	return filepath.Join(testenv.RepoRoot(), "charts", "mailshift")
}

// Load loads the chart at dir.
func Load(dir string) (*chartv2.Chart, error) {
	c, err := loader.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	return c, nil
}

// DefaultKubeVersion is the Kubernetes version Render renders for unless told otherwise.
const DefaultKubeVersion = "v1.35.0"

// Rendered is a rendered release.
type Rendered struct {
	// Manifest is the rendered YAML, as `helm template` prints it (without NOTES).
	Manifest string
	// Notes is the rendered NOTES.txt.
	Notes string
	// Objects are the manifest's objects in order.
	Objects []*unstructured.Unstructured
}

// Options of Render.
type Options struct {
	// ReleaseName; default "mailshift".
	ReleaseName string
	// Namespace is the release namespace; default "mailshift-system".
	Namespace string
	// KubeVersion is the cluster version the chart is rendered for; default DefaultKubeVersion. (Helm's own
	// default comes from the client-go in the binary's build information, which test binaries lack.)
	KubeVersion string
}

// Render renders the chart at dir with values (nil: the chart's defaults), validating them against
// values.schema.json as `helm install` does.
func Render(ctx context.Context, dir string, values map[string]any, o Options) (*Rendered, error) {
	ch, err := Load(dir)
	if err != nil {
		return nil, err
	}
	if o.ReleaseName == "" {
		o.ReleaseName = "mailshift"
	}
	if o.Namespace == "" {
		o.Namespace = "mailshift-system"
	}
	cfg := action.NewConfiguration()
	inst := action.NewInstall(cfg)
	inst.DryRunStrategy = action.DryRunClient
	inst.ReleaseName = o.ReleaseName
	inst.Namespace = o.Namespace
	inst.Replace = true
	if o.KubeVersion == "" {
		o.KubeVersion = DefaultKubeVersion
	}
	{
		kv, err := common.ParseKubeVersion(o.KubeVersion)
		if err != nil {
			return nil, err
		}
		inst.KubeVersion = kv
	}
	if values == nil {
		values = map[string]any{}
	}
	rel, err := inst.RunWithContext(ctx, ch, values)
	if err != nil {
		return nil, err
	}
	r, ok := rel.(*releasev1.Release)
	if !ok {
		return nil, fmt.Errorf("helm returned a %T, not a v1 release", rel)
	}
	objs, err := SplitObjects(r.Manifest)
	if err != nil {
		return nil, err
	}
	return &Rendered{Manifest: r.Manifest, Notes: r.Info.Notes, Objects: objs}, nil
}

// SplitObjects decodes a multi-document YAML manifest; empty documents are skipped.
func SplitObjects(manifest string) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode rendered manifest: %w", err)
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

// Find returns the objects of kind (and name, when not empty).
func (r *Rendered) Find(kind, name string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range r.Objects {
		if o.GetKind() == kind && (name == "" || o.GetName() == name) {
			out = append(out, o)
		}
	}
	return out
}

// Kinds returns "Kind/namespace/name" of every object, for error messages.
func (r *Rendered) Kinds() string {
	var b bytes.Buffer
	for _, o := range r.Objects {
		fmt.Fprintf(&b, "%s/%s/%s\n", o.GetKind(), o.GetNamespace(), o.GetName())
	}
	return b.String()
}
