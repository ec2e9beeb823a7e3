package imapconn

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/redact"
)

// Connecting: the TCP connection within the context, implicit TLS or STARTTLS (tls.go), the greeting,
// and deadlines reported as what was awaited ("no IMAP greeting from host:port within 10s").

// Conn is a connection to an IMAP server: secured as its Endpoint says, greeting read, and after
// Authenticate (or Dial) in the authenticated state with its capabilities known. A front end takes it
// over from there (NetConn, Reader) and speaks the protocol itself; the Conn is not used after that.
type Conn struct {
	raw      net.Conn // the TCP connection: closing it aborts everything
	conn     net.Conn // raw, or the TLS connection over it
	br       *bufio.Reader
	ep       Endpoint
	greeting string
	preauth  bool
	tlsState *tls.ConnectionState
	caps     Caps
	// capsOK is set when a tagged OK carried the capabilities (RFC 9051 §7.1: a server may send them with
	// the OK of a login, and they are then the authenticated state's).
	capsOK  bool
	login   string
	secrets *redact.Set
	tagSeq  int
	budget  int64 // bytes the server may still send before the hand-off
}

// NetConn returns the secured connection (the TLS connection, or the TCP one under TLS mode None).
// Closing it closes the socket.
func (c *Conn) NetConn() net.Conn { return c.conn }

// RawConn returns the TCP connection: closing it aborts whatever is blocked on the connection.
func (c *Conn) RawConn() net.Conn { return c.raw }

// Reader returns the buffered reader of NetConn; it may hold bytes already received. A front end reads
// through it (or takes over its buffered bytes) from the hand-off on.
func (c *Conn) Reader() *bufio.Reader { return c.br }

// Greeting returns the server's greeting line without CRLF. After STARTTLS it came in clear text.
func (c *Conn) Greeting() string { return c.greeting }

// TLSState returns the TLS connection state, nil under TLS mode None.
func (c *Conn) TLSState() *tls.ConnectionState { return c.tlsState }

// Caps returns the capabilities: after authentication, those the server advertised then.
func (c *Conn) Caps() Caps { return c.caps }

// Login returns the user the connection acts as ("" before Authenticate).
func (c *Conn) Login() string { return c.login }

// Secrets returns what must be scrubbed from every error of this connection: the credentials' secrets
// in every form they travel in.
func (c *Conn) Secrets() *redact.Set { return c.secrets }

// Endpoint returns the endpoint the connection was made to.
func (c *Conn) Endpoint() Endpoint { return c.ep }

// Close closes the connection without logging out.
func (c *Conn) Close() error { return c.raw.Close() }

// Dial connects to ep, secures the connection, reads the greeting, authenticates as cred says and reads
// the capabilities. ctx and ep.DialTimeout (default DefaultDialTimeout) bound all of it. Errors are
// *Error, scrubbed of cred's secrets.
func Dial(ctx context.Context, ep Endpoint, cred Credentials) (*Conn, error) {
	if err := ep.Validate(); err != nil {
		return nil, err
	}
	if cred.Login == "" {
		return nil, Errorf(ProtocolError, "authenticate", "no login given")
	}
	ctx, cancel := ep.WithDialTimeout(ctx)
	defer cancel()
	c, err := Connect(ctx, ep)
	if err != nil {
		return nil, err
	}
	if err := c.Authenticate(ctx, cred); err != nil {
		c.raw.Close()
		return nil, err
	}
	return c, nil
}

// Connect dials ep, reads the greeting and secures the connection as ep.TLS says (implicit TLS, or
// STARTTLS with a verified handshake). ctx bounds it; ep.DialTimeout is not applied here, so that a
// caller can bound set-up and authentication together (see Dial). A greeting that does not come is
// reported as such ("no IMAP greeting from host:port within 10s").
func Connect(ctx context.Context, ep Endpoint) (*Conn, error) {
	start := time.Now()
	if err := ep.Validate(); err != nil {
		return nil, err
	}
	mode := ep.Mode()
	var tlsCfg *tls.Config
	if mode != TLSNone {
		cfg, err := ep.TLSConfig()
		if err != nil {
			return nil, &Error{Kind: TLSFailed, Op: "tls", Err: err}
		}
		tlsCfg = cfg
	}
	addr := ep.Address()
	if err := ep.Allowed.CheckHost(ep.Host); err != nil {
		return nil, &Error{Kind: HostNotAllowed, Op: "connect " + addr, Err: err}
	}
	d := net.Dialer{Control: ep.Allowed.Control(ep.Host)}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, timeoutErr("connect "+addr, ctx.Err(), "no TCP connection to %s within %s", addr, since(start))
		}
		return nil, Wrap("connect "+addr, PhaseConnect, err, nil)
	}
	raw = quickAck(raw)
	c := &Conn{raw: raw, conn: raw, ep: ep, budget: MaxHandshakeBytes, caps: Caps{}}
	abort := context.AfterFunc(ctx, func() { raw.Close() })
	// stage names what was awaited when the context ended.
	stage := "TLS handshake with %s did not finish within %s"
	fail := func(err error) (*Conn, error) {
		raw.Close()
		if !abort() {
			return nil, timeoutErr("connect "+addr, ctx.Err(), stage, addr, since(start))
		}
		return nil, err
	}
	handshake := func() error {
		tc := tls.Client(raw, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return err
		}
		st := tc.ConnectionState()
		c.tlsState = &st
		c.conn = tc
		return nil
	}
	if mode == TLSImplicit {
		tlsCfg.NextProtos = []string{"imap"}
		if err := handshake(); err != nil {
			return fail(tlsError(ep, err))
		}
	}
	stage = "no IMAP greeting from %s within %s"
	c.br = bufio.NewReader(c.conn)
	var size int64
	c.greeting, err = c.readLine(&size)
	if err != nil {
		return fail(Wrap("greeting", PhaseGreeting, err, nil))
	}
	k, ok := greetingKind(c.greeting)
	switch {
	case !ok:
		// Whatever answered is not IMAP: its bytes stay out of the error, which ends up in status, so
		// that a MailServer cannot be used to read the banners of other services.
		return fail(&Error{Kind: ProtocolError, Op: "greeting", Err: ErrNotIMAP})
	case k == "BYE":
		return fail(Errorf(Unreachable, "greeting", "server said %s", ServerText(c.greeting)))
	case k == "PREAUTH" && mode == TLSStartTLS:
		// RFC 9051 §7.1.4: PREAUTH on a cleartext connection rules out STARTTLS; refuse rather than
		// continue unencrypted.
		return fail(Errorf(TLSFailed, "starttls", "server sent PREAUTH before STARTTLS"))
	}
	c.preauth = k == "PREAUTH"
	if g := parseReply(c.greeting); g.code == "CAPABILITY" {
		c.caps = ParseCaps(strings.Fields(g.args))
	}
	if mode == TLSStartTLS {
		stage = "STARTTLS with %s did not finish within %s"
		if err := c.startTLS(); err != nil {
			return fail(Wrap("starttls", PhaseTLS, err, nil))
		}
		if err := handshake(); err != nil {
			return fail(tlsError(ep, err))
		}
		c.br = bufio.NewReader(c.conn)
		// The capabilities came in clear text: ask again over TLS (RFC 9051 §6.2.1).
		c.caps = Caps{}
	}
	if !abort() {
		raw.Close()
		return nil, timeoutErr("connect "+addr, ctx.Err(), stage, addr, since(start))
	}
	return c, nil
}

// deadlineError reports a context that ended while something was awaited; it unwraps to the context's
// error.
type deadlineError struct {
	msg   string
	cause error
}

func (e *deadlineError) Error() string { return e.msg }
func (e *deadlineError) Unwrap() error { return e.cause }

func timeoutErr(op string, cause error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if errors.Is(cause, context.Canceled) {
		msg += " (cancelled)"
	}
	return &Error{Kind: Timeout, Op: op, Err: &deadlineError{msg: msg, cause: cause}}
}

// since returns the time since start, rounded for a message.
func since(start time.Time) time.Duration {
	d := time.Since(start)
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

// guard runs f with ctx honoured: when ctx ends, the connection is closed (the only way to interrupt a
// blocked read) and a Timeout is returned.
func (c *Conn) guard(ctx context.Context, op string, f func() error) error {
	if err := ctx.Err(); err != nil {
		return &Error{Kind: Timeout, Op: op, Err: err}
	}
	stop := context.AfterFunc(ctx, func() { c.raw.Close() })
	err := f()
	if !stop() {
		c.raw.Close()
		return timeoutErr(op, ctx.Err(), "%s on %s did not finish in time", op, c.ep.Address())
	}
	return err
}
