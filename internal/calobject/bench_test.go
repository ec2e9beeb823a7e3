package calobject

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/groupware"
)

// benchMessages are n Kolab v3 messages as a migration writes them: every tenth a weekly series with two
// exclusions and one moved instance, the rest single events spread over a few months.
func benchMessages(tb testing.TB, n int) [][]byte {
	return benchMessagesIn(tb, n, groupware.FormatKolab3)
}

// benchMessagesIn are the benchMessages in format f.
func benchMessagesIn(tb testing.TB, n int, f groupware.Format) [][]byte {
	tb.Helper()
	berlin := mustLoad(tb, "Europe/Berlin")
	base := time.Date(2026, 1, 5, 9, 0, 0, 0, berlin)
	msgs := make([][]byte, n)
	for i := range msgs {
		start := base.Add(time.Duration(i%90)*24*time.Hour + time.Duration(i%8)*time.Hour)
		e := &groupware.Event{
			Common: groupware.Common{UID: fmt.Sprintf("bench-%06d@example.org", i), Summary: fmt.Sprintf("Meeting %d", i),
				Created: time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)},
			Start: groupware.DateTime{Time: start, TZID: "Europe/Berlin"},
			End:   groupware.DateTime{Time: start.Add(time.Hour), TZID: "Europe/Berlin"},
			Busy:  groupware.BusyStatus(i % 4),
		}
		if i%10 == 0 {
			e.Recurrence = &groupware.Recurrence{
				Rule:    groupware.Rule{Freq: groupware.Weekly, Count: 20, ByDay: []groupware.WeekdayNum{{Weekday: start.Weekday()}}, WeekStart: time.Monday},
				ExDates: []time.Time{start.AddDate(0, 0, 7), start.AddDate(0, 0, 21)},
			}
			moved := start.AddDate(0, 0, 14)
			e.Exceptions = []groupware.Exception{{
				RecurrenceID: groupware.DateTime{Time: moved, TZID: "Europe/Berlin"},
				Event: groupware.Event{Common: groupware.Common{Summary: "moved"},
					Start: groupware.DateTime{Time: moved.Add(2 * time.Hour), TZID: "Europe/Berlin"},
					End:   groupware.DateTime{Time: moved.Add(3 * time.Hour), TZID: "Europe/Berlin"}},
			}}
		}
		var b bytes.Buffer
		if err := groupware.WriteMessage(&b, e, f, groupware.Envelope{}); err != nil {
			tb.Fatal(err)
		}
		msgs[i] = b.Bytes()
	}
	return msgs
}

func BenchmarkRead10000(b *testing.B) { benchRead(b, benchMessages(b, 10000)) }

// BenchmarkReadICalendar10000 is BenchmarkRead10000 for plain iCalendar messages: the content-line reader
// of package ical on the hot path.
func BenchmarkReadICalendar10000(b *testing.B) {
	benchRead(b, benchMessagesIn(b, 10000, groupware.FormatICal))
}

func benchRead(b *testing.B, msgs [][]byte) {
	size := 0
	for _, m := range msgs {
		size += len(m)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range msgs {
			evs, err := Read(m)
			if err != nil || len(evs) != 1 {
				b.Fatalf("Read: %d events, %v", len(evs), err)
			}
		}
	}
}
