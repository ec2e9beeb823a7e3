// Package version is what a mailshift binary says it is: its release version, the commit it was built from
// and when. A release build sets them with -ldflags -X (LDFlags gives the flags, so the variable paths are
// written once); any other build falls back to the Go build information (`go install ...@v0.2.0` records
// the module version, a build in a Git work tree the commit), then to "dev".
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by the linker: -X github.com/mailshift/mailshift/internal/version.version=v0.2.0 and so on.
var (
	version string
	commit  string
	date    string
)

// Info describes one binary.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the binary's Info.
func Get() Info {
	return resolve(version, commit, date, readBuildInfo)
}

// readBuildInfo is debug.ReadBuildInfo, replaced in tests.
var readBuildInfo = debug.ReadBuildInfo

func resolve(v, c, d string, buildInfo func() (*debug.BuildInfo, bool)) Info {
	info := Info{Version: v, Commit: c, Date: d, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := buildInfo(); ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		var revision, vcsTime string
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if info.Commit == "" && revision != "" {
			info.Commit = revision
			if modified {
				info.Commit += "-dirty"
			}
		}
		if info.Date == "" {
			info.Date = vcsTime
		}
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	if info.Date == "" {
		info.Date = "unknown"
	}
	return info
}

// String is the one-line form `--version` prints: "v0.2.0 (commit 1a2b3c4d5e6f, built 2026-12-04T10:00:00Z,
// go1.26.0 linux/amd64)".
func (i Info) String() string {
	c := i.Commit
	if len(c) > 12 && !strings.HasSuffix(c, "-dirty") {
		c = c[:12]
	}
	return fmt.Sprintf("%s (commit %s, built %s, %s %s)", i.Version, c, i.Date, i.GoVersion, i.Platform)
}

// LDFlags are the linker flags that stamp a build with version, commit and date (RFC 3339, UTC).
func LDFlags(version, commit, date string) string {
	const pkg = "github.com/mailshift/mailshift/internal/version"
	return fmt.Sprintf("-X %s.version=%s -X %s.commit=%s -X %s.date=%s", pkg, version, pkg, commit, pkg, date)
}
