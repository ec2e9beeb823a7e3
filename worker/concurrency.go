package worker

import (
	"math"
	"time"
)

// How a folder's concurrency is found. Concurrent APPENDs into one mailbox cost very differently from one
// storage format to the next: on Dovecot's sdbox they scale with the connections, on Maildir they contend
// for the folder's uidlist lock and a second connection makes the folder slower, not faster. So no fixed
// rule decides how many of a folder's segments run at once: each folder starts with one, and one more
// is tried only once the current number has been measured; it is kept when the folder got faster by
// concurrencyGain, and given up otherwise, to be tried again after concurrencyHold.
const (
	// concurrencyWindow is the shortest measurement of one level; concurrencyMinItems the fewest items in
	// it (a window over a handful of APPEND batches says more about the batching than about the server).
	// A window that goes on concurrencyMaxWindows times as long without them is taken as it is.
	concurrencyWindow     = 400 * time.Millisecond
	concurrencyMinItems   = 64
	concurrencyMaxWindows = 4
	// concurrencySettle is skipped at the start of every window: a segment that has just started is
	// logging in and reading its target mailbox, and appends nothing yet.
	concurrencySettle = 100 * time.Millisecond
	// concurrencyTick is how often the dispatcher reports the folders' counters.
	concurrencyTick = 50 * time.Millisecond
	// concurrencyGain is how much faster one more connection must make the folder to be kept.
	concurrencyGain = 0.12
	// concurrencyHold is how long a level that did not pay is left alone at first: what the server can take
	// changes as the run's other folders finish. Each try that fails again doubles it, as a try costs a
	// whole segment run at the slower level.
	concurrencyHold = 3 * time.Second
)

// throughput is a folder's speed over one window: items and bytes per second.
type throughput struct {
	items, bytes float64
}

// over is how much faster t is than base: the geometric mean of the items and bytes ratios (bytes count
// only when both were measured). Items alone would prefer small messages, bytes alone big ones.
func (t throughput) over(base throughput) float64 {
	if base.items <= 0 {
		if t.items > 0 {
			return math.Inf(1)
		}
		return 1
	}
	r := t.items / base.items
	if base.bytes > 0 && t.bytes > 0 {
		r = math.Sqrt(r * t.bytes / base.bytes)
	}
	return r
}

// concurrency decides how many of one folder's segments are copied at once. The dispatcher reports the
// folder's counters and how many of its segments run (observe) and starts another only while fewer than
// limit() run. A level is measured only while exactly that many segments run: fewer (one just ended, none
// is left to start, no worker was free) says nothing about it. It is not safe for concurrent use: the
// dispatcher alone calls it.
type concurrency struct {
	max    int // the folder's segments: more cannot run
	window time.Duration
	settle time.Duration
	gain   float64
	hold   time.Duration

	// level is how many segments may run; base the highest level that paid, baseRate its speed.
	level    int
	base     int
	baseRate throughput
	measured bool // baseRate is a measurement of base
	// heldUntil: no higher level is tried before then (the last one tried did not pay); held is how long
	// the next failure holds.
	heldUntil time.Time
	held      time.Duration

	// The window being measured: since when exactly level segments run, and the counters at its start
	// (open once the settling time is over).
	saturatedAt     time.Time
	saturated, open bool
	start           time.Time
	startItems      int64
	startBytes      int64

	// trail is what was decided, for tests and the log: the level after each decision.
	trail []int
}

func newConcurrency(segments int) *concurrency {
	return &concurrency{
		max: max(segments, 1), window: concurrencyWindow, settle: concurrencySettle, gain: concurrencyGain,
		hold: concurrencyHold, level: 1, base: 1,
	}
}

// limit is how many of the folder's segments may run now.
func (c *concurrency) limit() int { return c.level }

// observe takes the folder's counters at now (items dealt with and bytes stored, both growing) and how many
// of its segments run.
func (c *concurrency) observe(now time.Time, items, bytes int64, running int) {
	if running != c.level {
		c.saturated, c.open = false, false
		return
	}
	if !c.saturated {
		c.saturated, c.saturatedAt = true, now
	}
	if !c.open {
		if now.Sub(c.saturatedAt) < c.settle {
			return
		}
		c.open, c.start, c.startItems, c.startBytes = true, now, items, bytes
		return
	}
	dt := now.Sub(c.start)
	di := items - c.startItems
	if dt < c.window || (di < concurrencyMinItems && dt < concurrencyMaxWindows*c.window) {
		return
	}
	t := throughput{items: float64(di) / dt.Seconds(), bytes: float64(bytes-c.startBytes) / dt.Seconds()}
	c.decide(now, t)
	// The next window starts afresh: at a new level once its segments run, or at this one now.
	c.open = false
	c.saturated, c.saturatedAt = true, now
}

// decide takes the measurement t of the current level.
func (c *concurrency) decide(now time.Time, t throughput) {
	switch {
	case c.level == c.base:
		// The level that paid, measured again: its speed is what a higher level must beat.
		c.baseRate, c.measured = t, true
		if c.level < c.max && !now.Before(c.heldUntil) {
			c.level++
		}
	case c.measured && t.over(c.baseRate) >= 1+c.gain:
		// One more connection paid: keep it and try the next.
		c.base, c.baseRate, c.held = c.level, t, 0
		if c.level < c.max {
			c.level++
		}
	default:
		// It did not: back to the level that paid, and leave it alone for a while.
		c.level = c.base
		c.held = max(c.hold, 2*c.held)
		c.heldUntil = now.Add(c.held)
	}
	c.trail = append(c.trail, c.level)
}
