package imapconn

import (
	"context"

	"github.com/mailshift/mailshift/internal/redact"
)

// Credentials say whom to log in as and how. They are the only credentials type of the IMAP packages.
//
// With AdminLogin set, the connection acts as Login by impersonation: SASL PLAIN with authorization
// identity Login, authentication identity AdminLogin and AdminPassword (Cyrus admins and proxy servers,
// Dovecot master users). If the server does not offer AUTH=PLAIN or refuses that, and Flavor is
// "dovecot", Dovecot's master-user LOGIN form "Login*AdminLogin" is tried (the default
// auth_master_user_separator).
//
// With Mechanism XOAUTH2 or OAUTHBEARER, Token is sent as an OAuth 2.0 bearer token for Login.
type Credentials struct {
	Login, Password           string
	AdminLogin, AdminPassword string
	// Mechanism: MechanismAuto (the default), MechanismPlain, MechanismLogin, MechanismXOAUTH2 or
	// MechanismOAuthBearer.
	Mechanism string
	// Token is the OAuth 2.0 bearer token for XOAUTH2 / OAUTHBEARER.
	Token string
	// Tokens, when Token is empty, gives the token at login: a source that gets a new one before the one it
	// holds expires (oauthtoken.Source), so that each connection logs in with a valid token.
	Tokens TokenSource `json:"-"`
	// Flavor is the server flavor ("dovecot", "cyrus"); it only enables flavor-specific fallbacks.
	Flavor string
}

// TokenSource gives a valid OAuth 2.0 access token. An error whose AuthRefused method says true is the
// authorization server refusing the client or grant (a person must fix them); any other is taken as the
// server being unreachable for now.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// String names the account without any secret, so that credentials printed by mistake leak nothing.
func (cr Credentials) String() string {
	s := cr.Login
	if cr.AdminLogin != "" {
		s += " (by " + cr.AdminLogin + ")"
	}
	if cr.Mechanism != "" {
		s += " via " + cr.Mechanism
	}
	return s
}

// GoString is String, for %#v.
func (cr Credentials) GoString() string { return "imapconn.Credentials{" + cr.String() + "}" }

// Secrets returns what must never appear in an error: the passwords and token in every form they
// travel in (see package redact), and the SASL payloads that carry them, so that an echoed payload
// goes whole.
func (cr Credentials) Secrets() *redact.Set {
	return redact.New(cr.Password, cr.AdminPassword, cr.Token).WithPayloads(
		"\x00"+cr.Login+"\x00"+cr.Password,
		cr.Login+"\x00"+cr.AdminLogin+"\x00"+cr.AdminPassword,
		"user="+cr.Login+"\x01auth=Bearer "+cr.Token+"\x01\x01")
}
