package imapbulk

import (
	"context"
	"strings"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// UIDSearch runs UID SEARCH with criteria sent as given (e.g. "ALL",
// `HEADER Message-ID "<x@y>"`, "UNSEEN SINCE 1-Jan-2024") in the selected
// mailbox and returns the UIDs. The caller is responsible for quoting
// inside criteria; CR and LF are refused.
func (c *Conn) UIDSearch(ctx context.Context, criteria string) ([]uint32, error) {
	op := "UID SEARCH " + criteria
	if strings.TrimSpace(criteria) == "" || strings.ContainsAny(criteria, "\r\n\x00") {
		return nil, localErr(imapconn.ProtocolError, op, "invalid search criteria")
	}
	var uids []uint32
	err := c.exec(ctx, op, func(ctx context.Context) error {
		if c.selected == "" {
			return localErr(imapconn.ProtocolError, op, "no mailbox selected")
		}
		_, err := c.run(ctx, op, newCommand("UID SEARCH", criteria), func(r *response) error {
			if r.kind != "SEARCH" {
				return nil
			}
			// A trailing "(MODSEQ n)" (RFC 7162 §3.1.5) is in r.fields:
			// skipped.
			uids = append(uids, r.nums...)
			return nil
		})
		return err
	})
	return uids, err
}

// Change is one change Apply makes to messages of the selected mailbox: a STORE (Store and Flags), a UID
// EXPUNGE (Expunge) or a UID MOVE (MoveTo), of the messages in UIDs.
type Change struct {
	UIDs string // a UID set, e.g. "3:7,9"
	// Store is "+FLAGS" (add), "-FLAGS" (remove) or "FLAGS" (replace) Flags, in the .SILENT form.
	Store string
	Flags []string
	// Expunge removes for good the messages of UIDs that are marked \Deleted, and only those (UID EXPUNGE,
	// RFC 4315; it needs UIDPLUS: a plain EXPUNGE would remove what the user marked too).
	Expunge bool
	// MoveTo moves the messages to this mailbox, at once (UID MOVE, RFC 6851; it needs MOVE).
	MoveTo string
}

func (ch Change) op() string {
	switch {
	case ch.Expunge:
		return "UID EXPUNGE " + abbreviate(ch.UIDs)
	case ch.MoveTo != "":
		return "UID MOVE " + abbreviate(ch.UIDs) + " " + ch.MoveTo
	}
	return "UID STORE " + abbreviate(ch.UIDs) + " " + ch.Store
}

// command checks the change and writes its command.
func (c *Conn) command(ch Change) (*command, error) {
	op := ch.op()
	if !uidSetOK(ch.UIDs) {
		return nil, localErr(imapconn.ProtocolError, op, "invalid UID set %q", abbreviate(ch.UIDs))
	}
	switch {
	case ch.Expunge:
		if !c.has("UIDPLUS") {
			return nil, localErr(imapconn.NotSupported, op, "the server lacks UIDPLUS")
		}
		return newCommand("UID EXPUNGE", ch.UIDs), nil
	case ch.MoveTo != "":
		if !c.has("MOVE") {
			return nil, localErr(imapconn.NotSupported, op, "the server lacks MOVE")
		}
		return newCommand("UID MOVE", ch.UIDs).mailbox(ch.MoveTo), nil
	}
	switch strings.ToUpper(ch.Store) {
	case "+FLAGS", "-FLAGS", "FLAGS":
	default:
		return nil, localErr(imapconn.ProtocolError, op, "operation must be +FLAGS, -FLAGS or FLAGS")
	}
	list, err := flagList(ch.Flags)
	if err != nil {
		return nil, localErr(imapconn.ProtocolError, op, "%v", err)
	}
	return newCommand("UID STORE", ch.UIDs, strings.ToUpper(ch.Store)+".SILENT", list), nil
}

// Apply makes changes to the selected mailbox, in order, writing the commands before it reads their replies:
// one round trip for all of them (commands with UIDs may be pipelined, RFC 9051 §5.5), and one more before
// each UID EXPUNGE, which waits for what came before it. A mailbox name that needs a synchronizing literal
// makes them go one by one. errs has each change's outcome: a refusal of one does
// not stop the others. err is set when the call as a whole failed (an invalid change, no mailbox selected,
// the connection), and then nothing is known of the changes.
func (c *Conn) Apply(ctx context.Context, changes []Change) (errs []error, err error) {
	if len(changes) == 0 {
		return nil, nil
	}
	errs, _, err = c.apply(ctx, changes, nil)
	return errs, err
}

// ApplyThenFetch is Apply, then FetchMessages of bodies, with the UID FETCH written in the same round trip
// as the last of the changes: what a sync does to a folder and the bodies it copies out of it cost one
// round trip less. The messages read are others than those changed (a FETCH of flags a STORE before it
// changes would be ambiguous, RFC 9051 §5.5; a body is not). fetchErr is the FETCH's own outcome, as
// FetchMessages returns it; err, set when the call as a whole failed, leaves the changes and the FETCH
// unknown.
func (c *Conn) ApplyThenFetch(ctx context.Context, changes []Change, bodies Bodies) (errs []error, fetchErr error, err error) {
	if len(bodies.UIDs) == 0 {
		errs, err = c.Apply(ctx, changes)
		return errs, nil, err
	}
	return c.apply(ctx, changes, newBodyReader(bodies))
}

// apply is Apply and, with br, ApplyThenFetch.
func (c *Conn) apply(ctx context.Context, changes []Change, br *bodyReader) (errs []error, fetchErr error, err error) {
	op := "UID STORE/EXPUNGE/MOVE"
	if br != nil {
		op += ", " + br.op
	}
	cmds := make([]*command, len(changes))
	pipelined := true
	for i, ch := range changes {
		if cmds[i], err = c.command(ch); err != nil {
			return nil, nil, err
		}
		pipelined = pipelined && c.pipelinable(cmds[i])
	}
	errs = make([]error, len(changes))
	err = c.exec(ctx, op, func(ctx context.Context) error {
		if c.selected == "" {
			return localErr(imapconn.ProtocolError, op, "no mailbox selected")
		}
		var onData func(*response)
		if br != nil {
			c.p.sink = br.sink
			defer func() { c.p.sink = nil }()
			onData = func(r *response) { _ = br.onData(r) }
		}
		if !pipelined {
			for i, cmd := range cmds {
				_, errs[i] = c.run(ctx, changes[i].op(), cmd, nil)
				if errs[i] != nil && isFatal(errs[i]) {
					return errs[i]
				}
			}
			if br != nil {
				if _, fetchErr = c.run(ctx, br.op, br.command(), br.onData); fetchErr != nil && isFatal(fetchErr) {
					return fetchErr
				}
			}
			return nil
		}
		const fetchIndex = -1
		tags := make(map[string]int, len(cmds)+1)
		// drain reads the replies to every command sent.
		drain := func() error {
			return awaitTagged(ctx, c, op, tags, func(r *response, i int) {
				switch {
				case r.status == "OK":
				case i == fetchIndex:
					fetchErr = statusErr(br.op, r, false, c.secrets)
				default:
					errs[i] = statusErr(changes[i].op(), r, false, c.secrets)
				}
			}, onData)
		}
		for i, cmd := range cmds {
			// A server may run pipelined commands at once (RFC 9051 §5.5): an expunge waits
			// for the answers to the commands before it, whose \Deleted it must see.
			if changes[i].Expunge {
				if err := drain(); err != nil {
					return err
				}
			}
			tag := c.nextTag()
			if err := c.send(ctx, changes[i].op(), tag, cmd); err != nil {
				return err
			}
			tags[tag] = i
		}
		if br != nil {
			tag := c.nextTag()
			if err := c.send(ctx, br.op, tag, br.command()); err != nil {
				return err
			}
			tags[tag] = fetchIndex
		}
		return drain()
	})
	if err != nil {
		return nil, nil, err
	}
	if fetchErr == nil && br != nil {
		fetchErr = br.stop
	}
	return errs, fetchErr, nil
}

// apply1 is Apply of one change, its outcome as the error.
func (c *Conn) apply1(ctx context.Context, ch Change) error {
	errs, err := c.Apply(ctx, []Change{ch})
	if err != nil {
		return err
	}
	return errs[0]
}

// Store changes the flags of the messages in uidSet of the selected mailbox: op is "+FLAGS" (add), "-FLAGS"
// (remove) or "FLAGS" (replace). It uses the .SILENT form: the server does not echo the new flags.
func (c *Conn) Store(ctx context.Context, uidSet string, op string, flags []string) error {
	return c.apply1(ctx, Change{UIDs: uidSet, Store: op, Flags: flags})
}

// Expunge removes for good the messages in uidSet of the selected mailbox that are marked \Deleted (see
// Change.Expunge).
func (c *Conn) Expunge(ctx context.Context, uidSet string) error {
	return c.apply1(ctx, Change{UIDs: uidSet, Expunge: true})
}

// Move moves the messages in uidSet of the selected mailbox to dest (see Change.MoveTo).
func (c *Conn) Move(ctx context.Context, uidSet, dest string) error {
	return c.apply1(ctx, Change{UIDs: uidSet, MoveTo: dest})
}
