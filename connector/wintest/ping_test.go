package wintest

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	cs "github.com/mailshift/mailshift/internal/connectorsettings"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestPingServerFromWine: the connector's Ping Server, run inside Wine against a local Dovecot, tells a working
// account from a wrong password, a closed port, a server that never answers and a certificate Windows does not
// trust; and pings with the settings and the password a CONFIGURE stored.
func TestPingServerFromWine(t *testing.T) {
	srv := testserver.Dovecot(t)
	alice := srv.Users["alice"]
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := strconv.Itoa(closed.Addr().(*net.TCPAddr).Port)
	closed.Close()
	_, silentPort, _ := net.SplitHostPort(testserver.Silent(t))
	port, tlsPort := strconv.Itoa(srv.Port), strconv.Itoa(srv.TLSPort)

	cases := []struct {
		name                                  string
		port, tls, allow, login, password, ca string
		timeout                               string
		hr                                    uint32
		want                                  []string
	}{
		{"STARTTLS with the test CA", port, "starttls", "0", alice.Login, alice.Password, WinPath(ca), "20", hrOK,
			[]string{"logged in to 127.0.0.1:" + port + " as alice", "capabilities: ", "IMAP4rev1", "folders: ", "OK"}},
		{"implicit TLS", tlsPort, "implicit", "0", alice.Login, alice.Password, WinPath(ca), "20", hrOK,
			[]string{"logged in to 127.0.0.1:" + tlsPort, "OK"}},
		{"wrong password", port, "starttls", "0", alice.Login, "not-the-password", WinPath(ca), "20", hrLogonFailed,
			[]string{"FAILED: logging in: AuthenticationFailed"}},
		{"closed port", closedPort, "starttls", "0", alice.Login, alice.Password, WinPath(ca), "20", hrNetworkError,
			[]string{"FAILED: logging in: Unreachable"}},
		{"a server that never answers", silentPort, "starttls", "0", alice.Login, alice.Password, WinPath(ca), "2", hrTimeout,
			[]string{"FAILED: logging in: Timeout"}},
		{"a CA Windows does not trust", port, "starttls", "0", alice.Login, alice.Password, "", "20", hrNetworkError,
			[]string{"FAILED: logging in: TLSFailed"}},
		{"plaintext without permission", port, "none", "0", alice.Login, alice.Password, "", "20", hrInvalidParam,
			[]string{"set AllowPlaintext"}},
	}
	s := &script{}
	for _, c := range cases {
		s.line("ping", "127.0.0.1", c.port, c.tls, c.allow, c.login, c.password, c.ca, c.timeout)
	}
	// The stored settings and password (DPAPI) are what the profile's ping uses.
	s.set(cs.TagHost, "127.0.0.1").set(cs.TagPort, srv.Port).set(cs.TagLogin, alice.Login).
		set(cs.TagPassword, alice.Password).set(cs.TagCAFile, WinPath(ca)).call(contextConfigure, 0)
	s.line("pingprofile", "20")
	// The 64-bit DLL and the 32-bit one: each has its own Go runtime, network and TLS stack under Wine.
	for _, arch := range []string{"amd64", "386"} {
		t.Run(arch, func(t *testing.T) {
			lines := runHostIn(t, Prefix(t), arch, s)
			var pings []string
			for _, l := range lines {
				if strings.HasPrefix(l, "ping\t") {
					pings = append(pings, l)
				}
			}
			if len(pings) != len(cases)+1 {
				t.Fatalf("%d pings answered, want %d:\n%s", len(pings), len(cases)+1, strings.Join(lines, "\n"))
			}
			check := func(t *testing.T, line string, hr uint32, want []string) {
				t.Helper()
				f := strings.SplitN(line, "\t", 3)
				got, _ := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 32)
				if uint32(got) != hr {
					t.Errorf("hr 0x%08X, want 0x%08X; report: %s", got, hr, f[2])
				}
				for _, w := range want {
					if !strings.Contains(f[2], w) {
						t.Errorf("report %q lacks %q", f[2], w)
					}
				}
				if strings.Contains(f[2], alice.Password) {
					t.Error("the report holds the password")
				}
			}
			for i, c := range cases {
				t.Run(c.name, func(t *testing.T) { check(t, pings[i], c.hr, c.want) })
			}
			t.Run("stored profile", func(t *testing.T) {
				check(t, pings[len(cases)], hrOK, []string{"logged in to 127.0.0.1:" + port + " as alice", "OK"})
			})
		})
	}
}
