package testserver

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
)

// ftpDial connects to s (with explicit TLS when tlsOn) and records the remote port of every connection.
func ftpDial(t *testing.T, s *FTPServer, tlsOn bool) (*ftp.ServerConn, func() []int, error) {
	t.Helper()
	var mu sync.Mutex
	var ports []int
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CAPEM) {
		t.Fatalf("CAPEM holds no certificate")
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: s.Host}
	first := true
	dial := func(network, addr string) (net.Conn, error) {
		c, err := net.DialTimeout(network, addr, 5*time.Second)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		ports = append(ports, c.RemoteAddr().(*net.TCPAddr).Port)
		control := first
		first = false
		mu.Unlock()
		if tlsOn && !control {
			return tls.Client(c, cfg), nil
		}
		return c, nil
	}
	opts := []ftp.DialOption{ftp.DialWithDialFunc(dial)}
	if tlsOn {
		opts = append(opts, ftp.DialWithExplicitTLS(cfg))
	}
	c, err := ftp.Dial(s.Addr(), opts...)
	if c != nil {
		t.Cleanup(func() { c.Quit() })
	}
	return c, func() []int { mu.Lock(); defer mu.Unlock(); return append([]int(nil), ports...) }, err
}

func TestPureFTPd(t *testing.T) {
	for _, mode := range []string{"none", "allow", "require", "require-data"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			t0 := time.Now()
			s := PureFTPd(t, FTPOptions{TLS: mode})
			t.Logf("pure-ftpd (%s) started in %v on %s, passive %d-%d, dir %s", mode,
				time.Since(t0).Round(time.Millisecond), s.Addr(), s.PassivePorts[0], s.PassivePorts[1], s.Dir)
			tlsOn := mode != "none"

			c, ports, err := ftpDial(t, s, tlsOn)
			if err != nil {
				t.Fatalf("dial (tls %v): %v", tlsOn, err)
			}
			pub := s.Users["publisher"]
			if err := c.Login(pub.Login, pub.Password); err != nil {
				t.Fatalf("login: %v", err)
			}
			body := bytes.Repeat([]byte("BEGIN:VFREEBUSY\r\n"), 500)
			if err := c.Stor("/pub/calendar/alice.vfb", bytes.NewReader(body)); err != nil {
				t.Fatalf("STOR: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(s.CalendarDir("publisher"), "alice.vfb"))
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("on disk: %d bytes, %v; want %d", len(got), err, len(body))
			}
			if got := s.CalendarDir("publisher"); got != filepath.Join(s.Root, "pub", "calendar") {
				t.Fatalf("CalendarDir %s is not under Root %s", got, s.Root)
			}
			for _, p := range ports()[1:] {
				if p < s.PassivePorts[0] || p > s.PassivePorts[1] {
					t.Fatalf("data connection to port %d, outside %v", p, s.PassivePorts)
				}
			}

			// reader's tree refuses writes with a real reply.
			rc, _, err := ftpDial(t, s, tlsOn)
			if err != nil {
				t.Fatal(err)
			}
			rd := s.Users["reader"]
			if err := rc.Login(rd.Login, rd.Password); err != nil {
				t.Fatalf("reader login: %v", err)
			}
			err = rc.Stor("/pub/calendar/bob.vfb", strings.NewReader("x"))
			var tp *textproto.Error
			if !errors.As(err, &tp) || (tp.Code != 553 && tp.Code != 550) {
				t.Fatalf("reader STOR: %v, want 550/553", err)
			}
			if err := rc.MakeDir("/pub/calendar/sub"); err == nil {
				t.Fatal("reader MKD succeeded")
			}

			switch mode {
			case "none":
				if _, _, err := ftpDial(t, s, true); err == nil {
					t.Fatal("AUTH TLS accepted by a server without TLS")
				}
			case "require", "require-data":
				pc, _, err := ftpDial(t, s, false)
				if err != nil {
					t.Fatal(err)
				}
				if err := pc.Login(pub.Login, pub.Password); err == nil {
					t.Fatal("plaintext login accepted by a server that requires TLS")
				}
			}
		})
	}
}

func TestPureFTPdRestart(t *testing.T) {
	t.Parallel()
	s := PureFTPd(t, FTPOptions{TLS: "require"})
	file := filepath.Join(s.CalendarDir("publisher"), "kept.vfb")
	if err := os.WriteFile(file, []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
	c, _, err := ftpDial(t, s, true) // the same CA still verifies
	if err != nil {
		t.Fatalf("dial after restart: %v", err)
	}
	pub := s.Users["publisher"]
	if err := c.Login(pub.Login, pub.Password); err != nil {
		t.Fatalf("login after restart: %v", err)
	}
	r, err := c.Retr("/pub/calendar/kept.vfb")
	if err != nil {
		t.Fatalf("RETR after restart: %v", err)
	}
	defer r.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil || b.String() != "kept" {
		t.Fatalf("RETR: %q, %v", b.String(), err)
	}
}
