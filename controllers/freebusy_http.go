package controllers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// FreeBusyFiles holds the .vfb files a manager serves read-only, for FreeBusyPublications with serveHTTP:
// at /freebusy/<namespace>/<name>.vfb, so that a publication can only ever speak for its own namespace.
// The FTP upload stays the source of truth; this copy lives in memory and is rebuilt by the first reconcile
// after a restart.
type FreeBusyFiles struct {
	// GlobalNamespace, when set, is the one namespace whose publications are also served at the short path
	// /freebusy/<name>.vfb (what Outlook's %NAME% search asks for). Only an administrator sets it (a manager
	// flag): a name there is trusted by every Outlook user of the server.
	GlobalNamespace string

	mu    sync.RWMutex
	files map[fileKey]freeBusyFile
}

// fileKey is a served file: names are unique within a namespace only.
type fileKey struct{ namespace, name string }

type freeBusyFile struct {
	owner    string // namespace/name of the FreeBusyPublication
	data     []byte
	modified time.Time
}

// errNameTaken is returned by Put when another publication of the namespace serves the name.
var errNameTaken = errors.New("name taken")

// NewFreeBusyFiles returns an empty set of files.
func NewFreeBusyFiles() *FreeBusyFiles { return &FreeBusyFiles{files: map[fileKey]freeBusyFile{}} }

// HTTPPath is where namespace's file of that name is served: the short global path for the trusted
// namespace, the namespaced path otherwise.
func (f *FreeBusyFiles) HTTPPath(namespace, name string) string {
	if f.GlobalNamespace != "" && namespace == f.GlobalNamespace {
		return "/freebusy/" + name + ".vfb"
	}
	return "/freebusy/" + namespace + "/" + name + ".vfb"
}

// Put stores owner's file; another publication's file of the same name in the namespace is not replaced
// (Outlook's %NAME% search cannot tell two of them apart, so the second is refused rather than silently
// shadowing the first).
func (f *FreeBusyFiles) Put(namespace, name, owner string, data []byte, modified time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.conflictLocked(namespace, name, owner); err != nil {
		return err
	}
	f.files[fileKey{namespace, name}] = freeBusyFile{owner: owner, data: bytes.Clone(data), modified: modified}
	return nil
}

// Conflict says whether another publication of the namespace serves a file of that name.
func (f *FreeBusyFiles) Conflict(namespace, name, owner string) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.conflictLocked(namespace, name, owner)
}

func (f *FreeBusyFiles) conflictLocked(namespace, name, owner string) error {
	if cur, ok := f.files[fileKey{namespace, name}]; ok && cur.owner != owner {
		return fmt.Errorf("%w: %s.vfb is served for %s", errNameTaken, name, cur.owner)
	}
	return nil
}

// Has reports whether owner's file of that name is being served.
func (f *FreeBusyFiles) Has(namespace, name, owner string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	cur, ok := f.files[fileKey{namespace, name}]
	return ok && cur.owner == owner
}

// Remove stops serving owner's file of that name (another owner's is left alone).
func (f *FreeBusyFiles) Remove(namespace, name, owner string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := fileKey{namespace, name}
	if cur, ok := f.files[k]; ok && cur.owner == owner {
		delete(f.files, k)
	}
}

// ServeHTTP answers GET and HEAD for /freebusy/<namespace>/<name>.vfb (and /freebusy/<name>.vfb for the
// global namespace), with Last-Modified so clients can poll cheaply.
func (f *FreeBusyFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "read-only", http.StatusMethodNotAllowed)
		return
	}
	k, ok := f.keyOf(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	f.mu.RLock()
	file, found := f.files[k]
	f.mu.RUnlock()
	if !found {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	http.ServeContent(w, r, k.name+".vfb", file.modified, bytes.NewReader(file.data))
}

// keyOf maps a request path to the file it names.
func (f *FreeBusyFiles) keyOf(path string) (fileKey, bool) {
	rest, ok := strings.CutPrefix(path, "/freebusy/")
	if !ok {
		return fileKey{}, false
	}
	rest, isVFB := strings.CutSuffix(rest, ".vfb")
	if !isVFB {
		return fileKey{}, false
	}
	ns, name, namespaced := strings.Cut(rest, "/")
	if !namespaced {
		ns, name = f.GlobalNamespace, rest
	}
	if ns == "" || name == "" || strings.Contains(name, "/") {
		return fileKey{}, false
	}
	return fileKey{ns, name}, true
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

// Serve listens on addr until ctx ends, with the default limits. It is what the manager runs (on the
// leader: only its reconciles fill the files).
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
