package redact

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// TestBase64AtEveryAlignment puts a secret inside payloads with every prefix and suffix length, encodes
// them in every alphabet, and checks that nothing of the encoded secret survives scrubbing. Which
// characters the secret determines is found independently of the implementation: by encoding the same
// payload with a different secret and seeing which characters change.
func TestBase64AtEveryAlignment(t *testing.T) {
	for _, secret := range []string{"secret-pw-123", "pw5ch", "Zürich\"quoted\\pw", "0123456789abcdef0123"} {
		other := make([]byte, len(secret))
		for i := range other {
			other[i] = secret[i] ^ 0xff
		}
		set := New(secret)
		for pre := 0; pre < 6; pre++ {
			for post := 0; post < 5; post++ {
				prefix, suffix := strings.Repeat("\x00a", pre)[:pre], strings.Repeat("b\x01", post)[:post]
				for _, enc := range encodings {
					a := enc.EncodeToString([]byte(prefix + secret + suffix))
					b := enc.EncodeToString([]byte(prefix + string(other) + suffix))
					first, last := -1, -1
					for i := range a {
						if a[i] != b[i] {
							if first < 0 {
								first = i
							}
							last = i
						}
					}
					// The characters at either end may mix bits of the neighbours: the span between them
					// is the secret's alone.
					inner := a[first+1 : last]
					got := set.String("server said: " + a)
					for w := 0; w+minFragment <= len(inner); w++ {
						if strings.Contains(got, inner[w:w+minFragment]) {
							t.Fatalf("secret %q prefix %d suffix %d: %q survives in %q (from %q)", secret, pre, post,
								inner[w:w+minFragment], got, a)
						}
					}
					if !strings.Contains(got, Mark) {
						t.Fatalf("nothing scrubbed in %q", got)
					}
				}
			}
		}
	}
}

func TestSASLPayloadsAndQuotedForms(t *testing.T) {
	const pw = `secret"pw\123`
	set := New(pw, "adm1n-pw").WithPayloads("\x00alice\x00"+pw, "user=alice\x01auth=Bearer adm1n-pw\x01\x01")
	plain := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + pw))
	for _, msg := range []string{
		"NO you said AUTHENTICATE PLAIN " + plain,
		"NO " + base64.RawURLEncoding.EncodeToString([]byte("\x00alice\x00"+pw)),
		`NO you said LOGIN "alice" "secret\"pw\\123"`,
		fmt.Sprintf("greeting %q", `* NO LOGIN "alice" "secret\"pw\\123"`),
		fmt.Sprintf("%q", pw),
		"NO " + base64.StdEncoding.EncodeToString([]byte(pw)),
		"NO " + base64.StdEncoding.EncodeToString([]byte("user=alice\x01auth=Bearer adm1n-pw\x01\x01")),
		"raw " + pw,
	} {
		got := set.String(msg)
		if strings.Contains(got, "secret") || strings.Contains(got, "adm1n") || !strings.Contains(got, Mark) {
			t.Errorf("%q scrubbed to %q", msg, got)
		}
		for _, f := range []string{plain, base64.StdEncoding.EncodeToString([]byte(pw))} {
			if strings.Contains(got, f) {
				t.Errorf("%q survives in %q", f, got)
			}
		}
	}
	if got := set.String("NO " + plain); got != "NO "+Mark {
		t.Errorf("whole PLAIN payload: %q, want it replaced whole", got)
	}
}

func TestError(t *testing.T) {
	set := New("hunter22")
	if err := set.Error(io.EOF); err != io.EOF {
		t.Errorf("an error without secrets changed: %v", err)
	}
	inner := fmt.Errorf("said hunter22: %w", errors.New("deep hunter22"))
	err := set.Error(inner, io.ErrUnexpectedEOF)
	if strings.Contains(err.Error(), "hunter22") {
		t.Fatal(err)
	}
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		if strings.Contains(u.Error(), "hunter22") {
			t.Fatalf("chain gives the secret back: %v", u)
		}
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Error("kept sentinel lost")
	}
	var nilSet *Set
	if nilSet.String("x hunter22") != "x hunter22" || New().Error(inner) != inner {
		t.Error("empty sets must scrub nothing")
	}
}
