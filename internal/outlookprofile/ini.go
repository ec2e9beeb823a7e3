package outlookprofile

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// INI is a file of the INI format Windows' profile-string functions read: [sections] of key=value lines,
// ';' comment lines.
type INI struct {
	// Comments are written at the top, each as a ';' line; ParsePRF gives back every comment line it read.
	Comments []string
	Sections []Section
}

// Section is one [section] with its keys in file order.
type Section struct {
	Name string
	Keys []Key
}

// Key is one key=value line.
type Key struct {
	Name  string
	Value string
}

func (f *INI) add(name string, keys ...Key) {
	f.Sections = append(f.Sections, Section{Name: name, Keys: keys})
}

// Section returns the named section; Windows compares section names without regard to case.
func (f *INI) Section(name string) (*Section, bool) {
	for i := range f.Sections {
		if strings.EqualFold(f.Sections[i].Name, name) {
			return &f.Sections[i], true
		}
	}
	return nil, false
}

// Get returns the value of the named key; Windows compares key names without regard to case.
func (s *Section) Get(name string) (string, bool) {
	for _, k := range s.Keys {
		if strings.EqualFold(k.Name, name) {
			return k.Value, true
		}
	}
	return "", false
}

// Map returns the section's keys and values.
func (s *Section) Map() map[string]string {
	m := make(map[string]string, len(s.Keys))
	for _, k := range s.Keys {
		m[k.Name] = k.Value
	}
	return m
}

// Bytes is the file as Windows writes a Unicode INI file: UTF-16LE with a byte order mark, CRLF line ends, a
// blank line before each section.
func (f *INI) Bytes() []byte {
	var b strings.Builder
	for _, c := range f.Comments {
		b.WriteString("; " + c + "\r\n")
	}
	for i, s := range f.Sections {
		if i > 0 || len(f.Comments) > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("[" + s.Name + "]\r\n")
		for _, k := range s.Keys {
			b.WriteString(k.Name + "=" + k.Value + "\r\n")
		}
	}
	return encodeUTF16(b.String())
}

// ParsePRF reads a file written by Bytes, strictly: anything Windows would read differently from what a
// careless writer meant is an error rather than a guess. The file is UTF-16LE with its byte order mark and
// CRLF line ends; every line is blank, a ';' comment, a [section] or a key=value line inside a section; no
// section or key appears twice (Windows would read only the first); a key name has no blanks around it
// and no value begins or ends with a blank (Windows would trim them).
func ParsePRF(data []byte) (*INI, error) {
	lines, err := readLines(data)
	if err != nil {
		return nil, err
	}
	f := &INI{}
	var cur *Section
	for i, line := range lines {
		n := i + 1
		switch {
		case line == "":
		case strings.HasPrefix(line, ";"):
			f.Comments = append(f.Comments, strings.TrimPrefix(strings.TrimPrefix(line, ";"), " "))
		case strings.HasPrefix(line, "["):
			name, ok := strings.CutSuffix(line[1:], "]")
			if !ok || name == "" || strings.ContainsAny(name, "[]") || strings.TrimSpace(name) != name {
				return nil, fmt.Errorf("line %d: %q is not a section header", n, line)
			}
			if _, dup := f.Section(name); dup {
				return nil, fmt.Errorf("line %d: section [%s] appears twice", n, name)
			}
			f.Sections = append(f.Sections, Section{Name: name})
			cur = &f.Sections[len(f.Sections)-1]
		default:
			name, value, ok := strings.Cut(line, "=")
			switch {
			case !ok:
				return nil, fmt.Errorf("line %d: %q is neither a section, a key=value line nor a comment", n, line)
			case cur == nil:
				return nil, fmt.Errorf("line %d: key %q before the first section", n, name)
			case name == "" || strings.TrimSpace(name) != name:
				return nil, fmt.Errorf("line %d: %q has no key name, or blanks around it", n, line)
			case strings.TrimSpace(value) != value:
				return nil, fmt.Errorf("line %d: the value of %s begins or ends with a blank", n, name)
			}
			if _, dup := cur.Get(name); dup {
				return nil, fmt.Errorf("line %d: key %s appears twice in [%s]", n, name, cur.Name)
			}
			cur.Keys = append(cur.Keys, Key{Name: name, Value: value})
		}
	}
	return f, nil
}

// readLines decodes a file written by encodeUTF16 and splits it into lines.
func readLines(data []byte) ([]string, error) {
	text, err := decodeUTF16(data)
	if err != nil {
		return nil, err
	}
	return crlfLines(text)
}

// crlfLines splits text at CRLF; a CR or LF alone is an error, since readers disagree about it.
func crlfLines(text string) ([]string, error) {
	if !strings.HasSuffix(text, "\r\n") {
		return nil, errors.New("the file does not end with CRLF")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n")
	for i, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			return nil, fmt.Errorf("line %d holds a CR or LF that is not part of a CRLF", i+1)
		}
	}
	return lines, nil
}

// bom is the UTF-16LE byte order mark.
var bom = []byte{0xFF, 0xFE}

func encodeUTF16(s string) []byte {
	units := utf16.Encode([]rune(s))
	out := make([]byte, 0, len(bom)+2*len(units))
	out = append(out, bom...)
	for _, u := range units {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

// decodeUTF16 reads UTF-16LE text after its byte order mark; unpaired surrogates are an error, not U+FFFD.
func decodeUTF16(data []byte) (string, error) {
	if len(data) < 2 || data[0] != bom[0] || data[1] != bom[1] {
		return "", errors.New("no UTF-16LE byte order mark")
	}
	data = data[2:]
	if len(data)%2 != 0 {
		return "", errors.New("an odd number of bytes: not UTF-16")
	}
	units := make([]uint16, len(data)/2)
	for i := range units {
		units[i] = uint16(data[2*i]) | uint16(data[2*i+1])<<8
	}
	for i := 0; i < len(units); i++ {
		switch u := units[i]; {
		case utf16.IsSurrogate(rune(u)) && u < 0xDC00 && i+1 < len(units) && units[i+1] >= 0xDC00 && units[i+1] <= 0xDFFF:
			i++
		case utf16.IsSurrogate(rune(u)):
			return "", fmt.Errorf("an unpaired UTF-16 surrogate at byte %d", 2+2*i)
		}
	}
	s := string(utf16.Decode(units))
	if !utf8.ValidString(s) {
		return "", errors.New("not valid text")
	}
	return s, nil
}
