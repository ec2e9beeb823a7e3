package imapbulk

import (
	"context"
	"strconv"
	"strings"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// Status is what SELECT or STATUS tells about a mailbox.
type Status struct {
	UIDValidity uint32
	UIDNext     uint32
	Exists      uint32 // number of messages
	// HighestModSeq is the mailbox's highest mod-sequence (RFC 7162),
	// 0 without CONDSTORE.
	HighestModSeq uint64
	// NoModSeq: the server supports CONDSTORE but not for this mailbox
	// (RFC 7162 §3.1.2.2).
	NoModSeq bool
	// ReadOnly: SELECT answered [READ-ONLY] (or EXAMINE was used).
	ReadOnly bool
}

// Select opens a mailbox (EXAMINE when readOnly). When the server offers
// CONDSTORE, the first Select of a connection enables it with the
// CONDSTORE parameter (RFC 7162 §3.1.8; no ENABLE round trip before it),
// so that HIGHESTMODSEQ is reported and FETCH can ask for MODSEQ. A mailbox
// stays selected until another Select, Unselect or Delete of it; Dovecot
// appends noticeably faster into the selected mailbox.
func (c *Conn) Select(ctx context.Context, name string, readOnly bool) (Status, error) {
	verb := "SELECT"
	if readOnly {
		verb = "EXAMINE"
	}
	op := verb + " " + name
	var st Status
	err := c.exec(ctx, op, func(ctx context.Context) error {
		cmd, enabling := c.selectCommand(verb, name)
		c.selected = ""
		r, err := c.run(ctx, op, cmd, st.add)
		if err != nil {
			return err
		}
		c.selected1(name, &st, r, readOnly, enabling)
		return nil
	})
	return st, err
}

// selectCommand is the SELECT or EXAMINE of name, with the CONDSTORE parameter (enabling) when the session
// has not enabled it yet.
func (c *Conn) selectCommand(verb, name string) (cmd *command, enabling bool) {
	cmd = newCommand(verb).mailbox(name)
	enabling = c.has("CONDSTORE") && !c.condstore
	if enabling {
		cmd.sp("(CONDSTORE)")
	}
	return cmd, enabling
}

// add applies what a SELECT's untagged responses tell.
func (st *Status) add(r *response) error {
	if r.hasNum && r.kind == "EXISTS" {
		st.Exists = r.num
	}
	if r.status == "OK" {
		applyStatusCode(st, r.code, r.args)
	}
	return nil
}

// selected1 records that the SELECT or EXAMINE of name succeeded with its tagged reply r.
func (c *Conn) selected1(name string, st *Status, r *response, readOnly, enabling bool) {
	st.ReadOnly = readOnly || r.code == "READ-ONLY"
	if enabling {
		c.condstore = true // the session has CONDSTORE from now on
	}
	c.selected = name
	c.exists = st.Exists
}

// Unselect closes the selected mailbox without expunging (RFC 3691
// UNSELECT; CLOSE when the server lacks it — CLOSE expunges \Deleted
// messages, which bulk transfer never sets).
func (c *Conn) Unselect(ctx context.Context) error {
	return c.exec(ctx, "UNSELECT", func(ctx context.Context) error {
		if c.selected == "" {
			return nil
		}
		verb := "CLOSE"
		if c.has("UNSELECT") {
			verb = "UNSELECT"
		}
		_, err := c.run(ctx, verb, newCommand(verb), nil)
		c.selected = ""
		return err
	})
}

// Selected returns the mailbox Select last opened, "" when none.
func (c *Conn) Selected() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.selected
}

func applyStatusCode(st *Status, code, args string) {
	switch code {
	case "UIDVALIDITY":
		st.UIDValidity = parseU32(args)
	case "UIDNEXT":
		st.UIDNext = parseU32(args)
	case "HIGHESTMODSEQ":
		st.HighestModSeq, _ = strconv.ParseUint(strings.TrimSpace(args), 10, 64)
	case "NOMODSEQ":
		st.NoModSeq = true
	}
}

func parseU32(s string) uint32 {
	n, _ := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	return uint32(n)
}

// Status asks STATUS (MESSAGES UIDNEXT UIDVALIDITY [HIGHESTMODSEQ]) of a
// mailbox without selecting it (RFC 9051 §6.3.11). Do not ask it of the
// selected mailbox: RFC 9051 discourages that, use Select again.
func (c *Conn) Status(ctx context.Context, name string) (Status, error) {
	op := "STATUS " + name
	var st Status
	err := c.exec(ctx, op, func(ctx context.Context) error {
		cmd := newCommand("STATUS").mailbox(name).sp("(" + c.statusItems() + ")")
		_, err := c.run(ctx, op, cmd, func(r *response) error {
			if _, got, ok := parseStatusResponse(r); ok {
				st = got
			}
			return nil
		})
		return err
	})
	if err != nil {
		return Status{}, err
	}
	return st, nil
}

// statusItems are the STATUS data items Status and ListStatus ask for.
func (c *Conn) statusItems() string {
	items := "MESSAGES UIDNEXT UIDVALIDITY"
	if c.has("CONDSTORE") {
		items += " HIGHESTMODSEQ"
	}
	return items
}

// parseStatusResponse reads "* STATUS mailbox (item value ...)": the mailbox (decoded) and its status.
func parseStatusResponse(r *response) (string, Status, bool) {
	var st Status
	if r.kind != "STATUS" || len(r.fields) < 2 || r.fields[1].kind != kindList {
		return "", st, false
	}
	l := r.fields[1].list
	for i := 0; i+1 < len(l); i += 2 {
		n, _ := l[i+1].number()
		switch strings.ToUpper(l[i].str()) {
		case "MESSAGES":
			st.Exists = uint32(n)
		case "UIDNEXT":
			st.UIDNext = uint32(n)
		case "UIDVALIDITY":
			st.UIDValidity = uint32(n)
		case "HIGHESTMODSEQ":
			st.HighestModSeq = n
		}
	}
	return decodeName(r.fields[0].str()), st, true
}

// MyRights asks the user's rights on a mailbox (RFC 4314 MYRIGHTS): the rights letters as the server sends
// them (acl.ParseLetters reads them). NotSupported, without a command sent, when the server has no ACL.
func (c *Conn) MyRights(ctx context.Context, name string) (string, error) {
	op := "MYRIGHTS " + name
	if !c.has("ACL") {
		return "", localErr(imapconn.NotSupported, op, "the server does not offer ACL (RFC 4314)")
	}
	var rights string
	err := c.exec(ctx, op, func(ctx context.Context) error {
		_, err := c.run(ctx, op, newCommand("MYRIGHTS").mailbox(name), func(r *response) error {
			if r.kind == "MYRIGHTS" && len(r.fields) >= 2 {
				rights = r.fields[1].str()
			}
			return nil
		})
		return err
	})
	return rights, err
}
