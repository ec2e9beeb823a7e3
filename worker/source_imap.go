package worker

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/msgid"
)

// IMAPSource reads an IMAP account: Exchange's IMAP or any other server.
type IMAPSource struct {
	ep   imapconn.Endpoint
	cred imapconn.Credentials
	// list is the connection that lists folders (and cuts them, Split) until Warm adds it to the units'
	// connections; each folder is read over a connection of its own (see Items), so folders can be read in
	// parallel like they are written.
	list    *imapbulk.Conn
	prefix  string
	sep     rune
	folders map[string]imapconn.Folder
	attrs   map[string]FolderAttrs // subscription and METADATA, by SourceFolder.Key
	warm    warmConns              // the first folders' connections, dialed ahead (Warm)
}

// OpenIMAP logs in to the source account.
func OpenIMAP(ctx context.Context, ep imapconn.Endpoint, cred imapconn.Credentials) (*IMAPSource, error) {
	c, err := imapbulk.Dial(ctx, ep, cred)
	if err != nil {
		return nil, err
	}
	return &IMAPSource{ep: ep, cred: cred, list: c, folders: map[string]imapconn.Folder{}}, nil
}

func (s *IMAPSource) Describe() string {
	return "imap://" + s.cred.Login + "@" + s.ep.Address()
}

func (s *IMAPSource) Close() error {
	var wg sync.WaitGroup
	wg.Go(s.warm.close) // the units' connections' LOGOUTs alongside the listing connection's
	var err error
	if s.list != nil {
		err = s.list.Close()
	}
	wg.Wait()
	return err
}

// Warm makes n connections ready for the next folders read (Items): the listing connection, which is idle
// once the folders are listed, and n-1 dialed in the background. Each connection costs the server a
// session of its own, which on Dovecot is most of what a small folder costs it.
func (s *IMAPSource) Warm(ctx context.Context, n int) {
	if n <= 0 {
		return
	}
	s.warm.start(ctx, n-1, s.dial)
	s.warm.adopt(s.list)
	s.list = nil
}

func (s *IMAPSource) dial(ctx context.Context) (*imapbulk.Conn, error) {
	return imapbulk.Dial(ctx, s.ep, s.cred)
}

// borrow returns a connection for a command outside the units (Split) and the function that gives it back:
// the listing connection, or once that is with the units' connections (Warm), one of those.
func (s *IMAPSource) borrow(ctx context.Context) (*imapbulk.Conn, func(), error) {
	if s.list != nil {
		return s.list, func() {}, nil
	}
	c, err := s.warm.takeOrDial(ctx, s.dial)
	if err != nil {
		return nil, nil, err
	}
	return c, func() { s.warm.put(c) }, nil
}

// Folders lists the personal folders that can hold messages, with their special-use roles, and their
// sizes and UIDVALIDITY from STATUS.
func (s *IMAPSource) Folders(ctx context.Context) ([]SourceFolder, error) {
	ns, err := s.list.Namespaces(ctx)
	if err != nil {
		return nil, err
	}
	pers := ns.PersonalDefault()
	s.prefix, s.sep = pers.Prefix, pers.Delim
	// With LIST-STATUS every folder's status comes with the list: one round trip, not one per folder.
	all, statuses, err := s.list.ListStatus(ctx)
	if err != nil {
		return nil, err
	}
	var out []SourceFolder
	var names []string
	for _, f := range all {
		if f.Selectable() && ns.IsPersonal(f.Name) {
			names = append(names, f.Name)
		}
	}
	attrs := newAttrReader(ctx, s.list, names)
	s.attrs = map[string]FolderAttrs{}
	for _, f := range all {
		if !f.Selectable() || !ns.IsPersonal(f.Name) {
			continue
		}
		name := strings.TrimPrefix(f.Name, s.prefix)
		if strings.EqualFold(f.Name, "INBOX") {
			name = "INBOX"
		}
		var path []string
		if f.Delim != 0 {
			path = strings.Split(name, string(f.Delim))
		} else {
			path = []string{name}
		}
		st, ok := statuses[f.Name]
		if !ok {
			if st, err = s.list.Status(ctx, f.Name); err != nil {
				return out, fmt.Errorf("STATUS %q: %w", f.Name, err)
			}
		}
		sf := SourceFolder{Key: strings.Join(path, "/"), Path: path, Count: int(st.Exists), UIDValidity: st.UIDValidity, HighestModSeq: st.HighestModSeq}
		switch {
		case strings.EqualFold(f.Name, "INBOX"):
			sf.Role = foldermap.RoleInbox
		case f.SpecialUse != "":
			sf.Role = specialUseRoles[f.SpecialUse]
		}
		if s.attrs[sf.Key], err = attrs.read(ctx, f, &sf); err != nil {
			return out, err
		}
		s.folders[sf.Key] = f
		out = append(out, sf)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// The bodies of a span are asked for in chunks, one FETCH each. The first chunk holds prefetchFirst
// messages, so that the copy starts early; each next one twice as many as the one before, up to
// prefetchMost and prefetchBytes (by the sizes the source gave), so that a folder of small messages is not
// read one round trip per handful. Each body is held in memory up to prefetchMemory bytes and in a temporary
// file beyond.
const (
	prefetchFirst  = 16
	prefetchMost   = 256
	prefetchBytes  = 2 << 20
	prefetchMemory = 256 << 10
)

// chunks cuts items into the chunks their bodies are fetched in (see prefetchFirst).
func chunks(items []*Item) [][]*Item {
	var out [][]*Item
	limit := prefetchFirst
	for len(items) > 0 {
		n, bytes := 0, int64(0)
		for n < len(items) && n < limit && (n == 0 || bytes+items[n].size <= prefetchBytes) {
			bytes += items[n].size
			n++
		}
		out = append(out, items[:n])
		items = items[n:]
		limit = min(2*limit, prefetchMost)
	}
	return out
}

// Items reads the span's messages in UID order after cp.LastUID: their identities with one FETCH of header
// fields, then the bodies of those the target lacks, a chunk at a time in one FETCH each (spooled like the
// engine spools, in memory up to a bound and in a temporary file beyond). The next chunk is fetched while
// the one before is handed to fn, so that the source's round trips overlap the copy.
func (s *IMAPSource) Items(ctx context.Context, sf SourceFolder, span Span, cp FolderCheckpoint, want func(*Item) bool, fn func(*Item) error) error {
	f, ok := s.folders[sf.Key]
	if !ok {
		return fmt.Errorf("folder %q is not on the source", sf.Key)
	}
	c, err := s.warm.takeOrDial(ctx, s.dial)
	if err != nil {
		return err
	}
	defer s.warm.put(c) // for the next unit; closed there when it cannot be used any more
	st, err := c.Select(ctx, f.Name, true)
	if err != nil {
		return err
	}
	if st.UIDValidity != sf.UIDValidity {
		// Rebuilt since Folders looked: positions are stale; the identity check keeps the copy exact.
		cp = FolderCheckpoint{}
	}
	from := max(cp.LastUID+1, span.From, 1)
	set := fmt.Sprintf("%d:*", from)
	if span.To != 0 {
		if from >= span.To {
			return nil // the span is done
		}
		set = fmt.Sprintf("%d:%d", from, span.To-1)
	}
	msgs, err := c.FetchIdentities(ctx, set, 0)
	if err != nil {
		return err
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].UID < msgs[j].UID })
	items := make([]*Item, 0, len(msgs))
	for _, m := range msgs {
		if m.UID < from || span.To != 0 && m.UID >= span.To {
			continue // "n:*" always returns the last message, even below n
		}
		items = append(items, &Item{
			Pos: cp.Done + len(items), UID: m.UID, Ref: fmt.Sprintf("uid:%d", m.UID), Flags: sourceFlags(m.Flags), Date: m.InternalDate,
			Identity: msgid.FromHeader(m.Header, m.Size), Kind: routeKind(sf.Kind), Subject: headerSubject(m.Header),
			size: m.Size,
		})
	}
	type fetched struct {
		bodies     map[uint32]*spool
		unservable map[uint32]error
		err        error
	}
	// fetch starts reading chunk's wanted bodies over c in a goroutine of its own. want is asked here, in
	// the caller's goroutine; c is used by nothing else until the result is received.
	fetch := func(chunk []*Item) <-chan fetched {
		var uids []uint32
		for _, it := range chunk {
			if want == nil || want(it) {
				uids = append(uids, it.UID)
			}
		}
		ch := make(chan fetched, 1)
		go func() {
			bodies, unservable, err := s.prefetch(ctx, c, uids)
			ch <- fetched{bodies, unservable, err}
		}()
		return ch
	}
	var next <-chan fetched
	defer func() {
		if next != nil { // given up early: the fetch under way is waited for (it uses c) and its bodies let go
			for _, b := range (<-next).bodies {
				b.Close()
			}
		}
	}()
	cs := chunks(items)
	if len(cs) > 0 {
		next = fetch(cs[0])
	}
	for k, chunk := range cs {
		res := <-next
		next = nil
		if res.err != nil {
			return res.err
		}
		bodies, unservable := res.bodies, res.unservable
		if k+1 < len(cs) {
			next = fetch(cs[k+1])
		}
		for _, it := range chunk {
			body := bodies[it.UID]
			it.body = body
			it.Write = func(w io.Writer) (*Written, error) {
				if err := unservable[it.UID]; err != nil {
					return nil, fmt.Errorf("the source cannot serve it: %w", err)
				}
				if body == nil {
					return nil, fmt.Errorf("the server returned no body for UID %d", it.UID)
				}
				r, err := body.Reader()
				if err != nil {
					return nil, err
				}
				_, err = io.Copy(w, r)
				return nil, err
			}
			err := fn(it)
			if it.body != nil { // not taken over
				it.body.Close()
			}
			delete(bodies, it.UID)
			if err != nil {
				for _, b := range bodies {
					b.Close()
				}
				return err
			}
		}
	}
	return nil
}

// Split cuts the folder at the UIDs it holds now (one UID SEARCH): span i holds sizes[i] messages, the last
// one also those that arrive later. A folder rebuilt since Folders (another UIDVALIDITY) is not cut.
func (s *IMAPSource) Split(ctx context.Context, sf SourceFolder, sizes []int) ([]Span, error) {
	f, ok := s.folders[sf.Key]
	if !ok {
		return nil, fmt.Errorf("folder %q is not on the source", sf.Key)
	}
	c, giveBack, err := s.borrow(ctx)
	if err != nil {
		return nil, err
	}
	defer giveBack()
	st, err := c.Select(ctx, f.Name, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Unselect(ctx) }() // read-only: nothing to lose if it fails; the next SELECT replaces it
	if st.UIDValidity != sf.UIDValidity {
		return []Span{{}}, nil
	}
	uids, err := c.UIDSearch(ctx, "ALL")
	if err != nil {
		return nil, err
	}
	slices.Sort(uids)
	return cutAt(sizes, func(n int) (uint32, bool) {
		if n >= len(uids) {
			return 0, false
		}
		return uids[n], true
	}), nil
}

// cutAt builds the spans of Split: key(n) is the key of the folder's item n (false: there is none).
func cutAt(sizes []int, key func(n int) (uint32, bool)) []Span {
	var out []Span
	var from uint32
	n := 0
	for _, size := range sizes[:max(0, len(sizes)-1)] {
		n += size
		to, ok := key(n)
		if !ok || to <= from {
			break
		}
		out = append(out, Span{From: from, To: to})
		from = to
	}
	return append(out, Span{From: from})
}

// prefetch reads the bodies of the messages uids with one FETCH. When the server refuses the
// FETCH (Exchange answers NO for a whole set when it cannot serve one message of it), each message is asked
// for alone, and those it still cannot serve are returned in unservable: they are reported as failed and
// the run goes on.
func (s *IMAPSource) prefetch(ctx context.Context, c *imapbulk.Conn, uids []uint32) (bodies map[uint32]*spool, unservable map[uint32]error, err error) {
	bodies, unservable = map[uint32]*spool{}, map[uint32]error{}
	if len(uids) == 0 {
		return bodies, unservable, nil
	}
	closeAll := func() {
		for _, b := range bodies {
			b.Close()
		}
	}
	open := func() io.Writer { return &spool{memLimit: prefetchMemory} }
	keep := func(uid uint32, w io.Writer, _ int64) error {
		if old := bodies[uid]; old != nil {
			old.Close()
		}
		bodies[uid] = w.(*spool)
		return nil
	}
	err = c.FetchMessages(ctx, uids, open, keep)
	if err == nil || imapbulk.IsTransient(err) || ctx.Err() != nil {
		if err != nil {
			closeAll()
		}
		return bodies, unservable, err
	}
	// A refused command's data is not trusted: every message is asked for again, alone.
	closeAll()
	bodies = map[uint32]*spool{}
	for _, uid := range uids {
		if err := c.FetchMessages(ctx, []uint32{uid}, open, keep); err != nil {
			if imapbulk.IsTransient(err) || ctx.Err() != nil {
				closeAll()
				return nil, nil, err
			}
			unservable[uid] = err
			if b := bodies[uid]; b != nil { // what came with a refusal is not the message
				b.Close()
				delete(bodies, uid)
			}
		}
	}
	return bodies, unservable, nil
}

// FlagChanges reads the flags of the messages copied before, with one FETCH: CHANGEDSINCE the mod-sequence
// of the last complete pass where the server offers CONDSTORE, every message's otherwise.
func (s *IMAPSource) FlagChanges(ctx context.Context, sf SourceFolder, cp FolderCheckpoint) ([]FlagChange, error) {
	f, ok := s.folders[sf.Key]
	if !ok || cp.LastUID == 0 {
		return nil, nil
	}
	c, err := imapbulk.Dial(ctx, s.ep, s.cred)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	st, err := c.Select(ctx, f.Name, true)
	if err != nil {
		return nil, err
	}
	if st.UIDValidity != cp.SourceUIDValidity {
		return nil, nil // rebuilt: Items starts over and copies what is missing
	}
	since := uint64(0)
	if st.HighestModSeq > 0 && !st.NoModSeq && cp.HighestModSeq > 0 {
		if st.HighestModSeq == cp.HighestModSeq {
			return nil, nil
		}
		since = cp.HighestModSeq
	}
	msgs, err := c.FetchIdentities(ctx, fmt.Sprintf("1:%d", cp.LastUID), since)
	if err != nil {
		return nil, err
	}
	out := make([]FlagChange, 0, len(msgs))
	for _, m := range msgs {
		if m.UID > cp.LastUID {
			continue
		}
		out = append(out, FlagChange{Identity: msgid.FromHeader(m.Header, m.Size), UID: m.UID, Flags: sourceFlags(m.Flags)})
	}
	return out, nil
}

// sourceFlags are the flags worth carrying over: not \Recent (the server sets it) and not \Deleted.
func sourceFlags(flags []string) []string {
	var out []string
	for _, f := range flags {
		if strings.EqualFold(f, `\Recent`) || strings.EqualFold(f, `\Deleted`) {
			continue
		}
		out = append(out, f)
	}
	return out
}

func headerSubject(h []byte) string {
	id := strings.Index(strings.ToLower(string(h)), "\nsubject:")
	if id < 0 {
		if !strings.HasPrefix(strings.ToLower(string(h)), "subject:") {
			return ""
		}
		id = -1
	}
	rest := string(h[id+len("\nsubject:"):])
	if end := strings.Index(rest, "\r\n"); end >= 0 {
		rest = rest[:end]
	}
	return strings.TrimSpace(rest)
}
