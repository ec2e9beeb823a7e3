package wintest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/connector/installer"
)

// otherServicesINF is a MAPISVC.INF of a machine without Outlook that other software has registered services
// in: CRLF line endings, comments, a display name in the ANSI code page (Windows-1252), and no final blank line.
const otherServicesINF = "; MAPISVC.INF\r\n" +
	"[Services]\r\n" +
	"MSPST MS=Pers\xf6nliche Ordner\r\n" +
	"OTHER=Another Connector\r\n" +
	"\r\n" +
	"[MSPST MS]\r\n" +
	"Providers=MSPST MSP\r\n" +
	"PR_SERVICE_DLL_NAME=mspst.dll\r\n" +
	"PR_SERVICE_ENTRY_NAME=PSTServiceEntry\r\n" +
	"\r\n" +
	"; the other connector\r\n" +
	"[OTHER]\r\n" +
	"PR_SERVICE_DLL_NAME=C:\\Other\\other.dll\r\n" +
	"Providers=OTHER_MS"

// withService is otherServicesINF with the connector registered from dir: its entry after the last one of
// [Services], its section at the end. It is written out here, not computed by internal/mapisvc, so that the
// test checks the DLL against an independent statement of what it must write.
func withService(dir string) string {
	dll := dir + `\mailshift.dll`
	return strings.Replace(otherServicesINF, "OTHER=Another Connector\r\n",
		"OTHER=Another Connector\r\nMAILSHIFT=mailshift IMAP Connector\r\n", 1) +
		"\r\n" +
		"[MAILSHIFT]\r\n" +
		"PR_DISPLAY_NAME=mailshift IMAP Connector\r\n" +
		"PR_SERVICE_DLL_NAME=" + dll + "\r\n" +
		"PR_SERVICE_SUPPORT_FILES=" + dll + "\r\n" +
		"PR_SERVICE_ENTRY_NAME=ServiceEntry\r\n" +
		"PR_RESOURCE_FLAGS=SERVICE_SINGLE_COPY|SERVICE_NO_PRIMARY_IDENTITY\r\n" +
		"Providers=\r\n"
}

// mapisvcINF writes the system directory's MAPISVC.INF (sysDir: system32, or syswow64 for 32-bit programs), the
// one the DLL finds first on a machine without Outlook, and returns a function that reads it.
func mapisvcINF(t *testing.T, sysDir, content string) func() string {
	t.Helper()
	path := filepath.Join(sysDir, "MAPISVC.INF")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	return func() string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}

// TestRegsvr32EditsOnlyTheServiceSections registers each DLL with the regsvr32 of its architecture: the 32-bit
// one, in a 32-bit process on 64-bit Windows, sees syswow64 as its system directory and edits the MAPISVC.INF
// there, which 32-bit Outlook reads.
func TestRegsvr32EditsOnlyTheServiceSections(t *testing.T) {
	for _, arch := range []string{"amd64", "386"} {
		t.Run(arch, func(t *testing.T) { testRegsvr32(t, arch) })
	}
}

func testRegsvr32(t *testing.T, arch string) {
	dll := DLL(t, arch)
	w := Prefix(t)
	regsvr32Exe := "regsvr32"
	if arch == "386" {
		regsvr32Exe = `C:\windows\syswow64\regsvr32.exe`
	}
	dir := filepath.Join(w.DriveC(), "Connector Test "+arch)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	b, err := os.ReadFile(dll)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mailshift32.dll"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	winDir := `C:\Connector Test ` + arch
	read := mapisvcINF(t, w.SystemDir(arch), otherServicesINF)

	regsvr32 := func(args ...string) {
		t.Helper()
		r := w.RunWith(t, Loader(arch), "", time.Minute, regsvr32Exe, append(args, winDir+`\mailshift32.dll`)...)
		if r.ExitCode != 0 {
			t.Fatalf("regsvr32 %s: exit %d\n%s%s", strings.Join(args, " "), r.ExitCode, r.Stdout, r.Stderr)
		}
	}
	regsvr32("/s")
	want := withService(winDir)
	if got := read(); got != want {
		t.Fatalf("after regsvr32, MAPISVC.INF is\n%q\nwant\n%q", got, want)
	}
	regsvr32("/s")
	if got := read(); got != want {
		t.Fatalf("a second regsvr32 changed MAPISVC.INF:\n%q", got)
	}
	regsvr32("/s", "/u")
	if got := read(); got != otherServicesINF {
		t.Fatalf("after regsvr32 /u, MAPISVC.INF is\n%q\nwant the original\n%q", got, otherServicesINF)
	}
	regsvr32("/s", "/u")
	if got := read(); got != otherServicesINF {
		t.Fatalf("a second regsvr32 /u changed MAPISVC.INF:\n%q", got)
	}
}

// TestMSIInstallsAndRemoves installs each package with msiexec, whose SelfReg table makes it register the
// installed DLL, and uninstalls it: into the default folder (the x86 package's is under Program Files (x86),
// and it registers in syswow64's MAPISVC.INF, which 32-bit Outlook reads), and into one chosen with
// INSTALLFOLDER, which the package must find again to uninstall.
func TestMSIInstallsAndRemoves(t *testing.T) {
	for _, c := range []struct{ arch, programFiles string }{
		{"amd64", `C:\Program Files`},
		{"386", `C:\Program Files (x86)`},
	} {
		t.Run(c.arch, func(t *testing.T) { testMSI(t, c.arch, c.programFiles) })
	}
}

func testMSI(t *testing.T, arch, programFiles string) {
	dll := DLL(t, arch)
	w := Prefix(t)
	msi := filepath.Join(t.TempDir(), "mailshift-connector-"+arch+".msi")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := installer.Build(ctx, "v0.1.0", arch, dll, msi); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, folder string // folder as Windows names it
		args         []string
	}{
		{"default folder", programFiles + `\mailshift\Outlook Connector`, nil},
		{"chosen folder", `C:\Apps\mailshift connector`, []string{`INSTALLFOLDER=C:\Apps\mailshift connector`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read := mapisvcINF(t, w.SystemDir(arch), otherServicesINF)
			installed := filepath.Join(w.DriveC(), strings.ReplaceAll(strings.TrimPrefix(tc.folder, `C:\`), `\`, "/"), "mailshift32.dll")
			msiexec := func(args ...string) {
				t.Helper()
				r := w.Run(t, "", 3*time.Minute, "msiexec", append(args, "/qn")...)
				if r.ExitCode != 0 {
					t.Fatalf("msiexec %s: exit %d\n%s%s", strings.Join(args, " "), r.ExitCode, r.Stdout, r.Stderr)
				}
			}
			msiexec(append([]string{"/i", WinPath(msi)}, tc.args...)...)
			t.Cleanup(func() {
				if _, err := os.Stat(installed); err == nil {
					w.Run(t, "", 3*time.Minute, "msiexec", "/x", WinPath(msi), "/qn")
				}
			})
			if _, err := os.Stat(installed); err != nil {
				t.Fatalf("msiexec /i did not install the DLL: %v", err)
			}
			if got, want := read(), withService(tc.folder); got != want {
				t.Fatalf("after msiexec /i, MAPISVC.INF is\n%q\nwant\n%q", got, want)
			}
			msiexec("/x", WinPath(msi))
			if _, err := os.Stat(installed); !os.IsNotExist(err) {
				t.Errorf("msiexec /x left the DLL: %v", err)
			}
			if got := read(); got != otherServicesINF {
				t.Errorf("after msiexec /x, MAPISVC.INF is\n%q\nwant the original\n%q", got, otherServicesINF)
			}
		})
	}
}
