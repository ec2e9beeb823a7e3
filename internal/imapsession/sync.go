package imapsession

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// What mailbox synchronisation needs: CONDSTORE/QRESYNC (RFC 7162), UID EXPUNGE (RFC 4315), UID MOVE
// (RFC 6851) and IDLE (RFC 2177). go-imap v2.0.0-beta.8 knows neither SELECT's QRESYNC parameter nor
// VANISHED, so these commands travel the raw path (rawCapture) and their answers are read here.

// KnownState is what a client remembers of a mailbox from its last synchronisation (RFC 7162 §3.2.5).
type KnownState struct {
	UIDValidity uint32
	ModSeq      uint64 // the HIGHESTMODSEQ seen then
	// KnownUIDs limits the VANISHED (EARLIER) report to these UIDs ("" for all the server knows of).
	KnownUIDs string
}

// MailboxState is what SELECT reports of a mailbox.
type MailboxState struct {
	Name           string
	ReadOnly       bool
	UIDValidity    uint32
	UIDNext        uint32
	Messages       uint32
	HighestModSeq  uint64 // 0 when the mailbox has no mod-sequences (NOMODSEQ) or the server lacks CONDSTORE
	Flags          []string
	PermanentFlags []string
}

// MessageChange is a message whose metadata changed (or that arrived) since a mod-sequence.
type MessageChange struct {
	UID    uint32
	Flags  []string
	ModSeq uint64
}

// Changes is what changed in the selected mailbox since a known state.
type Changes struct {
	// Vanished are the UIDs the server reports expunged (VANISHED, and VANISHED (EARLIER) for what
	// went before the request).
	Vanished UIDSet
	// Changed are the messages whose flags changed, or that arrived.
	Changed []MessageChange
	// UIDValidityChanged: the mailbox is not the one the known state describes; start over.
	UIDValidityChanged bool
	// Incomplete: more unasked VANISHED responses arrived than are kept; resynchronise fully.
	Incomplete bool
}

// EnableQResync turns QRESYNC (and so CONDSTORE) on for the session (ENABLE QRESYNC, RFC 7162 §3.2.3).
// From then on the server reports expunges as VANISHED. Select does it when it needs to.
func (s *Session) EnableQResync(ctx context.Context) error {
	if err := s.need("ENABLE QRESYNC", "QRESYNC"); err != nil {
		return err
	}
	s.mu.Lock()
	done := s.qresync
	s.mu.Unlock()
	if done {
		return nil
	}
	// imapclient refuses to enable what it cannot parse afterwards (VANISHED): this is why the response
	// filter exists.
	got, err := s.rawCapture(ctx, "ENABLE QRESYNC", "ENABLE QRESYNC")
	if err != nil {
		return err
	}
	for _, resp := range got {
		items, err := parseItems(resp)
		if err != nil || len(items) == 0 || !strings.EqualFold(items[0].atom, "ENABLED") {
			continue
		}
		for _, it := range items[1:] {
			if strings.EqualFold(it.atom, "QRESYNC") {
				s.mu.Lock()
				s.qresync = true
				s.mu.Unlock()
				return nil
			}
		}
	}
	return newError(imapconn.NotSupported, "ENABLE QRESYNC", "the server did not enable QRESYNC")
}

// Select selects (or, readOnly, examines) a mailbox. With a known state it uses QRESYNC (RFC 7162
// §3.2.5): the server then reports in the same round trip what changed since — flags as FETCH, expunges
// as VANISHED (EARLIER) — and Changes holds them. Without a known state it selects with CONDSTORE when
// the server has it, so that MailboxState.HighestModSeq is known for the next time.
func (s *Session) Select(ctx context.Context, mailbox string, known *KnownState, readOnly bool) (MailboxState, Changes, error) {
	verb := "SELECT"
	if readOnly {
		verb = "EXAMINE"
	}
	op := verb + " " + mailbox
	mb, err := mailboxArg(mailbox)
	if err != nil {
		return MailboxState{}, Changes{}, &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: err}
	}
	cmd := verb + " " + mb
	switch {
	case known != nil && known.UIDValidity != 0:
		if err := s.EnableQResync(ctx); err != nil {
			return MailboxState{}, Changes{}, err
		}
		params := strconv.FormatUint(uint64(known.UIDValidity), 10) + " " + strconv.FormatUint(max(known.ModSeq, 1), 10)
		if known.KnownUIDs != "" {
			if !validSetArg(known.KnownUIDs) {
				return MailboxState{}, Changes{}, newError(imapconn.ProtocolError, op, "invalid UID set %q", truncateText(known.KnownUIDs))
			}
			params += " " + known.KnownUIDs
		}
		cmd += " (QRESYNC (" + params + "))"
	case s.Has("CONDSTORE"):
		cmd += " (CONDSTORE)"
	}
	s.wire.filter.takeVanished() // those were about the mailbox selected before
	got, err := s.rawCapture(ctx, op, cmd)
	if err != nil {
		return MailboxState{}, Changes{}, err
	}
	st := MailboxState{Name: mailbox, ReadOnly: readOnly}
	var ch Changes
	for _, resp := range got {
		if err := readSelectResponse(resp, &st, &ch); err != nil {
			return MailboxState{}, Changes{}, s.badResponse(op, err)
		}
	}
	if known != nil && known.UIDValidity != 0 && st.UIDValidity != known.UIDValidity {
		ch = Changes{UIDValidityChanged: true}
	}
	ch.dropVanished()
	s.mu.Lock()
	s.selected = mailbox
	s.mu.Unlock()
	return st, ch, nil
}

// readSelectResponse applies one untagged response of SELECT (or of a UID command) to st and ch.
func readSelectResponse(resp []byte, st *MailboxState, ch *Changes) error {
	items, err := parseItems(resp)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return nil
	}
	head := strings.ToUpper(items[0].atom)
	switch {
	case head == "FLAGS" && len(items) > 1:
		st.Flags = listTexts(items[1])
	case head == "OK" && len(items) > 1 && items[1].isList && len(items[1].list) > 0:
		code := items[1].list
		switch strings.ToUpper(code[0].atom) {
		case "UIDVALIDITY":
			st.UIDValidity = uint32(atoiItem(code, 1))
		case "UIDNEXT":
			st.UIDNext = uint32(atoiItem(code, 1))
		case "HIGHESTMODSEQ":
			st.HighestModSeq = atoiItem(code, 1)
		case "NOMODSEQ":
			st.HighestModSeq = 0
		case "PERMANENTFLAGS":
			if len(code) > 1 {
				st.PermanentFlags = listTexts(code[1])
			}
		}
	case head == "VANISHED":
		return readVanished(items, ch)
	case len(items) > 1 && isNumber(items[0].atom):
		switch strings.ToUpper(items[1].atom) {
		case "EXISTS":
			st.Messages = uint32(atoiItem(items, 0))
		case "FETCH":
			if len(items) > 2 {
				if m, ok := readFetch(items[2]); ok {
					ch.Changed = append(ch.Changed, m)
				}
			}
		}
	}
	return nil
}

// readVanished reads "VANISHED [(EARLIER)] uid-set".
func readVanished(items []item, ch *Changes) error {
	i := 1
	if i < len(items) && items[i].isList {
		i++ // (EARLIER)
	}
	if i >= len(items) {
		return fmt.Errorf("VANISHED without a UID set")
	}
	set, err := ParseUIDSet(items[i].atom)
	if err != nil {
		return err
	}
	ch.Vanished = append(ch.Vanished, set...)
	return nil
}

// readFetch reads the UID, FLAGS and MODSEQ of a FETCH response's attribute list.
func readFetch(list item) (MessageChange, bool) {
	var m MessageChange
	for i := 0; i+1 < len(list.list); i += 2 {
		key, val := strings.ToUpper(list.list[i].atom), list.list[i+1]
		switch key {
		case "UID":
			m.UID = uint32(atoiItem(list.list, i+1))
		case "FLAGS":
			m.Flags = listTexts(val)
		case "MODSEQ":
			if val.isList && len(val.list) > 0 {
				m.ModSeq, _ = strconv.ParseUint(val.list[0].atom, 10, 64)
			}
		}
	}
	return m, m.UID != 0
}

func listTexts(it item) []string {
	out := []string{}
	for _, e := range it.list {
		out = append(out, e.text())
	}
	return out
}

func atoiItem(items []item, i int) uint64 {
	if i >= len(items) {
		return 0
	}
	n, _ := strconv.ParseUint(items[i].atom, 10, 64)
	return n
}

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// ChangedSince reports what changed in the selected mailbox since modseq among uids ("1:*" for all):
// UID FETCH uids (UID FLAGS MODSEQ) (CHANGEDSINCE modseq [VANISHED]) (RFC 7162 §3.1.4, §3.2.6). With
// QRESYNC enabled, expunges since modseq come as VANISHED (EARLIER), and unasked VANISHED responses
// received since the last call are added.
func (s *Session) ChangedSince(ctx context.Context, modseq uint64, uids string) (Changes, error) {
	op := "UID FETCH (CHANGEDSINCE)"
	if err := s.need(op, "CONDSTORE"); err != nil {
		return Changes{}, err
	}
	if !validSetArg(uids) {
		return Changes{}, newError(imapconn.ProtocolError, op, "invalid UID set %q", truncateText(uids))
	}
	if err := s.needSelected(op); err != nil {
		return Changes{}, err
	}
	s.mu.Lock()
	qresync := s.qresync
	s.mu.Unlock()
	mod := "(CHANGEDSINCE " + strconv.FormatUint(modseq, 10)
	if qresync {
		mod += " VANISHED"
	}
	got, err := s.rawCapture(ctx, op, "UID FETCH "+uids+" (UID FLAGS MODSEQ) "+mod+")")
	if err != nil {
		return Changes{}, err
	}
	var ch Changes
	var st MailboxState
	for _, resp := range got {
		if err := readSelectResponse(resp, &st, &ch); err != nil {
			return Changes{}, s.badResponse(op, err)
		}
	}
	ch, err = s.addUnasked(op, ch)
	ch.dropVanished()
	return ch, err
}

// dropVanished removes from Changed the messages that also vanished. A session learns of an expunge
// only at a command boundary: Cyrus reports a message expunged elsewhere first as changed (flags, mod-
// sequence) in the FETCH that asked, then as VANISHED; Dovecot reports only the VANISHED.
func (ch *Changes) dropVanished() {
	if len(ch.Vanished) == 0 {
		return
	}
	kept := ch.Changed[:0]
	for _, m := range ch.Changed {
		if !ch.Vanished.Contains(m.UID) {
			kept = append(kept, m)
		}
	}
	ch.Changed = kept
}

// addUnasked adds the VANISHED responses the server sent unasked since the last call.
func (s *Session) addUnasked(op string, ch Changes) (Changes, error) {
	sets, lost := s.wire.filter.takeVanished()
	ch.Incomplete = ch.Incomplete || lost
	for _, raw := range sets {
		var more Changes
		items, err := parseItems([]byte("VANISHED " + raw))
		if err == nil {
			err = readVanished(items, &more)
		}
		if err != nil {
			return Changes{}, s.badResponse(op, err)
		}
		ch.Vanished = append(ch.Vanished, more.Vanished...)
	}
	return ch, nil
}

// badResponse reports a response this package could not read; what it quotes of the response is
// scrubbed like every other error.
func (s *Session) badResponse(op string, err error) error {
	return imapconn.WrapKind(op, imapconn.ProtocolError, err, s.secrets)
}

func (s *Session) needSelected(op string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.selected == "" {
		return newError(imapconn.ProtocolError, op, "no mailbox selected (use Select)")
	}
	return nil
}

// UIDExpunge permanently removes the messages among uids that are marked \Deleted (UID EXPUNGE, RFC
// 4315 §2.1), leaving other \Deleted messages alone. With QRESYNC enabled it returns the UIDs the
// server reports gone.
func (s *Session) UIDExpunge(ctx context.Context, uids string) (UIDSet, error) {
	op := "UID EXPUNGE " + truncateText(uids)
	if err := s.need(op, "UIDPLUS"); err != nil {
		return nil, err
	}
	if !validSetArg(uids) {
		return nil, newError(imapconn.ProtocolError, op, "invalid UID set %q", truncateText(uids))
	}
	if err := s.needSelected(op); err != nil {
		return nil, err
	}
	got, err := s.rawCapture(ctx, op, "UID EXPUNGE "+uids)
	if err != nil {
		return nil, err
	}
	var ch Changes
	var st MailboxState
	for _, resp := range got {
		if err := readSelectResponse(resp, &st, &ch); err != nil {
			return nil, s.badResponse(op, err)
		}
	}
	return ch.Vanished, nil
}

// MoveResult is what UID MOVE reports (COPYUID, RFC 4315 §3): the destination's UIDVALIDITY and the
// UIDs there of the moved messages, in the order of Source. Empty when the server sends no COPYUID.
type MoveResult struct {
	DestUIDValidity uint32
	Source, Dest    UIDSet
}

// UIDMove moves messages of the selected mailbox to dest (UID MOVE, RFC 6851): atomically, without the
// \Deleted flag a COPY + EXPUNGE would leave visible.
func (s *Session) UIDMove(ctx context.Context, uids, dest string) (MoveResult, error) {
	op := "UID MOVE " + truncateText(uids) + " " + dest
	if err := s.need(op, "MOVE"); err != nil {
		return MoveResult{}, err
	}
	if !validSetArg(uids) {
		return MoveResult{}, newError(imapconn.ProtocolError, op, "invalid UID set %q", truncateText(uids))
	}
	mb, err := mailboxArg(dest)
	if err != nil {
		return MoveResult{}, &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: err}
	}
	if err := s.needSelected(op); err != nil {
		return MoveResult{}, err
	}
	got, err := s.rawCapture(ctx, op, "UID MOVE "+uids+" "+mb)
	if err != nil {
		return MoveResult{}, err
	}
	var res MoveResult
	for _, resp := range got {
		items, err := parseItems(resp)
		if err != nil || len(items) < 2 || !strings.EqualFold(items[0].atom, "OK") || !items[1].isList {
			continue
		}
		code := items[1].list
		if len(code) == 4 && strings.EqualFold(code[0].atom, "COPYUID") {
			res.DestUIDValidity = uint32(atoiItem(code, 1))
			src, err1 := ParseUIDSet(code[2].atom)
			dst, err2 := ParseUIDSet(code[3].atom)
			if err1 != nil || err2 != nil {
				return MoveResult{}, newError(imapconn.ProtocolError, op, "malformed COPYUID")
			}
			res.Source, res.Dest = src, dst
		}
	}
	return res, nil
}

// Idle waits, for at most maxWait or until ctx ends, for the server to report a change in the selected
// mailbox (IDLE, RFC 2177): a new message, an expunge, a flag change. It reports whether one came; the
// change itself is read with ChangedSince (expunges reported as VANISHED are kept for it). The session
// stays usable whichever way the wait ends; only when the server does not answer DONE is it broken.
func (s *Session) Idle(ctx context.Context, maxWait time.Duration) (bool, error) {
	op := "IDLE"
	if err := s.need(op, "IDLE"); err != nil {
		return false, err
	}
	if err := s.needSelected(op); err != nil {
		return false, err
	}
	// The command itself (IDLE, then DONE) is bounded on its own, so that the end of ctx ends the wait,
	// not the session.
	cmdCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxWait+30*time.Second)
	defer cancel()
	changed := false
	var captured [][]byte
	err := s.do(cmdCtx, op, func(c *imapclient.Client) error {
		cap := s.wire.filter.startCapture()
		idle, err := c.Idle()
		if err != nil {
			captured = s.wire.filter.stopCapture()
			return err
		}
		timer := time.NewTimer(maxWait)
		defer timer.Stop()
		select {
		case <-cap.notify:
			changed = true
		case <-timer.C:
		case <-ctx.Done():
		}
		closeErr := idle.Close()
		waitErr := idle.Wait()
		captured = s.wire.filter.stopCapture()
		if closeErr != nil {
			return closeErr
		}
		return waitErr
	})
	for _, resp := range captured {
		changed = true
		if items, perr := parseItems(resp); perr == nil && len(items) > 1 && strings.EqualFold(items[0].atom, "VANISHED") {
			s.wire.filter.keepVanished(items[len(items)-1].atom)
		}
	}
	if err != nil {
		return changed, err
	}
	if ctx.Err() != nil && !changed {
		return false, &imapconn.Error{Kind: imapconn.Timeout, Op: op, Err: ctx.Err()}
	}
	return changed, nil
}
