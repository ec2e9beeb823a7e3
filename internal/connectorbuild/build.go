// Package connectorbuild builds the Outlook connector DLL (connector/) for Windows with mingw-w64: its
// resources (the configuration dialog, the version) with windres, then the Go code as a c-shared library.
// `make release` and the connector's tests build it the same way, through Build.
package connectorbuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Arches are the Windows architectures Outlook comes in, as GOARCH names.
var Arches = []string{"amd64", "386"}

// Triplet is the mingw-w64 target prefix of a GOARCH ("x86_64-w64-mingw32" for amd64).
func Triplet(arch string) (string, error) {
	switch arch {
	case "amd64":
		return "x86_64-w64-mingw32", nil
	case "386":
		return "i686-w64-mingw32", nil
	}
	return "", fmt.Errorf("connector: no Windows build for GOARCH %q (amd64 or 386)", arch)
}

var versionRE = regexp.MustCompile(`^v?(\d{1,5})\.(\d{1,5})\.(\d{1,5})`)

// FileVersion is the numeric version a Windows version resource holds: MAJOR.MINOR.PATCH of a release version
// (v0.3.0-rc.1 → 0, 3, 0); 0.0.0 for a build that is not a release.
func FileVersion(version string) (major, minor, patch string) {
	m := versionRE.FindStringSubmatch(version)
	if m == nil {
		return "0", "0", "0"
	}
	return m[1], m[2], m[3]
}

// Build compiles the connector for arch ("amd64" or "386") into the DLL out, stamped with version. It is run in
// the module's directory (found from the working directory). The header cgo writes beside a c-shared library
// is removed.
func Build(ctx context.Context, arch, out, version string) error {
	triplet, err := Triplet(arch)
	if err != nil {
		return err
	}
	root, err := ModuleRoot(ctx)
	if err != nil {
		return err
	}
	for _, tool := range []string{triplet + "-gcc", triplet + "-windres"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("connector: %s is not installed (Debian: gcc-mingw-w64-%s; hack/install-deps.sh wine)", tool, debArch(arch))
		}
	}
	tmp, err := os.MkdirTemp("", "connector-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	major, minor, patch := FileVersion(version)
	rsrc := filepath.Join(tmp, "resources.o")
	if err := run(ctx, root, nil, triplet+"-windres", "-I", "connector",
		"-DVER_MAJOR="+major, "-DVER_MINOR="+minor, "-DVER_PATCH="+patch, `-DVER_STRING=\"`+rcString(version)+`\"`,
		"-O", "coff", "-i", filepath.Join("connector", "dialog.rc"), "-o", rsrc); err != nil {
		return err
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	// --kill-at: 32-bit __stdcall exports without their @N decoration, the names MAPISVC.INF and GetProcAddress
	// use. The resource object goes to the external linker with them.
	extld := rsrc
	if arch == "386" {
		extld = "-Wl,--kill-at " + rsrc
	}
	env := append(os.Environ(), "GOOS=windows", "GOARCH="+arch, "CGO_ENABLED=1", "CC="+triplet+"-gcc")
	if err := run(ctx, root, env, "go", "build", "-buildmode=c-shared", "-trimpath",
		"-ldflags", fmt.Sprintf("-s -w -X main.version=%s -extldflags '%s'", version, extld),
		"-o", absOut, "./connector"); err != nil {
		return err
	}
	_ = os.Remove(strings.TrimSuffix(absOut, filepath.Ext(absOut)) + ".h")
	return nil
}

func debArch(arch string) string {
	if arch == "386" {
		return "i686"
	}
	return "x86-64"
}

// rcString keeps only what a resource script's string may hold without escaping.
func rcString(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}

// ModuleRoot is the directory of the module the working directory is in (go env GOMOD).
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("connector: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("connector: not inside the mailshift module")
	}
	return filepath.Dir(mod), nil
}

func run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("connector: %s: %w\n%s", name, err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}
