package testserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
		"URLS_SELF_ISSUER="+publicURL, "SECRETS_SYSTEM=mailshift-test-system-secret-0123")
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
	body, _ := json.Marshal(map[string]any{"client_id": id, "client_secret": secret, "grant_types": []string{"client_credentials"},
		"token_endpoint_auth_method": "client_secret_basic"})
	resp, err := http.Post(h.adminURL+"/admin/clients", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("testserver: Hydra: adding client %s: %v", id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("testserver: Hydra: adding client %s: HTTP %d %s", id, resp.StatusCode, b)
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
