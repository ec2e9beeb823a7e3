// Package imapx is the IMAP operations library behind mailshift's
// controllers: connecting with verified TLS, logging in (also by admin
// impersonation), reading namespaces, quotas, folders and counts, managing
// ACLs and METADATA, and ensuring special (groupware and special-use)
// folders. It has no Kubernetes imports.
//
// It is built on github.com/emersion/go-imap/v2's imapclient. Every method
// takes a context: its deadline and cancellation are honoured by closing the
// connection (imapclient has no per-command cancellation and resets socket
// deadlines itself), so a Session whose context fired mid-command is broken
// and must be closed. Every error returned is an *Error with a Kind.
package imapx

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mailshift/mailshift/internal/acl"
	"github.com/mailshift/mailshift/internal/egress"
	"github.com/mailshift/mailshift/internal/redact"
)

// TLSMode is how the connection is protected.
type TLSMode string

// TLS modes.
const (
	TLSImplicit TLSMode = "Implicit" // TLS from the first byte (port 993)
	TLSStartTLS TLSMode = "STARTTLS" // plain connection upgraded with STARTTLS (port 143); the default
	TLSNone     TLSMode = "None"     // no TLS at all; only when asked for explicitly
)

// DefaultDialTimeout bounds Dial and Probe (connect, TLS, greeting and
// authentication) when Endpoint.DialTimeout is zero.
const DefaultDialTimeout = 30 * time.Second

// Endpoint says where a server is and how to reach it.
type Endpoint struct {
	Host string
	Port int // 0: 993 for Implicit, 143 otherwise
	TLS  TLSMode
	// CAPEM is a PEM bundle of CA certificates to trust instead of the
	// system roots. Empty: system roots.
	CAPEM []byte
	// ServerName is the name to verify the certificate against (and send as
	// SNI). Empty: Host.
	ServerName string
	// InsecureSkipVerify disables certificate verification. Never the
	// default.
	InsecureSkipVerify bool
	// DialTimeout bounds connect + TLS + greeting + authentication. Zero:
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// Allowed limits the hosts that may be connected to (names, and the
	// addresses connected to, checked as the connection is made). nil: any.
	Allowed *egress.AllowList
}

func (ep Endpoint) mode() TLSMode {
	if ep.TLS == "" {
		return TLSStartTLS
	}
	return ep.TLS
}

// Address returns host:port with the default port filled in.
func (ep Endpoint) Address() string {
	port := ep.Port
	if port == 0 {
		if ep.mode() == TLSImplicit {
			port = 993
		} else {
			port = 143
		}
	}
	return net.JoinHostPort(ep.Host, strconv.Itoa(port))
}

// TLSConfig returns the tls.Config Dial and Probe use: verification on
// unless InsecureSkipVerify, roots from CAPEM when given, TLS 1.2 or newer.
func (ep Endpoint) TLSConfig() (*tls.Config, error) {
	cfg := &tls.Config{
		ServerName:         ep.ServerName,
		InsecureSkipVerify: ep.InsecureSkipVerify, //nolint:gosec // only when the user asks for it
		MinVersion:         tls.VersionTLS12,
	}
	if cfg.ServerName == "" {
		cfg.ServerName = ep.Host
	}
	if len(ep.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ep.CAPEM) {
			return nil, errors.New("no certificate found in the CA bundle")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func (ep Endpoint) validate() error {
	switch ep.mode() {
	case TLSImplicit, TLSStartTLS, TLSNone:
	default:
		return newError(ProtocolError, "connect", "unknown TLS mode %q (want Implicit, STARTTLS or None)", ep.TLS)
	}
	if ep.Host == "" {
		return newError(ProtocolError, "connect", "no host")
	}
	if ep.Port < 0 || ep.Port > 65535 {
		return newError(ProtocolError, "connect", "bad port %d", ep.Port)
	}
	return nil
}

// Credentials say whom to log in as.
//
// With AdminLogin set, the session acts as Login by impersonation: SASL
// PLAIN with authorization identity Login, authentication identity
// AdminLogin and AdminPassword (Cyrus admins and proxy servers, Dovecot
// master users). If the server does not offer AUTH=PLAIN or refuses that,
// and Flavor is "dovecot", Dovecot's master-user LOGIN form
// "Login*AdminLogin" is tried (the default auth_master_user_separator).
type Credentials struct {
	Login, Password           string
	AdminLogin, AdminPassword string
	// Flavor is the server flavor ("dovecot", "cyrus"); it only enables
	// flavor-specific fallbacks.
	Flavor string

	// skipPlainImpersonation makes authenticate go straight to the Dovecot
	// master-user LOGIN fallback; only tests set it.
	skipPlainImpersonation bool
}

// secrets are the passwords in every form they travel in, and the SASL PLAIN
// payloads authenticate sends, so that a server echoing them is scrubbed
// from every error.
func (c Credentials) secrets() *redact.Set {
	return redact.New(c.Password, c.AdminPassword).WithPayloads(
		"\x00"+c.Login+"\x00"+c.Password, c.Login+"\x00"+c.AdminLogin+"\x00"+c.AdminPassword)
}

// Session is an authenticated IMAP connection. Its methods are safe for
// concurrent use; they run one at a time.
type Session struct {
	mu     sync.Mutex
	client *imapclient.Client
	conn   net.Conn // the raw TCP connection, closed to abort
	wire   *rawCmdConn
	caps   imap.CapSet
	broken error // set when a context aborted a command

	ep      Endpoint
	login   string
	secrets *redact.Set // scrubbed from every error, whatever the server echoes later
	ns      *Namespaces // cached
}

// Dial connects, secures the connection as ep.TLS says, authenticates and
// reads the capabilities. ctx bounds the whole of it (and so does
// ep.DialTimeout).
func Dial(ctx context.Context, ep Endpoint, cred Credentials) (*Session, error) {
	if err := ep.validate(); err != nil {
		return nil, err
	}
	if cred.Login == "" {
		return nil, newError(ProtocolError, "authenticate", "no login given")
	}
	ctx, cancel := withDialTimeout(ctx, ep)
	defer cancel()

	c, err := connect(ctx, ep)
	if err != nil {
		return nil, err
	}
	abort := context.AfterFunc(ctx, func() { c.raw.Close() })
	s, err := func() (*Session, error) {
		if err := authenticate(c.client, cred); err != nil {
			return nil, c.wire.explain("authenticate", err)
		}
		caps, err := c.client.Capability().Wait()
		if err != nil {
			return nil, c.wire.explain("CAPABILITY", wrapScrubbed("CAPABILITY", phaseCommand, err, cred.secrets()))
		}
		return &Session{client: c.client, conn: c.raw, wire: c.wire, caps: caps, ep: ep, login: cred.Login, secrets: cred.secrets()}, nil
	}()
	if !abort() {
		c.raw.Close()
		return nil, wrap("authenticate", phaseAuth, ctx.Err())
	}
	if err != nil {
		c.client.Close()
		return nil, err
	}
	return s, nil
}

func withDialTimeout(ctx context.Context, ep Endpoint) (context.Context, context.CancelFunc) {
	d := ep.DialTimeout
	if d <= 0 {
		d = DefaultDialTimeout
	}
	return context.WithTimeout(ctx, d)
}

type connection struct {
	client   *imapclient.Client
	raw      net.Conn // the TCP connection: closing it aborts everything
	wire     *rawCmdConn
	greeting string
	tlsState *tls.ConnectionState
}

// connect dials, reads the greeting, does TLS (implicit or STARTTLS) and
// hands the plaintext side to imapclient.
func connect(ctx context.Context, ep Endpoint) (*connection, error) {
	sc, err := secure(ctx, ep)
	if err != nil {
		return nil, err
	}
	c := &connection{raw: sc.raw, greeting: sc.greeting, tlsState: sc.tlsState}
	abort := context.AfterFunc(ctx, func() { sc.raw.Close() })
	replay := c.greeting
	if sc.startTLS {
		// imapclient expects a greeting; the real one (and its pre-TLS
		// capabilities) must not be trusted any more.
		replay = "* OK [mailshift] TLS established"
	}
	c.client, c.wire = newClient(sc.conn, sc.br, replay, &imapclient.Options{})
	if err := c.client.WaitGreeting(); err != nil {
		c.client.Close()
		sc.raw.Close()
		if !abort() {
			return nil, wrap("connect "+ep.Address(), phaseConnect, ctx.Err())
		}
		return nil, c.wire.explain("greeting", wrap("greeting", phaseGreeting, err))
	}
	if !abort() {
		c.client.Close()
		return nil, wrap("connect "+ep.Address(), phaseConnect, ctx.Err())
	}
	return c, nil
}

// DialPlain connects to ep, reads the greeting and secures the connection
// as ep.TLS says (implicit TLS, or STARTTLS with a verified handshake), and
// returns it before any IMAP client takes it over: for callers that speak
// the protocol themselves (bulk transfer). conn is the secured connection
// (closing it closes the socket), br reads from it and may already hold
// data, greeting is the server's greeting line without CRLF. After STARTTLS
// the greeting was received in clear text: its capabilities must not be
// trusted (ask again over TLS). ctx bounds the set-up; ep.DialTimeout is not
// applied here, so that the caller can bound set-up and authentication
// together. Errors are *Error.
func DialPlain(ctx context.Context, ep Endpoint) (conn net.Conn, br *bufio.Reader, greeting string, err error) {
	if err := ep.validate(); err != nil {
		return nil, nil, "", err
	}
	sc, err := secure(ctx, ep)
	if err != nil {
		return nil, nil, "", err
	}
	return sc.conn, sc.br, sc.greeting, nil
}

// securedConn is a connection whose greeting was read and whose TLS (if
// any) is established.
type securedConn struct {
	raw      net.Conn // the TCP connection: closing it aborts everything
	conn     net.Conn // raw, or the TLS connection over it
	br       *bufio.Reader
	greeting string
	tlsState *tls.ConnectionState
	startTLS bool // the greeting came before STARTTLS
}

// secure dials, reads the greeting and does TLS (implicit or STARTTLS).
func secure(ctx context.Context, ep Endpoint) (*securedConn, error) {
	mode := ep.mode()
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
		return nil, wrap("connect "+addr, phaseConnect, err)
	}
	abort := context.AfterFunc(ctx, func() { raw.Close() })
	fail := func(err error) (*securedConn, error) {
		raw.Close()
		if !abort() {
			return nil, wrap("connect "+addr, phaseConnect, ctx.Err())
		}
		return nil, err
	}

	c := &securedConn{raw: raw, conn: raw}
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
	c.br = bufio.NewReader(c.conn)
	c.greeting, err = readLine(c.br)
	if err != nil {
		return fail(wrap("greeting", phaseGreeting, err))
	}
	switch k, ok := greetingKind(c.greeting); {
	case !ok:
		// Whatever answered is not IMAP: its bytes stay out of the error,
		// which ends up in status, so that a MailServer cannot be used to
		// read the banners of other services.
		return fail(&Error{Kind: ProtocolError, Op: "greeting", Err: ErrNotIMAP})
	case k == "BYE":
		return fail(newError(Unreachable, "greeting", "server said %s", serverText(c.greeting)))
	case k == "PREAUTH" && mode == TLSStartTLS:
		// RFC 9051 §7.1.4: PREAUTH on a cleartext connection rules out
		// STARTTLS; refuse rather than continue unencrypted.
		return fail(newError(TLSFailed, "starttls", "server sent PREAUTH before STARTTLS"))
	}
	if mode == TLSStartTLS {
		if err := startTLS(raw, c.br); err != nil {
			return fail(wrap("starttls", phaseTLS, err))
		}
		if err := handshake(); err != nil {
			return fail(tlsError(ep, err))
		}
		c.br = bufio.NewReader(c.conn)
		c.startTLS = true
	}
	if !abort() {
		raw.Close()
		return nil, wrap("connect "+addr, phaseConnect, ctx.Err())
	}
	return c, nil
}

// authenticate logs in as cred says. See Credentials.
func authenticate(c *imapclient.Client, cred Credentials) error {
	caps := c.Caps()
	if caps == nil {
		return newError(ProtocolError, "CAPABILITY", "no capabilities received")
	}
	hasPlain := false
	for _, m := range caps.AuthMechanisms() {
		if strings.EqualFold(m, "PLAIN") {
			hasPlain = true
		}
	}
	loginOK := !caps.Has(imap.CapLoginDisabled)
	secrets := cred.secrets()

	if cred.AdminLogin != "" {
		var plainErr error
		if hasPlain && !cred.skipPlainImpersonation {
			plainErr = c.Authenticate(sasl.NewPlainClient(cred.Login, cred.AdminLogin, cred.AdminPassword))
			if plainErr == nil {
				return nil
			}
			if classify(plainErr, phaseAuth) != AuthenticationFailed && classify(plainErr, phaseAuth) != NotSupported {
				return wrapScrubbed("authenticate (PLAIN as "+cred.Login+" by "+cred.AdminLogin+")", phaseAuth, plainErr, secrets)
			}
		}
		if strings.EqualFold(cred.Flavor, acl.FlavorDovecot) && loginOK {
			// Dovecot master user: LOGIN "user*master" with the master's
			// password (auth_master_user_separator = *).
			err := c.Login(cred.Login+"*"+cred.AdminLogin, cred.AdminPassword).Wait()
			return wrapScrubbed("authenticate (LOGIN "+cred.Login+"*"+cred.AdminLogin+")", phaseAuth, err, secrets)
		}
		if plainErr != nil {
			return wrapScrubbed("authenticate (PLAIN as "+cred.Login+" by "+cred.AdminLogin+")", phaseAuth, plainErr, secrets)
		}
		return newError(NotSupported, "authenticate", "impersonating %q needs AUTH=PLAIN (or Flavor dovecot with LOGIN); server offers %v",
			cred.Login, caps.AuthMechanisms())
	}

	if hasPlain {
		// PLAIN carries UTF-8 passwords unambiguously; LOGIN is the fallback.
		err := c.Authenticate(sasl.NewPlainClient("", cred.Login, cred.Password))
		return wrapScrubbed("authenticate (PLAIN as "+cred.Login+")", phaseAuth, err, secrets)
	}
	if loginOK {
		err := c.Login(cred.Login, cred.Password).Wait()
		return wrapScrubbed("authenticate (LOGIN as "+cred.Login+")", phaseAuth, err, secrets)
	}
	return newError(NotSupported, "authenticate", "server offers neither AUTH=PLAIN nor LOGIN (LOGINDISABLED)")
}

// Close logs out (briefly) and closes the connection.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return nil
	}
	if s.broken == nil {
		done := make(chan struct{})
		go func() {
			_ = s.client.Logout().Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	}
	err := s.client.Close()
	s.client = nil
	s.broken = ErrClosed
	if err != nil && !errors.Is(err, net.ErrClosed) && classify(err, phaseCommand) != Unreachable {
		return wrap("close", phaseCommand, err)
	}
	return nil
}

// Login returns the user the session acts as.
func (s *Session) Login() string { return s.login }

// Endpoint returns the endpoint the session was dialled with.
func (s *Session) Endpoint() Endpoint { return s.ep }

// do runs one operation under the session lock with ctx honoured.
func (s *Session) do(ctx context.Context, op string, f func(c *imapclient.Client) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken != nil || s.client == nil {
		return &Error{Kind: ProtocolError, Op: op, Err: ErrClosed}
	}
	if err := ctx.Err(); err != nil {
		return wrap(op, phaseCommand, err)
	}
	abort := context.AfterFunc(ctx, func() { s.conn.Close() })
	err := f(s.client)
	if !abort() {
		s.broken = ctx.Err()
		return wrap(op, phaseCommand, ctx.Err())
	}
	if err != nil {
		select {
		case <-s.client.Closed():
			s.broken = ErrClosed
		default:
		}
	}
	return s.wire.explain(op, wrapScrubbed(op, phaseCommand, err, s.secrets))
}
