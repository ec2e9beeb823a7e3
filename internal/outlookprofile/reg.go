package outlookprofile

import (
	"fmt"
	"strings"

	"github.com/mailshift/mailshift/internal/connectorsettings"
)

// regHeader is the first line of a registry file in the Unicode form regedit writes.
const regHeader = "Windows Registry Editor Version 5.00"

// FreeBusyValue is the registry value holding Outlook's Internet free/busy search path ("Search location" in
// Calendar Options, Free/Busy Options), a REG_SZ in which Outlook replaces %NAME% with the local part of the
// address it looks up.
const FreeBusyValue = "Read URL"

// FreeBusyKeys are the keys FreeBusyValue is set under: Outlook 2013 (15.0) and Outlook 2016, 2019, 2021,
// 2024 and Microsoft 365 (all 16.0). A key of a version that is not installed is never read.
var FreeBusyKeys = []string{
	`HKEY_CURRENT_USER\Software\Microsoft\Office\15.0\Outlook\Options\Calendar\Internet Free/Busy`,
	`HKEY_CURRENT_USER\Software\Microsoft\Office\16.0\Outlook\Options\Calendar\Internet Free/Busy`,
}

// RenderFreeBusyReg checks searchURL by the connector's rule (an ftp, http or https URL) and writes the
// registry file that makes it Outlook's free/busy search path. %NAME% stays as it is: registry strings are
// not expanded.
func RenderFreeBusyReg(searchURL string) ([]byte, error) {
	if searchURL == "" {
		return nil, &connectorsettings.FieldError{Field: "FreeBusySearchURL", Reason: "is empty"}
	}
	// The connector's own rule for its FreeBusySearchURL setting, with placeholders for the settings it
	// requires besides.
	if _, err := (connectorsettings.Settings{Host: "localhost", Login: "x", FreeBusySearchURL: searchURL}).Normalize(); err != nil {
		return nil, err
	}
	if err := CheckValue("FreeBusySearchURL", searchURL); err != nil {
		return nil, err
	}
	f := &Reg{}
	for _, k := range FreeBusyKeys {
		f.Keys = append(f.Keys, RegKey{Path: k, Values: []RegValue{{Name: FreeBusyValue, Data: searchURL}}})
	}
	return f.Bytes(), nil
}

// Reg is a registry file of string (REG_SZ) values, the only kind this package writes.
type Reg struct {
	Keys []RegKey
}

// RegKey is one [key] and its values.
type RegKey struct {
	Path   string
	Values []RegValue
}

// RegValue is one "name"="data" line.
type RegValue struct {
	Name string
	Data string
}

// Key returns the key of that path; the registry compares them without regard to case.
func (f *Reg) Key(path string) (*RegKey, bool) {
	for i := range f.Keys {
		if strings.EqualFold(f.Keys[i].Path, path) {
			return &f.Keys[i], true
		}
	}
	return nil, false
}

// Bytes is the file as regedit exports one: UTF-16LE with a byte order mark, CRLF line ends, the header, and
// a blank line after it and after each key.
func (f *Reg) Bytes() []byte {
	var b strings.Builder
	b.WriteString(regHeader + "\r\n\r\n")
	for _, k := range f.Keys {
		b.WriteString("[" + k.Path + "]\r\n")
		for _, v := range k.Values {
			b.WriteString(regString(v.Name) + "=" + regString(v.Data) + "\r\n")
		}
		b.WriteString("\r\n")
	}
	return encodeUTF16(b.String())
}

// regString quotes s as a registry file does: a backslash and a quotation mark are escaped with a backslash.
func regString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// ParseReg reads a registry file written by Bytes, strictly: UTF-16LE with its byte order mark and CRLF line
// ends, the version 5 header, then [key] lines each followed by "name"="data" lines (string values, with \\
// and \" the only escapes). Anything else, a key or value named twice among them, is an error.
func ParseReg(data []byte) (*Reg, error) {
	lines, err := readLines(data)
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 || lines[0] != regHeader {
		return nil, fmt.Errorf("the first line is not %q", regHeader)
	}
	f := &Reg{}
	var cur *RegKey
	for i, line := range lines[1:] {
		n := i + 2
		switch {
		case line == "":
		case strings.HasPrefix(line, "["):
			path, ok := strings.CutSuffix(line[1:], "]")
			if !ok || path == "" || strings.HasPrefix(path, "-") || !strings.HasPrefix(path, "HKEY_") {
				return nil, fmt.Errorf("line %d: %q is not a key", n, line)
			}
			if _, dup := f.Key(path); dup {
				return nil, fmt.Errorf("line %d: key %s appears twice", n, path)
			}
			f.Keys = append(f.Keys, RegKey{Path: path})
			cur = &f.Keys[len(f.Keys)-1]
		case cur == nil:
			return nil, fmt.Errorf("line %d: a value before the first key", n)
		default:
			name, rest, err := unquoteReg(line)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", n, err)
			}
			data, ok := strings.CutPrefix(rest, "=")
			if !ok {
				return nil, fmt.Errorf("line %d: no = after the value name", n)
			}
			value, rest, err := unquoteReg(data)
			if err != nil || rest != "" {
				return nil, fmt.Errorf("line %d: the data of %q is not one string", n, name)
			}
			for _, v := range cur.Values {
				if strings.EqualFold(v.Name, name) {
					return nil, fmt.Errorf("line %d: value %q appears twice in %s", n, name, cur.Path)
				}
			}
			cur.Values = append(cur.Values, RegValue{Name: name, Data: value})
		}
	}
	return f, nil
}

// unquoteReg reads one quoted registry string at the start of s and returns it and what follows it.
func unquoteReg(s string) (string, string, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", fmt.Errorf("%q does not start with a quoted string", s)
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 == len(s) || (s[i+1] != '\\' && s[i+1] != '"') {
				return "", "", fmt.Errorf("%q has an escape other than \\\\ or \\\"", s)
			}
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("%q has no closing quotation mark", s)
}
