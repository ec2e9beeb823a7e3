// Package imagebuild builds mailshift's container image without a container engine: it cross-compiles the
// two static binaries with the Go toolchain and assembles an OCI image index (one image per platform) with
// go-containerregistry. The result is reproducible: every timestamp in it is the commit time
// (SOURCE_DATE_EPOCH), every file has a fixed owner and mode, so two builds of one commit have one digest.
package imagebuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultSource is the project's home, the org.opencontainers.image.source label unless Options say otherwise.
const DefaultSource = "https://github.com/mailshift/mailshift"

// DefaultPlatforms are the platforms an image is built for when Options.Platforms is empty.
var DefaultPlatforms = []string{"linux/amd64", "linux/arm64"}

// Options describe one image build.
type Options struct {
	// RepoRoot is the mailshift checkout to build from ("" is the current directory).
	RepoRoot string
	// Version is stamped into the binaries and the labels ("" is "dev").
	Version string
	// Commit is the Git revision stamped into the binaries and the revision label ("" leaves both unset).
	Commit string
	// Created is the one timestamp of the image: file times, config, history. Zero means
	// SourceDateEpoch(RepoRoot).
	Created time.Time
	// Platforms as os/arch[/variant], e.g. "linux/amd64", "linux/arm64"; empty means DefaultPlatforms.
	Platforms []string
	// Source is the org.opencontainers.image.source label ("" is DefaultSource).
	Source string
}

// versionPattern and commitPattern keep the values safe to pass through -ldflags -X (which splits on
// spaces and honours quotes) and valid as an OCI layout reference name.
var (
	versionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`)
	commitPattern  = regexp.MustCompile(`^[0-9a-f]{4,64}(-dirty)?$`)
)

// normalize fills in the defaults and rejects what cannot be built, before any compiler runs.
func (o Options) normalize() (Options, error) {
	if o.RepoRoot == "" {
		o.RepoRoot = "."
	}
	root, err := filepath.Abs(o.RepoRoot)
	if err != nil {
		return o, fmt.Errorf("repository root %q: %w", o.RepoRoot, err)
	}
	o.RepoRoot = root
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return o, fmt.Errorf("repository root %s has no go.mod: %w", root, err)
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if !versionPattern.MatchString(o.Version) {
		return o, fmt.Errorf("version %q: want letters, digits and . _ + - only (at most 128), starting with a letter or digit", o.Version)
	}
	if o.Commit != "" && !commitPattern.MatchString(o.Commit) {
		return o, fmt.Errorf("commit %q: want a hexadecimal Git revision, optionally ending in -dirty", o.Commit)
	}
	if o.Source == "" {
		o.Source = DefaultSource
	}
	if strings.ContainsAny(o.Source, " \t\r\n") {
		return o, fmt.Errorf("source %q: must not contain whitespace", o.Source)
	}
	if o.Created.IsZero() {
		if o.Created, err = SourceDateEpoch(root); err != nil {
			return o, err
		}
	}
	// Tar headers and the config hold whole seconds; truncating here keeps both in agreement.
	o.Created = o.Created.UTC().Truncate(time.Second)
	if o.Created.Before(time.Unix(0, 0)) {
		return o, fmt.Errorf("created time %s is before 1970", o.Created.Format(time.RFC3339))
	}
	if len(o.Platforms) == 0 {
		o.Platforms = DefaultPlatforms
	}
	seen := map[string]bool{}
	var platforms []string
	for _, p := range o.Platforms {
		t, err := parseTarget(p)
		if err != nil {
			return o, err
		}
		if seen[t.String()] {
			return o, fmt.Errorf("platform %q listed twice", p)
		}
		seen[t.String()] = true
		platforms = append(platforms, t.String())
	}
	// One order for every caller: "linux/arm64,linux/amd64" builds the same index as the reverse.
	sort.Strings(platforms)
	o.Platforms = platforms
	return o, nil
}

// target is one platform the Go toolchain can build a static binary for.
type target struct {
	OS, Arch, Variant string
}

func (t target) String() string {
	if t.Variant != "" {
		return t.OS + "/" + t.Arch + "/" + t.Variant
	}
	return t.OS + "/" + t.Arch
}

// supportedArchs are the Linux architectures with a pure-Go (CGO_ENABLED=0) port and an image platform name.
var supportedArchs = map[string]bool{"amd64": true, "arm64": true, "arm": true, "ppc64le": true, "s390x": true, "riscv64": true}

func parseTarget(s string) (target, error) {
	parts := strings.Split(strings.TrimSpace(s), "/")
	if len(parts) < 2 || len(parts) > 3 {
		return target{}, fmt.Errorf("platform %q: want os/arch or os/arch/variant, e.g. linux/amd64", s)
	}
	t := target{OS: parts[0], Arch: parts[1]}
	if len(parts) == 3 {
		t.Variant = parts[2]
	}
	if t.OS != "linux" {
		return target{}, fmt.Errorf("platform %q: only linux images are built", s)
	}
	if !supportedArchs[t.Arch] {
		return target{}, fmt.Errorf("platform %q: architecture %q is not one of amd64, arm64, arm, ppc64le, s390x, riscv64", s, t.Arch)
	}
	switch {
	case t.Arch == "arm" && t.Variant == "":
		t.Variant = "v7"
	case t.Arch == "arm" && t.Variant != "v6" && t.Variant != "v7":
		return target{}, fmt.Errorf("platform %q: arm variant must be v6 or v7", s)
	case t.Arch == "arm64" && t.Variant == "v8":
		// linux/arm64/v8 is the same platform as linux/arm64.
		t.Variant = ""
	case t.Arch != "arm" && t.Variant != "":
		return target{}, fmt.Errorf("platform %q: %s takes no variant", s, t.Arch)
	}
	return t, nil
}

// goEnv is the environment that makes `go build` produce this target's static binary. The
// microarchitecture levels are pinned so that a builder's own GOAMD64/GOARM64 cannot change the digest.
func (t target) goEnv() []string {
	env := []string{"CGO_ENABLED=0", "GOOS=" + t.OS, "GOARCH=" + t.Arch}
	switch t.Arch {
	case "amd64":
		env = append(env, "GOAMD64=v1")
	case "arm64":
		env = append(env, "GOARM64=v8.0")
	case "arm":
		env = append(env, "GOARM="+strings.TrimPrefix(t.Variant, "v"))
	}
	return env
}

// SourceDateEpoch is the time a reproducible build stamps on everything: $SOURCE_DATE_EPOCH (seconds since
// 1970) when set, else the committer time of the checkout's HEAD.
func SourceDateEpoch(repoRoot string) (time.Time, error) {
	if s := strings.TrimSpace(os.Getenv("SOURCE_DATE_EPOCH")); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want a non-negative number of seconds since 1970", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	if repoRoot == "" {
		repoRoot = "."
	}
	cmd := exec.Command("git", "-C", repoRoot, "log", "-1", "--format=%ct")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return time.Time{}, fmt.Errorf("commit time of %s (set SOURCE_DATE_EPOCH outside a Git checkout): git log: %w: %s",
			repoRoot, err, strings.TrimSpace(stderr.String()))
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("commit time of %s: git log printed %q", repoRoot, strings.TrimSpace(string(out)))
	}
	return time.Unix(n, 0).UTC(), nil
}
