package testproxy

import (
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// link is one proxied connection: a client and the server connection opened for it.
type link struct {
	p              *Proxy
	client, server net.Conn
	closed         atomic.Bool

	mu sync.Mutex
	// throttled is the armed fault whose tag is throttleTag: the server's reply with that tag is replaced.
	throttled   *throttle
	throttleTag string
	// opaqueTag is the tag of a STARTTLS or COMPRESS: after the server's reply to it the bytes mean
	// nothing to a line reader, and are only relayed.
	opaqueTag string
	// refused are the tags of FETCH commands whose answer RefuseFetch replaces, with the reply.
	refused map[string]string
	// selected is the mailbox the last SELECT or EXAMINE named (as sent: quoted, modified UTF-7).
	selected string
}

func newLink(p *Proxy, client, server net.Conn) *link {
	return &link{p: p, client: client, server: server}
}

// run relays both directions until either side closes or the link is cut.
func (l *link) run() {
	up := newDelayedWriter(l.server, l.p, toServer)
	down := newDelayedWriter(l.client, l.p, toClient)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		l.relayCommands(up)
		up.finish()
		l.close()
	}()
	go func() {
		defer wg.Done()
		l.relayResponses(down)
		down.finish()
		l.close()
	}()
	wg.Wait()
}

// close closes both connections; it returns false when they were closed already.
func (l *link) close() bool {
	if !l.closed.CompareAndSwap(false, true) {
		return false
	}
	l.client.Close()
	l.server.Close()
	return true
}

// reset cuts the link abruptly, so that both peers see a connection reset rather than an orderly close;
// it returns false when the link was closed already.
func (l *link) reset() bool {
	if l.closed.Load() {
		return false
	}
	for _, c := range []net.Conn{l.client, l.server} {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
	}
	return l.close()
}

// relayCommands copies the client's bytes to the server, reading them as IMAP commands to see which are
// APPENDs. After STARTTLS or COMPRESS the bytes mean nothing to a line reader and are only relayed.
func (l *link) relayCommands(w *delayedWriter) {
	sc := newScanner(l.client)
	for {
		piece, err := sc.next()
		opaque := false
		if piece.start {
			opaque = l.command(piece.data)
		}
		if len(piece.data) > 0 && !w.write(piece.data) {
			return
		}
		if err != nil {
			return
		}
		if opaque {
			w.copyAll(sc.r)
			return
		}
	}
}

// command looks at the first line of a client command; it returns true for STARTTLS and COMPRESS.
func (l *link) command(line []byte) bool {
	tag, name := tagAndWord(line)
	if tag == "" {
		return false
	}
	switch name {
	case "APPEND":
		if th, ok := l.p.countAppend(); ok {
			l.mu.Lock()
			l.throttled, l.throttleTag = th, tag
			l.mu.Unlock()
		}
	case "SELECT", "EXAMINE":
		if f := strings.Fields(string(line)); len(f) >= 3 {
			l.mu.Lock()
			l.selected = strings.Trim(f[2], `"`)
			l.mu.Unlock()
		}
	case "UID":
		l.mu.Lock()
		selected := l.selected
		l.mu.Unlock()
		if reply, ok := l.p.refusesFetch(selected, line); ok {
			l.mu.Lock()
			if l.refused == nil {
				l.refused = map[string]string{}
			}
			l.refused[tag] = reply
			l.mu.Unlock()
		}
	case "STARTTLS", "COMPRESS":
		l.mu.Lock()
		l.opaqueTag = tag
		l.mu.Unlock()
		return true
	}
	return false
}

// relayResponses copies the server's bytes to the client, replacing the reply an armed throttle waits for.
func (l *link) relayResponses(w *delayedWriter) {
	sc := newScanner(l.server)
	for {
		piece, err := sc.next()
		var replaced, opaque bool
		if piece.start {
			replaced, opaque = l.response(piece.data, w)
		}
		if replaced {
			return
		}
		if piece.start && l.dropRefused(piece.data, w) {
			continue
		}
		if len(piece.data) > 0 && !w.write(piece.data) {
			return
		}
		if err != nil {
			return
		}
		if opaque {
			w.copyAll(sc.r)
			return
		}
	}
}

// response looks at the first line of a server response. replaced: it sent the throttling reply instead,
// and the link is done. opaque: it answers STARTTLS or COMPRESS, and what follows is only relayed.
func (l *link) response(line []byte, w *delayedWriter) (replaced, opaque bool) {
	tag, _ := tagAndWord(line)
	if tag == "" || tag == "*" || tag == "+" {
		return false, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.throttled != nil && tag == l.throttleTag:
		th := l.throttled
		l.throttled = nil
		w.write([]byte(tag + " " + th.reply + "\r\n"))
		w.finish() // the reply reaches the client before the connection closes
		th.injected <- time.Now()
		return true, false
	case tag == l.opaqueTag:
		return false, true
	}
	return false, false
}

// dropRefused replaces the server's tagged answer to a command RefuseFetch matched with the refusal; the
// link goes on. It reports whether it did.
func (l *link) dropRefused(line []byte, w *delayedWriter) bool {
	tag, _ := tagAndWord(line)
	l.mu.Lock()
	reply := l.refused[tag]
	delete(l.refused, tag)
	l.mu.Unlock()
	if reply == "" || tag == "*" || tag == "+" {
		return false
	}
	w.write([]byte(tag + " " + reply + "\r\n"))
	return true
}

// delayedWriter writes relayed chunks to one peer, each when its latency has passed.
type delayedWriter struct {
	conn  net.Conn
	p     *Proxy
	dir   int
	queue chan chunk
	done  chan struct{}
	once  sync.Once
	mu    sync.Mutex
	err   error
}

type chunk struct {
	data []byte
	due  time.Time
}

func newDelayedWriter(conn net.Conn, p *Proxy, dir int) *delayedWriter {
	w := &delayedWriter{conn: conn, p: p, dir: dir, queue: make(chan chunk, 64), done: make(chan struct{})}
	go w.loop()
	return w
}

func (w *delayedWriter) loop() {
	defer close(w.done)
	failed := false
	for c := range w.queue {
		if failed {
			continue // drain, so that write never blocks on a dead peer
		}
		if d := time.Until(c.due); d > 0 {
			time.Sleep(d) // the latency being simulated, not synchronization
		}
		if _, err := w.conn.Write(c.data); err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
			failed = true
			continue
		}
		w.p.relayedBytes(len(c.data))
	}
}

// write queues a copy of b; false when the peer is gone.
func (w *delayedWriter) write(b []byte) bool {
	w.mu.Lock()
	err := w.err
	w.mu.Unlock()
	if err != nil {
		return false
	}
	due := time.Now().Add(time.Duration(w.p.latency[w.dir].Load()))
	w.queue <- chunk{data: append([]byte(nil), b...), due: due}
	return true
}

// copyAll relays r without looking at it, until it ends.
func (w *delayedWriter) copyAll(r io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 && !w.write(buf[:n]) {
			return
		}
		if err != nil {
			return
		}
	}
}

// finish waits until everything queued was written (or the peer failed).
func (w *delayedWriter) finish() {
	w.once.Do(func() { close(w.queue) })
	<-w.done
}
