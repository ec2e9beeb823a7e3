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

	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/redact"
)

// Every error this package returns is an *imapconn.Error with an imapconn.Kind,
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
	// ErrBatchRefused: the message shared a MULTIAPPEND command (RFC 3502)
	// with others and the command failed as a whole: the server stored
	// none of them, and this one may well be accepted on its own (see
	// AppendOneByOne). The cause is wrapped too.
	ErrBatchRefused = errors.New("refused with the rest of its MULTIAPPEND batch")
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
	var se *imapconn.StatusError
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

// statusErr turns a NO/BAD/BYE into an *imapconn.Error for op: the Kind is imapconn.ClassifyStatus's
// (auth: for the authentication phase), and what the engine must tell apart beyond it (throttling,
// [UNAVAILABLE], [TOOBIG], [TRYCREATE], quota) is wrapped inside as a sentinel. secrets are removed from
// the text.
func statusErr(op string, r *response, auth bool, secrets *redact.Set) error {
	text := imapconn.ScrubText(r.text, secrets)
	se := &imapconn.StatusError{Status: r.status, Code: r.code, Text: text}
	ph := imapconn.PhaseCommand
	if auth {
		ph = imapconn.PhaseAuth
	}
	kind := imapconn.ClassifyStatus(r.status, r.code, text, ph)
	if r.status == "BYE" {
		return &imapconn.Error{Kind: imapconn.Unreachable, Op: op, Err: fmt.Errorf("%w: %w", ErrConnectionLost, se)}
	}
	if te, ok := parseThrottle(r.code, text); ok {
		return &imapconn.Error{Kind: imapconn.Unreachable, Op: op, Err: fmt.Errorf("%w: %w", te, se)}
	}
	lower := strings.ToLower(text)
	var cause error = se
	switch {
	case r.code == "UNAVAILABLE":
		cause = fmt.Errorf("%w: %w", ErrUnavailable, se)
	case r.code == "TOOBIG":
		cause = fmt.Errorf("%w: %w", ErrTooBig, se)
	case r.code == "TRYCREATE":
		cause = fmt.Errorf("%w: %w", ErrTryCreate, se)
	case r.code == "OVERQUOTA":
		cause = fmt.Errorf("%w: %w", ErrOverQuota, se)
	case r.code != "":
	case !auth && strings.Contains(lower, "quota"):
		cause = fmt.Errorf("%w: %w", ErrOverQuota, se)
	case !auth && (strings.Contains(lower, "too large") || strings.Contains(lower, "too big")):
		cause = fmt.Errorf("%w: %w", ErrTooBig, se)
	}
	return &imapconn.Error{Kind: kind, Op: op, Err: cause}
}

// ioErr classifies a failure to read or write the connection. ctxErr, when
// set, says the context ended it (the connection was closed on purpose).
func ioErr(op string, err error, ctxErr error, secrets *redact.Set) error {
	if ctxErr != nil {
		return &imapconn.Error{Kind: imapconn.Timeout, Op: op, Err: ctxErr}
	}
	var ie *imapconn.Error
	if errors.As(err, &ie) {
		return err
	}
	if errors.Is(err, errProtocol) {
		return &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: scrubErr(err, secrets)}
	}
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &imapconn.Error{Kind: imapconn.Timeout, Op: op, Err: scrubErr(err, secrets)}
	}
	return &imapconn.Error{Kind: imapconn.Unreachable, Op: op, Err: fmt.Errorf("%w: %w", ErrConnectionLost, scrubErr(err, secrets))}
}

func localErr(kind imapconn.Kind, op, format string, args ...any) error {
	return &imapconn.Error{Kind: kind, Op: op, Err: fmt.Errorf(format, args...)}
}

// outOfStep is the error for a server whose replies no longer match the commands sent: a tag that was
// never sent, a continuation nobody asked for. The connection is lost (ErrConnectionLost, transient): its
// next bytes cannot be trusted, and a new one is the remedy. Cyrus gets there when it fails an APPEND
// before it has read the literal ("NO System I/O error"), then reads the message's lines as commands and
// answers "From: BAD …".
func outOfStep(op, format string, args ...any) error {
	return &imapconn.Error{Kind: imapconn.ProtocolError, Op: op,
		Err: fmt.Errorf("%w: server out of step: %s", ErrConnectionLost, fmt.Sprintf(format, args...))}
}

// scrubErr returns err unless its message contains a secret; then a plain
// error with the secrets replaced and no chain (an Unwrap could hand the
// original message back), keeping only the transient-ness.
func scrubErr(err error, secrets *redact.Set) error {
	if err == nil {
		return nil
	}
	if IsTransient(err) {
		return imapconn.Scrub(err, secrets, ErrConnectionLost)
	}
	return imapconn.Scrub(err, secrets)
}
