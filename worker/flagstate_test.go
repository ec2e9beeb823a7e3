package worker

import (
	"slices"
	"testing"
)

// TestFlagStateRoundTrip: a flag state survives the checkpoint's compact form, keeps messages without
// flags apart from unknown ones, and a damaged or oversized one reads as unknown instead of filling memory.
func TestFlagStateRoundTrip(t *testing.T) {
	m := flagMap{1: {`\Seen`}, 2: {`\Seen`, "$Work"}, 3: nil, 4: {`\seen`}, 7: {`\Flagged`}, 8: {`\Seen`}}
	s := m.encode()
	if s.UIDs != "1:4,7:8" {
		t.Errorf("UIDs %q, want 1:4,7:8", s.UIDs)
	}
	back := s.decode()
	if len(back) != len(m) {
		t.Fatalf("decoded %d messages, want %d: %v", len(back), len(m), back)
	}
	for uid, want := range m {
		got, ok := back[uid]
		if !ok {
			t.Errorf("UID %d lost", uid)
		}
		if a, r := flagDelta(want, got); len(a) > 0 || len(r) > 0 {
			t.Errorf("UID %d: %q, want %q", uid, got, want)
		}
	}
	if _, ok := back[5]; ok {
		t.Error("UID 5 was never seen but reads as known")
	}
	for _, bad := range []*FlagState{
		{UIDs: "1:4294967295"},
		{UIDs: "5:2"},
		{UIDs: "0"},
		{UIDs: "1:3,x"},
		{UIDs: "1:3", Flags: map[string]string{`\Seen`: "1:99999999"}},
	} {
		if got := bad.decode(); got != nil {
			t.Errorf("%+v decoded to %d messages, want nothing known", bad, len(got))
		}
	}
	add, remove := flagDelta([]string{`\Seen`, `\Recent`, "$a"}, []string{`\seen`, `\Answered`, `\Answered`})
	if !slices.Equal(add, []string{`\Answered`}) || !slices.Equal(remove, []string{"$a"}) {
		t.Errorf("delta: add %q, remove %q", add, remove)
	}
}
