package imapbulk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mailshift/mailshift/internal/imapx"
	"github.com/mailshift/mailshift/internal/redact"
)

// Every error this package returns is an *imapx.Error with an imapx.Kind,
// so that callers branch the same way for both IMAP packages. What the
// migration engine must tell apart beyond the Kind is wrapped inside it and
// found with errors.Is / errors.As.

// Sentinels wrapped by returned errors.
var (
	// ErrUnavailable: the server is temporarily unable to do the work
	// (RFC 5530 [UNAVAILABLE], Exchange's [THROTTLED]). Retry later.
	ErrUnavailable = errors.New("server temporarily unavailable")
	// ErrTooBig: the message exceeds the server's limit ([TOOBIG], or
	// larger than the APPENDLIMIT it advertised, RFC 7889). Retrying is
	// pointless.
	ErrTooBig = errors.New("message too big for the server")
	// ErrTryCreate: the target mailbox does not exist but could be
	// created (RFC 3501 [TRYCREATE]).
	ErrTryCreate = errors.New("mailbox does not exist (TRYCREATE)")
	// ErrOverQuota: the user's quota is exhausted (RFC 5530 [OVERQUOTA],
	// or a refusal that speaks of quota).
	ErrOverQuota = errors.New("over quota")
	// ErrConnectionLost: the connection broke (EOF, reset, BYE) before the
	// server answered. The command may or may not have been carried out.
	ErrConnectionLost = errors.New("connection lost")
	// ErrSizeMismatch: a Message's Body did not yield exactly Size bytes.
	ErrSizeMismatch = errors.New("message body size differs from its declared size")
	// ErrNotSent: the message was not sent because an earlier failure
	// stopped the batch (see AppendResult.Err for the cause).
	ErrNotSent = errors.New("not sent")
)

// ThrottledError is Exchange Online's refusal "NO Request is throttled.
// Suggested Backoff Time: 34 milliseconds". Backoff is the suggested wait
// (0 when the server gave none). It also wraps ErrUnavailable.
type ThrottledError struct {
	Backoff time.Duration
	Text    string
}

func (e *ThrottledError) Error() string {
	if e.Backoff > 0 {
		return fmt.Sprintf("throttled, back off %v: %s", e.Backoff, e.Text)
	}
	return "throttled: " + e.Text
}

// Unwrap makes errors.Is(err, ErrUnavailable) true.
func (e *ThrottledError) Unwrap() error { return ErrUnavailable }

// StatusError is a server's NO, BAD or BYE, with its response code (RFC
// 5530) and text, secrets removed.
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

// IsTransient reports whether retrying later may succeed: throttling,
// [UNAVAILABLE], a lost or reset connection, EOF, and timeouts of the
// network or of a context deadline. A cancelled context is not transient
// (the caller asked to stop), nor is any refusal by the server.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var te *ThrottledError
	switch {
	case errors.As(err, &te), errors.Is(err, ErrUnavailable), errors.Is(err, ErrConnectionLost):
		return true
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, net.ErrClosed):
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status == "BYE"
	}
	return false
}

// throttleRE finds Exchange's suggested back-off in a refusal text.
var throttleRE = regexp.MustCompile(`(?i)backoff time:\s*([0-9]{1,9})\s*(milliseconds|millisecond|ms|seconds|second|s)?`)

// parseThrottle recognises a throttling refusal.
func parseThrottle(code, text string) (*ThrottledError, bool) {
	lower := strings.ToLower(text)
	if code != "THROTTLED" && !strings.Contains(lower, "throttled") {
		return nil, false
	}
	te := &ThrottledError{Text: text}
	if m := throttleRE.FindStringSubmatch(text); m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := time.Millisecond
		if u := strings.ToLower(m[2]); u == "seconds" || u == "second" || u == "s" {
			unit = time.Second
		}
		te.Backoff = time.Duration(n) * unit
	}
	return te, true
}

// statusErr turns a NO/BAD/BYE into an *imapx.Error for op. phaseAuth
// makes NO an authentication failure. secrets are removed from the text.
func statusErr(op string, r *response, auth bool, secrets *redact.Set) error {
	text := secrets.String(r.text)
	se := &StatusError{Status: r.status, Code: r.code, Text: text}
	kind := imapx.ProtocolError
	var cause error = se
	if r.status == "BYE" {
		return &imapx.Error{Kind: imapx.Unreachable, Op: op, Err: fmt.Errorf("%w: %w", ErrConnectionLost, se)}
	}
	if te, ok := parseThrottle(r.code, text); ok {
		return &imapx.Error{Kind: imapx.Unreachable, Op: op, Err: fmt.Errorf("%w: %w", te, se)}
	}
	lower := strings.ToLower(text)
	switch r.code {
	case "UNAVAILABLE":
		kind, cause = imapx.Unreachable, fmt.Errorf("%w: %w", ErrUnavailable, se)
	case "TOOBIG":
		kind, cause = imapx.ProtocolError, fmt.Errorf("%w: %w", ErrTooBig, se)
	case "TRYCREATE":
		kind, cause = imapx.NotFound, fmt.Errorf("%w: %w", ErrTryCreate, se)
	case "OVERQUOTA":
		kind, cause = imapx.PermissionDenied, fmt.Errorf("%w: %w", ErrOverQuota, se)
	case "NONEXISTENT":
		kind = imapx.NotFound
	case "NOPERM":
		kind = imapx.PermissionDenied
	case "AUTHENTICATIONFAILED", "AUTHORIZATIONFAILED", "EXPIRED", "PRIVACYREQUIRED":
		if auth {
			kind = imapx.AuthenticationFailed
		} else {
			kind = imapx.PermissionDenied
		}
	default:
		switch {
		case auth && r.status == "NO":
			kind = imapx.AuthenticationFailed
		case strings.Contains(lower, "quota"):
			kind, cause = imapx.PermissionDenied, fmt.Errorf("%w: %w", ErrOverQuota, se)
		case strings.Contains(lower, "too large"), strings.Contains(lower, "too big"):
			kind, cause = imapx.ProtocolError, fmt.Errorf("%w: %w", ErrTooBig, se)
		case strings.Contains(lower, "permission denied"), strings.Contains(lower, "not permitted"),
			strings.Contains(lower, "access denied"), strings.Contains(lower, "no permission"):
			kind = imapx.PermissionDenied
		case r.status == "NO" && (strings.Contains(lower, "does not exist") || strings.Contains(lower, "doesn't exist") ||
			strings.Contains(lower, "not found") || strings.Contains(lower, "nonexistent") || strings.Contains(lower, "no such")):
			kind = imapx.NotFound
		case r.status == "BAD" && (strings.Contains(lower, "unknown command") || strings.Contains(lower, "not supported") ||
			strings.Contains(lower, "unsupported")):
			kind = imapx.NotSupported
		}
	}
	return &imapx.Error{Kind: kind, Op: op, Err: cause}
}

// ioErr classifies a failure to read or write the connection. ctxErr, when
// set, says the context ended it (the connection was closed on purpose).
func ioErr(op string, err error, ctxErr error, secrets *redact.Set) error {
	if ctxErr != nil {
		return &imapx.Error{Kind: imapx.Timeout, Op: op, Err: ctxErr}
	}
	var ie *imapx.Error
	if errors.As(err, &ie) {
		return err
	}
	if errors.Is(err, errProtocol) {
		return &imapx.Error{Kind: imapx.ProtocolError, Op: op, Err: scrubErr(err, secrets)}
	}
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &imapx.Error{Kind: imapx.Timeout, Op: op, Err: scrubErr(err, secrets)}
	}
	return &imapx.Error{Kind: imapx.Unreachable, Op: op, Err: fmt.Errorf("%w: %w", ErrConnectionLost, scrubErr(err, secrets))}
}

func localErr(kind imapx.Kind, op, format string, args ...any) error {
	return &imapx.Error{Kind: kind, Op: op, Err: fmt.Errorf(format, args...)}
}

// scrubErr returns err unless its message contains a secret; then a plain
// error with the secrets replaced and no chain (an Unwrap could hand the
// original message back), keeping only the transient-ness.
func scrubErr(err error, secrets *redact.Set) error {
	if err == nil {
		return nil
	}
	if IsTransient(err) {
		return secrets.Error(err, ErrConnectionLost)
	}
	return secrets.Error(err)
}
