package imapbulk

import (
	"bytes"
	"context"
	"io"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// Identity is what the migration engine needs to recognise a message that
// is already on the server: its UID and flags, INTERNALDATE, RFC822.SIZE,
// the Message-ID (and Exchange's parent Message-ID for items without one)
// and, for a content-derived fallback, the raw header fields fetched.
type Identity struct {
	UID          uint32
	Flags        []string
	InternalDate time.Time
	Size         int64
	// MessageID and ParentMessageID are the header values, unfolded and
	// trimmed (angle brackets kept), "" when absent.
	MessageID, ParentMessageID string
	// Header is the raw fetched header fields (Message-ID,
	// X-MS-Exchange-Parent-Message-ID, Date, From, Subject).
	Header []byte
	// ModSeq is the message's mod-sequence (RFC 7162), 0 without CONDSTORE.
	ModSeq uint64
}

// identityFields are the header fields FetchIdentities asks for.
const identityFields = "MESSAGE-ID X-MS-EXCHANGE-PARENT-MESSAGE-ID DATE FROM SUBJECT"

// FetchIdentities fetches the identities of the messages in uidSet (e.g.
// "1:*") of the selected mailbox in one UID FETCH, processed as the
// responses stream in. With sinceModSeq > 0 only messages changed since
// that mod-sequence are returned (RFC 7162 CHANGEDSINCE; NotSupported
// without CONDSTORE). Items may come in any order, split over several
// FETCH responses, or as literals; unsolicited FETCHes without a UID are
// ignored. The result is in the order the server sent it.
func (c *Conn) FetchIdentities(ctx context.Context, uidSet string, sinceModSeq uint64) ([]Identity, error) {
	return c.fetchIdentities(ctx, uidSet, sinceModSeq, true)
}

// FetchFlags is FetchIdentities without the header fields, INTERNALDATE and size: UID, FLAGS and MODSEQ,
// what a sync needs of messages it already knows.
func (c *Conn) FetchFlags(ctx context.Context, uidSet string, sinceModSeq uint64) ([]Identity, error) {
	return c.fetchIdentities(ctx, uidSet, sinceModSeq, false)
}

func (c *Conn) fetchIdentities(ctx context.Context, uidSet string, sinceModSeq uint64, headers bool) ([]Identity, error) {
	op := "UID FETCH " + abbreviate(uidSet)
	if !uidSetOK(uidSet) {
		return nil, localErr(imapconn.ProtocolError, op, "invalid UID set %q", uidSet)
	}
	var ids identities
	err := c.exec(ctx, op, func(ctx context.Context) error {
		if c.selected == "" {
			return localErr(imapconn.ProtocolError, op, "no mailbox selected")
		}
		cmd, err := c.identitiesCommand(op, uidSet, sinceModSeq, headers)
		if err != nil {
			return err
		}
		_, err = c.run(ctx, op, cmd, ids.add)
		return err
	})
	return ids.list, err
}

// identitiesCommand is the UID FETCH of FetchIdentities (headers) or FetchFlags.
func (c *Conn) identitiesCommand(op, uidSet string, sinceModSeq uint64, headers bool) (*command, error) {
	modseq := c.has("CONDSTORE")
	if sinceModSeq > 0 && !modseq {
		return nil, localErr(imapconn.NotSupported, op, "CHANGEDSINCE needs CONDSTORE")
	}
	items := "UID FLAGS"
	if headers {
		items += " INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (" + identityFields + ")]"
	}
	if modseq {
		items += " MODSEQ"
	}
	cmd := newCommand("UID FETCH", uidSet, "("+items+")")
	if sinceModSeq > 0 {
		cmd.sp("(CHANGEDSINCE " + itoa64(sinceModSeq) + ")")
	}
	return cmd, nil
}

// identities collects the FETCH responses of a UID FETCH of identities, in the order the server sent them.
type identities struct {
	list  []Identity
	index map[uint32]int
}

func (ids *identities) add(r *response) error {
	if r.kind != "FETCH" || len(r.fields) == 0 || r.fields[0].kind != kindList {
		return nil
	}
	var id Identity
	applyFetch(&id, r.fields[0].list, nil)
	if id.UID == 0 {
		return nil // an unsolicited FETCH (a flag change another session made)
	}
	if i, ok := ids.index[id.UID]; ok {
		// The same message again (split response or an update): merge what was sent.
		mergeIdentity(&ids.list[i], id)
		return nil
	}
	if ids.index == nil {
		ids.index = map[uint32]int{}
	}
	ids.index[id.UID] = len(ids.list)
	ids.list = append(ids.list, id)
	return nil
}

// mergeIdentity copies into dst the items that src carries.
func mergeIdentity(dst *Identity, src Identity) {
	if src.Flags != nil {
		dst.Flags = src.Flags
	}
	if !src.InternalDate.IsZero() {
		dst.InternalDate = src.InternalDate
	}
	if src.Size != 0 {
		dst.Size = src.Size
	}
	if src.Header != nil {
		dst.Header, dst.MessageID, dst.ParentMessageID = src.Header, src.MessageID, src.ParentMessageID
	}
	if src.ModSeq != 0 {
		dst.ModSeq = src.ModSeq
	}
}

// applyFetch applies FETCH msg-att pairs to id. body receives a BODY[] that
// came in memory (a quoted string or small literal) when non-nil.
func applyFetch(id *Identity, items []value, body func(string)) {
	for i := 0; i+1 < len(items); i += 2 {
		key := strings.ToUpper(items[i].str())
		v := items[i+1]
		switch {
		case key == "UID":
			n, _ := v.number()
			if n <= 0xffffffff {
				id.UID = uint32(n)
			}
		case key == "FLAGS":
			id.Flags = []string{}
			for _, f := range v.list {
				id.Flags = append(id.Flags, f.str())
			}
		case key == "INTERNALDATE":
			if t, err := parseDateTime(v.str()); err == nil {
				id.InternalDate = t
			}
		case key == "RFC822.SIZE":
			n, _ := v.number()
			id.Size = int64(n & (1<<62 - 1))
		case key == "MODSEQ":
			if v.kind == kindList && len(v.list) > 0 {
				id.ModSeq, _ = v.list[0].number()
			}
		case strings.HasPrefix(key, "BODY[HEADER.FIELDS"):
			h := []byte(v.str())
			id.Header = h
			id.MessageID = headerValue(h, "Message-ID")
			id.ParentMessageID = headerValue(h, "X-MS-Exchange-Parent-Message-ID")
		case isWholeBody(key):
			if body != nil && v.kind == kindString {
				body(v.text)
			}
		}
	}
}

// isWholeBody reports whether a FETCH key is BODY[] (possibly with an
// origin octet, BODY[]<0>).
func isWholeBody(key string) bool {
	return key == "BODY[]" || strings.HasPrefix(key, "BODY[]<")
}

// headerValue returns the first field called name in a header block,
// unfolded (RFC 5322 §2.2.3) and trimmed.
func headerValue(h []byte, name string) string {
	lines := bytes.Split(h, []byte("\n"))
	for i := 0; i < len(lines); i++ {
		line := bytes.TrimRight(lines[i], "\r")
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if !strings.EqualFold(string(bytes.TrimSpace(line[:colon])), name) {
			continue
		}
		val := string(line[colon+1:])
		for i+1 < len(lines) {
			next := bytes.TrimRight(lines[i+1], "\r")
			if len(next) == 0 || (next[0] != ' ' && next[0] != '\t') {
				break
			}
			val += " " + strings.TrimSpace(string(next))
			i++
		}
		return strings.TrimSpace(val)
	}
	return ""
}

// FetchMessage streams the whole message uid of the selected mailbox
// (BODY.PEEK[], so \Seen is not set) into w through a bounded buffer and
// returns its metadata (Header and Message-IDs are not filled in; Size is
// the number of bytes written to w). A uid that does not exist is
// NotFound. If w fails, the rest of the message is still read from the
// connection (keeping it usable) and w's error is returned.
func (c *Conn) FetchMessage(ctx context.Context, uid uint32, w io.Writer) (Identity, error) {
	op := "UID FETCH " + itoa64(uint64(uid)) + " BODY.PEEK[]"
	var id Identity
	err := c.exec(ctx, op, func(ctx context.Context) error {
		if c.selected == "" {
			return localErr(imapconn.ProtocolError, op, "no mailbox selected")
		}
		if uid == 0 {
			return localErr(imapconn.ProtocolError, op, "UID 0 does not exist")
		}
		sw := &stickyWriter{w: w}
		got := false
		c.p.sink = func(key string, size int64) io.Writer {
			if !isWholeBody(key) {
				return nil
			}
			if got {
				return io.Discard // a second copy (never seen): not the caller's business
			}
			got = true
			return sw
		}
		defer func() { c.p.sink = nil }()
		cmd := newCommand("UID FETCH", itoa64(uint64(uid)), "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
		found := false
		_, err := c.run(ctx, op, cmd, func(r *response) error {
			if r.kind != "FETCH" || len(r.fields) == 0 || r.fields[0].kind != kindList {
				return nil
			}
			var m Identity
			applyFetch(&m, r.fields[0].list, func(s string) {
				if !got {
					got = true
					io.WriteString(sw, s)
				}
			})
			if m.UID != uid {
				return nil
			}
			found = true
			mergeIdentity(&id, m)
			id.UID = uid
			return nil
		})
		if err != nil {
			return err
		}
		if !found || !got {
			return localErr(imapconn.NotFound, op, "no message with UID %d in %s", uid, c.selected)
		}
		id.Size = sw.n
		if sw.err != nil {
			return &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: sw.err}
		}
		return nil
	})
	return id, err
}

// stickyWriter counts bytes and, after the first error, swallows the rest
// (so that the literal is still consumed from the connection).
type stickyWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err == nil {
		n, err := s.w.Write(p)
		s.n += int64(n)
		if err == nil && n < len(p) {
			err = io.ErrShortWrite
		}
		s.err = err
	}
	return len(p), nil
}

func itoa64(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}
