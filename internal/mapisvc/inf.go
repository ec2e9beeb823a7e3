package mapisvc

import "bytes"

// line is one line of the file as found: its text without the terminator, and the terminator ("\r\n", "\n",
// or none for a last line that has none). Joining the lines gives the file back byte for byte, whatever its
// code page and line endings.
type line struct {
	text []byte
	eol  []byte
}

func splitLines(b []byte) []line {
	var lines []line
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			lines = append(lines, line{text: b})
			break
		}
		l := line{text: b[:i], eol: b[i : i+1]}
		if i > 0 && b[i-1] == '\r' {
			l = line{text: b[:i-1], eol: b[i-1 : i+1]}
		}
		lines = append(lines, l)
		b = b[i+1:]
	}
	return lines
}

func joinLines(lines []line) []byte {
	n := 0
	for _, l := range lines {
		n += len(l.text) + len(l.eol)
	}
	out := make([]byte, 0, n)
	for _, l := range lines {
		out = append(append(out, l.text...), l.eol...)
	}
	return out
}

// lineEnding is the terminator of the file's first terminated line, what new lines get so that the file keeps
// one style; CRLF, the Windows convention, for a file that has no terminated line yet.
func lineEnding(lines []line) []byte {
	for _, l := range lines {
		if len(l.eol) > 0 {
			return l.eol
		}
	}
	return []byte("\r\n")
}

// The profile functions of Windows (GetPrivateProfileString), through which MAPI reads MAPISVC.INF, ignore
// blanks around section names and keys and compare both without regard to case.
func trimBlanks(b []byte) []byte { return bytes.Trim(b, " \t") }

// sectionName is the name of the section a header line "[name]" opens.
func sectionName(text []byte) ([]byte, bool) {
	t := trimBlanks(text)
	if len(t) == 0 || t[0] != '[' {
		return nil, false
	}
	end := bytes.IndexByte(t, ']')
	if end < 0 {
		return nil, false
	}
	return trimBlanks(t[1:end]), true
}

// keyOf is the key of an entry line "key=value"; comments (';') and lines without '=' have none.
func keyOf(text []byte) ([]byte, bool) {
	t := trimBlanks(text)
	if len(t) == 0 || t[0] == ';' {
		return nil, false
	}
	if _, isHeader := sectionName(text); isHeader {
		return nil, false
	}
	eq := bytes.IndexByte(t, '=')
	if eq < 0 {
		return nil, false
	}
	return trimBlanks(t[:eq]), true
}

// equalFoldASCII compares without regard to ASCII case and byte for byte otherwise: the file is in the ANSI
// code page, not UTF-8, and a Unicode case fold would take two different non-ASCII bytes for the same letter.
func equalFoldASCII(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isContent is a line that carries something: neither blank nor a comment. Blank and comment lines at the
// end of a section usually introduce the next one, so they are not counted as part of the section's body.
func isContent(text []byte) bool {
	t := trimBlanks(text)
	return len(t) > 0 && t[0] != ';'
}

// section is the header at lines[start] and the lines after it up to the next header or the end.
type section struct {
	start, end int
	// bodyEnd is one past the section's last content line (start+1 when it has none): where a new entry goes,
	// and where the section ends when it is removed.
	bodyEnd int
}

// header is a section header line: its index and the section's name.
type header struct {
	index int
	name  []byte
}

func headers(lines []line) []header {
	var hs []header
	for i, l := range lines {
		if n, ok := sectionName(l.text); ok {
			hs = append(hs, header{i, n})
		}
	}
	return hs
}

// sectionsNamed lists, in file order, every section whose name is name.
func sectionsNamed(lines []line, name string) []section {
	hs := headers(lines)
	var out []section
	for k, h := range hs {
		if !equalFoldASCII(h.name, name) {
			continue
		}
		s := section{start: h.index, end: len(lines), bodyEnd: h.index + 1}
		if k+1 < len(hs) {
			s.end = hs[k+1].index
		}
		for i := s.start + 1; i < s.end; i++ {
			if isContent(lines[i].text) {
				s.bodyEnd = i + 1
			}
		}
		out = append(out, s)
	}
	return out
}

// removeLines removes lines[from:to] as the reverse of appendLines: when they run to the end of the file, the
// one line ending added before them goes too (a blank line, or the terminator given to a last line that had
// none).
func removeLines(lines []line, from, to int, eol []byte) []line {
	atEnd := to == len(lines)
	lines = append(lines[:from:from], lines[to:]...)
	if atEnd {
		lines = trimEnding(lines, eol)
	}
	return lines
}

// trimEnding takes one line ending off the end of the file. It works on the bytes: a last line "x\r" that was
// given the terminator "\n" reads back as "x" ending in "\r\n", and must become "x\r" again.
func trimEnding(lines []line, eol []byte) []line {
	b := joinLines(lines)
	if bytes.HasSuffix(b, eol) {
		b = b[:len(b)-len(eol)]
	}
	return splitLines(b)
}

// appendLines adds new lines at the end, after one line ending: a blank line when the file ends with a
// terminated line, the missing terminator when it does not; removeLines takes exactly that ending away again.
func appendLines(lines []line, eol []byte, texts ...string) []line {
	if len(lines) > 0 {
		if last := &lines[len(lines)-1]; len(last.eol) == 0 {
			last.eol = eol
		} else {
			lines = append(lines, line{eol: eol})
		}
	}
	for _, t := range texts {
		lines = append(lines, line{text: []byte(t), eol: eol})
	}
	return lines
}

// insertLine puts a new line after lines[after]. When that is the file's last line and has no terminator, it
// gets one and the new line goes without, so that the file still ends as it did (removeLine undoes both).
func insertLine(lines []line, after int, text string, eol []byte) []line {
	l := line{text: []byte(text), eol: eol}
	if after == len(lines)-1 && len(lines[after].eol) == 0 {
		lines[after].eol, l.eol = eol, nil
	}
	lines = append(lines[:after+1:after+1], append([]line{l}, lines[after+1:]...)...)
	return lines
}

// removeLine is the reverse of insertLine.
func removeLine(lines []line, i int, eol []byte) []line {
	if i == len(lines)-1 && len(lines[i].eol) == 0 {
		return trimEnding(lines[:i], eol)
	}
	return append(lines[:i:i], lines[i+1:]...)
}
