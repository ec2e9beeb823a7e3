package imapconn

import (
	"net"
	"syscall"
)

// quickAck returns conn with each read preceded by TCP_QUICKACK (Linux), so that what the server sent is
// acknowledged at once rather than up to 40 ms later (delayed ACK). A server that writes a reply in
// several small segments with Nagle's algorithm on (Cyrus does) holds each segment until the one before
// it is acknowledged; a client that pipelines commands sends nothing to carry the acknowledgement, so every
// such reply would otherwise stall for the delayed-ACK timer. The kernel leaves quick-ACK mode on its own,
// hence the option again before every read.
func quickAck(conn net.Conn) net.Conn {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return conn
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return conn
	}
	return &quickAckConn{TCPConn: tc, rc: rc}
}

type quickAckConn struct {
	*net.TCPConn
	rc syscall.RawConn
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	_ = c.rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return c.TCPConn.Read(p)
}
