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
		r, err := c.run(ctx, op, getMetadataCommand(mailbox, keys), func(r *response) error {
			applyMetadata(r, mailbox, wanted, &md)
			return nil
		})
		if err == nil && r != nil {
			applyLongEntries(r, &md)
		}
		return err
	})
	return md, err
}

// GetMetadataMany is GetMetadata for many mailboxes at once: with LITERAL+ the commands are pipelined, one
// round trip for all of them instead of one each (without it they go one by one). Each mailbox's outcome
// is in the maps: its entries, or the error its command got (a refusal for one mailbox does not stop the
// others). err is set only when the connection failed, or the server has no METADATA.
func (c *Conn) GetMetadataMany(ctx context.Context, mailboxes []string, keys ...string) (mds map[string]Metadata, errs map[string]error, err error) {
	mds, errs = make(map[string]Metadata, len(mailboxes)), map[string]error{}
	if !c.Has("LITERAL+") {
		for _, mb := range mailboxes {
			md, err := c.GetMetadata(ctx, mb, keys...)
			switch {
			case err == nil:
				mds[mb] = md
			case IsTransient(err) || imapconn.KindOf(err) == imapconn.NotSupported:
				return mds, errs, err
			default:
				errs[mb] = err
			}
		}
		return mds, errs, nil
	}
	const op = "GETMETADATA"
	if err := checkMetadataKeys(op, keys); err != nil {
		return mds, errs, err
	}
	if len(keys) == 0 || len(mailboxes) == 0 {
		return mds, errs, nil
	}
	wanted := make(map[string]string, len(keys))
	for _, k := range keys {
		wanted[strings.ToLower(k)] = k
	}
	err = c.exec(ctx, op, func(ctx context.Context) error {
		if !c.has("METADATA") {
			return localErr(imapconn.NotSupported, op, "the server does not support METADATA")
		}
		// Every command is written before any reply is read; the server answers them in order.
		tags := make(map[string]string, len(mailboxes)) // tag -> mailbox
		for _, mb := range mailboxes {
			tag := c.nextTag()
			if err := c.send(ctx, op+" "+mb, tag, getMetadataCommand(mb, keys)); err != nil {
				return err
			}
			tags[tag] = mb
			mds[mb] = Metadata{Entries: map[string]string{}}
		}
		return awaitTagged(ctx, c, op, tags, func(r *response, mb string) {
			md := mds[mb]
			if r.status != "OK" {
				errs[mb] = statusErr(op+" "+mb, r, false, c.secrets)
				delete(mds, mb)
				return
			}
			applyLongEntries(r, &md)
			mds[mb] = md
		}, func(r *response) {
			if r.kind == "METADATA" && len(r.fields) >= 1 {
				name := decodeName(r.fields[0].str())
				for _, mb := range mailboxes {
					if md, ok := mds[mb]; ok && sameMailbox(name, mb) {
						applyMetadata(r, mb, wanted, &md)
						mds[mb] = md
						break
					}
				}
			}
		})
	})
	return mds, errs, err
}

func getMetadataCommand(mailbox string, keys []string) *command {
	return newCommand("GETMETADATA").sp("(MAXSIZE " + strconv.Itoa(MaxMetadataValue) + ")").mailbox(mailbox).sp("(" + strings.Join(keys, " ") + ")")
}

func sameMailbox(got, want string) bool {
	return got == want || strings.EqualFold(got, "INBOX") && strings.EqualFold(want, "INBOX")
}

// applyMetadata takes the wanted entries of "* METADATA mailbox (entry value ...)" for mailbox into md. The
// form without values is an unsolicited change notice (RFC 5464 §4.4.2) and is ignored, as is data for
// another mailbox.
func applyMetadata(r *response, mailbox string, wanted map[string]string, md *Metadata) {
	if r.kind != "METADATA" || len(r.fields) < 2 || r.fields[1].kind != kindList {
		return
	}
	if !sameMailbox(decodeName(r.fields[0].str()), mailbox) {
		return
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
}

// applyLongEntries reads "OK [METADATA LONGENTRIES n]": n is the size of the longest entry left out.
func applyLongEntries(r *response, md *Metadata) {
	if r.code != "METADATA" {
		return
	}
	if f := strings.Fields(r.args); len(f) == 2 && strings.EqualFold(f[0], "LONGENTRIES") {
		if n, perr := strconv.ParseInt(f[1], 10, 64); perr == nil && n > 0 {
			md.TooLong = max(md.TooLong, n)
		}
	}
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
