package ftppublish

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/egress"
)

// TestAllowedHosts: a target outside Target.Allowed is refused before any connection, whether it is
// named by address or by a name that resolves outside the listed ranges.
func TestAllowedHosts(t *testing.T) {
	var accepted atomic.Int64
	listen := func(host string) int {
		l, err := net.Listen("tcp", host+":0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
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
		return l.Addr().(*net.TCPAddr).Port
	}
	only1, _ := egress.Parse([]string{"127.0.0.1/32"})
	only2, _ := egress.Parse([]string{"127.0.0.2/32"})
	for _, tc := range []struct {
		host    string
		allowed *egress.AllowList
	}{
		{"127.0.0.2", only1},
		{"localhost", only2},
	} {
		listenOn := tc.host
		if listenOn == "localhost" {
			listenOn = "127.0.0.1" // what the name resolves to, outside only2
		}
		port := listen(listenOn)
		target := Target{Host: tc.host, Port: port, TLS: None, Username: "publisher", Password: "pw-never-sent",
			DialTimeout: 2 * time.Second, Allowed: tc.allowed}
		err := Publish(context.Background(), target, "alice.vfb", []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"))
		if KindOf(err) != KindHostNotAllowed {
			t.Errorf("%s: %v, want %s", tc.host, err, KindHostNotAllowed)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := accepted.Load(); n != 0 {
		t.Errorf("%d connections reached hosts that are not allowed", n)
	}
}
