package imapsession

import (
	"context"
	"errors"
	"github.com/mailshift/mailshift/internal/imapconn"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/egress"
	"github.com/mailshift/mailshift/internal/fakeimap"
)

// heapPeak samples the heap while f runs and returns the highest HeapAlloc above the starting one.
func heapPeak(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak.Load() {
				peak.Store(ms.HeapAlloc - base)
			}
		}
	}()
	f()
	close(done)
	return peak.Load()
}

// TestBoundedResponses: Dial and Probe against servers that send a huge literal, an unterminated quoted
// string or an endless CAPABILITY line. Each must fail with a ProtocolError naming the limit, having read
// no more than the limit (plus what the sockets buffer), and without the heap growing with what the
// server sends.
func TestBoundedResponses(t *testing.T) {
	// What the sockets can hold beyond what the client read: loopback buffers are a few MiB.
	const slack = 16 << 20
	for _, kind := range []string{fakeimap.HugeLiteral, fakeimap.UnterminatedQuoted, fakeimap.EndlessCapability} {
		for _, op := range []string{"Dial", "Probe"} {
			t.Run(kind+"/"+op, func(t *testing.T) {
				srv := fakeimap.Hostile(t, kind)
				ep := imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSNone, DialTimeout: 20 * time.Second}
				var err error
				peak := heapPeak(func() {
					if op == "Dial" {
						var s *Session
						s, err = Dial(context.Background(), ep, imapconn.Credentials{Login: "alice", Password: "a-longer-password"})
						if s != nil {
							s.Close()
						}
					} else {
						_, err = imapconn.Probe(context.Background(), ep)
					}
				})
				sent := srv.Sent()
				t.Logf("%s: server sent %d bytes, heap peak +%d bytes, error: %v", op, sent, peak, err)
				if imapconn.KindOf(err) != imapconn.ProtocolError || !errors.Is(err, imapconn.ErrResponseTooLarge) {
					t.Fatalf("error %v (kind %s), want a ProtocolError wrapping ErrResponseTooLarge", err, imapconn.KindOf(err))
				}
				if !strings.Contains(err.Error(), "MiB") {
					t.Errorf("error %q does not name the limit", err)
				}
				if sent > imapconn.MaxResponseBytes+slack {
					t.Errorf("the client read on to %d bytes; the limit is %d", sent, imapconn.MaxResponseBytes)
				}
				// go-imap grows a buffer by doubling up to the limit: a few times the limit at most.
				if peak > 4*imapconn.MaxResponseBytes {
					t.Errorf("heap grew by %d bytes", peak)
				}
			})
		}
	}
}

// TestForeignBannersStayOut: whatever answers on a port that is not IMAP (SSH, HTTP, binary junk), not a
// byte of it appears in the error, which controllers put into status and Events.
func TestForeignBannersStayOut(t *testing.T) {
	for name, banner := range map[string]string{
		"ssh":    "SSH-2.0-OpenSSH_9.6 internal-bastion-7f3a\r\n",
		"http":   "HTTP/1.1 400 Bad Request\r\nServer: internal-admin-panel\r\n\r\n",
		"redis":  "-ERR unknown command 'a1', with args beginning with: internal-redis\r\n",
		"binary": "\x00\x01\x02internal-\xff\xfe-junk\n",
		"no EOL": "220 internal-smtp-relay ready",
	} {
		for _, op := range []string{"Dial", "Probe"} {
			t.Run(name+"/"+op, func(t *testing.T) {
				ep := fakeServer(t, func(c net.Conn) {
					io.WriteString(c, banner)
					time.Sleep(3 * time.Second)
				})
				ep.TLS, ep.DialTimeout = imapconn.TLSNone, time.Second
				var err error
				if op == "Dial" {
					_, err = Dial(context.Background(), ep, imapconn.Credentials{Login: "alice", Password: "a-longer-password"})
				} else {
					_, err = imapconn.Probe(context.Background(), ep)
				}
				if err == nil {
					t.Fatal("no error")
				}
				if strings.Contains(err.Error(), "internal") {
					t.Errorf("the peer's bytes are in the error: %v", err)
				}
				if name != "no EOL" && !errors.Is(err, imapconn.ErrNotIMAP) {
					t.Errorf("error %v does not say it is not an IMAP server", err)
				}
			})
		}
	}
}

// TestAllowedHosts: a host outside Endpoint.Allowed is refused before any connection, whether it is an
// address or a name that resolves outside the listed ranges; Dial and Probe say HostNotAllowed.
func TestAllowedHosts(t *testing.T) {
	srv := fakeimap.Scripted(t, fakeimap.Options{AcceptLogin: true})
	onlyOther, err := egress.Parse([]string{"127.0.0.2/32"})
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		ep := imapconn.Endpoint{Host: host, Port: srv.Port, TLS: imapconn.TLSNone, DialTimeout: 2 * time.Second, Allowed: onlyOther}
		if _, err := Dial(context.Background(), ep, imapconn.Credentials{Login: "alice", Password: "pw-never-sent"}); imapconn.KindOf(err) != imapconn.HostNotAllowed {
			t.Errorf("Dial %s: %v, want HostNotAllowed", host, err)
		}
		if _, err := imapconn.Probe(context.Background(), ep); imapconn.KindOf(err) != imapconn.HostNotAllowed {
			t.Errorf("Probe %s: %v, want HostNotAllowed", host, err)
		}
	}
	if n := srv.Connections(); n != 0 {
		t.Errorf("%d connections were made to hosts not allowed", n)
	}
	loopback, _ := egress.Parse([]string{"127.0.0.0/8", "::1"})
	ep := imapconn.Endpoint{Host: "localhost", Port: srv.Port, TLS: imapconn.TLSNone, DialTimeout: 2 * time.Second, Allowed: loopback}
	if _, err := imapconn.Probe(context.Background(), ep); err != nil {
		t.Errorf("allowed host refused: %v", err)
	}
}
