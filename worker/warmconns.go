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
//
// A unit that is done gives its connection back (put), and the next unit takes it instead of dialing: an
// account of many folders then pays the logins of its first units only. Units select their folder
// themselves, so the mailbox a connection had selected does not matter. At most as many connections wait
// as were dialed ahead or adopted (the units that run at once), and only ones a unit gave back, so no more
// connections are open at once than units run at once.
type warmConns struct {
	mu      sync.Mutex
	pending int // dials started and not yet taken
	ready   chan *imapbulk.Conn
	wg      sync.WaitGroup
	idle    []*imapbulk.Conn // given back by units that were done
	limit   int              // how many may wait in idle
	closed  bool
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
	w.limit = n
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

// adopt adds c, a logged-in connection its owner has no more use for, to those the units take, as if it had
// been dialed ahead: call it after start.
func (w *warmConns) adopt(c *imapbulk.Conn) {
	w.mu.Lock()
	w.limit++
	w.mu.Unlock()
	w.put(c)
}

// take returns a warm connection, waiting for one still being dialed, or nil when none is left (or its dial
// failed): the caller dials then.
func (w *warmConns) take(ctx context.Context) *imapbulk.Conn {
	w.mu.Lock()
	for len(w.idle) > 0 {
		c := w.idle[len(w.idle)-1]
		w.idle = w.idle[:len(w.idle)-1]
		if c.Usable() {
			w.mu.Unlock()
			return c
		}
		c.Close()
	}
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

// takeOrDial is take, and dial when no connection waits: how a unit gets its connection.
func (w *warmConns) takeOrDial(ctx context.Context, dial func(context.Context) (*imapbulk.Conn, error)) (*imapbulk.Conn, error) {
	if c := w.take(ctx); c != nil {
		return c, nil
	}
	return dial(ctx)
}

// put gives back the connection of a unit that is done, for the next unit; one that cannot carry commands
// any more, or one too many, is closed.
func (w *warmConns) put(c *imapbulk.Conn) {
	w.mu.Lock()
	if !w.closed && len(w.idle) < w.limit && c.Usable() {
		w.idle = append(w.idle, c)
		c = nil
	}
	w.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// close waits for the dials under way and closes every connection not taken and every one given back, all
// at once: each Close waits for its LOGOUT's reply, and one after another they would add a round trip per
// connection to the end of the run.
func (w *warmConns) close() {
	w.mu.Lock()
	ready := w.ready
	w.pending = 0
	w.closed = true
	conns := w.idle
	w.idle = nil
	w.mu.Unlock()
	if ready != nil {
		w.wg.Wait()
	drained:
		for {
			select {
			case c := <-ready:
				if c != nil {
					conns = append(conns, c)
				}
			default:
				break drained
			}
		}
	}
	closeAll(conns)
}

// closeAll closes conns concurrently and returns when all are closed.
func closeAll(conns []*imapbulk.Conn) {
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { c.Close() })
	}
	wg.Wait()
}
