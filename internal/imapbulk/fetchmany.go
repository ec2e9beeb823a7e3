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
	br := newBodyReader(Bodies{UIDs: uids, Open: open, Done: done})
	return c.exec(ctx, br.op, func(ctx context.Context) error {
		if c.selected == "" {
			return localErr(imapconn.ProtocolError, br.op, "no mailbox selected")
		}
		c.p.sink = br.sink
		defer func() { c.p.sink = nil }()
		if _, err := c.run(ctx, br.op, br.command(), br.onData); err != nil {
			return err
		}
		return br.stop
	})
}

// Bodies are whole messages to read, as FetchMessages reads them (see there for Open and Done).
type Bodies struct {
	UIDs []uint32
	Open func() io.Writer
	Done func(uid uint32, w io.Writer, size int64) error
}

// bodyReader reads the replies to one UID FETCH of whole messages (Bodies) into the writers it opens.
type bodyReader struct {
	b    Bodies
	set  string
	op   string
	cur  *stickyWriter // the body being read
	stop error         // Done's error, or a writer's: what the FETCH ends with
}

func newBodyReader(b Bodies) *bodyReader {
	var set strings.Builder
	for i, u := range b.UIDs {
		if i > 0 {
			set.WriteByte(',')
		}
		set.WriteString(strconv.FormatUint(uint64(u), 10))
	}
	return &bodyReader{b: b, set: set.String(), op: "UID FETCH " + abbreviate(set.String()) + " BODY.PEEK[]"}
}

func (br *bodyReader) command() *command {
	return newCommand("UID FETCH", br.set, "(UID BODY.PEEK[])")
}

// sink is the parser's hook for literals (Conn.p.sink): a whole body goes to a writer Open gives.
func (br *bodyReader) sink(key string, size int64) io.Writer {
	if !isWholeBody(key) {
		return nil
	}
	br.cur = &stickyWriter{w: br.b.Open()}
	return br.cur
}

// onData takes an untagged response: a FETCH with a body completes that message. A FETCH without one
// (flags or a mod-sequence the server sends unasked) is not a body and is left alone.
func (br *bodyReader) onData(r *response) error {
	if r.kind != "FETCH" || len(r.fields) == 0 || r.fields[0].kind != kindList {
		return nil
	}
	var m Identity
	applyFetch(&m, r.fields[0].list, func(s string) {
		// A body small enough to come as a quoted string, not a literal.
		br.cur = &stickyWriter{w: br.b.Open()}
		io.WriteString(br.cur, s)
	})
	w := br.cur
	br.cur = nil
	if w == nil || m.UID == 0 || br.stop != nil {
		return nil
	}
	if w.err != nil {
		br.stop = &imapconn.Error{Kind: imapconn.ProtocolError, Op: br.op, Err: w.err}
		return nil
	}
	br.stop = br.b.Done(m.UID, w.w, w.n)
	return nil
}

// abbreviate keeps long UID sets out of error messages.
func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
