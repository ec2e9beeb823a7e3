package outlookprofile

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"testing"

	"github.com/mailshift/mailshift/internal/connectorsettings"
)

// FuzzRender drives Render with arbitrary values: it never panics, refuses with a FieldError or writes files
// that read back with exactly the sections and keys of any other profile, each value the one given. A
// hostile value can never add a key or a section.
func FuzzRender(f *testing.F) {
	f.Add("imap.example.com", 0, "", "alice", "alice@example.com", "Alice", searchURL, "", 0, "", "")
	f.Add("imap.example.com", 993, "implicit", "alice", "alice@example.com", "A\r\n[Service2]\r\nHost=evil", "", "smtp.example.com", 465, "", "Outlook")
	f.Add("127.0.0.1", 143, "none", "a\\b", "a@b", "x ; Host=evil", "http://h/%NAME%\u2028Host=evil", "", 0, "none", "x]\r\n[y")
	f.Add("[::1]", 1, "STARTTLS", "\"a\"", "\"a\"@b", "  ", "ftp://h/\"%NAME%\".vfb", "h\x00", 65536, "ssl", "\ufeffOutlook")
	f.Add("h", 143, "starttls", "alice", "alice@example.com", "Zoë 王", "https://h/fb?u=%NAME%&d=%SERVER%", "", 25, "", "Mail (Büro)")
	f.Fuzz(func(t *testing.T, host string, port int, tls, login, address, display, url, smtpHost string, smtpPort int, smtpTLS, profile string) {
		p := Profile{
			Name: profile,
			Connector: connectorsettings.Settings{Host: host, Port: port, TLS: tls, AllowPlaintext: tls == "none", Login: login,
				Address: address, FreeBusySearchURL: url},
			Submission:  Submission{Host: smtpHost, Port: smtpPort, TLS: smtpTLS, AllowPlaintext: smtpTLS == "none"},
			DisplayName: display,
		}
		files, err := Render(p)
		if err != nil {
			var fe *connectorsettings.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("refused without a FieldError: %v", err)
			}
			return
		}
		prf, err := ParsePRF(files.PRF)
		if err != nil {
			t.Fatalf("the PRF does not read back: %v", err)
		}
		if got := sectionNames(prf); !slices.Equal(got, wantSections) {
			t.Fatalf("sections %q, want %q", got, wantSections)
		}
		keys := func(name string) []string {
			s, _ := prf.Section(name)
			return slices.Sorted(maps.Keys(s.Map()))
		}
		wantService := []string{"AllowPlaintext", "EmailAddress", "Host", "Login", "OverwriteExistingService", "Port", "TLS", "UniqueService"}
		if url != "" {
			wantService = append(wantService, "FreeBusySearchURL")
		}
		wantAccount := []string{"AccountName", "ConnectionType", "EmailAddress", "SMTPAuthMethod", "SMTPPort", "SMTPSecureConnection",
			"SMTPServer", "SMTPUseAuth", "SMTPUseSPA", "SMTPUserName", "UniqueService"}
		if display != "" {
			wantAccount = append(wantAccount, "DisplayName")
		}
		slices.Sort(wantService)
		slices.Sort(wantAccount)
		if got := keys("Service1"); !slices.Equal(got, wantService) {
			t.Fatalf("[Service1] keys %q, want %q", got, wantService)
		}
		if got := keys("Account1"); !slices.Equal(got, wantAccount) {
			t.Fatalf("[Account1] keys %q, want %q", got, wantAccount)
		}
		service, _ := prf.Section("Service1")
		account, _ := prf.Section("Account1")
		general, _ := prf.Section("General")
		for _, c := range []struct {
			s        *Section
			key, val string
		}{
			{service, "Login", login}, {service, "EmailAddress", address}, {service, "FreeBusySearchURL", url},
			{account, "DisplayName", display}, {account, "EmailAddress", address},
		} {
			if got, _ := c.s.Get(c.key); got != c.val {
				t.Fatalf("[%s] %s=%q, want %q", c.s.Name, c.key, got, c.val)
			}
		}
		if got, _ := general.Get("ProfileName"); profile != "" && got != profile {
			t.Fatalf("ProfileName=%q, want %q", got, profile)
		}
		if got, _ := service.Get("Port"); port != 0 && got != strconv.Itoa(port) {
			t.Fatalf("Port=%q, want %d", got, port)
		}
		if url == "" {
			if files.FreeBusyReg != nil {
				t.Fatal("a registry file without a search URL")
			}
			return
		}
		reg, err := ParseReg(files.FreeBusyReg)
		if err != nil {
			t.Fatalf("the registry file does not read back: %v", err)
		}
		if len(reg.Keys) != len(FreeBusyKeys) {
			t.Fatalf("%d registry keys, want %d", len(reg.Keys), len(FreeBusyKeys))
		}
		for i, k := range reg.Keys {
			if k.Path != FreeBusyKeys[i] || !slices.Equal(k.Values, []RegValue{{FreeBusyValue, url}}) {
				t.Fatalf("registry key %d: %+v", i, k)
			}
		}
	})
}
