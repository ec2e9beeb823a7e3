// Package mapisvc edits MAPISVC.INF, the file MAPI copies a message service from when the service is added to
// a profile (Microsoft, "File Format of MapiSvc.inf" and "Registering Services and Service Providers in
// MapiSvc.inf", https://learn.microsoft.com/office/client-developer/outlook/mapi/file-format-of-mapisvc-inf).
// Add puts the connector's entry into [Services] and its message service section into the file; Remove takes
// them out again. Nothing else in the file changes: other services' sections, comments, order and line endings
// stay as they were, byte for byte. The file is in the ANSI code page, so it is handled as bytes, never decoded.
//
// Locate finds the MAPISVC.INF files an Outlook reads (see docs/outlook-connector.md, "MAPISVC.INF").
package mapisvc

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/mailshift/mailshift/internal/connectorsettings"
)

// MaxFileSize bounds the file Add and Remove accept. The MAPISVC.INF of a full Outlook is some tens of
// kilobytes; a file of megabytes is not one, and is refused rather than rewritten.
const MaxFileSize = 4 << 20

// ErrNotMAPISVC is wrapped by the errors about a file that cannot be a MAPISVC.INF (too large, not text).
var ErrNotMAPISVC = errors.New("not a MAPISVC.INF")

const servicesSection = "Services"

// ResourceFlags is the service's PR_RESOURCE_FLAGS. SERVICE_SINGLE_COPY: a profile holds one set of the
// connector's settings, so MAPI refuses a second copy of the service (a PRF imported twice, a person adding
// the account again) instead of creating a twin that nothing tells apart. SERVICE_NO_PRIMARY_IDENTITY: no
// provider of the service supplies the session's identity, and MAPI wants one of the two identity flags set.
const ResourceFlags = "SERVICE_SINGLE_COPY|SERVICE_NO_PRIMARY_IDENTITY"

// Fragment is what the connector's service puts into MAPISVC.INF.
type Fragment struct {
	// DLLPath is PR_SERVICE_DLL_NAME: the DLL's full path as MAPI wants it. MAPI inserts "32" before the first
	// period of the path and loads that file, so the installed mailshift32.dll is named here as mailshift.dll.
	DLLPath string
}

// FragmentFor is the fragment for the DLL installed at path, the file MAPI is to load (…\mailshift32.dll).
func FragmentFor(path string) (Fragment, error) {
	const suffix = "32.dll"
	if len(path) < len(suffix) || !strings.EqualFold(path[len(path)-len(suffix):], suffix) {
		return Fragment{}, fmt.Errorf("%s: MAPI loads a service DLL by inserting \"32\" before its extension, so the DLL's file name must end in 32.dll", path)
	}
	f := Fragment{DLLPath: path[:len(path)-len(suffix)] + path[len(path)-4:]}
	return f, f.Validate()
}

// Validate checks that MAPI finds the DLL by DLLPath and that the path survives being written into the file.
func (f Fragment) Validate() error {
	p := f.DLLPath
	if p == "" {
		return errors.New("the service DLL's path is empty")
	}
	for _, c := range []byte(p) {
		// The path is stored in the ANSI code page and converted through it by MAPI; only ASCII is the same in
		// every code page. A comma would split PR_SERVICE_SUPPORT_FILES, a list.
		if c < 0x20 || c > 0x7e || c == ',' {
			return fmt.Errorf("the service DLL's path %q has a character other than printable ASCII, or a comma: install the connector in a folder whose path has neither", p)
		}
	}
	if name := p[strings.LastIndexAny(p, `\/`)+1:]; len(name) <= len(".dll") {
		return fmt.Errorf("the service DLL's path %q has no file name", p)
	}
	if strings.Count(p, ".") != 1 || !strings.EqualFold(p[len(p)-4:], ".dll") {
		return fmt.Errorf("the service DLL's path %q must have exactly one period, that of .dll: MAPI finds the DLL by inserting \"32\" before the first period of the path; install the connector in a folder without periods", p)
	}
	return nil
}

func (f Fragment) servicesEntry() string {
	return connectorsettings.ServiceName + "=" + connectorsettings.DisplayName
}

// sectionLines are the header and entries of the service section.
//
// PR_SERVICE_SUPPORT_FILES names the DLL as the files the service needs. PR_SERVICE_DELETE_FILES is left out:
// MAPI would delete the files it lists when the service is removed from one profile, while the DLL belongs to
// the installer and serves every other profile.
//
// Providers is empty: this version of the service only keeps its settings in the profile and has no message
// store or transport provider. A provider section would make MAPI load the DLL as a provider it does not
// implement (no MSProviderInit or XPProviderInit) at every logon and fail it. The providers are listed here
// when the DLL has them.
func (f Fragment) sectionLines() []string {
	return []string{
		"[" + connectorsettings.ServiceName + "]",
		"PR_DISPLAY_NAME=" + connectorsettings.DisplayName,
		"PR_SERVICE_DLL_NAME=" + f.DLLPath,
		"PR_SERVICE_SUPPORT_FILES=" + f.DLLPath,
		"PR_SERVICE_ENTRY_NAME=ServiceEntry",
		"PR_RESOURCE_FLAGS=" + ResourceFlags,
		"Providers=",
	}
}

// File is the fragment as a file of its own, what a person merges into MAPISVC.INF by hand: [Services] with
// the service's entry, then the service section, with CRLF line endings.
func (f Fragment) File() []byte {
	texts := append([]string{"[" + servicesSection + "]", f.servicesEntry(), ""}, f.sectionLines()...)
	return []byte(strings.Join(texts, "\r\n") + "\r\n")
}

func checkFile(file []byte) error {
	if len(file) > MaxFileSize {
		return fmt.Errorf("%w: it is %d bytes, more than the %d a MAPISVC.INF could be", ErrNotMAPISVC, len(file), MaxFileSize)
	}
	if bytes.IndexByte(file, 0) >= 0 {
		// A UTF-16 file (the profile functions read those too) cannot be edited as bytes of the ANSI code page.
		return fmt.Errorf("%w: it holds NUL bytes (UTF-16 or binary), and MAPISVC.INF is text in the ANSI code page", ErrNotMAPISVC)
	}
	return nil
}

// Add puts the fragment into file: its entry into the first [Services] section (replacing an entry of the
// service there, after the section's last entry otherwise) and its service section in place of the existing
// one (at the end of the file otherwise). A file without [Services] gets one after the service section. Adding
// again changes nothing; adding with another DLL path replaces the service's lines. Remove undoes Add exactly.
func Add(file []byte, frag Fragment) ([]byte, error) {
	if err := checkFile(file); err != nil {
		return nil, err
	}
	if err := frag.Validate(); err != nil {
		return nil, err
	}
	lines := splitLines(file)
	eol := lineEnding(lines)
	lines, hadServices := setServicesEntry(lines, frag.servicesEntry(), eol)
	lines = setServiceSection(lines, frag.sectionLines(), eol)
	if !hadServices {
		// After the service section, not before it: Remove tells a [Services] that Add created by that place.
		lines = appendLines(lines, eol, "["+servicesSection+"]", frag.servicesEntry())
	}
	return joinLines(lines), nil
}

// Remove takes the service out of file: its entries in [Services] and its service sections. A file Add changed
// that had none of them before gets its exact bytes back.
func Remove(file []byte) ([]byte, error) {
	if err := checkFile(file); err != nil {
		return nil, err
	}
	lines := splitLines(file)
	eol := lineEnding(lines)
	if hs := headers(lines); len(hs) > 0 {
		last := hs[len(hs)-1]
		if equalFoldASCII(last.name, servicesSection) && last.index == len(lines)-2 && isServiceEntry(lines[last.index+1].text) &&
			hasSection(hs[:len(hs)-1], connectorsettings.ServiceName) {
			lines = removeLines(lines, last.index, len(lines), eol) // the [Services] Add created
		}
	}
	secs := sectionsNamed(lines, connectorsettings.ServiceName)
	for k := len(secs) - 1; k >= 0; k-- {
		lines = removeLines(lines, secs[k].start, secs[k].bodyEnd, eol)
	}
	entries := serviceEntries(lines)
	for k := len(entries) - 1; k >= 0; k-- {
		lines = removeLine(lines, entries[k], eol)
	}
	return joinLines(lines), nil
}

func hasSection(hs []header, name string) bool {
	for _, h := range hs {
		if equalFoldASCII(h.name, name) {
			return true
		}
	}
	return false
}

func isServiceEntry(text []byte) bool {
	k, ok := keyOf(text)
	return ok && equalFoldASCII(k, connectorsettings.ServiceName)
}

// serviceEntries are the indexes of the service's entries in every [Services] section, in file order.
func serviceEntries(lines []line) []int {
	var idx []int
	for _, s := range sectionsNamed(lines, servicesSection) {
		for i := s.start + 1; i < s.end; i++ {
			if isServiceEntry(lines[i].text) {
				idx = append(idx, i)
			}
		}
	}
	return idx
}

// setServicesEntry makes the first [Services] section hold the entry once and the others not at all. It
// reports false, changing nothing, when the file has no [Services] section.
func setServicesEntry(lines []line, entry string, eol []byte) ([]line, bool) {
	secs := sectionsNamed(lines, servicesSection)
	if len(secs) == 0 {
		return lines, false
	}
	entries := serviceEntries(lines)
	keep := -1
	if len(entries) > 0 && entries[0] < secs[0].end {
		keep = entries[0]
	}
	for k := len(entries) - 1; k >= 0; k-- {
		if entries[k] != keep {
			lines = removeLine(lines, entries[k], eol)
		}
	}
	if keep >= 0 {
		lines[keep].text = []byte(entry)
		return lines, true
	}
	first := sectionsNamed(lines, servicesSection)[0]
	return insertLine(lines, first.bodyEnd-1, entry, eol), true
}

// setServiceSection replaces the first service section's header and entries with body, removes any later one,
// and appends body when there is none.
func setServiceSection(lines []line, body []string, eol []byte) []line {
	secs := sectionsNamed(lines, connectorsettings.ServiceName)
	if len(secs) == 0 {
		return appendLines(lines, eol, body...)
	}
	for k := len(secs) - 1; k >= 1; k-- {
		lines = append(lines[:secs[k].start:secs[k].start], lines[secs[k].bodyEnd:]...)
	}
	s := secs[0]
	repl := make([]line, len(body))
	for i, t := range body {
		repl[i] = line{text: []byte(t), eol: eol}
	}
	if s.bodyEnd == len(lines) && len(lines[len(lines)-1].eol) == 0 {
		repl[len(repl)-1].eol = nil // the file ended without a terminator and still does
	}
	return append(lines[:s.start:s.start], append(repl, lines[s.bodyEnd:]...)...)
}
