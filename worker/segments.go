package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailshift/mailshift/internal/foldermap"
)

// A folder is copied by one unit of work, or, when it is large, by several: its segments, contiguous spans
// of its items that may be copied at once, each in source order over a connection of its own (see
// Job.KeepOrder). The run is as long as its longest connection: a folder that holds a third of the mailbox
// would otherwise be appended alone at the end while the other connections sit idle. How many of a folder's
// segments do run at once is measured while it is copied (concurrency): on some storage formats concurrent
// APPENDs into one mailbox make it slower, not faster.
const (
	// minSplit is the smallest folder that is cut; minSegment the smallest segment worth a connection.
	minSplit   = 500
	minSegment = 100
	// maxSegment is the largest segment: how many of a folder's segments run at once is found while it is
	// copied (see concurrency), and a segment, once started, runs to its end; trying one more connection
	// costs a whole segment at the slower speed when it does not pay.
	maxSegment = 400
)

// work is one folder of the plan: its index in the report, the folder and where it goes.
type work struct {
	i  int
	sf SourceFolder
	m  foldermap.Mapping
}

// folderRun is one source folder being copied, by one unit or by several at once.
type folderRun struct {
	sf SourceFolder
	m  foldermap.Mapping
	fr *FolderReport // its counters are updated atomically: the units of a folder share it
	// previous is the folder's checkpoint as the run found it: its last complete pass, for flag changes.
	previous FolderCheckpoint
	units    int
	// ctl decides how many of the folder's units run at once (nil: a folder of one unit); active is how many
	// do. Only the dispatcher uses them.
	ctl    *concurrency
	active int

	mu sync.Mutex
	// copied counts the units whose spans are copied to their ends; succeeded those that finished.
	copied, succeeded int
	// dests are the target mailboxes the folder's units read and wrote: their state goes into the
	// checkpoint (TargetCheck). seen are the source flags of the messages this run looked at (IMAP).
	dests map[*destination]bool
	seen  flagMap
}

// use records that the folder's messages go to d.
func (f *folderRun) use(d *destination) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dests == nil {
		f.dests = map[*destination]bool{}
	}
	f.dests[d] = true
}

// saw records the source flags of a message the run looked at.
func (f *folderRun) saw(uid uint32, flags []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen == nil {
		f.seen = flagMap{}
	}
	f.seen[uid] = flags
}

// targetChecks is what the checkpoint records of the folder's target mailboxes: those this run used as it
// found them, and those an earlier run recorded that this one did not touch.
func (f *folderRun) targetChecks(prev []TargetCheck) []TargetCheck {
	f.mu.Lock()
	var out []TargetCheck
	used := map[string]bool{}
	for d := range f.dests {
		c := d.check()
		out = append(out, c)
		used[c.Mailbox] = true
	}
	f.mu.Unlock()
	for _, c := range prev {
		if !used[c.Mailbox] {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Mailbox < out[j].Mailbox })
	return out
}

// copiedOne records that a unit copied its span to the end; it returns true for the last one, which
// finishes the folder (flag changes, the checkpoint's Complete).
func (f *folderRun) copiedOne() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.copied++
	return f.copied == f.units
}

// succeededOne records a unit that finished; it returns true when it was the folder's last.
func (f *folderRun) succeededOne() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.succeeded++
	return f.succeeded == f.units
}

func (f *folderRun) setError(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fr.Error == "" {
		f.fr.Error = err.Error()
	}
}

// unit is one span of a folder, copied in source order over one target connection.
type unit struct {
	f *folderRun
	// seg is the index of its segment in the folder's checkpoint entry; -1 when the folder is not cut.
	seg  int
	span Span
	size int // items it is expected to deal with: big units start first
	// copied says an earlier attempt copied the span to its end; finisher that it was the folder's last.
	copied, finisher bool
	// unsure are the destinations where an APPEND of the last attempt may have landed unanswered: they are
	// read again before the unit goes on, and their claims let go only then.
	unsure map[*destination]bool
}

func (u *unit) String() string {
	if u.seg < 0 {
		return fmt.Sprintf("folder %q", u.f.sf.Key)
	}
	return fmt.Sprintf("folder %q (segment %d of %d)", u.f.sf.Key, u.seg+1, u.f.units)
}

// record writes the unit's progress into its folder's checkpoint entry: into the folder's own fields when
// it is not cut, else into its segment's, the folder's Done and LastUID being their sum and highest.
func (u *unit) record(fc *FolderCheckpoint, done int, lastUID uint32, complete bool) {
	fc.Target, fc.SourceUIDValidity = u.f.m.Target, u.f.sf.UIDValidity
	fc.Targets = u.f.targetChecks(fc.Targets)
	if u.seg < 0 || u.seg >= len(fc.Segments) {
		fc.Done, fc.LastUID, fc.Segments = done, lastUID, nil
		return
	}
	s := &fc.Segments[u.seg]
	s.Done, s.LastUID = done, lastUID
	s.Complete = s.Complete || complete
	fc.Done, fc.LastUID = 0, 0
	for _, s := range fc.Segments {
		fc.Done += s.Done
		fc.LastUID = max(fc.LastUID, s.LastUID)
	}
}

// plan turns the folders into units. A folder a checkpoint says is complete and unchanged needs none; one an
// earlier run began goes on as that run cut it (or did not); the others start from the beginning, cut into
// segments where that shortens the run (splitPlan).
func (r *run) plan(ctx context.Context, todo []work) []*unit {
	_, hasFlags := r.job.Source.(FlagSource)
	splitter, canSplit := r.job.Source.(Splitter)
	canSplit = canSplit && !r.job.KeepOrder && r.job.Parallel > 1
	var units []*unit
	var fresh []*folderRun
	for _, w := range todo {
		fc := r.cps.folder(w.sf.Key)
		f := &folderRun{sf: w.sf, m: w.m, fr: &r.rep.Folders[w.i], previous: fc}
		srcValid := fc.Target == w.m.Target && (w.sf.UIDValidity == 0 || fc.SourceUIDValidity == w.sf.UIDValidity)
		// What the entry says was done is believed only while the target still holds it.
		valid := srcValid && r.targetHolds(fc)
		unchanged := !hasFlags || (w.sf.HighestModSeq != 0 && w.sf.HighestModSeq == fc.HighestModSeq)
		switch {
		case valid && fc.Complete && fc.Done >= w.sf.Count && unchanged:
			// Nothing new since the folder was finished: not even a connection is needed.
			r.cnt.duplicates.Add(int64(w.sf.Count))
			f.fr.Duplicates = int64(w.sf.Count)
			r.cnt.foldersDone.Add(1)
			continue
		case valid && len(fc.Segments) > 0 && !r.job.KeepOrder:
			// Cut by an earlier run: the same segments, each from where it got to. A complete segment other
			// than the last cannot grow (new messages come after it) and needs nothing more.
			for i, s := range fc.Segments {
				if s.Complete && s.To != 0 && i < len(fc.Segments)-1 {
					r.cnt.duplicates.Add(int64(s.Done))
					atomic.AddInt64(&f.fr.Duplicates, int64(s.Done))
					continue
				}
				units = append(units, &unit{f: f, seg: i, span: s.Span, size: max(s.Items-s.Done, 0)})
				f.units++
			}
			continue
		case valid && len(fc.Segments) == 0 && (fc.Done > 0 || fc.Complete):
			units = append(units, &unit{f: f, seg: -1, size: max(w.sf.Count-fc.Done, 0)})
			f.units = 1
			continue
		}
		// From the beginning: an entry of another target, of a rebuilt folder, or of a target mailbox that no
		// longer holds what it recorded means nothing any more (the identity check decides); one cut
		// into segments, under KeepOrder, is started over in order (the identity check keeps what is on the
		// target from being copied again), keeping what it says of the last complete pass for flag changes.
		reset := FolderCheckpoint{Target: w.m.Target, SourceUIDValidity: w.sf.UIDValidity}
		if srcValid {
			reset.Complete, reset.HighestModSeq, reset.SourceFlags = fc.Complete, fc.HighestModSeq, fc.SourceFlags
		}
		r.cps.set(w.sf.Key, reset)
		fresh = append(fresh, f)
	}
	loads := make([]int, 0, len(units)+len(fresh))
	cuttable := make([]bool, 0, len(units)+len(fresh))
	for _, u := range units {
		loads, cuttable = append(loads, u.size), append(cuttable, false)
	}
	for _, f := range fresh {
		loads, cuttable = append(loads, f.sf.Count), append(cuttable, canSplit)
	}
	pieces := splitPlan(loads, cuttable, r.job.Parallel)[len(units):]
	for i, f := range fresh {
		var spans []Span
		if len(pieces[i]) > 1 {
			pieces[i] = finer(pieces[i], maxSegment)
			if s, err := splitter.Split(ctx, f.sf, pieces[i]); err == nil && len(s) > 1 {
				spans = s
			}
		}
		if spans == nil {
			units = append(units, &unit{f: f, seg: -1, size: f.sf.Count})
			f.units = 1
			continue
		}
		fc := r.cps.folder(f.sf.Key)
		left := f.sf.Count
		for j, sp := range spans {
			n := left
			if j < len(spans)-1 {
				n = min(pieces[i][j], left)
			}
			left -= n
			fc.Segments = append(fc.Segments, SegmentCheckpoint{Span: sp, Items: n})
			units = append(units, &unit{f: f, seg: j, span: sp, size: n})
		}
		f.units = len(spans)
		r.cps.set(f.sf.Key, fc)
	}
	return units
}

// splitPlan decides which folders are cut and how: loads are the items each folder has left, cuttable
// whether it may be cut. A folder is cut when it is larger than its share of the run (all items over
// parallel connections) and has at least minSplit items. The other folders are laid out on the
// connections biggest first, each on the least loaded one (as the run will start them), and the folders to
// cut fill the connections up to the share (or up to the longest connection, when that is longer), the
// emptiest first. The result holds, per folder, the sizes of its segments in source order; nil for a
// folder that is not cut. Segments under minSegment join their neighbour.
func splitPlan(loads []int, cuttable []bool, parallel int) [][]int {
	out := make([][]int, len(loads))
	total := 0
	for _, n := range loads {
		total += n
	}
	if parallel < 2 || total == 0 {
		return out
	}
	share := (total + parallel - 1) / parallel
	order := make([]int, len(loads))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return loads[order[a]] > loads[order[b]] })
	conns := make([]int, parallel)
	var cut []int
	for _, i := range order {
		if cuttable[i] && loads[i] > share && loads[i] >= minSplit {
			cut = append(cut, i)
			continue
		}
		least := 0
		for j := range conns {
			if conns[j] < conns[least] {
				least = j
			}
		}
		conns[least] += loads[i]
	}
	if len(cut) == 0 {
		return out
	}
	limit := share
	for _, c := range conns {
		limit = max(limit, c)
	}
	room := make([]int, parallel)
	for j, c := range conns {
		room[j] = limit - c
	}
	sort.Sort(sort.Reverse(sort.IntSlice(room)))
	next := 0
	for _, i := range cut {
		var pieces []int
		for left := loads[i]; left > 0; {
			for next < len(room) && room[next] <= 0 {
				next++
			}
			n := left
			if next < len(room) {
				n = min(left, room[next])
				room[next] -= n
			}
			pieces = append(pieces, n)
			left -= n
		}
		var merged []int
		for _, n := range pieces {
			if n < minSegment && len(merged) > 0 {
				merged[len(merged)-1] += n
				continue
			}
			merged = append(merged, n)
		}
		if len(merged) > 1 && merged[0] < minSegment {
			merged[1] += merged[0]
			merged = merged[1:]
		}
		if len(merged) > 1 {
			out[i] = merged
		}
	}
	return out
}

// finer cuts every segment larger than most into equal parts of at most most items.
func finer(sizes []int, most int) []int {
	var out []int
	for _, n := range sizes {
		parts := (n + most - 1) / most
		for j := range parts {
			out = append(out, n/parts+btoi(j < n%parts))
		}
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// limit is how many of the folder's units may run at once.
func (f *folderRun) limit() int {
	if f.ctl == nil {
		return max(f.units, 1)
	}
	return f.ctl.limit()
}

// dispatch copies the units, biggest first, on at most Parallel connections at once, and as many of one
// folder's at once as its concurrency allows: a worker that may not start the next segment of a folder
// takes the next unit of another. It returns the first error that ended the run, if any. A failed unit
// cancels the run (its folder cannot be finished, and the error must be seen); the units running then end,
// the others are not started. copyUnit copies one unit (r.copyUnit; tests give their own).
func (r *run) dispatch(ctx context.Context, cancel context.CancelFunc, units []*unit, copyUnit func(context.Context, *unit) error) error {
	type result struct {
		u   *unit
		err error
	}
	for _, u := range units {
		if f := u.f; f.ctl == nil && f.units > 1 {
			f.ctl = newConcurrency(f.units)
		}
	}
	defer func() {
		// The report says what was decided, each change once.
		for _, u := range units {
			if f := u.f; f.ctl != nil && f.fr.Concurrency == nil {
				f.fr.Concurrency = []int{1}
				for _, l := range f.ctl.trail {
					if l != f.fr.Concurrency[len(f.fr.Concurrency)-1] {
						f.fr.Concurrency = append(f.fr.Concurrency, l)
					}
				}
			}
		}
	}()
	done := make(chan result)
	tick := time.NewTicker(concurrencyTick)
	defer tick.Stop()
	pending := slices.Clone(units)
	running := 0
	var first error
	for {
		for running < r.job.Parallel && ctx.Err() == nil {
			i := slices.IndexFunc(pending, func(u *unit) bool { return u.f.active < u.f.limit() })
			if i < 0 {
				break
			}
			u := pending[i]
			pending = slices.Delete(pending, i, i+1)
			running++
			u.f.active++
			go func() { done <- result{u, copyUnit(ctx, u)} }()
		}
		if running == 0 {
			// Nothing runs: either every unit is done, or the run was cancelled (with nothing running,
			// a unit of any folder may start, so none is left waiting for its folder).
			return first
		}
		select {
		case res := <-done:
			running--
			res.u.f.active--
			if err := res.err; err != nil {
				res.u.f.setError(err)
				if first == nil || errors.Is(first, context.Canceled) {
					first = fmt.Errorf("%s: %w", res.u, err)
				}
				if !errors.Is(err, context.Canceled) {
					cancel()
				}
				continue
			}
			if res.u.f.succeededOne() {
				r.cnt.foldersDone.Add(1)
			}
		case now := <-tick.C:
			observed := map[*folderRun]bool{}
			for _, u := range pending {
				if u.f.ctl == nil || observed[u.f] {
					continue
				}
				observed[u.f] = true
				// Items stored: what concurrent APPENDs compete for. (Items found on the target cost a
				// read, and a resumed segment counts what it had done at once.)
				u.f.ctl.observe(now, atomic.LoadInt64(&u.f.fr.Copied), 0, u.f.active)
			}
		}
	}
}
