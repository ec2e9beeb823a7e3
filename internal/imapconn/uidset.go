package imapconn

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// UIDSetOf writes UIDs as an IMAP sequence set, ascending, runs of consecutive UIDs as ranges ("3:7,9").
// It sorts uids in place.
func UIDSetOf(uids []uint32) string {
	slices.Sort(uids)
	uids = slices.Compact(uids)
	var b strings.Builder
	for i := 0; i < len(uids); {
		j := i
		for j+1 < len(uids) && uids[j+1] == uids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(uids[i]), 10))
		if j > i {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(uids[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}

// UIDRange is First:Last, both included.
type UIDRange struct{ First, Last uint32 }

// UIDSet is a set of UIDs as IMAP writes them (RFC 9051 §9 sequence-set, without "*"), in the order
// the server sent them.
type UIDSet []UIDRange

// ParseUIDSet reads "1,3:5,9". "*" is refused: a set the server reports never holds it.
func ParseUIDSet(s string) (UIDSet, error) {
	var out UIDSet
	if s == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(part, ":")
		first, err := parseUID(a)
		if err != nil {
			return nil, fmt.Errorf("UID set %q: %w", truncateSet(s), err)
		}
		last := first
		if isRange {
			if last, err = parseUID(b); err != nil {
				return nil, fmt.Errorf("UID set %q: %w", truncateSet(s), err)
			}
		}
		if last < first {
			first, last = last, first
		}
		out = append(out, UIDRange{first, last})
	}
	return out, nil
}

func parseUID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("bad UID %q", truncateSet(s))
	}
	return uint32(n), nil
}

// String writes the set back ("1,3:5").
func (s UIDSet) String() string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(r.First), 10))
		if r.Last != r.First {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(r.Last), 10))
		}
	}
	return b.String()
}

// Contains reports whether uid is in the set.
func (s UIDSet) Contains(uid uint32) bool {
	for _, r := range s {
		if uid >= r.First && uid <= r.Last {
			return true
		}
	}
	return false
}

// Len returns the number of UIDs in the set (ranges that overlap counted twice).
func (s UIDSet) Len() uint64 {
	var n uint64
	for _, r := range s {
		n += uint64(r.Last-r.First) + 1
	}
	return n
}

// UIDs lists the set's UIDs, at most max of them (ok false when there were more).
func (s UIDSet) UIDs(max int) (uids []uint32, ok bool) {
	for _, r := range s {
		for u := uint64(r.First); u <= uint64(r.Last); u++ {
			if len(uids) >= max {
				return uids, false
			}
			uids = append(uids, uint32(u))
		}
	}
	return uids, true
}

func truncateSet(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
