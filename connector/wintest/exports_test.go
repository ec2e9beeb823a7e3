package wintest

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestExports: both DLLs export the entry points under the names MAPI, regsvr32 and scripts look up. On 32-bit
// Windows these are __stdcall functions, which a linker names "_ServiceEntry@40"; GetProcAddress(dll,
// "ServiceEntry") only finds them undecorated (--kill-at). The export tables are read with objdump, with the
// machine type; the other tests call the entry points by these names in both DLLs.
func TestExports(t *testing.T) {
	want := []string{"ServiceEntry", "DllRegisterServer", "DllUnregisterServer", "MailshiftPingW", "MailshiftPingProfileW"}
	for _, c := range []struct{ arch, objdump, format string }{
		{"amd64", "x86_64-w64-mingw32-objdump", "pei-x86-64"},
		{"386", "i686-w64-mingw32-objdump", "pei-i386"},
	} {
		t.Run(c.arch, func(t *testing.T) {
			out, err := exec.Command(c.objdump, "-p", DLL(t, c.arch)).CombinedOutput()
			if err != nil {
				t.Fatalf("%s -p: %v\n%s", c.objdump, err, out)
			}
			text := string(out)
			if !strings.Contains(text, "file format "+c.format) {
				t.Errorf("not a %s DLL:\n%.300s", c.format, text)
			}
			names := exportNames(text)
			for _, w := range want {
				if !names[w] {
					t.Errorf("%s is not exported under its plain name; exports: %v", w, names)
				}
			}
			for n := range names {
				if strings.ContainsAny(n, "@") || strings.HasPrefix(n, "_") {
					t.Errorf("export %q is decorated; MAPI and regsvr32 look names up undecorated", n)
				}
			}
			// The resources, read back: the configuration dialog with its Ping Server button, and the version.
			windres := strings.TrimSuffix(c.objdump, "objdump") + "windres"
			rc, err := exec.Command(windres, "-i", DLL(t, c.arch), "-O", "rc").CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", windres, err, rc)
			}
			for _, w := range []string{`CAPTION "mailshift IMAP Connector"`, `PUSHBUTTON "&Ping Server"`, `EDITTEXT 106`, `VALUE "FileVersion", "v0.0.0-test"`, `VALUE "OriginalFilename", "mailshift32.dll"`} {
				if !strings.Contains(string(rc), w) {
					t.Errorf("the DLL's resources lack %s", w)
				}
			}
		})
	}
}

var exportLine = regexp.MustCompile(`^\s*\[\s*\d+\]\s+(\S+)\s*$`)

// exportNames reads the [Ordinal/Name Pointer] table of objdump -p.
func exportNames(text string) map[string]bool {
	names := map[string]bool{}
	_, table, ok := strings.Cut(text, "[Ordinal/Name Pointer] Table")
	if !ok {
		return names
	}
	for _, l := range strings.Split(table, "\n")[1:] {
		m := exportLine.FindStringSubmatch(l)
		if m == nil {
			break
		}
		names[m[1]] = true
	}
	return names
}

// TestVetConnector runs go vet on the connector's Windows code, which the vet of `make test` (on Linux) does not
// see: every file of connector/ is built for Windows only.
func TestVetConnector(t *testing.T) {
	Require(t)
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"amd64", "386"} {
		cc := "x86_64-w64-mingw32-gcc"
		if arch == "386" {
			cc = "i686-w64-mingw32-gcc"
		}
		cmd := exec.Command("go", "vet", "./connector/")
		cmd.Dir = root
		cmd.Env = append(cmd.Environ(), "GOOS=windows", "GOARCH="+arch, "CGO_ENABLED=1", "CC="+cc)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("GOARCH=%s go vet ./connector/: %v\n%s", arch, err, out)
		}
	}
}
