package imapbulk

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/redact"
)

// DefaultIOTimeout bounds every single read and write on the connection
// (an idle timeout: a 5 MB literal arriving steadily never trips it).
const DefaultIOTimeout = 2 * time.Minute

// logoutTimeout bounds the LOGOUT that Close sends.
const logoutTimeout = 2 * time.Second

// Conn is one authenticated IMAP connection for bulk transfer. Methods run
// one at a time (they lock the connection); a Conn whose context fired or
// whose connection broke mid-command is unusable afterwards and says so
// (ErrConnectionLost) — dial a new one.
type Conn struct {
	mu sync.Mutex

	netConn net.Conn
	tc      *timeoutConn
	bw      *bufio.Writer
	p       *parser
	secrets *redact.Set
	login   string
	ep      imapconn.Endpoint

	tagSeq uint64
	broken error

	caps      imapconn.Caps
	condstore bool // CONDSTORE enabled by a SELECT or EXAMINE with its parameter (RFC 7162 §3.1.8)
	qresync   bool // QRESYNC enabled (ENABLE QRESYNC, sent with a ReadFolder that asks for it)

	selected string // mailbox name as given to Select, "" when none
	exists   uint32 // last EXISTS of the selected mailbox

	// The server's NAMESPACE, once asked (it holds for the session).
	namespaces *imapconn.Namespaces

	appendOpts AppendOptions
	stats      stats
}

// stats are counters callers read without the lock.
type stats struct {
	bytesWritten     atomic.Int64
	messagesAppended atomic.Int64
}

// timeoutConn gives every Read and Write its own deadline.
type timeoutConn struct {
	net.Conn
	timeout  atomic.Int64 // time.Duration
	readsEnd atomic.Int64 // Unix nanoseconds after which no Read waits; 0: no such end (see endReads)
}

func (t *timeoutConn) Read(p []byte) (int, error) {
	var deadline time.Time
	if d := time.Duration(t.timeout.Load()); d > 0 {
		deadline = time.Now().Add(d)
	}
	if end := t.readsEnd.Load(); end != 0 && (deadline.IsZero() || end < deadline.UnixNano()) {
		deadline = time.Unix(0, end)
	}
	if !deadline.IsZero() {
		t.Conn.SetReadDeadline(deadline)
	}
	return t.Conn.Read(p)
}

// endReads lets Reads return what the peer has sent already, and nothing it sends after grace from now.
func (t *timeoutConn) endReads(grace time.Duration) {
	end := time.Now().Add(grace)
	t.readsEnd.Store(end.UnixNano())
	t.Conn.SetReadDeadline(end) // a Read waiting now
}

func (t *timeoutConn) Write(p []byte) (int, error) {
	if d := time.Duration(t.timeout.Load()); d > 0 {
		t.Conn.SetWriteDeadline(time.Now().Add(d))
	}
	return t.Conn.Write(p)
}

// newConn wraps a secured connection whose greeting was read. br may hold
// bytes already read from conn.
func newConn(conn net.Conn, br *bufio.Reader) *Conn {
	tc := &timeoutConn{Conn: conn}
	tc.timeout.Store(int64(DefaultIOTimeout))
	var pending []byte
	if br != nil && br.Buffered() > 0 {
		b, _ := br.Peek(br.Buffered())
		pending = append([]byte(nil), b...)
	}
	rd := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(pending), tc), 64<<10)
	return &Conn{
		netConn: conn,
		tc:      tc,
		bw:      bufio.NewWriterSize(tc, 64<<10),
		p:       newParser(rd),
		caps:    imapconn.Caps{},
	}
}

// SetIOTimeout changes the per-read/per-write deadline (0: none; not
// recommended). Safe to call at any time.
func (c *Conn) SetIOTimeout(d time.Duration) { c.tc.timeout.Store(int64(d)) }

// Login returns the user the connection acts as.
func (c *Conn) Login() string { return c.login }

// Caps returns the capabilities the server advertised after authentication, upper case, sorted.
func (c *Conn) Caps() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.caps.List()
	for i := range out {
		out[i] = strings.ToUpper(out[i])
	}
	return out
}

// Has reports whether the server advertised a capability (case-insensitive, implied ones included: see
// imapconn.Caps.Has).
func (c *Conn) Has(capability string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.has(capability)
}

func (c *Conn) has(capability string) bool { return c.caps.Has(capability) }

// capValue returns the value of a NAME=value capability ("" and false when absent; "" and true for a
// bare NAME).
func (c *Conn) capValue(name string) (string, bool) { return c.caps.Value(name) }

func (c *Conn) setCaps(caps imapconn.Caps) { c.caps = caps }

// Close logs out (waiting at most two seconds) and closes the connection.
// It is idempotent and always leaves the connection closed.
func (c *Conn) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), logoutTimeout)
	defer cancel()
	_ = c.Logout(ctx) // closes the connection whatever the outcome
	return nil
}

var errClosed = errors.New("connection closed")

// Usable tells whether the connection can still carry commands: it is not closed, and no error or ended
// context has left it in an unknown state.
func (c *Conn) Usable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broken == nil
}

// Logout sends LOGOUT (RFC 9051 §6.1.3) and closes the connection.
func (c *Conn) Logout(ctx context.Context) error {
	err := c.exec(ctx, "LOGOUT", func(ctx context.Context) error {
		_, err := c.run(ctx, "LOGOUT", newCommand("LOGOUT"), nil)
		return err
	})
	c.mu.Lock()
	c.netConn.Close()
	c.broken = errClosed
	c.mu.Unlock()
	// A server may close before its tagged OK: that is a successful logout.
	if err != nil && errors.Is(err, ErrConnectionLost) {
		return nil
	}
	return err
}

// exec runs f with the connection locked and ctx honoured: when ctx ends,
// the connection is closed (the only way to interrupt a blocked read) and
// the Conn is broken.
func (c *Conn) exec(ctx context.Context, op string, f func(ctx context.Context) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: c.broken}
	}
	if err := ctx.Err(); err != nil {
		return &imapconn.Error{Kind: imapconn.Timeout, Op: op, Err: err}
	}
	stop := context.AfterFunc(ctx, func() { c.netConn.Close() })
	err := f(ctx)
	if !stop() {
		c.broken = &brokenError{cause: ctx.Err()}
		var ie *imapconn.Error
		if errors.As(err, &ie) && ie.Kind == imapconn.Timeout {
			return err
		}
		return &imapconn.Error{Kind: imapconn.Timeout, Op: op, Err: ctx.Err()}
	}
	if err != nil && c.broken == nil && isFatal(err) {
		c.broken = &brokenError{cause: err}
	}
	return err
}

// brokenError is what operations on a broken Conn wrap.
type brokenError struct{ cause error }

func (e *brokenError) Error() string { return "connection unusable after: " + e.cause.Error() }
func (e *brokenError) Unwrap() error { return ErrConnectionLost }

// isFatal tells whether an error leaves the connection out of step: any
// I/O or parse error (a server refusal does not).
func isFatal(err error) bool {
	var se *imapconn.StatusError
	if errors.As(err, &se) {
		return se.Status == "BYE"
	}
	var ie *imapconn.Error
	if errors.As(err, &ie) && ie.Kind == imapconn.NotSupported {
		return false
	}
	return errors.Is(err, ErrConnectionLost) || errors.Is(err, errProtocol) || imapconn.KindOf(err) == imapconn.Timeout ||
		imapconn.KindOf(err) == imapconn.Unreachable
}

func (c *Conn) nextTag() string {
	c.tagSeq++
	return "B" + strconv.FormatUint(c.tagSeq, 10)
}

// ownTag reports whether tag has the form of the tags nextTag makes; a reply for any other tag answers
// nothing this connection sent.
func ownTag(tag string) bool {
	if len(tag) < 2 || tag[0] != 'B' {
		return false
	}
	for _, c := range tag[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// readResponse reads one response and applies what every response may
// carry to the connection's state (RFC 9051 §7: untagged data may arrive
// at any time).
func (c *Conn) readResponse() (*response, error) {
	r, err := c.p.readResponse()
	if err != nil {
		return nil, err
	}
	switch {
	case r.code == "CAPABILITY" && (r.status == "OK" || r.status == "PREAUTH"):
		c.setCaps(imapconn.ParseCaps(strings.Fields(r.args)))
	case r.tag == "*" && r.kind == "CAPABILITY":
		var list []string
		for _, v := range r.fields {
			list = append(list, v.str())
		}
		c.setCaps(imapconn.ParseCaps(list))
	case r.tag == "*" && r.hasNum && r.kind == "EXISTS":
		c.exists = r.num
	}
	return r, nil
}

// run sends one command and reads responses until its tagged reply,
// passing untagged data to onData (nil: ignore). Synchronizing literals in
// the command wait for the server's continuation. A NO or BAD becomes a
// imapconn.StatusError inside an *imapconn.Error; an untagged BYE fails the command.
// When onData fails, the remaining responses are still read (to stay in
// step) and its error is returned.
func (c *Conn) run(ctx context.Context, op string, cmd *command, onData func(*response) error) (*response, error) {
	tag := c.nextTag()
	if err := c.send(ctx, op, tag, cmd); err != nil {
		return nil, err
	}
	var dataErr error
	var bye *response
	for {
		r, err := c.readResponse()
		if err != nil {
			if bye != nil {
				return nil, statusErr(op, bye, false, c.secrets)
			}
			return nil, ioErr(op, err, ctx.Err(), c.secrets)
		}
		switch {
		case r.tag == tag:
			if dataErr != nil {
				return r, dataErr
			}
			if r.status != "OK" {
				return r, statusErr(op, r, cmd.auth, c.secrets)
			}
			return r, nil
		case r.tag == "*":
			if r.status == "BYE" {
				bye = r
				continue
			}
			if onData != nil && dataErr == nil {
				dataErr = onData(r)
			}
		case r.tag == "+":
			if cmd.onContinue == nil {
				return nil, outOfStep(op, "unexpected continuation request")
			}
			if err := cmd.onContinue(r.text); err != nil {
				return nil, ioErr(op, err, ctx.Err(), c.secrets)
			}
		default:
			return nil, outOfStep(op, "response for unknown tag %q", truncate(r.tag))
		}
	}
}

// awaitTagged reads the replies to pipelined commands until every tag of tags has had its own, which it
// passes to done with what the tag stands for (and removes from tags); untagged data goes to onData (nil:
// ignored). An untagged BYE explains a connection that then ends.
func awaitTagged[K any](ctx context.Context, c *Conn, op string, tags map[string]K, done func(*response, K), onData func(*response)) error {
	var bye *response
	for len(tags) > 0 {
		r, err := c.readResponse()
		if err != nil {
			if bye != nil {
				return statusErr(op, bye, false, c.secrets)
			}
			return ioErr(op, err, ctx.Err(), c.secrets)
		}
		k, ours := tags[r.tag]
		switch {
		case ours:
			delete(tags, r.tag)
			done(r, k)
		case r.tag == "*" && r.status == "BYE":
			bye = r
		case r.tag == "*":
			if onData != nil {
				onData(r)
			}
		default:
			return outOfStep(op, "response for unknown tag %q", truncate(r.tag))
		}
	}
	return nil
}

// send writes tag and cmd, waiting for continuations before synchronizing
// literals.
func (c *Conn) send(ctx context.Context, op, tag string, cmd *command) error {
	if _, err := c.bw.WriteString(tag + " "); err != nil {
		return ioErr(op, err, ctx.Err(), c.secrets)
	}
	for _, part := range cmd.parts {
		if !part.literal {
			if _, err := c.bw.WriteString(part.text); err != nil {
				return ioErr(op, err, ctx.Err(), c.secrets)
			}
			continue
		}
		nonSync := c.nonSync(len(part.text))
		head := "{" + strconv.Itoa(len(part.text))
		if nonSync {
			head += "+}\r\n"
		} else {
			head += "}\r\n"
		}
		if _, err := c.bw.WriteString(head); err != nil {
			return ioErr(op, err, ctx.Err(), c.secrets)
		}
		if !nonSync {
			if err := c.bw.Flush(); err != nil {
				return ioErr(op, err, ctx.Err(), c.secrets)
			}
			if err := c.awaitContinuation(ctx, op, tag, cmd.auth); err != nil {
				return err
			}
		}
		if _, err := c.bw.WriteString(part.text); err != nil {
			return ioErr(op, err, ctx.Err(), c.secrets)
		}
	}
	if _, err := c.bw.WriteString("\r\n"); err != nil {
		return ioErr(op, err, ctx.Err(), c.secrets)
	}
	if err := c.bw.Flush(); err != nil {
		return ioErr(op, err, ctx.Err(), c.secrets)
	}
	return nil
}

// awaitContinuation reads until the server's "+" (untagged data on the
// way is applied; a tagged reply for tag means it refused the command).
func (c *Conn) awaitContinuation(ctx context.Context, op, tag string, auth bool) error {
	for {
		r, err := c.readResponse()
		if err != nil {
			return ioErr(op, err, ctx.Err(), c.secrets)
		}
		switch {
		case r.tag == "+":
			return nil
		case r.tag == tag:
			if r.status == "OK" {
				return localErr(imapconn.ProtocolError, op, "server completed the command before its literal")
			}
			return statusErr(op, r, auth, c.secrets)
		case r.tag == "*":
			if r.status == "BYE" {
				return statusErr(op, r, false, c.secrets)
			}
		default:
			return outOfStep(op, "response for unknown tag %q", truncate(r.tag))
		}
	}
}
