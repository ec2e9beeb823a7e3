package testserver

import (
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
)

// TestDovecotOAuth2 checks the OAuth2IntrospectionURL option with go-imap's own OAUTHBEARER client: the
// server offers the token mechanisms, asks the introspection endpoint about the token, and logs in as the
// user it names; an unknown token is refused, and passwords still work.
func TestDovecotOAuth2(t *testing.T) {
	t.Parallel()
	const token = "fake-bearer-token-for-alice"
	idp := StartFakeTokenIntrospection(t, map[string]string{token: "alice"})
	s := DovecotWith(t, Options{OAuth2IntrospectionURL: idp.URL})

	c := dialStartTLS(t, s)
	caps := c.Caps()
	for _, mech := range []string{"AUTH=XOAUTH2", "AUTH=OAUTHBEARER", "AUTH=PLAIN"} {
		if !caps.Has(imap.Cap(mech)) {
			t.Errorf("no %s after STARTTLS: %v", mech, caps)
		}
	}
	bearer := func(tok string) sasl.Client {
		return sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: "alice", Token: tok, Host: s.Host, Port: s.Port})
	}
	if err := c.Authenticate(bearer(token)); err != nil {
		t.Fatalf("OAUTHBEARER with a valid token: %v\n(see %s/dovecot.log)", err, s.Dir)
	}
	if n := idp.Asked(token); n == 0 {
		t.Errorf("Dovecot logged in without asking the introspection endpoint")
	}
	if names := listNames(t, c); !slices.Contains(names, "INBOX") {
		t.Errorf("LIST after OAUTHBEARER: %q", names)
	}

	bad := dialStartTLS(t, s)
	if err := bad.Authenticate(bearer("not-a-known-token")); err == nil {
		t.Errorf("OAUTHBEARER with an unknown token was accepted")
	}
	if idp.Asked("not-a-known-token") == 0 {
		t.Errorf("the unknown token was refused without asking the introspection endpoint")
	}

	login(t, s, "bob") // passwords are untouched
}
