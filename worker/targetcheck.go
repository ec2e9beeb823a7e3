package worker

import (
	"context"
	"time"

	"github.com/mailshift/mailshift/internal/imapbulk"
)

// A checkpoint is a hint about the target, never the truth. Before a run believes one it makes sure of two
// things:
//   - the target mailboxes it names are the ones it was made against, with what it recorded still in them
//     (the same UIDVALIDITY, at least as many messages): else the folder is checked message by message;
//   - nothing an earlier run sent is still being stored: a run that was killed leaves its pipelined
//     APPENDs in the server's hands, and a successor that read the mailbox before the server had stored
//     them would copy them again. The checkpoint names the mailboxes that may have such APPENDs (InFlight);
//     they are read only once they have settled.

// settleInterval is how long a mailbox's UIDNEXT and message count must stay unchanged for it to count as
// settled; settleLimit bounds the wait (a mailbox that receives new mail all the time never settles).
var (
	settleInterval = 300 * time.Millisecond
	settleLimit    = 20 * time.Second
)

// inspection is what startInspection found out: the state of the target mailboxes the checkpoint names.
type inspection struct {
	state map[string]imapbulk.Status
	err   error
}

// startInspection reads, over a connection of its own and while the run reads the source and sets up the
// target, what the target mailboxes the checkpoint names hold now: first it waits for those an earlier run
// may have left APPENDs in to settle (see waitQuiet), then it asks each one's STATUS. A mailbox that is
// gone is left out (nothing recorded of it holds).
func (r *run) startInspection(ctx context.Context) <-chan inspection {
	done := make(chan inspection, 1)
	marks := r.cps.takeInFlight()
	names := map[string]bool{}
	r.cps.mu.Lock()
	for _, fc := range r.cps.cp.Folders {
		for _, c := range fc.Targets {
			names[c.Mailbox] = true
		}
	}
	r.cps.mu.Unlock()
	if len(marks) == 0 && len(names) == 0 {
		done <- inspection{state: map[string]imapbulk.Status{}}
		return done
	}
	go func() {
		c, err := (&target{spec: r.job.Target}).dialBulk(ctx)
		if err != nil {
			done <- inspection{err: err}
			return
		}
		defer c.Close()
		if len(marks) > 0 {
			if err := waitQuiet(ctx, c, marks); err != nil {
				done <- inspection{err: err}
				return
			}
		}
		state := map[string]imapbulk.Status{}
		for name := range names {
			st, err := c.Status(ctx, name)
			if err != nil {
				if ctx.Err() != nil || imapbulk.IsTransient(err) {
					done <- inspection{err: err}
					return
				}
				continue // refused (gone, no rights): not believed
			}
			state[name] = st
		}
		done <- inspection{state: state}
	}()
	return done
}

// inspectTarget waits for startInspection; the run looks at no target mailbox before.
func (r *run) inspectTarget(ctx context.Context, inspected <-chan inspection) error {
	select {
	case in := <-inspected:
		if in.err != nil {
			return in.err
		}
		r.tgtState = in.state
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// targetHolds says whether the target still holds what the checkpoint entry says was done: every mailbox
// it recorded is there with the same UIDVALIDITY and at least as many messages. An entry that says nothing
// was done needs no check; one that says something was done but recorded no mailbox (an older checkpoint)
// is not believed.
func (r *run) targetHolds(fc FolderCheckpoint) bool {
	if fc.Done == 0 && !fc.Complete {
		started := false
		for _, s := range fc.Segments {
			started = started || s.Done > 0 || s.Complete
		}
		if !started {
			return true
		}
	}
	if len(fc.Targets) == 0 {
		return false
	}
	for _, c := range fc.Targets {
		st, ok := r.tgtState[c.Mailbox]
		if !ok || st.UIDValidity != c.UIDValidity || st.Exists < c.Messages {
			return false
		}
	}
	return true
}

// waitQuiet returns once every mailbox's UIDNEXT and message count stayed the same for settleInterval, or
// after settleLimit. c must have none of them selected (STATUS is asked).
func waitQuiet(ctx context.Context, c *imapbulk.Conn, mailboxes []string) error {
	read := func() (map[string]imapbulk.Status, error) {
		out := map[string]imapbulk.Status{}
		for _, m := range mailboxes {
			st, err := c.Status(ctx, m)
			if err != nil {
				if ctx.Err() != nil || imapbulk.IsTransient(err) {
					return nil, err
				}
				continue // gone: nothing to wait for
			}
			out[m] = st
		}
		return out, nil
	}
	deadline := time.Now().Add(settleLimit)
	prev, err := read()
	if err != nil {
		return err
	}
	for {
		select {
		case <-time.After(settleInterval):
		case <-ctx.Done():
			return ctx.Err()
		}
		now, err := read()
		if err != nil {
			return err
		}
		if sameState(prev, now) || time.Now().After(deadline) {
			return nil
		}
		prev = now
	}
}

func sameState(a, b map[string]imapbulk.Status) bool {
	if len(a) != len(b) {
		return false
	}
	for m, x := range a {
		y, ok := b[m]
		if !ok || x.UIDNext != y.UIDNext || x.Exists != y.Exists || x.UIDValidity != y.UIDValidity {
			return false
		}
	}
	return true
}
