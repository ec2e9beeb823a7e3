package imapbulk

import (
	"context"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// Dial connects to ep and authenticates as cred says, both by imapconn.Dial (TLS, STARTTLS, SASL,
// impersonation), and takes the authenticated connection over. ctx and ep.DialTimeout (default
// imapconn.DefaultDialTimeout) bound the set-up.
func Dial(ctx context.Context, ep imapconn.Endpoint, cred imapconn.Credentials) (*Conn, error) {
	bc, err := imapconn.Dial(ctx, ep, cred)
	if err != nil {
		return nil, err
	}
	return newConnFrom(bc), nil
}

// newConnFrom takes an authenticated connection over.
func newConnFrom(bc *imapconn.Conn) *Conn {
	c := newConn(bc.NetConn(), bc.Reader())
	c.secrets = bc.Secrets()
	c.login = bc.Login()
	c.ep = bc.Endpoint()
	c.setCaps(bc.Caps())
	return c
}
