package release

import (
	"context"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/hack/release/internal/authenticode"
)

func TestValidateVersion(t *testing.T) {
	for v, ok := range map[string]bool{
		"v0.2.0": true, "v1.10.3": true, "v0.3.0-rc.1": true, "v0.0.0-test": true,
		"0.2.0": false, "v0.2": false, "v01.2.3": false, "v0.2.0+build": false, "v0.2.0-": false,
		"v0.2.0 ": false, "v0.2.0-rc..1": false, "": false,
	} {
		if err := ValidateVersion(v); (err == nil) != ok {
			t.Errorf("ValidateVersion(%q) = %v, want ok=%v", v, err, ok)
		}
	}
}

func TestCheckImageRefs(t *testing.T) {
	ref := Image + ":v0.2.0@sha256:" + strings.Repeat("a", 64)
	good := "image: " + ref + "\n"
	if err := checkImageRefs([]byte(good+good), ref); err != nil {
		t.Errorf("two references to the release image: %v", err)
	}
	for name, doc := range map[string]string{
		"none":       "image: busybox\n",
		"latest env": good + "value: " + Image + ":latest\n",
		"other tag":  good + `args: ["--image=` + Image + `:v0.1.0"]` + "\n",
	} {
		if err := checkImageRefs([]byte(doc), ref); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestFillPlaceholders(t *testing.T) {
	got, err := fillPlaceholders("version: ${VERSION}\nsha256: ${SHA256_LINUX_AMD64}\n", map[string]string{
		"VERSION": "v0.2.0", "SHA256_LINUX_AMD64": "abc", "URI_WINDOWS_ARM64": "unused",
	})
	if err != nil || got != "version: v0.2.0\nsha256: abc\n" {
		t.Errorf("got %q, %v", got, err)
	}
	if _, err := fillPlaceholders("uri: ${URI_PLAN9_AMD64}\nsha256: ${SHA256_PLAN9_AMD64}\n", map[string]string{}); err == nil ||
		!strings.Contains(err.Error(), "${URI_PLAN9_AMD64}") || !strings.Contains(err.Error(), "${SHA256_PLAN9_AMD64}") {
		t.Errorf("unfilled placeholders: %v, want both named", err)
	}
}

// TestPreflightWantsASigningDecision: a release without a certificate fails before building anything, unless
// it is asked for unsigned; asking for both is a mistake too.
func TestPreflightWantsASigningDecision(t *testing.T) {
	signer := &authenticode.Signer{Cert: []byte("cert"), Key: []byte("key")}
	for _, tc := range []struct {
		name     string
		signer   *authenticode.Signer
		unsigned bool
		want     string // in the error; "" for no word on signing
	}{
		{"no certificate", nil, false, "no code-signing certificate"},
		{"unsigned", nil, true, ""},
		{"signed", signer, false, ""},
		{"both", signer, true, "choose one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Run(context.Background(), Options{RepoRoot: t.TempDir(), Version: "v0.1.0", OutDir: t.TempDir(),
				Signer: tc.signer, Unsigned: tc.unsigned})
			if err == nil {
				t.Fatal("a release from an empty directory started")
			}
			msg := err.Error()
			if tc.want != "" && !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not say %q", msg, tc.want)
			}
			if tc.want == "" && (strings.Contains(msg, "code-signing") || strings.Contains(msg, "choose one")) {
				t.Errorf("error %q speaks of signing", msg)
			}
		})
	}
}
