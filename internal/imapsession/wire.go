package imapsession

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// This file holds the little raw protocol this package speaks itself:
//
//   - commands go-imap v2 lacks (DELETEACL, ...) are sent through rawCmdConn;
//   - responses go-imap v2 cannot parse (VANISHED, LISTRIGHTS, LSUB, ...) are taken out of the stream
//     before it sees them (see filter.go).
//
// Connecting, TLS and authentication are package imapconn's; imapclient always sits on the plaintext
// side of an authenticated connection.

// rawCmdConn is the connection under imapclient. Reads start with a replayed
// (or synthesised) greeting; writes pass through unchanged, except that when
// a raw command is armed, the next write that is exactly "<tag> NOOP\r\n" is
// replaced by "<tag> <command>\r\n".
//
// Why: imapclient (go-imap v2.0.0-beta.8) has no way to send a command it
// does not know — its encoder and command registry are unexported — and
// DELETEACL is one (so is LISTRIGHTS, whose untagged reply imapclient could
// not parse anyway). Sending the command under the tag of a NOOP imapclient
// itself issued keeps its bookkeeping intact: the server's tagged OK/NO/BAD
// completes that NOOP and comes back from Wait. This only suits commands
// whose sole reply is the tagged status (DELETEACL, per RFC 4314 §3.2).
// The alternatives were worse: a second, separately authenticated connection
// with a hand-written client for one command, or SETACL with empty rights,
// which Dovecot keeps as an explicit empty entry (GETACL shows bob ""): not
// a deletion, and in Dovecot's ACL model a user's own entry takes
// precedence over "anyone"/group entries, so it can shadow their rights.
// Session.raw serialises arming with the session lock and checks that the
// substitution happened.
type rawCmdConn struct {
	net.Conn
	r      io.Reader
	bound  *imapconn.BoundedReader // beneath r, with the limits on what the server may send
	filter *responseFilter         // r: takes out what imapclient must not see

	mu      sync.Mutex
	pending string // command without tag and CRLF; "" when not armed
	sent    bool
}

func (c *rawCmdConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *rawCmdConn) Write(p []byte) (int, error) {
	c.bound.Wrote()
	c.mu.Lock()
	if c.pending != "" {
		if tag, ok := noopTag(p); ok {
			line := tag + " " + c.pending + "\r\n"
			c.pending = ""
			c.sent = true
			c.mu.Unlock()
			if _, err := io.WriteString(c.Conn, line); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *rawCmdConn) arm(cmd string) {
	c.mu.Lock()
	c.pending, c.sent = cmd, false
	c.mu.Unlock()
}

func (c *rawCmdConn) disarm() (sent bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sent = c.sent
	c.pending, c.sent = "", false
	return sent
}

// noopTag returns the tag of a write that is exactly one NOOP command.
func noopTag(p []byte) (string, bool) {
	s := string(p)
	rest, ok := strings.CutSuffix(s, " NOOP\r\n")
	if !ok || rest == "" || len(rest) > 32 {
		return "", false
	}
	for _, ch := range rest {
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '.') {
			return "", false
		}
	}
	return rest, true
}

// quoteArg renders an astring argument as an IMAP quoted string. Strings that cannot be quoted are refused:
// the raw path never needs literals.
func quoteArg(s string) (string, error) {
	q, ok := imapconn.Quote(s)
	if !ok {
		return "", fmt.Errorf("argument %q cannot be sent as a quoted string", s)
	}
	return q, nil
}

// mailboxArg renders a mailbox name the way go-imap does: INBOX as an atom,
// anything else modified-UTF-7-encoded and quoted.
func mailboxArg(name string) (string, error) {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX", nil
	}
	return quoteArg(imapconn.EncodeUTF7(name))
}

// raw sends one command that imapclient does not know and whose only reply
// is a tagged status (see rawCmdConn).
func (s *Session) raw(ctx context.Context, op, cmd string) error {
	_, err := s.rawCapture(ctx, op, cmd)
	return err
}

// rawCapture sends one command that imapclient does not know (under the tag of a NOOP imapclient
// issues, see rawCmdConn) and returns the untagged responses the server sent before its tagged reply;
// the response filter keeps them from imapclient (see filter.go).
func (s *Session) rawCapture(ctx context.Context, op, cmd string) ([][]byte, error) {
	var got [][]byte
	err := s.do(ctx, op, func(c *imapclient.Client) error {
		s.wire.filter.startCapture()
		s.wire.arm(cmd)
		err := c.Noop().Wait()
		got = s.wire.filter.stopCapture()
		if !s.wire.disarm() {
			if err != nil {
				return err
			}
			return newError(imapconn.ProtocolError, op, "command was not sent")
		}
		return err
	})
	return got, err
}

// newClient wraps a connection (TLS already done, greeting already read)
// for imapclient, with every response bounded (see MaxResponseBytes).
func newClient(conn net.Conn, br *bufio.Reader, greeting string, opts *imapclient.Options) (*imapclient.Client, *rawCmdConn) {
	bound := imapconn.NewBoundedReader(io.MultiReader(strings.NewReader(greeting+"\r\n"), br),
		imapconn.MaxResponseBytes, imapconn.MaxCommandBytes, true)
	filter := newResponseFilter(bound)
	wc := &rawCmdConn{Conn: conn, r: filter, bound: bound, filter: filter}
	return imapclient.New(wc, opts), wc
}

// explain returns, for a failure of op, the limit the server exceeded when
// that is what ended the connection (go-imap reports it only as a broken
// stream), else err.
func (c *rawCmdConn) explain(op string, err error) error {
	if err == nil || c == nil {
		return err
	}
	if lim := c.bound.OverLimit(); lim != nil {
		return &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: lim}
	}
	return err
}
