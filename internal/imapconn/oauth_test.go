package imapconn_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestOAuthOnBothFrontEnds: with one Credentials value carrying a bearer token, both front ends log in
// to a real Dovecot (checking tokens against a fake identity provider, internal/testserver), by XOAUTH2
// and by OAUTHBEARER; a token the provider does not know is refused on both, and not shown.
func TestOAuthOnBothFrontEnds(t *testing.T) {
	const token, wrong = "ya29.fake-token-of-alice-0123456789", "ya29.unknown-token-9876543210"
	idp := testserver.StartFakeTokenIntrospection(t, map[string]string{token: "alice"})
	srv := testserver.DovecotWith(t, testserver.Options{OAuth2IntrospectionURL: idp.URL})
	ep := imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSStartTLS, CAPEM: srv.CAPEM, DialTimeout: 20 * time.Second}
	for _, mech := range []string{imapconn.MechanismXOAUTH2, imapconn.MechanismOAuthBearer} {
		for name, dial := range frontEnds {
			cred := imapconn.Credentials{Login: srv.Users["alice"].Login, Mechanism: mech, Token: token, Flavor: srv.Flavor}
			if err := dial(context.Background(), ep, cred); err != nil {
				t.Errorf("%s %s: %v", name, mech, err)
			}
			cred.Token = wrong
			err := dial(context.Background(), ep, cred)
			if imapconn.KindOf(err) != imapconn.AuthenticationFailed {
				t.Errorf("%s %s with an unknown token: %v, want AuthenticationFailed", name, mech, err)
			} else if strings.Contains(err.Error(), "unknown-token") {
				t.Errorf("%s %s: the token is in %q", name, mech, err)
			}
		}
	}
}
