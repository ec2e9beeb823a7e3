package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/mailshift/mailshift/internal/foldermap"
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

// warmer is a Source that can dial the connections of the next folders it reads ahead of need.
type warmer interface {
	Warm(ctx context.Context, n int)
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
	r.tgt = &target{spec: r.job.Target}
	if r.job.RateMessages > 0 {
		r.tgt.msgLimit = rate.NewLimiter(rate.Limit(r.job.RateMessages), 1)
	}
	if r.job.RateBytes > 0 {
		r.tgt.byteLimit = rate.NewLimiter(rate.Limit(r.job.RateBytes), max(imapbulk.LimiterChunk, int(r.job.RateBytes)))
	}
	// The target is prepared while the source is listed: neither needs the other, and each costs a dozen
	// round trips, which over a wide-area link are most of a small mailbox's run.
	prepared := make(chan error, 1)
	go func() { prepared <- r.tgt.prepare(ctx) }()
	defer r.tgt.close()
	folders, err := r.job.Source.Folders(ctx)
	// The first units' connections are dialed as soon as the source's folders are known, while the target is
	// still being prepared and its folders created: a server starts a session for each login (tens of
	// milliseconds of its time on Dovecot, one after another), and a unit waiting for its connections waits
	// for all of that.
	if n := r.expectedUnits(folders); n > 0 {
		r.tgt.warm.start(ctx, n, r.tgt.dial)
		if w, ok := r.job.Source.(warmer); ok {
			w.Warm(ctx, n)
		}
	}
	perr := <-prepared
	if err != nil && len(folders) == 0 {
		return fmt.Errorf("source: %w", err)
	}
	if perr != nil {
		return fmt.Errorf("target: %w", perr)
	}
	if err != nil {
		// Some folders could not be listed: the others are copied, the problem is reported.
		r.fail("", "", "", fmt.Sprintf("source folders: %v", err))
	}

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
	targets := make([]string, len(todo))
	for i, w := range todo {
		targets[i] = w.m.Target
	}
	if err := r.tgt.ensureAll(ctx, targets); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	// The folders' subscriptions and METADATA are carried on the setup session while the units copy: no
	// APPEND needs them, and what fails of them is a warning, not an error of the run.
	var attrsCarried sync.WaitGroup
	defer attrsCarried.Wait()
	attrsCtx := ctx // not the copy's, which is cancelled when the copy ends
	attrsCarried.Go(func() { r.carryFolderAttrs(attrsCtx, todo) })
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	first := r.dispatch(ctx, cancel, units, r.copyUnit)
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
		err := r.newUnitCopy(u, attempt, counted).execute(ctx)
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

// expectedUnits is how many units will run at once at the start, as far as the source's folders and the
// checkpoint tell before the target is read: a folder the checkpoint says is finished and unchanged needs
// none, one that may be cut into segments (see splitPlan) may need every connection.
func (r *run) expectedUnits(folders []SourceFolder) int {
	_, hasFlags := r.job.Source.(FlagSource)
	_, canSplit := r.job.Source.(Splitter)
	canSplit = canSplit && !r.job.KeepOrder && r.job.Parallel > 1
	n := 0
	for _, f := range folders {
		fc := r.cps.folder(f.Key)
		unchanged := !hasFlags || (f.HighestModSeq != 0 && f.HighestModSeq == fc.HighestModSeq)
		switch {
		case fc.Complete && fc.Done >= f.Count && unchanged && (f.UIDValidity == 0 || fc.SourceUIDValidity == f.UIDValidity):
		case canSplit && f.Count-fc.Done >= minSplit:
			n += r.job.Parallel
		default:
			n++
		}
	}
	return min(n, r.job.Parallel)
}
