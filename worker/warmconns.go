package worker

import (
	"context"
	"sync"

	"github.com/mailshift/mailshift/internal/imapbulk"
)

// warmConns holds connections dialed ahead of need: a run knows, once the folders are listed, how many
// connections its first units will open on each side, and dials them while it creates the target folders
// and reads their attributes. A unit then starts on a logged-in connection instead of paying a dial and a
// login (several round trips, and the server's start of a session) on the path of its first message. A
// warm connection is taken at most once; those left over, and those whose taker gave up waiting, are closed
// by close. A failed dial is not reported: the taker dials again itself and gets the error then.
type warmConns struct {
	mu      sync.Mutex
	pending int // dials started and not yet taken
	ready   chan *imapbulk.Conn
	wg      sync.WaitGroup
}

// start dials n connections in the background with dial.
func (w *warmConns) start(ctx context.Context, n int, dial func(context.Context) (*imapbulk.Conn, error)) {
	if n <= 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ready != nil {
		return // once per run
	}
	w.ready = make(chan *imapbulk.Conn, n)
	w.pending = n
	w.wg.Add(n)
	for range n {
		go func() {
			defer w.wg.Done()
			c, err := dial(ctx)
			if err != nil {
				c = nil
			}
			w.ready <- c
		}()
	}
}

// take returns a warm connection, waiting for one still being dialed, or nil when none is left (or its dial
// failed): the caller dials then.
func (w *warmConns) take(ctx context.Context) *imapbulk.Conn {
	w.mu.Lock()
	if w.pending == 0 {
		w.mu.Unlock()
		return nil
	}
	w.pending--
	w.mu.Unlock()
	select {
	case c := <-w.ready:
		return c
	case <-ctx.Done():
		return nil // the connection, when it comes, is closed by close
	}
}

// close waits for the dials under way and closes every connection not taken.
func (w *warmConns) close() {
	w.mu.Lock()
	ready := w.ready
	w.pending = 0
	w.mu.Unlock()
	if ready == nil {
		return
	}
	w.wg.Wait()
	for {
		select {
		case c := <-ready:
			if c != nil {
				c.Close()
			}
		default:
			return
		}
	}
}
