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

// mapisvcINF writes the system directory's MAPISVC.INF, the one the DLL finds first on a machine without
// Outlook, and returns a function that reads it.
func mapisvcINF(t *testing.T, w *Wine, content string) func() string {
	t.Helper()
	path := filepath.Join(w.System32(), "MAPISVC.INF")
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

func TestRegsvr32EditsOnlyTheServiceSections(t *testing.T) {
	dll := DLL(t, "amd64")
	w := Prefix(t)
	dir := filepath.Join(w.DriveC(), "Connector Test")
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
	const winDir = `C:\Connector Test`
	read := mapisvcINF(t, w, otherServicesINF)

	regsvr32 := func(args ...string) {
		t.Helper()
		r := w.Run(t, "", time.Minute, "regsvr32", append(args, winDir+`\mailshift32.dll`)...)
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

// TestMSIInstallsAndRemoves installs the x64 package with msiexec (the Wine here runs 64-bit programs only),
// whose SelfReg table makes it register the installed DLL, and uninstalls it: into the default folder, and into
// one chosen with INSTALLFOLDER, which the package must find again to uninstall.
func TestMSIInstallsAndRemoves(t *testing.T) {
	dll := DLL(t, "amd64")
	w := Prefix(t)
	msi := filepath.Join(t.TempDir(), "mailshift-connector-x64.msi")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := installer.Build(ctx, "v0.1.0", "amd64", dll, msi); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, folder string // folder as Windows names it
		args         []string
	}{
		{"default folder", `C:\Program Files\mailshift\Outlook Connector`, nil},
		{"chosen folder", `C:\Apps\mailshift connector`, []string{`INSTALLFOLDER=C:\Apps\mailshift connector`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read := mapisvcINF(t, w, otherServicesINF)
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
