package testserver

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// FakeTokenIntrospection is a test stand-in for an identity provider's OAuth 2.0 token introspection
// endpoint (RFC 7662), the service Dovecot's oauth2 passdb asks whether a bearer token is valid and whose it
// is. It knows a fixed set of tokens; every other token is inactive. Pass URL as
// Options.OAuth2IntrospectionURL.
type FakeTokenIntrospection struct {
	URL string

	users map[string]string // token → username
	mu    sync.Mutex
	asked map[string]int // token → how many times it was introspected
}

// StartFakeTokenIntrospection serves introspection on 127.0.0.1 until the test ends. tokens maps each valid
// token to the username it belongs to.
func StartFakeTokenIntrospection(t testing.TB, tokens map[string]string) *FakeTokenIntrospection {
	t.Helper()
	f := &FakeTokenIntrospection{users: tokens, asked: map[string]int{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testserver: fake token introspection: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(f.introspect))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	f.URL = srv.URL + "/introspect"
	return f
}

// introspect answers RFC 7662 §2: a POSTed form with the token; {"active": false} for any token it does not
// know, {"active": true, "username": …} for one it does.
func (f *FakeTokenIntrospection) introspect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/introspect" {
		http.Error(w, "POST /introspect only", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	token := r.PostForm.Get("token")
	f.mu.Lock()
	f.asked[token]++
	f.mu.Unlock()
	resp := map[string]any{"active": false}
	if user, ok := f.users[token]; ok && token != "" {
		resp = map[string]any{"active": true, "username": user, "token_type": "Bearer"}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp) // a client that went away gets nothing either way
}

// Asked returns how many times the server introspected token.
func (f *FakeTokenIntrospection) Asked(token string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.asked[token]
}
