package sbom

import (
	"regexp"
	"testing"
)

func TestPurl(t *testing.T) {
	for _, c := range []struct{ path, version, qualifiers, want string }{
		{"github.com/emersion/go-imap/v2", "v2.0.0-beta.8", "", "pkg:golang/github.com/emersion/go-imap/v2@v2.0.0-beta.8"},
		{"github.com/BurntSushi/toml", "v1.6.0", "", "pkg:golang/github.com/BurntSushi/toml@v1.6.0"},
		{"example.com/old", "v2.0.0+incompatible", "", "pkg:golang/example.com/old@v2.0.0%2Bincompatible"},
		{"github.com/mailshift/mailshift/cmd/mailshift", "v0.2.0", "goarch=arm64&goos=darwin",
			"pkg:golang/github.com/mailshift/mailshift/cmd/mailshift@v0.2.0?goarch=arm64&goos=darwin"},
		{"stdlib", "1.26.8", "", "pkg:golang/stdlib@1.26.8"},
	} {
		if got := purl(c.path, c.version, c.qualifiers); got != c.want {
			t.Errorf("purl(%q, %q) = %q, want %q", c.path, c.version, got, c.want)
		}
	}
}

// TestIDs: identifiers use only the characters SPDX allows, are stable per name, and two names that differ
// only in characters the identifier cannot hold get different identifiers.
func TestIDs(t *testing.T) {
	x := newIDs()
	valid := regexp.MustCompile(`^SPDXRef-[A-Za-z0-9.-]+$`)
	a, b := x.get("Module-example.com/a_b-v1.0.0"), x.get("Module-example.com/a+b-v1.0.0")
	if a == b {
		t.Errorf("two names share the identifier %s", a)
	}
	if again := x.get("Module-example.com/a_b-v1.0.0"); again != a {
		t.Errorf("the same name got %s and %s", a, again)
	}
	for _, id := range []string{a, b} {
		if !valid.MatchString(id) {
			t.Errorf("identifier %q has characters SPDX does not allow", id)
		}
	}
}

func TestModEscape(t *testing.T) {
	if got := modEscape("github.com/BurntSushi/toml"); got != "github.com/!burnt!sushi/toml" {
		t.Errorf("modEscape = %q", got)
	}
}
