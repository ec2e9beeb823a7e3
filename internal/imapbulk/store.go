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
