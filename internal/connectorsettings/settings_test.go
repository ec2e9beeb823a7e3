package connectorsettings

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	base := Settings{Host: "imap.example.org", Login: "alice"}
	with := func(f func(*Settings)) Settings { s := base; f(&s); return s }
	ok := []struct {
		name string
		in   Settings
		want Settings
	}{
		{"defaults", base, Settings{Host: "imap.example.org", Port: 143, TLS: TLSStartTLS, Login: "alice"}},
		{"implicit takes 993", with(func(s *Settings) { s.TLS = "Implicit" }), Settings{Host: "imap.example.org", Port: 993, TLS: TLSImplicit, Login: "alice"}},
		{"port kept", with(func(s *Settings) { s.Port = 10143 }), Settings{Host: "imap.example.org", Port: 10143, TLS: TLSStartTLS, Login: "alice"}},
		{"plaintext allowed", with(func(s *Settings) { s.TLS, s.AllowPlaintext = "none", true }), Settings{Host: "imap.example.org", Port: 143, TLS: TLSNone, AllowPlaintext: true, Login: "alice"}},
		{"IPv6 literal", with(func(s *Settings) { s.Host = "[::1]" }), Settings{Host: "[::1]", Port: 143, TLS: TLSStartTLS, Login: "alice"}},
		{"search URL with tokens", with(func(s *Settings) { s.FreeBusySearchURL = "ftp://h/pub/calendar/%NAME%.vfb" }),
			Settings{Host: "imap.example.org", Port: 143, TLS: TLSStartTLS, Login: "alice", FreeBusySearchURL: "ftp://h/pub/calendar/%NAME%.vfb"}},
	}
	for _, c := range ok {
		got, err := c.in.Normalize()
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	bad := []struct {
		name, field string
		in          Settings
	}{
		{"empty host", "Host", with(func(s *Settings) { s.Host = "" })},
		{"host with a slash", "Host", with(func(s *Settings) { s.Host = "imap/x" })},
		{"label too long", "Host", with(func(s *Settings) { s.Host = strings.Repeat("a", 64) + ".org" })},
		{"port too high", "Port", with(func(s *Settings) { s.Port = 65536 })},
		{"port negative", "Port", with(func(s *Settings) { s.Port = -1 })},
		{"none without permission", "TLS", with(func(s *Settings) { s.TLS = "none" })},
		{"unknown TLS", "TLS", with(func(s *Settings) { s.TLS = "tls1.0" })},
		{"empty login", "Login", with(func(s *Settings) { s.Login = "" })},
		{"non-ASCII login", "Login", with(func(s *Settings) { s.Login = "jürgen" })},
		{"login with a quote", "Login", with(func(s *Settings) { s.Login = "a\u007fb" })},
		{"10 KB value", "CAFile", with(func(s *Settings) { s.CAFile = strings.Repeat("x", 10240) })},
		{"line break", "EmailAddress", with(func(s *Settings) { s.Address = "a@b\r\nc" })},
		{"not an address", "EmailAddress", with(func(s *Settings) { s.Address = "alice" })},
		{"file URL", "FreeBusySearchURL", with(func(s *Settings) { s.FreeBusySearchURL = "file:///x" })},
		{"invalid UTF-8", "Host", with(func(s *Settings) { s.Host = "\xff" })},
	}
	for _, c := range bad {
		_, err := c.in.Normalize()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: got %v, want a FieldError for %s", c.name, err, c.field)
		}
	}
}

func TestTags(t *testing.T) {
	if TagHost != 0x6700001F || TagPort != 0x67010003 || TagProtectedPassword != 0x67F00102 {
		t.Errorf("tags moved: host 0x%08X port 0x%08X password 0x%08X; stored profiles depend on them", TagHost, TagPort, TagProtectedPassword)
	}
	seen := map[uint32]string{}
	for _, p := range PRFProperties {
		if p.ID < 0x6600 || p.ID >= 0x67F0 {
			t.Errorf("%s: ID 0x%04X is outside the provider range or in the secure range", p.Key, p.ID)
		}
		if other, dup := seen[p.ID]; dup {
			t.Errorf("%s and %s share ID 0x%04X", p.Key, other, p.ID)
		}
		seen[p.ID] = p.Key
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("imap.example.org", 143, "starttls", "alice", "a@b.c", "ftp://h/%NAME%.vfb")
	f.Fuzz(func(t *testing.T, host string, port int, tls, login, addr, url string) {
		s, err := Settings{Host: host, Port: port, TLS: tls, Login: login, Address: addr, FreeBusySearchURL: url}.Normalize()
		if err != nil {
			return
		}
		// What passes must be safe to write into a PRF line and an IMAP LOGIN.
		for _, v := range []string{s.Host, s.TLS, s.Login, s.Address, s.FreeBusySearchURL} {
			if strings.ContainsAny(v, "\r\n\x00") || len(v) > MaxValueBytes {
				t.Fatalf("accepted %q", v)
			}
		}
		if s.Port < 1 || s.Port > 65535 || strings.ContainsAny(s.Login, " \"") {
			t.Fatalf("accepted %+v", s)
		}
	})
}
