//go:build windows

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/mailshift/mailshift/internal/atomicfile"
	"github.com/mailshift/mailshift/internal/mapisvc"
)

// registerService adds (or with unregister removes) the service's sections in every MAPISVC.INF Outlook
// reads. dllPath is the path of this DLL as loaded.
func registerService(dllPath string, unregister bool) error {
	edit := mapisvc.Remove
	if !unregister {
		frag, err := mapisvc.FragmentFor(dllPath)
		if err != nil {
			return err
		}
		edit = func(file []byte) ([]byte, error) { return mapisvc.Add(file, frag) }
	}
	paths := mapisvc.Locate(lookupFuncs())
	if len(paths) == 0 {
		return errors.New("found no place for MAPISVC.INF: the system directory is unknown")
	}
	var errs []error
	for _, p := range paths {
		if err := editFile(p, edit, !unregister); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// editFile rewrites path with edit, atomically (a temporary file in the same directory renamed over it) so that
// MAPI never reads half a file, and only when edit changed something. A missing file is edited from nothing
// when create is set and left alone otherwise.
func editFile(path string, edit func([]byte) ([]byte, error), create bool) error {
	old, err := readBounded(path)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil
		}
		old, err = nil, nil
	}
	if err != nil {
		return err
	}
	edited, err := edit(old)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if bytes.Equal(edited, old) {
		return nil
	}
	if err := atomicfile.Write(path, edited, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// readBounded reads at most one byte more than mapisvc accepts, so that a huge file is refused by the edit
// without being read whole.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, mapisvc.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// lookupFuncs are mapisvc.Locate's view of this Windows, from this process: its architecture, environment,
// registry view and file system redirection are those of the Outlook that can load this DLL.
func lookupFuncs() mapisvc.LookupFuncs {
	system, _ := windows.GetSystemDirectory()
	return mapisvc.LookupFuncs{
		Arch:            runtime.GOARCH,
		SystemDir:       system,
		Getenv:          os.Getenv,
		RegistryString:  registryString,
		RegistryStrings: registryStrings,
		ComponentPath:   componentPath,
		Exists: func(path string) bool {
			fi, err := os.Stat(path)
			return err == nil && fi.Mode().IsRegular()
		},
		Glob: func(pattern string) []string {
			m, _ := filepath.Glob(pattern)
			return m
		},
		DLLArch: mapisvc.FileArch,
	}
}

func registryString(key, name string) string {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, key, registry.QUERY_VALUE)
	if err != nil {
		return ""
	}
	defer k.Close()
	s, typ, err := k.GetStringValue(name)
	if err != nil {
		return ""
	}
	if typ == registry.EXPAND_SZ {
		if s, err = registry.ExpandString(s); err != nil {
			return ""
		}
	}
	return s
}

func registryStrings(key, name string) []string {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, key, registry.QUERY_VALUE)
	if err != nil {
		return nil
	}
	defer k.Close()
	s, _, err := k.GetStringsValue(name)
	if err != nil {
		return nil
	}
	return s
}

// The MAPI stub library exports FGetComponentPath: Windows' mapi32.dll, or Outlook's mapistub.dll; both are
// loaded from the system directory only.
var fGetComponentPath = []*windows.LazyProc{
	windows.NewLazySystemDLL("mapi32.dll").NewProc("FGetComponentPath"),
	windows.NewLazySystemDLL("mapistub.dll").NewProc("FGetComponentPath"),
}

// componentPath calls FGetComponentPath(component, qualifier, path, size, FALSE): the path of the MAPI DLL
// that Windows Installer component stands for. fInstall is FALSE: registering must not start an Office
// install on demand. The strings are ANSI; the qualifier is the REG_MULTI_SZ value as it is in the registry.
func componentPath(component string, qualifier []string) string {
	comp, ok := asciiCString(component)
	if !ok {
		return ""
	}
	var qual []byte
	if len(qualifier) > 0 {
		for _, q := range qualifier {
			b, ok := asciiCString(q)
			if !ok {
				return ""
			}
			qual = append(qual, b...)
		}
		qual = append(qual, 0)
	}
	for _, proc := range fGetComponentPath {
		if proc.Find() != nil {
			continue
		}
		buf := make([]byte, windows.MAX_PATH+1)
		var qualPtr *byte
		if qual != nil {
			qualPtr = &qual[0]
		}
		r, _, _ := proc.Call(uintptr(unsafe.Pointer(&comp[0])), uintptr(unsafe.Pointer(qualPtr)),
			uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0)
		runtime.KeepAlive(comp)
		runtime.KeepAlive(qual)
		if r == 0 {
			continue
		}
		if n := bytes.IndexByte(buf, 0); n > 0 {
			return fromANSI(buf[:n])
		}
	}
	return ""
}

// asciiCString is s NUL-terminated, when it is ASCII and so the same in every ANSI code page.
func asciiCString(s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 || s[i] > 0x7e {
			return nil, false
		}
	}
	return append([]byte(s), 0), true
}

// cpACP is CP_ACP, the process's ANSI code page.
const cpACP = 0

// fromANSI converts a path in the ANSI code page, as MAPI returns it, to a Go string.
func fromANSI(b []byte) string {
	n, err := windows.MultiByteToWideChar(cpACP, 0, &b[0], int32(len(b)), nil, 0)
	if err != nil || n <= 0 {
		return ""
	}
	w := make([]uint16, n)
	if _, err := windows.MultiByteToWideChar(cpACP, 0, &b[0], int32(len(b)), &w[0], n); err != nil {
		return ""
	}
	return strings.TrimRight(windows.UTF16ToString(w), "\x00")
}
