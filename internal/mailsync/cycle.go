package mailsync

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mailshift/mailshift/internal/acl"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/msgid"
	"github.com/mailshift/mailshift/internal/syncstate"
)

// Server is one side of a sync: where to connect and as whom.
type Server struct {
	Endpoint    imapconn.Endpoint
	Credentials imapconn.Credentials
}

// Store keeps a sync's state between cycles (syncstate.File for the CLI).
type Store interface {
	Load() (*syncstate.State, error)
	Save(*syncstate.State) error
}

// Sync keeps the mail of two mailboxes in step, a cycle at a time.
type Sync struct {
	A, B Server // the source and the target
	// Folders are the pairs to keep in step; none: every folder of Kinds, special folders paired by role,
	// groupware folders by their kind's default folder.
	Folders []FolderPair
	// Kinds are the kinds of folders to pair when Folders is empty (KindMail, KindEvent, …); none:
	// DefaultKinds.
	Kinds    []string
	Calendar Calendar
	Options  Options
	State    Store
	// Parallel is how many changed folder pairs a cycle may bring in step at once, each over connections
	// of its own, when a side is at least FarRoundTrip away (see runPairs); 0 or 1: one pair at a time,
	// over one connection per side.
	Parallel int
	// FarRoundTrip is the round trip of a NOOP from which a side counts as far; 0: 2 ms. Nearer, a
	// folder's round trips cost less than further connections do (their logins, the server's work for
	// them): on loopback, changed pairs run at once made a cycle a third slower.
	FarRoundTrip time.Duration
	// BulkAbove, when set, keeps a first cycle (no state yet) from copying more than this many source
	// messages itself: it returns a *LargeFirstSyncError instead, having changed nothing, so that the
	// caller can have the migration engine's bulk path copy them first (the next cycle then only links what
	// it finds on both sides, by identity).
	BulkAbove int
}

// LargeFirstSyncError is a first cycle declined for its size (Sync.BulkAbove).
type LargeFirstSyncError struct {
	Messages int // in the source folders of the pairs
	Folders  int
}

func (e *LargeFirstSyncError) Error() string {
	return fmt.Sprintf("a first cycle over %d source messages in %d folders is for the bulk path", e.Messages, e.Folders)
}

// copyBatchBytes bounds the messages a copy holds in memory at once (fetched from one side, not yet
// appended to the other); a larger message goes alone.
const copyBatchBytes = 8 << 20

// pendingFor is how long a copy not confirmed is looked out for (see syncstate.Pending).
const pendingFor = time.Hour

// Cycle runs one cycle: it connects to both sides (one connection each, more for changed pairs run at once:
// see Parallel), pairs the folders, and brings each pair in step, saving the state at the end. A folder's failure is in its report and does not stop
// the others; the error is for what stops the whole cycle (a side unreachable or refusing the login, the
// state unreadable or unwritable).
func (s *Sync) Cycle(ctx context.Context) (*Report, error) {
	rep := &Report{Started: time.Now()}
	defer func() { rep.Finished = time.Now() }()
	st, err := s.State.Load()
	if err != nil {
		return rep, err
	}
	loaded, err := syncstate.Encode(st)
	if err != nil {
		return rep, err
	}
	a, b, err := dialBoth(ctx, s.A, s.B)
	if err != nil {
		return rep, err
	}
	defer a.Close()
	defer b.Close()
	var fa, fb *sideFolders
	err = inBoth(func() (err error) {
		if fa, err = readFolders(ctx, a); err != nil {
			err = fmt.Errorf("side A (source): %w", err)
		}
		return err
	}, func() (err error) {
		if fb, err = readFolders(ctx, b); err != nil {
			err = fmt.Errorf("side B (target): %w", err)
		}
		return err
	})
	if err != nil {
		return rep, err
	}
	pairs := s.Folders
	var followed []FolderReport
	if len(pairs) == 0 {
		if s.Options.Direction == TwoWay {
			followed = s.followFolders(ctx, st, a, b, fa, fb)
		}
		fa.detach(st, A)
		fb.detach(st, B)
		var errs []error
		kinds := s.Kinds
		if len(kinds) == 0 {
			kinds = DefaultKinds
		}
		pairs, errs = autoPairs(fa, fb, s.Options.Direction, kinds, s.Calendar)
		for _, e := range errs {
			rep.Folders = append(rep.Folders, FolderReport{Error: e.Error()})
		}
	}
	if s.BulkAbove > 0 && len(st.Pairs) == 0 {
		if err := s.declineLarge(ctx, a, fa, pairs); err != nil {
			return rep, err
		}
	}
	reps, extra := s.runPairs(ctx, st, a, b, fa, fb, pairs)
	for _, c := range extra {
		defer c.Close()
	}
	rep.Folders = append(rep.Folders, reps...)
	// What happened to folders goes with the pair's report, or stands alone for a pair that is gone.
	for _, f := range followed {
		i := slices.IndexFunc(rep.Folders, func(r FolderReport) bool { return r.A == f.A && r.B == f.B && r.Folder == "" })
		if f.Error == "" && i >= 0 {
			rep.Folders[i].Folder = f.Folder
			continue
		}
		rep.Folders = append(rep.Folders, f)
	}
	// A polite end, every connection at once, while the state is written: the LOGOUTs change nothing on the
	// servers, so the state need not wait for them, nor they for it.
	var logouts sync.WaitGroup
	if ctx.Err() == nil {
		for _, c := range append([]*imapbulk.Conn{a, b}, extra...) {
			logouts.Go(func() { _ = c.Logout(ctx) })
		}
	}
	defer logouts.Wait()
	// The state is written once, at the end (and ahead of each batch of copies): a pair's state changes only
	// when its cycle ended, so an interrupted cycle leaves the pairs it finished and no half of any other. A
	// cycle that changed nothing writes nothing.
	if now, err := syncstate.Encode(st); err != nil || !bytes.Equal(now, loaded) {
		if err := s.State.Save(st); err != nil {
			return rep, fmt.Errorf("saving the sync state: %w", err)
		}
	}
	return rep, ctx.Err()
}

// runPairs brings each pair in step and returns the reports of those it ran (all, unless ctx ended), in
// the order of pairs, and the further connections it dialled, for the caller to log out and close.
//
// With Parallel above one and a side far enough (FarRoundTrip), the pairs the listing (LIST-STATUS)
// shows changed, with their folders on both sides, are run at once, over a and b and as many further connections per side as Parallel allows: a
// changed folder costs several round trips on each side, and on a distant server those add up folder after
// folder. The further connections are dialled only then, so a cycle that finds nothing changed, or one
// changed folder, uses one connection per side. The other pairs (a folder to create, a server without
// LIST-STATUS) run first, over a and b, one after the other.
func (s *Sync) runPairs(ctx context.Context, st *syncstate.State, a, b *imapbulk.Conn, fa, fb *sideFolders, pairs []FolderPair) (reps []FolderReport, extra []*imapbulk.Conn) {
	book := &stateBook{st: st}
	cycles := make([]*pairCycle, len(pairs))
	var together, alone []*pairCycle
	seen := map[[2]string]bool{}
	for i, p := range pairs {
		if p.B == "" {
			p.B = p.A
		}
		c := &pairCycle{sync: s, book: book, fa: fa, fb: fb, rep: FolderReport{A: p.A, B: p.B}, opts: s.Options}
		was := *st.Pair(p.A, p.B) // added empty when new; no pair runs yet
		if p.Options != nil {
			c.opts = *p.Options
		}
		// A groupware folder's objects are synced by their UID, whatever the pair's own rules say.
		c.opts.Objects = fa.kind(p.A) != KindMail || fb.kind(p.B) != KindMail
		cycles[i] = c
		key := [2]string{p.A, p.B}
		la, okA := fa.status[p.A]
		lb, okB := fb.status[p.B]
		if okA && okB && !seen[key] && !(unchanged(was.MA, mailboxOf(la)) && unchanged(was.MB, mailboxOf(lb))) {
			together = append(together, c)
		} else {
			alone = append(alone, c)
		}
		seen[key] = true
	}
	if s.Parallel < 2 || len(together) < 2 || !s.far(ctx, a, b) {
		alone, together = cycles, nil
	}
	for _, c := range alone {
		if ctx.Err() != nil {
			break
		}
		c.runOver(ctx, a, b)
	}
	if len(together) > 0 && ctx.Err() == nil {
		work := make(chan *pairCycle, len(together))
		for _, c := range together {
			work <- c
		}
		close(work)
		runAll := func(a, b *imapbulk.Conn) {
			for c := range work {
				if ctx.Err() != nil {
					return
				}
				c.runOver(ctx, a, b)
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range min(s.Parallel, len(together)) - 1 {
			wg.Go(func() {
				// A further connection that cannot be had leaves its share to the others.
				ea, eb, err := dialBoth(ctx, s.A, s.B)
				if err != nil {
					return
				}
				mu.Lock()
				extra = append(extra, ea, eb)
				mu.Unlock()
				runAll(ea, eb)
			})
		}
		runAll(a, b)
		wg.Wait()
	}
	for _, c := range cycles {
		if c.ran {
			reps = append(reps, c.rep)
		}
	}
	return reps, extra
}

// far says whether a or b answers a NOOP no sooner than FarRoundTrip (both asked at once). The answer to
// the NAMESPACE the listing writes ahead of its LIST cannot tell: a server may hold it back until the LIST
// is answered too (Dovecot does), so it takes as long as the LIST.
func (s *Sync) far(ctx context.Context, a, b *imapbulk.Conn) bool {
	limit := s.FarRoundTrip
	if limit <= 0 {
		limit = 2 * time.Millisecond
	}
	var ta, tb time.Duration
	_ = inBoth(func() (err error) { ta, err = a.RoundTrip(ctx); return err }, func() (err error) { tb, err = b.RoundTrip(ctx); return err })
	return max(ta, tb) >= limit
}

// runOver runs the pair's cycle over connections a and b, on a copy of its pair taken then (as a pair
// listed twice left it), and hands that back to the book.
func (c *pairCycle) runOver(ctx context.Context, a, b *imapbulk.Conn) {
	c.a, c.b, c.ran = a, b, true
	c.pair = c.book.take(c.rep.A, c.rep.B)
	if err := c.run(ctx); err != nil {
		c.rep.Error = err.Error()
	}
	c.book.put(c.pair)
}

// stateBook holds the cycle's state while pairs run at once. Each pair cycle works on a copy of its pair
// (take) and hands it back when it ends (put), or when the state is written ahead of its copies
// (saveAhead); the state's entries are touched only then, under mu.
type stateBook struct {
	mu     sync.Mutex
	st     *syncstate.State
	saveMu sync.Mutex // held while a state is written (saveAhead)
}

// take returns a copy of the pair of folders a and b.
func (k *stateBook) take(a, b string) *syncstate.Pair {
	k.mu.Lock()
	defer k.mu.Unlock()
	p := k.st.Pair(a, b).Clone()
	return &p
}

// put stores p, which its cycle no longer changes, as its pair's entry.
func (k *stateBook) put(p *syncstate.Pair) {
	k.mu.Lock()
	defer k.mu.Unlock()
	*k.st.Pair(p.A, p.B) = *p
}

// saveAhead stores p, a copy of a pair whose cycle goes on, as the pair's entry, and writes the whole
// state to store. Writes are one at a time, each of a state taken after the one before: a write of pairs
// run at once never puts back an older state over one a pair is waiting for.
func (k *stateBook) saveAhead(p syncstate.Pair, store Store) error {
	k.saveMu.Lock()
	defer k.saveMu.Unlock()
	k.mu.Lock()
	*k.st.Pair(p.A, p.B) = p
	st := k.st.Clone()
	k.mu.Unlock()
	return store.Save(st)
}

// separate says whether folder name of side A is the default calendar the sync puts in a calendar of its
// own on side B.
func (s *Sync) separate(fa *sideFolders, name string) bool {
	return s.Calendar.Separate && fa.kind(name) == KindEvent && fa.isDefault(name)
}

// inBoth runs fa and fb at once (one side's round trips need not wait for the other's) and returns the
// first error.
func inBoth(fa, fb func() error) error {
	errB := make(chan error, 1)
	go func() { errB <- fb() }()
	errA := fa()
	if err := <-errB; errA == nil {
		return err
	}
	return errA
}

// dialBoth connects to both sides at once.
func dialBoth(ctx context.Context, sa, sb Server) (a, b *imapbulk.Conn, err error) {
	err = inBoth(func() (err error) {
		if a, err = imapbulk.Dial(ctx, sa.Endpoint, sa.Credentials); err != nil {
			err = fmt.Errorf("side A (source): %w", err)
		}
		return err
	}, func() (err error) {
		if b, err = imapbulk.Dial(ctx, sb.Endpoint, sb.Credentials); err != nil {
			err = fmt.Errorf("side B (target): %w", err)
		}
		return err
	})
	if err != nil {
		if a != nil {
			a.Close()
		}
		if b != nil {
			b.Close()
		}
		return nil, nil, err
	}
	return a, b, nil
}

// pairCycle is one cycle of one folder pair.
type pairCycle struct {
	sync   *Sync
	opts   Options    // the pair's rules
	book   *stateBook // the whole state
	a, b   *imapbulk.Conn
	fa, fb *sideFolders
	pair   *syncstate.Pair // the cycle's copy of the pair (see stateBook)
	rep    FolderReport
	ran    bool

	// What fetch read of each side: identities (every message, or those the pair did not know), the flags
	// of known messages that changed, and the known messages that did not (with their agreed flags).
	ids     [2]map[uint32]imapbulk.Identity
	objs    [2]map[uint32]objectInfo // groupware pairs: the objects among ids
	changed [2]map[uint32][]string
	agreed  [2]map[uint32]syncstate.Flags
	snap    [2]Snapshot // both sides as the cycle decided on them

	// What the cycle did to each side, for settle: the flags it gave messages (set, or copied in), how many
	// messages it added and removed; unsure: some action failed, or a copy has no UID.
	wrote   [2]map[uint32]syncstate.Flags
	added   [2]int
	removed [2]int
	unsure  bool
	// failedOn are the messages of each side an action failed on: their links stay as they were.
	failedOn [2]map[uint32]bool
	// replaced are the messages of each side a groupware object's new version replaced, removed once the
	// copies are done.
	replaced [2][]uint32

	// The last round trip on each side (see finishOn): the deletions whose \Deleted is set and whose UID
	// EXPUNGE goes with it; whether the read of where the side then stands (settle's) may go with it too,
	// no write coming after; and that read, when it was made and holds.
	held      [2][]group
	readAfter [2]bool
	settled   [2]*imapbulk.Folder
	now       [2]syncstate.Mailbox // where each side stood when the cycle read it
	mu        sync.Mutex           // over the cycle's bookkeeping while both sides are written at once
}

// locked runs f with the cycle's bookkeeping to itself.
func (c *pairCycle) locked(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f()
}

// objectInfo is what a groupware pair read of an object's message.
type objectInfo struct {
	id      string
	version *Version
	title   string // its summary or name, for a notice
}

func (c *pairCycle) conn(s Side) *imapbulk.Conn {
	if s == A {
		return c.a
	}
	return c.b
}

func (c *pairCycle) folder(s Side) string {
	if s == A {
		return c.pair.A
	}
	return c.pair.B
}

func (c *pairCycle) run(ctx context.Context) error {
	o := c.opts
	fa, okA := c.fa.find(c.pair.A)
	fb, okB := c.fb.find(c.pair.B)
	switch {
	case !okA && !okB:
		return fmt.Errorf("neither side has the folder (%q on side A, %q on side B)", c.pair.A, c.pair.B)
	case !okA && o.Direction == OneWay:
		return fmt.Errorf("the source has no folder %q", c.pair.A)
	case !okA:
		if err := ensure(ctx, c.a, c.fa, c.pair.A, fb, c.fb.kind(c.pair.B), c.fb.isDefault(c.pair.B)); err != nil {
			return fmt.Errorf("creating %q on side A: %w", c.pair.A, err)
		}
	case !okB:
		if err := ensure(ctx, c.b, c.fb, c.pair.B, fa, c.fa.kind(c.pair.A), c.fa.isDefault(c.pair.A) && !c.sync.separate(c.fa, c.pair.A)); err != nil {
			return fmt.Errorf("creating %q on side B: %w", c.pair.B, err)
		}
	}
	// The listing told where both folders stand (LIST-STATUS): a pair neither side changed is not even
	// selected.
	if la, ok := c.fa.status[c.pair.A]; ok && unchanged(c.pair.MA, mailboxOf(la)) {
		if lb, ok := c.fb.status[c.pair.B]; ok && unchanged(c.pair.MB, mailboxOf(lb)) {
			c.rep.Unchanged = true
			return nil
		}
	}
	// Each side is selected and read in one round trip, what to read guessed from where it stood (see
	// fetch): the messages changed since its mod-sequence, and the identities of those from its UIDNEXT on.
	// OneWay never writes to the source: it is only examined.
	var read [2]imapbulk.Folder
	var ask [2]imapbulk.FolderRead
	for s, was := range [2]syncstate.Mailbox{c.pair.MA, c.pair.MB} {
		ask[s] = imapbulk.FolderRead{ReadOnly: Side(s) == A && o.Direction == OneWay, IdentitiesFrom: 1}
		if was.HighestModSeq != 0 && !c.pending(Side(s)) {
			ask[s] = imapbulk.FolderRead{ReadOnly: ask[s].ReadOnly, Present: true, FlagsSince: was.HighestModSeq, IdentitiesFrom: max(was.UIDNext, 1)}
			if c.conn(Side(s)).Has("QRESYNC") {
				// The SELECT itself reports the flags changed and the UIDs gone (VANISHED): no UID SEARCH ALL,
				// which lists every message of the folder.
				ask[s].Present, ask[s].FlagsSince = false, 0
				ask[s].Resync = &imapbulk.Resync{UIDValidity: was.UIDValidity, ModSeq: was.HighestModSeq}
			}
		}
	}
	err := inBoth(func() (err error) {
		if read[A], err = c.a.ReadFolder(ctx, c.pair.A, ask[A]); err != nil {
			err = fmt.Errorf("side A: %w", err)
		}
		return err
	}, func() (err error) {
		if read[B], err = c.b.ReadFolder(ctx, c.pair.B, ask[B]); err != nil {
			err = fmt.Errorf("side B: %w", err)
		}
		return err
	})
	if err != nil {
		return err
	}
	stA, stB := read[A].Status, read[B].Status
	if stB.ReadOnly {
		return errors.New("the target's folder is read-only for this user: nothing can be written to it")
	}
	nowA, nowB := mailboxOf(stA), mailboxOf(stB)
	if unchanged(c.pair.MA, nowA) && unchanged(c.pair.MB, nowB) {
		c.rep.Unchanged = true
		return nil
	}
	// A source the user may only read (a shared calendar): what they add on side B can never reach it. The
	// user's own folders are theirs to write: only folders of other users and shared ones are asked about.
	if c.a.Has("ACL") && !c.fa.personal(ctx, c.a, c.pair.A) {
		if rights, err := c.a.MyRights(ctx, c.pair.A); err == nil && !strings.ContainsRune(acl.ParseLetters(rights).Letters(), 'i') {
			o.ReadOnlySource, o.Direction = true, OneWay
			c.opts = o
			c.rep.SourceRights = acl.ParseLetters(rights).Letters()
		}
	}
	if o.Direction == TwoWay && stA.ReadOnly {
		return errors.New("the source's folder is read-only for this user: nothing can be written to it")
	}
	// Since when each side may be read by what changed (see fetch): 0, read it whole. A side a copy may be
	// pending on is read whole: finding a double needs the identity of the message it doubles.
	var since [2]uint64
	for s, m := range [2][2]syncstate.Mailbox{{c.pair.MA, nowA}, {c.pair.MB, nowB}} {
		if m[0].HighestModSeq != 0 && m[1].HighestModSeq != 0 && m[0].UIDValidity == m[1].UIDValidity && !c.pending(Side(s)) {
			since[s] = m[0].HighestModSeq
		}
	}
	// What was read with the SELECT serves when it is what fetch needs: else fetch reads it.
	var pre [2]*imapbulk.Folder
	for s := range pre {
		switch {
		case read[s].Err != nil:
		case read[s].Resynced && ask[s].Resync.ModSeq == since[s]:
			pre[s] = &read[s]
		case ask[s].Resync == nil && ask[s].FlagsSince == since[s]:
			pre[s] = &read[s]
		}
	}
	// A side whose mailbox was rebuilt (another UIDVALIDITY) has other UIDs: its links and kept messages
	// are forgotten, and its messages are matched again by identity, never copied again, never deleted.
	if c.pair.MA.UIDValidity != 0 && c.pair.MA.UIDValidity != nowA.UIDValidity {
		c.pair.Links, c.pair.KeptA = nil, nil
		c.rep.Rematched = append(c.rep.Rematched, "A")
	}
	if c.pair.MB.UIDValidity != 0 && c.pair.MB.UIDValidity != nowB.UIDValidity {
		c.pair.Links, c.pair.KeptB = nil, nil
		c.rep.Rematched = append(c.rep.Rematched, "B")
	}
	known := c.known()
	c.now = [2]syncstate.Mailbox{nowA, nowB}
	err = inBoth(func() (err error) {
		if err = c.fetch(ctx, A, stA, since[A], known[A], pre[A]); err != nil {
			err = fmt.Errorf("side A: %w", err)
		}
		return err
	}, func() (err error) {
		if err = c.fetch(ctx, B, stB, since[B], known[B], pre[B]); err != nil {
			err = fmt.Errorf("side B: %w", err)
		}
		return err
	})
	if err != nil {
		return err
	}
	c.snap = [2]Snapshot{c.snapshot(A), c.snapshot(B)}
	d := Decide(c.pair, c.snap[A], c.snap[B], o)
	c.rep.Conflicts = d.Conflicts
	links := c.execute(ctx, d)
	c.pair.Links, c.pair.KeptA, c.pair.KeptB = links, d.KeptA, d.KeptB
	// A copy a killed process sent is stored within moments, if at all: its record is kept a while.
	stale := time.Now().Add(-pendingFor).Unix()
	c.pair.Pending = slices.DeleteFunc(c.pair.Pending, func(x syncstate.Pending) bool { return x.Since < stale })
	switch {
	case ctx.Err() != nil || c.unsure:
		// Not everything was done (interrupted, or an action failed): the next cycle reads both sides
		// again, whatever they report, and tries what is left.
		c.pair.MA, c.pair.MB = syncstate.Mailbox{UIDValidity: nowA.UIDValidity}, syncstate.Mailbox{UIDValidity: nowB.UIDValidity}
	default:
		// Where each side stood when the cycle began: a change someone made while it ran is seen next
		// cycle, and so are the cycle's own, which compare equal to the links and need nothing. Unless
		// settle finds that the cycle's own changes are all a side saw since: then where it stands now,
		// so that the next cycle finds it unchanged and reads nothing.
		_ = inBoth(func() error { c.pair.MA = c.settle(ctx, A, nowA, stA.Exists); return nil },
			func() error { c.pair.MB = c.settle(ctx, B, nowB, stB.Exists); return nil })
	}
	return ctx.Err()
}

// settle returns where side s stands now if the cycle's own changes are all that changed it since it was
// selected (at, with exists messages), else at. It asks the server what changed since at's mod-sequence
// (CHANGEDSINCE): each such message must be one the cycle gave exactly those flags, and the count must be
// what the cycle's copies and removals make it. It only reads, and touches nothing of the pair.
func (c *pairCycle) settle(ctx context.Context, s Side, at syncstate.Mailbox, exists uint32) syncstate.Mailbox {
	if at.HighestModSeq == 0 || (len(c.wrote[s]) == 0 && c.added[s] == 0 && c.removed[s] == 0) {
		return at // nothing done here: where it stood is where it stands, as far as this cycle knows
	}
	// Selected again, with what changed since read in the same round trip; or read already, in the round
	// trip of the side's last write (finishOn).
	var f imapbulk.Folder
	var err error
	if c.settled[s] != nil {
		f = *c.settled[s]
	} else {
		f, err = c.conn(s).ReadFolder(ctx, c.folder(s), c.settleRead(s, at))
	}
	st := f.Status
	if err != nil || f.Err != nil || st.UIDValidity != at.UIDValidity || st.NoModSeq || int(st.Exists) != int(exists)+c.added[s]-c.removed[s] {
		return at
	}
	for _, m := range f.Changed {
		want, ok := c.wrote[s][m.UID]
		if !ok || !sameFlags(m.Flags, c.pair.Names(want)) {
			return at
		}
	}
	return mailboxOf(st)
}

// settleRead is what settle reads of side s, which stood at at.
func (c *pairCycle) settleRead(s Side, at syncstate.Mailbox) imapbulk.FolderRead {
	return imapbulk.FolderRead{ReadOnly: s == A && c.opts.Direction == OneWay, FlagsSince: at.HighestModSeq}
}

// minus is the flags of a that b has not.
func minus(a, b syncstate.Flags) syncstate.Flags {
	return syncstate.Flags{System: a.System &^ b.System, Keywords: slices.DeleteFunc(slices.Clone(a.Keywords), func(k uint16) bool { return slices.Contains(b.Keywords, k) })}
}

// sameFlags compares two lists of IMAP flags as sets, system flags without regard to case, \Recent left out.
func sameFlags(a, b []string) bool {
	norm := func(l []string) []string {
		var out []string
		for _, f := range l {
			if strings.HasPrefix(f, `\`) {
				if strings.EqualFold(f, `\Recent`) {
					continue
				}
				f = strings.ToLower(f)
			}
			out = append(out, f)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}

func mailboxOf(st imapbulk.Status) syncstate.Mailbox {
	m := syncstate.Mailbox{UIDValidity: st.UIDValidity, UIDNext: st.UIDNext, HighestModSeq: st.HighestModSeq}
	if st.NoModSeq {
		m.HighestModSeq = 0
	}
	return m
}

// unchanged says whether a mailbox is as it was: only a mod-sequence tells that no flag changed.
func unchanged(was, now syncstate.Mailbox) bool {
	return was.HighestModSeq != 0 && was == now
}

// snapshot reads every message of the side's selected folder: UID, flags, identity.
// known is, for each side, the messages the pair knows there: linked ones with their agreed flags, and kept
// ones (no flags: they are not synced).
func (c *pairCycle) known() [2]map[uint32]syncstate.Flags {
	k := [2]map[uint32]syncstate.Flags{make(map[uint32]syncstate.Flags, len(c.pair.Links)), make(map[uint32]syncstate.Flags, len(c.pair.Links))}
	for _, l := range c.pair.Links {
		k[A][l.A], k[B][l.B] = l.Flags, l.Flags
	}
	for _, uid := range c.pair.KeptA {
		k[A][uid] = syncstate.Flags{}
	}
	for _, uid := range c.pair.KeptB {
		k[B][uid] = syncstate.Flags{}
	}
	return k
}

// fetch reads what side s's selected folder holds now. Read whole: every message's UID, flags and
// identity (header fields). Read by what changed, when the side offers mod-sequences and its state is known
// since mod-sequence since: the UIDs there (UID SEARCH ALL: what is gone), the flags of the messages
// changed since (CHANGEDSINCE; the others still have the flags the sides agreed on, which the last cycle
// either set or read), and the identity of the messages the pair does not know (new ones, mostly). read,
// when not nil, is what the SELECT's round trip read already (with since, or whole when since is 0); then
// only identities it lacks are asked for. Both sides are read at once: fetch touches nothing of the pair;
// snapshot then runs alone.
func (c *pairCycle) fetch(ctx context.Context, s Side, st imapbulk.Status, since uint64, known map[uint32]syncstate.Flags, read *imapbulk.Folder) error {
	c.ids[s], c.changed[s], c.agreed[s] = map[uint32]imapbulk.Identity{}, map[uint32][]string{}, map[uint32]syncstate.Flags{}
	c.objs[s] = map[uint32]objectInfo{}
	if st.Exists == 0 {
		return nil
	}
	conn := c.conn(s)
	var unknown []uint32
	if since == 0 {
		var ids []imapbulk.Identity
		var err error
		if read != nil {
			ids = read.Identities
		} else {
			ids, err = conn.FetchIdentities(ctx, "1:*", 0)
		}
		for _, id := range ids {
			c.ids[s][id.UID] = id
		}
		if err != nil || !c.opts.Objects {
			return err
		}
		uids := make([]uint32, 0, len(ids))
		for _, id := range ids {
			uids = append(uids, id.UID)
		}
		return c.readObjects(ctx, s, uids)
	}
	var present []uint32
	var changed []imapbulk.Identity
	if read != nil {
		present, changed = read.Present, read.Changed
		if read.Resynced {
			var ok bool
			if present, ok = resyncedPresent(read, known, st.Exists); !ok {
				var err error
				if present, err = conn.UIDSearch(ctx, "ALL"); err != nil {
					return err
				}
			}
		}
		// The identities read from the old UIDNEXT on: of new messages, which the pair cannot know.
		var fresh []uint32
		for _, id := range read.Identities {
			if _, isKnown := known[id.UID]; !isKnown {
				c.ids[s][id.UID] = id
				fresh = append(fresh, id.UID)
			}
		}
		if c.opts.Objects {
			if err := c.readObjects(ctx, s, fresh); err != nil {
				return err
			}
		}
	} else {
		var err error
		if present, err = conn.UIDSearch(ctx, "ALL"); err != nil {
			return err
		}
		if changed, err = conn.FetchFlags(ctx, "1:*", since); err != nil {
			return err
		}
	}
	flags := make(map[uint32][]string, len(changed))
	for _, m := range changed {
		flags[m.UID] = m.Flags
	}
	for _, uid := range present {
		f, isKnown := known[uid]
		switch names, isChanged := flags[uid]; {
		case !isKnown:
			unknown = append(unknown, uid)
		case isChanged:
			c.changed[s][uid] = names
		default:
			c.agreed[s][uid] = f
		}
	}
	return c.fetchIdentities(ctx, s, unknown)
}

// resyncedPresent is what a side holds after a read that QRESYNC answered: the messages the pair knows there
// that did not vanish, and the new ones the read found. ok is false when they do not add up to the folder's
// count (a message the pair does not know below the old UIDNEXT, say): then the UIDs must be asked for.
func resyncedPresent(read *imapbulk.Folder, known map[uint32]syncstate.Flags, exists uint32) (present []uint32, ok bool) {
	gone := merged(read.Vanished)
	present = make([]uint32, 0, exists)
	for uid := range known {
		if !inRanges(gone, uid) {
			present = append(present, uid)
		}
	}
	for _, id := range read.Identities {
		if _, isKnown := known[id.UID]; !isKnown {
			present = append(present, id.UID)
		}
	}
	slices.Sort(present)
	present = slices.Compact(present)
	return present, len(present) == int(exists)
}

// merged is set's ranges in order, overlapping ones joined, for inRanges.
func merged(set imapconn.UIDSet) imapconn.UIDSet {
	out := slices.Clone(set)
	slices.SortFunc(out, func(a, b imapconn.UIDRange) int { return cmp.Compare(a.First, b.First) })
	var m imapconn.UIDSet
	for _, r := range out {
		if n := len(m); n > 0 && uint64(r.First) <= uint64(m[n-1].Last)+1 {
			m[n-1].Last = max(m[n-1].Last, r.Last)
			continue
		}
		m = append(m, r)
	}
	return m
}

// inRanges says whether uid lies in one of the ordered, disjoint ranges.
func inRanges(ranges imapconn.UIDSet, uid uint32) bool {
	i := sort.Search(len(ranges), func(i int) bool { return ranges[i].Last >= uid })
	return i < len(ranges) && ranges[i].First <= uid
}

// fetchIdentities reads the identities of side s's messages uids that were not read yet (and, in a
// groupware pair, their objects).
func (c *pairCycle) fetchIdentities(ctx context.Context, s Side, uids []uint32) error {
	uids = slices.DeleteFunc(slices.Clone(uids), func(uid uint32) bool { _, ok := c.ids[s][uid]; return ok })
	if len(uids) == 0 {
		return nil
	}
	ids, err := c.conn(s).FetchIdentities(ctx, imapconn.UIDSetOf(uids), 0)
	for _, id := range ids {
		c.ids[s][id.UID] = id
	}
	if err != nil || !c.opts.Objects {
		return err
	}
	return c.readObjects(ctx, s, uids)
}

// maxObjectBytes bounds a message a groupware pair reads whole to find the object in it; a larger one is
// synced as a message (by its Message-ID).
const maxObjectBytes = 4 << 20

// pending says whether a copy to side s may be pending (see syncstate.Pending).
func (c *pairCycle) pending(s Side) bool {
	return slices.ContainsFunc(c.pair.Pending, func(x syncstate.Pending) bool { return Side(x.To) == s })
}

// readObjects reads the messages uids of side s whole (one UID FETCH, a message in memory at a time) and
// records the groupware object of each that holds one.
func (c *pairCycle) readObjects(ctx context.Context, s Side, uids []uint32) error {
	var small []uint32
	for _, uid := range uids {
		if id, ok := c.ids[s][uid]; ok && id.Size <= maxObjectBytes {
			small = append(small, uid)
		}
	}
	if len(small) == 0 {
		return nil
	}
	return c.conn(s).FetchMessages(ctx, small, func() io.Writer { return new(bytes.Buffer) }, func(uid uint32, w io.Writer, _ int64) error {
		if id, v, title, ok := readVersion(w.(*bytes.Buffer).Bytes(), c.ids[s][uid].InternalDate); ok {
			c.objs[s][uid] = objectInfo{id: id, version: v, title: title}
		}
		return nil
	})
}

// idOf is the identity of message uid of side s as read: its object's, or its own.
func (c *pairCycle) idOf(s Side, uid uint32) string {
	if o, ok := c.objs[s][uid]; ok {
		return o.id
	}
	return identityKey(c.ids[s][uid])
}

// snapshot is what fetch read of side s, with the flags in the pair's keyword table.
func (c *pairCycle) snapshot(s Side) Snapshot {
	snap := make(Snapshot, len(c.ids[s])+len(c.changed[s])+len(c.agreed[s]))
	// In UID order, so that keywords enter the pair's table in the same order every time.
	for _, uid := range slices.Sorted(maps.Keys(c.ids[s])) {
		id := c.ids[s][uid]
		snap[uid] = Message{UID: uid, Flags: c.pair.FlagsOf(id.Flags), ID: identityKey(id)}
		if o, ok := c.objs[s][uid]; ok {
			snap[uid] = Message{UID: uid, Flags: snap[uid].Flags, ID: o.id, Version: o.version}
		}
	}
	for _, uid := range slices.Sorted(maps.Keys(c.changed[s])) {
		snap[uid] = Message{UID: uid, Flags: c.pair.FlagsOf(c.changed[s][uid])}
	}
	for uid, f := range c.agreed[s] {
		snap[uid] = Message{UID: uid, Flags: f}
	}
	return snap
}

// identityKey is what matches a message with one of the other side: its Message-ID (the original one
// Exchange keeps when it rewrote it), else its content key.
func identityKey(id imapbulk.Identity) string {
	m := msgid.FromHeader(id.Header, id.Size)
	if k := m.DecidingKeys(); len(k) > 0 {
		return k[len(k)-1]
	}
	return ""
}

// execute carries out d, side by side, and returns the links that stand afterwards: d's, those of the
// copies made, and for a message whose action failed its link as it was, so that the next cycle sees the
// same difference and tries again.
func (c *pairCycle) execute(ctx context.Context, d Decision) []syncstate.Link {
	links := slices.Clone(d.Links)
	c.failedOn = [2]map[uint32]bool{{}, {}}
	failedOn := c.failedOn
	c.wrote = [2]map[uint32]syncstate.Flags{{}, {}}
	fail := func(on Side, uids []uint32, err error) {
		c.unsure = true
		for _, uid := range uids {
			failedOn[on][uid] = true
			c.rep.fail(on, uid, c.idOf(on, uid), err)
		}
	}
	// What the user may not add is removed only once a notice carrying it reached them.
	d.Actions = c.noticeRefused(ctx, d.Actions)
	var todo [2][]Action
	var rewrites []Action
	for _, act := range d.Actions {
		switch {
		case act.Kind == Copy && act.Rewrite:
			rewrites = append(rewrites, act)
		case act.Kind == Copy:
			todo[act.On] = append(todo[act.On], act)
		}
	}
	// Each side's flags, deletions and moves go in one pipelined round trip, both sides at once, with the
	// bodies of the first batch of copies out of the side. The UID EXPUNGE of the deletions waits for the
	// \Deleted before it to be answered: it goes in the side's last round trip, with the copies into it and
	// the read of where it then stands (finishOn).
	var plans [2][]group
	var changes [2][]imapbulk.Change
	var first [2]*prefetched
	for _, side := range []Side{A, B} {
		plans[side], changes[side] = c.plan(side, d)
		first[side] = c.firstBatch(side, todo[side])
	}
	// The state with the copies as pending goes to the store while the changes are made, when every copy's
	// identity is known (else copyBoth reads the missing ones first).
	var since int64
	var written func() error
	if len(todo[A])+len(todo[B])+len(rewrites) > 0 && c.identitiesKnown(todo) {
		since, written = c.writeAhead(todo, rewrites)
	}
	var results [2][]error
	var errs [2]error
	_ = inBoth(func() error { results[A], errs[A] = c.applyThenFetch(ctx, A, changes[A], first[A]); return nil },
		func() error { results[B], errs[B] = c.applyThenFetch(ctx, B, changes[B], first[B]); return nil })
	for _, side := range []Side{A, B} {
		// The read may follow the side's last write when the copies into it are one batch, read already,
		// and nothing is written there after them (a conflict copy, a replaced version's removal).
		o := side.other()
		oneBatch := len(todo[o]) == 0 || (first[o] != nil && len(first[o].uids) == len(todo[o]))
		replaces := slices.ContainsFunc(todo[o], func(a Action) bool { return a.Replaces != 0 })
		c.readAfter[side] = oneBatch && !replaces && len(rewrites) == 0 && c.now[side].HighestModSeq != 0
	}
	for _, side := range []Side{A, B} {
		for _, g := range plans[side] {
			err := g.err
			for k := g.first; err == nil && k < g.first+g.n; k++ {
				if err = errs[side]; err == nil {
					err = results[side][k]
				}
			}
			if err != nil {
				fail(side, g.uids, err)
				continue
			}
			switch {
			case g.kind == SetFlags:
				c.rep.counts(side).Flags += len(g.uids)
				for _, uid := range g.uids {
					c.wrote[side][uid] = g.flags
				}
			case g.kind == Delete:
				c.held[side] = append(c.held[side], g) // expunged in the side's last round trip
			default:
				c.deleted(side, g)
			}
		}
	}
	// Copies, both ways at once (each way fetches on one connection and appends on the other), then the
	// conflict copies of groupware objects, then the removal of what new versions replaced.
	if len(todo[A])+len(todo[B])+len(rewrites) > 0 {
		links = append(links, c.copyBoth(ctx, todo, rewrites, first, since, written, fail)...)
	} else {
		// Nothing to append: the held deletions' outcomes are recorded by finishOn.
		_ = inBoth(func() error { _, err := c.finishOn(ctx, A, nil, fail); return err }, func() error { _, err := c.finishOn(ctx, B, nil, fail); return err })
	}
	c.removeReplaced(ctx)
	// A failed action leaves the message's link as it was.
	keep := func(l syncstate.Link) bool { return !failedOn[A][l.A] && !failedOn[B][l.B] }
	links = slices.DeleteFunc(links, func(l syncstate.Link) bool { return !keep(l) })
	for _, l := range c.pair.Links {
		if !keep(l) {
			links = append(links, l)
		}
	}
	slices.SortFunc(links, func(x, y syncstate.Link) int { return int(x.A) - int(y.A) })
	return slices.CompactFunc(links, func(x, y syncstate.Link) bool { return x.A == y.A })
}

// deleted counts the messages of group g removed from side.
func (c *pairCycle) deleted(side Side, g group) {
	if g.double {
		c.rep.counts(side).Doubles += len(g.uids)
	} else {
		c.rep.counts(side).Deleted += len(g.uids)
	}
	c.removed[side] += len(g.uids)
}

// finishOn makes the last round trip on side s: the UID EXPUNGE of the deletions held for it, the APPEND of
// msgs (copies into it) and, when nothing is written there after that (readAfter), the read of where the
// side then stands, for settle. It returns the appends' results and records the rest inside c.locked. Once
// the held deletions are sent, a later call appends only.
func (c *pairCycle) finishOn(ctx context.Context, s Side, msgs []imapbulk.Message, fail func(Side, []uint32, error)) ([]imapbulk.AppendResult, error) {
	var held []group
	c.locked(func() { held, c.held[s] = c.held[s], nil })
	var read *imapbulk.FolderRead
	if c.readAfter[s] && (len(held) > 0 || len(msgs) > 0) {
		r := c.settleRead(s, c.now[s])
		read = &r
		c.readAfter[s] = false // one read, after the last write
	}
	if len(held) == 0 && read == nil {
		if len(msgs) == 0 {
			return nil, nil
		}
		return appendBatched(ctx, c.conn(s), c.folder(s), msgs)
	}
	changes := make([]imapbulk.Change, len(held))
	for k, g := range held {
		changes[k] = imapbulk.Change{UIDs: imapconn.UIDSetOf(slices.Clone(g.uids)), Expunge: true}
	}
	c.conn(s).SetAppendOptions(imapbulk.AppendOptions{Batch: appendBatch})
	w, f, readErr, err := c.conn(s).WriteThenRead(ctx, changes, c.folder(s), msgs, read)
	c.locked(func() {
		for k, g := range held {
			e := err
			if e == nil {
				e = w.Changes[k]
			}
			if e != nil {
				fail(s, g.uids, e)
				continue
			}
			c.deleted(s, g)
		}
		if read != nil && err == nil && readErr == nil {
			c.settled[s] = &f
		}
	})
	if err != nil || len(msgs) == 0 {
		return w.Appended, err
	}
	res, err := retryRefused(ctx, c.conn(s), c.folder(s), msgs, w.Appended)
	if slices.ContainsFunc(w.Appended, func(r imapbulk.AppendResult) bool { return errors.Is(r.Err, imapbulk.ErrBatchRefused) }) {
		c.locked(func() { c.settled[s] = nil }) // read before the messages appended again
	}
	return res, err
}

// group is what one action kind does on one side: the Changes plan made for it (first, n), or err when it
// cannot be done at all.
type group struct {
	kind   ActionKind
	double bool
	uids   []uint32
	flags  syncstate.Flags // SetFlags: the flags wanted
	from   syncstate.Flags // SetFlags: the flags the messages have now
	first  int
	n      int
	err    error
}

// plan turns d's flag settings, deletions and moves on side into Changes: the flags added and removed
// (+FLAGS, -FLAGS), one STORE each per distinct change, then the moves to the trash, then the deletions
// (STORE \Deleted and UID EXPUNGE of just those).
func (c *pairCycle) plan(side Side, d Decision) ([]group, []imapbulk.Change) {
	var groups []group
	var changes []imapbulk.Change
	add := func(g group, ch ...imapbulk.Change) {
		g.first, g.n = len(changes), len(ch)
		changes = append(changes, ch...)
		groups = append(groups, g)
	}
	byFlags := map[string]*group{}
	var order []string
	var deletes, doubles, trash []uint32
	for _, act := range d.Actions {
		if act.On != side {
			continue
		}
		switch act.Kind {
		case SetFlags:
			// Grouped by what changes: messages with the same flags now and the same flags wanted.
			cur := c.snap[side][act.UID].Flags
			k := fmt.Sprint(cur, act.Flags)
			if byFlags[k] == nil {
				byFlags[k] = &group{kind: SetFlags, flags: act.Flags, from: cur}
				order = append(order, k)
			}
			byFlags[k].uids = append(byFlags[k].uids, act.UID)
		case Delete:
			if act.Double {
				doubles = append(doubles, act.UID)
			} else {
				deletes = append(deletes, act.UID)
			}
		case Trash:
			trash = append(trash, act.UID)
		}
	}
	for _, k := range order {
		// Only what changes is stored (+FLAGS, -FLAGS), not the whole set: another flag of the message that
		// its user changed since the cycle read it stays as they set it.
		g := *byFlags[k]
		set := imapconn.UIDSetOf(slices.Clone(g.uids))
		var ch []imapbulk.Change
		if plus := minus(g.flags, g.from); plus.System != 0 || len(plus.Keywords) > 0 {
			ch = append(ch, imapbulk.Change{UIDs: set, Store: "+FLAGS", Flags: c.pair.Names(plus)})
		}
		if less := minus(g.from, g.flags); less.System != 0 || len(less.Keywords) > 0 {
			ch = append(ch, imapbulk.Change{UIDs: set, Store: "-FLAGS", Flags: c.pair.Names(less)})
		}
		add(g, ch...)
	}
	to := c.fa.trash
	if side == B {
		to = c.fb.trash
	}
	switch {
	case len(trash) == 0:
	case to == "":
		groups = append(groups, group{kind: Trash, uids: trash, err: errors.New("no trash folder (\\Trash) on this side to move it to")})
	case to == c.folder(side):
		deletes = append(deletes, trash...) // deleted from the trash itself
	default:
		add(group{kind: Trash, uids: trash}, imapbulk.Change{UIDs: imapconn.UIDSetOf(slices.Clone(trash)), MoveTo: to})
	}
	for _, del := range []group{{kind: Delete, uids: deletes}, {kind: Delete, double: true, uids: doubles}} {
		if len(del.uids) > 0 {
			add(del, deletion(del.uids)[0]) // the \Deleted; the UID EXPUNGE waits for its answer (finishOn)
		}
	}
	return groups, changes
}

// prefetched is the first batch of a side's copies (the first len(uids) of them), read with the side's changes:
// the bodies by UID, or why they could not be read.
type prefetched struct {
	uids   []uint32
	bodies map[uint32]*bytes.Buffer
	err    error
}

// identitiesKnown says whether the cycle read the identity of every message of todo.
func (c *pairCycle) identitiesKnown(todo [2][]Action) bool {
	for s, acts := range todo {
		for _, act := range acts {
			if _, ok := c.ids[s][act.UID]; !ok {
				return false
			}
		}
	}
	return true
}

// firstBatch is the first batch of copies out of side s to be read with the side's changes, or nil when
// it cannot be (a copy whose identity, and so whose size, is not known yet).
func (c *pairCycle) firstBatch(s Side, todo []Action) *prefetched {
	n := c.batchLen(s, todo)
	if n == 0 {
		return nil
	}
	p := &prefetched{bodies: map[uint32]*bytes.Buffer{}}
	for _, act := range todo[:n] {
		if _, ok := c.ids[s][act.UID]; !ok {
			return nil
		}
		p.uids = append(p.uids, act.UID)
	}
	return p
}

// batchLen is how many of todo the next batch of copies out of side s takes: at most copyBatchBytes,
// and at least one.
func (c *pairCycle) batchLen(s Side, todo []Action) int {
	n, size := 0, int64(0)
	for n < len(todo) && (n == 0 || size+c.ids[s][todo[n].UID].Size <= copyBatchBytes) {
		size += c.ids[s][todo[n].UID].Size
		n++
	}
	return n
}

// applyThenFetch makes side s's changes and reads the bodies of first (if any) in the same round trip.
func (c *pairCycle) applyThenFetch(ctx context.Context, s Side, changes []imapbulk.Change, first *prefetched) ([]error, error) {
	if first == nil {
		return c.conn(s).Apply(ctx, changes)
	}
	errs, fetchErr, err := c.conn(s).ApplyThenFetch(ctx, changes, imapbulk.Bodies{UIDs: first.uids,
		Open: func() io.Writer { return new(bytes.Buffer) },
		Done: func(uid uint32, w io.Writer, _ int64) error { first.bodies[uid] = w.(*bytes.Buffer); return nil }})
	first.err = fetchErr
	if err != nil {
		first.err = err
	}
	return errs, err
}

// copyBoth copies todo[A] to side B and todo[B] to side A, and returns their links. Every copy is written
// ahead in the state, in one write, so that a copy a server stores after this process was killed is known
// for one next cycle (see syncstate.Pending); no append is sent before written says it is stored. When
// execute did not start that write (written nil), the messages' dates and sizes are read first where fetch
// did not (a message read by its flags only: put back, or kept in a conflict), then the write is started,
// running while the first bodies are read. first holds each side's first batch when execute read it.
func (c *pairCycle) copyBoth(ctx context.Context, todo [2][]Action, rewrites []Action, first [2]*prefetched, since int64, written func() error, fail func(Side, []uint32, error)) []syncstate.Link {
	if written == nil {
		uidsOf := func(acts []Action) []uint32 {
			var uids []uint32
			for _, act := range acts {
				uids = append(uids, act.UID)
			}
			return uids
		}
		var errs [2]error
		_ = inBoth(func() error { errs[A] = c.fetchIdentities(ctx, A, uidsOf(todo[A])); return nil },
			func() error { errs[B] = c.fetchIdentities(ctx, B, uidsOf(todo[B])); return nil })
		for _, from := range []Side{A, B} {
			if errs[from] != nil {
				fail(from, uidsOf(todo[from]), errs[from])
				todo[from] = nil
			}
		}
		since, written = c.writeAhead(todo, rewrites)
	}
	locked := c.locked // over the cycle's bookkeeping, which both ways update
	var links [2][]syncstate.Link
	_ = inBoth(func() error { links[A] = c.copy(ctx, A, todo[A], first[A], since, written, fail, locked); return nil },
		func() error { links[B] = c.copy(ctx, B, todo[B], first[B], since, written, fail, locked); return nil })
	out := append(links[A], links[B]...)
	for _, act := range rewrites {
		err := written()
		var l syncstate.Link
		if err == nil {
			l, err = c.conflictCopy(ctx, act, since)
		}
		if err != nil {
			fail(act.On, []uint32{act.UID}, err)
		} else {
			out = append(out, l)
		}
	}
	_ = written() // the cycle's next write of the state comes after this one
	return out
}

// writeAhead records the copies of todo and rewrites as pending in the pair and starts writing the state,
// which written then waits for: no copy is sent before it is stored. since is when they were recorded.
func (c *pairCycle) writeAhead(todo [2][]Action, rewrites []Action) (since int64, written func() error) {
	since = time.Now().Unix()
	for _, from := range []Side{A, B} {
		for _, act := range todo[from] {
			if id := c.idOf(from, act.UID); id != "" {
				c.pair.Pending = append(c.pair.Pending, syncstate.Pending{To: uint8(from.other()), ID: id, Since: since})
			}
		}
	}
	for _, act := range rewrites {
		id := objectID(conflictUID(Message{ID: c.idOf(act.On, act.UID), Version: c.objs[act.On][act.UID].version}))
		c.pair.Pending = append(c.pair.Pending, syncstate.Pending{To: uint8(A), ID: id, Since: since}, syncstate.Pending{To: uint8(B), ID: id, Since: since})
	}
	saved := make(chan error, 1)
	ahead := c.pair.Clone()
	go func() { saved <- c.book.saveAhead(ahead, c.sync.State) }()
	var once sync.Once
	var saveErr error
	return since, func() error {
		once.Do(func() {
			if saveErr = <-saved; saveErr != nil {
				saveErr = fmt.Errorf("saving the sync state before copying: %w", saveErr)
			}
		})
		return saveErr
	}
}

// copy copies messages of side from to the other side in batches of at most copyBatchBytes, each batch
// fetched in one UID FETCH and appended in one pipelined run, and returns their links. A copy the server
// gives no UID for (no UIDPLUS) is not linked: the next cycle matches it by identity. What it records of the
// cycle (counts, failures, pending copies confirmed) it records inside locked. No batch is appended before
// written says the state with the pending copies is stored.
func (c *pairCycle) copy(ctx context.Context, from Side, todo []Action, first *prefetched, since int64, written func() error, fail func(Side, []uint32, error), locked func(func())) []syncstate.Link {
	var links []syncstate.Link
	to := from.other()
	src := c.conn(from)
	// The copies never sent (interrupted, or not read) are taken out of the pending ones at the end.
	unsent := map[string]int{}
	for _, act := range todo {
		unsent[c.idOf(from, act.UID)]++
	}
	defer locked(func() { c.forgetPending(to, since, unsent) })
	// A groupware object's new version never sent (interrupted) leaves the version it was to replace linked,
	// as a failed copy does: the next cycle sees the same update, not two unlinked versions.
	defer locked(func() {
		for _, act := range todo {
			if act.Replaces != 0 {
				c.failedOn[to][act.Replaces] = true
			}
		}
	})
	// The deletions held for the side go with the first batch, or alone when nothing is appended there
	// (see finishOn).
	defer func() { _, _ = c.finishOn(ctx, to, nil, fail) }()
	for len(todo) > 0 && ctx.Err() == nil {
		n := c.batchLen(from, todo)
		if first != nil {
			n = len(first.uids) // read with the side's changes (see execute)
		}
		batch := todo[:n]
		todo = todo[n:]
		uids := make([]uint32, len(batch))
		for i, act := range batch {
			uids[i] = act.UID
		}
		bodies := map[uint32]*bytes.Buffer{}
		var err error
		if first != nil {
			bodies, err = first.bodies, first.err
			first = nil
		} else {
			err = src.FetchMessages(ctx, uids, func() io.Writer { return new(bytes.Buffer) }, func(uid uint32, w io.Writer, _ int64) error {
				bodies[uid] = w.(*bytes.Buffer)
				return nil
			})
		}
		if err != nil {
			locked(func() {
				for _, act := range batch {
					c.failCopy(from, act, err, fail)
				}
			})
			continue
		}
		var msgs []imapbulk.Message
		var sent []Action
		for _, act := range batch {
			body, ok := bodies[act.UID]
			if !ok {
				locked(func() { c.failCopy(from, act, errors.New("the message went away before it could be read"), fail) })
				continue
			}
			msgs = append(msgs, imapbulk.Message{Flags: c.pair.Names(act.Flags), Date: c.ids[from][act.UID].InternalDate, Size: int64(body.Len()), Body: bytes.NewReader(body.Bytes())})
			sent = append(sent, act)
		}
		if err := written(); err != nil {
			locked(func() {
				for _, act := range sent {
					c.failCopy(from, act, err, fail)
				}
			})
			continue
		}
		for _, act := range sent {
			unsent[c.idOf(from, act.UID)]--
		}
		res, err := c.finishOn(ctx, to, msgs, fail)
		locked(func() {
			confirmed := map[string]int{}
			for i, act := range sent {
				r := imapbulk.AppendResult{Err: err}
				if i < len(res) { // one result a message, always; err says why the whole call failed
					r = res[i]
				}
				if r.Err != nil {
					c.failCopy(from, act, r.Err, fail)
					continue
				}
				confirmed[c.idOf(from, act.UID)]++
				c.added[to]++
				if act.Replaces != 0 {
					c.rep.counts(to).Updated++
					c.replaced[to] = append(c.replaced[to], act.Replaces)
				} else {
					c.rep.counts(to).Added++
				}
				if act.Conflict && act.Replaces == 0 {
					c.rep.counts(to).Restored++
				}
				if r.UID == 0 {
					c.unsure = true
					continue
				}
				c.wrote[to][r.UID] = act.Flags
				l := syncstate.Link{A: act.UID, B: r.UID, Flags: act.Flags, Object: act.Object}
				if from == B {
					l.A, l.B = r.UID, act.UID
				}
				links = append(links, l)
			}
			// A copy the server confirmed is stored; it needs no pending record.
			c.forgetPending(to, since, confirmed)
		})
	}
	return links
}

// appendBatch is how many messages a copy appends in one MULTIAPPEND command (RFC 3502) where the server
// offers it: Dovecot and Cyrus store a command's messages in one transaction, with one flush to disk, where
// a command per message costs one each (four to five times the time for a cycle's handful of new messages).
const appendBatch = 64

// appendBatched appends msgs (whose bodies are bytes.Readers) in MULTIAPPEND batches, and the messages of a
// batch refused as a whole once more one by one, so that only those the server refuses alone fail: a batch
// is atomic, so none of them was stored.
func appendBatched(ctx context.Context, conn *imapbulk.Conn, folder string, msgs []imapbulk.Message) ([]imapbulk.AppendResult, error) {
	conn.SetAppendOptions(imapbulk.AppendOptions{Batch: appendBatch})
	res, err := conn.Append(ctx, folder, msgs)
	if err != nil {
		return res, err
	}
	return retryRefused(ctx, conn, folder, msgs, res)
}

// retryRefused appends once more, one by one, the messages of msgs whose MULTIAPPEND batch was refused as a
// whole (res their results), and returns the results of all.
func retryRefused(ctx context.Context, conn *imapbulk.Conn, folder string, msgs []imapbulk.Message, res []imapbulk.AppendResult) ([]imapbulk.AppendResult, error) {
	var again []int
	for i, r := range res {
		if errors.Is(r.Err, imapbulk.ErrBatchRefused) {
			again = append(again, i)
		}
	}
	if len(again) == 0 {
		return res, nil
	}
	retry := make([]imapbulk.Message, len(again))
	for k, i := range again {
		retry[k] = msgs[i]
		if _, err := retry[k].Body.(*bytes.Reader).Seek(0, io.SeekStart); err != nil {
			return res, err
		}
	}
	alone, err := conn.AppendOneByOne(ctx, folder, retry)
	for k, i := range again {
		if k < len(alone) {
			res[i] = alone[k]
		}
	}
	return res, err
}

// forgetPending removes, for each identity of ids, as many pending copies to side to written at since.
func (c *pairCycle) forgetPending(to Side, since int64, ids map[string]int) {
	c.pair.Pending = slices.DeleteFunc(c.pair.Pending, func(x syncstate.Pending) bool {
		if x.Since == since && x.To == uint8(to) && ids[x.ID] > 0 {
			ids[x.ID]--
			return true
		}
		return false
	})
}

// declineLarge returns a *LargeFirstSyncError when the pairs' source folders hold more than s.BulkAbove
// messages (counted from the listing's STATUS, or asked for where the server gave none).
func (s *Sync) declineLarge(ctx context.Context, a *imapbulk.Conn, fa *sideFolders, pairs []FolderPair) error {
	total := 0
	for _, p := range pairs {
		st, ok := fa.status[p.A]
		if !ok {
			var err error
			if st, err = a.Status(ctx, p.A); err != nil {
				continue // a folder that is not there yet holds nothing to copy
			}
		}
		total += int(st.Exists)
	}
	if total > s.BulkAbove {
		return &LargeFirstSyncError{Messages: total, Folders: len(pairs)}
	}
	return nil
}

// deletion is the changes that delete just these messages: STORE \Deleted, then UID EXPUNGE of them alone
// (never a plain EXPUNGE, which would take what the user marked deleted too).
func deletion(uids []uint32) []imapbulk.Change {
	set := imapconn.UIDSetOf(slices.Clone(uids))
	return []imapbulk.Change{{UIDs: set, Store: "+FLAGS", Flags: []string{`\Deleted`}}, {UIDs: set, Expunge: true}}
}
