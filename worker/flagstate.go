package worker

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// FlagState is the flags of a source folder's messages as a pass saw them, kept compactly in the checkpoint
// as UID sets ("1:40,42,50:61"): every message it knows, and per flag those that had it. A delta pass
// compares the source's flags now with these, and adds and removes on the target only what changed on the
// source: flags people set on the target in between stay.
type FlagState struct {
	UIDs  string            `json:"uids"`
	Flags map[string]string `json:"flags,omitempty"`
}

// maxFlagStateUIDs bounds what a stored flag state may expand to: the checkpoint is read from a file or a
// ConfigMap someone may have edited, and a range such as 1:4294967295 must not become a map of that size.
const maxFlagStateUIDs = 4 << 20

// maxFlagStateBytes bounds one folder's flag state in the checkpoint (about 3-4 bytes a message for typical
// flags): the operator keeps the checkpoint in a ConfigMap, which holds at most 1 MiB. A larger folder keeps
// none, and its delta passes make the target's flags the source's, as before flag states were kept.
const maxFlagStateBytes = 160 << 10

// flagMap is a flag state in memory: by source UID, the message's flags.
type flagMap map[uint32][]string

// decode expands the state; nil (nothing known) when there is none or it is damaged or too large.
func (s *FlagState) decode() flagMap {
	if s == nil {
		return nil
	}
	uids, err := parseUIDSet(s.UIDs, maxFlagStateUIDs)
	if err != nil {
		return nil
	}
	out := make(flagMap, len(uids))
	for _, u := range uids {
		out[u] = nil
	}
	flags := make([]string, 0, len(s.Flags))
	for f := range s.Flags {
		flags = append(flags, f)
	}
	slices.Sort(flags)
	for _, f := range flags {
		with, err := parseUIDSet(s.Flags[f], len(uids))
		if err != nil {
			return nil
		}
		for _, u := range with {
			if l, ok := out[u]; ok {
				out[u] = append(l, f)
			}
		}
	}
	return out
}

// encode is the compact form of m.
func (m flagMap) encode() *FlagState {
	if len(m) == 0 {
		return nil
	}
	all := make([]uint32, 0, len(m))
	byFlag := map[string][]uint32{}
	names := map[string]string{} // lower-case → the spelling first seen
	for u, flags := range m {
		all = append(all, u)
		for _, f := range flags {
			k := strings.ToLower(f)
			if _, ok := names[k]; !ok {
				names[k] = f
			}
			byFlag[k] = append(byFlag[k], u)
		}
	}
	s := &FlagState{UIDs: imapconn.UIDSetOf(all)}
	size := len(s.UIDs)
	if len(byFlag) > 0 {
		s.Flags = make(map[string]string, len(byFlag))
		for k, uids := range byFlag {
			s.Flags[names[k]] = imapconn.UIDSetOf(uids)
			size += len(k) + len(s.Flags[names[k]])
		}
	}
	if size > maxFlagStateBytes {
		return nil
	}
	return s
}

// parseUIDSet reads what imapconn.UIDSetOf wrote, refusing more than limit UIDs.
func parseUIDSet(s string, limit int) ([]uint32, error) {
	var out []uint32
	if s == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, err := strconv.ParseUint(lo, 10, 32)
		if err != nil || a == 0 {
			return nil, fmt.Errorf("bad UID %q", lo)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 32); err != nil || b < a {
				return nil, fmt.Errorf("bad UID range %q", part)
			}
		}
		if uint64(len(out))+b-a+1 > uint64(limit) {
			return nil, fmt.Errorf("more than %d UIDs", limit)
		}
		for u := a; u <= b; u++ {
			out = append(out, uint32(u))
		}
	}
	return out, nil
}

// flagDelta is what turns the flags old into now: the flags to add and to remove (compared without case,
// \Recent ignored). Applied to a target message, it changes exactly what changed on the source.
func flagDelta(old, now []string) (add, remove []string) {
	has := func(l []string, f string) bool {
		return slices.ContainsFunc(l, func(g string) bool { return strings.EqualFold(f, g) })
	}
	for _, f := range now {
		if !strings.EqualFold(f, `\Recent`) && !has(old, f) && !has(add, f) {
			add = append(add, f)
		}
	}
	for _, f := range old {
		if !strings.EqualFold(f, `\Recent`) && !has(now, f) && !has(remove, f) {
			remove = append(remove, f)
		}
	}
	return add, remove
}
