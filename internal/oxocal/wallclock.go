package oxocal

import "time"

// wallClock is the instant at which loc's clocks show day (days since 1601-01-01) plus minutes, resolved
// as RFC 5545 section 3.3.5 resolves local times: a time that occurs twice (clocks going back) is the
// first occurrence, and a time that does not occur (clocks going forward) is read with the offset in
// effect before the gap. time.Date leaves both choices unspecified, and does not make them consistently.
func wallClock(day, minutes int, loc *time.Location) time.Time {
	naive := epoch1601.Unix() + int64(day)*86400 + int64(minutes)*60 // the wall clock read as UTC
	offsetAt := func(unix int64) int64 {
		_, off := time.Unix(unix, 0).In(loc).Zone()
		return int64(off)
	}
	before := offsetAt(naive - 86400) // a day either side of any single transition
	after := offsetAt(naive + 86400)
	first, second := naive-before, naive-after
	firstOK := offsetAt(first) == before
	secondOK := offsetAt(second) == after
	switch {
	case firstOK && secondOK:
		return time.Unix(min(first, second), 0).In(loc)
	case firstOK:
		return time.Unix(first, 0).In(loc)
	case secondOK:
		return time.Unix(second, 0).In(loc)
	}
	return time.Unix(first, 0).In(loc) // in a gap: the offset before it
}
