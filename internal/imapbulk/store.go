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

// Store changes the flags of the messages in uidSet of the selected
// mailbox: op is "+FLAGS" (add), "-FLAGS" (remove) or "FLAGS" (replace).
// It uses the .SILENT form: the server does not echo the new flags.
func (c *Conn) Store(ctx context.Context, uidSet string, op string, flags []string) error {
	opName := "UID STORE " + uidSet + " " + op
	switch strings.ToUpper(op) {
	case "+FLAGS", "-FLAGS", "FLAGS":
	default:
		return localErr(imapconn.ProtocolError, opName, "operation must be +FLAGS, -FLAGS or FLAGS")
	}
	if !uidSetOK(uidSet) {
		return localErr(imapconn.ProtocolError, opName, "invalid UID set %q", uidSet)
	}
	list, err := flagList(flags)
	if err != nil {
		return localErr(imapconn.ProtocolError, opName, "%v", err)
	}
	return c.exec(ctx, opName, func(ctx context.Context) error {
		if c.selected == "" {
			return localErr(imapconn.ProtocolError, opName, "no mailbox selected")
		}
		_, err := c.run(ctx, opName, newCommand("UID STORE", uidSet, strings.ToUpper(op)+".SILENT", list), nil)
		return err
	})
}

// Expunge removes for good the messages in uidSet of the selected mailbox
// that are marked \Deleted (UID EXPUNGE, RFC 4315 §2.1), leaving the
// mailbox's other \Deleted messages alone. It needs UIDPLUS: a plain
// EXPUNGE would remove what the mailbox's user marked too.
func (c *Conn) Expunge(ctx context.Context, uidSet string) error {
	op := "UID EXPUNGE " + uidSet
	if !uidSetOK(uidSet) {
		return localErr(imapconn.ProtocolError, op, "invalid UID set %q", uidSet)
	}
	if !c.has("UIDPLUS") {
		return localErr(imapconn.NotSupported, op, "the server lacks UIDPLUS")
	}
	return c.exec(ctx, op, func(ctx context.Context) error {
		if c.selected == "" {
			return localErr(imapconn.ProtocolError, op, "no mailbox selected")
		}
		_, err := c.run(ctx, op, newCommand("UID EXPUNGE", uidSet), nil)
		return err
	})
}

// Move moves the messages in uidSet of the selected mailbox to dest (UID
// MOVE, RFC 6851), at once: no copy with a \Deleted original is ever seen.
func (c *Conn) Move(ctx context.Context, uidSet, dest string) error {
	op := "UID MOVE " + uidSet + " " + dest
	if !uidSetOK(uidSet) {
		return localErr(imapconn.ProtocolError, op, "invalid UID set %q", uidSet)
	}
	if !c.has("MOVE") {
		return localErr(imapconn.NotSupported, op, "the server lacks MOVE")
	}
	return c.exec(ctx, op, func(ctx context.Context) error {
		if c.selected == "" {
			return localErr(imapconn.ProtocolError, op, "no mailbox selected")
		}
		_, err := c.run(ctx, op, newCommand("UID MOVE", uidSet).mailbox(dest), nil)
		return err
	})
}
