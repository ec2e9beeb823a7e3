package testserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hydra is a running Ory Hydra (hack/build-hydra.sh builds it from source), a real OAuth 2.0 authorization
// server with its store in memory: TokenURL gives tokens to the clients AddClient registers, and
// IntrospectURL (its admin endpoint, RFC 7662) tells whether a token is valid and whose it is; pass it as
// Options.OAuth2IntrospectionURL with OAuth2UsernameAttribute "sub" (a client-credentials token's subject is
// its client ID).
type Hydra struct {
	TokenURL      string
	IntrospectURL string
	adminURL      string
}

// HydraOptions are settings of a Hydra a test starts.
type HydraOptions struct {
	// AccessTokenTTL is how long its access tokens are valid (Hydra's default, an hour, when zero).
	AccessTokenTTL time.Duration
}

var hydraBuild struct {
	once sync.Once
	err  error
}

// StartHydra starts a fresh Hydra on free loopback ports and stops it when the test ends.
func StartHydra(t testing.TB, opts HydraOptions) *Hydra {
	t.Helper()
	if os.Getenv(skipEnv) == "1" {
		t.Skipf("testserver: %s=1: not starting Hydra", skipEnv)
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	bin := filepath.Join(ftpCache(root), "hydra", "bin", "hydra")
	if !isFile(bin) {
		hydraBuild.once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
			defer cancel()
			if out, err := exec.CommandContext(ctx, "bash", filepath.Join(root, "hack", "build-hydra.sh")).CombinedOutput(); err != nil {
				hydraBuild.err = fmt.Errorf("hack/build-hydra.sh: %v\n%s", err, bytes.TrimSpace(out))
			}
		})
		if hydraBuild.err != nil {
			t.Fatalf("testserver: Hydra is not available: %v", hydraBuild.err)
		}
	}
	var lastErr error
	for range 5 {
		ports, err := freePorts(2)
		if err != nil {
			t.Fatalf("testserver: %v", err)
		}
		h, err := startHydra(t, bin, ports[0], ports[1], opts)
		if err == nil {
			return h
		}
		lastErr = err
	}
	t.Fatalf("testserver: starting Hydra: %v", lastErr)
	return nil
}

func startHydra(t testing.TB, bin string, public, admin int, opts HydraOptions) (*Hydra, error) {
	publicURL := "http://127.0.0.1:" + strconv.Itoa(public)
	adminURL := "http://127.0.0.1:" + strconv.Itoa(admin)
	logf, err := os.Create(filepath.Join(t.TempDir(), "hydra.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "all", "--dev", "--sqa-opt-out")
	cmd.Env = append(os.Environ(), "DSN=memory", "LOG_LEVEL=warn",
		"SERVE_PUBLIC_HOST=127.0.0.1", "SERVE_PUBLIC_PORT="+strconv.Itoa(public),
		"SERVE_ADMIN_HOST=127.0.0.1", "SERVE_ADMIN_PORT="+strconv.Itoa(admin),
		"URLS_SELF_ISSUER="+publicURL, "SECRETS_SYSTEM=mailshift-test-system-secret-0123",
		// No login or consent app runs: RefreshToken accepts both through the admin API.
		"URLS_LOGIN=http://127.0.0.1:9/login", "URLS_CONSENT=http://127.0.0.1:9/consent")
	if opts.AccessTokenTTL > 0 {
		cmd.Env = append(cmd.Env, "TTL_ACCESS_TOKEN="+opts.AccessTokenTTL.String())
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			log, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("hydra exited at start:\n%s", tail(log))
		default:
		}
		if resp, err := http.Get(adminURL + "/health/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			log, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("hydra not ready within a minute:\n%s", tail(log))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Cleanup(stop)
	return &Hydra{TokenURL: publicURL + "/oauth2/token", IntrospectURL: adminURL + "/admin/oauth2/introspect", adminURL: adminURL}, nil
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// AddClient registers an OAuth2 client with this ID and secret, allowed the client-credentials grant.
func (h *Hydra) AddClient(t testing.TB, id, secret string) {
	t.Helper()
	h.post(t, "/admin/clients", map[string]any{"client_id": id, "client_secret": secret, "grant_types": []string{"client_credentials"},
		"token_endpoint_auth_method": "client_secret_basic"}, http.StatusCreated)
}

// RefreshToken registers a client for the authorization-code and refresh-token grants and runs the
// authorization-code flow for subject, accepting the login and the consent through the admin API as a
// login app would, and returns the refresh token the code is exchanged for: what a user's consent, given
// once, leaves an application with.
func (h *Hydra) RefreshToken(t testing.TB, clientID, secret, subject string) string {
	t.Helper()
	const redirect = "http://127.0.0.1:9/callback"
	h.post(t, "/admin/clients", map[string]any{"client_id": clientID, "client_secret": secret,
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"redirect_uris": []string{redirect}, "scope": "offline_access offline", "token_endpoint_auth_method": "client_secret_basic"}, http.StatusCreated)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	public := strings.TrimSuffix(h.TokenURL, "/oauth2/token")
	next := public + "/oauth2/auth?" + url.Values{"client_id": {clientID}, "response_type": {"code"}, "scope": {"offline_access"},
		"redirect_uri": {redirect}, "state": {"mailshift-test-state"}}.Encode()
	// Each step redirects: to the login app (accepted here), back to Hydra, to the consent app (accepted),
	// back to Hydra, and at last to the client's redirect URI with the code.
	for range 8 {
		resp, err := browser.Get(next)
		if err != nil {
			t.Fatalf("testserver: Hydra: %v", err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("testserver: Hydra: HTTP %d without a redirect at %s", resp.StatusCode, next)
		}
		q := loc.Query()
		switch {
		case q.Get("login_challenge") != "":
			next = h.accept(t, "login", q.Get("login_challenge"), map[string]any{"subject": subject})
		case q.Get("consent_challenge") != "":
			next = h.accept(t, "consent", q.Get("consent_challenge"), map[string]any{"grant_scope": []string{"offline_access"}})
		case q.Get("code") != "":
			form := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {redirect}}
			req, _ := http.NewRequest(http.MethodPost, h.TokenURL, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(clientID, secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("testserver: Hydra: exchanging the code: %v", err)
			}
			defer resp.Body.Close()
			var tok struct {
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&tok); err != nil || tok.RefreshToken == "" {
				t.Fatalf("testserver: Hydra: no refresh token for the code (HTTP %d, %v)", resp.StatusCode, err)
			}
			return tok.RefreshToken
		default:
			next = loc.String()
		}
	}
	t.Fatal("testserver: Hydra: the authorization-code flow did not end in a code")
	return ""
}

// accept accepts a login or consent challenge through the admin API and returns where the browser goes on.
func (h *Hydra) accept(t testing.TB, what, challenge string, body map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPut, h.adminURL+"/admin/oauth2/auth/requests/"+what+"/accept?"+url.Values{what + "_challenge": {challenge}}.Encode(), bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("testserver: Hydra: accepting the %s: %v", what, err)
	}
	defer resp.Body.Close()
	var out struct {
		RedirectTo string `json:"redirect_to"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out); err != nil || out.RedirectTo == "" {
		t.Fatalf("testserver: Hydra: accepting the %s: HTTP %d, %v", what, resp.StatusCode, err)
	}
	return out.RedirectTo
}

func (h *Hydra) post(t testing.TB, path string, body any, want int) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(h.adminURL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("testserver: Hydra: POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("testserver: Hydra: POST %s: HTTP %d %s", path, resp.StatusCode, msg)
	}
}

// RevokeClient deletes the client: its tokens stop being valid, and it gets no new ones.
func (h *Hydra) RevokeClient(t testing.TB, id string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, h.adminURL+"/admin/clients/"+id, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("testserver: Hydra: deleting client %s: %v", id, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("testserver: Hydra: deleting client %s: HTTP %d", id, resp.StatusCode)
	}
}

// Silent listens on 127.0.0.1 until the test ends, accepting connections and never answering: the
// unreachable-in-practice server a timeout test needs. It returns the address.
func Silent(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	return l.Addr().String()
}
