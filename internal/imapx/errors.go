package imapx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/emersion/go-imap/v2"

	"github.com/mailshift/mailshift/internal/certerr"
	"github.com/mailshift/mailshift/internal/egress"
	"github.com/mailshift/mailshift/internal/redact"
)

// Kind classifies a failure so that controllers can pick a condition reason
// without parsing messages.
type Kind string

// Failure kinds.
const (
	// Unreachable: nothing answered at the address, the connection was
	// refused or reset, or the server said BYE before or while working.
	Unreachable Kind = "Unreachable"
	// TLSFailed: the TLS handshake or STARTTLS negotiation failed, including
	// certificate verification.
	TLSFailed Kind = "TLSFailed"
	// AuthenticationFailed: the server refused the credentials or the
	// impersonation.
	AuthenticationFailed Kind = "AuthenticationFailed"
	// Timeout: a deadline (the context's, the dial timeout or the network's)
	// expired, or the context was cancelled.
	Timeout Kind = "Timeout"
	// ProtocolError: the server answered BAD, said something unexpected or
	// the session is unusable; also invalid arguments given to this package.
	ProtocolError Kind = "ProtocolError"
	// NotSupported: the server lacks the capability the operation needs.
	NotSupported Kind = "NotSupported"
	// PermissionDenied: the server refused the operation for lack of rights.
	PermissionDenied Kind = "PermissionDenied"
	// NotFound: the mailbox (or another named object) does not exist.
	NotFound Kind = "NotFound"
	// HostNotAllowed: the host, or an address it resolved to, is not in
	// Endpoint.Allowed; no connection was made.
	HostNotAllowed Kind = "HostNotAllowed"
)

// Error is the only error type this package returns. Its message never
// contains a password: errors are built without secrets and, where a server
// or library message might echo one, scrubbed (see package redact).
type Error struct {
	Kind Kind
	Op   string // what was being done, e.g. "connect", "authenticate", "GETACL Calendar"
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("imapx: %s: %s", e.Op, e.Kind)
	}
	return fmt.Sprintf("imapx: %s: %s: %v", e.Op, e.Kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of an error returned by this package, "" for nil,
// and a best-effort classification for any other error.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return classify(err, phaseCommand)
}

// ErrClosed is wrapped by the Error returned for operations on a closed or
// broken session.
var ErrClosed = errors.New("session closed")

// ErrNotSupported is wrapped by NotSupported errors raised locally because
// the server does not advertise a capability.
var ErrNotSupported = errors.New("capability not advertised")

// phase tells classify what was going on, because the same low-level error
// means different things at different times (EOF during the TLS handshake is
// a TLS failure, EOF during GETACL a lost connection).
type phase int

const (
	phaseConnect phase = iota
	phaseTLS
	phaseGreeting
	phaseAuth
	phaseCommand
)

func classify(err error, ph phase) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, os.ErrDeadlineExceeded) {
		return Timeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Timeout
	}
	if errors.Is(err, ErrNotSupported) {
		return NotSupported
	}
	if errors.Is(err, egress.ErrNotAllowed) {
		return HostNotAllowed
	}
	if isTLSError(err) {
		return TLSFailed
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return classifyIMAP(ie, ph)
	}
	switch ph {
	case phaseConnect:
		return Unreachable
	case phaseTLS:
		return TLSFailed
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return Unreachable
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return Unreachable
	}
	return ProtocolError
}

func isTLSError(err error) bool {
	var (
		uae   x509.UnknownAuthorityError
		he    x509.HostnameError
		ce    x509.CertificateInvalidError
		cve   *tls.CertificateVerificationError
		rhe   tls.RecordHeaderError
		alert tls.AlertError
		ech   *tls.ECHRejectionError
	)
	return errors.As(err, &uae) || errors.As(err, &he) || errors.As(err, &ce) || errors.As(err, &cve) ||
		errors.As(err, &rhe) || errors.As(err, &alert) || errors.As(err, &ech) ||
		strings.HasPrefix(err.Error(), "tls: ")
}

// tlsError reports a failed handshake. Certificate errors are told in
// package certerr's words: crypto/x509's quote the peer's certificate,
// bytes of whatever answered at the address, which would otherwise land in
// status.
func tlsError(ep Endpoint, err error) error {
	name := ep.ServerName
	if name == "" {
		name = ep.Host
	}
	if msg, ok := certerr.Describe(err, name); ok {
		return &Error{Kind: TLSFailed, Op: "tls", Err: errors.New(msg)}
	}
	return wrap("tls", phaseTLS, err)
}

// classifyIMAP maps a tagged NO/BAD (or greeting BYE) to a Kind. Response
// codes (RFC 5530) decide first; servers that send none (Cyrus, often) are
// recognised by their texts.
func classifyIMAP(ie *imap.Error, ph phase) Kind {
	switch ie.Code {
	case imap.ResponseCodeAuthenticationFailed, imap.ResponseCodeAuthorizationFailed, imap.ResponseCodeExpired,
		imap.ResponseCodePrivacyRequired:
		if ph == phaseAuth || ph == phaseGreeting {
			return AuthenticationFailed
		}
		return PermissionDenied
	case imap.ResponseCodeNoPerm:
		return PermissionDenied
	case imap.ResponseCodeNonExistent, imap.ResponseCodeTryCreate:
		return NotFound
	case imap.ResponseCodeUnavailable:
		return Unreachable
	case imap.ResponseCodeCannot, imap.ResponseCodeLimit, imap.ResponseCodeOverQuota, imap.ResponseCodeAlreadyExists,
		imap.ResponseCodeInUse, imap.ResponseCodeServerBug, imap.ResponseCodeClientBug:
		if ph == phaseAuth {
			return AuthenticationFailed
		}
		return ProtocolError
	}
	text := strings.ToLower(ie.Text)
	if ie.Type == imap.StatusResponseTypeBye {
		return Unreachable
	}
	switch ph {
	case phaseAuth:
		if ie.Type == imap.StatusResponseTypeNo {
			return AuthenticationFailed
		}
		if strings.Contains(text, "unknown") || strings.Contains(text, "unsupported") || strings.Contains(text, "not supported") {
			return NotSupported
		}
		return ProtocolError // BAD: the command itself was malformed
	case phaseTLS:
		return TLSFailed
	case phaseGreeting:
		return Unreachable
	}
	switch {
	case strings.Contains(text, "permission denied"), strings.Contains(text, "not permitted"),
		strings.Contains(text, "access denied"), strings.Contains(text, "no permission"),
		strings.Contains(text, "not allowed"), strings.Contains(text, "disallowed"), strings.Contains(text, "insufficient"):
		// Dovecot answers BAD "'anyone' identifier is disallowed" under acl_anyone = forbid.
		return PermissionDenied
	case ie.Type == imap.StatusResponseTypeBad && (strings.Contains(text, "unknown command") ||
		strings.Contains(text, "unrecognized command") || strings.Contains(text, "command unrecognized") ||
		strings.Contains(text, "not supported") || strings.Contains(text, "unsupported")):
		return NotSupported
	case ie.Type == imap.StatusResponseTypeBad:
		return ProtocolError
	case strings.Contains(text, "does not exist"), strings.Contains(text, "doesn't exist"),
		strings.Contains(text, "not found"), strings.Contains(text, "nonexistent"), strings.Contains(text, "no such"):
		return NotFound
	case strings.Contains(text, "not supported"), strings.Contains(text, "unsupported"):
		return NotSupported
	}
	return ProtocolError
}

// wrap builds an *Error for op, classifying err for the phase, and scrubs
// the secrets (in every form they travel in, see package redact) from its
// message. A nil err gives nil; an *Error is returned as is (its Op kept)
// after scrubbing.
func wrap(op string, ph phase, err error, secrets ...string) error {
	return wrapScrubbed(op, ph, err, redact.New(secrets...))
}

// wrapScrubbed is wrap with the secrets already prepared.
func wrapScrubbed(op string, ph phase, err error, secrets *redact.Set) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Err != nil {
			e.Err = secrets.Error(e.Err)
		}
		return e
	}
	return &Error{Kind: classify(err, ph), Op: op, Err: secrets.Error(err)}
}

func newError(kind Kind, op string, format string, args ...any) error {
	return &Error{Kind: kind, Op: op, Err: fmt.Errorf(format, args...)}
}
