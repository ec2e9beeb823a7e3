// Package imapsession is the general-purpose IMAP front end of mailshift, behind its controllers: reading
// namespaces, quotas, folders and counts, managing ACLs and METADATA, subscriptions, ensuring special
// (groupware and special-use) folders, and what mailbox synchronisation needs (CONDSTORE/QRESYNC, UID
// EXPUNGE, MOVE, IDLE). It has no Kubernetes imports.
//
// The connection, TLS, authentication, capabilities, error kinds and redaction are package imapconn's;
// a Session takes an authenticated imapconn.Conn over and speaks through
// github.com/emersion/go-imap/v2's imapclient, with imapconn.BoundedReader beneath it. Every method
// takes a context: its deadline and cancellation are honoured by closing the connection (imapclient has
// no per-command cancellation and resets socket deadlines itself), so a Session whose context fired
// mid-command is broken and must be closed. Every error returned is an *imapconn.Error with a Kind.
package imapsession

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/redact"
)

// Session is an authenticated IMAP connection. Its methods are safe for concurrent use; they run one at
// a time.
type Session struct {
	mu     sync.Mutex
	client *imapclient.Client
	conn   net.Conn // the raw TCP connection, closed to abort
	wire   *rawCmdConn
	caps   imapconn.Caps
	broken error // set when a context aborted a command

	ep      imapconn.Endpoint
	login   string
	secrets *redact.Set          // scrubbed from every error, whatever the server echoes later
	ns      *imapconn.Namespaces // cached
	// qresync is set once ENABLE QRESYNC succeeded; selected names the mailbox Select selected.
	qresync  bool
	selected string
}

// Dial connects, secures the connection as ep.TLS says, authenticates and reads the capabilities (all
// of it imapconn.Dial's), then hands the connection to go-imap. ctx bounds the whole of it (and so does
// ep.DialTimeout).
func Dial(ctx context.Context, ep imapconn.Endpoint, cred imapconn.Credentials) (*Session, error) {
	bc, err := imapconn.Dial(ctx, ep, cred)
	if err != nil {
		return nil, err
	}
	s, err := newSession(bc)
	if err != nil {
		bc.Close()
		return nil, err
	}
	return s, nil
}

// newSession hands an authenticated connection to imapclient. imapclient expects a greeting: it gets a
// PREAUTH one carrying the capabilities the base read, so that it starts in the authenticated state
// without a round trip.
func newSession(bc *imapconn.Conn) (*Session, error) {
	caps := bc.Caps()
	greeting := "* PREAUTH mailshift: authenticated"
	if list := caps.List(); len(list) > 0 {
		greeting = "* PREAUTH [CAPABILITY " + strings.Join(list, " ") + "] mailshift: authenticated"
	}
	s := &Session{conn: bc.RawConn(), caps: caps, ep: bc.Endpoint(), login: bc.Login(), secrets: bc.Secrets()}
	s.client, s.wire = newClient(bc.NetConn(), bc.Reader(), greeting, &imapclient.Options{})
	if err := s.client.WaitGreeting(); err != nil {
		s.client.Close()
		return nil, s.wire.explain("greeting", wrap("greeting", phaseGreeting, err))
	}
	return s, nil
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
	s.broken = imapconn.ErrClosed
	if err != nil && !errors.Is(err, net.ErrClosed) && classify(err, phaseCommand) != imapconn.Unreachable {
		return wrap("close", phaseCommand, err)
	}
	return nil
}

// Login returns the user the session acts as.
func (s *Session) Login() string { return s.login }

// Endpoint returns the endpoint the session was dialled with.
func (s *Session) Endpoint() imapconn.Endpoint { return s.ep }

// do runs one operation under the session lock with ctx honoured.
func (s *Session) do(ctx context.Context, op string, f func(c *imapclient.Client) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken != nil || s.client == nil {
		return &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: imapconn.ErrClosed}
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
			s.broken = imapconn.ErrClosed
		default:
		}
	}
	return s.wire.explain(op, wrapScrubbed(op, phaseCommand, err, s.secrets))
}
