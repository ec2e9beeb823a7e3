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

// FreeBusyFiles holds the .vfb files a manager serves read-only at /freebusy/<name>.vfb, for
// FreeBusyPublications with serveHTTP. The FTP upload stays the source of truth; this copy lives in memory
// and is rebuilt by the first reconcile after a restart.
type FreeBusyFiles struct {
	mu    sync.RWMutex
	files map[string]freeBusyFile
}

type freeBusyFile struct {
	owner    string // namespace/name of the FreeBusyPublication
	data     []byte
	modified time.Time
}

// errNameTaken is returned by Put when another publication serves the name.
var errNameTaken = errors.New("name taken")

// NewFreeBusyFiles returns an empty set of files.
func NewFreeBusyFiles() *FreeBusyFiles { return &FreeBusyFiles{files: map[string]freeBusyFile{}} }

// HTTPPath is where a file of that name is served.
func (f *FreeBusyFiles) HTTPPath(name string) string { return "/freebusy/" + name + ".vfb" }

// Put stores owner's file; another owner's file of the same name is not replaced (Outlook's %NAME% search
// cannot tell two of them apart, so the second is refused rather than silently shadowing the first).
func (f *FreeBusyFiles) Put(name, owner string, data []byte, modified time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.conflictLocked(name, owner); err != nil {
		return err
	}
	f.files[name] = freeBusyFile{owner: owner, data: bytes.Clone(data), modified: modified}
	return nil
}

// Conflict says whether another owner serves a file of that name.
func (f *FreeBusyFiles) Conflict(name, owner string) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.conflictLocked(name, owner)
}

func (f *FreeBusyFiles) conflictLocked(name, owner string) error {
	if cur, ok := f.files[name]; ok && cur.owner != owner {
		return fmt.Errorf("%w: %s.vfb is served for %s", errNameTaken, name, cur.owner)
	}
	return nil
}

// Has reports whether owner's file of that name is being served.
func (f *FreeBusyFiles) Has(name, owner string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	cur, ok := f.files[name]
	return ok && cur.owner == owner
}

// Remove stops serving owner's file of that name (another owner's is left alone).
func (f *FreeBusyFiles) Remove(name, owner string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cur, ok := f.files[name]; ok && cur.owner == owner {
		delete(f.files, name)
	}
}

// ServeHTTP answers GET and HEAD for /freebusy/<name>.vfb, with Last-Modified so clients can poll cheaply.
func (f *FreeBusyFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "read-only", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/freebusy/")
	name, isVFB := strings.CutSuffix(rest, ".vfb")
	if !ok || !isVFB || name == "" || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	f.mu.RLock()
	file, found := f.files[name]
	f.mu.RUnlock()
	if !found {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	http.ServeContent(w, r, name+".vfb", file.modified, bytes.NewReader(file.data))
}

// Serve listens on addr until ctx ends. It is what the manager runs (on the leader: only its reconciles
// fill the files).
func (f *FreeBusyFiles) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("free/busy HTTP: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/freebusy/", f)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("free/busy HTTP: %w", err)
	}
	return nil
}
