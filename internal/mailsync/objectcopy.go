package mailsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/calobject"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/syncstate"
)

// failCopy records that copying act from side from failed; a groupware object's version it was to replace
// on the other side stays linked, so that the next cycle tries the same again.
func (c *pairCycle) failCopy(from Side, act Action, err error, fail func(Side, []uint32, error)) {
	fail(from, []uint32{act.UID}, err)
	if act.Replaces != 0 {
		c.failedOn[from.other()][act.Replaces] = true
	}
}

// removeReplaced removes, on each side, the versions of groupware objects that copies stored this cycle
// replaced: after the copies, so that an object is never missing from a side. A removal that fails leaves
// the old version beside the new one; the next cycle removes it (objectIndex.take).
func (c *pairCycle) removeReplaced(ctx context.Context) {
	var errs [2]error
	_ = inBoth(func() error { errs[A] = c.removeOn(ctx, A); return nil }, func() error { errs[B] = c.removeOn(ctx, B); return nil })
	for _, s := range []Side{A, B} {
		if errs[s] != nil {
			// The new version is linked; the old one is left, and found beside it next cycle.
			c.unsure = true
			for _, uid := range c.replaced[s] {
				c.rep.fail(s, uid, "", fmt.Errorf("removing the version a new one replaced: %w", errs[s]))
			}
		} else {
			c.removed[s] += len(c.replaced[s])
		}
	}
}

// removeOn removes side s's replaced versions (STORE \Deleted, UID EXPUNGE of just those).
func (c *pairCycle) removeOn(ctx context.Context, s Side) error {
	uids := c.replaced[s]
	if len(uids) == 0 {
		return nil
	}
	res, err := c.conn(s).Apply(ctx, deletion(uids))
	if err != nil {
		return err
	}
	return errors.Join(res...)
}

// conflictCopy stores the losing version of a conflict (message act.UID of side act.On) on both sides as
// an object of its own: a new UID (conflictUID) and a note saying what it is. It returns the link of the
// two copies.
func (c *pairCycle) conflictCopy(ctx context.Context, act Action, since int64) (syncstate.Link, error) {
	info, ok := c.objs[act.On][act.UID]
	if !ok {
		return syncstate.Link{}, errors.New("the conflict's losing version was not read")
	}
	var raw bytes.Buffer
	if _, err := c.conn(act.On).FetchMessage(ctx, act.UID, &raw); err != nil {
		return syncstate.Link{}, err
	}
	uid := conflictUID(Message{ID: info.id, Version: info.version})
	side := map[Side]string{A: "the source", B: "the target"}[act.On]
	msg, err := rewriteConflict(raw.Bytes(), uid, side, time.Now())
	if err != nil {
		return syncstate.Link{}, fmt.Errorf("writing the conflict copy: %w", err)
	}
	l := syncstate.Link{Flags: act.Flags, Object: ObjectKey(objectID(uid))}
	for _, to := range []Side{A, B} {
		res, err := c.conn(to).Append(ctx, c.folder(to), []imapbulk.Message{{Flags: c.pair.Names(act.Flags), Date: time.Now(), Size: int64(len(msg)), Body: bytes.NewReader(msg)}})
		if err == nil {
			err = res[0].Err
		}
		if err != nil {
			return syncstate.Link{}, fmt.Errorf("storing the conflict copy on side %s: %w", []string{"A", "B"}[to], err)
		}
		c.added[to]++
		c.rep.counts(to).Added++
		if to == A {
			l.A = res[0].UID
		} else {
			l.B = res[0].UID
		}
	}
	c.forgetPending(A, since, map[string]int{objectID(uid): 1})
	c.forgetPending(B, since, map[string]int{objectID(uid): 1})
	if l.A == 0 || l.B == 0 {
		c.unsure = true // no UIDPLUS: matched by UID next cycle
		return syncstate.Link{}, nil
	}
	c.wrote[A][l.A], c.wrote[B][l.B] = act.Flags, act.Flags
	return l, nil
}

// rewriteConflict is a conflict's losing version msg as an object of its own: UID uid, its summary marked,
// and a note in its description (a contact's note) saying which side's version it is and why it was kept.
// Everything else of the object is kept as it was (calobject's read-modify-write).
func rewriteConflict(msg []byte, uid, side string, now time.Time) ([]byte, error) {
	obj, err := calobject.OpenObject(msg)
	if err != nil {
		return nil, err
	}
	orig := obj.UID()
	obj.SetText("UID", uid)
	title, text := "SUMMARY", "DESCRIPTION"
	if obj.Format == calobject.FormatVCard || obj.Format == calobject.FormatXCard {
		title, text = "FN", "NOTE"
	}
	summary, hasTitle := obj.Get(title)
	if hasTitle {
		summary += " (conflict copy)"
		obj.SetText(title, summary)
	}
	note := fmt.Sprintf("Conflict copy kept by mailshift sync on %s: this is %s's version of the item with UID %s, changed on both sides since the last sync; the other version replaced it.",
		now.UTC().Format(time.RFC3339), side, orig)
	if old, ok := obj.Get(text); ok {
		obj.SetText(text, strings.TrimSpace(note+"\n\n"+old))
	} else {
		// Kolab v3 orders DESCRIPTION after SUMMARY, and a contact's NOTE after its N.
		after := title
		if _, ok := obj.Get("N"); ok && title == "FN" {
			after = "N"
		}
		obj.SetTextAfter(text, note, after)
	}
	if err := obj.Touch(now); err != nil {
		return nil, err
	}
	mt := obj.MediaType
	if mt == "" {
		mt = map[string]string{calobject.FormatVCard: "text/vcard", calobject.FormatXCard: "application/vcard+xml", calobject.FormatXCal: "application/calendar+xml"}[obj.Format]
		if mt == "" {
			mt = "text/calendar"
		}
	}
	parts := make([]groupware.StoredPart, 0, len(obj.Attachments))
	for _, a := range obj.Attachments {
		parts = append(parts, groupware.StoredPart{MediaType: a.MediaType, Filename: a.Filename, ContentID: a.ContentID, Body: a.Body})
	}
	var out bytes.Buffer
	err = groupware.WriteStored(&out, groupware.Stored{UID: uid, KolabType: obj.KolabType, MediaType: mt, Filename: obj.Filename,
		Body: obj.Body(), Subject: summary, Modified: now, Attachments: parts}, groupware.Envelope{Date: now})
	return out.Bytes(), err
}
