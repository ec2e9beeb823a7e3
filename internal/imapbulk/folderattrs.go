package imapbulk

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// What a folder carries besides its messages: whether the user subscribed to it (RFC 9051 §6.3.7, RFC 5258)
// and its METADATA entries (RFC 5464), such as /private/comment or Kolab's folder type.

// maxSubscribed bounds how many subscribed names Subscribed keeps: a server that keeps sending LSUB lines
// gets an error, not all of this process's memory.
const maxSubscribed = 200_000

// MaxMetadataValue is the largest METADATA value GetMetadata returns (asked for with MAXSIZE): longer ones
// are counted in Metadata.TooLong and left out.
const MaxMetadataValue = 64 << 10

// maxQuotedValue is the longest value SetMetadata sends as a quoted string; longer ones go as literals.
const maxQuotedValue = 1024

// Subscribe subscribes the user to a mailbox. Subscribing to a mailbox already subscribed is not an error
// on any server this was tried with (Dovecot, Cyrus): re-runs may call it again.
func (c *Conn) Subscribe(ctx context.Context, name string) error {
	op := "SUBSCRIBE " + name
	if name == "" {
		return localErr(imapconn.ProtocolError, op, "empty mailbox name")
	}
	return c.exec(ctx, op, func(ctx context.Context) error {
		_, err := c.run(ctx, op, newCommand("SUBSCRIBE").mailbox(name), nil)
		return err
	})
}

// Subscribed returns the names (decoded to UTF-8) the user is subscribed to: LIST (SUBSCRIBED) where the
// server has LIST-EXTENDED (RFC 5258), LSUB otherwise. Subscribed names need not exist as mailboxes.
func (c *Conn) Subscribed(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	err := c.exec(ctx, "LSUB", func(ctx context.Context) error {
		cmd, kind := newCommand(`LSUB "" "*"`), "LSUB"
		if c.has("LIST-EXTENDED") {
			cmd, kind = newCommand(`LIST (SUBSCRIBED) "" "*"`), "LIST"
		}
		overflow := false
		_, err := c.run(ctx, kind, cmd, func(r *response) error {
			if r.kind != kind || len(r.fields) < 3 || r.fields[0].kind != kindList {
				return nil
			}
			if kind == "LIST" && !hasAttr(r.fields[0], `\Subscribed`) {
				return nil // RFC 5258 §3.1: a parent sent for CHILDINFO, not subscribed itself
			}
			if len(out) >= maxSubscribed {
				// A server that may never stop is not read to its end: the connection is given up.
				overflow = true
				c.netConn.Close()
				return errProtocol
			}
			out[decodeName(r.fields[2].str())] = true
			return nil
		})
		if overflow {
			err = localErr(imapconn.ProtocolError, kind, "more than %d subscribed mailboxes", maxSubscribed)
			c.broken = &brokenError{cause: err}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func hasAttr(list value, attr string) bool {
	for _, a := range list.list {
		if strings.EqualFold(a.str(), attr) {
			return true
		}
	}
	return false
}

// Metadata is what GetMetadata found for one mailbox.
type Metadata struct {
	// Entries holds the entries that are set, by the key as asked for.
	Entries map[string]string
	// TooLong is the size of the longest value left out for being over MaxMetadataValue (0: none).
	TooLong int64
}

// GetMetadata reads METADATA entries of a mailbox (GETMETADATA with MAXSIZE, RFC 5464 §4.2). Entries not
// set are absent. A server without METADATA gets a NotSupported error, without a command being sent.
func (c *Conn) GetMetadata(ctx context.Context, mailbox string, keys ...string) (Metadata, error) {
	op := "GETMETADATA " + mailbox
	md := Metadata{Entries: map[string]string{}}
	if err := checkMetadataKeys(op, keys); err != nil {
		return md, err
	}
	if len(keys) == 0 {
		return md, nil
	}
	wanted := make(map[string]string, len(keys))
	for _, k := range keys {
		wanted[strings.ToLower(k)] = k
	}
	err := c.exec(ctx, op, func(ctx context.Context) error {
		if !c.has("METADATA") {
			return localErr(imapconn.NotSupported, op, "the server does not support METADATA")
		}
		cmd := newCommand("GETMETADATA").sp("(MAXSIZE " + strconv.Itoa(MaxMetadataValue) + ")").mailbox(mailbox).sp("(" + strings.Join(keys, " ") + ")")
		r, err := c.run(ctx, op, cmd, func(r *response) error {
			// * METADATA mailbox (entry value entry value ...); the form without values is an unsolicited
			// change notice (RFC 5464 §4.4.2) and is ignored.
			if r.kind != "METADATA" || len(r.fields) < 2 || r.fields[1].kind != kindList {
				return nil
			}
			if got := decodeName(r.fields[0].str()); got != mailbox && !(strings.EqualFold(got, "INBOX") && strings.EqualFold(mailbox, "INBOX")) {
				return nil
			}
			l := r.fields[1].list
			for i := 0; i+1 < len(l); i += 2 {
				key, ok := wanted[strings.ToLower(l[i].str())]
				if !ok || l[i+1].isNil() || l[i+1].kind != kindString && l[i+1].kind != kindAtom {
					continue
				}
				v := l[i+1].str()
				if len(v) > MaxMetadataValue { // a server that ignored MAXSIZE
					md.TooLong = max(md.TooLong, int64(len(v)))
					continue
				}
				md.Entries[key] = v
			}
			return nil
		})
		if err == nil && r != nil && r.code == "METADATA" {
			// OK [METADATA LONGENTRIES n]: n is the size of the longest entry left out.
			if f := strings.Fields(r.args); len(f) == 2 && strings.EqualFold(f[0], "LONGENTRIES") {
				if n, perr := strconv.ParseInt(f[1], 10, 64); perr == nil && n > 0 {
					md.TooLong = max(md.TooLong, n)
				}
			}
		}
		return err
	})
	return md, err
}

// SetMetadata writes METADATA entries of a mailbox in one SETMETADATA (RFC 5464 §4.3); an empty value
// removes the entry. A server without METADATA gets a NotSupported error, without a command being sent.
func (c *Conn) SetMetadata(ctx context.Context, mailbox string, entries map[string]string) error {
	op := "SETMETADATA " + mailbox
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	if err := checkMetadataKeys(op, keys); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	for _, k := range keys {
		if strings.ContainsRune(entries[k], 0) {
			// A NUL needs a literal8 (RFC 3516), which not every server with METADATA takes.
			return localErr(imapconn.ProtocolError, op, "the value of %s contains a NUL byte", k)
		}
	}
	sort.Strings(keys)
	return c.exec(ctx, op, func(ctx context.Context) error {
		if !c.has("METADATA") {
			return localErr(imapconn.NotSupported, op, "the server does not support METADATA")
		}
		cmd := newCommand("SETMETADATA").mailbox(mailbox).sp("(")
		for i, k := range keys {
			if i > 0 {
				cmd.raw(" ")
			}
			cmd.raw(k)
			switch v := entries[k]; {
			case v == "":
				cmd.sp("NIL")
			case len(v) > maxQuotedValue:
				// Servers bound quoted strings (Dovecot refuses one of 64 KiB as "Too long argument") but
				// take literals of any size up to their own limit.
				cmd.raw(" ")
				cmd.parts = append(cmd.parts, cmdPart{text: v, literal: true})
			default:
				cmd.astring(v)
			}
		}
		cmd.raw(")")
		_, err := c.run(ctx, op, cmd, nil)
		return err
	})
}

// checkMetadataKeys accepts entry names below /private/ or /shared/ made of atom characters, so that they
// can be sent as they are.
func checkMetadataKeys(op string, keys []string) error {
	for _, k := range keys {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "/shared/") && !strings.HasPrefix(lk, "/private/") {
			return localErr(imapconn.ProtocolError, op, "metadata key %q must start with /shared/ or /private/", k)
		}
		if !isAtom(k) || strings.Contains(k, "//") || strings.HasSuffix(k, "/") {
			return localErr(imapconn.ProtocolError, op, "invalid metadata key %q", k)
		}
	}
	return nil
}
