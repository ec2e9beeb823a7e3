package release

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	chartDir      = "charts/mailshift"
	chartModule   = "hack/chart" // a module of its own: Helm needs newer Kubernetes libraries than the manager
	chartPackager = "hack/chart/cmd/package"
)

// packageChart packages charts/mailshift with the chart module's packager, chart version and appVersion
// following the release (the chart version without the "v", as SemVer 2 wants it).
func (b *build) packageChart(ctx context.Context) error {
	dir := filepath.Join(b.work, "chart")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	chartVersion := strings.TrimPrefix(b.Version, "v")
	err := b.run(ctx, filepath.Join(b.RepoRoot, chartModule), []string{"GOWORK=off"}, b.Go, "run", "./cmd/package",
		"--chart", filepath.Join(b.RepoRoot, chartDir), "--version", chartVersion, "--app-version", b.Version, "--out", dir,
		"--source-date-epoch", strconv.FormatInt(b.created.Unix(), 10))
	if err != nil {
		return fmt.Errorf("package the Helm chart: %w", err)
	}
	want := ChartName(b.Version)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != want {
		return fmt.Errorf("package the Helm chart: the packager wrote %q, want exactly %s", names, want)
	}
	if err := copyFile(filepath.Join(dir, want), filepath.Join(b.OutDir, want)); err != nil {
		return err
	}
	b.logf("chart: %s", want)
	return nil
}
