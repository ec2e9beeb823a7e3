package mapisvc

import (
	"debug/pe"
	"encoding/binary"
	"os"
	"sort"
	"strings"
)

// FileName is MAPISVC.INF's name.
const FileName = "MAPISVC.INF"

// OutlookMailKey is where Outlook's installer tells the MAPI stub library which MAPI to load, under
// HKEY_LOCAL_MACHINE ("Mapi32.dll Stub Registry Settings").
const OutlookMailKey = `SOFTWARE\Clients\Mail\Microsoft Outlook`

// LookupFuncs are how Locate sees the machine: Windows calls on Windows, fakes in tests. A nil function finds
// nothing.
type LookupFuncs struct {
	// Arch is the architecture of the DLL being registered, "amd64" or "386". Only an Outlook of the same
	// architecture can load it, so only that Outlook's MAPISVC.INF is changed.
	Arch string
	// SystemDir is the system directory as GetSystemDirectory returns it to the registering process.
	SystemDir string
	// Getenv reads an environment variable of the registering process (whose architecture decides what
	// %ProgramFiles% and %CommonProgramFiles% name).
	Getenv func(name string) string
	// RegistryString reads a REG_SZ value (REG_EXPAND_SZ expanded) of a key under HKEY_LOCAL_MACHINE, in the
	// registry view of the registering process; "" when there is none.
	RegistryString func(key, name string) string
	// RegistryStrings reads a REG_MULTI_SZ value the same way.
	RegistryStrings func(key, name string) []string
	// ComponentPath is the MAPI stub's FGetComponentPath(component, qualifier, …, fInstall FALSE): the path of
	// the MAPI DLL that Windows Installer component stands for; "" when it fails or there is no stub.
	ComponentPath func(component string, qualifier []string) string
	// Exists reports whether path is an existing file.
	Exists func(path string) bool
	// Glob lists the files matching a pattern ('*' within one path element).
	Glob func(pattern string) []string
	// DLLArch is the architecture a DLL is built for ("amd64", "386"), "" when it cannot be read; FileArch
	// reads it.
	DLLArch func(path string) string
}

// Locate returns every existing MAPISVC.INF that an Outlook of env.Arch reads, in this order: the system
// directory's; the one beside the MAPI DLL the registry points at (FGetComponentPath of MSIComponentID with the
// MSIApplicationLCID and MSIOfficeLCID qualifiers, then DLLPathEx); the per-language ones of MSI installs under
// %CommonProgramFiles%\System\MSMAPI and of Click-to-Run installs under
// %ProgramFiles%\Microsoft Office[ 15]\root\vfs\ProgramFilesCommonX64|X86\System\MSMAPI. When none exists, it
// returns the one to create: beside the MAPI DLL the registry points at (as Microsoft's GetMAPISVCPath does),
// else in the system directory.
func Locate(env LookupFuncs) []string {
	exists := func(p string) bool { return env.Exists != nil && env.Exists(p) }
	var found []string
	seen := map[string]bool{}
	add := func(p string) {
		if k := strings.ToLower(p); !seen[k] && exists(p) {
			seen[k] = true
			found = append(found, p)
		}
	}
	system := ""
	if env.SystemDir != "" {
		system = winJoin(env.SystemDir, FileName)
		add(system)
	}
	mapiDirs := mapiDirectories(env)
	for _, d := range mapiDirs {
		add(winJoin(d, FileName))
	}
	if env.Glob != nil {
		for _, pattern := range installPatterns(env) {
			matches := env.Glob(pattern)
			sort.Strings(matches)
			for _, m := range matches {
				add(m)
			}
		}
	}
	switch {
	case len(found) > 0:
		return found
	case len(mapiDirs) > 0:
		return []string{winJoin(mapiDirs[0], FileName)}
	case system != "":
		return []string{system}
	}
	return nil
}

// mapiDirectories are the directories of the MAPI DLLs the registry names for Outlook, those built for
// env.Arch only: the registry of a 64-bit Windows may describe a 32-bit Outlook to a 64-bit process.
func mapiDirectories(env LookupFuncs) []string {
	var dlls []string
	if env.RegistryString != nil {
		component := env.RegistryString(OutlookMailKey, "MSIComponentID")
		if component != "" && env.ComponentPath != nil {
			var qualifiers [][]string
			if env.RegistryStrings != nil {
				for _, name := range []string{"MSIApplicationLCID", "MSIOfficeLCID"} {
					if q := env.RegistryStrings(OutlookMailKey, name); len(q) > 0 {
						qualifiers = append(qualifiers, q)
					}
				}
			}
			// Without a qualifier the stub tries the user's and the system's language, then 1033.
			for _, q := range append(qualifiers, nil) {
				if p := env.ComponentPath(component, q); p != "" {
					dlls = append(dlls, p)
					break
				}
			}
		}
		if p := env.RegistryString(OutlookMailKey, "DLLPathEx"); p != "" {
			dlls = append(dlls, p)
		}
	}
	var dirs []string
	for _, dll := range dlls {
		if env.DLLArch == nil || env.DLLArch(dll) != env.Arch {
			continue
		}
		if d := winDir(dll); d != "" && !containsFold(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// installPatterns are where Outlook's installers put MAPISVC.INF, one folder per language (LCID): MSI
// installs (Outlook 2013, 2016) under Common Files, Click-to-Run installs (2013 in "Microsoft Office 15",
// later ones and Microsoft 365 in "Microsoft Office") in the virtual file system of their root folder, whose
// ProgramFilesCommonX64 or X86 says the architecture. The environment variables of a 32-bit process name the
// 32-bit folders; ProgramW6432 is there because a 32-bit Outlook 2013 Click-to-Run lives in the 64-bit
// Program Files.
func installPatterns(env LookupFuncs) []string {
	if env.Getenv == nil {
		return nil
	}
	vfs := "ProgramFilesCommonX64"
	if env.Arch == "386" {
		vfs = "ProgramFilesCommonX86"
	}
	var patterns []string
	if common := env.Getenv("CommonProgramFiles"); common != "" {
		patterns = append(patterns, winJoin(common, `System\MSMAPI\*`, FileName))
	}
	var roots []string
	for _, v := range []string{"ProgramFiles", "ProgramW6432"} {
		if r := env.Getenv(v); r != "" && !containsFold(roots, r) {
			roots = append(roots, r)
		}
	}
	for _, root := range roots {
		for _, office := range []string{"Microsoft Office", "Microsoft Office 15"} {
			patterns = append(patterns, winJoin(root, office, `root\vfs`, vfs, `System\MSMAPI\*`, FileName))
		}
	}
	return patterns
}

// FileArch reads the architecture a Windows executable or DLL is built for from its PE header: "amd64",
// "386", or "" when the file cannot be read or is for another machine. Only the header is read: the DOS
// header's pointer to the PE signature, and the machine field after it.
func FileArch(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var dos [0x40]byte
	if _, err := f.ReadAt(dos[:], 0); err != nil || dos[0] != 'M' || dos[1] != 'Z' {
		return ""
	}
	var sig [6]byte
	if _, err := f.ReadAt(sig[:], int64(binary.LittleEndian.Uint32(dos[0x3c:]))); err != nil || string(sig[:4]) != "PE\x00\x00" {
		return ""
	}
	switch binary.LittleEndian.Uint16(sig[4:]) {
	case pe.IMAGE_FILE_MACHINE_AMD64:
		return "amd64"
	case pe.IMAGE_FILE_MACHINE_I386:
		return "386"
	}
	return ""
}

// Windows paths, handled the same on every OS so that Locate is tested anywhere.

func winJoin(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 && !strings.HasSuffix(b.String(), `\`) {
			b.WriteByte('\\')
		}
		b.WriteString(p)
	}
	return b.String()
}

// winDir is the directory of path, "" when it has none.
func winDir(path string) string {
	i := strings.LastIndexAny(path, `\/`)
	if i <= 0 {
		return ""
	}
	if i == 2 && path[1] == ':' {
		return path[:3] // "C:\"
	}
	return path[:i]
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
