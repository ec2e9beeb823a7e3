package controllers

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serveFreeBusy serves files on a loopback port with lim until the test ends and returns the address.
func serveFreeBusy(t *testing.T, files *FreeBusyFiles, lim HTTPLimits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- files.ServeListener(ctx, ln, lim) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String()
}

// keptAlive opens a connection and completes one GET on it, leaving it open (HTTP/1.1 keep-alive).
func keptAlive(t *testing.T, addr, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	br := bufio.NewReader(c)
	if code := roundTrip(t, c, br, "GET "+path+" HTTP/1.1\r\nHost: manager\r\n\r\n"); code != http.StatusOK {
		t.Fatalf("GET %s: %d", path, code)
	}
	return c, br
}

func roundTrip(t *testing.T, c net.Conn, br *bufio.Reader, req string) int {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// closedByServer says whether the server closed c: a read ends with EOF or a reset before the deadline
// (which only keeps a failing test from hanging).
func closedByServer(c net.Conn, br *bufio.Reader, deadline time.Time) bool {
	_ = c.SetReadDeadline(deadline)
	_, err := br.ReadByte()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// servedFiles keeps one file, at /freebusy/ns/alice.vfb for an "ns" of its own, with the test manager and
// returns the files (served from its cache) and that path.
func servedFiles(t *testing.T) (*FreeBusyFiles, string) {
	t.Helper()
	ns := newNamespace(t)
	body := []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
	putFile(t, strandedPublication(t, ns, "alice"), "alice", body)
	path := "/freebusy/" + ns + "/alice.vfb"
	waitServed(t, fbFiles, path, body)
	return fbFiles, path
}

// TestFreeBusyHTTPConnectionLimit: with the limit's connections open and idle, one more is closed at once
// without an answer; when one of them goes, a new one is served again.
func TestFreeBusyHTTPConnectionLimit(t *testing.T) {
	lim := DefaultHTTPLimits()
	lim.MaxConnections = 3
	files, path := servedFiles(t)
	addr := serveFreeBusy(t, files, lim)
	var held []net.Conn
	for range lim.MaxConnections {
		c, _ := keptAlive(t, addr, path)
		held = append(held, c)
	}
	extra, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	// At once: well before any timeout of the server's (the shortest, for headers, is 5 s).
	if !closedByServer(extra, bufio.NewReader(extra), time.Now().Add(2*time.Second)) {
		t.Fatalf("connection %d of a limit of %d was kept open", lim.MaxConnections+1, lim.MaxConnections)
	}
	// The held ones still work: the limit refused the newcomer, not them.
	if code := roundTrip(t, held[0], bufio.NewReader(held[0]), "GET "+path+" HTTP/1.1\r\nHost: manager\r\n\r\n"); code != http.StatusOK {
		t.Fatalf("a held connection got %d", code)
	}
	_ = held[1].Close()
	// The server sees the close on its next read; until then the slot is still taken.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, werr := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: manager\r\n\r\n")
		resp, rerr := http.ReadResponse(br, nil)
		if rerr == nil {
			_ = resp.Body.Close()
		}
		_ = c.Close()
		if werr == nil && rerr == nil && resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no connection served after one of the %d was closed: %v %v", lim.MaxConnections, werr, rerr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFreeBusyHTTPIdleTimeout: idle keep-alive connections are closed by the server once the idle timeout
// has passed (a short one here), every one of them.
func TestFreeBusyHTTPIdleTimeout(t *testing.T) {
	lim := DefaultHTTPLimits()
	lim.IdleTimeout = 200 * time.Millisecond
	files, path := servedFiles(t)
	addr := serveFreeBusy(t, files, lim)
	type conn struct {
		c  net.Conn
		br *bufio.Reader
	}
	var idle []conn
	for range 20 {
		c, br := keptAlive(t, addr, path)
		idle = append(idle, conn{c, br})
	}
	open := 0
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range idle {
		if !closedByServer(c.c, c.br, deadline) {
			open++
		}
	}
	if open > 0 {
		t.Fatalf("%d of %d idle connections were still open 10 s after an idle timeout of %s", open, len(idle), lim.IdleTimeout)
	}
}

// TestFreeBusyHTTPHugeHeaders: a request whose headers exceed the bound gets 431, not a 404 after the
// server buffered them all.
func TestFreeBusyHTTPHugeHeaders(t *testing.T) {
	files, path := servedFiles(t)
	addr := serveFreeBusy(t, files, DefaultHTTPLimits())
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET " + path + " HTTP/1.1\r\nHost: manager\r\nX-Padding: " + strings.Repeat("a", 64<<10) + "\r\n\r\n"
	if code := roundTrip(t, c, bufio.NewReader(c), req); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("64 KiB of headers: %d, want 431", code)
	}
}
