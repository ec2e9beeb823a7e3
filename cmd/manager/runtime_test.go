package main

import (
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/controllers"
	"github.com/mailshift/mailshift/internal/testenv"
)

// startManager runs run() until the test ends.
func startManager(t *testing.T, cfg *rest.Config, o managerOptions) {
	t.Helper()
	o.anotherManagerInProcess = true
	if o.metricsAddr == "" {
		o.metricsAddr = "0"
	}
	if o.freeBusyAddr == "" {
		o.freeBusyAddr = "0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, o) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("manager: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("manager did not stop")
		}
	})
}

func probe(url string) (int, string) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(b)
}

// apiGate is a TLS reverse proxy in front of the test API server that can refuse, with 503, either the
// requests that list and watch objects (discovery still answers: the API server is up but the cache
// cannot fill) or everything (the API server is gone).
type apiGate struct {
	server *httptest.Server
	mode   atomic.Int32
}

const (
	gateOpen int32 = iota
	gateNoLists
	gateDown
)

func newAPIGate(t *testing.T, env *testenv.Env) (*apiGate, *rest.Config) {
	t.Helper()
	host := env.Config.Host
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	target, err := url.Parse(host)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := rest.TransportFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	g := &apiGate{}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) }, Transport: rt, FlushInterval: -1}
	g.server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch mode := g.mode.Load(); {
		case mode == gateDown, mode == gateNoLists && (q.Has("watch") || q.Has("limit") || q.Has("resourceVersion")):
			http.Error(w, "gate closed", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	g.server.StartTLS()
	t.Cleanup(g.server.Close)
	cfg := &rest.Config{Host: g.server.URL, TLSClientConfig: rest.TLSClientConfig{
		CAData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: g.server.Certificate().Raw})}}
	return g, cfg
}

// TestReadinessMeansSynced runs the manager behind a gate to the API server: /readyz fails while the cache
// cannot fill although the API server answers, passes once it has synced, fails again when the API server
// stops answering although the cache is still full, and recovers; /healthz passes throughout.
func TestReadinessMeansSynced(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() }) // after the manager's cleanup, which is registered later
	gate, cfg := newAPIGate(t, env)
	gate.mode.Store(gateNoLists)
	probeAddr := freeAddr(t)
	startManager(t, cfg, managerOptions{probeAddr: probeAddr, controllers: controllers.Options{Executor: "inprocess"}})
	// A manager still waiting for its first sync does not stop: open the gate before stopping it.
	t.Cleanup(func() { gate.mode.Store(gateOpen) })
	readyz, healthz := "http://"+probeAddr+"/readyz?verbose", "http://"+probeAddr+"/healthz"

	waitFor := func(what string, ok func(code int, body string) bool) (int, string) {
		t.Helper()
		var code int
		var body string
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if code, body = probe(readyz); ok(code, body) {
				return code, body
			}
		}
		t.Fatalf("%s: /readyz still %d:\n%s", what, code, body)
		return 0, ""
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if code, _ := probe(healthz); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/healthz never answered")
		}
	}

	// Not synced: the API server answers discovery, but no list gets through.
	for i := 0; i < 5; i++ {
		code, body := probe(readyz)
		if code < 500 || !strings.Contains(body, "[-]cache failed") || !strings.Contains(body, "[+]apiserver ok") {
			t.Fatalf("before the cache synced: /readyz %d:\n%s", code, body)
		}
		time.Sleep(300 * time.Millisecond)
	}

	gate.mode.Store(gateOpen)
	waitFor("after the gate opened", func(code int, _ string) bool { return code == http.StatusOK })
	// The controllers start once the cache has synced and add informers of their own (Secret metadata,
	// MigrationBatches); let those sync too before the API server goes.
	time.Sleep(2 * time.Second)
	waitFor("with the controllers running", func(code int, _ string) bool { return code == http.StatusOK })

	gate.mode.Store(gateDown)
	_, body := waitFor("with the API server gone", func(code int, _ string) bool { return code >= 500 })
	if !strings.Contains(body, "[-]apiserver failed") || !strings.Contains(body, "[+]cache ok") {
		t.Errorf("with the API server gone, /readyz says:\n%s", body)
	}
	if code, body := probe(healthz); code != http.StatusOK {
		t.Errorf("liveness depends on the API server: /healthz %d %s", code, body)
	}

	gate.mode.Store(gateOpen)
	waitFor("after the API server came back", func(code int, _ string) bool { return code == http.StatusOK })
}

// requestLog records every request a manager sends to the API server.
type requestLog struct {
	mu   sync.Mutex
	reqs []loggedRequest
}

type loggedRequest struct{ method, path, query, accept string }

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		l.mu.Lock()
		l.reqs = append(l.reqs, loggedRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Accept")})
		l.mu.Unlock()
		return rt.RoundTrip(r)
	})
}

func (l *requestLog) all() []loggedRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]loggedRequest(nil), l.reqs...)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestWatchNamespacesAndSecretCache runs the manager with --watch-namespaces against a real API server and
// records what it asks the server: objects outside the watched namespace are never listed, watched or
// reconciled; Secrets are read one by one, uncached, and watched only as metadata, yet a Secret that
// appears still wakes the object waiting for it at once.
func TestWatchNamespacesAndSecretCache(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() }) // after the manager's cleanup, which is registered later
	ctx := context.Background()
	const watched, unwatched = "team-a", "team-b"
	closedPort := func() int32 {
		_, p, _ := strings.Cut(freeAddr(t), ":")
		var n int32
		for _, c := range p {
			n = n*10 + c - '0'
		}
		return n
	}()
	for _, ns := range []string{watched, unwatched} {
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
		// The CA Secret does not exist yet: the server is Stalled with SecretNotFound until it does.
		srv := &mailshiftv1.MailServer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "imap"},
			Spec: mailshiftv1.MailServerSpec{Host: "127.0.0.1", Port: closedPort, CABundle: &mailshiftv1.SecretKeyRef{Name: "imap-ca"}}}
		if err := env.Client.Create(ctx, srv); err != nil {
			t.Fatal(err)
		}
	}

	var log requestLog
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(log.wrap)
	startManager(t, cfg, managerOptions{probeAddr: "0", watchNamespaces: []string{watched},
		controllers: controllers.Options{Executor: "inprocess"}})

	get := func(ns string) *mailshiftv1.MailServer {
		var s mailshiftv1.MailServer
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "imap"}, &s); err != nil {
			t.Fatal(err)
		}
		return &s
	}
	reason := func(s *mailshiftv1.MailServer) string {
		if c := meta.FindStatusCondition(s.Status.Conditions, mailshiftv1.ConditionReady); c != nil {
			return c.Reason
		}
		return ""
	}
	// Two failed checks: the next periodic one is 10 s away.
	var srv *mailshiftv1.MailServer
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if srv = get(watched); reason(srv) == mailshiftv1.ReasonSecretNotFound && srv.Status.ConsecutiveFailures >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("watched MailServer: reason %q after %d checks, want SecretNotFound twice", reason(srv), srv.Status.ConsecutiveFailures)
		}
	}
	secondCheck := srv.Status.LastCheckTime.Time
	ca := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: watched, Name: "imap-ca",
		Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"data":{"ca.crt":"bm90IGEgY2VydGlmaWNhdGU="}}`}},
		StringData: map[string]string{"ca.crt": "not a certificate"}}
	if err := env.Client.Create(ctx, ca); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if srv = get(watched); reason(srv) != mailshiftv1.ReasonSecretNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new Secret never reached the MailServer")
		}
	}
	if woke := srv.Status.LastCheckTime.Sub(secondCheck); woke >= 9*time.Second {
		t.Errorf("the MailServer saw its new Secret %v after its last check: the periodic retry, not the Secret watch", woke)
	}

	// The unwatched namespace's server was never touched.
	if s := get(unwatched); s.Status.ObservedGeneration != 0 || len(s.Status.Conditions) != 0 {
		t.Errorf("MailServer in the unwatched namespace was reconciled: %+v", s.Status)
	}

	var secretReads, secretWatches int
	for _, r := range log.all() {
		if strings.Contains(r.path, "/namespaces/"+unwatched+"/") || strings.HasSuffix(r.path, "/namespaces/"+unwatched) {
			t.Errorf("request into the unwatched namespace: %s %s?%s", r.method, r.path, r.query)
		}
		segs := strings.Split(strings.Trim(r.path, "/"), "/")
		// Collection requests (list, watch) are /api/v1[/namespaces/NS]/RESOURCE or /apis/G/V[/namespaces/NS]/RESOURCE.
		var resource, name string
		switch {
		case len(segs) >= 3 && segs[0] == "api":
			rest := segs[2:]
			if len(rest) >= 2 && rest[0] == "namespaces" {
				rest = rest[2:]
			}
			if len(rest) > 0 {
				resource = rest[0]
			}
			if len(rest) > 1 {
				name = rest[1]
			}
		case len(segs) >= 4 && segs[0] == "apis":
			rest := segs[3:]
			if len(rest) >= 2 && rest[0] == "namespaces" {
				rest = rest[2:]
			}
			if len(rest) > 0 {
				resource = rest[0]
			}
			if segs[1] == mailshiftv1.GroupVersion.Group && r.method == http.MethodGet && !strings.Contains(r.path, "/namespaces/") {
				t.Errorf("cluster-wide list or watch of %s despite --watch-namespaces: %s?%s", resource, r.path, r.query)
			}
		}
		if resource != "secrets" || r.method != http.MethodGet {
			continue
		}
		switch {
		case name != "":
			secretReads++
		case strings.Contains(r.accept, "as=PartialObjectMetadata"):
			secretWatches++
			if !strings.Contains(r.path, "/namespaces/"+watched+"/") {
				t.Errorf("Secret metadata listed outside the watched namespace: %s?%s", r.path, r.query)
			}
		default:
			t.Errorf("Secrets listed or watched with their contents: %s?%s (Accept %q)", r.path, r.query, r.accept)
		}
	}
	if secretReads == 0 || secretWatches == 0 {
		t.Errorf("%d direct Secret reads and %d metadata lists or watches, want both", secretReads, secretWatches)
	}
}

// TestNameList: comma-separated flag values, blanks ignored, every name checked.
func TestNameList(t *testing.T) {
	got, err := nameList(" team-a, ,team-b,", validation.IsDNS1123Label)
	if err != nil || strings.Join(got, "|") != "team-a|team-b" {
		t.Errorf("got %q, %v", got, err)
	}
	if got, err := nameList("", validation.IsDNS1123Label); err != nil || got != nil {
		t.Errorf("empty: %q, %v", got, err)
	}
	if _, err := nameList("team-a,Team_B", validation.IsDNS1123Label); err == nil || !strings.Contains(err.Error(), `"Team_B"`) {
		t.Errorf("bad name: %v, want an error naming it", err)
	}
}
