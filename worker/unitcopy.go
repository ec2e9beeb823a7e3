package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/msgid"
)

// unitCopy is one attempt at copying a unit (a folder, or one segment of it) over one target connection.
// copyUnit makes a new one for every attempt; what outlives an attempt lives in the unit (copied, finisher,
// unsure), in counted and in the checkpoint.
//
// # Goroutines
//
// Three goroutines take part, and each field belongs to one of them:
//
//   - the producer (produce) reads the source. It uses only the fields set by newUnitCopy, which no one
//     changes afterwards (r, u, sf, m, fr, cp), own once ready is closed, and it sends on decisions. It
//     closes decisions when it returns, after sending its result on produced.
//   - the unit's goroutine (the run's worker that called copyUnit, running execute) dials conn, reads the
//     target folder, sets own and closes ready, then decides what becomes of each decision, gathers
//     batches and books their outcomes. It alone touches batch, batchBytes, infs, stream, bookErr,
//     lastPos/lastUID, curPos/curUID, saveEvery, lastSave, counted and the unit's copied, finisher and unsure.
//   - the appenders (appendBatch), one per batch under way (at most maxInflight), append their batches
//     through stream. Each uses r, u and stream and writes only its inflight (out, err, broken); it closes
//     done when it is finished, and only then does the unit's goroutine read those fields. An appender hands
//     its batch to the stream only after the batch before it was (submitted), so batches go out in order.
//     While stream is open, conn belongs to it: the unit's goroutine uses conn only before the first batch
//     is handed over and after the last is booked and the stream closed.
//
// Shared state outside the attempt is guarded where it lives: destinations by destination.mu, claims by
// target.claimMu, the folder's dests and seen by folderRun.mu, the checkpoint by checkpoints.mu, the
// report's lists by run.mu; the folder's counters are atomic.
//
// # Order of events
//
// For each item, in source order:
//
//  1. produce: the producer waits until the target folder's identities are read (ready), skips an item the
//     target holds without reading its body, converts or fetches the others into spools, and sends a
//     decision: append it, it is there already, or it cannot be copied.
//  2. decide: the unit's goroutine counts an item that needs no APPEND at once (found or failed) and adds
//     the others to batch; a full batch is flushed.
//  3. append: flush hands the batch to an appender, waiting first for the oldest batch under way when
//     maxInflight are, and books the batches at the head that are done. The appender claims the batch's
//     identities (another unit appending one of them meanwhile makes it wait and then skip it), marks the
//     mailbox in flight in the checkpoint before its first APPEND, hands one APPEND round per destination
//     to the unit's AppendStream, which writes it right behind the batch before without waiting for that
//     one's replies, and settles the claims with the outcomes. An item whose identity is in a batch under way
//     (the source holds the message twice) waits until those batches are booked, as it would have to see
//     whether the first copy was stored.
//  4. checkpoint: booking, always in the order the batches were handed over, counts a batch's outcomes and
//     moves lastPos/lastUID to the last item looked at when the batch was handed over; an item that needed
//     no APPEND moves them only while nothing is pending before it. Once a booking fails (a batch failed as
//     a whole, or an outcome is transient), no later batch moves them: what those stored is counted, and the
//     next attempt finds it on the target. save writes them at most once a second (and when the span is
//     done).
//
// # Why a crash never duplicates or drops
//
// The checkpoint (lastPos, lastUID) only ever covers items whose outcome is final: stored with a reply
// read, found on the target, or reported. Every item after it is looked at again by the next attempt or
// run, so none is dropped. Nothing is appended twice because every attempt reads what the target folder
// holds before it reads a body (ready), and an item whose identity is there is counted as found: a message
// stored after the last save (the reply lost, the process killed between APPEND and save) is found, not
// sent again. A run killed with APPENDs under way left their mailboxes marked in flight (markInFlight is
// durable before the first APPEND to a mailbox), and the next run waits until the server has settled them
// before it reads (waitQuiet). Within a run, an APPEND whose reply never came (unsure) keeps its claims
// until this unit has read its destination again in the next attempt, so that no other unit copies the
// message meanwhile; counted keeps a retry from counting an item twice. A checkpoint whose target mailbox
// no longer holds what it recorded is not believed (targetHolds), so a replaced target is copied in full.
type unitCopy struct {
	// Set by newUnitCopy; read-only afterwards (the producer reads them too).
	r          *run
	u          *unit
	sf         SourceFolder
	m          foldermap.Mapping
	fr         *FolderReport
	cp         FolderCheckpoint // the unit's progress when the attempt began
	attempt    int
	flagSource FlagSource
	hasFlags   bool

	// ready is closed once own is set: the producer reads own only after that.
	ready chan struct{}
	own   *destination
	// decisions carries what the producer found out, in source order; produced its result.
	decisions chan decision
	produced  chan error
	// stopProducing cancels the producer's context.
	stopProducing context.CancelFunc

	// conn is the unit's target connection; while stream is open, only the appenders use it, through stream.
	conn   *imapbulk.Conn
	stream *imapbulk.AppendStream

	// The unit's goroutine's alone.
	counted    map[itemKey]bool // items whose outcome this run has counted (shared with the unit's other attempts)
	batch      []pending        // gathered, not yet handed over
	batchBytes int64
	infs       []*inflight // the batches under way, oldest first
	bookErr    error       // the first booking that failed: no later batch moves the checkpoint
	// lastPos/lastUID is the last item whose outcome is final (appended, found, or reported); curPos/curUID
	// the last item looked at. After a batch is booked every item up to its end is final.
	lastPos, curPos int
	lastUID, curUID uint32
	saveEvery       int
	lastSave        time.Time
}

func (r *run) newUnitCopy(u *unit, attempt int, counted map[itemKey]bool) *unitCopy {
	flagSource, hasFlags := r.job.Source.(FlagSource)
	cp := r.cps.progress(u.f.sf.Key, u.seg)
	c := &unitCopy{
		r: r, u: u, sf: u.f.sf, m: u.f.m, fr: u.f.fr, cp: cp, attempt: attempt, flagSource: flagSource, hasFlags: hasFlags,
		ready: make(chan struct{}), decisions: make(chan decision, 8), produced: make(chan error, 1),
		counted: counted,
	}
	c.lastPos, c.lastUID = cp.Done-1, cp.LastUID
	c.curPos, c.curUID = c.lastPos, c.lastUID
	return c
}

// execute runs the attempt. The source is read (and bodies converted or fetched) by the producer while this
// goroutine appends: against remote servers the two sides' round trips overlap instead of adding up. The
// producer starts while the target connection is being set up, and reads bodies only once the target
// folder's identities are known (ready), so that nothing already there is read.
func (c *unitCopy) execute(ctx context.Context) error {
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	c.stopProducing = stop
	go c.producer(pctx)
	conn, err := c.r.tgt.dialUnit(ctx)
	if err != nil {
		return c.abandon(err)
	}
	defer c.r.tgt.warm.put(conn) // for the next unit; closed there when it cannot be used any more
	c.conn = conn
	if err := c.openTarget(ctx); err != nil {
		return c.abandon(err)
	}
	// Items an earlier run's checkpoint says were dealt with are counted as found: they are on the target or
	// were reported then. (A retry within this run counted them already.)
	if c.cp.Done > 0 && c.attempt == 0 {
		c.r.cnt.duplicates.Add(int64(c.cp.Done))
		atomic.AddInt64(&c.fr.Duplicates, int64(c.cp.Done))
	}
	if err := c.consume(ctx); err != nil {
		for _, p := range c.batch {
			p.sp.Close()
		}
		return err
	}
	return c.finish(ctx)
}

// producer runs produce in its own goroutine.
func (c *unitCopy) producer(ctx context.Context) {
	defer close(c.decisions)
	c.produced <- c.produce(ctx)
}

// abandon ends the attempt before anything was appended: the producer is stopped and waited for.
func (c *unitCopy) abandon(err error) error {
	c.stopProducing()
	for d := range c.decisions {
		if d.p.sp != nil {
			_ = d.p.sp.Close() // abandoned: what it held is read again on the retry
		}
	}
	_ = <-c.produced // err already says why the attempt ends; the stopped producer's error adds nothing
	return err
}

// openTarget reads the target folder (and the destinations the last attempt left unsure) over conn, sets own
// and lets the producer go on (ready).
func (c *unitCopy) openTarget(ctx context.Context) error {
	u := c.u
	// What the last attempt's unanswered APPENDs may have left is read first, once the server is done
	// storing them; only then are their claims let go, so that no other unit copies one of those messages
	// again meanwhile.
	if len(u.unsure) > 0 {
		var names []string
		for d := range u.unsure {
			names = append(names, d.name)
		}
		if err := waitQuiet(ctx, c.conn, names); err != nil {
			return err
		}
	}
	for d := range u.unsure {
		if d.name != c.m.Target {
			if _, err := c.r.tgt.destination(ctx, c.conn, d.name); err != nil {
				return err
			}
		}
	}
	own, err := c.r.tgt.destination(ctx, c.conn, c.m.Target)
	if err != nil {
		return err
	}
	c.own = own
	u.f.use(own)
	close(c.ready)
	if len(u.unsure) > 0 {
		c.r.tgt.release(u)
		u.unsure = nil
	}
	return nil
}

// target returns the folder's own destination once its identities are read (for the producer).
func (c *unitCopy) target(ctx context.Context) (*destination, error) {
	select {
	case <-c.ready:
		return c.own, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// consume takes the producer's decisions in order until it is done, appending batches as they fill; then
// the last batch is appended and every batch is booked. Whatever ends it, no batch is left in flight.
func (c *unitCopy) consume(ctx context.Context) error {
	var err error
	for d := range c.decisions {
		if err == nil {
			if err = c.bookFinished(ctx); err != nil {
				c.stopProducing()
			}
		}
		if err != nil {
			if d.p.sp != nil {
				d.p.sp.Close() // draining after an error: nothing more is appended
			}
			continue
		}
		if err = c.decide(ctx, d); err != nil {
			c.stopProducing()
		}
	}
	if perr := <-c.produced; err == nil {
		err = perr
	}
	if err == nil {
		err = c.flush(ctx)
	}
	// Whatever ended the attempt, the batches in flight are waited for and settled: their stored messages
	// count as copied, and nothing of them is sent after the attempt.
	if berr := c.drain(ctx); err == nil {
		err = berr
	}
	if c.stream != nil {
		// Every batch has its outcome; a connection lost meanwhile is in those outcomes already.
		_ = c.stream.Close()
		c.stream = nil
	}
	return err
}

// decide deals with one decision of the producer: an item that needs no APPEND is counted (and the
// checkpoint may move past it), the others join the batch.
func (c *unitCopy) decide(ctx context.Context, d decision) error {
	it := d.p.it
	c.curPos, c.curUID = it.Pos, max(c.curUID, it.UID)
	if c.hasFlags && it.UID != 0 && d.failed == "" {
		c.u.f.saw(it.UID, it.Flags)
	}
	if d.p.dest != nil && d.p.dest != c.own {
		c.u.f.use(d.p.dest)
	}
	if d.failed == "" && d.p.sp != nil && c.appending(d.p) {
		// A message with its identity is in a batch under way (the source holds it twice): whether this
		// one is needed depends on that batch's outcome, so the batches in flight are settled first.
		if err := c.drain(ctx); err != nil {
			d.p.sp.Close()
			return err
		}
	}
	switch {
	case d.failed != "":
		c.itemFailed(it, d.p.id, d.failed, d.tooBig)
	case d.p.sp == nil || d.p.dest.has(d.p.id) || inBatch(c.batch, d.p.id):
		if d.p.sp != nil {
			d.p.sp.Close()
		}
		c.present(d.p, c.batch)
	default:
		c.r.warn(c.sf.Key, refOf(it, d.p.id), d.warnings)
		c.batch = append(c.batch, d.p)
		c.batchBytes += d.p.sp.size
		// A full batch goes; so does a partial one when the connection has nothing under way and the
		// producer nothing more at hand (it waits for the source): waiting to fill it would leave the
		// connection idle, as it is at the start of every unit while the source's first chunk is read.
		idle := len(c.infs) == 0 && len(c.decisions) == 0
		if len(c.batch) >= c.r.job.Batch || c.batchBytes >= c.r.job.BatchBytes || idle {
			return c.flush(ctx)
		}
		return nil
	}
	return c.advance(ctx, it)
}

// advance records an item that needed no APPEND. Its position is saved only when no APPEND is pending
// before it, and not for every such item: every 256th, or at the next flush.
func (c *unitCopy) advance(ctx context.Context, it *Item) error {
	if len(c.batch) > 0 || len(c.infs) > 0 {
		return nil
	}
	c.lastPos, c.lastUID = it.Pos, max(c.lastUID, it.UID)
	if c.saveEvery++; c.saveEvery%256 == 0 {
		return c.save(ctx, false)
	}
	return nil
}

// flush hands the batch over to be appended and books, in order, the batches before it that are done. Up to
// maxInflight batches are under way on the unit's connection at once, written back to back on one
// AppendStream, so that the connection is not idle while a batch's replies travel back; when that many are,
// flush waits for the oldest. A batch is not handed over once one before it failed as a whole or was cut
// short: the batches under way are booked instead, and that one's booking ends the attempt.
func (c *unitCopy) flush(ctx context.Context) error {
	if len(c.batch) > 0 {
		for len(c.infs) >= maxInflight {
			if err := c.bookOldest(ctx); err != nil {
				return err
			}
		}
		if c.stopSending() {
			// The attempt ends with that batch's booking; the batches before it are booked first.
			if err := c.drain(ctx); err != nil {
				return err
			}
		}
		c.handOver(ctx)
	}
	return c.bookFinished(ctx)
}

// handOver starts an appender for the gathered batch, behind the batches under way.
func (c *unitCopy) handOver(ctx context.Context) {
	var prev *inflight
	if n := len(c.infs); n > 0 {
		prev = c.infs[n-1]
	}
	b := &inflight{batch: c.batch, endPos: c.curPos, endUID: c.curUID, keys: map[*destination]map[string]bool{},
		submitted: make(chan struct{}), done: make(chan struct{})}
	for _, p := range c.batch {
		if b.keys[p.dest] == nil {
			b.keys[p.dest] = map[string]bool{}
		}
		for _, k := range p.id.DecidingKeys() {
			b.keys[p.dest][k] = true
		}
	}
	c.batch, c.batchBytes = nil, 0
	if c.stream == nil {
		c.stream = c.conn.AppendStream(ctx)
	}
	c.infs = append(c.infs, b)
	go c.appendBatch(ctx, b, prev, c.stream)
}

// maxInflight is how many batches a unit has under way at once. Two keep the connection busy: the next
// batch is written while the replies to the one before are on their way.
const maxInflight = 2

// stopSending tells whether a batch under way has already failed as a whole or was cut short.
func (c *unitCopy) stopSending() bool {
	for _, b := range c.infs {
		if b.finished() && (b.err != nil || b.broken != nil) {
			return true
		}
	}
	return false
}

// appending tells whether a batch under way holds a message with p's identity for p's destination.
func (c *unitCopy) appending(p pending) bool {
	for _, b := range c.infs {
		for _, k := range p.id.DecidingKeys() {
			if b.keys[p.dest][k] {
				return true
			}
		}
	}
	return false
}

// bookFinished books the batches at the head of the queue whose appends are done.
func (c *unitCopy) bookFinished(ctx context.Context) error {
	for len(c.infs) > 0 && c.infs[0].finished() {
		if err := c.bookOldest(ctx); err != nil {
			return err
		}
	}
	return nil
}

// bookOldest waits for the oldest batch under way and books it.
func (c *unitCopy) bookOldest(ctx context.Context) error {
	b := c.infs[0]
	c.infs[0] = nil
	c.infs = c.infs[1:]
	<-b.done
	return c.book(ctx, b)
}

// drain waits for every batch under way and books them in order; the first error is returned, and the
// batches after it are still settled (see book).
func (c *unitCopy) drain(ctx context.Context) error {
	var err error
	for len(c.infs) > 0 {
		if berr := c.bookOldest(ctx); err == nil {
			err = berr
		}
	}
	return err
}

// book counts and reports what became of a batch that was appended, and moves the checkpoint past it.
func (c *unitCopy) book(ctx context.Context, b *inflight) error {
	for i, p := range b.batch {
		if b.out[i].unsure {
			if c.u.unsure == nil {
				c.u.unsure = map[*destination]bool{}
			}
			c.u.unsure[p.dest] = true
		}
	}
	if c.bookErr != nil {
		// A batch before this one did not book: the checkpoint must not move past its messages. What
		// this one stored is counted; the next attempt finds it on the target.
		c.countStored(b)
		return c.bookErr
	}
	if b.err != nil {
		c.bookErr = b.err
		c.countStored(b)
		return b.err
	}
	for i, p := range b.batch {
		switch o := b.out[i]; {
		case o.present:
			c.present(p, nil)
		case o.stored:
			c.copied(p)
		case imapbulk.IsTransient(o.err):
			// The attempt ends; the next one re-reads the target and goes on.
			c.bookErr = o.err
			for j := i + 1; j < len(b.batch); j++ {
				if b.out[j].stored {
					c.copied(b.batch[j])
				}
			}
			return o.err
		default:
			c.itemFailed(p.it, p.id, fmt.Sprintf("APPEND refused: %v", o.err), errors.Is(o.err, imapbulk.ErrTooBig))
		}
	}
	c.lastPos, c.lastUID = b.endPos, b.endUID
	return c.save(ctx, false)
}

// copied counts a message the target stored.
func (c *unitCopy) copied(p pending) {
	if c.counted[keyOf(p.it)] {
		return
	}
	c.counted[keyOf(p.it)] = true
	c.r.cnt.copied.Add(1)
	c.r.cnt.bytes.Add(p.sp.size)
	atomic.AddInt64(&c.fr.Copied, 1)
	if mt := c.r.job.Metrics; mt != nil {
		mt.Message("copied")
		mt.Bytes(p.sp.size)
	}
}

// countStored counts the messages of a batch that the target stored, without booking the batch.
func (c *unitCopy) countStored(b *inflight) {
	for i, p := range b.batch {
		if b.out[i].stored {
			c.copied(p)
		}
	}
}

// save writes the unit's progress into the checkpoint. A checkpoint is an fsync'd file: written at most once
// a second per unit (and at the end), it costs nothing; written per batch, it would cost more than the copy.
// A crash re-checks what came after it, which the identity check makes safe.
func (c *unitCopy) save(ctx context.Context, complete bool) error {
	if !complete && time.Since(c.lastSave) < time.Second {
		return nil
	}
	c.lastSave = time.Now()
	return c.r.cps.update(ctx, c.sf.Key, func(fc *FolderCheckpoint) { c.u.record(fc, c.lastPos+1, c.lastUID, complete) })
}

// finish records a span copied to its end. The unit that copies the folder's last span carries the flag
// changes of messages copied by an earlier pass over and marks the folder complete.
func (c *unitCopy) finish(ctx context.Context) error {
	u, sf := c.u, c.sf
	c.lastPos, c.lastUID = c.curPos, c.curUID
	if !u.copied {
		if u.f.units > 1 {
			// The segment is done; the folder is done when its last segment is (below).
			if err := c.save(ctx, true); err != nil {
				return err
			}
		}
		u.copied, u.finisher = true, u.f.copiedOne()
	}
	if !u.finisher {
		return nil
	}
	var flags *FlagState
	if c.hasFlags {
		// The source's flags as this pass leaves them: what the last pass saw, with the changes carried over
		// now and the messages looked at in this pass.
		previous := u.f.previous // the last complete pass
		state := flagMap{}
		if previous.SourceUIDValidity == sf.UIDValidity {
			if prev := previous.SourceFlags.decode(); prev != nil {
				state = prev
			}
		}
		var changed map[uint32]bool
		if previous.Complete && previous.SourceUIDValidity == sf.UIDValidity {
			var err error
			if changed, err = c.r.syncFlags(ctx, c.conn, c.flagSource, sf, previous, c.own, c.fr, state); err != nil {
				return err
			}
		}
		u.f.mu.Lock()
		for uid, f := range u.f.seen {
			if !changed[uid] { // FlagChanges read the source after this pass did
				state[uid] = f
			}
		}
		u.f.mu.Unlock()
		flags = state.encode()
	}
	c.lastSave = time.Now()
	return c.r.cps.update(ctx, sf.Key, func(fc *FolderCheckpoint) {
		u.record(fc, c.lastPos+1, c.lastUID, true)
		fc.Complete = true
		fc.HighestModSeq = sf.HighestModSeq
		if c.hasFlags {
			fc.SourceFlags = flags
		}
	})
}

// pending is a message converted and waiting in the current APPEND batch.
type pending struct {
	it    *Item
	dest  *destination
	sp    *spool
	id    Identity
	flags []string
	date  time.Time
}

// itemKey names an item across attempts: its UID (IMAP), else its position (PST).
type itemKey struct {
	uid uint32
	pos int
}

func keyOf(it *Item) itemKey {
	if it.UID != 0 {
		return itemKey{uid: it.UID}
	}
	return itemKey{pos: it.Pos}
}

// appendOutcome is what became of one message of a batch: found on the target when its turn came
// (present), stored with uid, or not stored (err; unsure when it was sent and no reply came).
type appendOutcome struct {
	present, stored, unsure bool
	uid                     uint32
	err                     error
}

// inflight is a batch being appended while the next one is gathered: a unit's connection then never waits
// for the next batch to be read and converted, only for the server. The appender writes out, err and broken
// and then closes done; the unit's goroutine reads them only after done is closed.
type inflight struct {
	batch []pending
	keys  map[*destination]map[string]bool // the batch's deciding identity keys, per destination
	out   []appendOutcome
	// endPos and endUID are the last item looked at when the batch was handed over: once it is settled,
	// every item up to that one is final.
	endPos int
	endUID uint32
	err    error // the batch as a whole could not be appended (the attempt ends)
	broken error // a transient failure stopped it (the connection is likely gone)
	// submitted is closed once the batch's APPENDs are handed to the stream (or it was given up): the
	// next batch's appender waits for it, so that batches go out in order.
	submitted chan struct{}
	done      chan struct{}
}

func (b *inflight) finished() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// appendBatch appends a batch, one APPEND round per destination mailbox, in order; it runs in a goroutine
// of its own (the batch's appender). It waits until the batch before it (prev) is handed to the stream,
// claims the batch's identities, hands its rounds to the stream, and settles the claims as soon as the
// replies are in. Of the attempt it uses only r and u, and it writes only b.
func (c *unitCopy) appendBatch(ctx context.Context, b *inflight, prev *inflight, stream *imapbulk.AppendStream) {
	r, u := c.r, c.u
	defer close(b.done)
	submitted := false
	submit := func() {
		if !submitted {
			submitted = true
			close(b.submitted)
		}
	}
	defer submit()
	defer func() {
		for _, p := range b.batch {
			p.sp.Close() // sent or not, the bodies are not needed any more
		}
	}()
	b.out = make([]appendOutcome, len(b.batch))
	if prev != nil {
		<-prev.submitted
	}
	fail := func(err error) {
		b.err = err
		for i := range b.out {
			b.out[i].err = fmt.Errorf("%w: %w", imapbulk.ErrNotSent, err)
		}
	}
	if prev != nil && prev.finished() && (prev.err != nil || prev.broken != nil) {
		// Known already: the batch before failed; this one is not sent (the attempt ends).
		if prev.err != nil {
			fail(prev.err)
		} else {
			fail(prev.broken)
		}
		return
	}
	present, err := r.tgt.claim(ctx, u, b.batch)
	if err != nil {
		b.err = err
		for i := range b.out {
			b.out[i].err = err
		}
		return
	}
	// The rounds, one per run of messages with the same destination, each handed to the stream at once.
	type round struct {
		idx  []int // the batch's messages in the round
		sent *imapbulk.AppendBatch
	}
	var rounds []round
	var stop error // the batch cannot go on: the rest of it is not sent
	for start := 0; start < len(b.batch); {
		end := start + 1
		for end < len(b.batch) && b.batch[end].dest == b.batch[start].dest {
			end++
		}
		var msgs []imapbulk.Message
		var idx []int
		for i := start; i < end; i++ {
			p := b.batch[i]
			if present[i] {
				b.out[i].present = true // another unit stored it meanwhile
				continue
			}
			if stop != nil {
				b.out[i].err = fmt.Errorf("%w: %w", imapbulk.ErrNotSent, stop)
				continue
			}
			body, err := p.sp.Reader()
			if err != nil {
				b.out[i].err = fmt.Errorf("%w: %w", imapbulk.ErrNotSent, err)
				b.err = err
				stop = err
				continue
			}
			msgs = append(msgs, imapbulk.Message{Flags: p.flags, Date: p.date, Size: p.sp.size, Body: body})
			idx = append(idx, i)
		}
		if len(msgs) > 0 {
			dest := b.batch[start].dest
			if err := r.cps.markInFlight(ctx, dest.name); err != nil {
				// Not sent: an APPEND the checkpoint does not know may be under way must not be sent.
				for _, i := range idx {
					b.out[i].err = fmt.Errorf("%w: checkpoint: %w", imapbulk.ErrNotSent, err)
				}
				b.err, stop = err, err
			} else {
				rounds = append(rounds, round{idx: idx, sent: stream.Send(dest.name, msgs, false)})
			}
		}
		start = end
	}
	submit()
	var refused []int // positions in b.batch the server refused, for a lost connection to reconsider
	for _, rd := range rounds {
		results, err := rd.sent.Wait()
		if err == nil && ctx.Err() == nil {
			results, err = c.appendRefusedAlone(ctx, stream, b, rd.idx, results)
		}
		if ctx.Err() != nil {
			// Stopped (suspended, deleted, interrupted): no outcome of this batch is final, not even a
			// refusal, and the checkpoint must not move past it. The next run checks these messages by
			// identity, so those the server stored before the stop are not copied twice.
			b.err = ctx.Err()
			for _, i := range rd.idx {
				b.out[i] = appendOutcome{unsure: true, err: ctx.Err()}
			}
			continue
		}
		for k, i := range rd.idx {
			var merr error
			if k < len(results) {
				merr = results[k].Err
			} else if err != nil {
				merr = err
			}
			switch {
			case merr == nil:
				b.out[i] = appendOutcome{stored: true, uid: results[k].UID}
			case imapbulk.IsTransient(merr) && !errors.Is(merr, imapbulk.ErrNotSent):
				b.out[i] = appendOutcome{unsure: true, err: merr}
			default:
				b.out[i].err = merr
				if refusedWithoutVerdict(merr) {
					refused = append(refused, i)
				}
			}
		}
		if err != nil && imapbulk.IsTransient(err) && b.broken == nil {
			b.broken = err
		}
	}
	if b.broken == nil && stop != nil && imapbulk.IsTransient(stop) {
		b.broken = stop
	}
	if b.broken != nil {
		// The connection was lost in this batch. A refusal that came with it is not taken as the server's
		// verdict on the message: Cyrus answers "NO System I/O error" to an APPEND it failed before reading
		// the literal, then reads the message as commands. The message is tried again on a new connection,
		// after the check by identity that keeps it from being stored twice; one the server refuses again
		// there fails then.
		for _, i := range refused {
			b.out[i] = appendOutcome{unsure: true, err: fmt.Errorf("%w (it had refused the message: %v)", b.broken, b.out[i].err)}
		}
	}
	for _, o := range b.out {
		if o.unsure {
			r.unanswered.Store(true)
		}
	}
	r.tgt.settle(u, b.batch, b.out)
}

// refusedWithoutVerdict tells whether err is a refusal of a message (NO or BAD, a batch's included) that
// says nothing against the message itself: not too big, not over quota, not a missing folder.
func refusedWithoutVerdict(err error) bool {
	var se *imapconn.StatusError
	if !errors.As(err, &se) || se.Status == "BYE" {
		return false
	}
	return !errors.Is(err, imapbulk.ErrTooBig) && !errors.Is(err, imapbulk.ErrOverQuota) && !errors.Is(err, imapbulk.ErrTryCreate) &&
		!errors.Is(err, imapbulk.ErrNotSent)
}

// appendRefusedAlone sends again, one per APPEND, the messages of a MULTIAPPEND batch the server refused as
// a whole (imapbulk.ErrBatchRefused): it stored none of them (RFC 3502), and one bad message must not fail
// the others. Only the refusals each earns on its own are kept. A refusal that would hold for every message
// alike (TRYCREATE) is not tried again. results holds the outcomes of b.batch[idx[k]] and is updated in place.
func (c *unitCopy) appendRefusedAlone(ctx context.Context, stream *imapbulk.AppendStream, b *inflight, idx []int, results []imapbulk.AppendResult) ([]imapbulk.AppendResult, error) {
	var again []int // positions in idx
	for k := range idx {
		if k < len(results) {
			if e := results[k].Err; errors.Is(e, imapbulk.ErrBatchRefused) && !errors.Is(e, imapbulk.ErrTryCreate) && !imapbulk.IsTransient(e) {
				again = append(again, k)
			}
		}
	}
	if len(again) == 0 {
		return results, nil
	}
	msgs := make([]imapbulk.Message, 0, len(again))
	for _, k := range again {
		p := b.batch[idx[k]]
		body, err := p.sp.Reader()
		if err != nil {
			// As when a body cannot be read before a batch: nothing is sent and the attempt ends.
			for _, k := range again {
				results[k].Err = fmt.Errorf("%w: %w", imapbulk.ErrNotSent, err)
			}
			b.err = err
			return results, nil
		}
		msgs = append(msgs, imapbulk.Message{Flags: p.flags, Date: p.date, Size: p.sp.size, Body: body})
	}
	alone, err := stream.Send(b.batch[idx[again[0]]].dest.name, msgs, true).Wait()
	for n, k := range again {
		if n < len(alone) {
			results[k] = alone[n]
		}
	}
	return results, err
}

// decision is what the reading side found out about one item, in source order: it is to be appended
// (p.sp holds it), it is on the target already (p.sp nil, failed empty), or it cannot be copied (failed).
type decision struct {
	p        pending
	failed   string
	tooBig   bool
	warnings []string
}

// produce reads the span's items, skips those the target holds without reading their bodies, converts
// or fetches the others into spools, and hands everything to the unit's goroutine in order. It runs in the
// producer and reads the folder's own destination only once it is known (target).
func (c *unitCopy) produce(ctx context.Context) error {
	r, sf, m, out := c.r, c.sf, c.m, c.decisions
	destOf := func(it *Item) (*destination, error) {
		own, err := c.target(ctx)
		if err != nil {
			return nil, err
		}
		if k := routeKind(it.Kind); k != groupware.KindMail && k != routeKind(sf.Kind) {
			if name, ok := r.tgt.groupware[k]; ok && name != m.Target {
				return r.routed(ctx, name)
			}
		}
		return own, nil
	}
	want := func(it *Item) bool {
		dest, err := destOf(it)
		if err != nil {
			return true
		}
		return len(it.Identity.Keys()) == 0 || !dest.has(it.Identity)
	}
	send := func(d decision) error {
		select {
		case out <- d:
			return nil
		case <-ctx.Done():
			if d.p.sp != nil {
				d.p.sp.Close()
			}
			return ctx.Err()
		}
	}
	return r.job.Source.Items(ctx, sf, c.u.span, c.cp, want, func(it *Item) error {
		p := pending{it: it, id: it.Identity, flags: it.Flags, date: it.Date}
		if it.ReadErr != nil {
			return send(decision{p: p, failed: fmt.Sprintf("unreadable in the source: %v", it.ReadErr)})
		}
		dest, err := destOf(it)
		if err != nil {
			return err
		}
		p.dest = dest
		if len(it.Identity.Keys()) > 0 && dest.has(it.Identity) {
			return send(decision{p: p})
		}
		var w *Written
		sp := it.body
		if sp != nil {
			it.body = nil // the source's spool is ours now
		} else {
			sp = &spool{memLimit: r.job.MemoryPerMessage, dir: r.job.SpoolDir}
			w, err = it.Write(sp)
		}
		if err != nil {
			sp.Close()
			if ctx.Err() != nil || imapbulk.IsTransient(err) {
				return err
			}
			return send(decision{p: p, failed: fmt.Sprintf("could not be read or converted: %v", err)})
		}
		var warnings []string
		if w != nil {
			p.flags, p.date, warnings = w.Flags, w.Date, w.Warnings
		}
		if m.Outbox {
			p.flags = asDraft(p.flags)
		}
		if fromHead := msgid.FromHeader(sp.Head(), sp.size); p.id.MessageID == "" {
			p.id = fromHead
		} else {
			p.id.Content = fromHead.Content
		}
		if p.id.MessageID == "" && dest.has(p.id) {
			sp.Close()
			return send(decision{p: p})
		}
		if r.job.MaxMessageSize > 0 && sp.size > r.job.MaxMessageSize {
			sp.Close()
			return send(decision{p: p, failed: fmt.Sprintf("%d bytes, over the %d-byte limit", sp.size, r.job.MaxMessageSize), tooBig: true})
		}
		p.sp = sp
		return send(decision{p: p, warnings: warnings})
	})
}

// present deals with an item whose Message-ID (or content key) the target mailbox, or the batch being
// gathered for it, holds already. The same message is counted as already there. Another message under that
// Message-ID (other Date, From or Subject) is not copied either, since one Message-ID should name one
// message, but it is reported as skipped with the reason, so that a person can decide. gathering is the
// batch being gathered (nil when the item's own batch is being booked).
func (c *unitCopy) present(p pending, gathering []pending) {
	if tm, ok := p.dest.collision(p.id); ok {
		c.collided(p, fmt.Sprintf("UID %d", tm.uid))
		return
	}
	for _, q := range gathering {
		if q.dest == p.dest && p.id.MessageID != "" && q.id.MessageID == p.id.MessageID && p.id.Headers != "" && q.id.Headers != "" && q.id.Headers != p.id.Headers {
			c.collided(p, "the source's "+q.it.Ref+", copied now")
			return
		}
	}
	c.duplicate(p.it)
}

// collided reports an item that a different message with its Message-ID kept off the target.
func (c *unitCopy) collided(p pending, holder string) {
	if c.counted[keyOf(p.it)] {
		return
	}
	c.counted[keyOf(p.it)] = true
	c.r.cnt.skipped.Add(1)
	atomic.AddInt64(&c.fr.Skipped, 1)
	if m := c.r.job.Metrics; m != nil {
		m.Message("skipped")
	}
	c.r.fail(c.sf.Key, refOf(p.it, p.id), p.it.Subject, fmt.Sprintf("not copied: %q holds a different message with the same Message-ID (%s; Date, From or Subject differ)", p.dest.name, holder))
}

func (c *unitCopy) duplicate(it *Item) {
	if c.counted[keyOf(it)] {
		return
	}
	c.counted[keyOf(it)] = true
	c.r.cnt.duplicates.Add(1)
	atomic.AddInt64(&c.fr.Duplicates, 1)
	if m := c.r.job.Metrics; m != nil {
		m.Message("duplicate")
	}
}

// itemFailed reports an item that was not copied. Oversized messages are skipped (reported) unless the job
// says they fail the run.
func (c *unitCopy) itemFailed(it *Item, id Identity, reason string, tooBig bool) {
	if c.counted[keyOf(it)] {
		return
	}
	c.counted[keyOf(it)] = true
	result := "failed"
	if tooBig && !c.r.job.FailOnTooBig {
		result = "skipped"
		c.r.cnt.skipped.Add(1)
		atomic.AddInt64(&c.fr.Skipped, 1)
	} else {
		c.r.cnt.failed.Add(1)
		atomic.AddInt64(&c.fr.Failed, 1)
	}
	if m := c.r.job.Metrics; m != nil {
		m.Message(result)
	}
	c.r.fail(c.sf.Key, refOf(it, id), it.Subject, reason)
}

func refOf(it *Item, id Identity) string {
	if id.MessageID != "" {
		return id.MessageID + " (" + it.Ref + ")"
	}
	return it.Ref
}

func inBatch(batch []pending, id Identity) bool {
	if id.MessageID == "" {
		return false
	}
	for _, p := range batch {
		if p.id.MessageID == id.MessageID {
			return true
		}
	}
	return false
}

// routed returns a groupware destination that is not the folder's own, reading its identities over a
// connection of its own the first time.
func (r *run) routed(ctx context.Context, name string) (*destination, error) {
	r.tgt.destMu.Lock()
	d := r.tgt.dests[name]
	r.tgt.destMu.Unlock()
	if d != nil && d.isLoaded() {
		return d, nil
	}
	c, err := r.tgt.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return r.tgt.destination(ctx, c, name)
}

// syncFlags carries flag changes of messages copied by an earlier pass over to their copies. Only what
// changed on the source since the last pass is changed on the target, with +FLAGS and -FLAGS: state holds
// the flags the last pass saw, by source UID, and is updated to the source's flags now. Flags people set or
// cleared on the target meanwhile stay as they are. A message whose earlier source flags are not known (a
// checkpoint written before they were kept) gets the source's flags. It returns the UIDs it read.
func (r *run) syncFlags(ctx context.Context, conn *imapbulk.Conn, src FlagSource, sf SourceFolder, cp FolderCheckpoint, own *destination, fr *FolderReport, state flagMap) (map[uint32]bool, error) {
	changes, err := src.FlagChanges(ctx, sf, cp)
	if err != nil {
		return nil, err
	}
	if conn.Selected() != own.name {
		if _, err := conn.Select(ctx, own.name, false); err != nil {
			return nil, err
		}
	}
	read := map[uint32]bool{}
	for _, ch := range changes {
		old, known := state[ch.UID]
		if ch.UID != 0 {
			state[ch.UID] = ch.Flags
			read[ch.UID] = true
		} else {
			known = false
		}
		tm, ok := own.lookup(ch.Identity)
		if !ok || tm.uid == 0 {
			continue
		}
		if !known {
			old = tm.flags
		}
		add, remove := flagDelta(old, ch.Flags)
		// Only what the target message lacks is added, only what it has is removed.
		add = slices.DeleteFunc(add, func(f string) bool { return hasFlag(tm.flags, f) })
		remove = slices.DeleteFunc(remove, func(f string) bool { return !hasFlag(tm.flags, f) })
		if fr.Outbox {
			// An unsent message stays a draft on the target, whatever its source says (see asDraft).
			remove = slices.DeleteFunc(remove, func(f string) bool { return strings.EqualFold(f, `\Draft`) })
		}
		if len(add) == 0 && len(remove) == 0 {
			continue
		}
		uid := fmt.Sprint(tm.uid)
		if len(add) > 0 {
			if err := conn.Store(ctx, uid, "+FLAGS", add); err != nil {
				return nil, err
			}
		}
		if len(remove) > 0 {
			if err := conn.Store(ctx, uid, "-FLAGS", remove); err != nil {
				return nil, err
			}
		}
		now := slices.DeleteFunc(slices.Clone(tm.flags), func(f string) bool { return hasFlag(remove, f) })
		tm.flags = append(now, add...)
		own.add(ch.Identity, tm)
		r.cnt.flagUpdates.Add(1)
		atomic.AddInt64(&fr.FlagUpdates, 1)
	}
	return read, nil
}

func hasFlag(l []string, f string) bool {
	return slices.ContainsFunc(l, func(g string) bool { return strings.EqualFold(f, g) })
}
