package imapbulk

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"strings"

	"github.com/mailshift/mailshift/internal/imapx"
	"github.com/mailshift/mailshift/internal/redact"
)

// SASL mechanisms for Credentials.Mechanism.
const (
	MechanismAuto        = ""            // PLAIN if offered, else LOGIN
	MechanismXOAUTH2     = "XOAUTH2"     // Google / Microsoft OAuth 2.0
	MechanismOAuthBearer = "OAUTHBEARER" // RFC 7628
)

// Credentials say whom to log in as and how.
//
// With AdminLogin set (and Mechanism auto), the connection acts as Login by
// impersonation, as imapx does: SASL PLAIN with authorization identity
// Login and authentication identity AdminLogin (Cyrus admins and proxy
// servers, Dovecot master users); when the server lacks AUTH=PLAIN or
// refuses it and Flavor is "dovecot", Dovecot's master-user form LOGIN
// "Login*AdminLogin" AdminPassword.
type Credentials struct {
	Login, Password           string
	AdminLogin, AdminPassword string
	// Mechanism: MechanismAuto, MechanismXOAUTH2 or MechanismOAuthBearer.
	Mechanism string
	// Token is the OAuth 2.0 bearer token for XOAUTH2 / OAUTHBEARER.
	Token string
	// Flavor is the server flavor ("dovecot", "cyrus"); it only enables
	// flavor-specific fallbacks.
	Flavor string

	// withoutPlain makes authentication behave as if the server lacked
	// AUTH=PLAIN, to exercise the LOGIN paths; only tests set it.
	withoutPlain bool
}

// PasswordCredentials are the password (or admin impersonation) credentials imapx takes, for a bulk
// connection to the same account.
func PasswordCredentials(c imapx.Credentials) Credentials {
	return Credentials{Login: c.Login, Password: c.Password, AdminLogin: c.AdminLogin, AdminPassword: c.AdminPassword, Flavor: c.Flavor}
}

// secrets returns what must never appear in an error: the passwords and
// token in every form they travel in (see package redact), and the SASL
// payloads that carry them, so that an echoed payload goes whole.
func (cr Credentials) secrets() *redact.Set {
	return redact.New(cr.Password, cr.AdminPassword, cr.Token).WithPayloads(
		"\x00"+cr.Login+"\x00"+cr.Password,
		cr.Login+"\x00"+cr.AdminLogin+"\x00"+cr.AdminPassword,
		"user="+cr.Login+"\x01auth=Bearer "+cr.Token+"\x01\x01")
}

// Dial connects to ep (TLS as ep.TLS says, through imapx.DialPlain),
// authenticates as cred says and reads the capabilities. ctx and
// ep.DialTimeout (default imapx.DefaultDialTimeout) bound all of it.
func Dial(ctx context.Context, ep imapx.Endpoint, cred Credentials) (*Conn, error) {
	if cred.Login == "" {
		return nil, localErr(imapx.ProtocolError, "authenticate", "no login given")
	}
	d := ep.DialTimeout
	if d <= 0 {
		d = imapx.DefaultDialTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()

	netConn, br, greeting, err := imapx.DialPlain(ctx, ep)
	if err != nil {
		return nil, err
	}
	c, err := setUp(ctx, netConn, br, greeting, ep, cred)
	if err != nil {
		netConn.Close()
		return nil, err
	}
	return c, nil
}

// setUp authenticates on a connection whose greeting was read.
func setUp(ctx context.Context, netConn net.Conn, br *bufio.Reader, greeting string, ep imapx.Endpoint, cred Credentials) (*Conn, error) {
	c := newConn(netConn, br)
	c.secrets = cred.secrets()
	c.login = cred.Login
	c.ep = ep
	g, err := newParser(bufio.NewReader(strings.NewReader(greeting + "\r\n"))).readResponse()
	if err != nil || g.tag != "*" || (g.status != "OK" && g.status != "PREAUTH") {
		return nil, &imapx.Error{Kind: imapx.ProtocolError, Op: "greeting", Err: imapx.ErrNotIMAP}
	}
	// After STARTTLS the greeting's capabilities came in clear text: ask
	// again over TLS (RFC 9051 §6.2.1).
	if g.code == "CAPABILITY" && ep.TLS != imapx.TLSStartTLS && ep.TLS != "" {
		c.setCaps(strings.Fields(g.args))
	}
	err = c.exec(ctx, "authenticate", func(ctx context.Context) error {
		if len(c.caps) == 0 {
			if err := c.capability(ctx); err != nil {
				return err
			}
		}
		if g.status != "PREAUTH" {
			if err := c.authenticate(ctx, cred); err != nil {
				return err
			}
			// Capabilities change with authentication; a server that
			// sent them in its tagged OK saved us the round trip, but not
			// all do.
			c.caps = map[string]bool{}
			if err := c.capability(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Conn) capability(ctx context.Context) error {
	_, err := c.run(ctx, "CAPABILITY", newCommand("CAPABILITY"), nil)
	return err
}

// authenticate logs in as cred says.
func (c *Conn) authenticate(ctx context.Context, cred Credentials) error {
	switch strings.ToUpper(cred.Mechanism) {
	case MechanismXOAUTH2:
		if cred.Token == "" {
			return localErr(imapx.AuthenticationFailed, "authenticate", "XOAUTH2 needs a token")
		}
		ir := "user=" + cred.Login + "\x01auth=Bearer " + cred.Token + "\x01\x01"
		// Google's and Microsoft's XOAUTH2 answer a failure with a
		// base64 JSON challenge that the client completes with an empty
		// response.
		return c.saslOAuth(ctx, MechanismXOAUTH2, cred.Login, ir, "")
	case MechanismOAuthBearer:
		if cred.Token == "" {
			return localErr(imapx.AuthenticationFailed, "authenticate", "OAUTHBEARER needs a token")
		}
		host, port := c.peer()
		// RFC 7628 §3.1: gs2-header "n,a=<authzid>," then kvpairs.
		ir := "n,a=" + saslName(cred.Login) + ",\x01host=" + host + "\x01port=" + port +
			"\x01auth=Bearer " + cred.Token + "\x01\x01"
		// RFC 7628 §3.2.3: an error challenge is answered with a single
		// %x01, after which the server fails the exchange.
		return c.saslOAuth(ctx, MechanismOAuthBearer, cred.Login, ir, "\x01")
	case MechanismAuto:
	default:
		return localErr(imapx.NotSupported, "authenticate", "unknown mechanism %q", cred.Mechanism)
	}

	hasPlain := c.has("AUTH=PLAIN") && !cred.withoutPlain
	loginOK := !c.has("LOGINDISABLED")
	if cred.AdminLogin != "" {
		var plainErr error
		if hasPlain {
			plainErr = c.saslPlain(ctx, cred.Login, cred.AdminLogin, cred.AdminPassword,
				"authenticate (PLAIN as "+cred.Login+" by "+cred.AdminLogin+")")
			if plainErr == nil {
				return nil
			}
			if k := imapx.KindOf(plainErr); k != imapx.AuthenticationFailed && k != imapx.NotSupported {
				return plainErr
			}
		}
		if strings.EqualFold(cred.Flavor, "dovecot") && loginOK {
			// Dovecot master user (auth_master_user_separator = *).
			return c.loginCmd(ctx, cred.Login+"*"+cred.AdminLogin, cred.AdminPassword,
				"authenticate (LOGIN "+cred.Login+"*"+cred.AdminLogin+")")
		}
		if plainErr != nil {
			return plainErr
		}
		return localErr(imapx.NotSupported, "authenticate",
			"impersonating %q needs AUTH=PLAIN (or Flavor dovecot with LOGIN)", cred.Login)
	}
	if hasPlain {
		// PLAIN carries UTF-8 passwords unambiguously; LOGIN is the
		// fallback.
		return c.saslPlain(ctx, "", cred.Login, cred.Password, "authenticate (PLAIN as "+cred.Login+")")
	}
	if loginOK {
		return c.loginCmd(ctx, cred.Login, cred.Password, "authenticate (LOGIN as "+cred.Login+")")
	}
	return localErr(imapx.NotSupported, "authenticate", "server offers neither AUTH=PLAIN nor LOGIN (LOGINDISABLED)")
}

func (c *Conn) loginCmd(ctx context.Context, user, pass, op string) error {
	cmd := newCommand("LOGIN").astring(user).astring(pass)
	cmd.auth = true
	_, err := c.run(ctx, op, cmd, nil)
	return err
}

// saslPlain runs AUTHENTICATE PLAIN (RFC 4616): authzid NUL authcid NUL
// password.
func (c *Conn) saslPlain(ctx context.Context, authz, authc, pass, op string) error {
	return c.sasl(ctx, op, "PLAIN", authz+"\x00"+authc+"\x00"+pass, func(string) (string, error) {
		return "", errors.New("unexpected challenge")
	})
}

// saslOAuth runs XOAUTH2 or OAUTHBEARER; failureReply answers the error
// challenge.
func (c *Conn) saslOAuth(ctx context.Context, mech, login, ir, failureReply string) error {
	if !c.has("AUTH=" + mech) {
		return localErr(imapx.NotSupported, "authenticate", "server does not offer AUTH=%s", mech)
	}
	var challenge string
	err := c.sasl(ctx, "authenticate ("+mech+" as "+login+")", mech, ir, func(ch string) (string, error) {
		// The only challenge after the initial response is the error
		// report (a JSON document; kept for the error message).
		if b, err := base64.StdEncoding.DecodeString(ch); err == nil {
			challenge = string(b)
		} else {
			challenge = ch
		}
		return failureReply, nil
	})
	if err != nil && challenge != "" {
		var ie *imapx.Error
		if errors.As(err, &ie) {
			ie.Err = errors.Join(ie.Err, errors.New("server said: "+truncate(c.secrets.String(challenge))))
		}
	}
	var ie *imapx.Error
	if challenge != "" && errors.As(err, &ie) && ie.Kind == imapx.ProtocolError {
		ie.Kind = imapx.AuthenticationFailed
	}
	return err
}

// sasl runs AUTHENTICATE mech with an initial response, inline with
// SASL-IR (RFC 4959) or after the first empty challenge, then answers
// further challenges with respond.
func (c *Conn) sasl(ctx context.Context, op, mech, initial string, respond func(challenge string) (string, error)) error {
	enc := base64.StdEncoding.EncodeToString([]byte(initial))
	if enc == "" {
		enc = "=" // RFC 4959: an empty initial response
	}
	cmd := newCommand("AUTHENTICATE", mech)
	cmd.auth = true
	sentInitial := false
	if c.has("SASL-IR") {
		cmd.sp(enc)
		sentInitial = true
	}
	cmd.onContinue = func(text string) error {
		line := enc
		if sentInitial {
			reply, err := respond(text)
			if err != nil {
				line = "*" // RFC 9051 §6.2.2: cancel the exchange
			} else {
				line = base64.StdEncoding.EncodeToString([]byte(reply))
			}
		}
		sentInitial = true
		if _, err := c.bw.WriteString(line + "\r\n"); err != nil {
			return err
		}
		return c.bw.Flush()
	}
	_, err := c.run(ctx, op, cmd, nil)
	return err
}

// peer returns the host and port the client connected to, for
// OAUTHBEARER's host and port keys.
func (c *Conn) peer() (string, string) {
	if c.ep.Host != "" {
		host, port, err := net.SplitHostPort(c.ep.Address())
		if err == nil {
			return host, port
		}
	}
	if addr := c.netConn.RemoteAddr(); addr != nil {
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
