package imapbulk

import (
	"context"
	"io"
	"strconv"
	"strings"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// FetchMessages streams several whole messages of the selected mailbox with ONE UID FETCH (BODY.PEEK[]):
// the server sends them back to back, with no round trip per message. That matters twice over: against a
// remote server every round trip costs the network latency, and some servers (Cyrus) answer a lone FETCH
// only after the client's delayed ACK, about 40 ms a message on loopback.
//
// For each message's body, open is called (in the order the server sends them) and the body is written to
// the writer it returns; when the message's response is complete, done is called with its UID, the same
// writer and the number of bytes written. UIDs that do not exist are left out (not an error); an error from
// done stops the command (the rest is still read so the connection stays usable) and is returned.
func (c *Conn) FetchMessages(ctx context.Context, uids []uint32, open func() io.Writer, done func(uid uint32, w io.Writer, size int64) error) error {
	if len(uids) == 0 {
		return nil
	}
	var set strings.Builder
	for i, u := range uids {
		if i > 0 {
			set.WriteByte(',')
		}
		set.WriteString(strconv.FormatUint(uint64(u), 10))
	}
	op := "UID FETCH " + abbreviate(set.String()) + " BODY.PEEK[]"
	return c.exec(ctx, op, func(ctx context.Context) error {
		if c.selected == "" {
			return localErr(imapconn.ProtocolError, op, "no mailbox selected")
		}
		var cur *stickyWriter
		c.p.sink = func(key string, size int64) io.Writer {
			if !isWholeBody(key) {
				return nil
			}
			cur = &stickyWriter{w: open()}
			return cur
		}
		defer func() { c.p.sink = nil }()
		var stop error
		cmd := newCommand("UID FETCH", set.String(), "(UID BODY.PEEK[])")
		_, err := c.run(ctx, op, cmd, func(r *response) error {
			if r.kind != "FETCH" || len(r.fields) == 0 || r.fields[0].kind != kindList {
				return nil
			}
			var m Identity
			applyFetch(&m, r.fields[0].list, func(s string) {
				// A body small enough to come as a quoted string, not a literal.
				cur = &stickyWriter{w: open()}
				io.WriteString(cur, s)
			})
			w := cur
			cur = nil
			if w == nil || m.UID == 0 || stop != nil {
				return nil
			}
			if w.err != nil {
				stop = &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: w.err}
				return nil
			}
			stop = done(m.UID, w.w, w.n)
			return nil
		})
		if err != nil {
			return err
		}
		return stop
	})
}

// abbreviate keeps long UID sets out of error messages.
func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
