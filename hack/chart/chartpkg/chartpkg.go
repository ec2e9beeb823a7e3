// Package chartpkg packages the mailshift Helm chart with a release's version, through Helm's own packaging
// code (the same as `helm package --version --app-version`).
package chartpkg

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v4/pkg/action"
)

// Options of Package.
type Options struct {
	// ChartDir is the chart's directory.
	ChartDir string
	// Version is the chart's version: SemVer 2 without a leading "v" (Helm repositories sort by it).
	Version string
	// AppVersion is the version of mailshift the chart installs; the image tag defaults to it.
	AppVersion string
	// OutDir receives <name>-<version>.tgz; created when missing.
	OutDir string
	// SourceDateEpoch, when set, is the time of every file in the archive (reproducible packages).
	SourceDateEpoch *time.Time
}

// Package writes the chart archive and returns its path.
func Package(o Options) (string, error) {
	if o.ChartDir == "" {
		return "", errors.New("no chart directory given")
	}
	if o.Version == "" || o.AppVersion == "" {
		return "", errors.New("both the chart version and the appVersion are required")
	}
	if strings.HasPrefix(o.Version, "v") {
		return "", fmt.Errorf("chart version %q: write it without the leading v (%s); the appVersion keeps it", o.Version, strings.TrimPrefix(o.Version, "v"))
	}
	if _, err := semver.StrictNewVersion(o.Version); err != nil {
		return "", fmt.Errorf("chart version %q is not SemVer 2 (e.g. 0.2.0): %w", o.Version, err)
	}
	if o.OutDir == "" {
		o.OutDir = "."
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return "", err
	}
	p := action.NewPackage()
	p.Version = o.Version
	p.AppVersion = o.AppVersion
	p.Destination = o.OutDir
	p.SourceDateEpoch = o.SourceDateEpoch
	path, err := p.Run(o.ChartDir, nil)
	if err != nil {
		return "", fmt.Errorf("package %s: %w", o.ChartDir, err)
	}
	return path, nil
}
