// Package chartsync keeps the Helm chart's copies of generated files in step with their sources: the CRDs of
// config/crd/bases and the manager's Roles of config/rbac, config/rbac/jobexecutor and config/inprocess, which
// controller-gen writes. The chart renders them from charts/mailshift/files/{crds,rbac}, byte-for-byte copies,
// so the chart and kustomize install the same CRDs and grant the same rights.
package chartsync

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ChartDir is the chart, relative to the repository root.
const ChartDir = "charts/mailshift"

// Copy is one generated file and its copy in the chart, both relative to the repository root.
type Copy struct {
	Source, Dest string
}

// Copies lists every file the chart copies: each CRD of config/crd/bases, and the three generated Roles.
func Copies(repoRoot string) ([]Copy, error) {
	crds, err := filepath.Glob(filepath.Join(repoRoot, "config", "crd", "bases", "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(crds) == 0 {
		return nil, fmt.Errorf("no CRDs in %s: run `make generate`", filepath.Join(repoRoot, "config", "crd", "bases"))
	}
	sort.Strings(crds)
	var out []Copy
	for _, p := range crds {
		name := filepath.Base(p)
		out = append(out, Copy{Source: filepath.Join("config", "crd", "bases", name), Dest: filepath.Join(ChartDir, "files", "crds", name)})
	}
	out = append(out,
		Copy{Source: "config/rbac/role.yaml", Dest: ChartDir + "/files/rbac/manager.yaml"},
		Copy{Source: "config/rbac/jobexecutor/role.yaml", Dest: ChartDir + "/files/rbac/jobexecutor.yaml"},
		Copy{Source: "config/inprocess/role.yaml", Dest: ChartDir + "/files/rbac/inprocess.yaml"},
	)
	return out, nil
}

// outOfStep is what differs between the sources and the chart: copies to (re)write, with the source's bytes,
// and CRD copies whose source is gone.
type outOfStep struct {
	write   []pendingCopy
	missing map[string]bool // Dest of the copies in write that do not exist yet
	stale   []string
}

type pendingCopy struct {
	Copy
	data []byte
}

// compare reads every source and every copy once and returns what is out of step.
func compare(repoRoot string) (*outOfStep, error) {
	copies, err := Copies(repoRoot)
	if err != nil {
		return nil, err
	}
	o := &outOfStep{missing: map[string]bool{}}
	want := map[string]bool{}
	for _, c := range copies {
		want[c.Dest] = true
		src, err := os.ReadFile(filepath.Join(repoRoot, c.Source))
		if err != nil {
			return nil, err
		}
		dst, err := os.ReadFile(filepath.Join(repoRoot, c.Dest))
		switch {
		case os.IsNotExist(err):
			o.missing[c.Dest] = true
		case err != nil:
			return nil, err
		case bytes.Equal(src, dst):
			continue
		}
		o.write = append(o.write, pendingCopy{Copy: c, data: src})
	}
	if o.stale, err = staleCRDs(repoRoot, want); err != nil {
		return nil, err
	}
	return o, nil
}

// Diff returns one line per copy that is missing or differs from its source, and per file in the chart's
// files/crds that has no source any more (a CRD that was removed). Empty means in sync.
func Diff(repoRoot string) ([]string, error) {
	o, err := compare(repoRoot)
	if err != nil {
		return nil, err
	}
	var diffs []string
	for _, c := range o.write {
		if o.missing[c.Dest] {
			diffs = append(diffs, c.Dest+" is missing (copy of "+c.Source+")")
		} else {
			diffs = append(diffs, c.Dest+" differs from "+c.Source)
		}
	}
	for _, s := range o.stale {
		diffs = append(diffs, s+" has no source in config/crd/bases")
	}
	return diffs, nil
}

// Sync writes every copy and removes CRD copies whose source is gone. It returns the files it changed.
func Sync(repoRoot string) ([]string, error) {
	o, err := compare(repoRoot)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, c := range o.write {
		dest := filepath.Join(repoRoot, c.Dest)
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(dest, c.data, 0o644); err != nil {
			return nil, err
		}
		changed = append(changed, c.Dest)
	}
	for _, s := range o.stale {
		if err := os.Remove(filepath.Join(repoRoot, s)); err != nil {
			return nil, err
		}
		changed = append(changed, s+" (removed)")
	}
	return changed, nil
}

// staleCRDs lists the chart's CRD copies (relative to repoRoot) not in want.
func staleCRDs(repoRoot string, want map[string]bool) ([]string, error) {
	have, err := filepath.Glob(filepath.Join(repoRoot, ChartDir, "files", "crds", "*"))
	if err != nil {
		return nil, err
	}
	var stale []string
	for _, p := range have {
		rel, err := filepath.Rel(repoRoot, p)
		if err != nil {
			return nil, err
		}
		if !want[rel] && !strings.HasPrefix(filepath.Base(p), ".") {
			stale = append(stale, rel)
		}
	}
	return stale, nil
}
