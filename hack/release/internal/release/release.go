// Package release builds everything a mailshift release publishes into one directory: the CLI archives for
// every platform, the container image (OCI layout and tarball), the Helm chart, install.yaml, the krew
// manifest, the Outlook connector (its DLL and MSI package for x64 and x86, Authenticode-signed, and its
// MAPISVC.INF fragment), an SPDX SBOM and SHA256SUMS over all of it. Every piece is required: a piece that
// cannot be built fails the release with the reason, nothing is skipped.
//
// A release is reproducible from its commit: the binaries are built with -trimpath and without VCS
// stamping, every date (the binaries' build date, archive entries, the image, the SBOM) is
// SOURCE_DATE_EPOCH or else the commit's time, and archives list their entries sorted. The connector's
// signed files are the exception: a signature records its signing time, and wixl gives every MSI a new
// package code and its build time.
package release

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/mailshift/mailshift/hack/imagebuild"
	"github.com/mailshift/mailshift/hack/release/internal/authenticode"
	"github.com/mailshift/mailshift/hack/release/internal/checksums"
)

const (
	// Image is the repository the manager image is published to; install.yaml refers to it by tag and digest.
	Image = "ghcr.io/mailshift/mailshift"
	// DownloadBase is where the archives of a release are downloaded from: DownloadBase/<version>/<archive>.
	DownloadBase = "https://github.com/mailshift/mailshift/releases/download"
	// SourceRepo is the project's public repository.
	SourceRepo = "https://github.com/mailshift/mailshift"
)

// Platform is one GOOS/GOARCH pair the CLI is released for.
type Platform struct{ OS, Arch string }

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// CLIPlatforms are the platforms the CLI is released for.
var CLIPlatforms = []Platform{
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"linux", "amd64"}, {"linux", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// ImagePlatforms are the platforms of the image index.
var ImagePlatforms = []string{"linux/amd64", "linux/arm64"}

// Options say what to release and where.
type Options struct {
	RepoRoot string // the clone to release from
	Version  string // vMAJOR.MINOR.PATCH[-pre]
	OutDir   string // must not exist or be empty
	Kubectl  string // kubectl binary used for `kubectl kustomize`
	Go       string // go command; "go" when empty
	Log      io.Writer
	// Created overrides SOURCE_DATE_EPOCH and the commit time when not zero.
	Created time.Time
	// Signer signs the connector's DLLs and MSIs. A release without one fails, unless Unsigned is set: an
	// unsigned connector makes Windows warn of an unknown publisher on every desk, which nobody should
	// publish by mistake.
	Signer   *authenticode.Signer
	Unsigned bool
}

var versionPattern = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

// ValidateVersion accepts vMAJOR.MINOR.PATCH with an optional pre-release ("-rc.1"), the form release tags,
// image tags and (without the "v") chart versions all accept.
func ValidateVersion(v string) error {
	if !versionPattern.MatchString(v) {
		return fmt.Errorf("version %q is not vMAJOR.MINOR.PATCH[-pre] (e.g. v0.2.0 or v0.3.0-rc.1)", v)
	}
	return nil
}

// build is the state of one release run.
type build struct {
	Options
	commit  string
	created time.Time
	work    string // scratch directory, removed at the end
}

// Run builds the release into opts.OutDir.
func Run(ctx context.Context, opts Options) error {
	if err := ValidateVersion(opts.Version); err != nil {
		return err
	}
	if opts.Go == "" {
		opts.Go = "go"
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	root, err := filepath.Abs(opts.RepoRoot)
	if err != nil {
		return err
	}
	opts.RepoRoot = root
	if opts.OutDir, err = filepath.Abs(opts.OutDir); err != nil {
		return err
	}
	b := &build{Options: opts}
	if err := b.preflight(); err != nil {
		return err
	}
	if b.commit, err = b.gitCommit(ctx); err != nil {
		return err
	}
	if b.created, err = b.creationTime(); err != nil {
		return err
	}
	if err := os.MkdirAll(b.OutDir, 0o755); err != nil {
		return err
	}
	if b.work, err = os.MkdirTemp("", "mailshift-release-"); err != nil {
		return err
	}
	defer os.RemoveAll(b.work)
	b.logf("release %s of commit %s, dated %s, into %s", b.Version, b.commit, b.created.Format(time.RFC3339), b.OutDir)
	b.warnUnsigned()

	binaries, err := b.buildCLI(ctx)
	if err != nil {
		return err
	}
	digest, imageBinaries, err := b.buildImage(ctx)
	if err != nil {
		return err
	}
	if err := b.packageChart(ctx); err != nil {
		return err
	}
	if err := b.renderInstall(ctx, digest); err != nil {
		return err
	}
	if err := b.writeKrew(binaries); err != nil {
		return err
	}
	connectorBinaries, err := b.buildConnector(ctx)
	if err != nil {
		return err
	}
	if err := b.writeSBOM(binaries, append(imageBinaries, connectorBinaries...)); err != nil {
		return err
	}
	entries, err := checksums.Write(b.OutDir)
	if err != nil {
		return err
	}
	b.logf("%s: %d files", checksums.FileName, len(entries))
	b.warnUnsigned()
	return nil
}

// warnUnsigned says, loudly, that the release's connector is not signed.
func (b *build) warnUnsigned() {
	if b.Signer == nil {
		b.logf("WARNING: UNSIGNED RELEASE: the Outlook connector's DLLs and MSIs have no Authenticode signature; " +
			"Windows will warn of an unknown publisher. Do not publish this release.")
	}
}

// preflight finds every input before anything is built, so that a missing piece fails in a second rather
// than after minutes of compiling.
func (b *build) preflight() error {
	var problems []string
	need := func(rel, what string) {
		if _, err := os.Stat(filepath.Join(b.RepoRoot, rel)); err != nil {
			problems = append(problems, fmt.Sprintf("%s is missing (%s)", rel, what))
		}
	}
	need("LICENSE", "packed into every CLI archive")
	need("README.md", "packed into every CLI archive")
	need("cmd/mailshift", "the CLI")
	need("cmd/kubectl-mailshift", "the CLI's cluster commands, the kubectl plugin")
	need("config/default/kustomization.yaml", "rendered into install.yaml")
	need(chartDir, "the Helm chart")
	need(chartPackager, "the chart packager, run as `go run ./cmd/package` in hack/chart")
	need(krewTemplate, "the krew manifest template")
	if b.Kubectl == "" {
		problems = append(problems, "no kubectl given for `kubectl kustomize` (make controlplane builds it into $MAILSHIFT_CACHE/controlplane/bin)")
	} else if fi, err := os.Stat(b.Kubectl); err != nil || fi.Mode()&0o111 == 0 {
		problems = append(problems, fmt.Sprintf("kubectl %s is not an executable (make controlplane builds it)", b.Kubectl))
	}
	need("connector", "the Outlook connector")
	tools := connectorTools
	switch {
	case b.Signer != nil && b.Unsigned:
		problems = append(problems, "both a signing certificate and Unsigned are given: choose one")
	case b.Signer != nil:
		tools = append(tools, "osslsigncode")
	case !b.Unsigned:
		problems = append(problems, authenticode.ErrNoCertificate.Error()+
			"; or, for a release that is not to be published, UNSIGNED=1 (make) or --unsigned")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			problems = append(problems, fmt.Sprintf("%s is not installed (hack/install-deps.sh wine)", tool))
		}
	}
	if entries, err := os.ReadDir(b.OutDir); err == nil && len(entries) > 0 {
		problems = append(problems, fmt.Sprintf("output directory %s is not empty: remove it first, a release is written whole", b.OutDir))
	}
	if len(problems) > 0 {
		return fmt.Errorf("release %s cannot start:\n  %s", b.Version, strings.Join(problems, "\n  "))
	}
	return nil
}

// gitCommit is the commit being released, marked "-dirty" (as internal/version does) when the work tree has
// changes: such a release cannot be rebuilt from its commit alone.
func (b *build) gitCommit(ctx context.Context) (string, error) {
	out, err := b.git(ctx, "rev-parse", "HEAD")
	if err != nil {
		return "", fmt.Errorf("release needs a git clone to name its commit: %w", err)
	}
	commit := strings.TrimSpace(out)
	status, err := b.git(ctx, "status", "--porcelain")
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(status) != "" {
		commit += "-dirty"
		b.logf("warning: the work tree has uncommitted changes; the release names its commit %s", commit)
	}
	return commit, nil
}

// creationTime is the one date of the release: Options.Created when set, else SOURCE_DATE_EPOCH
// (https://reproducible-builds.org/specs/source-date-epoch/), else the commit's time, the same rule the image
// follows.
func (b *build) creationTime() (time.Time, error) {
	if !b.Created.IsZero() {
		return b.Created.UTC().Truncate(time.Second), nil
	}
	return imagebuild.SourceDateEpoch(b.RepoRoot)
}

func (b *build) git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", b.RepoRoot}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// run runs a command in dir with extra environment, its output going to the log; a failure carries the
// command's last lines of output.
func (b *build) run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	tail := &tailBuffer{max: 4096}
	cmd.Stdout = io.MultiWriter(b.Log, tail)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail.String())
	}
	return nil
}

func (b *build) logf(format string, args ...any) {
	fmt.Fprintf(b.Log, "release: "+format+"\n", args...)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return strings.TrimSpace(string(t.buf)) }

// ArchiveName is the file name of the CLI archive for p.
func ArchiveName(version string, p Platform) string {
	ext := ".tar.gz"
	if p.OS == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("mailshift_%s_%s_%s%s", version, p.OS, p.Arch, ext)
}

// ImageTarballName is the file name of the image layout's tarball.
func ImageTarballName(version string) string { return "mailshift-image_" + version + ".oci.tar" }

// SBOMName is the file name of the SPDX document.
func SBOMName(version string) string { return "mailshift_" + version + ".spdx.json" }

// ChartName is the file name of the packaged chart: its version is the release's without the "v".
func ChartName(version string) string {
	return "mailshift-" + strings.TrimPrefix(version, "v") + ".tgz"
}

// The file names that do not carry the version.
const (
	InstallName = "install.yaml"
	KrewName    = "mailshift.krew.yaml"
	DigestName  = "image-digest.txt"
	ImageDir    = "image"
)
