package mapisvc

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// machine is a fake Windows for Locate: environment, registry values, files and DLL architectures.
type machine struct {
	arch       string
	env        map[string]string
	registry   map[string]string   // "name" under OutlookMailKey
	multi      map[string][]string // REG_MULTI_SZ under OutlookMailKey
	components map[string]string   // "component|qualifier strings" -> DLL path
	files      map[string]string   // path -> DLL architecture ("" for files that are not DLLs)
	calls      []string
}

func (m *machine) funcs() LookupFuncs {
	return LookupFuncs{
		Arch:      m.arch,
		SystemDir: `C:\Windows\system32`,
		Getenv:    func(name string) string { return m.env[name] },
		RegistryString: func(key, name string) string {
			if key != OutlookMailKey {
				return ""
			}
			return m.registry[name]
		},
		RegistryStrings: func(key, name string) []string {
			if key != OutlookMailKey {
				return nil
			}
			return m.multi[name]
		},
		ComponentPath: func(component string, qualifier []string) string {
			k := component + "|" + strings.Join(qualifier, ",")
			m.calls = append(m.calls, k)
			return m.components[k]
		},
		Exists: func(path string) bool {
			for p := range m.files {
				if strings.EqualFold(p, path) {
					return true
				}
			}
			return false
		},
		Glob: func(pattern string) []string {
			var out []string
			for p := range m.files {
				if ok, _ := filepath.Match(strings.ToLower(strings.ReplaceAll(pattern, `\`, "/")), strings.ToLower(strings.ReplaceAll(p, `\`, "/"))); ok {
					out = append(out, p)
				}
			}
			return out
		},
		DLLArch: func(path string) string { return m.files[path] },
	}
}

var windows64Env = map[string]string{
	"ProgramFiles": `C:\Program Files`, "CommonProgramFiles": `C:\Program Files\Common Files`,
	"ProgramFiles(x86)": `C:\Program Files (x86)`,
}

// The environment a 32-bit process sees on 64-bit Windows.
var wow64Env = map[string]string{
	"ProgramFiles": `C:\Program Files (x86)`, "CommonProgramFiles": `C:\Program Files (x86)\Common Files`,
	"ProgramW6432": `C:\Program Files`,
}

const (
	c2rX64 = `C:\Program Files\Microsoft Office\root\vfs\ProgramFilesCommonX64\System\MSMAPI\1033`
	c2rX86 = `C:\Program Files (x86)\Microsoft Office\root\vfs\ProgramFilesCommonX86\System\MSMAPI\1033`
)

func TestLocate(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    machine
		want []string
	}{{
		name: "no Outlook, no file: the system directory's is created",
		m:    machine{arch: "amd64", env: windows64Env},
		want: []string{`C:\Windows\system32\MAPISVC.INF`},
	}, {
		name: "no Outlook, a file in the system directory",
		m:    machine{arch: "amd64", env: windows64Env, files: map[string]string{`C:\Windows\system32\MAPISVC.INF`: ""}},
		want: []string{`C:\Windows\system32\MAPISVC.INF`},
	}, {
		name: "Outlook 2016 MSI, 64-bit, two languages",
		m: machine{arch: "amd64", env: windows64Env, files: map[string]string{
			`C:\Program Files\Common Files\System\MSMAPI\1033\MAPISVC.INF`:       "",
			`C:\Program Files\Common Files\System\MSMAPI\1031\MAPISVC.INF`:       "",
			`C:\Program Files (x86)\Common Files\System\MSMAPI\1033\MAPISVC.INF`: "",
		}},
		want: []string{
			`C:\Program Files\Common Files\System\MSMAPI\1031\MAPISVC.INF`,
			`C:\Program Files\Common Files\System\MSMAPI\1033\MAPISVC.INF`,
		},
	}, {
		name: "Outlook 2016 MSI, 32-bit on 64-bit Windows, registered by the x86 DLL",
		m: machine{arch: "386", env: wow64Env, files: map[string]string{
			`C:\Windows\system32\MAPISVC.INF`:                                    "",
			`C:\Program Files (x86)\Common Files\System\MSMAPI\1033\MAPISVC.INF`: "",
		}},
		want: []string{`C:\Windows\system32\MAPISVC.INF`, `C:\Program Files (x86)\Common Files\System\MSMAPI\1033\MAPISVC.INF`},
	}, {
		name: "Microsoft 365 Click-to-Run, 64-bit, found by DLLPathEx and by its folder once",
		m: machine{arch: "amd64", env: windows64Env,
			registry: map[string]string{"DLLPathEx": c2rX64 + `\msmapi32.dll`},
			files:    map[string]string{c2rX64 + `\msmapi32.dll`: "amd64", c2rX64 + `\MAPISVC.INF`: ""}},
		want: []string{c2rX64 + `\MAPISVC.INF`},
	}, {
		name: "Outlook 2016 Click-to-Run, 32-bit on 64-bit Windows, registered by the x86 DLL",
		m:    machine{arch: "386", env: wow64Env, files: map[string]string{c2rX86 + `\MAPISVC.INF`: ""}},
		want: []string{c2rX86 + `\MAPISVC.INF`},
	}, {
		name: "Outlook 2013 Click-to-Run, 32-bit, in the 64-bit Program Files, registered by the x86 DLL only",
		m: machine{arch: "386", env: wow64Env, files: map[string]string{
			`C:\Program Files\Microsoft Office 15\root\vfs\ProgramFilesCommonX86\System\MSMAPI\1033\MAPISVC.INF`: "",
		}},
		want: []string{`C:\Program Files\Microsoft Office 15\root\vfs\ProgramFilesCommonX86\System\MSMAPI\1033\MAPISVC.INF`},
	}, {
		name: "Outlook 2013 Click-to-Run, 32-bit, is not the x64 DLL's",
		m: machine{arch: "amd64", env: windows64Env, files: map[string]string{
			`C:\Program Files\Microsoft Office 15\root\vfs\ProgramFilesCommonX86\System\MSMAPI\1033\MAPISVC.INF`: "",
		}},
		want: []string{`C:\Windows\system32\MAPISVC.INF`},
	}, {
		name: "a 32-bit Outlook is not the 64-bit DLL's",
		m: machine{arch: "amd64", env: windows64Env,
			registry: map[string]string{"DLLPathEx": c2rX86 + `\msmapi32.dll`},
			files:    map[string]string{c2rX86 + `\msmapi32.dll`: "386", c2rX86 + `\MAPISVC.INF`: ""}},
		want: []string{`C:\Windows\system32\MAPISVC.INF`},
	}, {
		name: "FGetComponentPath with the application's language first",
		m: machine{arch: "amd64", env: map[string]string{},
			registry: map[string]string{"MSIComponentID": "{FF1D0740-D227-11D1-A4B0-006008AF820E}"},
			multi: map[string][]string{
				"MSIApplicationLCID": {`Microsoft\Office\16.0\Outlook`, "LastUILanguage"},
				"MSIOfficeLCID":      {`Microsoft\Office\16.0\Common\LanguageResources`, "UILanguage", "InstallLanguage"},
			},
			components: map[string]string{
				`{FF1D0740-D227-11D1-A4B0-006008AF820E}|Microsoft\Office\16.0\Outlook,LastUILanguage`: `D:\Office\MSMAPI\1036\MSMAPI32.DLL`,
			},
			files: map[string]string{`D:\Office\MSMAPI\1036\MSMAPI32.DLL`: "amd64", `D:\Office\MSMAPI\1036\MAPISVC.INF`: ""}},
		want: []string{`D:\Office\MSMAPI\1036\MAPISVC.INF`},
	}, {
		name: "Outlook's MAPI without a MAPISVC.INF: created beside it",
		m: machine{arch: "amd64", env: windows64Env,
			registry: map[string]string{"MSIComponentID": "{C}"},
			components: map[string]string{
				"{C}|": c2rX64 + `\msmapi32.dll`,
			},
			files: map[string]string{c2rX64 + `\msmapi32.dll`: "amd64"}},
		want: []string{c2rX64 + `\MAPISVC.INF`},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Locate(tc.m.funcs()); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Locate = %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestLocateAsksFGetComponentPathInMicrosoftsOrder(t *testing.T) {
	m := machine{arch: "amd64",
		registry: map[string]string{"MSIComponentID": "{C}"},
		multi:    map[string][]string{"MSIApplicationLCID": {"App", "L"}, "MSIOfficeLCID": {"Office", "L"}}}
	Locate(m.funcs())
	if want := []string{"{C}|App,L", "{C}|Office,L", "{C}|"}; !reflect.DeepEqual(m.calls, want) {
		t.Errorf("FGetComponentPath calls %q, want %q", m.calls, want)
	}
}

func TestLocateWithNothing(t *testing.T) {
	if got := Locate(LookupFuncs{}); got != nil {
		t.Errorf("Locate with no functions = %q", got)
	}
}

// TestFileArch reads the machine field of minimal PE files, and nothing from other files.
func TestFileArch(t *testing.T) {
	dir := t.TempDir()
	pe := func(machine uint16) string {
		b := make([]byte, 0x40+4+20)
		copy(b, "MZ")
		binary.LittleEndian.PutUint32(b[0x3c:], 0x40)
		copy(b[0x40:], "PE\x00\x00")
		binary.LittleEndian.PutUint16(b[0x44:], machine)
		p := filepath.Join(dir, strings.Repeat("x", int(machine%7)+1)+".dll")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for machine, want := range map[uint16]string{0x8664: "amd64", 0x14c: "386", 0xaa64: ""} {
		if got := FileArch(pe(machine)); got != want {
			t.Errorf("FileArch(machine %#x) = %q, want %q", machine, got, want)
		}
	}
	text := filepath.Join(dir, "MAPISVC.INF")
	if err := os.WriteFile(text, []byte(outlookINF), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{text, filepath.Join(dir, "missing.dll")} {
		if got := FileArch(p); got != "" {
			t.Errorf("FileArch(%s) = %q", p, got)
		}
	}
}

func TestWinPaths(t *testing.T) {
	for in, want := range map[string]string{
		`C:\a\b.dll`: `C:\a`, `C:\b.dll`: `C:\`, `b.dll`: "", `\\server\share\x.dll`: `\\server\share`,
	} {
		if got := winDir(in); got != want {
			t.Errorf("winDir(%q) = %q, want %q", in, got, want)
		}
	}
	if got := winJoin(`C:\`, "", `a\`, "b"); got != `C:\a\b` {
		t.Errorf("winJoin = %q", got)
	}
}
