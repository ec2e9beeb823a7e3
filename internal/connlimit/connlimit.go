// Package connlimit bounds how many connections one process opens to each mail server at once. Every part
// of the manager that talks to a server (the controllers' checks, in-process migration runs) takes its
// slots from the same Limiter, so a server's limit holds across all of them, and a slow or dead server only
// ever occupies its own slots.
package connlimit

import (
	"context"
	"sync"
)

// Limiter hands out connection slots per key (a MailServer's namespace/name). The limit is given with each
// Acquire, because it lives in the MailServer's spec and may change at any time: a lowered limit holds for
// new acquisitions at once; slots already held are not taken back.
type Limiter struct {
	mu      sync.Mutex
	servers map[string]*server
}

type server struct {
	inUse   int
	waiters []*waiter // first come, first served
}

type waiter struct {
	n     int
	limit int
	ready chan struct{} // closed when the slots were granted
}

// New returns an empty Limiter.
func New() *Limiter { return &Limiter{servers: map[string]*server{}} }

// Release gives back slots taken by Acquire. Calling it more than once is harmless.
type Release func()

// Acquire waits until n slots for key are free under limit (at least 1; n above limit is cut to limit, so a
// request larger than the server allows still runs, alone) and takes them. It fails only when ctx ends first.
func (l *Limiter) Acquire(ctx context.Context, key string, n, limit int) (Release, error) {
	limit = max(limit, 1)
	n = min(max(n, 1), limit)
	l.mu.Lock()
	s := l.servers[key]
	if s == nil {
		s = &server{}
		l.servers[key] = s
	}
	if len(s.waiters) == 0 && s.inUse+n <= limit {
		s.inUse += n
		l.mu.Unlock()
		return l.releaser(key, n), nil
	}
	w := &waiter{n: n, limit: limit, ready: make(chan struct{})}
	s.waiters = append(s.waiters, w)
	l.mu.Unlock()

	select {
	case <-w.ready:
		return l.releaser(key, n), nil
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		select {
		case <-w.ready:
			// Granted while giving up: hand the slots on.
			s.inUse -= n
		default:
			for i, o := range s.waiters {
				if o == w {
					s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
					break
				}
			}
		}
		l.grant(key, s)
		return nil, ctx.Err()
	}
}

func (l *Limiter) releaser(key string, n int) Release {
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			s := l.servers[key]
			s.inUse -= n
			l.grant(key, s)
		})
	}
}

// grant wakes waiters in order while their slots fit, and forgets a server nobody uses. l.mu is held.
func (l *Limiter) grant(key string, s *server) {
	for len(s.waiters) > 0 {
		w := s.waiters[0]
		if s.inUse+w.n > w.limit {
			break
		}
		s.inUse += w.n
		s.waiters = s.waiters[1:]
		close(w.ready)
	}
	if s.inUse == 0 && len(s.waiters) == 0 {
		delete(l.servers, key)
	}
}

// InUse reports how many slots of key are held.
func (l *Limiter) InUse(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.servers[key]; s != nil {
		return s.inUse
	}
	return 0
}
