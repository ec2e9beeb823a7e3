package worker

import (
	"context"
	"errors"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeClock is the time a simulated run has reached; the controller sees only it.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// fakeCurve is a made-up server: the folder's items per second with n of its segments appending at once,
// at time since the start.
type fakeCurve func(n int, since time.Duration) float64

// fixedCurve is a fakeCurve that does not change over time; rates[n-1] is the speed with n connections
// (the last one holds for more).
func fixedCurve(rates ...float64) fakeCurve {
	return func(n int, _ time.Duration) float64 { return rates[min(n, len(rates))-1] }
}

// simulation is one folder of `segments` segments of `items` items each, copied by the dispatcher's rule
// (start one while fewer than limit run) against a fakeCurve, observed every tick, each item
// itemBytes big. A segment that is running cannot be stopped: it ends when its items are copied.
type simulation struct {
	ctl     *concurrency
	clock   *fakeClock
	elapsed time.Duration
	// busiest is the most segments that ran at once; levels the limit over time, one per tick.
	busiest int
	levels  []int
}

func simulate(t *testing.T, curve fakeCurve, segments, items int, itemBytes float64) simulation {
	t.Helper()
	const tick = 50 * time.Millisecond
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	ctl := newConcurrency(segments)
	var running []float64 // items left in each running segment
	next := 0
	var done float64
	s := simulation{ctl: ctl, clock: clock}
	for step := 0; ; step++ {
		if step > 100000 {
			t.Fatal("the simulated folder never finished")
		}
		for len(running) < ctl.limit() && next < segments {
			running = append(running, float64(items))
			next++
		}
		if len(running) == 0 {
			break
		}
		s.busiest = max(s.busiest, len(running))
		rate := curve(len(running), s.elapsed)
		each := rate * tick.Seconds() / float64(len(running))
		left := running[:0]
		for _, r := range running {
			done += min(each, r)
			if r > each {
				left = append(left, r-each)
			}
		}
		running = left
		// The dispatcher starts the next segment as soon as one ends, before the counters are reported.
		for len(running) < ctl.limit() && next < segments {
			running = append(running, float64(items))
			next++
		}
		clock.advance(tick)
		s.elapsed += tick
		// Counters move in whole items, as they do when APPENDs are answered.
		n := math.Floor(done)
		ctl.observe(clock.now(), int64(n), int64(n*itemBytes), len(running))
		s.levels = append(s.levels, ctl.limit())
	}
	return s
}

// TestConcurrencyContendedFolder: a Maildir-like server, where a second connection into the folder makes it
// slower. The controller tries two once, goes back to one and, after the hold, tries again; it never tries
// three, and the folder is copied about as fast as on one connection.
func TestConcurrencyContendedFolder(t *testing.T) {
	curve := fixedCurve(840, 520, 450, 400)
	s := simulate(t, curve, 20, 400, 20000)
	if s.busiest > 2 {
		t.Errorf("%d segments ran at once; a second one never paid", s.busiest)
	}
	if at1 := count(s.levels, 1); at1 < len(s.levels)*3/4 {
		t.Errorf("limit one for %d of %d ticks only (decisions %v)", at1, len(s.levels), s.ctl.trail)
	}
	if !slices.Contains(s.ctl.trail, 2) {
		t.Errorf("two connections never tried (decisions %v)", s.ctl.trail)
	}
	// One connection throughout: 8000 items at 840/s.
	ideal := 8000 / 840.0 // 20 segments of 400
	if got := s.elapsed.Seconds(); got > ideal*1.2 {
		t.Errorf("took %.1fs, one connection throughout takes %.1fs", got, ideal)
	}
}

// TestConcurrencyScalingFolder: an sdbox-like server, where connections add up to four and a fifth adds
// little. The controller climbs to four and stays there.
func TestConcurrencyScalingFolder(t *testing.T) {
	curve := fixedCurve(500, 950, 1350, 1700, 1750, 1760)
	s := simulate(t, curve, 12, 1500, 20000)
	if s.busiest < 4 {
		t.Errorf("at most %d segments ran at once; four paid (decisions %v)", s.busiest, s.ctl.trail)
	}
	if !slices.Contains(s.ctl.trail, 4) {
		t.Errorf("never reached four (decisions %v)", s.ctl.trail)
	}
	if slices.Contains(s.ctl.trail, 6) {
		t.Errorf("tried six although five did not pay (decisions %v)", s.ctl.trail)
	}
	// Once the fifth did not pay, the level stays at four.
	i := slices.Index(s.ctl.trail, 5)
	if i < 0 || i+1 >= len(s.ctl.trail) || s.ctl.trail[i+1] != 4 {
		t.Errorf("five tried and given up expected (decisions %v)", s.ctl.trail)
	}
}

// TestConcurrencyPeak: a server where two connections pay and three cost: the controller settles at two.
func TestConcurrencyPeak(t *testing.T) {
	s := simulate(t, fixedCurve(500, 800, 700, 650), 16, 600, 20000)
	counts := map[int]int{}
	for _, l := range s.levels {
		counts[l]++
	}
	if counts[2] < counts[1] || counts[2] < counts[3] {
		t.Errorf("time at each limit %v: two should dominate (decisions %v)", counts, s.ctl.trail)
	}
	if slices.Contains(s.ctl.trail, 4) {
		t.Errorf("tried four although three did not pay (decisions %v)", s.ctl.trail)
	}
}

// TestConcurrencyNoise: a server where connections change nothing, measured with ±5 % noise: no level above
// one is kept.
func TestConcurrencyNoise(t *testing.T) {
	rnd := rand.New(rand.NewSource(7))
	noisy := func(n int, _ time.Duration) float64 { return 800 * (0.95 + 0.1*rnd.Float64()) }
	s := simulate(t, noisy, 10, 800, 20000)
	for i, l := range s.ctl.trail {
		if l > 2 {
			t.Fatalf("decision %d went to %d on a flat curve (decisions %v)", i, l, s.ctl.trail)
		}
	}
	if at1 := count(s.levels, 1); at1 < len(s.levels)*3/4 {
		t.Errorf("limit one for %d of %d ticks only (decisions %v)", at1, len(s.levels), s.ctl.trail)
	}
}

func count(l []int, v int) int {
	n := 0
	for _, x := range l {
		if x == v {
			n++
		}
	}
	return n
}

// TestConcurrencyRetriesAfterHold: a level that did not pay is tried again once the hold is over, and kept
// when the server has changed meanwhile (the run's other folders finished).
func TestConcurrencyRetriesAfterHold(t *testing.T) {
	changing := func(n int, since time.Duration) float64 {
		if since < 4*time.Second || n == 1 {
			return 600
		}
		return 600 * float64(n)
	}
	s := simulate(t, changing, 12, 1000, 0)
	first := slices.Index(s.ctl.trail, 1)
	if first < 0 {
		t.Fatalf("two never given up while it did not pay (decisions %v)", s.ctl.trail)
	}
	if !slices.Contains(s.ctl.trail[first:], 3) {
		t.Errorf("not tried again once it paid (decisions %v)", s.ctl.trail)
	}
}

// TestConcurrencyMeasuresOnlyItsLevel: nothing is decided while fewer segments run than the level allows,
// before a window is over, or from the settling time at the start of one.
func TestConcurrencyMeasuresOnlyItsLevel(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := newConcurrency(4)
	var items int64
	for range 100 { // ten seconds with no segment running
		clock.advance(100 * time.Millisecond)
		items += 50
		c.observe(clock.now(), items, 0, 0)
	}
	if len(c.trail) != 0 || c.limit() != 1 {
		t.Fatalf("decided %v without a segment running", c.trail)
	}
	// One segment: the settling time, then a window.
	step := 10 * time.Millisecond
	var at time.Duration
	for c.limit() == 1 {
		clock.advance(step)
		at += step
		items += 5
		c.observe(clock.now(), items, 0, 1)
		if at > 5*time.Second {
			t.Fatal("no decision in five seconds of one segment running")
		}
	}
	if at < c.settle+c.window {
		t.Errorf("decided after %v, before the settling time and a window (%v)", at, c.settle+c.window)
	}
	// The measured speed is the segment's own: 500 items/s, not what ran before it.
	if got := c.baseRate.items; math.Abs(got-500) > 1 {
		t.Errorf("measured %.1f items/s, want 500", got)
	}
	// A window with too few items goes on (up to its longest).
	c2 := newConcurrency(4)
	items = 0
	at = 0
	for c2.limit() == 1 && at < 10*time.Second {
		clock.advance(step)
		at += step
		if at.Milliseconds()%200 == 0 {
			items++ // 5 items/s
		}
		c2.observe(clock.now(), items, 0, 1)
	}
	if want := c2.settle + concurrencyMaxWindows*c2.window; at < want {
		t.Errorf("a slow window decided after %v, before its longest %v", at, want)
	}
}

// TestThroughputOver: items and bytes both count.
func TestThroughputOver(t *testing.T) {
	base := throughput{items: 100, bytes: 1e6}
	for _, c := range []struct {
		t    throughput
		want float64
	}{
		{throughput{items: 120, bytes: 1.2e6}, 1.2},
		{throughput{items: 100, bytes: 2e6}, math.Sqrt2},
		{throughput{items: 200, bytes: 0}, 2}, // bytes not measured: items alone
		{throughput{items: 50, bytes: 0.5e6}, 0.5},
	} {
		if got := c.t.over(base); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%+v over %+v = %v, want %v", c.t, base, got, c.want)
		}
	}
	if got := (throughput{items: 10}).over(throughput{}); !math.IsInf(got, 1) {
		t.Errorf("anything over nothing = %v, want +Inf", got)
	}
}

// TestFiner: segments over the largest size are cut into equal parts that add up to them.
func TestFiner(t *testing.T) {
	for _, c := range []struct {
		in   []int
		want []int
	}{
		{[]int{768, 539, 442, 142}, []int{384, 384, 270, 269, 221, 221, 142}},
		{[]int{325, 325, 325, 225}, []int{325, 325, 325, 225}},
		{[]int{1201}, []int{301, 300, 300, 300}},
	} {
		if got := finer(c.in, 400); !slices.Equal(got, c.want) {
			t.Errorf("finer(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestDispatchHoldsAFolderToItsLimit: the dispatcher starts no more of a folder's segments than its
// concurrency allows (one, at first), gives the free connections to other folders' units meanwhile, never
// runs more than Parallel units, and starts the folder's next segment when one ends.
func TestDispatchHoldsAFolderToItsLimit(t *testing.T) {
	r := &run{job: Job{Parallel: 3}, cnt: &counters{}, rep: &Report{}}
	big := &folderRun{sf: SourceFolder{Key: "Big"}, fr: &FolderReport{}, units: 4}
	var units []*unit
	for i := range 4 {
		units = append(units, &unit{f: big, seg: i, size: 400})
	}
	for _, key := range []string{"A", "B", "C"} {
		units = append(units, &unit{f: &folderRun{sf: SourceFolder{Key: key}, fr: &FolderReport{}, units: 1}, seg: -1, size: 100})
	}
	started := make(chan *unit, len(units))
	release := map[*unit]chan error{}
	for _, u := range units {
		release[u] = make(chan error)
	}
	fakeCopy := func(ctx context.Context, u *unit) error {
		started <- u
		select {
		case err := <-release[u]:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	result := make(chan error, 1)
	go func() { result <- r.dispatch(ctx, cancel, units, fakeCopy) }()

	next := func() *unit {
		t.Helper()
		select {
		case u := <-started:
			return u
		case <-time.After(5 * time.Second):
			t.Fatal("no unit started")
			return nil
		}
	}
	quiet := func() {
		t.Helper()
		select {
		case u := <-started:
			t.Fatalf("%s started although no connection may be free", u)
		case <-time.After(100 * time.Millisecond):
		}
	}
	first := []*unit{next(), next(), next()}
	quiet()
	var bigs []*unit
	var other *unit
	for _, u := range first {
		if u.f == big {
			bigs = append(bigs, u)
		} else {
			other = u
		}
	}
	if len(bigs) != 1 || bigs[0] != units[0] {
		t.Fatalf("started first %v, %v, %v: want Big's first segment, then other folders' units beside it", first[0], first[1], first[2])
	}
	// Another folder's unit ends: the free connection goes to the last folder, not to Big's second segment.
	release[other] <- nil
	if u := next(); u.f == big {
		t.Fatalf("%s started beside Big's first segment", u)
	}
	quiet()
	// Big's segment ends: its next one starts.
	release[units[0]] <- nil
	if u := next(); u != units[1] {
		t.Fatalf("%s started, want Big's second segment", u)
	}
	// A failing unit ends the run with its error: the units running are cancelled, no other starts.
	release[units[1]] <- errors.New("refused")
	select {
	case err := <-result:
		if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), `"Big"`) {
			t.Fatalf("dispatch returned %v, want Big's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("dispatch did not end after a unit failed")
	}
	if len(started) > 0 {
		t.Errorf("%s started after the run was cancelled", <-started)
	}
}
