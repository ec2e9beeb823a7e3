package egress

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseAndCheckHost(t *testing.T) {
	if _, err := Parse([]string{"10.0.0.0/33"}); err == nil {
		t.Error("bad CIDR accepted")
	}
	if _, err := Parse([]string{"mail example"}); err == nil {
		t.Error("bad name accepted")
	}
	a, err := Parse([]string{"Mail.Example.com.", "*.corp.example", "10.0.0.0/8", "192.0.2.7", " "})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"mail.example.com": true, "MAIL.example.com": true, "imap.corp.example": true,
		"10.1.2.3": true, "192.0.2.7": true, "192.0.2.8": false, "169.254.169.254": false, "[::ffff:10.0.0.1]": true,
		// Unlisted names pass the early check when ranges are listed: their addresses are checked on connect.
		"other.example": true,
	} {
		if got := a.CheckHost(host) == nil; got != want {
			t.Errorf("CheckHost(%q) allowed=%v, want %v", host, got, want)
		}
	}
	names, _ := Parse([]string{"mail.example.com", "*.corp.example"})
	for _, host := range []string{"other.example", "corp.example", "10.0.0.1"} {
		if err := names.CheckHost(host); !errors.Is(err, ErrNotAllowed) {
			t.Errorf("with names only, %q must be refused at once: %v", host, err)
		}
	}
	var none *AllowList
	if none.CheckHost("anything") != nil || none.Control("anything") != nil {
		t.Error("a nil AllowList must allow everything")
	}
}

// TestControlRefusesBeforeConnecting: a name that resolves outside the listed ranges is refused by the
// dialer before a connection is made; the listener on 127.0.0.2 sees none.
func TestControlRefusesBeforeConnecting(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 on this machine: %v", err)
	}
	defer l.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	a, _ := Parse([]string{"127.0.0.1/32"})
	d := net.Dialer{Control: a.Control("127.0.0.2"), Timeout: time.Second}
	if _, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort("127.0.0.2", port)); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("dial: %v, want ErrNotAllowed", err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := accepted.Load(); n != 0 {
		t.Errorf("%d connections reached the listener", n)
	}
	wide, _ := Parse([]string{"127.0.0.0/8"})
	d.Control = wide.Control("127.0.0.2")
	c, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort("127.0.0.2", port))
	if err != nil {
		t.Fatalf("allowed range refused: %v", err)
	}
	c.Close()
}
