package oxocal

import (
	"time"

	"github.com/mailshift/mailshift/internal/wallclock"
)

// wallClock is the instant at which loc's clocks show day (days since 1601-01-01) plus minutes, resolved
// as RFC 5545 section 3.3.5 resolves local times (see package wallclock).
func wallClock(day, minutes int, loc *time.Location) time.Time {
	return wallclock.At(epoch1601.Unix()+int64(day)*86400+int64(minutes)*60, loc)
}
