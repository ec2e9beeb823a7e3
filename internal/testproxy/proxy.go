// Package testproxy is a loopback TCP proxy for tests that puts faults between an IMAP client and a real
// server: a throttling reply in place of the server's answer to the Nth APPEND (as Exchange Online sends
// it), connections cut after some bytes or on demand, and latency each way.
//
// It reads plaintext IMAP (imapconn.TLSNone) well enough to see command tags and names and to skip literals;
// after STARTTLS or COMPRESS it only relays bytes. Nothing here is meant for production traffic.
package testproxy

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy relays every connection accepted on Addr to the upstream address.
type Proxy struct {
	t        testing.TB
	upstream string
	ln       net.Listener
	latency  [2]atomic.Int64 // per direction (toServer, toClient), as time.Duration

	relayed atomic.Int64 // bytes relayed in both directions

	mu       sync.Mutex
	links    map[*link]struct{}
	accepted []time.Time
	throttle *throttle
	cut      *cutAfter
	refuse   map[refusal]string
}

// refusal names one message for RefuseFetch.
type refusal struct {
	mailbox string
	uid     uint32
}

// direction of a relay.
const (
	toServer = iota
	toClient
)

// throttle is an armed ThrottleAppend.
type throttle struct {
	nth, seen int
	reply     string
	injected  chan time.Time
}

// cutAfter is an armed BreakAfter.
type cutAfter struct {
	at    int64 // the value of relayed at which every connection is cut
	fired chan struct{}
}

// New listens on 127.0.0.1 and relays to upstream ("host:port") until the test ends.
func New(t testing.TB, upstream string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testproxy: %v", err)
	}
	p := &Proxy{t: t, upstream: upstream, ln: ln, links: map[*link]struct{}{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.accept()
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return p
}

// Addr is "127.0.0.1:PORT" to connect to instead of the upstream.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Host and Port are Addr's parts, for an imapconn.Endpoint.
func (p *Proxy) Host() string { return "127.0.0.1" }
func (p *Proxy) Port() int    { return p.ln.Addr().(*net.TCPAddr).Port }

// ExchangeThrottle is the reply Exchange Online gives a client that goes too fast, after the tag.
func ExchangeThrottle(backoff time.Duration) string {
	return "NO Request is throttled. Suggested Backoff Time: " + strconv.FormatInt(backoff.Milliseconds(), 10) + " milliseconds"
}

// CyrusOutOfStep is what Cyrus sends, after the tag, when it fails an APPEND before it has read the
// literal: a refusal, then the reply to the message's first line, which it read as a command.
const CyrusOutOfStep = "NO System I/O error\r\nFrom: BAD Unrecognized command"

// ThrottleAppend arms a one-time fault: the server's tagged reply to the nth APPEND command from now on
// (counted over all connections) is replaced by "<tag> reply", and that connection is then closed, as
// Exchange closes it after throttling. The server did see and carry out that APPEND and any pipelined after
// it: the client is told otherwise, the harder case for a client that must not duplicate. The channel
// receives the moment the reply was sent. Arming again replaces a fault that has not fired.
func (p *Proxy) ThrottleAppend(nth int, reply string) <-chan time.Time {
	if nth < 1 {
		p.t.Fatalf("testproxy: ThrottleAppend(%d): counts from 1", nth)
	}
	th := &throttle{nth: nth, reply: reply, injected: make(chan time.Time, 1)}
	p.mu.Lock()
	p.throttle = th
	p.mu.Unlock()
	return th.injected
}

// RefuseFetch makes every UID FETCH of a whole message (BODY.PEEK[]) in mailbox (as the client names it in
// SELECT or EXAMINE, e.g. "INBOX") whose UID set names uid fail with reply (the server's tagged answer is
// replaced; its data still reaches the client), the way Exchange refuses a whole FETCH when it cannot serve
// one message of it ("NO [UNAVAILABLE]…" is transient; a plain NO is not).
func (p *Proxy) RefuseFetch(mailbox string, uid uint32, reply string) {
	p.mu.Lock()
	if p.refuse == nil {
		p.refuse = map[refusal]string{}
	}
	p.refuse[refusal{mailbox, uid}] = reply
	p.mu.Unlock()
}

// refusesFetch says whether a command line is a body FETCH RefuseFetch matches, and with what reply.
func (p *Proxy) refusesFetch(selected string, line []byte) (string, bool) {
	f := strings.Fields(string(line))
	if len(f) < 5 || !strings.EqualFold(f[1], "UID") || !strings.EqualFold(f[2], "FETCH") || !strings.Contains(strings.ToUpper(string(line)), "BODY.PEEK[]") {
		return "", false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, part := range strings.Split(f[3], ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, err1 := strconv.ParseUint(lo, 10, 32)
		b := a
		var err2 error
		if isRange {
			if hi == "*" {
				b = 1<<32 - 1
			} else {
				b, err2 = strconv.ParseUint(hi, 10, 32)
			}
		}
		if err1 != nil || err2 != nil {
			continue
		}
		for r, reply := range p.refuse {
			if r.mailbox == selected && uint64(r.uid) >= min(a, b) && uint64(r.uid) <= max(a, b) {
				return reply, true
			}
		}
	}
	return "", false
}

// BreakAfter arms a one-time fault: once n more bytes have been relayed (both directions together), every
// open connection is cut. The channel is closed when that happened. Arming again replaces a fault that has
// not fired.
func (p *Proxy) BreakAfter(n int64) <-chan struct{} {
	c := &cutAfter{at: p.relayed.Load() + n, fired: make(chan struct{})}
	p.mu.Lock()
	p.cut = c
	p.mu.Unlock()
	return c.fired
}

// Break cuts every open connection now (a reset to both sides) and returns how many it cut. New
// connections are relayed as before.
func (p *Proxy) Break() int {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	n := 0
	for _, l := range links {
		if l.reset() {
			n++
		}
	}
	return n
}

// SetLatency delays every chunk relayed to the server by toServer and every chunk relayed to the client by
// toClient, without limiting throughput (chunks overlap in flight). It applies to data relayed from then on.
func (p *Proxy) SetLatency(toServerDelay, toClientDelay time.Duration) {
	p.latency[toServer].Store(int64(toServerDelay))
	p.latency[toClient].Store(int64(toClientDelay))
}

// Accepted returns when each connection so far was accepted, in order.
func (p *Proxy) Accepted() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.accepted...)
}

// Relayed returns how many bytes were relayed so far, both directions together.
func (p *Proxy) Relayed() int64 { return p.relayed.Load() }

// accept relays connections until the listener is closed, then cuts those still open and waits for them.
func (p *Proxy) accept() {
	var wg sync.WaitGroup
	for {
		client, err := p.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				p.t.Logf("testproxy: accept: %v", err)
			}
			p.Break() // every link is registered: they are only made here
			wg.Wait()
			return
		}
		p.mu.Lock()
		p.accepted = append(p.accepted, time.Now())
		p.mu.Unlock()
		server, err := net.Dial("tcp", p.upstream)
		if err != nil {
			p.t.Logf("testproxy: dial %s: %v", p.upstream, err)
			client.Close()
			continue
		}
		l := newLink(p, client, server)
		p.mu.Lock()
		p.links[l] = struct{}{}
		p.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.run()
			p.mu.Lock()
			delete(p.links, l)
			p.mu.Unlock()
		}()
	}
}

// countAppend is called for every APPEND command a client starts; it tells whether this is the one whose
// reply must be replaced, and with what.
func (p *Proxy) countAppend() (*throttle, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	th := p.throttle
	if th == nil {
		return nil, false
	}
	th.seen++
	if th.seen < th.nth {
		return nil, false
	}
	p.throttle = nil
	return th, true
}

// relayedBytes counts n relayed bytes and cuts every connection when an armed BreakAfter is due.
func (p *Proxy) relayedBytes(n int) {
	total := p.relayed.Add(int64(n))
	p.mu.Lock()
	c := p.cut
	if c == nil || total < c.at {
		p.mu.Unlock()
		return
	}
	p.cut = nil
	p.mu.Unlock()
	p.Break()
	close(c.fired)
}
