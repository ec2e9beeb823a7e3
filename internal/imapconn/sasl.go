package imapconn

import (
	"encoding/base64"
	"errors"
	"net"
	"strings"
)

// The SASL exchange (RFC 9051 §6.2.2, RFC 4422) and the mechanisms mailshift speaks: PLAIN (RFC 4616),
// XOAUTH2 and OAUTHBEARER (RFC 7628).

// SASL mechanisms for Credentials.Mechanism.
const (
	MechanismAuto        = ""            // PLAIN if offered, else LOGIN
	MechanismPlain       = "PLAIN"       // only AUTHENTICATE PLAIN (RFC 4616)
	MechanismLogin       = "LOGIN"       // only the LOGIN command (and Dovecot's master-user LOGIN form)
	MechanismXOAUTH2     = "XOAUTH2"     // Google / Microsoft OAuth 2.0
	MechanismOAuthBearer = "OAUTHBEARER" // RFC 7628
)

// saslPlain runs AUTHENTICATE PLAIN (RFC 4616): authzid NUL authcid NUL password.
func (c *Conn) saslPlain(authz, authc, pass, op string) error {
	return c.SASL(op, "PLAIN", []byte(authz+"\x00"+authc+"\x00"+pass), func([]byte) ([]byte, error) {
		return nil, errors.New("unexpected challenge")
	})
}

// saslOAuth runs XOAUTH2 or OAUTHBEARER; failureReply answers the error challenge, whose text (a JSON
// document) is kept, scrubbed, for the error message.
func (c *Conn) saslOAuth(mech, login, ir, failureReply string) error {
	if !c.caps.Has("AUTH=" + mech) {
		return Errorf(NotSupported, "authenticate", "server does not offer AUTH=%s", mech)
	}
	var challenge string
	err := c.SASL("authenticate ("+mech+" as "+login+")", mech, []byte(ir), func(ch []byte) ([]byte, error) {
		challenge = string(ch)
		return []byte(failureReply), nil
	})
	var ie *Error
	if err != nil && challenge != "" && errors.As(err, &ie) {
		ie.Err = errors.Join(ie.Err, errors.New("server said: "+truncate(c.secrets.String(challenge))))
		if ie.Kind == ProtocolError {
			ie.Kind = AuthenticationFailed
		}
	}
	return err
}

// SASL runs one AUTHENTICATE exchange (RFC 9051 §6.2.2) for mech: the initial response inline with
// SASL-IR (RFC 4959) or after the first empty challenge, then every further challenge (decoded) answered
// by respond; an error from respond cancels the exchange. op names it in errors.
func (c *Conn) SASL(op, mech string, initial []byte, respond func(challenge []byte) ([]byte, error)) error {
	enc := base64.StdEncoding.EncodeToString(initial)
	if enc == "" {
		enc = "=" // RFC 4959: an empty initial response
	}
	cmd := "AUTHENTICATE " + mech
	sentInitial := false
	if c.caps.Has("SASL-IR") {
		cmd += " " + enc
		sentInitial = true
	}
	return c.exec(op, PhaseAuth, []part{{text: cmd}}, func(text string) (string, error) {
		if !sentInitial {
			sentInitial = true
			return enc, nil
		}
		ch, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
		if err != nil {
			ch = []byte(text)
		}
		reply, err := respond(ch)
		if err != nil {
			return "", err
		}
		return base64.StdEncoding.EncodeToString(reply), nil
	})
}

// peer returns the host and port the client connected to, for OAUTHBEARER's host and port keys.
func (c *Conn) peer() (string, string) {
	if c.ep.Host != "" {
		if host, port, err := net.SplitHostPort(c.ep.Address()); err == nil {
			return host, port
		}
	}
	if addr := c.raw.RemoteAddr(); addr != nil {
		if host, port, err := net.SplitHostPort(addr.String()); err == nil {
			return host, port
		}
	}
	return "", ""
}

// saslName escapes "," and "=" in a GS2 authzid (RFC 5801 §4).
func saslName(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}
