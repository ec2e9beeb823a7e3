package testserver

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// flavorCase describes what each server must look like to a client.
type flavorCase struct {
	name         string
	start        func(testing.TB) *Server
	personal     string // NAMESPACE personal prefix
	delim        rune
	sharedPrefix string // where bob sees alice's folders: prefix + "alice" + delim + folder
	loginAs      bool   // LOGIN "alice*mailadmin" works (Dovecot master user)
}

var flavors = []flavorCase{
	{name: "dovecot", start: Dovecot, personal: "", delim: '/', sharedPrefix: "shared/", loginAs: true},
	{name: "cyrus-modern", start: func(t testing.TB) *Server { return Cyrus(t, "modern") },
		personal: "", delim: '/', sharedPrefix: "Other Users/"},
	{name: "cyrus-legacy", start: func(t testing.TB) *Server { return Cyrus(t, "legacy") },
		personal: "INBOX.", delim: '.', sharedPrefix: "user."},
}

func TestServers(t *testing.T) {
	for _, fc := range flavors {
		t.Run(fc.name, func(t *testing.T) {
			t.Parallel()
			t0 := time.Now()
			s := fc.start(t)
			t.Logf("%s started in %v on %s (TLS %d), dir %s", fc.name, time.Since(t0).Round(time.Millisecond),
				s.Addr(), s.TLSPort, s.Dir)
			checkServer(t, s, fc)
		})
	}
}

func tlsConfig(t *testing.T, s *Server) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CAPEM) {
		t.Fatalf("CAPEM holds no certificate: %q", s.CAPEM)
	}
	return &tls.Config{RootCAs: pool}
}

func dialStartTLS(t *testing.T, s *Server) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialStartTLS(s.Addr(), &imapclient.Options{TLSConfig: tlsConfig(t, s)})
	if err != nil {
		t.Fatalf("STARTTLS to %s: %v", s.Addr(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func login(t *testing.T, s *Server, name string) *imapclient.Client {
	t.Helper()
	u := s.Users[name]
	c := dialStartTLS(t, s)
	if err := c.Login(u.Login, u.Password).Wait(); err != nil {
		t.Fatalf("LOGIN %s over STARTTLS: %v", u.Login, err)
	}
	return c
}

func listNames(t *testing.T, c *imapclient.Client) []string {
	t.Helper()
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatalf("LIST: %v", err)
	}
	var names []string
	for _, b := range boxes {
		names = append(names, b.Mailbox)
	}
	return names
}

func checkServer(t *testing.T, s *Server, fc flavorCase) {
	if s.Host != "127.0.0.1" || s.Port == 0 || s.TLSPort == 0 || s.Port == s.TLSPort {
		t.Fatalf("bad addresses: host %q port %d tls %d", s.Host, s.Port, s.TLSPort)
	}
	if s.Admin.Login != "mailadmin" || len(s.Users) != 3 || s.Users["alice"].Address != "alice@example.test" {
		t.Fatalf("unexpected accounts: %+v %+v", s.Admin, s.Users)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "ca.pem")); err != nil {
		t.Fatalf("no ca.pem in Dir: %v", err)
	}

	// STARTTLS login, NAMESPACE, and a folder that alice shares with bob (lr) but not with carol.
	alice := login(t, s, "alice")
	ns, err := alice.Namespace().Wait()
	if err != nil {
		t.Fatalf("NAMESPACE: %v", err)
	}
	if len(ns.Personal) == 0 || ns.Personal[0].Prefix != fc.personal || ns.Personal[0].Delim != fc.delim {
		t.Fatalf("personal namespace = %+v, want prefix %q delim %q", ns.Personal, fc.personal, fc.delim)
	}
	folder := fc.personal + "Shared Project"
	if err := alice.Create(folder, nil).Wait(); err != nil {
		t.Fatalf("CREATE %q: %v", folder, err)
	}
	if err := alice.SetACL(folder, "bob", imap.RightModificationReplace, imap.RightSet("lr")).Wait(); err != nil {
		t.Fatalf("SETACL %q bob lr: %v", folder, err)
	}
	if q, err := alice.GetQuotaRoot("INBOX").Wait(); err != nil || len(q) == 0 {
		t.Errorf("GETQUOTAROOT INBOX = %+v, %v; want a quota root", q, err)
	} else if lim := q[0].Resources[imap.QuotaResourceStorage].Limit; lim != 1<<20 {
		t.Errorf("storage quota limit = %d KiB, want %d", lim, 1<<20)
	}
	val := []byte("event")
	if err := alice.SetMetadata(folder, map[string]*[]byte{"/shared/vendor/kolab/folder-type": &val}).Wait(); err != nil {
		t.Errorf("SETMETADATA: %v", err)
	} else if md, err := alice.GetMetadata(folder, []string{"/shared/vendor/kolab/folder-type"}, nil).Wait(); err != nil {
		t.Errorf("GETMETADATA: %v", err)
	} else if v := md.Entries["/shared/vendor/kolab/folder-type"]; v == nil || string(*v) != "event" {
		t.Errorf("GETMETADATA folder-type = %v, want event", v)
	}
	if err := alice.Logout().Wait(); err != nil {
		t.Errorf("LOGOUT: %v", err)
	}

	sharedName := fc.sharedPrefix + "alice" + string(fc.delim) + "Shared Project"
	bobNames := listNames(t, login(t, s, "bob"))
	if !slices.Contains(bobNames, sharedName) {
		t.Errorf("bob's LIST %q lacks %q", bobNames, sharedName)
	}
	carolNames := listNames(t, login(t, s, "carol"))
	if slices.Contains(carolNames, sharedName) {
		t.Errorf("carol sees %q without any right: %q", sharedName, carolNames)
	}

	// Implicit TLS.
	ct, err := imapclient.DialTLS(s.TLSAddr(), &imapclient.Options{TLSConfig: tlsConfig(t, s)})
	if err != nil {
		t.Fatalf("implicit TLS to %s: %v", s.TLSAddr(), err)
	}
	defer ct.Close()
	if err := ct.Login("alice", s.Users["alice"].Password).Wait(); err != nil {
		t.Fatalf("LOGIN alice over implicit TLS: %v", err)
	}

	// The certificate must really be checked: without the CA it is refused.
	if c, err := imapclient.DialTLS(s.TLSAddr(), &imapclient.Options{TLSConfig: &tls.Config{RootCAs: x509.NewCertPool()}}); err == nil {
		c.Close()
		t.Errorf("implicit TLS without the test CA succeeded")
	} else if !errors.As(err, new(*tls.CertificateVerificationError)) {
		t.Errorf("implicit TLS without the test CA: %v, want a certificate verification error", err)
	}

	// Wrong password.
	if err := dialStartTLS(t, s).Login("alice", "alice-secret-wrong").Wait(); err == nil {
		t.Errorf("LOGIN alice with a wrong password succeeded")
	}

	// Impersonation: SASL PLAIN with authzid=alice, authcid=mailadmin lands in alice's mailbox.
	adm := dialStartTLS(t, s)
	if err := adm.Authenticate(sasl.NewPlainClient("alice", s.Admin.Login, s.Admin.Password)); err != nil {
		t.Fatalf("AUTHENTICATE PLAIN alice/mailadmin: %v", err)
	}
	if names := listNames(t, adm); !slices.Contains(names, folder) {
		t.Errorf("mailadmin acting as alice: LIST %q lacks alice's %q", names, folder)
	}
	if err := dialStartTLS(t, s).Authenticate(sasl.NewPlainClient("alice", s.Admin.Login, "wrong")); err == nil {
		t.Errorf("AUTHENTICATE PLAIN alice/mailadmin with a wrong admin password succeeded")
	}
	if err := dialStartTLS(t, s).Authenticate(sasl.NewPlainClient("alice", "bob", s.Users["bob"].Password)); err == nil {
		t.Errorf("bob may act as alice")
	}

	if fc.loginAs {
		c := dialStartTLS(t, s)
		if err := c.Login("alice*mailadmin", s.Admin.Password).Wait(); err != nil {
			t.Fatalf("LOGIN alice*mailadmin: %v", err)
		}
		if names := listNames(t, c); !slices.Contains(names, folder) {
			t.Errorf("LOGIN alice*mailadmin: LIST %q lacks alice's %q", names, folder)
		}
	}
}

// On the legacy Cyrus layout personal folders outside INBOX are refused; on the modern ones they work.
func TestTopLevelFolders(t *testing.T) {
	for _, fc := range flavors {
		t.Run(fc.name, func(t *testing.T) {
			t.Parallel()
			s := fc.start(t)
			c := login(t, s, "alice")
			err := c.Create("Calendar", nil).Wait()
			if fc.personal == "" && err != nil {
				t.Errorf("CREATE Calendar: %v", err)
			}
			if fc.personal != "" {
				if err == nil {
					t.Errorf("CREATE Calendar succeeded on a server with personal prefix %q", fc.personal)
				}
				if err := c.Create(fc.personal+"Calendar", nil).Wait(); err != nil {
					t.Errorf("CREATE %sCalendar: %v", fc.personal, err)
				}
			}
		})
	}
}

// Several instances of each flavor run side by side, and Stop frees the port.
func TestConcurrentInstancesAndStop(t *testing.T) {
	t.Parallel()
	a, b := Dovecot(t), Dovecot(t)
	c, d := Cyrus(t, "modern"), Cyrus(t, "legacy")
	for _, s := range []*Server{a, b, c, d} {
		conn, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
		if err != nil {
			t.Fatalf("%s %s: %v", s.Flavor, s.Addr(), err)
		}
		conn.Close()
	}
	for _, s := range []*Server{a, c} {
		s.Stop()
		s.Stop() // idempotent
		if conn, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections on %s after Stop", s.Flavor, s.Addr())
		}
	}
	for _, s := range []*Server{b, d} {
		if _, err := imapclient.DialTLS(s.TLSAddr(), &imapclient.Options{TLSConfig: tlsConfig(t, s)}); err != nil {
			t.Errorf("%s %s stopped with its sibling: %v", s.Flavor, s.TLSAddr(), err)
		}
	}
}
