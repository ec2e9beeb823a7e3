package worker

import (
	"sync"
	"sync/atomic"
	"time"
)

// Progress is a run's state as reported while it runs.
type Progress struct {
	FoldersTotal int   `json:"foldersTotal"`
	FoldersDone  int   `json:"foldersDone"`
	ItemsTotal   int64 `json:"itemsTotal"`
	Copied       int64 `json:"copied"`
	Duplicates   int64 `json:"duplicates"`
	Failed       int64 `json:"failed"`
	Skipped      int64 `json:"skipped"`
	Bytes        int64 `json:"bytes"`
	// ItemsPerSecond and BytesPerSecond are averages since the start; ETA extrapolates them over the items
	// left (0 when unknown).
	ItemsPerSecond float64       `json:"itemsPerSecond"`
	BytesPerSecond float64       `json:"bytesPerSecond"`
	ETA            time.Duration `json:"eta"`
	Elapsed        time.Duration `json:"elapsed"`
}

// Done is the number of items dealt with.
func (p Progress) Done() int64 { return p.Copied + p.Duplicates + p.Failed + p.Skipped }

// counters are updated by the folder workers and read by the progress reporter.
type counters struct {
	start        time.Time
	foldersTotal atomic.Int64
	foldersDone  atomic.Int64
	items        atomic.Int64
	copied       atomic.Int64
	duplicates   atomic.Int64
	failed       atomic.Int64
	skipped      atomic.Int64
	bytes        atomic.Int64
	flagUpdates  atomic.Int64
}

func (c *counters) snapshot(now time.Time) Progress {
	p := Progress{
		FoldersTotal: int(c.foldersTotal.Load()), FoldersDone: int(c.foldersDone.Load()),
		ItemsTotal: c.items.Load(), Copied: c.copied.Load(), Duplicates: c.duplicates.Load(),
		Failed: c.failed.Load(), Skipped: c.skipped.Load(), Bytes: c.bytes.Load(),
		Elapsed: now.Sub(c.start),
	}
	if secs := p.Elapsed.Seconds(); secs > 0 {
		p.ItemsPerSecond = float64(p.Done()) / secs
		p.BytesPerSecond = float64(p.Bytes) / secs
		if left := p.ItemsTotal - p.Done(); left > 0 && p.ItemsPerSecond > 0 {
			p.ETA = time.Duration(float64(left) / p.ItemsPerSecond * float64(time.Second)).Round(time.Second)
		}
	}
	return p
}

// reporter calls fn at most once per interval, only when something changed, and once more at the end.
type reporter struct {
	c        *counters
	fn       func(Progress)
	interval time.Duration
	stop     chan struct{}
	done     sync.WaitGroup
}

func startReporter(c *counters, fn func(Progress), interval time.Duration) *reporter {
	r := &reporter{c: c, fn: fn, interval: interval, stop: make(chan struct{})}
	if fn == nil {
		return r
	}
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		var last Progress
		for {
			select {
			case <-r.stop:
				return
			case now := <-t.C:
				p := r.c.snapshot(now)
				if p.Done() != last.Done() || p.Bytes != last.Bytes || p.FoldersDone != last.FoldersDone || p.ItemsTotal != last.ItemsTotal {
					r.fn(p)
					last = p
				}
			}
		}
	}()
	return r
}

func (r *reporter) finish() {
	close(r.stop)
	r.done.Wait()
	if r.fn != nil {
		r.fn(r.c.snapshot(time.Now()))
	}
}
