//go:build !linux

package imapconn

import "net"

// quickAck is conn: delayed acknowledgements are tuned on Linux only (quickack_linux.go).
func quickAck(conn net.Conn) net.Conn { return conn }
