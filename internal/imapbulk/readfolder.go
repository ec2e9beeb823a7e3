package imapbulk

import (
	"context"
	"strconv"
	"strings"

	"github.com/mailshift/mailshift/internal/imapconn"
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
	// Resync, where the server offers QRESYNC (RFC 7162 §3.2.5), has the SELECT itself report what changed
	// since a mod-sequence of the mailbox as it was under a UIDVALIDITY: the messages whose flags changed
	// (Changed) and the UIDs expunged (Vanished), in place of Present and FlagsSince. The connection
	// enables QRESYNC first, in the same round trip. Folder.Resynced says whether the server reported them.
	Resync *Resync
}

// Resync is where a mailbox stood: its UIDVALIDITY and a mod-sequence.
type Resync struct {
	UIDValidity uint32
	ModSeq      uint64
}

// Folder is what ReadFolder read.
type Folder struct {
	Status     Status
	Present    []uint32
	Changed    []Identity // UID, FLAGS and MODSEQ
	Identities []Identity // only of UIDs from IdentitiesFrom on
	// Resynced: the SELECT reported the changes since FolderRead.Resync (QRESYNC, the same UIDVALIDITY):
	// Changed holds them, and Vanished the UIDs expunged since (a superset of them: a server may name
	// UIDs that never were).
	Resynced bool
	Vanished imapconn.UIDSet
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
	var fr *folderReader
	op := "SELECT " + name
	if want.ReadOnly {
		op = "EXAMINE " + name
	}
	err := c.exec(ctx, op, func(ctx context.Context) error {
		var err error
		if fr, err = c.newFolderReader(name, want); err != nil {
			return err
		}
		c.selected = ""
		if c.pipelinable(fr.cmds[fr.sel]) {
			tags := make(map[string]int, len(fr.cmds))
			for i, cmd := range fr.cmds {
				tag := c.nextTag()
				if err := c.send(ctx, fr.ops[i], tag, cmd); err != nil {
					return err
				}
				tags[tag] = i
			}
			if err := awaitTagged(ctx, c, fr.op, tags, fr.reply, fr.data); err != nil {
				return err
			}
		} else {
			// A mailbox name sent as a synchronizing literal waits for the server: one at a time.
			for i, cmd := range fr.cmds {
				reply, err := c.run(ctx, fr.ops[i], cmd, func(r *response) error { fr.data(r); return nil })
				if reply == nil {
					return err
				}
				fr.reply(reply, i)
			}
		}
		return fr.finish()
	})
	if err != nil {
		return Folder{}, err
	}
	return fr.f, nil
}

// folderReader is one ReadFolder: its commands, and what their replies have brought so far.
type folderReader struct {
	c        *Conn
	name     string
	want     FolderRead
	op       string
	ops      []string
	cmds     []*command // ENABLE QRESYNC when it is needed, then the SELECT
	sel      int        // the SELECT's index in cmds
	enabling bool
	resync   bool // the SELECT carries the QRESYNC parameter
	replies  []*response

	f            Folder
	changed, ids identities
	selected     bool // the SELECT's tagged reply has come
}

// newFolderReader builds the commands of a ReadFolder; it runs with the connection locked (it enables
// QRESYNC for the session when the read needs it).
func (c *Conn) newFolderReader(name string, want FolderRead) (*folderReader, error) {
	verb := "SELECT"
	if want.ReadOnly {
		verb = "EXAMINE"
	}
	fr := &folderReader{c: c, name: name, want: want, op: verb + " " + name}
	if want.Resync != nil && want.Resync.UIDValidity != 0 && want.Resync.ModSeq != 0 && c.has("QRESYNC") {
		fr.resync = true
		if !c.qresync {
			fr.ops, fr.cmds = append(fr.ops, "ENABLE QRESYNC"), append(fr.cmds, newCommand("ENABLE QRESYNC"))
			c.qresync, c.condstore = true, true // QRESYNC enables CONDSTORE too (RFC 7162 §3.2.3)
		}
	}
	sel, enabling := c.selectCommand(verb, name)
	if fr.resync {
		sel.sp("(QRESYNC (" + strconv.FormatUint(uint64(want.Resync.UIDValidity), 10) + " " + strconv.FormatUint(want.Resync.ModSeq, 10) + "))")
	}
	fr.enabling, fr.sel = enabling, len(fr.cmds)
	fr.ops, fr.cmds = append(fr.ops, fr.op), append(fr.cmds, sel)
	if want.Present {
		fr.ops = append(fr.ops, "UID SEARCH ALL")
		fr.cmds = append(fr.cmds, newCommand("UID SEARCH ALL"))
	}
	if want.FlagsSince > 0 {
		// CONDSTORE is the server's capability; the SELECT before it enables it for the session. A server
		// that no longer offers it is asked for the rest, and the caller reads the changes otherwise.
		if cmd, err := c.identitiesCommand("UID FETCH 1:*", "1:*", want.FlagsSince, false); err != nil {
			fr.f.Err = err
		} else {
			fr.ops = append(fr.ops, "UID FETCH 1:* (CHANGEDSINCE)")
			fr.cmds = append(fr.cmds, cmd)
		}
	}
	if want.IdentitiesFrom > 0 {
		set := itoa64(uint64(want.IdentitiesFrom)) + ":*"
		cmd, err := c.identitiesCommand("UID FETCH "+set, set, 0, true)
		if err != nil {
			return nil, err
		}
		fr.ops = append(fr.ops, "UID FETCH "+set)
		fr.cmds = append(fr.cmds, cmd)
	}
	fr.replies = make([]*response, len(fr.cmds))
	return fr, nil
}

// data takes untagged data. Untagged data before the SELECT's reply is the SELECT's. The commands after it
// read and change nothing another reads, so a server may run them at once, their replies interleaved: each
// goes where its kind says. A FETCH with identity items is the identities'; any other FETCH is a flag
// change (one another session made that the server reports unasked is one too).
func (fr *folderReader) data(r *response) {
	switch {
	case r.kind == "VANISHED":
		// "* VANISHED (EARLIER) 3:4,9": what QRESYNC reports gone; one without EARLIER is an expunge
		// another session made meanwhile, gone all the same.
		if n := len(r.fields); n > 0 && r.fields[n-1].kind != kindList {
			if set, err := imapconn.ParseUIDSet(r.fields[n-1].str()); err == nil {
				fr.f.Vanished = append(fr.f.Vanished, set...)
			}
		}
	case !fr.selected && fr.resync && r.kind == "FETCH":
		_ = fr.changed.add(r) // what changed since, reported with the SELECT
	case !fr.selected:
		_ = fr.f.Status.add(r)
	case r.kind == "SEARCH" && fr.want.Present:
		fr.f.Present = append(fr.f.Present, r.nums...)
	case r.kind != "FETCH" || len(r.fields) == 0 || r.fields[0].kind != kindList:
	case hasIdentityItems(r.fields[0].list):
		_ = fr.ids.add(r)
	default:
		_ = fr.changed.add(r)
	}
}

// reply takes the tagged reply to command i.
func (fr *folderReader) reply(r *response, i int) {
	fr.replies[i] = r
	fr.selected = fr.selected || i == fr.sel
}

// finish makes the Folder of the replies, once every command has had its own; the error is the SELECT's.
func (fr *folderReader) finish() error {
	c := fr.c
	if fr.replies[fr.sel].status != "OK" {
		return statusErr(fr.op, fr.replies[fr.sel], false, c.secrets)
	}
	c.selected1(fr.name, &fr.f.Status, fr.replies[fr.sel], fr.want.ReadOnly, fr.enabling)
	fr.f.Resynced = fr.resync && fr.f.Status.UIDValidity == fr.want.Resync.UIDValidity && !fr.f.Status.NoModSeq
	for i := fr.sel + 1; i < len(fr.replies) && fr.f.Err == nil; i++ {
		// An empty mailbox has nothing to read, whatever a server says of "1:*" there.
		if fr.replies[i].status != "OK" && fr.f.Status.Exists > 0 {
			fr.f.Err = statusErr(fr.ops[i], fr.replies[i], false, c.secrets)
		}
	}
	fr.f.Changed = fr.changed.list
	for _, id := range fr.ids.list {
		// "N:*" holds the last message even when its UID is below N (RFC 9051 §6.4.8).
		if id.UID >= fr.want.IdentitiesFrom {
			fr.f.Identities = append(fr.f.Identities, id)
		}
	}
	return nil
}

// pipelinable says whether cmd can be written without waiting for the server: none of its literals is a
// synchronizing one.
func (c *Conn) pipelinable(cmd *command) bool {
	for _, part := range cmd.parts {
		if part.literal && !c.nonSync(len(part.text)) {
			return false
		}
	}
	return true
}

// nonSync says whether a literal of size bytes may be sent without waiting for the server's continuation:
// LITERAL+, or LITERAL- for up to 4096 bytes (RFC 7888).
func (c *Conn) nonSync(size int) bool {
	return c.has("LITERAL+") || (c.has("LITERAL-") && size <= 4096)
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
