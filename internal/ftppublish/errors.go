package ftppublish

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"syscall"

	"github.com/jlaffaye/ftp"

	"github.com/mailshift/mailshift/internal/certerr"
	"github.com/mailshift/mailshift/internal/egress"
	redactpkg "github.com/mailshift/mailshift/internal/redact"
)

// Error kinds: stable words, fit to be condition reasons.
const (
	// KindFTPAuthFailed: the server refused the login (530 and its relatives on USER/PASS). Also when the
	// server accepts logins only over TLS and the target's TLS is None: pure-ftpd answers USER with 421,
	// vsftpd with 530, others with 534 or 550, all saying so in words; the message then says to switch to
	// Explicit.
	KindFTPAuthFailed = "FTPAuthFailed"
	// KindTLSFailed: under Explicit, the server does not offer TLS (AUTH TLS refused), or the handshake
	// failed, the certificate among others (untrusted CA, wrong name, expired). Kept apart from
	// Unreachable because the server is there and the fix is in the TLS settings.
	KindTLSFailed = "TLSFailed"
	// KindUnreachable: the server could not be reached or talked to: DNS, connect, timeouts (including
	// ctx's deadline), the connection dropped, or 421 (service not available).
	KindUnreachable = "Unreachable"
	// KindPermissionDenied: the server refused a write, a rename, a delete or entering or creating the
	// directory (550/553/532/450 on STOR, RNFR/RNTO, DELE, CWD, MKD; 451 when its text says the operation
	// was not permitted).
	KindPermissionDenied = "PermissionDenied"
	// KindNotFound: Fetch of a file (or in a directory) that is not there.
	KindNotFound = "NotFound"
	// KindProtocolError: anything else the server answered, or an upload the server stored short.
	KindProtocolError = "ProtocolError"
	// KindInvalidTarget: the Target or the file name cannot work (no host, a name with a "/", ...); nothing
	// was sent.
	KindInvalidTarget = "InvalidTarget"
	// KindCanceled: ctx was cancelled (errors.Is(err, context.Canceled) holds too).
	KindCanceled = "Canceled"
	// KindHostNotAllowed: the host, or an address a connection would go to, is not in Target.Allowed;
	// nothing connected there.
	KindHostNotAllowed = "HostNotAllowed"
)

// Error is what every function of this package returns on failure.
type Error struct {
	Kind string // one of the Kind constants
	Op   string // connect, login, cwd, mkdir, store, rename, delete, fetch, publish (validation)
	Err  error  // says where (an ftp:// URL without credentials) and the cause; never holds the password
}

func (e *Error) Error() string { return "ftp " + e.Op + " " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of the *Error in err's chain, or "" when there is none.
func KindOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

func invalid(op string, t Target, err error) error {
	where := "ftp://" + t.hostPort()
	if t.Host == "" {
		where = "target"
	}
	return &Error{Kind: KindInvalidTarget, Op: op, Err: fmt.Errorf("%s: %w", where, redact(err, t.Password))}
}

// where names a file in the session's directory for messages: ftp://host:port/dir/name.
func (s *session) where(name string) string {
	if name == "" {
		return dirURL(s.t)
	}
	return URL(s.t, name)
}

// at names a path given as the server takes it (absolute, or relative to the login directory).
func (s *session) at(p string) string {
	return "ftp://" + s.t.hostPort() + "/" + strings.TrimPrefix(p, "/")
}

// fail classifies err from op on name in the session's directory.
func (s *session) fail(op, name string, err error) error {
	return s.classify(op, name, err)
}

// scrub redacts the password from err when err carries text from the server (a reply, or the bare error
// the ftp package makes of an unexpected reply to USER): a server echoing a command is the only way the
// password could get into an error. Errors of the network, TLS or ctx are left alone, so that a short
// password does not garble (and so give away) their text.
func (s *session) scrub(err error) error {
	var tp *textproto.Error
	if !errors.As(err, &tp) && (isNetError(err) || isTLSError(err) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	return redact(err, s.t.Password)
}

// classify turns err from op into an *Error. name is the file (or directory, for cwd and mkdir) it was
// about, "" for connect and login.
func (s *session) classify(op, name string, err error) error {
	var where string
	switch op {
	case "connect", "login":
		where = "ftp://" + s.t.hostPort()
	case "cwd", "mkdir":
		where = s.at(name)
	default:
		where = s.where(name)
	}
	err = s.scrub(err)
	wrap := func(kind string, format string, args ...any) error {
		return &Error{Kind: kind, Op: op, Err: fmt.Errorf(format, args...)}
	}

	// Whatever the ftp package says after ctx is done is about connections closed under it.
	if cerr := s.ctx.Err(); cerr != nil {
		kind := KindCanceled
		if errors.Is(cerr, context.DeadlineExceeded) {
			kind = KindUnreachable
		}
		if errors.Is(err, cerr) {
			return wrap(kind, "%s: %w", where, cerr)
		}
		return wrap(kind, "%s: %w (%v)", where, cerr, err)
	}

	if errors.Is(err, egress.ErrNotAllowed) {
		return wrap(KindHostNotAllowed, "%s: %w", where, err)
	}

	explicit := s.t.mode() == Explicit
	if explicit && isTLSError(err) {
		// Certificate errors in certerr's words: x509's quote the peer's certificate.
		if msg, ok := certerr.Describe(err, s.t.Host); ok {
			return wrap(KindTLSFailed, "%s: TLS: %s", where, msg)
		}
		return wrap(KindTLSFailed, "%s: TLS: %w", where, err)
	}

	var tp *textproto.Error
	if errors.As(err, &tp) {
		code := tp.Code
		switch {
		case op == "login" && !explicit && mentionsTLS(tp.Msg):
			return wrap(KindFTPAuthFailed, "%s: the server requires TLS (set TLS to Explicit): %w", where, err)
		case op == "login" && isLoginRefusal(code):
			return wrap(KindFTPAuthFailed, "%s: login as %s refused: %w", where, s.user(), err)
		case code == ftp.StatusNotAvailable:
			return wrap(KindUnreachable, "%s: %w", where, err)
		case op == "connect" && explicit:
			// The greeting was fine (Dial reads it first), so this is the answer to AUTH TLS.
			return wrap(KindTLSFailed, "%s: the server does not offer TLS (AUTH TLS refused): %w", where, err)
		case op == "fetch" && isFileUnavailable(code) && !looksDenied(tp.Msg):
			return wrap(KindNotFound, "%s: %w", where, err)
		case op != "connect" && op != "login" &&
			(isPermissionCode(code) || code == ftp.StatusActionAborted && looksDenied(tp.Msg)):
			// 451 is "local error", which pure-ftpd also answers to a rename the kernel refused (EPERM).
			return wrap(KindPermissionDenied, "%s: %w", where, err)
		}
		return wrap(KindProtocolError, "%s: %w", where, err)
	}

	if isNetError(err) {
		return wrap(KindUnreachable, "%s: %w", where, err)
	}
	if op == "login" {
		// The ftp package turns an unexpected answer to USER into a bare error with the server's text:
		// the login was refused before a password was asked for.
		if !explicit && mentionsTLS(err.Error()) {
			return wrap(KindFTPAuthFailed, "%s: the server requires TLS (set TLS to Explicit): %w", where, err)
		}
		return wrap(KindFTPAuthFailed, "%s: login as %s refused: %w", where, s.user(), err)
	}
	return wrap(KindProtocolError, "%s: %w", where, err)
}

func (s *session) user() string {
	u, _ := s.t.login()
	return u
}

// isLoginRefusal: 530 not logged in, 430 invalid credentials (RFC 2577 era servers), 332/532 account
// needed, 534 refused by policy (RFC 2228).
func isLoginRefusal(code int) bool {
	switch code {
	case ftp.StatusNotLoggedIn, ftp.StatusInvalidCredentials, ftp.StatusLoginNeedAccount, ftp.StatusStorNeedAccount, 534:
		return true
	}
	return false
}

// isFileUnavailable: 550 file unavailable (not found, no access), 450 busy or unavailable for now.
func isFileUnavailable(code int) bool {
	return code == ftp.StatusFileUnavailable || code == ftp.StatusFileActionIgnored
}

// isPermissionCode: 550, 553 file name not allowed, 532 account needed for storing, 450.
func isPermissionCode(code int) bool {
	switch code {
	case ftp.StatusFileUnavailable, ftp.StatusBadFileName, ftp.StatusStorNeedAccount,
		ftp.StatusFileActionIgnored:
		return true
	}
	return false
}

// looksMissing and looksDenied read the text of a 550, which is all FTP offers to tell "no such file"
// from "not allowed" (the wording is strerror's on most Unix servers).
func looksMissing(msg string) bool {
	m := strings.ToLower(msg)
	for _, w := range []string{"no such file", "not found", "does not exist", "doesn't exist", "cannot find",
		"can't find"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

func looksDenied(msg string) bool {
	m := strings.ToLower(msg)
	for _, w := range []string{"permission", "denied", "not allowed", "not permitted", "prohibited", "forbidden",
		"read-only", "read only"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

func mentionsTLS(msg string) bool {
	m := strings.ToLower(msg)
	for _, w := range []string{"tls", "ssl", "encrypt", "secure", "cleartext", "clear text"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

func isTLSError(err error) bool {
	var (
		verr *tls.CertificateVerificationError
		rerr tls.RecordHeaderError
		aerr tls.AlertError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		ierr x509.CertificateInvalidError
	)
	if errors.As(err, &verr) || errors.As(err, &rerr) || errors.As(err, &aerr) || errors.As(err, &uerr) ||
		errors.As(err, &herr) || errors.As(err, &ierr) {
		return true
	}
	// crypto/tls reports some handshake failures as plain errors, all prefixed "tls: ".
	return strings.Contains(err.Error(), "tls: ")
}

func isNetError(err error) bool {
	var ne net.Error
	var se syscall.Errno
	return errors.As(err, &ne) || errors.As(err, &se) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// redact replaces the secret in err's text, in every form it could come back in (see package redact). The
// chain is cut there, except for a *textproto.Error, rebuilt redacted so that callers can still read the
// reply code, so that no wrapped error can give the secret back either.
func redact(err error, secret string) error {
	set := redactpkg.New(secret)
	if err == nil || set.Empty() || !set.Contains(err.Error()) {
		return err
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return set.Error(err, &textproto.Error{Code: tp.Code, Msg: set.String(tp.Msg)})
	}
	return set.Error(err)
}
