// Package oauthtoken gets the OAuth 2.0 access tokens a Mailbox logs in with (SASL XOAUTH2 or OAUTHBEARER)
// from an authorization server's token endpoint, with the client-credentials grant (RFC 6749 §4.4) or the
// refresh-token grant (§6), and gets a new one before the one it holds expires, so that a long migration
// or an always-on sync never outlives its token.
//
// The token endpoint is reached under the same egress rule as the mail servers (egress.AllowList), with
// bounded time and a bounded answer; no secret it handles (client secret, refresh or access token) is ever
// in an error it returns.
package oauthtoken

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/mailshift/mailshift/internal/egress"
)

// Grant is how a token is obtained.
type Grant string

const (
	ClientCredentials Grant = "ClientCredentials"
	RefreshToken      Grant = "RefreshToken"
)

// Config says where and how to get tokens.
type Config struct {
	TokenURL     string
	Grant        Grant
	ClientID     string
	ClientSecret string
	RefreshToken string // the RefreshToken grant's first refresh token
	Scopes       []string
	// CAPEM, when set, are the roots the token endpoint's certificate is checked against instead of the
	// system's.
	CAPEM []byte
	// Allowed limits the hosts the token endpoint may be on (nil: any).
	Allowed *egress.AllowList
	// Early is how long before its expiry a token is replaced (default DefaultEarly).
	Early time.Duration
	// Rotated, when set, is called with the new refresh token when the token endpoint replaces the one the
	// source used (the RefreshToken grant; servers that replace it at each use, such as Ory Hydra, refuse
	// the one before from then on, and reuse can revoke them all). It is called while Token holds the
	// source, so it should be quick; keeping the new one where the next process finds it is its job.
	Rotated func(refreshToken string)
}

// DefaultEarly: a token is replaced five minutes before it expires, so that a login that starts with it
// is not refused a moment later, and a clock a little off does not matter.
const DefaultEarly = 5 * time.Minute

// requestTimeout bounds one request to the token endpoint.
const requestTimeout = 20 * time.Second

// Validate says what is wrong with c, if anything, in words that name the field.
func (c Config) Validate() error {
	u, err := url.Parse(c.TokenURL)
	switch {
	case c.TokenURL == "":
		return errors.New("no token URL")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("token URL %q is not an http(s) URL", shown(c.TokenURL))
	case u.Scheme == "http" && !loopback(u.Hostname()):
		return fmt.Errorf("token URL %q: plain http is accepted for a loopback address only; a token endpoint elsewhere must use https", shown(c.TokenURL))
	case u.User != nil:
		return errors.New("the token URL must not carry credentials: give the client secret in its Secret")
	case c.ClientID == "":
		return errors.New("no client ID")
	case c.Grant != ClientCredentials && c.Grant != RefreshToken:
		return fmt.Errorf("grant %q is neither ClientCredentials nor RefreshToken", c.Grant)
	case c.Grant == RefreshToken && c.RefreshToken == "":
		return errors.New("the RefreshToken grant needs a refresh token")
	}
	return c.Allowed.CheckHost(u.Hostname())
}

// shown is a URL as an error may name it: without user information and query, which could hold secrets.
func shown(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Source hands out a valid access token, getting a new one when the one it holds is within Early of its
// expiry. It is safe for concurrent use; one request at a time goes to the token endpoint.
type Source struct {
	cfg     Config
	mu      sync.Mutex
	ts      oauth2.TokenSource
	last    *oauth2.Token
	refresh atomic.Pointer[string] // the refresh token the source holds now (RefreshToken grant)
}

// New returns a Source for cfg, or what is wrong with cfg.
func New(cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Early <= 0 {
		cfg.Early = DefaultEarly
	}
	client, err := httpClient(cfg)
	if err != nil {
		return nil, err
	}
	// The client is handed to the oauth2 package through the context it keeps for later refreshes.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, client)
	var ts oauth2.TokenSource
	if cfg.Grant == ClientCredentials {
		ts = (&clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.TokenURL, Scopes: cfg.Scopes}).TokenSource(ctx)
	} else {
		oc := &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: oauth2.Endpoint{TokenURL: cfg.TokenURL}, Scopes: cfg.Scopes}
		ts = oc.TokenSource(ctx, &oauth2.Token{RefreshToken: cfg.RefreshToken})
	}
	s := &Source{cfg: cfg, ts: oauth2.ReuseTokenSourceWithExpiry(nil, ts, cfg.Early)}
	s.refresh.Store(&cfg.RefreshToken)
	return s, nil
}

// httpClient is the client for the token endpoint: bounded in time, dialing only allowed hosts, trusting
// cfg.CAPEM when given.
func httpClient(cfg Config) (*http.Client, error) {
	u, _ := url.Parse(cfg.TokenURL)
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, Control: cfg.Allowed.Control(u.Hostname())}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: requestTimeout,
		MaxIdleConns:          1,
		IdleConnTimeout:       30 * time.Second,
		Proxy:                 nil, // the egress rule is about the token endpoint itself
	}
	if len(cfg.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.CAPEM) {
			return nil, errors.New("the token endpoint's CA bundle holds no PEM certificate")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: requestTimeout,
		// A token endpoint answers; it does not send the client's secret elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

// Token returns an access token valid for at least Early (as far as its expiry is known), getting a new
// one when needed. ctx bounds a request to the token endpoint.
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	type result struct {
		tok *oauth2.Token
		err error
	}
	done := make(chan result, 1)
	// oauth2.TokenSource takes no context: the request is bounded by the client's timeout, and the caller
	// by ctx.
	go func() { t, err := s.ts.Token(); done <- result{t, err} }()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		return "", fmt.Errorf("getting an OAuth2 token from %s: %w", s.host(), ctx.Err())
	}
	if r.err != nil {
		return "", s.explain(r.err)
	}
	if r.tok.AccessToken == "" || strings.ContainsAny(r.tok.AccessToken, "\x00\r\n\x01") {
		return "", fmt.Errorf("the token endpoint %s answered without a usable access token", s.host())
	}
	s.last = r.tok
	if rt := r.tok.RefreshToken; s.cfg.Grant == RefreshToken && rt != "" && rt != *s.refresh.Load() {
		s.refresh.Store(&rt)
		if s.cfg.Rotated != nil {
			s.cfg.Rotated(rt)
		}
	}
	return r.tok.AccessToken, nil
}

// RefreshToken is the refresh token the source holds now: the one it was given, or the last one the token
// endpoint replaced it with. It does not wait for a Token call under way.
func (s *Source) RefreshToken() string { return *s.refresh.Load() }

// Expiry is when the token last handed out expires (zero: unknown, or none handed out yet).
func (s *Source) Expiry() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return time.Time{}
	}
	return s.last.Expiry
}

func (s *Source) host() string {
	u, _ := url.Parse(s.cfg.TokenURL)
	return u.Host
}

// explain turns an error of the oauth2 package into one that names the endpoint and the OAuth2 error code,
// and holds nothing the server sent beyond that code (its body could echo what was sent).
func (s *Source) explain(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		if code == "" || len(code) > 64 || strings.ContainsFunc(code, func(r rune) bool { return r < '!' || r > '~' }) {
			code = "no OAuth2 error code"
		}
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return &Error{Host: s.host(), Status: status, Code: code, Refused: status == http.StatusBadRequest || status == http.StatusUnauthorized}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("getting an OAuth2 token from %s: %w", s.host(), ue.Err)
	}
	return fmt.Errorf("getting an OAuth2 token from %s: %w", s.host(), err)
}

// Error is an answer of the token endpoint that gave no token.
type Error struct {
	Host    string
	Status  int
	Code    string // the OAuth2 error code (RFC 6749 §5.2): invalid_client, invalid_grant, …
	Refused bool   // the endpoint refused the client or grant: a person must fix the credentials
}

// AuthRefused says whether the endpoint refused the client or grant (imapconn reports a login that could
// not get a token so: AuthenticationFailed, for a person to fix).
func (e *Error) AuthRefused() bool { return e.Refused }

func (e *Error) Error() string {
	return fmt.Sprintf("the token endpoint %s refused to give a token: HTTP %d, %s", e.Host, e.Status, e.Code)
}
