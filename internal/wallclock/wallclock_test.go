package wallclock

import (
	"testing"
	"time"
)

func TestAt(t *testing.T) {
	load := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	berlin, lordHowe := load("Europe/Berlin"), load("Australia/Lord_Howe")
	for _, tt := range []struct {
		reading string
		loc     *time.Location
		want    string // the instant in UTC
	}{
		{"2026-06-01T12:00:00", berlin, "2026-06-01T10:00:00Z"},
		{"2026-03-29T02:30:00", berlin, "2026-03-29T01:30:00Z"}, // in the gap: read with +01:00
		{"2026-03-29T03:00:00", berlin, "2026-03-29T01:00:00Z"}, // the gap's end
		{"2026-03-29T01:59:59", berlin, "2026-03-29T00:59:59Z"},
		{"2026-10-25T02:30:00", berlin, "2026-10-25T00:30:00Z"}, // twice: the first, +02:00
		{"2026-10-25T03:00:00", berlin, "2026-10-25T02:00:00Z"},
		{"2026-10-04T02:15:00", lordHowe, "2026-10-03T15:45:00Z"}, // 30-minute gap: +10:30 before it
		{"2026-04-05T01:45:00", lordHowe, "2026-04-04T14:45:00Z"}, // 30 minutes twice: +11:00 first
		{"2026-01-01T00:00:00", time.UTC, "2026-01-01T00:00:00Z"},
	} {
		r, err := time.Parse("2006-01-02T15:04:05", tt.reading)
		if err != nil {
			t.Fatal(err)
		}
		got := At(r.Unix(), tt.loc)
		if got.UTC().Format(time.RFC3339) != tt.want || got.Location() != tt.loc {
			t.Errorf("At(%s, %s) = %s, want %s in that zone", tt.reading, tt.loc, got.UTC().Format(time.RFC3339), tt.want)
		}
	}
}
