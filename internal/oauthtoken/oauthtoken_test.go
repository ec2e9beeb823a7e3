package oauthtoken

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/egress"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestAgainstHydra gets tokens from a real authorization server (Ory Hydra) with the client-credentials
// grant, logs in to a real Dovecot with them (XOAUTH2 and OAUTHBEARER; Dovecot asks Hydra whether each token
// is valid), gets a new token before the one it holds expires, and reports a refused client without its
// secret.
func TestAgainstHydra(t *testing.T) {
	hydra := testserver.StartHydra(t, testserver.HydraOptions{AccessTokenTTL: 20 * time.Second})
	hydra.AddClient(t, "alice", "alice-client-secret-1")
	dovecot := testserver.DovecotWith(t, testserver.Options{OAuth2IntrospectionURL: hydra.IntrospectURL, OAuth2UsernameAttribute: "sub"})
	ctx := context.Background()

	// Early 15 s of a 20 s token: a token is handed out again for 5 s, then a new one is fetched.
	src, err := New(Config{TokenURL: hydra.TokenURL, Grant: ClientCredentials, ClientID: "alice", ClientSecret: "alice-client-secret-1", Early: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	first, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := src.Token(ctx); again != first {
		t.Error("a token with time left was not reused")
	}
	if left := time.Until(src.Expiry()); left < 10*time.Second || left > 21*time.Second {
		t.Errorf("the token expires in %v, Hydra gives 20s", left)
	}
	ep := imapconn.Endpoint{Host: dovecot.Host, Port: dovecot.Port, TLS: imapconn.TLSStartTLS, CAPEM: dovecot.CAPEM, DialTimeout: 20 * time.Second}
	for _, mech := range []string{imapconn.MechanismXOAUTH2, imapconn.MechanismOAuthBearer} {
		c, err := imapconn.Dial(ctx, ep, imapconn.Credentials{Login: "alice", Mechanism: mech, Token: first})
		if err != nil {
			t.Fatalf("%s login with Hydra's token: %v", mech, err)
		}
		c.Close()
	}
	time.Sleep(6 * time.Second)
	renewed, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if renewed == first {
		t.Fatal("no new token within the early window before expiry")
	}
	c, err := imapconn.Dial(ctx, ep, imapconn.Credentials{Login: "alice", Mechanism: imapconn.MechanismXOAUTH2, Token: renewed})
	if err != nil {
		t.Fatalf("login with the renewed token: %v", err)
	}
	c.Close()
	// A token for another user does not log in as alice: Dovecot takes the user from the token.
	hydra.AddClient(t, "mallory", "mallory-client-secret")
	other, err := New(Config{TokenURL: hydra.TokenURL, Grant: ClientCredentials, ClientID: "mallory", ClientSecret: "mallory-client-secret"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := other.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := imapconn.Dial(ctx, ep, imapconn.Credentials{Login: "alice", Mechanism: imapconn.MechanismXOAUTH2, Token: tok}); err == nil {
		c.Close()
		t.Error("another client's token logged in as alice")
	}

	// A wrong secret: refused, said so, and the secret is nowhere in the error.
	bad, err := New(Config{TokenURL: hydra.TokenURL, Grant: ClientCredentials, ClientID: "alice", ClientSecret: "not-the-secret-42"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Token(ctx)
	var te *Error
	if !errors.As(err, &te) || !te.Refused || te.Code != "invalid_client" {
		t.Errorf("wrong secret: %v; want a refusal with invalid_client", err)
	}
	if err != nil && strings.Contains(err.Error(), "not-the-secret-42") {
		t.Errorf("the error holds the secret: %v", err)
	}
	// A deleted client gets nothing more.
	hydra.RevokeClient(t, "alice")
	src2, _ := New(Config{TokenURL: hydra.TokenURL, Grant: ClientCredentials, ClientID: "alice", ClientSecret: "alice-client-secret-1"})
	if _, err := src2.Token(ctx); !errors.As(err, &te) || !te.Refused {
		t.Errorf("a deleted client: %v; want a refusal", err)
	}
}

// TestRefreshGrantAgainstHydra: a refresh token from a user's consent (Hydra's authorization-code flow) gets
// access tokens that log in to Dovecot, and new ones each time the one held nears its expiry, although
// Hydra replaces the refresh token at each use (the source keeps the newest, and hands each new one to
// Rotated). A source started with the newest, as after a restart that kept it, gets tokens; one started
// again from the first is refused: Hydra treats a replaced refresh token's reuse as theft.
func TestRefreshGrantAgainstHydra(t *testing.T) {
	hydra := testserver.StartHydra(t, testserver.HydraOptions{AccessTokenTTL: 20 * time.Second})
	dovecot := testserver.DovecotWith(t, testserver.Options{OAuth2IntrospectionURL: hydra.IntrospectURL, OAuth2UsernameAttribute: "sub"})
	refresh := hydra.RefreshToken(t, "mail-app", "mail-app-secret-7", "bob")
	ctx := context.Background()
	// Early 19 s of a 20 s token: every second call renews.
	var rotated []string
	cfg := Config{TokenURL: hydra.TokenURL, Grant: RefreshToken, ClientID: "mail-app", ClientSecret: "mail-app-secret-7", RefreshToken: refresh, Early: 19 * time.Second,
		Rotated: func(rt string) { rotated = append(rotated, rt) }}
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ep := imapconn.Endpoint{Host: dovecot.Host, Port: dovecot.Port, TLS: imapconn.TLSStartTLS, CAPEM: dovecot.CAPEM, DialTimeout: 20 * time.Second}
	seen := map[string]bool{}
	for i := range 3 {
		tok, err := src.Token(ctx)
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		seen[tok] = true
		c, err := imapconn.Dial(ctx, ep, imapconn.Credentials{Login: "bob", Mechanism: imapconn.MechanismXOAUTH2, Tokens: src})
		if err != nil {
			t.Fatalf("login %d with a refreshed token: %v", i, err)
		}
		c.Close()
		time.Sleep(1100 * time.Millisecond)
	}
	if len(seen) < 2 {
		t.Errorf("%d distinct tokens over three renewals", len(seen))
	}
	// Each renewal replaced the refresh token and said so; the last one it was given serves a new source
	// (a process started again with what Rotated kept).
	if len(rotated) < len(seen)-1 || rotated[len(rotated)-1] != src.RefreshToken() || slices.Contains(rotated, refresh) ||
		len(slices.Compact(slices.Sorted(slices.Values(rotated)))) != len(rotated) {
		t.Fatalf("%d refresh tokens rotated (%d distinct access tokens seen); the last is the source's: %v", len(rotated), len(seen), len(rotated) > 0 && rotated[len(rotated)-1] == src.RefreshToken())
	}
	kept := cfg
	kept.RefreshToken, kept.Rotated = src.RefreshToken(), nil
	restarted, err := New(kept)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := restarted.Token(ctx); err != nil {
		t.Fatalf("a source with the last refresh token: %v", err)
	}
	cfg.Rotated = nil
	again, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var te *Error
	_, err = again.Token(ctx)
	if !errors.As(err, &te) || !te.Refused {
		t.Errorf("the first refresh token used again: %v; want a refusal", err)
	}
	t.Logf("the first refresh token used again: %v", err)
	if err != nil && strings.Contains(err.Error(), refresh) {
		t.Error("the error holds the refresh token")
	}
}

// TestConfigRefused: what cannot be right is refused before any request, in words that say what to fix.
func TestConfigRefused(t *testing.T) {
	allowed, err := egress.Parse([]string{"login.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	ok := Config{TokenURL: "https://login.example.com/oauth2/token", Grant: ClientCredentials, ClientID: "c", ClientSecret: "s", Allowed: allowed}
	if err := ok.Validate(); err != nil {
		t.Fatalf("a good config: %v", err)
	}
	for name, tc := range map[string]struct {
		edit func(*Config)
		want string
	}{
		"no URL":               {func(c *Config) { c.TokenURL = "" }, "no token URL"},
		"not http":             {func(c *Config) { c.TokenURL = "ftp://login.example.com/t" }, "not an http(s) URL"},
		"plain http elsewhere": {func(c *Config) { c.TokenURL = "http://login.example.com/t" }, "loopback address only"},
		"credentials in URL":   {func(c *Config) { c.TokenURL = "https://u:pw@login.example.com/t" }, "must not carry credentials"},
		"no client":            {func(c *Config) { c.ClientID = "" }, "no client ID"},
		"unknown grant":        {func(c *Config) { c.Grant = "Password" }, "neither ClientCredentials nor RefreshToken"},
		"refresh without one":  {func(c *Config) { c.Grant = RefreshToken }, "needs a refresh token"},
		"host not allowed":     {func(c *Config) { c.TokenURL = "https://metadata.internal/t" }, "metadata.internal"},
	} {
		c := ok
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("%s: the error shows the URL's password: %v", name, err)
		}
		if _, err := New(c); err == nil {
			t.Errorf("%s: New took it", name)
		}
	}
}

// TestSilentEndpoint: a token endpoint that accepts the connection and never answers costs the caller no
// more than its context.
func TestSilentEndpoint(t *testing.T) {
	addr := testserver.Silent(t)
	src, err := New(Config{TokenURL: "http://" + addr + "/token", Grant: ClientCredentials, ClientID: "c", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = src.Token(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Errorf("%v after %v; want the deadline, at once", err, time.Since(start))
	}
}
