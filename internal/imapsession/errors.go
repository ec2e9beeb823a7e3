package imapsession

import (
	"errors"

	"github.com/emersion/go-imap/v2"

	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/redact"
)

// Errors are classified and scrubbed by package imapconn, for this front end and the bulk one alike;
// this file only lets imapconn read go-imap's status errors.

type phase = imapconn.Phase

const (
	phaseConnect  = imapconn.PhaseConnect
	phaseTLS      = imapconn.PhaseTLS
	phaseGreeting = imapconn.PhaseGreeting
	phaseAuth     = imapconn.PhaseAuth
	phaseCommand  = imapconn.PhaseCommand
)

// goimapStatus presents go-imap's *imap.Error as an imapconn.StatusReply, keeping the chain.
type goimapStatus struct {
	err error
	ie  *imap.Error
}

func (g *goimapStatus) Error() string { return g.err.Error() }
func (g *goimapStatus) Unwrap() error { return g.err }
func (g *goimapStatus) IMAPStatus() (status, code, text string) {
	return string(g.ie.Type), string(g.ie.Code), g.ie.Text
}

func classify(err error, ph phase) imapconn.Kind {
	var ie *imap.Error
	if err != nil && errors.As(err, &ie) {
		return imapconn.Classify(&goimapStatus{err: err, ie: ie}, ph)
	}
	return imapconn.Classify(err, ph)
}

// wrap builds an *imapconn.Error for op, classifying err for the phase, and scrubs the secrets (in every
// form they travel in) from its message.
func wrap(op string, ph phase, err error, secrets ...string) error {
	return wrapScrubbed(op, ph, err, redact.New(secrets...))
}

// wrapScrubbed is wrap with the secrets already prepared.
func wrapScrubbed(op string, ph phase, err error, secrets *redact.Set) error {
	if err == nil {
		return nil
	}
	return imapconn.WrapKind(op, classify(err, ph), err, secrets)
}

func newError(kind imapconn.Kind, op string, format string, args ...any) error {
	return imapconn.Errorf(kind, op, format, args...)
}
