// Package wallclock places local clock readings on the time line the way RFC 5545 §3.3.5 says, which
// time.Date does not promise: a reading that occurs twice (clocks going back) is its first occurrence,
// and one that does not occur (clocks going forward) is read with the offset in force before the gap.
package wallclock

import "time"

// At is the instant at which loc's clocks read naive: the wall-clock reading as seconds since
// 1970-01-01T00:00, as if it were UTC (time.Date(..., time.UTC).Unix() of the reading).
func At(naive int64, loc *time.Location) time.Time {
	offsetAt := func(unix int64) int64 {
		_, off := time.Unix(unix, 0).In(loc).Zone()
		return int64(off)
	}
	before := offsetAt(naive - 86400) // a day either side of any single transition
	after := offsetAt(naive + 86400)
	if before == after { // no transition near: the common case, one more lookup spared
		return time.Unix(naive-before, 0).In(loc)
	}
	first, second := naive-before, naive-after
	firstOK := offsetAt(first) == before
	secondOK := offsetAt(second) == after
	switch {
	case firstOK && secondOK:
		return time.Unix(min(first, second), 0).In(loc)
	case secondOK && !firstOK:
		return time.Unix(second, 0).In(loc)
	}
	return time.Unix(first, 0).In(loc) // the reading itself, or in a gap: the offset before it
}
