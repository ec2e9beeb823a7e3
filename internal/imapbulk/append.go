package imapbulk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/redact"
)

// Message is one message to append.
type Message struct {
	Flags []string  // e.g. `\Seen`, `$Forwarded`, custom keywords
	Date  time.Time // INTERNALDATE, sent in its own zone; zero: the server's clock
	// Size is the exact number of bytes Body yields. A Body that yields
	// fewer or more fails the message (ErrSizeMismatch); a partial message
	// is never stored.
	Size int64
	Body io.Reader
}

// AppendResult is the outcome for one message, in the order given.
type AppendResult struct {
	// UID and UIDValidity come from APPENDUID (RFC 4315 UIDPLUS); 0 when
	// the server does not report them.
	UID, UIDValidity uint32
	// Err is nil when the server stored the message. Test it with
	// errors.Is (ErrTooBig, ErrTryCreate, ErrOverQuota, ErrSizeMismatch,
	// ErrNotSent, ErrConnectionLost), errors.As (*ThrottledError) and
	// IsTransient.
	Err error
}

// Limiter paces the transfer; *rate.Limiter from golang.org/x/time/rate
// satisfies it. Byte limiters are asked for at most LimiterChunk bytes at a
// time, so their burst must be at least that.
type Limiter interface {
	WaitN(ctx context.Context, n int) error
}

// LimiterChunk is the largest n passed to AppendOptions.Bytes.WaitN.
const LimiterChunk = 32 << 10

// AppendOptions tune Append. The zero value is the default.
type AppendOptions struct {
	// Window is how many APPEND commands may await their reply at once
	// (default 32). 1 sends one at a time.
	Window int
	// Batch is how many messages go into one APPEND command when the
	// server offers MULTIAPPEND (RFC 3502); default 1 (no batching).
	// Batched commands are pipelined like single ones. A batch is atomic:
	// one refused message fails all of it, each with ErrBatchRefused, and
	// AppendOneByOne finds out which ones the server takes alone.
	Batch int
	// Bytes, when set, is waited on for every chunk of message data;
	// Messages for every message.
	Bytes, Messages Limiter
	// SyncLiterals forces synchronizing literals (one round trip per
	// message) even when the server offers LITERAL+; for comparison and
	// for servers that mis-implement it.
	SyncLiterals bool
}

const (
	defaultWindow = 32
	// preloadLimit: bodies up to this size are read before their command
	// is written, so that a size mismatch fails only that message. Larger
	// bodies are streamed; a mismatch then closes the connection before
	// the command completes (the server discards the partial message).
	preloadLimit = 1 << 20
	// maxAppendSize is the largest literal RFC 9051 allows (number).
	maxAppendSize = 1<<32 - 1
)

// SetAppendOptions sets the options later Append calls use.
func (c *Conn) SetAppendOptions(o AppendOptions) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.appendOpts = o
}

// BytesWritten returns the message bytes Append has handed to the
// connection so far (for progress reports and rate accounting).
func (c *Conn) BytesWritten() int64 { return c.stats.bytesWritten.Load() }

// MessagesAppended returns how many messages the server confirmed.
func (c *Conn) MessagesAppended() int64 { return c.stats.messagesAppended.Load() }

// Append stores msgs in mailbox. With LITERAL+ (RFC 7888; LITERAL- for
// bodies up to 4096 bytes) it pipelines: commands with non-synchronizing
// literals are written back to back while the replies are read
// concurrently, at most Window unanswered at a time. Without either it
// sends one message at a time with synchronizing literals. Every APPEND
// carries the message's flags and INTERNALDATE.
//
// A refusal (NO) fails only the messages of that command; a lost
// connection (BYE, EOF, reset) fails every message not yet confirmed with
// a transient error, those never sent with ErrNotSent. The returned error
// is non-nil only when the call as a whole failed: invalid arguments, a
// context that ended (Timeout; the Conn is then closed) or a broken
// connection — per-message outcomes are in the results, always one per
// message. For speed on Dovecot, Select the mailbox first.
func (c *Conn) Append(ctx context.Context, mailbox string, msgs []Message) ([]AppendResult, error) {
	return c.append(ctx, mailbox, msgs, false)
}

// AppendOneByOne is Append with one message per command whatever
// AppendOptions.Batch says: for the messages of a MULTIAPPEND batch that
// failed as a whole (ErrBatchRefused), so that only those the server
// refuses on their own fail.
func (c *Conn) AppendOneByOne(ctx context.Context, mailbox string, msgs []Message) ([]AppendResult, error) {
	return c.append(ctx, mailbox, msgs, true)
}

func (c *Conn) append(ctx context.Context, mailbox string, msgs []Message, oneByOne bool) ([]AppendResult, error) {
	op := "APPEND " + mailbox
	if mailbox == "" {
		return make([]AppendResult, len(msgs)), localErr(imapconn.ProtocolError, op, "empty mailbox name")
	}
	if len(msgs) == 0 {
		return []AppendResult{}, nil
	}
	s := c.appendStream(ctx, op)
	b := s.send(mailbox, msgs, oneByOne)
	err := s.Close()
	return b.results, err
}

// AppendStream pipelines batches of APPENDs on one connection: a batch is
// written as soon as the ones before it are, without waiting for their
// replies, so that a caller appending batch after batch keeps the
// connection busy instead of paying a round trip per batch. Each batch's
// results come when every command of it is answered (AppendBatch.Wait);
// batches are written in the order they were sent, and a command never
// holds messages of two batches. The stream has the Conn to itself until
// Close: other calls on the Conn wait until then. Outcomes are those of
// Append.
type AppendStream struct {
	c    *Conn
	wake chan struct{} // one token: the writer has something to look at
	done chan struct{} // closed when the stream has ended and every batch has its results
	err  error         // set before done is closed

	mu      sync.Mutex
	queue   []*AppendBatch // sent, not yet taken by the writer
	closing bool
	failed  error // the stream has ended with this error: a batch sent now fails at once
}

// AppendBatch is one batch of an AppendStream.
type AppendBatch struct {
	op       string
	mbox     string // encoded, quoted
	msgs     []Message
	results  []AppendResult
	oneByOne bool
	done     chan struct{}
	err      error // the stream's error, when it ended before the batch was answered

	// Guarded by the appender's writerMu once the writer has taken the batch.
	sent, answered []bool
	open           int  // commands written and not yet answered
	written        bool // the writer is done with it
	closed         bool // done is closed
}

// Wait returns the batch's results, one per message in order, once every
// message has its outcome. err is non-nil when the stream ended (a lost
// connection, its context) before the batch was answered; the results then
// say which messages were sent (transient errors) and which were not
// (ErrNotSent).
func (b *AppendBatch) Wait() ([]AppendResult, error) {
	<-b.done
	return b.results, b.err
}

// AppendStream starts a stream on c. It ends with Close, which must be
// called; ctx bounds all of it, as it bounds Append.
func (c *Conn) AppendStream(ctx context.Context) *AppendStream {
	return c.appendStream(ctx, "APPEND")
}

func (c *Conn) appendStream(ctx context.Context, op string) *AppendStream {
	s := &AppendStream{c: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		err := c.exec(ctx, op, func(ctx context.Context) error {
			return c.newAppender(ctx, op, s).run()
		})
		if errors.Is(err, errAppendDone) {
			err = nil
		}
		if err != nil {
			s.fail(err)
		}
		s.err = err
	}()
	return s
}

// Send queues msgs for mailbox and returns at once; the batch is written
// after the batches sent before it. oneByOne sends one message per command
// whatever AppendOptions.Batch says (see AppendOneByOne).
func (s *AppendStream) Send(mailbox string, msgs []Message, oneByOne bool) *AppendBatch {
	if mailbox == "" {
		b := &AppendBatch{results: make([]AppendResult, len(msgs)), done: make(chan struct{})}
		err := localErr(imapconn.ProtocolError, "APPEND", "empty mailbox name")
		b.finish(err, err)
		return b
	}
	return s.send(mailbox, msgs, oneByOne)
}

func (s *AppendStream) send(mailbox string, msgs []Message, oneByOne bool) *AppendBatch {
	b := &AppendBatch{op: "APPEND " + mailbox, msgs: msgs, results: make([]AppendResult, len(msgs)), oneByOne: oneByOne,
		done: make(chan struct{}), sent: make([]bool, len(msgs)), answered: make([]bool, len(msgs))}
	if strings.EqualFold(mailbox, "INBOX") {
		b.mbox = "INBOX"
	} else {
		b.mbox, _ = quote(imapconn.EncodeUTF7(mailbox)) // modified UTF-7 is printable ASCII
	}
	s.mu.Lock()
	switch {
	case s.failed != nil:
		s.mu.Unlock()
		b.failAll(s.failed)
		return b
	case s.closing:
		s.mu.Unlock()
		b.failAll(localErr(imapconn.ProtocolError, b.op, "append stream already closed"))
		return b
	}
	s.queue = append(s.queue, b)
	s.mu.Unlock()
	s.signal()
	return b
}

// Close lets the writer finish what was sent, waits until every batch has
// its results and ends the stream. The error is the stream's, as Append's.
func (s *AppendStream) Close() error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.signal()
	<-s.done
	return s.err
}

func (s *AppendStream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// next takes the next batch for the writer; ok is false once the stream
// is closing and nothing is left.
func (s *AppendStream) next() (b *AppendBatch, ok, closing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) > 0 {
		b = s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		return b, true, false
	}
	return nil, false, s.closing
}

// fail ends the stream with err: every batch still queued fails unsent.
func (s *AppendStream) fail(err error) {
	s.mu.Lock()
	if s.failed == nil {
		s.failed = err
	}
	queue := s.queue
	s.queue = nil
	s.mu.Unlock()
	for _, b := range queue {
		b.failAll(err)
	}
}

// failAll settles a batch no writer has taken: nothing of it was sent.
func (b *AppendBatch) failAll(err error) {
	b.finish(err, fmt.Errorf("%w: %w", ErrNotSent, err))
}

// finish ends b with err, giving each message without an outcome each.
func (b *AppendBatch) finish(err, each error) {
	b.err = err
	for i := range b.results {
		if b.results[i].Err == nil {
			b.results[i].Err = each
		}
	}
	b.closed = true
	close(b.done)
}

// errAppendDone is never returned; it only marks results as final.
var errAppendDone = errors.New("append done")

// appendCmd is one APPEND command on the wire, with messages of one batch.
type appendCmd struct {
	tag     string
	b       *AppendBatch
	mu      sync.Mutex
	idx     []int // the batch's messages in the command, in order
	aborted error // set when the writer gave up mid-command
}

func (ac *appendCmd) indices() []int {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	return append([]int(nil), ac.idx...)
}

// appender runs a stream while it has the connection: the stream's
// goroutine reads replies, a second one writes commands.
type appender struct {
	c    *Conn
	s    *AppendStream
	ctx  context.Context
	op   string
	opts AppendOptions

	window   chan struct{} // one token per unanswered command
	cmds     chan *appendCmd
	stop     chan struct{} // closed when the reader gives up
	contCh   chan bool     // reader → writer: continuation (true) or refusal (false)
	writerMu sync.Mutex
	awaiting *appendCmd     // the command waiting for a continuation
	current  *appendCmd     // the command whose reply the reader waits for
	open     []*AppendBatch // taken by the writer and not done; guarded by writerMu
	// writeFailed: a write failed while the reader was still reading, so the write's error is the cause
	// (set by the writer before it ends the reads; read by run once both are done).
	writeFailed atomic.Bool

	limit int64 // APPENDLIMIT, 0 when none
	buf   []byte
	// Capabilities, read once: the reader goroutine may update c.caps.
	literalPlus, literalMinus bool
}

func (c *Conn) newAppender(ctx context.Context, op string, s *AppendStream) *appender {
	o := c.appendOpts
	pipelined := !o.SyncLiterals && (c.has("LITERAL+") || c.has("LITERAL-"))
	if o.Window <= 0 {
		o.Window = defaultWindow
	}
	if !pipelined {
		o.Window = 1
	}
	if o.Batch <= 1 || !c.has("MULTIAPPEND") {
		o.Batch = 1
	}
	a := &appender{
		c: c, s: s, ctx: ctx, op: op, opts: o,
		window: make(chan struct{}, o.Window),
		cmds:   make(chan *appendCmd, o.Window+1),
		stop:   make(chan struct{}),
		contCh: make(chan bool, 1),
	}
	a.literalPlus, a.literalMinus = c.has("LITERAL+"), c.has("LITERAL-")
	if v, ok := c.capValue("APPENDLIMIT"); ok && v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			a.limit = n
		}
	}
	return a
}

func (a *appender) run() error {
	writerDone := make(chan error, 1)
	go func() { writerDone <- a.write() }()
	readErr := a.read()
	if readErr != nil {
		close(a.stop)
		a.c.netConn.Close() // unblocks a writer stuck in a write
	}
	writeErr := <-writerDone
	if writeErr != nil && (readErr == nil || a.writeFailed.Load() && imapconn.KindOf(readErr) == imapconn.Timeout) {
		// The write's failure is the cause; a read that timed out after it only waited for the last replies.
		readErr = writeErr
	}
	if readErr == nil {
		return errAppendDone
	}
	// The connection is gone: settle every message still open.
	var fatal error
	if ctxErr := a.ctx.Err(); ctxErr != nil {
		fatal = &imapconn.Error{Kind: imapconn.Timeout, Op: a.op, Err: ctxErr}
	} else {
		fatal = readErr
	}
	a.writerMu.Lock()
	defer a.writerMu.Unlock()
	for _, b := range a.open {
		for i := range b.results {
			switch {
			case b.answered[i] || b.results[i].Err != nil:
			case b.sent[i]:
				b.results[i].Err = fatal
			default:
				b.results[i].Err = fmt.Errorf("%w: %w", ErrNotSent, fatal)
			}
		}
		b.err = fatal
		b.closed = true
		close(b.done)
	}
	a.open = nil
	a.c.broken = &brokenError{cause: fatal}
	return fatal
}

// batchDone closes b's done once the writer is done with it and every
// command of it is answered. Called with writerMu held.
func (a *appender) batchDone(b *AppendBatch) {
	if !b.written || b.open > 0 || b.closed {
		return
	}
	b.closed = true
	close(b.done)
	for k, o := range a.open {
		if o == b {
			a.open = append(a.open[:k], a.open[k+1:]...)
			break
		}
	}
}

// read handles replies until the writer is done and every command is
// answered. A non-nil result means the connection is unusable.
func (a *appender) read() error {
	c := a.c
	for cmd := range a.cmds {
		a.writerMu.Lock()
		a.current = cmd
		aborted := cmd.aborted
		a.writerMu.Unlock()
		if aborted != nil {
			// Every earlier command is answered; the server holds half of
			// this one. Closing discards it.
			c.netConn.Close()
			return aborted
		}
		var bye *response
		for {
			r, err := c.readResponse()
			if err != nil {
				a.writerMu.Lock()
				aborted := cmd.aborted
				a.writerMu.Unlock()
				if aborted != nil {
					return aborted
				}
				if bye != nil {
					return statusErr(a.op, bye, false, c.secrets)
				}
				return ioErr(a.op, err, a.ctx.Err(), c.secrets)
			}
			if r.tag == "+" {
				a.writerMu.Lock()
				waiting := a.awaiting == cmd
				if waiting {
					a.awaiting = nil
				}
				a.writerMu.Unlock()
				if !waiting {
					return outOfStep(a.op, "unexpected continuation request")
				}
				a.contCh <- true
				continue
			}
			if r.tag == "*" {
				if r.status == "BYE" {
					bye = r
				}
				continue
			}
			if r.tag != cmd.tag {
				return outOfStep(a.op, "reply for unexpected tag %q", truncate(r.tag))
			}
			if r.status == "NO" && r.code == "" {
				if tag, ok := c.p.bufferedTag(); ok && tag != "*" && tag != "+" && !ownTag(tag) {
					// Cyrus refuses an APPEND it failed before reading the literal, then reads the
					// message's first line as a command and answers that ("From: BAD ..."). A refusal
					// followed at once by a reply for a tag never sent is no verdict on the messages
					// (the server may have stored them): the command is left unanswered, as on a lost
					// connection, so that it is retried on a new one.
					return outOfStep(a.op, "reply for unexpected tag %q after %q", truncate(tag), truncate(r.text))
				}
			}
			a.settle(cmd, r)
			<-a.window
			break
		}
	}
	return nil
}

// settle records the tagged reply for cmd.
func (a *appender) settle(cmd *appendCmd, r *response) {
	idx := cmd.indices()
	b := cmd.b
	a.writerMu.Lock()
	defer a.writerMu.Unlock()
	if a.awaiting == cmd {
		// Refused before the literal was sent (RFC 7889 allows NO
		// [TOOBIG] instead of a continuation).
		a.awaiting = nil
		a.contCh <- false
	}
	b.open--
	defer a.batchDone(b)
	if cmd.aborted != nil && r.status != "OK" {
		// The writer gave up on this command mid-message (a body that did not match its size) and set
		// the outcome then; the server's refusal of the cut-off command says nothing more.
		return
	}
	uidValidity, uids, err := appendOutcome(r, len(idx), b.op, a.c.secrets)
	for k, i := range idx {
		b.answered[i] = true
		b.results[i].Err = err
		if err == nil {
			a.c.stats.messagesAppended.Add(1)
			b.results[i].UIDValidity = uidValidity
			if uids != nil {
				b.results[i].UID = uids[k]
			}
		}
	}
}

// appendOutcome reads the tagged reply r to an APPEND command of n messages: the refusal (of them all), or
// the UIDVALIDITY and the messages' UIDs in order ([APPENDUID]; nil when the server gave none that fit).
func appendOutcome(r *response, n int, op string, secrets *redact.Set) (uidValidity uint32, uids []uint32, err error) {
	if r.status != "OK" {
		err = statusErr(op, r, false, secrets)
		if n > 1 {
			err = fmt.Errorf("%w: batch of %d messages refused as a whole: %w", ErrBatchRefused, n, err)
		}
		return 0, nil, err
	}
	if r.code == "APPENDUID" {
		uidValidity, uids = parseAppendUID(r.args)
		if len(uids) != n {
			uids = nil
		}
	}
	return uidValidity, uids, nil
}

// parseAppendUID parses "uidvalidity uid-set" of [APPENDUID] (RFC 4315
// §3); for MULTIAPPEND the set lists one UID per message, in order.
func parseAppendUID(args string) (uint32, []uint32) {
	f := strings.Fields(args)
	if len(f) != 2 {
		return 0, nil
	}
	v := parseU32(f[0])
	var uids []uint32
	for _, part := range strings.Split(f[1], ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, b := parseU32(lo), parseU32(lo)
		if isRange {
			b = parseU32(hi)
		}
		if a == 0 || b == 0 {
			return v, nil
		}
		if a > b {
			a, b = b, a
		}
		if b-a > 1<<20 {
			return v, nil
		}
		for u := a; ; u++ {
			uids = append(uids, u)
			if u == b {
				break
			}
		}
	}
	return v, uids
}

// write sends the stream's batches as they come, until the stream is
// closing and nothing is left. It returns an error only for a failure that
// leaves the connection unusable.
func (a *appender) write() (err error) {
	c := a.c
	defer func() {
		if err != nil && !errors.Is(err, errStopped) {
			select {
			case <-a.stop:
				// The reader gave up first and closed the connection, which failed this write: the
				// reader's error is the cause.
			default:
				// The reader must not wait for replies that cannot come, but it must read those the
				// server sent before the write failed: a server that refuses a command and drops the
				// connection (Exchange throttling, with the wait it asks for) resets the writes of the
				// commands pipelined after it. Closing the connection here would throw the refusal away
				// unread.
				a.writeFailed.Store(true)
				c.tc.endReads(drainAfterWriteError)
			}
		}
		close(a.cmds)
	}()
	wErr := func(err error) error { return ioErr(a.op, err, a.ctx.Err(), c.secrets) }
	for {
		b, ok, closing := a.s.next()
		if !ok {
			// Nothing to write: what was written goes out now, then the
			// writer waits for the next batch or the end.
			if err := c.bw.Flush(); err != nil {
				return wErr(err)
			}
			if closing {
				return nil
			}
			select {
			case <-a.s.wake:
				continue
			case <-a.stop:
				return nil
			case <-a.ctx.Done():
				return nil
			}
		}
		a.writerMu.Lock()
		a.open = append(a.open, b)
		a.writerMu.Unlock()
		if err := a.writeBatch(b); err != nil {
			return err
		}
		select {
		case <-a.stop:
			// The reader gave up, maybe before all of b was written: run
			// settles b with the connection's error.
			return nil
		default:
		}
		a.writerMu.Lock()
		b.written = true
		a.batchDone(b)
		a.writerMu.Unlock()
	}
}

// writeBatch writes b's commands.
func (a *appender) writeBatch(b *AppendBatch) error {
	c := a.c
	wErr := func(err error) error { return ioErr(b.op, err, a.ctx.Err(), c.secrets) }
	perCommand := a.opts.Batch
	if b.oneByOne {
		perCommand = 1
	}
	failLocally := func(i int, err error) {
		a.writerMu.Lock()
		b.results[i].Err = err
		a.writerMu.Unlock()
	}
	i := 0
	for i < len(b.msgs) {
		select {
		case <-a.stop:
			return nil
		default:
		}
		// Prepare the first message of the next command before taking a
		// window slot: one that fails locally costs no command.
		pre, perr := a.prepare(b, i)
		if perr != nil {
			failLocally(i, perr)
			i++
			continue
		}
		if err := a.acquire(); err != nil {
			return err
		}
		cmd := &appendCmd{tag: c.nextTag(), b: b}
		a.writerMu.Lock()
		b.open++
		a.writerMu.Unlock()
		select {
		case a.cmds <- cmd:
		case <-a.stop:
			return nil
		}
		if _, err := c.bw.WriteString(cmd.tag + " APPEND " + b.mbox); err != nil {
			return wErr(err)
		}
		for n := 0; ; n++ {
			cmd.mu.Lock()
			cmd.idx = append(cmd.idx, i)
			cmd.mu.Unlock()
			ok, err := a.writeMessage(cmd, i, pre)
			if err != nil {
				return err
			}
			i++
			if !ok {
				break // refused before its literal: the command is over
			}
			if n+1 >= perCommand || i >= len(b.msgs) {
				if _, err := c.bw.WriteString("\r\n"); err != nil {
					return wErr(err)
				}
				break
			}
			// MULTIAPPEND: the next message joins this command unless it
			// fails locally, which ends the command here.
			pre, perr = a.prepare(b, i)
			if perr != nil {
				failLocally(i, perr)
				i++
				if _, err := c.bw.WriteString("\r\n"); err != nil {
					return wErr(err)
				}
				break
			}
		}
	}
	// The batch goes out whole now: its replies must not wait until the next batch fills the buffer (a
	// paced or slowly fed next batch could hold them back for long).
	if err := c.bw.Flush(); err != nil {
		return wErr(err)
	}
	return nil
}

// acquire takes a window slot, flushing first if it has to wait (the
// replies that free slots only come for commands the server has seen).
func (a *appender) acquire() error {
	select {
	case a.window <- struct{}{}:
		return nil
	default:
	}
	if err := a.c.bw.Flush(); err != nil {
		return ioErr(a.op, err, a.ctx.Err(), a.c.secrets)
	}
	select {
	case a.window <- struct{}{}:
		return nil
	case <-a.stop:
		return errStopped
	}
}

var errStopped = errors.New("stopped")

// drainAfterWriteError is how long the reader still reads after a write failed: long enough for the replies
// already on their way, while a dead connection fails its reads at once anyway.
const drainAfterWriteError = 2 * time.Second

// prepare checks message i and, when small, reads its body (so that a
// size mismatch is found before anything is sent). It returns the body
// when preloaded.
func (a *appender) prepare(b *AppendBatch, i int) ([]byte, error) {
	m := b.msgs[i]
	local := func(kind imapconn.Kind, sentinel error, format string, args ...any) error {
		e := fmt.Errorf(format, args...)
		if sentinel != nil {
			e = fmt.Errorf("%w: %w", sentinel, e)
		}
		return &imapconn.Error{Kind: kind, Op: b.op, Err: e}
	}
	switch {
	case m.Body == nil:
		return nil, local(imapconn.ProtocolError, nil, "message %d has no body", i)
	case m.Size < 0:
		return nil, local(imapconn.ProtocolError, nil, "message %d has negative size", i)
	case m.Size > maxAppendSize:
		return nil, local(imapconn.ProtocolError, ErrTooBig, "message %d: %d bytes exceed the protocol's limit", i, m.Size)
	case a.limit > 0 && m.Size > a.limit:
		// RFC 7889: the server refuses anything larger; do not send it.
		return nil, local(imapconn.ProtocolError, ErrTooBig, "message %d: %d bytes exceed APPENDLIMIT=%d", i, m.Size, a.limit)
	}
	if _, err := flagList(m.Flags); err != nil {
		return nil, local(imapconn.ProtocolError, nil, "message %d: %v", i, err)
	}
	if m.Size > preloadLimit {
		return nil, nil
	}
	if cap(a.buf) < int(m.Size)+1 {
		a.buf = make([]byte, int(m.Size)+1, max(int(m.Size)+1, 64<<10))
	}
	buf := a.buf[:m.Size+1]
	n, err := io.ReadFull(m.Body, buf)
	switch {
	case err == nil:
		return nil, local(imapconn.ProtocolError, ErrSizeMismatch, "message %d: body longer than its Size %d", i, m.Size)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		if int64(n) != m.Size {
			return nil, local(imapconn.ProtocolError, ErrSizeMismatch, "message %d: body has %d bytes, Size says %d", i, n, m.Size)
		}
		return buf[:n], nil
	default:
		return nil, local(imapconn.ProtocolError, nil, "message %d: reading body: %v", i, err)
	}
}

// writeMessage writes " (flags) date {n+}" and the body of message i into
// cmd. ok is false when the server refused the command before the literal
// (synchronizing literals only). An error means the connection is
// unusable.
func (a *appender) writeMessage(cmd *appendCmd, i int, pre []byte) (ok bool, err error) {
	c, b := a.c, cmd.b
	m := b.msgs[i]
	wErr := func(err error) error { return ioErr(b.op, err, a.ctx.Err(), c.secrets) }
	if a.opts.Messages != nil {
		if err := a.opts.Messages.WaitN(a.ctx, 1); err != nil {
			return false, wErr(err)
		}
	}
	var head strings.Builder
	if len(m.Flags) > 0 {
		fl, _ := flagList(m.Flags) // checked in prepare
		head.WriteString(" " + fl)
	}
	if !m.Date.IsZero() {
		head.WriteString(" " + formatDateTime(m.Date))
	}
	nonSync := !a.opts.SyncLiterals && (a.literalPlus || (a.literalMinus && m.Size <= 4096))
	head.WriteString(" {" + strconv.FormatInt(m.Size, 10))
	if nonSync {
		head.WriteString("+}\r\n")
	} else {
		head.WriteString("}\r\n")
	}
	if _, err := c.bw.WriteString(head.String()); err != nil {
		return false, wErr(err)
	}
	if !nonSync {
		a.writerMu.Lock()
		a.awaiting = cmd
		a.writerMu.Unlock()
		if err := c.bw.Flush(); err != nil {
			return false, wErr(err)
		}
		select {
		case cont := <-a.contCh:
			if !cont {
				return false, nil
			}
		case <-a.stop:
			return false, errStopped
		}
	}
	if pre != nil || m.Size == 0 {
		if err := a.writeChunks(pre); err != nil {
			return false, err
		}
	} else if err := a.streamBody(cmd, i); err != nil {
		return false, err
	}
	a.writerMu.Lock()
	b.sent[i] = true
	a.writerMu.Unlock()
	return true, nil
}

// writeChunks writes data in LimiterChunk pieces, pacing them.
func (a *appender) writeChunks(data []byte) error {
	for len(data) > 0 {
		n := min(len(data), LimiterChunk)
		if a.opts.Bytes != nil {
			if err := a.opts.Bytes.WaitN(a.ctx, n); err != nil {
				return ioErr(a.op, err, a.ctx.Err(), a.c.secrets)
			}
		}
		if _, err := a.c.bw.Write(data[:n]); err != nil {
			return ioErr(a.op, err, a.ctx.Err(), a.c.secrets)
		}
		a.c.stats.bytesWritten.Add(int64(n))
		data = data[n:]
	}
	return nil
}

// streamBody copies a large body to the connection. If the body turns out
// shorter or longer than its Size, the command is abandoned: nothing more
// is written, and the reader closes the connection once every earlier
// command is answered, so the server never completes the message.
func (a *appender) streamBody(cmd *appendCmd, i int) error {
	b := cmd.b
	m := b.msgs[i]
	chunk := make([]byte, LimiterChunk)
	remaining := m.Size
	abandon := func(cause error) error {
		a.writerMu.Lock()
		b.results[i].Err = &imapconn.Error{Kind: imapconn.ProtocolError, Op: b.op, Err: cause}
		b.answered[i] = true
		for _, mate := range cmd.idx[:len(cmd.idx)-1] {
			// MULTIAPPEND: the whole command is discarded.
			b.answered[mate] = true
			b.results[mate].Err = fmt.Errorf("%w: %w: message %d of the same batch failed: %v", ErrNotSent, ErrBatchRefused, i, cause)
		}
		cmd.aborted = &imapconn.Error{Kind: imapconn.ProtocolError, Op: b.op,
			Err: fmt.Errorf("connection closed to discard message %d: %w", i, cause)}
		if a.current == cmd {
			a.c.netConn.Close()
		}
		a.writerMu.Unlock()
		a.c.bw.Flush() // let earlier commands complete
		return errStopped
	}
	for remaining > 0 {
		n := int(min(remaining, int64(len(chunk))))
		got, err := io.ReadFull(m.Body, chunk[:n])
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return abandon(fmt.Errorf("%w: body has %d bytes, Size says %d", ErrSizeMismatch, m.Size-remaining+int64(got), m.Size))
			}
			return abandon(fmt.Errorf("reading body: %w", err))
		}
		if err := a.writeChunks(chunk[:got]); err != nil {
			return err
		}
		remaining -= int64(got)
	}
	var one [1]byte
	if n, _ := io.ReadFull(m.Body, one[:]); n > 0 {
		return abandon(fmt.Errorf("%w: body longer than its Size %d", ErrSizeMismatch, m.Size))
	}
	return nil
}
