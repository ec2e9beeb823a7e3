package imapconn

import (
	"fmt"
	"io"
	"sync"
)

// Limits on what a server may send. go-imap keeps each response in memory while it parses it and has no
// limits of its own: without these, a server that sends an endless line, an unterminated quoted string or
// announces a literal of a gigabyte makes the client allocate without end. Anyone who can point a
// MailServer at a host of their own controls what the manager reads, so every response is bounded.
const (
	// MaxResponseBytes bounds one server response: its lines and literals together (a response goes on
	// after a literal until a line ends without announcing another). imapbulk applies the same bound to
	// response text; only the message bodies it streams to disk may be larger.
	MaxResponseBytes = 16 << 20
	// MaxCommandBytes bounds everything read between two commands the client sends: the untagged data
	// of one command (a LIST of a large hierarchy) and whatever the server sends unasked.
	MaxCommandBytes = 64 << 20
	// MaxHandshakeBytes bounds everything read before a front end takes the connection over (greeting,
	// STARTTLS, authentication, capabilities), and everything Probe reads. One response of that phase
	// may be as long, too.
	MaxHandshakeBytes = 1 << 20
)

// BoundedReader sits beneath go-imap (the imapsession front end) and follows the stream just enough to find where responses end:
// a line ending in {n} (or {n+}) is followed by a literal of n bytes and the response goes on after it.
// It fails the stream when a response exceeds maxResponse, a literal is announced that would, or more
// than budget bytes arrive before the client writes again (when resetOnWrite) or at all.
type BoundedReader struct {
	r io.Reader

	mu           sync.Mutex
	maxResponse  int64
	budget       int64 // bytes allowed between writes (or in all, without resetOnWrite)
	left         int64 // budget left
	response     int64 // bytes of the current response so far
	literal      int64 // bytes of a literal still to come
	lit          litScan
	err          error
	resetOnWrite bool
}

// litScan recognises "{digits[+-]}" CR LF at the end of a line.
type litScan struct {
	state  uint8 // 0 nothing, 1 in digits after '{', 2 after '}', 3 after '}' CR
	n      int64
	digits int
}

// NewBoundedReader bounds r: one response to maxResponse bytes, and budget bytes between writes
// (resetOnWrite) or in all.
func NewBoundedReader(r io.Reader, maxResponse, budget int64, resetOnWrite bool) *BoundedReader {
	return &BoundedReader{r: r, maxResponse: maxResponse, budget: budget, left: budget, resetOnWrite: resetOnWrite}
}

// Wrote tells the reader that the client sent something: a new command's budget starts.
func (b *BoundedReader) Wrote() {
	if b == nil {
		return
	}
	b.mu.Lock()
	if b.resetOnWrite && b.err == nil {
		b.left = b.budget
	}
	b.mu.Unlock()
}

// SetBudget replaces the byte budget (and stops restoring it on writes).
func (b *BoundedReader) SetBudget(n int64) {
	b.mu.Lock()
	b.budget, b.left, b.resetOnWrite = n, n, false
	b.mu.Unlock()
}

// OverLimit returns the error that failed the stream, nil if none did.
func (b *BoundedReader) OverLimit() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *BoundedReader) Read(p []byte) (int, error) {
	b.mu.Lock()
	if err := b.err; err != nil {
		b.mu.Unlock()
		return 0, err
	}
	b.mu.Unlock()
	n, rerr := b.r.Read(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.scan(p[:n]); err != nil {
		b.err = err
		return 0, err
	}
	return n, rerr
}

func (b *BoundedReader) scan(p []byte) error {
	b.left -= int64(len(p))
	if b.left < 0 {
		if b.resetOnWrite {
			return fmt.Errorf("%w: more than %s for one command", ErrResponseTooLarge, mib(b.budget))
		}
		return fmt.Errorf("%w: more than %s in all", ErrResponseTooLarge, mib(b.budget))
	}
	for i := 0; i < len(p); {
		if b.literal > 0 {
			k := min(int64(len(p)-i), b.literal)
			b.literal -= k
			b.response += k
			i += int(k)
			continue
		}
		ch := p[i]
		i++
		b.response++
		if b.response > b.maxResponse {
			return fmt.Errorf("%w: one response longer than %s (a line, quoted string or list that does not end)",
				ErrResponseTooLarge, mib(b.maxResponse))
		}
		switch {
		case ch == '{':
			b.lit = litScan{state: 1}
		case b.lit.state == 1 && ch >= '0' && ch <= '9':
			if b.lit.n < 1e15 { // beyond, the size is absurd anyway; only avoid overflowing
				b.lit.n = b.lit.n*10 + int64(ch-'0')
			}
			b.lit.digits++
		case b.lit.state == 1 && (ch == '+' || ch == '-') && b.lit.digits > 0:
			// LITERAL+ / LITERAL- marker; '}' must follow.
		case b.lit.state == 1 && ch == '}' && b.lit.digits > 0:
			b.lit.state = 2
		case b.lit.state == 2 && ch == '\r':
			b.lit.state = 3
		case ch == '\n':
			if b.lit.state == 2 || b.lit.state == 3 {
				if b.response+b.lit.n > b.maxResponse {
					return fmt.Errorf("%w: the server announced a literal of %d bytes; one response may have at most %s",
						ErrResponseTooLarge, b.lit.n, mib(b.maxResponse))
				}
				b.literal = b.lit.n
			} else {
				b.response = 0 // the response is complete
			}
			b.lit = litScan{}
		default:
			b.lit = litScan{}
		}
	}
	return nil
}

func mib(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
