package imapbulk

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// fakeServer is a scripted stand-in for an IMAP server on a loopback
// listener: it accepts one connection and runs the test's script on it.
// It exists to produce responses no real test server sends (Exchange's
// throttling, [UNAVAILABLE], OAuth, a BYE in the middle of a pipeline).
type fakeServer struct {
	t    *testing.T
	ln   net.Listener
	done chan struct{}
}

// fakeSession is the server side of one connection.
type fakeSession struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func startFake(t *testing.T, script func(s *fakeSession)) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeServer{t: t, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(fs.done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		script(&fakeSession{t: t, conn: conn, br: bufio.NewReader(conn)})
	}()
	t.Cleanup(func() {
		ln.Close()
		select {
		case <-fs.done:
		case <-time.After(10 * time.Second):
			t.Error("fake server script did not finish")
		}
	})
	return fs
}

func (fs *fakeServer) endpoint() imapconn.Endpoint {
	addr := fs.ln.Addr().(*net.TCPAddr)
	return imapconn.Endpoint{Host: "127.0.0.1", Port: addr.Port, TLS: imapconn.TLSNone, DialTimeout: 10 * time.Second}
}

func (s *fakeSession) send(lines ...string) {
	for _, l := range lines {
		if _, err := io.WriteString(s.conn, l+"\r\n"); err != nil {
			s.t.Logf("fake server: write: %v", err)
			return
		}
	}
}

func (s *fakeSession) line() string {
	l, err := s.br.ReadString('\n')
	if err != nil {
		return ""
	}
	return strings.TrimRight(l, "\r\n")
}

var literalAtEnd = regexp.MustCompile(`\{([0-9]+)(\+?)\}$`)

// command is one client command: its tag, the whole text with literals
// inline, and the literals' contents.
type fakeCommand struct {
	tag, text string
	literals  []string
}

// readCommand reads a command including its literals, answering
// synchronizing literals with "+ go ahead" unless refuse says to stop
// (then it returns after the literal announcement).
func (s *fakeSession) readCommand() fakeCommand {
	var cmd fakeCommand
	for {
		l, err := s.br.ReadString('\n')
		if err != nil {
			return cmd
		}
		l = strings.TrimRight(l, "\r\n")
		cmd.text += l
		m := literalAtEnd.FindStringSubmatch(l)
		if m == nil {
			break
		}
		n, _ := strconv.Atoi(m[1])
		if m[2] == "" {
			s.send("+ go ahead")
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(s.br, buf); err != nil {
			return cmd
		}
		cmd.literals = append(cmd.literals, string(buf))
		cmd.text += "<literal>"
	}
	cmd.tag, _, _ = strings.Cut(cmd.text, " ")
	return cmd
}

// greetAndLogin sends a greeting with caps and accepts AUTHENTICATE PLAIN
// (SASL-IR) and the CAPABILITY that follows.
func (s *fakeSession) greetAndLogin(caps string) {
	s.send("* OK [CAPABILITY IMAP4rev1 " + caps + "] fake ready")
	cmd := s.readCommand()
	if !strings.Contains(cmd.text, "AUTHENTICATE PLAIN ") {
		s.t.Errorf("fake: expected AUTHENTICATE PLAIN with SASL-IR, got %q", cmd.text)
	}
	s.send(cmd.tag + " OK logged in")
	cmd = s.readCommand()
	if !strings.HasSuffix(cmd.text, " CAPABILITY") {
		s.t.Errorf("fake: expected CAPABILITY, got %q", cmd.text)
	}
	s.send("* CAPABILITY IMAP4rev1 "+caps, cmd.tag+" OK done")
}

const fakeCaps = "AUTH=PLAIN SASL-IR LITERAL+ UIDPLUS MULTIAPPEND"

func dialFake(t *testing.T, fs *fakeServer, cred imapconn.Credentials) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, fs.endpoint(), cred)
	if err != nil {
		t.Fatalf("Dial fake: %v", err)
	}
	t.Cleanup(func() { c.netConn.Close() })
	return c
}

func fakeCred() imapconn.Credentials {
	return imapconn.Credentials{Login: "alice", Password: "pw-fake-9"}
}

func msgOf(body string, flags ...string) Message {
	return Message{Flags: flags, Size: int64(len(body)), Body: strings.NewReader(body),
		Date: time.Date(2024, 3, 5, 7, 8, 9, 0, time.FixedZone("", 3600))}
}

func fmtAppendUID(validity, uid int) string { return fmt.Sprintf("[APPENDUID %d %d]", validity, uid) }
