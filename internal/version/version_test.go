package version

import (
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/testenv"
)

func noBuildInfo() (*debug.BuildInfo, bool) { return nil, false }

func TestResolveDefaults(t *testing.T) {
	got := resolve("", "", "", noBuildInfo)
	if got.Version != "dev" || got.Commit != "unknown" || got.Date != "unknown" {
		t.Errorf("no stamp, no build info: %+v, want dev/unknown/unknown", got)
	}
}

func TestResolveLinkerWins(t *testing.T) {
	bi := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "ffff"}, {Key: "vcs.time", Value: "2000-01-01T00:00:00Z"}}}, true
	}
	got := resolve("v0.2.0", "abc", "2026-12-04T00:00:00Z", bi)
	if got.Version != "v0.2.0" || got.Commit != "abc" || got.Date != "2026-12-04T00:00:00Z" {
		t.Errorf("stamped build: %+v, want the linker's values", got)
	}
}

func TestResolveFromBuildInfo(t *testing.T) {
	bi := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v0.3.1"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"}}}, true
	}
	got := resolve("", "", "", bi)
	want := Info{Version: "v0.3.1", Commit: "0123456789abcdef0123-dirty", Date: "2026-01-02T03:04:05Z", GoVersion: "go1.99", Platform: got.Platform}
	if got != want {
		t.Errorf("from build info: %+v, want %+v", got, want)
	}
	// A local build says (devel): that is no version.
	bi2 := func() (*debug.BuildInfo, bool) { return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true }
	if v := resolve("", "", "", bi2).Version; v != "dev" {
		t.Errorf("(devel) build: version %q, want dev", v)
	}
}

func TestString(t *testing.T) {
	s := Info{Version: "v0.2.0", Commit: "0123456789abcdef", Date: "2026-12-04T00:00:00Z", GoVersion: "go1.26.0", Platform: "linux/amd64"}.String()
	if s != "v0.2.0 (commit 0123456789ab, built 2026-12-04T00:00:00Z, go1.26.0 linux/amd64)" {
		t.Errorf("String() = %q", s)
	}
}

// TestLDFlagsStampABuild: the flags LDFlags gives really set the variables (a typo in the package path
// would be ignored by the linker without a word).
func TestLDFlagsStampABuild(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "v")
	build := exec.Command("go", "build", "-o", bin, "-ldflags", LDFlags("v1.2.3", "cafe", "2026-12-04T05:06:07Z"), "./internal/version/testdata/stamp")
	build.Dir = testenv.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "v1.2.3 (commit cafe, built 2026-12-04T05:06:07Z,") {
		t.Errorf("stamped binary says %q", out)
	}
}
