package testproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeIMAPServer answers every command "<tag> OK done <name>", reading literals ("{n}" after a "+ go"
// continuation, "{n+}" straight away), and counts the APPENDs it carried out.
type fakeIMAPServer struct {
	ln      net.Listener
	appends chan string // the tag of every APPEND carried out
}

var fakeLiteral = regexp.MustCompile(`\{([0-9]+)(\+?)\}\r\n$`)

func startFakeIMAPServer(t *testing.T) *fakeIMAPServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	f := &fakeIMAPServer{ln: ln, appends: make(chan string, 1000)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return f
}

func (f *fakeIMAPServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "* OK fake server ready\r\n")
	for {
		first, err := r.ReadString('\n')
		if err != nil {
			return
		}
		fields := strings.Fields(first)
		line := first
		for {
			m := fakeLiteral.FindStringSubmatch(line)
			if m == nil {
				break
			}
			if m[2] == "" {
				fmt.Fprintf(c, "+ go\r\n")
			}
			n, _ := strconv.Atoi(m[1])
			if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
				return
			}
			if line, err = r.ReadString('\n'); err != nil {
				return
			}
		}
		if len(fields) < 2 {
			continue
		}
		if strings.EqualFold(fields[1], "APPEND") {
			f.appends <- fields[0]
		}
		fmt.Fprintf(c, "%s OK done %s\r\n", fields[0], fields[1])
	}
}

// fakeClient is a raw client connection that reads replies line by line.
type fakeClient struct {
	net.Conn
	r *bufio.Reader
}

func dialFake(t *testing.T, addr string) *fakeClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fc := &fakeClient{Conn: c, r: bufio.NewReader(c)}
	if g := fc.line(t); !strings.HasPrefix(g, "* OK") {
		t.Fatalf("greeting %q", g)
	}
	return fc
}

func (c *fakeClient) line(t *testing.T) string {
	t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading a reply: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

// appendCmd is a LITERAL+ APPEND whose message looks like more commands, to prove literals are skipped.
func appendCmd(tag string) string {
	msg := "Subject: x\r\n\r\nz9 APPEND INBOX {3+}\r\nabc\r\nz8 NOOP\r\n"
	return fmt.Sprintf("%s APPEND INBOX (\\Seen) {%d+}\r\n%s\r\n", tag, len(msg), msg)
}

func TestThrottleAppendReplacesTheNthReply(t *testing.T) {
	srv := startFakeIMAPServer(t)
	p := New(t, srv.ln.Addr().String())
	injected := p.ThrottleAppend(3, ExchangeThrottle(1500*time.Millisecond))
	c := dialFake(t, p.Addr())

	// Pipelined, as a LITERAL+ client sends them; a NOOP between does not count.
	var all strings.Builder
	for i := 1; i <= 5; i++ {
		all.WriteString(appendCmd(fmt.Sprintf("a%d", i)))
		if i == 1 {
			all.WriteString("n1 NOOP\r\n")
		}
	}
	if _, err := io.WriteString(c, all.String()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a1 OK done APPEND", "n1 OK done NOOP", "a2 OK done APPEND",
		"a3 NO Request is throttled. Suggested Backoff Time: 1500 milliseconds"} {
		if got := c.line(t); got != want {
			t.Fatalf("reply %q, want %q", got, want)
		}
	}
	if l, err := c.r.ReadString('\n'); err == nil {
		t.Fatalf("after the throttling reply the connection is still open: %q", l)
	}
	select {
	case at := <-injected:
		if time.Since(at) > 10*time.Second {
			t.Errorf("injection time %v is not now", at)
		}
	default:
		t.Fatal("the proxy did not report the injection")
	}

	// Once only: the next connection is relayed untouched.
	c2 := dialFake(t, p.Addr())
	io.WriteString(c2, appendCmd("b1"))
	if got := c2.line(t); got != "b1 OK done APPEND" {
		t.Errorf("after the fault fired: %q", got)
	}
	if n := len(p.Accepted()); n != 2 {
		t.Errorf("Accepted() has %d connections, want 2", n)
	}
}

func TestSynchronizingLiteralsAreSkippedToo(t *testing.T) {
	srv := startFakeIMAPServer(t)
	p := New(t, srv.ln.Addr().String())
	p.ThrottleAppend(2, "NO [THROTTLED] slow down")
	c := dialFake(t, p.Addr())
	for i, want := range []string{"s1 OK done APPEND", "s2 NO [THROTTLED] slow down"} {
		body := fmt.Sprintf("x%d APPEND INBOX {2}\r\n", i)
		io.WriteString(c, fmt.Sprintf("s%d APPEND INBOX {%d}\r\n", i+1, len(body)))
		if got := c.line(t); got != "+ go" {
			t.Fatalf("continuation %q", got)
		}
		io.WriteString(c, body+"\r\n")
		if got := c.line(t); got != want {
			t.Errorf("reply %q, want %q", got, want)
		}
	}
}

func TestBreakAfterCutsEveryConnection(t *testing.T) {
	srv := startFakeIMAPServer(t)
	p := New(t, srv.ln.Addr().String())
	idle := dialFake(t, p.Addr())
	busy := dialFake(t, p.Addr())
	fired := p.BreakAfter(2000)
	for i := 0; ; i++ {
		if _, err := io.WriteString(busy, fmt.Sprintf("t%d NOOP\r\n", i)); err != nil {
			break
		}
		if _, err := busy.r.ReadString('\n'); err != nil {
			break
		}
		if i > 1000 {
			t.Fatal("still relaying after far more than 2000 bytes")
		}
	}
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("BreakAfter did not fire")
	}
	if _, err := idle.r.ReadString('\n'); err == nil {
		t.Error("the idle connection survived the break")
	}
	if p.Relayed() < 2000 {
		t.Errorf("cut after %d bytes, before 2000", p.Relayed())
	}
	// New connections work again; Break cuts them on demand.
	c := dialFake(t, p.Addr())
	if n := p.Break(); n != 1 {
		t.Errorf("Break cut %d connections, want 1", n)
	}
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Error("the connection survived Break")
	}
}

func TestLatencyDelaysEachDirection(t *testing.T) {
	srv := startFakeIMAPServer(t)
	p := New(t, srv.ln.Addr().String())
	c := dialFake(t, p.Addr())
	p.SetLatency(60*time.Millisecond, 40*time.Millisecond)
	t0 := time.Now()
	io.WriteString(c, "l1 NOOP\r\n")
	c.line(t)
	if d := time.Since(t0); d < 100*time.Millisecond {
		t.Errorf("round trip took %v, want at least 100ms", d)
	}
	// Latency is not a bandwidth limit: ten pipelined commands take one round trip, not ten.
	t0 = time.Now()
	for i := range 10 {
		io.WriteString(c, fmt.Sprintf("m%d NOOP\r\n", i))
	}
	for range 10 {
		c.line(t)
	}
	if d := time.Since(t0); d > 600*time.Millisecond {
		t.Errorf("ten pipelined commands took %v", d)
	}
}
