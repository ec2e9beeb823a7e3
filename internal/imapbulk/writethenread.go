package imapbulk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// Written is what WriteThenRead did: each change's outcome (as Apply's errs) and each message's (as
// Append's results), in order.
type Written struct {
	Changes  []error
	Appended []AppendResult
}

// WriteThenRead makes changes to the selected mailbox, appends msgs to it, and then reads it afresh with
// ReadFolder's want, in one round trip: what a sync does last to a folder and where the folder stands
// afterwards. The commands are written back to back and their replies read together; the server completes
// each before the next (RFC 9051 §5.5: the SELECT waits for the writes before it, an expunge for the STOREs
// before it, which is why one after a change in the same call waits for that change's reply first).
//
// The messages go in MULTIAPPEND commands of AppendOptions.Batch where the server offers it (RFC 3502),
// else one APPEND each;
// their bodies are read into memory first, so this is for a handful of small messages. A message the server
// refuses fails alone, or with the rest of its MULTIAPPEND command (ErrBatchRefused, as Append).
//
// Without non-synchronizing literals (LITERAL+, or LITERAL- for what fits), or with AppendOptions that pace
// or force synchronizing literals, it is Apply, Append and ReadFolder one after the other. read nil reads
// nothing. The Folder's error is the SELECT's (readErr); err, set when the call as a whole failed (the
// connection), leaves everything unknown but what Written says was answered.
func (c *Conn) WriteThenRead(ctx context.Context, changes []Change, mailbox string, msgs []Message, read *FolderRead) (w Written, f Folder, readErr, err error) {
	w.Changes = make([]error, len(changes))
	w.Appended = make([]AppendResult, len(msgs))
	if len(msgs) > 0 && mailbox == "" {
		return w, f, nil, localErr(imapconn.ProtocolError, "APPEND", "empty mailbox name")
	}
	cmds := make([]*command, 0, len(changes)+len(msgs)+4)
	ops := make([]string, 0, cap(cmds))
	for _, ch := range changes {
		cmd, err := c.command(ch)
		if err != nil {
			return w, f, nil, err
		}
		cmds, ops = append(cmds, cmd), append(ops, ch.op())
	}
	c.mu.Lock()
	o := c.appendOpts
	c.mu.Unlock()
	appends, sentIdx, bodies, local := c.appendCommands(mailbox, msgs, o.Batch)
	answered := make([]bool, len(msgs))
	for i, e := range local {
		if e != nil {
			w.Appended[i].Err = e
		}
	}
	selected := c.Selected()
	pipelined := o.Bytes == nil && o.Messages == nil && !o.SyncLiterals
	for _, cmd := range append(append(cmds, appends...), newCommand("SELECT").mailbox(selected)) {
		pipelined = pipelined && c.pipelinable(cmd)
	}
	if !pipelined {
		// The bodies were read: the messages are sent from what was read.
		again := make([]Message, len(msgs))
		for i, m := range msgs {
			again[i] = m
			again[i].Body = bytes.NewReader(bodies[i])
		}
		return c.writeThenReadInTurn(ctx, changes, mailbox, again, read, w, local)
	}
	op := "UID STORE/EXPUNGE/MOVE, APPEND, SELECT"
	const appendKind, readKind = 1, 2
	type slot struct{ kind, i int }
	var fr *folderReader
	err = c.exec(ctx, op, func(ctx context.Context) error {
		if c.selected == "" {
			return localErr(imapconn.ProtocolError, op, "no mailbox selected")
		}
		if read != nil {
			var err error
			if fr, err = c.newFolderReader(c.selected, *read); err != nil {
				return err
			}
		}
		tags := map[string]slot{}
		writes := 0 // writes not answered yet: untagged data until then is theirs, not the SELECT's
		done := func(r *response, s slot) {
			switch s.kind {
			case readKind:
				fr.reply(r, s.i)
			case appendKind:
				writes--
				c.appended(r, "APPEND "+mailbox, sentIdx[s.i], w.Appended)
				for _, k := range sentIdx[s.i] {
					answered[k] = true
				}
			default:
				writes--
				if r.status != "OK" {
					w.Changes[s.i] = statusErr(changes[s.i].op(), r, false, c.secrets)
				}
			}
		}
		data := func(r *response) {
			if fr != nil && writes == 0 {
				fr.data(r)
			}
		}
		for i, cmd := range cmds {
			if changes[i].Expunge && i > 0 {
				if err := awaitTagged(ctx, c, op, tags, done, data); err != nil {
					return err
				}
			}
			tag := c.nextTag()
			if err := c.send(ctx, ops[i], tag, cmd); err != nil {
				return err
			}
			tags[tag] = slot{0, i}
			writes++
		}
		for i, cmd := range appends {
			tag := c.nextTag()
			if err := c.send(ctx, "APPEND "+mailbox, tag, cmd); err != nil {
				return err
			}
			for _, part := range cmd.parts {
				if part.literal {
					c.stats.bytesWritten.Add(int64(len(part.text)))
				}
			}
			tags[tag] = slot{appendKind, i}
			writes++
		}
		if fr != nil {
			c.selected = ""
			for i, cmd := range fr.cmds {
				tag := c.nextTag()
				if err := c.send(ctx, fr.ops[i], tag, cmd); err != nil {
					return err
				}
				tags[tag] = slot{readKind, i}
			}
		}
		if err := awaitTagged(ctx, c, op, tags, done, data); err != nil {
			return err
		}
		if fr != nil {
			readErr = fr.finish()
		}
		return nil
	})
	if err != nil {
		for i := range w.Appended {
			if !answered[i] && w.Appended[i].Err == nil {
				w.Appended[i].Err = err // sent or not, it is not known to be stored
			}
		}
		return w, f, nil, err
	}
	if fr != nil {
		f = fr.f
	}
	return w, f, readErr, nil
}

// writeThenReadInTurn is WriteThenRead one command after the other, for a server that makes every literal
// wait for its continuation.
func (c *Conn) writeThenReadInTurn(ctx context.Context, changes []Change, mailbox string, msgs []Message, read *FolderRead, w Written, local []error) (Written, Folder, error, error) {
	if len(changes) > 0 {
		errs, err := c.Apply(ctx, changes)
		if err != nil {
			return w, Folder{}, nil, err
		}
		w.Changes = errs
	}
	var keep []int
	var send []Message
	for i, m := range msgs {
		if local[i] == nil {
			keep = append(keep, i)
			send = append(send, m)
		}
	}
	if len(send) > 0 {
		res, err := c.Append(ctx, mailbox, send)
		for k, i := range keep {
			if k < len(res) {
				w.Appended[i] = res[k]
			}
		}
		if err != nil {
			return w, Folder{}, nil, err
		}
	}
	if read == nil {
		return w, Folder{}, nil, nil
	}
	f, err := c.ReadFolder(ctx, c.Selected(), *read)
	if err != nil && !isFatal(err) {
		return w, Folder{}, err, nil
	}
	return w, f, nil, err
}

// appendCommands builds the APPEND commands of msgs, whose bodies it reads (bodies): MULTIAPPEND commands
// of up to batch messages where the server offers it (AppendOptions.Batch), else one each. sent[k] lists
// the messages of command k; local[i] is why message i is not sent (nil: it is).
func (c *Conn) appendCommands(mailbox string, msgs []Message, batch int) (cmds []*command, sent [][]int, bodies [][]byte, local []error) {
	bodies = make([][]byte, len(msgs))
	if batch <= 1 || !c.has("MULTIAPPEND") {
		batch = 1
	}
	local = make([]error, len(msgs))
	var limit int64
	if v, ok := c.capValue("APPENDLIMIT"); ok && v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			limit = n
		}
	}
	op := "APPEND " + mailbox
	var cmd *command
	for i, m := range msgs {
		body, err := readBody(m, limit)
		bodies[i] = body
		if err != nil {
			local[i] = &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: fmt.Errorf("message %d: %w", i, err)}
			continue
		}
		fl := ""
		if len(m.Flags) > 0 {
			if fl, err = flagList(m.Flags); err != nil {
				local[i] = &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: fmt.Errorf("message %d: %w", i, err)}
				continue
			}
		}
		if cmd == nil || len(sent[len(sent)-1]) >= batch {
			cmd = newCommand("APPEND").mailbox(mailbox)
			cmds = append(cmds, cmd)
			sent = append(sent, nil)
		}
		if fl != "" {
			cmd.sp(fl)
		}
		if !m.Date.IsZero() {
			cmd.sp(formatDateTime(m.Date))
		}
		cmd.raw(" ")
		cmd.parts = append(cmd.parts, cmdPart{text: string(body), literal: true})
		sent[len(sent)-1] = append(sent[len(sent)-1], i)
	}
	return cmds, sent, bodies, local
}

// readBody reads a message's body whole, checking it against its Size and the server's APPENDLIMIT.
func readBody(m Message, limit int64) ([]byte, error) {
	switch {
	case m.Body == nil:
		return nil, errors.New("no body")
	case m.Size < 0:
		return nil, errors.New("negative size")
	case m.Size > preloadLimit:
		return nil, fmt.Errorf("%w: %d bytes is more than WriteThenRead takes (%d)", ErrTooBig, m.Size, preloadLimit)
	case limit > 0 && m.Size > limit:
		return nil, fmt.Errorf("%w: %d bytes exceed APPENDLIMIT=%d", ErrTooBig, m.Size, limit)
	}
	buf := make([]byte, m.Size+1)
	n, err := io.ReadFull(m.Body, buf)
	switch {
	case err == nil:
		return nil, fmt.Errorf("%w: body longer than its Size %d", ErrSizeMismatch, m.Size)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		if int64(n) != m.Size {
			return nil, fmt.Errorf("%w: body has %d bytes, Size says %d", ErrSizeMismatch, n, m.Size)
		}
		return buf[:n], nil
	default:
		return nil, fmt.Errorf("reading body: %w", err)
	}
}

// appended records the tagged reply r to an APPEND command holding messages idx (as Append does).
func (c *Conn) appended(r *response, op string, idx []int, results []AppendResult) {
	uidValidity, uids, err := appendOutcome(r, len(idx), op, c.secrets)
	for k, i := range idx {
		results[i].Err = err
		if err == nil {
			c.stats.messagesAppended.Add(1)
			results[i].UIDValidity = uidValidity
			if uids != nil {
				results[i].UID = uids[k]
			}
		}
	}
}
