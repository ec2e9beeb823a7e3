package controllers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
)

// ServeHTTP answers GET and HEAD for /freebusy/<namespace>/<name>.vfb (and /freebusy/<name>.vfb for the
// global namespace) from this replica's cache. Outlook polls: every answer carries an ETag (a hash of the
// content, the same on every replica) and Last-Modified (when the content last changed), so a poll whose
// If-None-Match or If-Modified-Since still holds gets 304 without the body.
func (f *FreeBusyFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "read-only", http.StatusMethodNotAllowed)
		return
	}
	ns, name, ok := f.keyOf(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), lookupTimeout)
	defer cancel()
	file, found, err := f.lookup(ctx, ns, name)
	if err != nil {
		// The cache did not answer in time (a replica still starting): say so, rather than a 404 that
		// Outlook would take as "no free/busy".
		w.Header().Set("Retry-After", "5")
		http.Error(w, "free/busy files not available yet", http.StatusServiceUnavailable)
		return
	}
	if !found {
		http.NotFound(w, r)
		return
	}
	sum := sha256.Sum256(file.data)
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("ETag", `"`+base64.RawURLEncoding.EncodeToString(sum[:18])+`"`)
	// Clients may keep the file but must ask again before using it: it changes with the calendar.
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name+".vfb", file.modified, bytes.NewReader(file.data))
}

// lookupTimeout bounds how long a request waits for the cache.
const lookupTimeout = 5 * time.Second

// keyOf maps a request path to the namespace and name of the file it names.
func (f *FreeBusyFiles) keyOf(path string) (namespace, name string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/freebusy/")
	if !ok {
		return "", "", false
	}
	rest, isVFB := strings.CutSuffix(rest, ".vfb")
	if !isVFB {
		return "", "", false
	}
	ns, name, namespaced := strings.Cut(rest, "/")
	if !namespaced {
		ns, name = f.GlobalNamespace, rest
	}
	if ns == "" || len(validation.IsDNS1123Label(ns)) > 0 || !servedName.MatchString(name) {
		return "", "", false
	}
	return ns, name, true
}

// Server is the free/busy HTTP server as a manager Runnable on addr. It runs on every replica, not only
// the leader: the files are in ConfigMaps every replica's cache holds.
func (f *FreeBusyFiles) Server(addr string, informers cache.Informers) manager.Runnable {
	return &freeBusyServer{files: f, addr: addr, informers: informers}
}

type freeBusyServer struct {
	files     *FreeBusyFiles
	addr      string
	informers cache.Informers
}

// NeedLeaderElection is false: a replica that is not the leader serves the same files.
func (s *freeBusyServer) NeedLeaderElection() bool { return false }

// Start fills the cache with what it serves before listening (on a replica that is not the leader no
// controller has asked for these informers), then serves until ctx ends.
func (s *freeBusyServer) Start(ctx context.Context) error {
	for _, obj := range []client.Object{&corev1.ConfigMap{}, &mailshiftv1.FreeBusyPublication{}} {
		if _, err := s.informers.GetInformer(ctx, obj); err != nil {
			return fmt.Errorf("free/busy HTTP: %w", err)
		}
	}
	if !s.informers.WaitForCacheSync(ctx) {
		return nil // stopped before the cache synced
	}
	return s.files.Serve(ctx, s.addr)
}

// HTTPLimits bound what anonymous readers of the free/busy port may hold: every connection costs memory
// and a goroutine, and the port is meant to be reachable by every Outlook of the organisation.
type HTTPLimits struct {
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers (net/http adds 4 KiB of slack); larger ones get 431.
	MaxHeaderBytes int
	// MaxConnections bounds open connections; one more is closed as soon as it is accepted.
	MaxConnections int
}

// DefaultHTTPLimits suit a .vfb of a few KiB polled by Outlook clients: a request is a line and a few
// headers, an answer a small file.
func DefaultHTTPLimits() HTTPLimits {
	return HTTPLimits{ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 30 * time.Second, MaxHeaderBytes: 8 << 10, MaxConnections: 512}
}

// Serve listens on addr until ctx ends, with the default limits.
func (f *FreeBusyFiles) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("free/busy HTTP: %w", err)
	}
	return f.ServeListener(ctx, ln, DefaultHTTPLimits())
}

// ServeListener serves on ln with the given limits until ctx ends.
func (f *FreeBusyFiles) ServeListener(ctx context.Context, ln net.Listener, lim HTTPLimits) error {
	mux := http.NewServeMux()
	mux.Handle("/freebusy/", f)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: lim.ReadHeaderTimeout, ReadTimeout: lim.ReadTimeout,
		WriteTimeout: lim.WriteTimeout, IdleTimeout: lim.IdleTimeout, MaxHeaderBytes: lim.MaxHeaderBytes}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if lim.MaxConnections > 0 {
		ln = &connLimitListener{Listener: ln, max: lim.MaxConnections}
	}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("free/busy HTTP: %w", err)
	}
	return nil
}

// connLimitListener closes a connection at once when max are already open. Unlike blocking in Accept
// (netutil.LimitListener), a client over the limit learns it immediately instead of waiting in the
// kernel's backlog, and the backlog cannot fill with connections nobody will serve.
type connLimitListener struct {
	net.Listener
	max int

	mu   sync.Mutex
	open int
}

func (l *connLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		full := l.open >= l.max
		if !full {
			l.open++
		}
		l.mu.Unlock()
		if full {
			_ = c.Close()
			continue
		}
		return &limitedConn{Conn: c, release: l.release}, nil
	}
}

func (l *connLimitListener) release() {
	l.mu.Lock()
	l.open--
	l.mu.Unlock()
}

// Open is how many accepted connections are open now.
func (l *connLimitListener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// limitedConn gives its slot back once, however often it is closed.
type limitedConn struct {
	net.Conn
	release func()
	once    sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
