package imapsession

import (
	"fmt"
	"strconv"
	"strings"
)

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
			return nil, fmt.Errorf("UID set %q: %w", truncateText(s), err)
		}
		last := first
		if isRange {
			if last, err = parseUID(b); err != nil {
				return nil, fmt.Errorf("UID set %q: %w", truncateText(s), err)
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
		return 0, fmt.Errorf("bad UID %q", truncateText(s))
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

// validSetArg checks a UID set argument the caller gives (here "*" is allowed).
func validSetArg(s string) bool {
	if s == "" || len(s) > 1<<16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c == ':' || c == ',' || c == '*') {
			return false
		}
	}
	return true
}

func truncateText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
