package foldermap

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mailshift/mailshift/internal/imapconn"
)

func TestEscape(t *testing.T) {
	slashTarget := Target{Separator: '/'}
	dotTarget := Target{Separator: '.'}
	maildir := Target{Separator: '/', Forbidden: ForbiddenDovecotMaildir}
	tests := []struct {
		name string
		t    Target
		in   string
		want string
	}{
		{"plain", slashTarget, "Projekte 2024", "Projekte 2024"},
		{"separator slash", slashTarget, "A/B", "A=2FB"},
		{"separator dot", dotTarget, "v1.2", "v1=2E2"},
		{"dot is fine with slash", slashTarget, "v1.2", "v1.2"},
		{"slash is fine with dot", dotTarget, "A/B", "A/B"},
		{"forbidden dot (maildir)", maildir, "v1.2/x", "v1=2E2=2Fx"},
		{"percent", slashTarget, "100%", "100=25"},
		{"escape character that looks escaped", slashTarget, "=2F", "=3D2F"},
		{"list wildcards", slashTarget, "100% *", "100=25 =2A"},
		{"ampersand is left to the wire encoding", slashTarget, "R&D", "R&D"},
		{"control characters", slashTarget, "a\x01b\tc\x7f", "a=01b=09c=7F"},
		{"C1 control", slashTarget, "a\u0085b", "a=C2=85b"},
		{"dot", slashTarget, ".", "=2E"},
		{"dot dot", slashTarget, "..", "=2E=2E"},
		{"dot dot dot is a name", slashTarget, "...", "..."},
		{"empty", slashTarget, "", "="},
		{"trailing space", slashTarget, "Work ", "Work=20"},
		{"leading spaces", slashTarget, "  Work", "=20=20Work"},
		{"inner space", slashTarget, "My Work", "My Work"},
		{"only spaces", slashTarget, "   ", "=20=20=20"},
		{"no-break space at the end", slashTarget, "Work\u00a0", "Work=C2=A0"},
		{"leading tilde", slashTarget, "~backup", "=7Ebackup"},
		{"inner tilde", slashTarget, "a~b", "a~b"},
		{"replacement character", slashTarget, "a\uFFFDb", "a=EF=BF=BDb"},
		{"invalid UTF-8", slashTarget, "a\xffb", "a=FFb"},
		{"non-ASCII", slashTarget, "Übersicht 受信", "Übersicht 受信"},
		{"INBOX is not escaped", slashTarget, "INBOX", "INBOX"},
		{"configured forbidden", Target{Separator: '/', Forbidden: "!"}, "!Wichtig!", "=21Wichtig=21"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Escape(tt.in, tt.t)
			if got != tt.want {
				t.Fatalf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if back := Unescape(got); back != tt.in {
				t.Fatalf("Unescape(%q) = %q, want %q", got, back, tt.in)
			}
		})
	}
}

func TestUnescapeLeavesUnescapedNames(t *testing.T) {
	for _, in := range []string{"Projekte", "50% off", "=zz", "a=2", "R&D", "x=y"} {
		if got := Unescape(in); got != in {
			t.Errorf("Unescape(%q) = %q, want it unchanged", in, got)
		}
	}
	if got := Unescape("=2f=C3=BC"); got != "/ü" {
		t.Errorf("Unescape accepts lower-case hex: got %q", got)
	}
}

// fuzzTargets are the targets the escape fuzzer varies over.
var fuzzTargets = []Target{
	{Separator: '/'},
	{Separator: '.'},
	{Separator: '/', Forbidden: ForbiddenDovecotMaildir},
	{Separator: '.', Forbidden: ForbiddenDovecotMaildir + "*~ "},
	{Separator: '\\', Forbidden: "\"&-()"},
}

func FuzzEscapeRoundTrip(f *testing.F) {
	for _, s := range []string{"", ".", "..", "a/b", "v1.2", "100%", "=2F", "R&D", "a\x00b", " x ", "~", "Übersicht", "受信トレイ", "\xff\xfe", "\uFFFD", "a&-b"} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, in string, which uint8) {
		target := fuzzTargets[int(which)%len(fuzzTargets)]
		esc := Escape(in, target)
		if back := Unescape(esc); back != in {
			t.Fatalf("Unescape(Escape(%q)) = %q (escaped %q)", in, back, esc)
		}
		if esc == "" || esc == "." || esc == ".." {
			t.Fatalf("Escape(%q) = %q: not a usable component", in, esc)
		}
		if strings.ContainsRune(esc, target.Separator) {
			t.Fatalf("Escape(%q) = %q contains the separator %q", in, esc, target.Separator)
		}
		if i := strings.IndexAny(esc, target.Forbidden); i >= 0 {
			t.Fatalf("Escape(%q) = %q contains forbidden %q", in, esc, esc[i])
		}
		if !utf8.ValidString(esc) {
			t.Fatalf("Escape(%q) = %q is not valid UTF-8", in, esc)
		}
		if strings.TrimSpace(esc) != esc {
			t.Fatalf("Escape(%q) = %q has white space at an edge", in, esc)
		}
		wire := imapconn.EncodeUTF7(esc)
		decoded, err := imapconn.DecodeUTF7(wire)
		if err != nil || decoded != esc {
			t.Fatalf("wire form %q of %q decodes to %q, %v", wire, esc, decoded, err)
		}
	})
}

func TestShorten(t *testing.T) {
	target := Target{Separator: '/', MaxComponent: 32}
	long := strings.Repeat("Projektunterlagen ", 5)
	a, cutA := shorten(Escape(long+"A", target), target)
	b, cutB := shorten(Escape(long+"B", target), target)
	if !cutA || !cutB {
		t.Fatalf("not shortened: %q %q", a, b)
	}
	if a == b {
		t.Fatalf("two long names sharing their start shortened to one name %q", a)
	}
	for _, s := range []string{a, b} {
		if n := wireLen(s); n > target.MaxComponent {
			t.Errorf("%q is %d wire bytes, limit %d", s, n, target.MaxComponent)
		}
	}
	if again, _ := shorten(Escape(long+"A", target), target); again != a {
		t.Errorf("shortening is not deterministic: %q then %q", a, again)
	}
	if short, cut := shorten("Projekte", target); cut || short != "Projekte" {
		t.Errorf("short name changed: %q", short)
	}
	// Non-ASCII counts in its wire form, and escapes are never cut in half.
	jp, _ := shorten(Escape(strings.Repeat("受信トレイ", 10), target), target)
	if n := wireLen(jp); n > target.MaxComponent {
		t.Errorf("%q is %d wire bytes, limit %d", jp, n, target.MaxComponent)
	}
	esc, _ := shorten(Escape(strings.Repeat("%", 40), target), target)
	if !strings.HasPrefix(esc, "=25") || strings.Contains(strings.SplitN(esc, "-", 2)[0], "%2-") {
		t.Errorf("escape cut in half: %q", esc)
	}
	for i := 0; i+2 < len(esc); i++ {
		if esc[i] == '%' && !(isHex(esc[i+1]) && isHex(esc[i+2])) {
			t.Errorf("escape cut in half at %d: %q", i, esc)
		}
	}
}
