package processkubelet

import "testing"

func TestRewrite(t *testing.T) {
	maps := []pathMap{
		{from: "/etc/secret/db", to: "/w/db"},
		{from: "/etc/secret", to: "/w/secret"},
		{from: "/dev/termination-log", to: "/w/term"},
	}
	for _, tc := range []struct{ in, want string }{
		{"/etc/secret", "/w/secret"},
		{"/etc/secret/key", "/w/secret/key"},
		{"/etc/secret/db/pw", "/w/db/pw"}, // longest mount first
		{"/etc/secretive", "/etc/secretive"},
		{"/etc", "/etc"},
		{"--termination-log=/dev/termination-log", "--termination-log=/w/term"},
		{"-f=/etc/secret/a", "-f=/w/secret/a"},
		{"x=/etc/secret/a", "x=/etc/secret/a"}, // not a flag
		{"cat /etc/secret/a", "cat /etc/secret/a"},
		{`{"a":{"file":"/etc/secret/db/pw"},"b":["/etc/secret","/other"],"n":1.50}`, `{"a":{"file":"/w/db/pw"},"b":["/w/secret","/other"],"n":1.50}`},
		{`{"a":"/other"}`, `{"a":"/other"}`},
		{`{broken "/etc/secret"}`, `{broken "/etc/secret"}`},
	} {
		if got := rewriteArg(tc.in, maps); got != tc.want {
			t.Errorf("rewriteArg(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "1", "B": "two"}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	for _, tc := range []struct{ in, want string }{
		{"$(A)", "1"},
		{"x$(A)y$(B)", "x1ytwo"},
		{"$(C)", "$(C)"},
		{"$$(A)", "$(A)"},
		{"$A", "$A"},
		{"$(A", "$(A"},
		{"$", "$"},
		{"$()", "$()"},
	} {
		if got := expand(tc.in, lookup); got != tc.want {
			t.Errorf("expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestImageWithoutTag(t *testing.T) {
	for in, want := range map[string]string{
		"mailshift/worker:v1":             "mailshift/worker",
		"localhost:5000/worker":           "localhost:5000/worker",
		"localhost:5000/worker:v1":        "localhost:5000/worker",
		"worker@sha256:abc":               "worker",
		"registry.io/a/worker:v2@sha256:": "registry.io/a/worker",
	} {
		if got := imageWithoutTag(in); got != want {
			t.Errorf("imageWithoutTag(%q) = %q, want %q", in, got, want)
		}
	}
}
