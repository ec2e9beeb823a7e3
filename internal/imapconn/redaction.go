package imapconn

import (
	"errors"

	"github.com/mailshift/mailshift/internal/redact"
)

// Redaction: every error either front end returns has the connection's secrets removed here, with
// package redact (the one implementation: raw, IMAP-quoted, Go-quoted and base64 forms, SASL payloads).

// Wrap builds an *Error for op, classifying err for the phase, with every form of the secrets removed
// from its message (see package redact; nil secrets remove nothing). A nil err gives nil; an *Error is
// returned as is (its Op and Kind kept) after scrubbing. Every error either front end returns passes
// through here or through Scrub.
func Wrap(op string, ph Phase, err error, secrets *redact.Set) error {
	if err == nil {
		return nil
	}
	return WrapKind(op, Classify(err, ph), err, secrets)
}

// WrapKind is Wrap with the Kind decided by the caller (an *Error in err keeps its own).
func WrapKind(op string, kind Kind, err error, secrets *redact.Set) error {
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
	return &Error{Kind: kind, Op: op, Err: secrets.Error(err)}
}

// Scrub returns err with every form of the secrets removed from its message: err itself when it holds
// none, else a plain error without a chain (an Unwrap could hand the original text back) that wraps
// only keep (sentinels that hold no secret, so that callers can still tell what failed).
func Scrub(err error, secrets *redact.Set, keep ...error) error {
	return secrets.Error(err, keep...)
}

// ScrubText removes every form of the secrets from a text the server sent.
func ScrubText(text string, secrets *redact.Set) string { return secrets.String(text) }
