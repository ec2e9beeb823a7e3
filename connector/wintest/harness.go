// Package wintest runs the Outlook connector under Wine for its tests: it builds the DLL (internal/connectorbuild)
// and the test host (connector/testhost, whose MAPI objects are fakes: Outlook's MAPI runtime cannot run here),
// and keeps one Wine prefix per test process, where Debian 12's Wine 8 runs the 64-bit DLL (wine64) and the
// 32-bit one (wine32, an i386 package).
package wintest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/connectorbuild"
)

// SkipEnv set to 1 skips the tests that need Wine and mingw-w64 instead of installing them.
const SkipEnv = "MAILSHIFT_SKIP_WINE"

// Wine64 is Debian's 64-bit Wine loader (the wine package, not installed here, adds /usr/bin/wine).
const Wine64 = "/usr/lib/wine/wine64"

var tools = []string{Wine64, Wine32, "Xvfb", "x86_64-w64-mingw32-gcc", "i686-w64-mingw32-gcc", "x86_64-w64-mingw32-windres",
	"i686-w64-mingw32-objdump", "wixl", "msiinfo", "osslsigncode"}

var (
	setupOnce sync.Once
	setupErr  error
	workDir   string // built files and the prefix, shared by the tests of one process

	buildMu sync.Mutex
	built   = map[string]string{}

	prefixOnce sync.Once
	prefixErr  error

	displayOnce sync.Once
	display     string
	displayErr  error
	xvfb        *exec.Cmd
)

// Require skips the test when SkipEnv is set, and otherwise makes sure the tools are installed (running
// hack/install-deps.sh wine once when one is missing); it fails the test when they cannot be.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("wintest: %s=1: not running the connector under Wine", SkipEnv)
	}
	setupOnce.Do(func() {
		if len(missing()) > 0 {
			root, err := RepoRoot()
			if err != nil {
				setupErr = err
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			if out, err := exec.CommandContext(ctx, "bash", filepath.Join(root, "hack", "install-deps.sh"), "wine").CombinedOutput(); err != nil {
				setupErr = fmt.Errorf("hack/install-deps.sh wine: %v\n%s", err, bytes.TrimSpace(out))
				return
			}
			if m := missing(); len(m) > 0 {
				setupErr = fmt.Errorf("still missing after hack/install-deps.sh wine: %s", strings.Join(m, ", "))
				return
			}
		}
		workDir, setupErr = os.MkdirTemp("", "mailshift-wintest-")
	})
	if setupErr != nil {
		t.Fatalf("wintest: Wine and mingw-w64 are not available: %v\n(set %s=1 to skip the connector's Wine tests)", setupErr, SkipEnv)
	}
}

func missing() []string {
	var m []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			m = append(m, tool)
		}
	}
	return m
}

// Cleanup stops the prefix's wineserver and removes what the tests built; for TestMain.
func Cleanup() {
	if workDir == "" {
		return
	}
	if xvfb != nil {
		_ = xvfb.Process.Kill()
		_ = xvfb.Wait()
	}
	if prefixErr == nil && prefixDir() != "" {
		cmd := exec.Command("/usr/lib/wine/wineserver", "-k")
		cmd.Env = append(os.Environ(), "WINEPREFIX="+prefixDir())
		_ = cmd.Run()
	}
	_ = os.RemoveAll(workDir)
}

// RepoRoot is the module's directory.
func RepoRoot() (string, error) { return connectorbuild.ModuleRoot(context.Background()) }

// DLL is the connector built for arch ("amd64" or "386"), once per process, named mailshift32.dll as the
// installer names it (MAPI appends "32" to the name MAPISVC.INF gives).
func DLL(t testing.TB, arch string) string {
	t.Helper()
	Require(t)
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built["dll-"+arch]; ok {
		return p
	}
	dir := filepath.Join(workDir, "dll-"+arch)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "mailshift32.dll")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := connectorbuild.Build(ctx, arch, p, "v0.0.0-test"); err != nil {
		t.Fatalf("wintest: building the connector: %v", err)
	}
	built["dll-"+arch] = p
	return p
}

// Host is the test host (connector/testhost/host.c) for arch.
func Host(t testing.TB, arch string) string {
	t.Helper()
	if arch == "386" {
		return cProgram(t, "host32.exe", "i686-w64-mingw32-gcc", "-Wall", "-O1", "host.c")
	}
	return cProgram(t, "host.exe", "x86_64-w64-mingw32-gcc", "-Wall", "-O1", "host.c")
}

// Wine32 is the loader of 32-bit programs, which Debian's wine32 package (i386) installs; the wine64 package
// alone runs 64-bit programs only.
const Wine32 = "/usr/lib/wine/wine"

// Loader is the Wine loader that runs arch's programs: Wine32 for "386", Wine64 otherwise.
func Loader(arch string) string {
	if arch == "386" {
		return Wine32
	}
	return Wine64
}

// cProgram compiles a C file of connector/testhost once per process.
func cProgram(t testing.TB, name, cc string, args ...string) string {
	t.Helper()
	Require(t)
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(workDir, name)
	cmd := exec.Command(cc, append(args, "-o", out)...)
	cmd.Dir = filepath.Join(root, "connector", "testhost")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wintest: %s %s: %v\n%s", cc, strings.Join(args, " "), err, b)
	}
	built[name] = out
	return out
}

// Wine is the test process's Wine prefix. Display, when set, is the X display its programs show windows on.
type Wine struct {
	Prefix  string
	Display string
}

// WithDisplay is w with an X display: a virtual one (Xvfb), started once per process, for the settings dialog.
func (w *Wine) WithDisplay(t testing.TB) *Wine {
	t.Helper()
	displayOnce.Do(func() { display, xvfb, displayErr = startXvfb() })
	if displayErr != nil {
		t.Fatalf("wintest: starting Xvfb: %v", displayErr)
	}
	return &Wine{Prefix: w.Prefix, Display: display}
}

// NewDisplay stops the prefix's programs and the virtual display, and returns w with a new one.
func (w *Wine) NewDisplay(t testing.TB) *Wine {
	t.Helper()
	w.Stop()
	if xvfb != nil {
		_ = xvfb.Process.Kill()
		_ = xvfb.Wait()
		xvfb = nil
	}
	if display, xvfb, displayErr = startXvfb(); displayErr != nil {
		t.Fatalf("wintest: starting Xvfb: %v", displayErr)
	}
	return &Wine{Prefix: w.Prefix, Display: display}
}

func startXvfb() (string, *exec.Cmd, error) {
	r, wr, err := os.Pipe()
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	// -displayfd: Xvfb picks a free display number and writes it once it accepts connections; no TCP listener.
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1024x768x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{wr}
	if err := cmd.Start(); err != nil {
		wr.Close()
		return "", nil, err
	}
	wr.Close()
	got := make(chan string, 1)
	go func() {
		b := make([]byte, 16)
		n, _ := r.Read(b)
		got <- strings.TrimSpace(string(b[:n]))
	}()
	select {
	case d := <-got:
		if d == "" {
			_ = cmd.Wait()
			return "", nil, errors.New("Xvfb exited without a display")
		}
		return ":" + d, cmd, nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return "", nil, errors.New("Xvfb did not report its display in 30s")
	}
}

func prefixDir() string { return filepath.Join(workDir, "prefix") }

// Prefix is the process's Wine prefix, made on first use (wineboot, a few seconds) with the ProcessPrng
// shim (connector/testhost/bcryptprimitives.c) in its system32, and the 32-bit build of it in its syswow64,
// where 32-bit programs load theirs.
func Prefix(t testing.TB) *Wine {
	t.Helper()
	shim := cProgram(t, "bcryptprimitives.dll", "x86_64-w64-mingw32-gcc", "-shared", "-O1",
		"bcryptprimitives.c", "bcryptprimitives.def", "-ladvapi32")
	w := &Wine{Prefix: prefixDir()}
	// --enable-stdcall-fixup: the .def names ProcessPrng plainly, as Go looks it up; the 32-bit symbol is
	// ProcessPrng@8.
	shim32 := cProgram(t, "bcryptprimitives32.dll", "i686-w64-mingw32-gcc", "-shared", "-O1",
		"-Wl,--enable-stdcall-fixup", "bcryptprimitives.c", "bcryptprimitives.def", "-ladvapi32")
	shims := map[string]string{shim: w.SystemDir("amd64"), shim32: w.SystemDir("386")}
	prefixOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, Wine64, "wineboot", "-i")
		cmd.Env = w.env()
		if out, err := cmd.CombinedOutput(); err != nil {
			prefixErr = fmt.Errorf("wineboot: %v\n%s", err, bytes.TrimSpace(out))
			return
		}
		for src, dir := range shims {
			b, err := os.ReadFile(src)
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, "bcryptprimitives.dll"), b, 0o644)
			}
			if err != nil {
				prefixErr = err
				return
			}
		}
	})
	if prefixErr != nil {
		t.Fatalf("wintest: making the Wine prefix: %v", prefixErr)
	}
	return w
}

func (w *Wine) env() []string {
	return append(os.Environ(),
		"WINEPREFIX="+w.Prefix,
		"WINEDEBUG=-all",
		// The native shim for ProcessPrng; no Mono or Gecko installer prompts in a headless run.
		"WINEDLLOVERRIDES=bcryptprimitives=n;mscoree,mshtml=",
		"DISPLAY="+w.Display,
	)
}

// Stop ends the prefix's wineserver and every program of the prefix, and waits until they are gone; the next
// program starts a new one.
func (w *Wine) Stop() {
	for _, arg := range []string{"-k", "-w"} {
		cmd := exec.Command("/usr/lib/wine/wineserver", arg)
		cmd.Env = w.env()
		_ = cmd.Run() // nothing running is fine
	}
}

// DriveC is the prefix's C: drive.
func (w *Wine) DriveC() string { return filepath.Join(w.Prefix, "drive_c") }

// SystemDir is the system directory arch's programs see in the prefix: C:\windows\system32, or for "386"
// C:\windows\syswow64, where 64-bit Windows keeps a 32-bit program's.
func (w *Wine) SystemDir(arch string) string {
	if arch == "386" {
		return filepath.Join(w.DriveC(), "windows", "syswow64")
	}
	return filepath.Join(w.DriveC(), "windows", "system32")
}

// WinPath is a Unix path as Wine's Z: drive shows it.
func WinPath(unix string) string { return `Z:` + strings.ReplaceAll(unix, "/", `\`) }

// Result is a finished Windows program.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
}

// Run runs a Windows program (an .exe path, or a program of the prefix such as regsvr32 or msiexec) with stdin,
// and waits at most timeout.
func (w *Wine) Run(t testing.TB, stdin string, timeout time.Duration, program string, args ...string) Result {
	t.Helper()
	return w.RunWith(t, Wine64, stdin, timeout, program, args...)
}

// RunWith is Run with another loader (Wine32 for a 32-bit program).
func (w *Wine) RunWith(t testing.TB, loader, stdin string, timeout time.Duration, program string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, loader, append([]string{program}, args...)...)
	cmd.Env = w.env()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.ExitCode = exit.ExitCode()
	default:
		t.Fatalf("wintest: %s %s: %v", filepath.Base(loader), program, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("wintest: %s %s did not finish in %s; stdout:\n%s\nstderr:\n%s", filepath.Base(loader), program, timeout, r.Stdout, r.Stderr)
	}
	return r
}
