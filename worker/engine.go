package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapbulk"
)

// Run copies job.Source into job.Target. It returns the report; the error says why the run stopped when
// it did not finish (a folder whose retries ran out, the context, a target that refused the login). Items
// that could not be copied do not stop it: they are listed in the report.
func Run(ctx context.Context, job Job) (*Report, error) {
	job.defaults()
	rep := &Report{Source: job.Source.Describe(), Target: job.Target.Endpoint.Address(), Started: time.Now().UTC()}
	r := &run{job: job, rep: rep, cnt: &counters{start: time.Now()}}
	err := r.run(ctx)
	rep.Finished = time.Now().UTC()
	rep.Totals = Totals{
		Folders: int(r.cnt.foldersTotal.Load()), FoldersDone: int(r.cnt.foldersDone.Load()), Items: r.cnt.items.Load(),
		Copied: r.cnt.copied.Load(), Duplicates: r.cnt.duplicates.Load(), Failed: r.cnt.failed.Load(),
		Skipped: r.cnt.skipped.Load(), Bytes: r.cnt.bytes.Load(), FlagUpdates: r.cnt.flagUpdates.Load(),
	}
	rep.countOutbox()
	if err != nil {
		rep.Error = err.Error()
	}
	if m := job.Metrics; m != nil {
		observeRun(m, rep, err)
	}
	return rep, err
}

type run struct {
	job Job
	rep *Report
	cnt *counters
	tgt *target
	cps *checkpoints
	mu  sync.Mutex // guards rep.Failed, rep.Warnings
	// tgtState is what the target mailboxes the checkpoint names hold now (see targetHolds).
	tgtState map[string]imapbulk.Status
	// unanswered says an APPEND of this run may have been sent without its reply being read: the
	// checkpoint then keeps its InFlight marks for the next run.
	unanswered atomic.Bool
}

func (r *run) run(ctx context.Context) error {
	if l, ok := r.job.Checkpoints.(CheckpointLocker); ok {
		unlock, err := l.Lock(ctx)
		if err != nil {
			return err
		}
		defer unlock()
	}
	if err := r.loadCheckpoint(ctx); err != nil {
		return err
	}
	// The target mailboxes the checkpoint names are looked at (after those a killed run was appending to
	// have settled) while the source and the target are read.
	ictx, stopInspecting := context.WithCancel(ctx)
	defer stopInspecting()
	inspected := r.startInspection(ictx)
	folders, err := r.job.Source.Folders(ctx)
	if err != nil && len(folders) == 0 {
		return fmt.Errorf("source: %w", err)
	}
	if err != nil {
		// Some folders could not be listed: the others are copied, the problem is reported.
		r.fail("", "", "", fmt.Sprintf("source folders: %v", err))
	}
	r.tgt = &target{spec: r.job.Target}
	if r.job.RateMessages > 0 {
		r.tgt.msgLimit = rate.NewLimiter(rate.Limit(r.job.RateMessages), 1)
	}
	if r.job.RateBytes > 0 {
		r.tgt.byteLimit = rate.NewLimiter(rate.Limit(r.job.RateBytes), max(imapbulk.LimiterChunk, int(r.job.RateBytes)))
	}
	if err := r.tgt.prepare(ctx); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer r.tgt.close()

	srcs := make([]foldermap.Source, len(folders))
	for i, f := range folders {
		srcs[i] = foldermap.Source{Path: f.Path, Kind: f.Kind, Role: f.Role, Default: f.Default}
	}
	plan, err := foldermap.Plan(srcs, r.tgt.layout, r.job.Rules)
	if err != nil {
		return fmt.Errorf("folder plan: %w", err)
	}

	var todo []work
	r.rep.Folders = make([]FolderReport, len(folders))
	for i, m := range plan {
		r.rep.Folders[i] = FolderReport{Source: folders[i].Key, Target: m.Target, Items: int64(folders[i].Count), Note: m.Reason, Outbox: m.Outbox}
		if m.Skip {
			r.rep.Folders[i].Skipped = int64(folders[i].Count)
			continue
		}
		r.cnt.foldersTotal.Add(1)
		r.cnt.items.Add(int64(folders[i].Count))
		todo = append(todo, work{i, folders[i], m})
	}
	// Create every target folder first, parents before children, on the setup session: workers then only
	// append.
	for _, w := range todo {
		if err := r.tgt.ensure(ctx, w.m.Target); err != nil {
			return fmt.Errorf("target: %w", err)
		}
	}
	r.carryFolderAttrs(ctx, todo)
	if err := r.inspectTarget(ctx, inspected); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	rp := startReporter(r.cnt, r.job.OnProgress, r.job.ProgressInterval)
	defer rp.finish()

	units := r.plan(ctx, todo)
	// The mailboxes the units may append to (their own, the groupware folders items are routed to) are
	// marked in flight with one save before anything is appended; any other marks itself before its first
	// APPEND.
	var marks []string
	for _, u := range units {
		marks = append(marks, u.f.m.Target)
	}
	for _, name := range r.tgt.groupware {
		if len(units) > 0 {
			marks = append(marks, name)
		}
	}
	if err := r.cps.markInFlight(ctx, marks...); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	// Big units first: the run ends sooner when the longest jobs start first.
	sort.SliceStable(units, func(a, b int) bool { return units[a].size > units[b].size })
	queue := make(chan *unit)
	var wg sync.WaitGroup
	errs := make(chan error, len(units))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for n := 0; n < min(r.job.Parallel, max(1, len(units))); n++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range queue {
				if err := r.copyUnit(ctx, u); err != nil {
					u.f.setError(err)
					errs <- fmt.Errorf("%s: %w", u, err)
					if !errors.Is(err, context.Canceled) {
						cancel() // a folder that cannot be finished ends the run: its error must be seen
					}
					continue
				}
				if u.f.succeededOne() {
					r.cnt.foldersDone.Add(1)
				}
			}
		}()
	}
	for _, u := range units {
		select {
		case queue <- u:
		case <-ctx.Done():
		}
	}
	close(queue)
	wg.Wait()
	close(errs)
	var first error
	for err := range errs {
		if first == nil || errors.Is(first, context.Canceled) {
			first = err
		}
	}
	if !r.unanswered.Load() {
		// Every APPEND of the run was answered: nothing of it can land later.
		if err := r.cps.clearInFlight(context.WithoutCancel(ctx)); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// jobKey names the source and target a checkpoint belongs to.
func (r *run) jobKey() string {
	h := sha256.Sum256([]byte(r.job.Source.Describe() + "\x00" + r.job.Target.Endpoint.Address() + "\x00" + r.job.Target.Credentials.Login))
	return hex.EncodeToString(h[:12])
}

func (r *run) loadCheckpoint(ctx context.Context) error {
	r.cps = &checkpoints{store: r.job.Checkpoints}
	if r.job.Checkpoints != nil {
		cp, err := r.job.Checkpoints.Load(ctx)
		if err != nil {
			return err
		}
		if cp != nil && (cp.Version == 1 || cp.Version == checkpointVersion) && cp.Job == r.jobKey() {
			cp.Version = checkpointVersion // version 1 is version 2 without segments
			if cp.Folders == nil {
				cp.Folders = map[string]*FolderCheckpoint{}
			}
			r.cps.cp = cp
		}
	}
	if r.cps.cp == nil {
		r.cps.cp = &Checkpoint{Version: checkpointVersion, Job: r.jobKey(), Folders: map[string]*FolderCheckpoint{}}
	}
	return nil
}

func (r *run) fail(folder, ref, subject, reason string) {
	r.mu.Lock()
	r.rep.Failed = append(r.rep.Failed, FailedItem{Folder: folder, Identity: ref, Subject: subject, Reason: reason})
	r.mu.Unlock()
}

func (r *run) warn(folder, ref string, warnings []string) {
	if len(warnings) == 0 {
		return
	}
	r.mu.Lock()
	for _, w := range warnings {
		r.rep.Warnings = append(r.rep.Warnings, ItemWarning{Folder: folder, Identity: ref, Warning: w})
	}
	r.mu.Unlock()
}

// copyUnit copies one unit (a folder, or one segment of it), retrying transient failures with backoff.
// Each attempt starts from the checkpoint and re-reads the target folder, so an attempt cut short anywhere
// (even between an APPEND and its checkpoint) neither loses nor duplicates a message.
func (r *run) copyUnit(ctx context.Context, u *unit) error {
	defer r.tgt.release(u)
	backoff := r.job.RetryBackoff
	// counted are the items whose outcome this run has counted already: an attempt after a reconnect looks
	// at some of them again, and must not count them twice.
	counted := map[itemKey]bool{}
	for attempt := 0; ; attempt++ {
		err := r.copyUnitOnce(ctx, u, attempt, counted)
		if err == nil {
			return nil
		}
		if !imapbulk.IsTransient(err) || attempt >= r.job.Retries || ctx.Err() != nil {
			if m := r.job.Metrics; m != nil {
				m.Error("folder")
			}
			return err
		}
		wait := backoff
		var te *imapbulk.ThrottledError
		if errors.As(err, &te) && te.Backoff > 0 {
			wait = te.Backoff
		}
		if m := r.job.Metrics; m != nil {
			m.Error("transient")
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(2*backoff, 30*time.Second)
	}
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
// for the next batch to be read and converted, only for the server.
type inflight struct {
	batch []pending
	out   []appendOutcome
	// endPos and endUID are the last item looked at when the batch was handed over: once it is settled,
	// every item up to that one is final.
	endPos int
	endUID uint32
	err    error // the batch as a whole could not be appended (the attempt ends)
	broken error // a transient failure stopped it (the connection is likely gone)
	done   chan struct{}
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
// of its own and settles the batch's claims as soon as the replies are in.
func (r *run) appendBatch(ctx context.Context, u *unit, conn *imapbulk.Conn, b *inflight) {
	defer close(b.done)
	defer func() {
		for _, p := range b.batch {
			p.sp.Close() // sent or not, the bodies are not needed any more
		}
	}()
	b.out = make([]appendOutcome, len(b.batch))
	present, err := r.tgt.claim(ctx, u, b.batch)
	if err != nil {
		b.err = err
		for i := range b.out {
			b.out[i].err = err
		}
		return
	}
	var stop error // a transient failure: the rest of the batch is not sent
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
			if err := r.cps.markInFlight(ctx, b.batch[start].dest.name); err != nil {
				// Not sent: an APPEND the checkpoint does not know may be under way must not be sent.
				for _, i := range idx {
					b.out[i].err = fmt.Errorf("%w: checkpoint: %w", imapbulk.ErrNotSent, err)
				}
				b.err, stop = err, err
				start = end
				continue
			}
			results, err := conn.Append(ctx, b.batch[start].dest.name, msgs)
			if ctx.Err() != nil {
				// Stopped (suspended, deleted, interrupted): no outcome of this batch is final, not even a
				// refusal, and the checkpoint must not move past it. The next run checks these messages by
				// identity, so those the server stored before the stop are not copied twice.
				b.err = ctx.Err()
				for _, i := range idx {
					b.out[i] = appendOutcome{unsure: true, err: ctx.Err()}
				}
				stop = ctx.Err()
				start = end
				continue
			}
			for k, i := range idx {
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
				}
			}
			if err != nil && imapbulk.IsTransient(err) {
				stop = err
			}
		}
		start = end
	}
	b.broken = stop
	for _, o := range b.out {
		if o.unsure {
			r.unanswered.Store(true)
		}
	}
	r.tgt.settle(u, b.batch, b.out)
}

func (r *run) copyUnitOnce(ctx context.Context, u *unit, attempt int, counted map[itemKey]bool) error {
	sf, m, fr := u.f.sf, u.f.m, u.f.fr
	cp := r.cps.progress(sf.Key, u.seg)
	flagSource, hasFlags := r.job.Source.(FlagSource)
	// The source is read (and bodies converted or fetched) in a goroutine of its own while this one
	// appends: against remote servers the two sides' round trips overlap instead of adding up. It starts
	// while the target connection is being set up, and reads bodies only once the target folder's
	// identities are known (target), so that nothing already there is read.
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	var own *destination
	ready := make(chan struct{})
	target := func() (*destination, error) {
		select {
		case <-ready:
			return own, nil
		case <-pctx.Done():
			return nil, pctx.Err()
		}
	}
	decisions := make(chan decision, 8)
	produced := make(chan error, 1)
	go func() {
		defer close(decisions)
		produced <- r.produce(pctx, sf, u.span, m, cp, target, decisions)
	}()
	// abandon ends the attempt before anything was appended: the reading side is stopped and waited for.
	abandon := func(err error) error {
		stop()
		for d := range decisions {
			if d.p.sp != nil {
				d.p.sp.Close()
			}
		}
		<-produced
		return err
	}
	conn, err := r.tgt.dial(ctx)
	if err != nil {
		return abandon(err)
	}
	defer conn.Close()
	// What the last attempt's unanswered APPENDs may have left is read first, once the server is done
	// storing them; only then are their claims let go, so that no other unit copies one of those messages
	// again meanwhile.
	if len(u.unsure) > 0 {
		var names []string
		for d := range u.unsure {
			names = append(names, d.name)
		}
		if err := waitQuiet(ctx, conn, names); err != nil {
			return abandon(err)
		}
	}
	for d := range u.unsure {
		if d.name != m.Target {
			if _, err := r.tgt.destination(ctx, conn, d.name); err != nil {
				return abandon(err)
			}
		}
	}
	if own, err = r.tgt.destination(ctx, conn, m.Target); err != nil {
		return abandon(err)
	}
	u.f.use(own)
	close(ready)
	if len(u.unsure) > 0 {
		r.tgt.release(u)
		u.unsure = nil
	}
	previous := u.f.previous // the last complete pass, for the flag changes
	// Items an earlier run's checkpoint says were dealt with are counted as found: they are on the target or
	// were reported then. (A retry within this run counted them already.)
	if cp.Done > 0 && attempt == 0 {
		r.cnt.duplicates.Add(int64(cp.Done))
		atomic.AddInt64(&fr.Duplicates, int64(cp.Done))
	}
	var batch []pending
	var batchBytes int64
	var inf *inflight // the batch being appended, if any
	// lastPos/lastUID is the last item whose outcome is final (appended, found, or reported); cur is the
	// item being looked at. After a batch is settled every item up to its end is final.
	lastPos, lastUID := cp.Done-1, cp.LastUID
	curPos, curUID := lastPos, lastUID
	saveEvery := 0
	var lastSave time.Time
	save := func(complete bool) error {
		// A checkpoint is an fsync'd file: written at most once a second per unit (and at the end), it
		// costs nothing; written per batch, it would cost more than the copy. A crash re-checks what came
		// after it, which the identity check makes safe.
		if !complete && time.Since(lastSave) < time.Second {
			return nil
		}
		lastSave = time.Now()
		return r.cps.update(ctx, sf.Key, func(fc *FolderCheckpoint) { u.record(fc, lastPos+1, lastUID, complete) })
	}
	// book counts and reports what became of a batch that was appended, and moves the checkpoint past it.
	book := func(b *inflight) error {
		for i, p := range b.batch {
			o := b.out[i]
			if o.unsure {
				if u.unsure == nil {
					u.unsure = map[*destination]bool{}
				}
				u.unsure[p.dest] = true
			}
		}
		if b.err != nil {
			return b.err
		}
		for i, p := range b.batch {
			switch o := b.out[i]; {
			case o.present:
				r.present(sf, fr, counted, p, nil)
			case o.stored:
				counted[keyOf(p.it)] = true
				r.cnt.copied.Add(1)
				r.cnt.bytes.Add(p.sp.size)
				atomic.AddInt64(&fr.Copied, 1)
				if mt := r.job.Metrics; mt != nil {
					mt.Message("copied")
					mt.Bytes(p.sp.size)
				}
			case imapbulk.IsTransient(o.err):
				return o.err // the attempt ends; the next one re-reads the target and goes on
			default:
				r.itemFailed(sf, fr, counted, p.it, p.id, fmt.Sprintf("APPEND refused: %v", o.err), errors.Is(o.err, imapbulk.ErrTooBig))
			}
		}
		lastPos, lastUID = b.endPos, b.endUID
		return save(false)
	}
	// flush hands the batch over to be appended as soon as the one before it is done, then books that one.
	flush := func() error {
		prev := inf
		inf = nil
		if prev != nil {
			<-prev.done
		}
		if len(batch) > 0 && (prev == nil || prev.err == nil && prev.broken == nil) {
			inf = &inflight{batch: batch, endPos: curPos, endUID: curUID, done: make(chan struct{})}
			batch, batchBytes = nil, 0
			go r.appendBatch(ctx, u, conn, inf)
		}
		if prev != nil {
			return book(prev)
		}
		return nil
	}
	var consumeErr error
	for d := range decisions {
		if consumeErr == nil && inf != nil && inf.finished() {
			b := inf
			inf = nil
			if consumeErr = book(b); consumeErr != nil {
				stop()
			}
		}
		if consumeErr != nil {
			if d.p.sp != nil {
				d.p.sp.Close() // draining after an error: nothing more is appended
			}
			continue
		}
		it := d.p.it
		curPos, curUID = it.Pos, max(curUID, it.UID)
		if hasFlags && it.UID != 0 && d.failed == "" {
			u.f.saw(it.UID, it.Flags)
		}
		if d.p.dest != nil && d.p.dest != own {
			u.f.use(d.p.dest)
		}
		switch {
		case d.failed != "":
			r.itemFailed(sf, fr, counted, it, d.p.id, d.failed, d.tooBig)
		case d.p.sp == nil || d.p.dest.has(d.p.id) || inBatch(batch, d.p.id):
			if d.p.sp != nil {
				d.p.sp.Close()
			}
			r.present(sf, fr, counted, d.p, batch)
		default:
			r.warn(sf.Key, refOf(it, d.p.id), d.warnings)
			batch = append(batch, d.p)
			batchBytes += d.p.sp.size
			if len(batch) >= r.job.Batch || batchBytes >= r.job.BatchBytes {
				if consumeErr = flush(); consumeErr != nil {
					stop()
				}
			}
			continue
		}
		consumeErr = r.advance(&lastPos, &lastUID, it, len(batch) == 0 && inf == nil, &saveEvery, save)
		if consumeErr != nil {
			stop()
		}
	}
	err = <-produced
	if consumeErr != nil {
		err = consumeErr
	}
	if err == nil {
		err = flush()
	}
	if inf != nil {
		// Whatever ended the attempt, the batch in flight is waited for and settled: its stored messages
		// count as copied, and nothing of it is sent after the attempt.
		<-inf.done
		if berr := book(inf); err == nil {
			err = berr
		}
		inf = nil
	}
	if err != nil {
		for _, p := range batch {
			p.sp.Close()
		}
		return err
	}
	lastPos, lastUID = curPos, curUID
	if !u.copied {
		if u.f.units > 1 {
			// The segment is done; the folder is done when its last segment is (below).
			if err := save(true); err != nil {
				return err
			}
		}
		u.copied, u.finisher = true, u.f.copiedOne()
	}
	if !u.finisher {
		return nil
	}
	var flags *FlagState
	if hasFlags {
		// The source's flags as this pass leaves them: what the last pass saw, with the changes carried over
		// now and the messages looked at in this pass.
		state := flagMap{}
		if previous.SourceUIDValidity == sf.UIDValidity {
			if prev := previous.SourceFlags.decode(); prev != nil {
				state = prev
			}
		}
		var changed map[uint32]bool
		if previous.Complete && previous.SourceUIDValidity == sf.UIDValidity {
			if changed, err = r.syncFlags(ctx, conn, flagSource, sf, previous, own, fr, state); err != nil {
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
	lastSave = time.Now()
	return r.cps.update(ctx, sf.Key, func(fc *FolderCheckpoint) {
		u.record(fc, lastPos+1, lastUID, true)
		fc.Complete = true
		fc.HighestModSeq = sf.HighestModSeq
		if hasFlags {
			fc.SourceFlags = flags
		}
	})
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

// decision is what the reading side found out about one item, in source order: it is to be appended
// (p.sp holds it), it is on the target already (p.sp nil, failed empty), or it cannot be copied (failed).
type decision struct {
	p        pending
	failed   string
	tooBig   bool
	warnings []string
}

// produce reads the span's items, skips those the target holds without reading their bodies, converts
// or fetches the others into spools, and hands everything to the appending side in order. target returns
// the folder's own destination, once its identities are read.
func (r *run) produce(ctx context.Context, sf SourceFolder, span Span, m foldermap.Mapping, cp FolderCheckpoint, target func() (*destination, error), out chan<- decision) error {
	destOf := func(it *Item) (*destination, error) {
		own, err := target()
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
	return r.job.Source.Items(ctx, sf, span, cp, want, func(it *Item) error {
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
		if fromHead := headerIdentity(sp.Head(), sp.size); p.id.MessageID == "" {
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

// advance records an item that needed no APPEND. Its position is saved only when no APPEND is pending
// before it, and not for every such item: every 256th, or at the next flush.
func (r *run) advance(lastPos *int, lastUID *uint32, it *Item, nothingPending bool, every *int, save func(bool) error) error {
	if !nothingPending {
		return nil
	}
	*lastPos, *lastUID = it.Pos, max(*lastUID, it.UID)
	if *every++; *every%256 == 0 {
		return save(false)
	}
	return nil
}

// present deals with an item whose Message-ID (or content key) the target mailbox, or the batch being
// gathered for it, holds already. The same message is counted as already there. Another message under that
// Message-ID (other Date, From or Subject) is not copied either, since one Message-ID should name one
// message, but it is reported as skipped with the reason, so that a person can decide.
func (r *run) present(sf SourceFolder, fr *FolderReport, counted map[itemKey]bool, p pending, batch []pending) {
	if tm, ok := p.dest.collision(p.id); ok {
		r.collided(sf, fr, counted, p, fmt.Sprintf("UID %d", tm.uid))
		return
	}
	for _, q := range batch {
		if q.dest == p.dest && p.id.MessageID != "" && q.id.MessageID == p.id.MessageID && p.id.Headers != "" && q.id.Headers != "" && q.id.Headers != p.id.Headers {
			r.collided(sf, fr, counted, p, "the source's "+q.it.Ref+", copied now")
			return
		}
	}
	r.duplicate(fr, counted, p.it)
}

// collided reports an item that a different message with its Message-ID kept off the target.
func (r *run) collided(sf SourceFolder, fr *FolderReport, counted map[itemKey]bool, p pending, holder string) {
	if counted[keyOf(p.it)] {
		return
	}
	counted[keyOf(p.it)] = true
	r.cnt.skipped.Add(1)
	atomic.AddInt64(&fr.Skipped, 1)
	if m := r.job.Metrics; m != nil {
		m.Message("skipped")
	}
	r.fail(sf.Key, refOf(p.it, p.id), p.it.Subject, fmt.Sprintf("not copied: %q holds a different message with the same Message-ID (%s; Date, From or Subject differ)", p.dest.name, holder))
}

func (r *run) duplicate(fr *FolderReport, counted map[itemKey]bool, it *Item) {
	if counted[keyOf(it)] {
		return
	}
	counted[keyOf(it)] = true
	r.cnt.duplicates.Add(1)
	atomic.AddInt64(&fr.Duplicates, 1)
	if m := r.job.Metrics; m != nil {
		m.Message("duplicate")
	}
}

// itemFailed reports an item that was not copied. Oversized messages are skipped (reported) unless the job
// says they fail the run.
func (r *run) itemFailed(sf SourceFolder, fr *FolderReport, counted map[itemKey]bool, it *Item, id Identity, reason string, tooBig bool) {
	if counted[keyOf(it)] {
		return
	}
	counted[keyOf(it)] = true
	result := "failed"
	if tooBig && !r.job.FailOnTooBig {
		result = "skipped"
		r.cnt.skipped.Add(1)
		atomic.AddInt64(&fr.Skipped, 1)
	} else {
		r.cnt.failed.Add(1)
		atomic.AddInt64(&fr.Failed, 1)
	}
	if m := r.job.Metrics; m != nil {
		m.Message(result)
	}
	r.fail(sf.Key, refOf(it, id), it.Subject, reason)
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
