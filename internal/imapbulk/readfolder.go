package imapbulk

import (
	"context"
	"strings"
)

// FolderRead is what ReadFolder reads of a folder besides its status.
type FolderRead struct {
	ReadOnly bool // EXAMINE instead of SELECT
	// Present asks for the UIDs of every message (UID SEARCH ALL).
	Present bool
	// FlagsSince > 0 asks for the UID, flags and mod-sequence of the messages changed since this
	// mod-sequence (FetchFlags with CHANGEDSINCE; it needs CONDSTORE).
	FlagsSince uint64
	// IdentitiesFrom > 0 asks for the identities of the messages from this UID on (FetchIdentities of
	// "N:*"; 1: every message).
	IdentitiesFrom uint32
}

// Folder is what ReadFolder read.
type Folder struct {
	Status     Status
	Present    []uint32
	Changed    []Identity // UID, FLAGS and MODSEQ
	Identities []Identity // only of UIDs from IdentitiesFrom on
	// Err is the first refusal of a read after the SELECT (CHANGEDSINCE in a mailbox without
	// mod-sequences, say): what it was to read is missing, and the caller reads it otherwise. The folder is
	// selected all the same.
	Err error
}

// ReadFolder selects mailbox name (as Select does) and reads what want asks for, in one round trip: the
// commands are written back to back and their replies read together (RFC 9051 §5.5: each depends on the
// SELECT before it, which the server completes first). Select and three more commands one after the other
// would cost four. The error is the SELECT's, or the connection's; the reads' own are in Folder.Err.
func (c *Conn) ReadFolder(ctx context.Context, name string, want FolderRead) (Folder, error) {
	verb := "SELECT"
	if want.ReadOnly {
		verb = "EXAMINE"
	}
	op := verb + " " + name
	var f Folder
	err := c.exec(ctx, op, func(ctx context.Context) error {
		sel, enabling := c.selectCommand(verb, name)
		ops := []string{op}
		cmds := []*command{sel}
		if want.Present {
			ops = append(ops, "UID SEARCH ALL")
			cmds = append(cmds, newCommand("UID SEARCH ALL"))
		}
		if want.FlagsSince > 0 {
			// CONDSTORE is the server's capability; the SELECT before it enables it for the session. A server
			// that no longer offers it is asked for the rest, and the caller reads the changes otherwise.
			if cmd, err := c.identitiesCommand("UID FETCH 1:*", "1:*", want.FlagsSince, false); err != nil {
				f.Err = err
			} else {
				ops = append(ops, "UID FETCH 1:* (CHANGEDSINCE)")
				cmds = append(cmds, cmd)
			}
		}
		if want.IdentitiesFrom > 0 {
			set := itoa64(uint64(want.IdentitiesFrom)) + ":*"
			cmd, err := c.identitiesCommand("UID FETCH "+set, set, 0, true)
			if err != nil {
				return err
			}
			ops = append(ops, "UID FETCH "+set)
			cmds = append(cmds, cmd)
		}
		// Untagged data before the SELECT's reply is the SELECT's. The commands after it read and change
		// nothing another reads, so a server may run them at once, their replies interleaved: each goes where
		// its kind says. A FETCH with identity items is the identities'; any other FETCH is a flag change
		// (one another session made that the server reports unasked is one too).
		var changed, ids identities
		selected := false
		onData := func(r *response) error {
			switch {
			case !selected:
				return f.Status.add(r)
			case r.kind == "SEARCH" && want.Present:
				f.Present = append(f.Present, r.nums...)
			case r.kind != "FETCH" || len(r.fields) == 0 || r.fields[0].kind != kindList:
			case hasIdentityItems(r.fields[0].list):
				return ids.add(r)
			default:
				return changed.add(r)
			}
			return nil
		}
		c.selected = ""
		replies := make([]*response, len(cmds))
		if c.pipelinable(sel) {
			tags := make(map[string]int, len(cmds))
			for i, cmd := range cmds {
				tag := c.nextTag()
				if err := c.send(ctx, ops[i], tag, cmd); err != nil {
					return err
				}
				tags[tag] = i
			}
			err := awaitTagged(ctx, c, op, tags, func(r *response, i int) {
				replies[i] = r
				selected = selected || i == 0
			}, func(r *response) { _ = onData(r) })
			if err != nil {
				return err
			}
		} else {
			// A mailbox name sent as a synchronizing literal waits for the server: one at a time.
			for i, cmd := range cmds {
				reply, err := c.run(ctx, ops[i], cmd, onData)
				if reply == nil {
					return err
				}
				replies[i] = reply
				selected = true
			}
		}
		if replies[0].status != "OK" {
			return statusErr(op, replies[0], false, c.secrets)
		}
		c.selected1(name, &f.Status, replies[0], want.ReadOnly, enabling)
		for i := 1; i < len(replies) && f.Err == nil; i++ {
			// An empty mailbox has nothing to read, whatever a server says of "1:*" there.
			if replies[i].status != "OK" && f.Status.Exists > 0 {
				f.Err = statusErr(ops[i], replies[i], false, c.secrets)
			}
		}
		f.Changed = changed.list
		for _, id := range ids.list {
			// "N:*" holds the last message even when its UID is below N (RFC 9051 §6.4.8).
			if id.UID >= want.IdentitiesFrom {
				f.Identities = append(f.Identities, id)
			}
		}
		return nil
	})
	if err != nil {
		return Folder{}, err
	}
	return f, nil
}

// pipelinable says whether cmd can be written without waiting for the server: none of its literals is a
// synchronizing one.
func (c *Conn) pipelinable(cmd *command) bool {
	for _, part := range cmd.parts {
		if part.literal && !c.has("LITERAL+") && !(c.has("LITERAL-") && len(part.text) <= 4096) {
			return false
		}
	}
	return true
}

// hasIdentityItems says whether FETCH items carry what only FetchIdentities asks for.
func hasIdentityItems(items []value) bool {
	for i := 0; i < len(items); i += 2 {
		key := strings.ToUpper(items[i].str())
		if key == "RFC822.SIZE" || key == "INTERNALDATE" || strings.HasPrefix(key, "BODY[HEADER.FIELDS") {
			return true
		}
	}
	return false
}
