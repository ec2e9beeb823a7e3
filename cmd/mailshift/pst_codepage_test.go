package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestPSTInspectFindsCodePage: on a Japanese Outlook 97-2002 file that records no code page, `pst inspect`
// with no flag prints the folder names in Japanese and says which code page it used and why; --codepage
// still wins.
func TestPSTInspectFindsCodePage(t *testing.T) {
	file := filepath.Join(pstFixtureDir(t), "hiraoka-contacts97-2002.pst")
	var out, errb bytes.Buffer
	if code := run([]string{"pst", "inspect", file}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"\n  連絡先 (Contact dedicated)  [IPM.Contact 1]\n", "\n  削除済みアイテム\n", "Code page: 932 (messages: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"pst", "inspect", file, "--codepage", "1252"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "Code page: 1252 (explicit") || strings.Contains(out.String(), "連絡先") {
		t.Errorf("--codepage 1252: exit %d\n%s", code, out.String())
	}
}
