package imapconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/mailshift/mailshift/internal/egress"
)

// Kind classifies a failure so that controllers can pick a condition reason without parsing messages.
// Both IMAP front ends return only *Error, so callers branch the same way whichever they used.
type Kind string

// Failure kinds.
const (
	// Unreachable: nothing answered at the address, the connection was refused or reset, or the server
	// said BYE before or while working.
	Unreachable Kind = "Unreachable"
	// TLSFailed: the TLS handshake or STARTTLS negotiation failed, including certificate verification.
	TLSFailed Kind = "TLSFailed"
	// AuthenticationFailed: the server refused the credentials or the impersonation.
	AuthenticationFailed Kind = "AuthenticationFailed"
	// Timeout: a deadline (the context's, the dial timeout or the network's) expired, or the context was
	// cancelled.
	Timeout Kind = "Timeout"
	// ProtocolError: the server answered BAD, said something unexpected or the session is unusable; also
	// invalid arguments given to this package.
	ProtocolError Kind = "ProtocolError"
	// NotSupported: the server lacks the capability the operation needs.
	NotSupported Kind = "NotSupported"
	// PermissionDenied: the server refused the operation for lack of rights (or of quota).
	PermissionDenied Kind = "PermissionDenied"
	// NotFound: the mailbox (or another named object) does not exist.
	NotFound Kind = "NotFound"
	// HostNotAllowed: the host, or an address it resolved to, is not in Endpoint.Allowed; no connection
	// was made.
	HostNotAllowed Kind = "HostNotAllowed"
)

// Error is the only error type the IMAP packages return. Its message never contains a secret: errors
// are built without secrets and, where a server or library message might echo one, scrubbed (see Wrap
// and package redact).
type Error struct {
	Kind Kind
	Op   string // what was being done, e.g. "connect", "authenticate", "GETACL Calendar"
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("imap: %s: %s", e.Op, e.Kind)
	}
	return fmt.Sprintf("imap: %s: %s: %v", e.Op, e.Kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of an error returned by the IMAP packages, "" for nil, and a best-effort
// classification for any other error.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Classify(err, PhaseCommand)
}

// Errorf builds an *Error from a message that holds no secret.
func Errorf(kind Kind, op string, format string, args ...any) error {
	return &Error{Kind: kind, Op: op, Err: fmt.Errorf(format, args...)}
}

// Sentinels wrapped by returned errors.
var (
	// ErrClosed: the operation was tried on a closed or broken connection.
	ErrClosed = errors.New("session closed")
	// ErrNotSupported: raised locally because the server does not advertise a capability.
	ErrNotSupported = errors.New("capability not advertised")
	// ErrNotIMAP: what answered did not greet like an IMAP server. Its message is all that is reported:
	// none of the peer's bytes.
	ErrNotIMAP = errors.New("not an IMAP server (greeting did not start with * OK, * PREAUTH or * BYE)")
	// ErrResponseTooLarge: a server exceeded one of the limits on what it may send; the connection is
	// then closed.
	ErrResponseTooLarge = errors.New("server response over the size limit")
)

// Phase tells Classify what was going on, because the same low-level error means different things at
// different times (EOF during the TLS handshake is a TLS failure, EOF during GETACL a lost connection).
type Phase int

// Phases of a connection.
const (
	PhaseConnect Phase = iota
	PhaseTLS
	PhaseGreeting
	PhaseAuth
	PhaseCommand
)

// StatusError is a server's tagged NO or BAD, or a BYE, with its response code (RFC 5530) and text,
// secrets removed.
type StatusError struct {
	Status string // "NO", "BAD" or "BYE"
	Code   string // e.g. "TOOBIG", "" when none
	Text   string
}

func (e *StatusError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s [%s] %s", e.Status, e.Code, e.Text)
	}
	return e.Status + " " + e.Text
}

// IMAPStatus makes a StatusError a StatusReply.
func (e *StatusError) IMAPStatus() (status, code, text string) { return e.Status, e.Code, e.Text }

// StatusReply is an error that carries a server's status response; front ends wrap their client
// library's error type in one so that Classify reads it.
type StatusReply interface {
	error
	IMAPStatus() (status, code, text string)
}

// Classify returns the Kind of err for the phase it happened in.
func Classify(err error, ph Phase) Kind {
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
	if errors.Is(err, ErrResponseTooLarge) {
		return ProtocolError
	}
	if isTLSError(err) {
		return TLSFailed
	}
	var sr StatusReply
	if errors.As(err, &sr) {
		status, code, text := sr.IMAPStatus()
		return ClassifyStatus(status, code, text, ph)
	}
	switch ph {
	case PhaseConnect:
		return Unreachable
	case PhaseTLS:
		return TLSFailed
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return Unreachable
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return Unreachable
	}
	return ProtocolError
}

// ClassifyStatus maps a server's status response (tagged NO/BAD, or BYE) to a Kind, for the phase it
// came in. Response codes (RFC 5530) decide first; servers that send none (Cyrus, often) are recognised
// by their texts.
func ClassifyStatus(status, code, text string, ph Phase) Kind {
	status, code = strings.ToUpper(status), strings.ToUpper(code)
	switch code {
	case "AUTHENTICATIONFAILED", "AUTHORIZATIONFAILED", "EXPIRED", "PRIVACYREQUIRED":
		if ph == PhaseAuth || ph == PhaseGreeting {
			return AuthenticationFailed
		}
		return PermissionDenied
	case "NOPERM":
		return PermissionDenied
	case "NONEXISTENT", "TRYCREATE":
		return NotFound
	case "UNAVAILABLE", "THROTTLED":
		return Unreachable
	case "OVERQUOTA":
		if ph == PhaseAuth {
			return AuthenticationFailed
		}
		return PermissionDenied
	case "CANNOT", "LIMIT", "ALREADYEXISTS", "INUSE", "SERVERBUG", "CLIENTBUG", "TOOBIG":
		if ph == PhaseAuth {
			return AuthenticationFailed
		}
		return ProtocolError
	}
	lower := strings.ToLower(text)
	if status == "BYE" {
		return Unreachable
	}
	switch ph {
	case PhaseAuth:
		if status == "NO" {
			return AuthenticationFailed
		}
		if strings.Contains(lower, "unknown") || strings.Contains(lower, "unsupported") || strings.Contains(lower, "not supported") {
			return NotSupported
		}
		return ProtocolError // BAD: the command itself was malformed
	case PhaseTLS:
		return TLSFailed
	case PhaseGreeting:
		return Unreachable
	}
	switch {
	case strings.Contains(lower, "permission denied"), strings.Contains(lower, "not permitted"),
		strings.Contains(lower, "access denied"), strings.Contains(lower, "no permission"),
		strings.Contains(lower, "not allowed"), strings.Contains(lower, "disallowed"), strings.Contains(lower, "insufficient"):
		// Dovecot answers BAD "'anyone' identifier is disallowed" under acl_anyone = forbid.
		return PermissionDenied
	case status == "BAD" && (strings.Contains(lower, "unknown command") ||
		strings.Contains(lower, "unrecognized command") || strings.Contains(lower, "command unrecognized") ||
		strings.Contains(lower, "not supported") || strings.Contains(lower, "unsupported")):
		return NotSupported
	case status == "BAD":
		return ProtocolError
	case strings.Contains(lower, "quota"):
		return PermissionDenied
	case strings.Contains(lower, "does not exist"), strings.Contains(lower, "doesn't exist"),
		strings.Contains(lower, "not found"), strings.Contains(lower, "nonexistent"), strings.Contains(lower, "no such"):
		return NotFound
	case strings.Contains(lower, "not supported"), strings.Contains(lower, "unsupported"):
		return NotSupported
	}
	return ProtocolError
}
