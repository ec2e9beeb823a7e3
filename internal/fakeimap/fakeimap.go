// Package fakeimap holds fake IMAP servers for tests, on 127.0.0.1: servers that misbehave on purpose in
// ways no real server can be made to (echoing the client's credentials back, sending endless responses,
// failing LIST after a good login). Tests of normal behaviour use real Dovecot and Cyrus
// (internal/testserver); these fakes exist only for the hostile cases.
package fakeimap

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// Server is a running fake. It stops when the test ends.
type Server struct {
	Host        string
	Port        int
	sent        atomic.Int64
	connections atomic.Int64
}

// Addr returns host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Sent returns how many bytes the server wrote to its clients (what the kernel accepted: what the
// clients read plus what the sockets buffer).
func (s *Server) Sent() int64 { return s.sent.Load() }

// Connections returns how many connections the server accepted.
func (s *Server) Connections() int64 { return s.connections.Load() }

// listen starts a server whose connections handle serves (w counts what reaches the client).
func listen(t testing.TB, host string, handle func(c net.Conn, w io.Writer)) *Server {
	t.Helper()
	if host == "" {
		host = "127.0.0.1"
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s := &Server{Host: host, Port: l.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.connections.Add(1)
			go func() {
				defer c.Close()
				handle(c, countingWriter{c, &s.sent})
			}()
		}
	}()
	return s
}

// countingWriter counts what reaches the connection.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (cw countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n.Add(int64(n))
	return n, err
}

// Hostile answers: each is a head followed by one byte repeated without end.
const (
	HugeLiteral        = "huge literal"        // a literal announced as {1000000000}
	UnterminatedQuoted = "unterminated quoted" // a quoted string that never ends
	EndlessCapability  = "endless CAPABILITY"  // a CAPABILITY line that never ends
)

// HostileSendCap is where a hostile server stops sending (and holds the connection open), so that a
// client without limits fails its test by reading all of it rather than exhausting the machine.
const HostileSendCap = 128 << 20

// Hostile starts a server that greets like IMAP (AUTH=PLAIN, SASL-IR), reads the client's first command
// and answers it with the given endless response.
func Hostile(t testing.TB, kind string) *Server {
	var head string
	var fill byte
	switch kind {
	case HugeLiteral:
		head, fill = `* LIST () "/" {1000000000}`+"\r\n", 'a'
	case UnterminatedQuoted:
		head, fill = `* LIST () "/" "`, 'a'
	case EndlessCapability:
		head, fill = "* CAPABILITY IMAP4rev1", 'X'
	default:
		t.Fatalf("unknown hostile answer %q", kind)
	}
	var sent atomic.Int64 // what this handler wrote, checked against the cap
	return listen(t, "", func(c net.Conn, sw io.Writer) {
		w := countingWriter{sw, &sent}
		if _, err := io.WriteString(w, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] fake hostile server\r\n"); err != nil {
			return
		}
		br := bufio.NewReader(c)
		if _, err := br.ReadString('\n'); err != nil {
			return
		}
		_, err := io.WriteString(w, head)
		buf := []byte(strings.Repeat(string(fill), 64<<10))
		for err == nil && sent.Load() < HostileSendCap {
			_, err = w.Write(buf)
		}
		_, _ = io.Copy(io.Discard, br) // hold the connection until the client goes
	})
}

// Options shape a scripted server.
type Options struct {
	// Host to listen on; default 127.0.0.1.
	Host string
	// Caps are the capabilities advertised besides IMAP4rev1, e.g. "AUTH=PLAIN SASL-IR".
	Caps string
	// AcceptLogin makes LOGIN and AUTHENTICATE succeed; otherwise they fail with a NO that echoes
	// everything the client sent for them (command line, continuation lines and literals).
	AcceptLogin bool
	// ListFails makes LIST (and LSUB) fail with NO [SERVERBUG].
	ListFails bool
}

// Scripted starts a server that speaks just enough IMAP for a login and a look around (CAPABILITY,
// LOGIN, AUTHENTICATE, NAMESPACE, LIST, STATUS, ID, NOOP, LOGOUT). Every refusal echoes the client's
// command, as some servers do in their error texts.
func Scripted(t testing.TB, o Options) *Server {
	caps := strings.TrimSpace("IMAP4rev1 " + o.Caps)
	return listen(t, o.Host, func(c net.Conn, w io.Writer) {
		br := bufio.NewReader(c)
		send := func(lines ...string) bool {
			for _, l := range lines {
				if _, err := io.WriteString(w, l+"\r\n"); err != nil {
					return false
				}
			}
			return true
		}
		// readCommand reads a command line and its literals, answering synchronizing ones.
		readCommand := func() (string, bool) {
			var all strings.Builder
			for {
				line, err := br.ReadString('\n')
				if err != nil || all.Len() > 1<<20 {
					return "", false
				}
				line = strings.TrimRight(line, "\r\n")
				all.WriteString(line)
				n, sync, ok := literalAtEnd(line)
				if !ok {
					return all.String(), true
				}
				if sync && !send("+ go on") {
					return "", false
				}
				lit := make([]byte, n)
				if _, err := io.ReadFull(br, lit); err != nil {
					return "", false
				}
				all.WriteString("\r\n")
				all.Write(lit)
			}
		}
		if !send("* OK [CAPABILITY " + caps + "] fake scripted server") {
			return
		}
		for {
			cmd, ok := readCommand()
			if !ok {
				return
			}
			tag, rest, _ := strings.Cut(cmd, " ")
			verb, args, _ := strings.Cut(rest, " ")
			var reply []string
			switch strings.ToUpper(verb) {
			case "CAPABILITY":
				reply = []string{"* CAPABILITY " + caps, tag + " OK done"}
			case "LOGIN":
				if o.AcceptLogin {
					reply = []string{tag + " OK [CAPABILITY " + caps + "] logged in"}
				} else {
					reply = []string{tag + " NO [AUTHENTICATIONFAILED] Authentication failed for: " + cmd}
				}
			case "AUTHENTICATE":
				echo := cmd
				if !strings.Contains(args, " ") { // no initial response: ask for it
					if !send("+ ") {
						return
					}
					resp, err := br.ReadString('\n')
					if err != nil {
						return
					}
					echo += " " + strings.TrimRight(resp, "\r\n")
				}
				if o.AcceptLogin {
					reply = []string{tag + " OK [CAPABILITY " + caps + "] logged in"}
				} else {
					reply = []string{tag + " NO [AUTHENTICATIONFAILED] Authentication failed for: " + echo}
				}
			case "NAMESPACE":
				reply = []string{`* NAMESPACE (("" "/")) NIL NIL`, tag + " OK done"}
			case "LIST", "LSUB":
				if o.ListFails {
					reply = []string{tag + " NO [SERVERBUG] Internal error listing mailboxes: " + cmd}
				} else {
					reply = []string{`* LIST () "/" INBOX`, tag + " OK done"}
				}
			case "STATUS":
				reply = []string{"* STATUS INBOX (MESSAGES 0)", tag + " OK done"}
			case "NOOP", "ID", "ENABLE":
				reply = []string{tag + " OK done"}
			case "LOGOUT":
				send("* BYE bye", tag+" OK done")
				return
			default:
				reply = []string{tag + " BAD Unknown command: " + cmd}
			}
			if !send(reply...) {
				return
			}
		}
	})
}

// literalAtEnd recognises {n} or {n+} at the end of a command line.
func literalAtEnd(line string) (n int, sync, ok bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false, false
	}
	num := line[i+1 : len(line)-1]
	sync = true
	if strings.HasSuffix(num, "+") || strings.HasSuffix(num, "-") {
		num, sync = num[:len(num)-1], false
	}
	v, err := strconv.Atoi(num)
	if err != nil || v < 0 || v > 1<<20 {
		return 0, false, false
	}
	return v, sync, true
}

// Banner starts a server that is not IMAP at all: it sends banner (an SSH, HTTP or SMTP greeting, junk)
// and holds the connection until the client goes.
func Banner(t testing.TB, banner string) *Server {
	return listen(t, "", func(c net.Conn, w io.Writer) {
		if _, err := io.WriteString(w, banner); err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, c) // hold the connection until the client goes
	})
}
