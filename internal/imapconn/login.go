package imapconn

import (
	"context"
	"errors"
	"strings"
)

// The login decision, written once for both front ends: which mechanism, admin impersonation (SASL PLAIN
// with an authorization identity) and its Dovecot master-user LOGIN fallback.

// Authenticate logs in as cred says (unless the server greeted with PREAUTH) and reads the capabilities
// of the authenticated state. ctx bounds it. Errors are *Error, scrubbed of cred's secrets.
func (c *Conn) Authenticate(ctx context.Context, cred Credentials) error {
	if cred.Login == "" {
		return Errorf(ProtocolError, "authenticate", "no login given")
	}
	if cred.Token == "" && cred.Tokens != nil {
		tok, err := cred.Tokens.Token(ctx)
		if err != nil {
			return &Error{Kind: tokenErrorKind(ctx, err), Op: "authenticate", Err: err}
		}
		cred.Token = tok
	}
	c.secrets = cred.Secrets()
	c.login = cred.Login
	return c.guard(ctx, "authenticate", func() error {
		if len(c.caps) == 0 {
			if err := c.exec("CAPABILITY", PhaseCommand, []part{{text: "CAPABILITY"}}, nil); err != nil {
				return err
			}
		}
		if c.preauth {
			return nil
		}
		c.capsOK = false
		if err := c.authenticate(cred); err != nil {
			return err
		}
		if c.capsOK {
			// The login's tagged OK listed the authenticated state's capabilities (Dovecot and Cyrus do):
			// asking again would cost a round trip per connection for the same list.
			return nil
		}
		// Capabilities change with authentication; a server that did not list them with its OK is asked.
		return c.exec("CAPABILITY", PhaseCommand, []part{{text: "CAPABILITY"}}, nil)
	})
}

// tokenErrorKind is the kind of a TokenSource's error: refused (a person must fix the client or grant),
// a deadline, or the authorization server not reachable for now.
func tokenErrorKind(ctx context.Context, err error) Kind {
	var r interface{ AuthRefused() bool }
	switch {
	case errors.As(err, &r) && r.AuthRefused():
		return AuthenticationFailed
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return Timeout
	}
	return Unreachable
}

// authenticate decides how to log in. This is the one place the impersonation rules live.
func (c *Conn) authenticate(cred Credentials) error {
	mech := strings.ToUpper(cred.Mechanism)
	switch mech {
	case MechanismXOAUTH2:
		if cred.Token == "" {
			return Errorf(AuthenticationFailed, "authenticate", "XOAUTH2 needs a token")
		}
		// Google's and Microsoft's XOAUTH2 answer a failure with a base64 JSON challenge that the client
		// completes with an empty response.
		return c.saslOAuth(MechanismXOAUTH2, cred.Login, "user="+cred.Login+"\x01auth=Bearer "+cred.Token+"\x01\x01", "")
	case MechanismOAuthBearer:
		if cred.Token == "" {
			return Errorf(AuthenticationFailed, "authenticate", "OAUTHBEARER needs a token")
		}
		host, port := c.peer()
		// RFC 7628 §3.1: gs2-header "n,a=<authzid>," then kvpairs; §3.2.3: an error challenge is answered
		// with a single %x01, after which the server fails the exchange.
		ir := "n,a=" + saslName(cred.Login) + ",\x01host=" + host + "\x01port=" + port + "\x01auth=Bearer " + cred.Token + "\x01\x01"
		return c.saslOAuth(MechanismOAuthBearer, cred.Login, ir, "\x01")
	case MechanismAuto, MechanismPlain, MechanismLogin:
	default:
		return Errorf(NotSupported, "authenticate", "unknown mechanism %q", cred.Mechanism)
	}

	hasPlain := c.caps.Has("AUTH=PLAIN") && mech != MechanismLogin
	loginOK := !c.caps.Has("LOGINDISABLED") && mech != MechanismPlain
	if cred.AdminLogin != "" {
		var plainErr error
		if hasPlain {
			plainErr = c.saslPlain(cred.Login, cred.AdminLogin, cred.AdminPassword,
				"authenticate (PLAIN as "+cred.Login+" by "+cred.AdminLogin+")")
			if plainErr == nil {
				return nil
			}
			if k := KindOf(plainErr); k != AuthenticationFailed && k != NotSupported {
				return plainErr
			}
		}
		if strings.EqualFold(cred.Flavor, "dovecot") && loginOK {
			// Dovecot master user: LOGIN "user*master" with the master's password
			// (auth_master_user_separator = *).
			return c.loginCmd(cred.Login+"*"+cred.AdminLogin, cred.AdminPassword,
				"authenticate (LOGIN "+cred.Login+"*"+cred.AdminLogin+")")
		}
		if plainErr != nil {
			return plainErr
		}
		return Errorf(NotSupported, "authenticate", "impersonating %q needs AUTH=PLAIN (or Flavor dovecot with LOGIN); server offers %v",
			cred.Login, c.caps.AuthMechanisms())
	}
	if hasPlain {
		// PLAIN carries UTF-8 passwords unambiguously; LOGIN is the fallback.
		return c.saslPlain("", cred.Login, cred.Password, "authenticate (PLAIN as "+cred.Login+")")
	}
	if loginOK {
		return c.loginCmd(cred.Login, cred.Password, "authenticate (LOGIN as "+cred.Login+")")
	}
	if mech != MechanismAuto {
		return Errorf(NotSupported, "authenticate", "mechanism %s not offered (server offers %v)", mech, c.caps.AuthMechanisms())
	}
	return Errorf(NotSupported, "authenticate", "server offers neither AUTH=PLAIN nor LOGIN (LOGINDISABLED)")
}

// loginCmd sends LOGIN with its arguments as quoted strings, or literals where quoting cannot carry
// them (8-bit passwords).
func (c *Conn) loginCmd(user, pass, op string) error {
	parts := []part{{text: "LOGIN "}}
	parts = append(parts, astring(user)...)
	parts = append(parts, part{text: " "})
	parts = append(parts, astring(pass)...)
	return c.exec(op, PhaseAuth, parts, nil)
}

func astring(s string) []part {
	if q, ok := Quote(s); ok {
		return []part{{text: q}}
	}
	return []part{{text: s, literal: true}}
}
