package imapconn

import (
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
