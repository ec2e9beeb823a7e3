package mailsync

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/imapbulk"
)

// A pair whose source the user may not add to (Options.ReadOnlySource: a shared calendar they may only
// read) cannot carry what they add on side B anywhere: it is removed from side B. Nothing is lost for it:
// the user is first sent a notice in side B's INBOX that says which items and why, with each item
// attached as it was; an item the notice could not carry stays where it is, for the next cycle.

// maxNoticeBytes bounds the items one notice carries; the others wait for the next cycle's notice.
const maxNoticeBytes = 16 << 20

// RefusedItem is an item removed from side B because side A takes nothing from the user.
type RefusedItem struct {
	UID   uint32 `json:"uid"`
	Title string `json:"title"` // its subject, or a groupware object's summary or name
}

// noticeRefused sends the notice of the refused deletions among acts and returns acts without those it
// could not give notice of, which are not done.
func (c *pairCycle) noticeRefused(ctx context.Context, acts []Action) []Action {
	var uids []uint32
	for _, a := range acts {
		if a.Refused {
			uids = append(uids, a.UID)
		}
	}
	if len(uids) == 0 {
		return acts
	}
	bodies := map[uint32][]byte{}
	total := 0
	err := c.b.FetchMessages(ctx, uids, func() io.Writer { return new(bytes.Buffer) }, func(uid uint32, w io.Writer, _ int64) error {
		if b := w.(*bytes.Buffer).Bytes(); total+len(b) <= maxNoticeBytes {
			bodies[uid] = b
			total += len(b)
		}
		return nil
	})
	var items []RefusedItem
	if err == nil && len(bodies) > 0 {
		for _, uid := range uids {
			if b, ok := bodies[uid]; ok {
				items = append(items, RefusedItem{UID: uid, Title: c.titleOf(uid, b)})
			}
		}
		var msg []byte
		if msg, err = writeNotice(c.pair.B, c.pair.A, c.rep.SourceRights, items, bodies, time.Now()); err == nil {
			var res []imapbulk.AppendResult
			res, err = c.b.Append(ctx, "INBOX", []imapbulk.Message{{Date: time.Now(), Size: int64(len(msg)), Body: bytes.NewReader(msg)}})
			if err == nil {
				err = res[0].Err
			}
		}
	}
	if err != nil || len(bodies) == 0 {
		if err == nil {
			err = errors.New("too large for a notice")
		}
		c.unsure = true
		for _, uid := range uids {
			c.rep.fail(B, uid, c.idOf(B, uid), fmt.Errorf("kept, for now: the notice of its removal (the source takes nothing from this user) could not be sent: %w", err))
		}
		items = nil
	}
	c.rep.Refused = append(c.rep.Refused, items...)
	noticed := map[uint32]bool{}
	for _, it := range items {
		noticed[it.UID] = true
	}
	out := acts[:0:0]
	for _, a := range acts {
		if !a.Refused || noticed[a.UID] {
			out = append(out, a)
		}
	}
	return out
}

// titleOf names message uid of side B (msg, its bytes) for a person: a groupware object's summary or
// name, else the message's subject.
func (c *pairCycle) titleOf(uid uint32, msg []byte) string {
	if o, ok := c.objs[B][uid]; ok && o.title != "" {
		return o.title
	}
	if m, err := mail.ReadMessage(bytes.NewReader(msg)); err == nil {
		if s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err == nil && strings.TrimSpace(s) != "" {
			return oneLine(s)
		}
	}
	return fmt.Sprintf("(untitled, UID %d)", uid)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// writeNotice is the notice: a text saying what was removed from folder (kept in step with source, where
// the user's rights are rights) and why, then each item attached as a message/rfc822 part.
func writeNotice(folder, source, rights string, items []RefusedItem, bodies map[uint32][]byte, now time.Time) ([]byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	var text strings.Builder
	fmt.Fprintf(&text, "You added %d item(s) to %q, which is kept in step with %q on the source server.\r\n", len(items), folder, source)
	fmt.Fprintf(&text, "There you may read but not add (your rights there: %q), so they could not be added there,\r\n", rights)
	fmt.Fprintf(&text, "and they were removed from %q. Each is attached to this message as it was.\r\n\r\n", folder)
	for _, it := range items {
		fmt.Fprintf(&text, "- %s\r\n", it.Title)
	}
	text.WriteString("\r\nTo add items there, ask the calendar's owner for the right to add them, or keep them in a folder of your own.\r\n")
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	pw, err := mw.CreatePart(h)
	if err != nil {
		return nil, err
	}
	qp := quotedprintable.NewWriter(pw)
	if _, err := qp.Write([]byte(text.String())); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	for _, it := range items {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "message/rfc822")
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": fmt.Sprintf("item-%d.eml", it.UID)}))
		pw, err := mw.CreatePart(h)
		if err != nil {
			return nil, err
		}
		if _, err := pw.Write(bodies[it.UID]); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	id := make([]byte, 12)
	rand.Read(id)
	var out bytes.Buffer
	subject := fmt.Sprintf("Removed from %s: %d item(s) the source does not take from you", folder, len(items))
	fmt.Fprintf(&out, "From: mailshift sync <mailshift@localhost.invalid>\r\n")
	fmt.Fprintf(&out, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&out, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&out, "Message-ID: <%s@sync.mailshift.invalid>\r\n", hex.EncodeToString(id))
	fmt.Fprintf(&out, "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n")
	fmt.Fprintf(&out, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n", mw.Boundary())
	out.Write(body.Bytes())
	return out.Bytes(), nil
}
