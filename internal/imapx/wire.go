package imapx

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2/imapclient"
)

// This file holds the little raw protocol this package speaks itself:
//
//   - the greeting and STARTTLS are done here, before imapclient sees the
//     connection, so that the greeting can be reported, the handshake obeys
//     the context, and imapclient always sits on the plaintext side;
//   - commands go-imap v2 lacks (DELETEACL) are sent through rawCmdConn.

const maxLine = 64 << 10

// readLine reads one CRLF-terminated line (without the CRLF).
func readLine(br *bufio.Reader) (string, error) {
	var sb strings.Builder
	for {
		frag, err := br.ReadSlice('\n')
		sb.Write(frag)
		if sb.Len() > maxLine {
			return "", errors.New("line too long")
		}
		if err == nil {
			return strings.TrimRight(sb.String(), "\r\n"), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", err
		}
	}
}

// ErrNotIMAP says that what answered at the address did not greet like an
// IMAP server. Its message is all that is reported: none of the peer's bytes.
var ErrNotIMAP = errors.New("not an IMAP server (greeting did not start with * OK, * PREAUTH or * BYE)")

// serverText renders a line an IMAP server sent for an error message:
// printable ASCII only, at most 100 characters, quoted.
func serverText(s string) string {
	const max = 100
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; i++ {
		if ch := s[i]; ch >= 0x20 && ch < 0x7f {
			b.WriteByte(ch)
		} else {
			b.WriteByte('?')
		}
	}
	out := strconv.Quote(b.String())
	if len(s) > max {
		out += "…"
	}
	return out
}

// greetingKind classifies a greeting line.
func greetingKind(line string) (string, bool) {
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "*" {
		return "", false
	}
	switch k := strings.ToUpper(f[1]); k {
	case "OK", "PREAUTH", "BYE":
		return k, true
	}
	return "", false
}

// startTLS sends STARTTLS on a connection whose greeting was read and waits
// for the tagged answer. Anything the server sent after its OK and before
// the handshake is refused (a plaintext injection would otherwise be read
// as if it came over TLS).
func startTLS(conn net.Conn, br *bufio.Reader) error {
	if _, err := io.WriteString(conn, "S1 STARTTLS\r\n"); err != nil {
		return err
	}
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "* ") {
			continue // untagged data (CAPABILITY, ...) before the answer
		}
		rest, ok := strings.CutPrefix(line, "S1 ")
		if !ok {
			return fmt.Errorf("unexpected line %s", serverText(line))
		}
		if f := strings.Fields(rest); len(f) == 0 || !strings.EqualFold(f[0], "OK") {
			return fmt.Errorf("server refused STARTTLS: %s", serverText(rest))
		}
		if br.Buffered() > 0 {
			return errors.New("server sent data after its STARTTLS response")
		}
		return nil
	}
}

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
	r     io.Reader
	bound *boundedReader // r, with the limits on what the server may send

	mu      sync.Mutex
	pending string // command without tag and CRLF; "" when not armed
	sent    bool
}

func (c *rawCmdConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *rawCmdConn) Write(p []byte) (int, error) {
	c.bound.wrote()
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

// Quote renders s as an IMAP quoted string (RFC 3501 §4.3). ok is false for strings a quoted string cannot
// carry (CR, LF, NUL, 8-bit): they need a literal.
func Quote(s string) (quoted string, ok bool) {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"' || ch == '\\':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case ch == 0 || ch == '\r' || ch == '\n' || ch >= 0x80:
			return "", false
		default:
			b.WriteByte(ch)
		}
	}
	b.WriteByte('"')
	return b.String(), true
}

// quoteArg renders an astring argument as an IMAP quoted string. Strings that cannot be quoted are refused:
// the raw path never needs literals.
func quoteArg(s string) (string, error) {
	q, ok := Quote(s)
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
	return quoteArg(EncodeUTF7(name))
}

// raw sends one command that imapclient does not know and whose only reply
// is a tagged status (see rawCmdConn).
func (s *Session) raw(ctx context.Context, op, cmd string) error {
	return s.do(ctx, op, func(c *imapclient.Client) error {
		s.wire.arm(cmd)
		err := c.Noop().Wait()
		if !s.wire.disarm() {
			if err != nil {
				return err
			}
			return newError(ProtocolError, op, "command was not sent")
		}
		return err
	})
}

// newClient wraps a connection (TLS already done, greeting already read)
// for imapclient, with every response bounded (see MaxResponseBytes).
func newClient(conn net.Conn, br *bufio.Reader, greeting string, opts *imapclient.Options) (*imapclient.Client, *rawCmdConn) {
	bound := newBoundedReader(io.MultiReader(strings.NewReader(greeting+"\r\n"), br), MaxResponseBytes, MaxCommandBytes, true)
	wc := &rawCmdConn{Conn: conn, r: bound, bound: bound}
	return imapclient.New(wc, opts), wc
}

// explain returns, for a failure of op, the limit the server exceeded when
// that is what ended the connection (go-imap reports it only as a broken
// stream), else err.
func (c *rawCmdConn) explain(op string, err error) error {
	if err == nil || c == nil {
		return err
	}
	if lim := c.bound.overLimit(); lim != nil {
		return &Error{Kind: ProtocolError, Op: op, Err: lim}
	}
	return err
}
