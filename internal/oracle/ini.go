package oracle

import "testing"

// INISection is one section as Python's configparser read it, its keys in file order.
type INISection struct {
	Name string      `json:"name"`
	Keys [][2]string `json:"keys"`
}

// INIResult is one parsed file.
type INIResult struct {
	Error    string       `json:"error"`
	Sections []INISection `json:"sections"`
}

// INI parses every document (UTF-16 with a byte order mark, as Outlook PRF files are) with configparser,
// harsher than Windows: ';' starts a comment anywhere in a line, and a section or key given twice is an
// error.
func INI(tb testing.TB, docs [][]byte) []INIResult {
	tb.Helper()
	var res []INIResult
	run(tb, "ini", map[string]any{"docs": docs}, &res)
	checkCount(tb, "ini", len(res), len(docs))
	return res
}
