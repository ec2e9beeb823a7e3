package foldermap

import (
	"testing"

	"golang.org/x/text/unicode/norm"
)

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern string
		path    []string
		want    bool
	}{
		{"Inbox", []string{"Inbox"}, true},
		{"Inbox", []string{"Inbox", "Sub"}, true}, // a pattern selects the subtree
		{"Inbox", []string{"Inbox2"}, false},
		{"Inbox", []string{"Projekte", "Inbox"}, false},
		{"inbox", []string{"INBOX"}, true},
		{"Gelöschte Elemente", []string{norm.NFD.String("GELÖSCHTE ELEMENTE")}, true},
		{"Inbox/**", []string{"Inbox"}, true},
		{"Inbox/**", []string{"Inbox", "a", "b"}, true},
		{"**/Archiv", []string{"a", "b", "Archiv"}, true},
		{"**/Archiv", []string{"Archiv"}, true},
		{"**/Archiv", []string{"a", "Archiv2"}, false},
		{"*/Archiv*", []string{"Projekte", "Archiv 2023"}, true},
		{"*/Archiv*", []string{"Projekte", "Archiv 2023", "Q1"}, true},
		{"*/Archiv*", []string{"Archiv 2023"}, false},
		{"*/Archiv*", []string{"a", "b", "Archiv"}, false},
		{"a*b*c", []string{"aXXbYYc"}, true},
		{"a*b*c", []string{"aXXbYY"}, false},
		{"*", []string{"A/B"}, true}, // '/' inside a name is an ordinary character
		{`A\/B`, []string{"A/B"}, true},
		{`A\/B`, []string{"A", "B"}, false},
		{"?", []string{"ü"}, true},
		{"??", []string{"ü"}, false},
		{"[a-c]x", []string{"Bx"}, true},
		{"[!a-c]x", []string{"dx"}, true},
		{"[^a-c]x", []string{"ax"}, false},
		{`\*`, []string{"*"}, true},
		{`\*`, []string{"x"}, false},
		{"**", []string{"anything", "at", "all"}, true},
		{"**/**/x", []string{"x"}, true},
	}
	for _, tt := range tests {
		p, err := compilePattern(tt.pattern)
		if err != nil {
			t.Fatalf("compilePattern(%q): %v", tt.pattern, err)
		}
		if got := p.match(foldPath(tt.path)); got != tt.want {
			t.Errorf("%q matches %q: %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestPatternErrors(t *testing.T) {
	for _, pattern := range []string{"", "/Inbox", "Inbox/", "a//b", "[", "[]", "[a", "[b-a]", `x\`, `[\`} {
		if _, err := compilePattern(pattern); err == nil {
			t.Errorf("compilePattern(%q) accepted an invalid pattern", pattern)
		}
	}
}

func TestManyStarsStayFast(t *testing.T) {
	p, err := compilePattern("*a*a*a*a*a*a*a*a*a*a*b")
	if err != nil {
		t.Fatal(err)
	}
	long := make([]rune, 5000)
	for i := range long {
		long[i] = 'a'
	}
	if p.match([][]rune{long}) {
		t.Fatal("matched a name without b")
	}
}
