package mailsync

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/syncstate"
	"github.com/mailshift/mailshift/internal/testproxy"
	"github.com/mailshift/mailshift/internal/testserver"
)

// folder is one folder of one user on a real server, read and changed by a plain go-imap client, as the
// mailbox's user would: independent of what is tested.
type folder struct {
	t    *testing.T
	srv  *testserver.Server
	user string
	name string
	c    *imapclient.Client
}

func openFolder(t *testing.T, srv *testserver.Server, user, name string) *folder {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CAPEM)
	c, err := imapclient.DialStartTLS(srv.Addr(), &imapclient.Options{TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	u := srv.Users[user]
	if err := c.Login(u.Login, u.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	return &folder{t: t, srv: srv, user: user, name: name, c: c}
}

func (f *folder) server() Server {
	u := f.srv.Users[f.user]
	return Server{
		Endpoint:    imapconn.Endpoint{Host: f.srv.Host, Port: f.srv.Port, TLS: imapconn.TLSStartTLS, CAPEM: f.srv.CAPEM, DialTimeout: 20 * time.Second},
		Credentials: imapconn.Credentials{Login: u.Login, Password: u.Password, Flavor: f.srv.Flavor},
	}
}

func (f *folder) create() {
	f.t.Helper()
	if err := f.c.Create(f.name, nil).Wait(); err != nil {
		f.t.Fatalf("CREATE %s: %v", f.name, err)
	}
}

// put appends message id (its Message-ID is <id@sync.test>) with flags.
func (f *folder) put(id string, flags ...imap.Flag) {
	f.t.Helper()
	msg := fmt.Sprintf("From: %s@example.test\r\nTo: x@example.test\r\nSubject: message %s\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"+
		"Message-ID: <%s@sync.test>\r\n\r\nbody of %s %s\r\n", f.user, id, id, id, strings.Repeat("y", 300))
	f.appendRaw([]byte(msg), &imap.AppendOptions{Flags: flags, Time: time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)})
}

func (f *folder) appendRaw(msg []byte, opts *imap.AppendOptions) {
	f.t.Helper()
	cmd := f.c.Append(f.name, int64(len(msg)), opts)
	if _, err := cmd.Write(msg); err != nil {
		f.t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		f.t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		f.t.Fatalf("APPEND %s: %v", f.name, err)
	}
}

// view is what the folder holds: for each message id, its flags (sorted, \Recent left out), one entry
// per copy, so a duplicate shows as two.
func (f *folder) view() map[string][]string {
	f.t.Helper()
	out := map[string][]string{}
	for _, m := range f.fetch() {
		out[m.id] = append(out[m.id], m.flags)
	}
	return out
}

type seen struct {
	uid   imap.UID
	id    string
	flags string
	date  time.Time
}

func (f *folder) fetch() []seen {
	f.t.Helper()
	if _, err := f.c.Select(f.name, nil).Wait(); err != nil {
		f.t.Fatalf("SELECT %s: %v", f.name, err)
	}
	all := imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}
	got, err := f.c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true,
		BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}, Peek: true}}}).Collect()
	if err != nil {
		f.t.Fatalf("FETCH %s: %v", f.name, err)
	}
	var out []seen
	for _, m := range got {
		var id string
		for _, b := range m.BodySection {
			h := string(b.Bytes)
			if i := strings.Index(h, "<"); i >= 0 {
				if j := strings.Index(h[i:], "@sync.test>"); j > 0 {
					id = h[i+1 : i+j]
				}
			}
		}
		var fl []string
		for _, x := range m.Flags {
			if x != "\\Recent" {
				fl = append(fl, string(x))
			}
		}
		sort.Strings(fl)
		out = append(out, seen{uid: m.UID, id: id, flags: strings.Join(fl, " "), date: m.InternalDate})
	}
	return out
}

func (f *folder) uid(id string) imap.UID {
	f.t.Helper()
	for _, m := range f.fetch() {
		if m.id == id {
			return m.uid
		}
	}
	f.t.Fatalf("%s has no message %s", f.name, id)
	return 0
}

func (f *folder) flag(id string, op imap.StoreFlagsOp, flags ...imap.Flag) {
	f.t.Helper()
	uid := f.uid(id)
	if err := f.c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: op, Silent: true, Flags: flags}, nil).Close(); err != nil {
		f.t.Fatalf("STORE: %v", err)
	}
}

func (f *folder) remove(id string) {
	f.t.Helper()
	f.removeUIDs(f.uid(id))
}

func (f *folder) removeUIDs(uids ...imap.UID) {
	f.t.Helper()
	set := imap.UIDSetNum(uids...)
	if err := f.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		f.t.Fatalf("STORE: %v", err)
	}
	if err := f.c.UIDExpunge(set).Close(); err != nil {
		f.t.Fatalf("UID EXPUNGE: %v", err)
	}
}

// same fails unless both folders hold exactly want: each id once, with these flags.
func same(t *testing.T, want map[string]string, folders ...*folder) {
	t.Helper()
	for _, f := range folders {
		got := f.view()
		for id, fl := range got {
			if len(fl) != 1 {
				t.Errorf("%s on %s holds %s %d times", f.name, f.srv.Flavor, id, len(fl))
			}
			if w, ok := want[id]; !ok {
				t.Errorf("%s on %s holds %s, which it must not", f.name, f.srv.Flavor, id)
			} else if fl[0] != w {
				t.Errorf("%s on %s: %s has flags %q, want %q", f.name, f.srv.Flavor, id, fl[0], w)
			}
		}
		for id := range want {
			if _, ok := got[id]; !ok {
				t.Errorf("%s on %s lacks %s", f.name, f.srv.Flavor, id)
			}
		}
	}
}

type memStore struct{ s *syncstate.State }

func (m *memStore) Load() (*syncstate.State, error) {
	if m.s == nil {
		return &syncstate.State{}, nil
	}
	b, err := syncstate.Encode(m.s)
	if err != nil {
		return nil, err
	}
	return syncstate.Decode(b) // what a fresh process would read
}
func (m *memStore) Save(s *syncstate.State) error { m.s = s; _, err := syncstate.Encode(s); return err }

func cycle(t *testing.T, s *Sync) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := s.Cycle(ctx)
	if err != nil {
		t.Fatalf("cycle: %v", err)
	}
	for _, f := range rep.Folders {
		if f.Error != "" || len(f.Failures) > 0 {
			t.Fatalf("cycle: %s: %s %+v", f.A, f.Error, f.Failures)
		}
	}
	return rep
}

// sides are the server pairs every scenario runs on: each kind of server as either side.
func sides(t *testing.T) []struct {
	name string
	a, b *testserver.Server
} {
	dovecot, cyrus := testserver.Dovecot(t), testserver.Cyrus(t, "modern")
	return []struct {
		name string
		a, b *testserver.Server
	}{{"dovecot-to-cyrus", dovecot, cyrus}, {"cyrus-to-dovecot", cyrus, dovecot}}
}

// TestCycle runs the rows of the semantics table for mail against real servers, Dovecot and Cyrus each as
// source and as target.
func TestCycle(t *testing.T) {
	for _, sd := range sides(t) {
		t.Run(sd.name, func(t *testing.T) {
			t.Run("TwoWay", func(t *testing.T) { testTwoWay(t, sd.a, sd.b) })
			t.Run("OneWay", func(t *testing.T) { testOneWay(t, sd.a, sd.b) })
			t.Run("IgnoreAndTrash", func(t *testing.T) { testIgnoreAndTrash(t, sd.a, sd.b) })
			t.Run("UIDValidityReset", func(t *testing.T) { testUIDValidityReset(t, sd.a, sd.b) })
			t.Run("Interrupted", func(t *testing.T) { testInterrupted(t, sd.a, sd.b) })
			t.Run("PerFolder", func(t *testing.T) { testPerFolder(t, sd.a, sd.b) })
			t.Run("BulkFirst", func(t *testing.T) { testBulkFirst(t, sd.a, sd.b) })
			t.Run("Parallel", func(t *testing.T) { testParallel(t, sd.a, sd.b) })
		})
	}
}

// named gives a scenario's folder a name of its own on servers every scenario shares.
func named(t *testing.T, name string) string {
	return strings.Split(t.Name(), "/")[1] + "-" + name
}

func newSync(a, b *folder, o Options) *Sync {
	return &Sync{A: a.server(), B: b.server(), Folders: []FolderPair{{A: a.name, B: b.name}}, Options: o, State: &memStore{}}
}

func testTwoWay(t *testing.T, sa, sb *testserver.Server) {
	a, b := openFolder(t, sa, "alice", named(t, "TwoWay")), openFolder(t, sb, "bob", named(t, "TwoWay"))
	a.create()
	for _, id := range []string{"a1", "a2", "a3", "a4", "a5"} {
		a.put(id)
	}
	a.flag("a1", imap.StoreFlagsAdd, imap.FlagSeen)
	s := newSync(a, b, Options{Direction: TwoWay, Deletions: DeletePropagate, Conflicts: KeepBoth})

	// First cycle: the target folder is created and filled.
	rep := cycle(t, s)
	if rep.Folders[0].ToB.Added != 5 {
		t.Errorf("first cycle: %+v", rep.Folders[0])
	}
	b.put("b1", imap.FlagFlagged)
	b.put("b2")
	cycle(t, s)
	want := map[string]string{"a1": `\Seen`, "a2": "", "a3": "", "a4": "", "a5": "", "b1": `\Flagged`, "b2": ""}
	same(t, want, a, b)

	// Changes on both sides: each carried to the other, flags merged per flag.
	a.flag("a2", imap.StoreFlagsAdd, imap.FlagFlagged)
	a.flag("a1", imap.StoreFlagsDel, imap.FlagSeen)
	b.flag("a2", imap.StoreFlagsAdd, imap.FlagSeen, "$Work")
	a.remove("a3")
	b.remove("b2")
	a.put("a6", imap.FlagAnswered)
	b.put("b3", imap.FlagSeen)
	rep = cycle(t, s)
	f := rep.Folders[0]
	if f.ToB.Added != 1 || f.ToA.Added != 1 || f.ToB.Deleted != 1 || f.ToA.Deleted != 1 || f.Conflicts != 1 {
		t.Errorf("change cycle: %+v", f)
	}
	want = map[string]string{"a1": "", "a2": `$Work \Flagged \Seen`, "a4": "", "a5": "", "a6": `\Answered`, "b1": `\Flagged`, "b3": `\Seen`}
	same(t, want, a, b)
	// The cycle's own flags, deletions and copies are all either side saw since (settle, read in the
	// round trip of each side's last write): the next cycle reads nothing.
	if rep := cycle(t, s); !rep.Folders[0].Unchanged {
		t.Errorf("the cycle after the change cycle read the folders: %+v", rep.Folders[0])
	}

	// Deleted on one side, changed on the other since: KeepBoth keeps it and puts it back.
	a.remove("a4")
	b.flag("a4", imap.StoreFlagsAdd, imap.FlagFlagged)
	rep = cycle(t, s)
	if f := rep.Folders[0]; f.Conflicts != 1 || f.ToA.Restored != 1 || f.ToB.Deleted != 0 {
		t.Errorf("conflict cycle: %+v", f)
	}
	want["a4"] = `\Flagged`
	same(t, want, a, b)

	// Nothing changed since: the cycle's own changes were all either side saw (settle), so the next cycle
	// reads nothing, and neither does the one after.
	for range 2 {
		if rep := cycle(t, s); !rep.Folders[0].Unchanged {
			t.Errorf("a cycle with nothing changed read the folders: %+v", rep.Folders[0])
		}
	}
	same(t, want, a, b)
}

// testParallel: with Parallel and far servers, the changed pairs of a cycle run at once, over further
// connections dialled for them, and end as they would one at a time; a cycle with nothing changed, or with
// one folder changed, or against near servers, keeps to one connection per side.
func testParallel(t *testing.T, sa, sb *testserver.Server) {
	var as, bs []*folder
	var pairs []FolderPair
	for _, n := range []string{"P1", "P2", "P3", "P4"} {
		a, b := openFolder(t, sa, "alice", named(t, n)), openFolder(t, sb, "bob", named(t, n))
		a.create()
		b.create()
		a.put(n + "-a1")
		a.put(n + "-a2")
		b.put(n + "-b1")
		as, bs = append(as, a), append(bs, b)
		pairs = append(pairs, FolderPair{A: a.name, B: b.name})
	}
	pa, pb := testproxy.New(t, sa.Addr()), testproxy.New(t, sb.Addr())
	// Far: a NOOP's round trip of 20 ms or more, which a loopback server never takes, however busy the
	// machine; the proxies add 12 ms each way below.
	s := &Sync{A: as[0].server(), B: bs[0].server(), Folders: pairs, Parallel: 3, FarRoundTrip: 20 * time.Millisecond, State: &memStore{},
		Options: Options{Direction: TwoWay, Deletions: DeletePropagate, Conflicts: KeepBoth}}
	s.A.Endpoint.Port, s.B.Endpoint.Port = pa.Port(), pb.Port()
	// conns runs a cycle and returns how many connections it made to each side.
	conns := func() (int, int) {
		t.Helper()
		na, nb := len(pa.Accepted()), len(pb.Accepted())
		cycle(t, s)
		return len(pa.Accepted()) - na, len(pb.Accepted()) - nb
	}
	// Near servers (loopback): one pair at a time, one connection per side.
	if na, nb := conns(); na != 1 || nb != 1 {
		t.Errorf("first cycle, four pairs, near servers: %d connections to side A, %d to side B, want 1 each", na, nb)
	}
	// Far ones from now on, on side B only: 12 ms each way.
	pb.SetLatency(12*time.Millisecond, 12*time.Millisecond)
	want := make([]map[string]string, len(as))
	for i, n := range []string{"P1", "P2", "P3", "P4"} {
		want[i] = map[string]string{n + "-a1": "", n + "-a2": "", n + "-b1": ""}
		same(t, want[i], as[i], bs[i])
	}
	for round := range 2 {
		if na, nb := conns(); na != 1 || nb != 1 {
			t.Errorf("cycle %d with nothing changed: %d connections to side A, %d to side B, want 1 each", round, na, nb)
		}
	}
	as[1].flag("P2-a1", imap.StoreFlagsAdd, imap.FlagFlagged)
	if na, nb := conns(); na != 1 || nb != 1 {
		t.Errorf("one folder changed: %d connections to side A, %d to side B, want 1 each", na, nb)
	}
	want[1]["P2-a1"] = `\Flagged`
	same(t, want[1], as[1], bs[1])
	// Changes on both sides of every pair.
	for i, n := range []string{"P1", "P2", "P3", "P4"} {
		as[i].put(n + "-a3")
		bs[i].remove(n + "-b1")
		bs[i].flag(n+"-a2", imap.StoreFlagsAdd, imap.FlagSeen)
		want[i][n+"-a3"] = ""
		want[i][n+"-a2"] = `\Seen`
		delete(want[i], n+"-b1")
	}
	if na, nb := conns(); na != 3 || nb != 3 {
		t.Errorf("four folders changed: %d connections to side A, %d to side B, want 3 each", na, nb)
	}
	for i := range as {
		same(t, want[i], as[i], bs[i])
	}
	if na, nb := conns(); na != 1 || nb != 1 {
		t.Errorf("after the changes, nothing changed: %d connections to side A, %d to side B, want 1 each", na, nb)
	}
}

// testBulkFirst: a first cycle over more source messages than BulkAbove declines, changing nothing; once
// something else copied them (the migration engine, here plain APPENDs with the flags), the first cycle
// links them by identity and copies only what is missing. Later cycles are not limited.
func testBulkFirst(t *testing.T, sa, sb *testserver.Server) {
	a, b := openFolder(t, sa, "alice", named(t, "Bulk")), openFolder(t, sb, "bob", named(t, "Bulk"))
	a.create()
	for _, id := range []string{"m1", "m2", "m3", "m4"} {
		a.put(id)
	}
	a.flag("m2", imap.StoreFlagsAdd, imap.FlagSeen)
	s := newSync(a, b, Options{Direction: TwoWay, Deletions: DeletePropagate, Conflicts: KeepBoth})
	s.BulkAbove = 3
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := s.Cycle(ctx)
	var large *LargeFirstSyncError
	if !errors.As(err, &large) || large.Messages != 4 || large.Folders != 1 {
		t.Fatalf("first cycle over 4 messages with BulkAbove 3: %v, want a LargeFirstSyncError for 4 in 1 folder", err)
	}
	if exists(t, sb, b.name) || s.State.(*memStore).s != nil {
		t.Fatal("the declined cycle created the target folder or saved a state")
	}
	s.BulkAbove = 4 // not above: the cycle runs
	if _, err := s.Cycle(ctx); err != nil {
		t.Fatalf("BulkAbove 4 over 4 messages: %v", err)
	}
	s.State = &memStore{} // start over, as after a bulk copy
	b.put("b1")
	a.put("m5")
	s.BulkAbove = 1
	if _, err := s.Cycle(ctx); !errors.As(err, &large) {
		t.Fatalf("no state and 5 messages over BulkAbove 1: %v", err)
	}
	// What the bulk path leaves: the target holds the source's messages (m1–m4 from the cycle above).
	s.BulkAbove = 0
	rep := cycle(t, s)
	if f := rep.Folders[0]; f.ToB.Added != 1 || f.ToA.Added != 1 || f.ToB.Flags != 0 {
		t.Errorf("first cycle after the bulk copy: %+v, want m5 and b1 copied, the rest linked", f)
	}
	same(t, map[string]string{"m1": "", "m2": `\Seen`, "m3": "", "m4": "", "m5": "", "b1": ""}, a, b)
	s.BulkAbove = 1 // a state now: later cycles are never declined
	a.put("m6")
	a.put("m7")
	if rep := cycle(t, s); rep.Folders[0].ToB.Added != 2 {
		t.Errorf("a later cycle with BulkAbove set: %+v", rep.Folders[0])
	}
}

func testOneWay(t *testing.T, sa, sb *testserver.Server) {
	a, b := openFolder(t, sa, "alice", named(t, "OneWay")), openFolder(t, sb, "bob", named(t, "OneWay"))
	a.create()
	a.put("s1", imap.FlagSeen)
	a.put("s2")
	a.put("s3")
	s := newSync(a, b, Options{Direction: OneWay, Deletions: DeletePropagate})
	cycle(t, s)
	// The target's user edits: flags changed, a message deleted, one of their own added. The source
	// deletes one.
	b.flag("s1", imap.StoreFlagsDel, imap.FlagSeen)
	b.flag("s2", imap.StoreFlagsAdd, imap.FlagFlagged)
	b.remove("s3")
	b.put("mine")
	a.remove("s2")
	a.put("s4")
	rep := cycle(t, s)
	if f := rep.Folders[0]; f.ToA != (Counts{}) {
		t.Errorf("a one-way cycle changed the source: %+v", f)
	}
	same(t, map[string]string{"s1": `\Seen`, "s3": "", "s4": "", "mine": ""}, b)
	same(t, map[string]string{"s1": `\Seen`, "s3": "", "s4": ""}, a)
}

func testIgnoreAndTrash(t *testing.T, sa, sb *testserver.Server) {
	a, b := openFolder(t, sa, "alice", named(t, "Kept")), openFolder(t, sb, "bob", named(t, "Kept"))
	a.create()
	a.put("k1")
	a.put("k2")
	s := newSync(a, b, Options{Direction: TwoWay, Deletions: DeleteIgnore})
	cycle(t, s)
	a.remove("k1")
	cycle(t, s)
	cycle(t, s)
	same(t, map[string]string{"k2": ""}, a) // never copied back
	same(t, map[string]string{"k1": "", "k2": ""}, b)

	// MoveToTrash: the target's copy goes to its trash folder.
	trash := openFolder(t, sb, "bob", "Trash")
	if err := trash.c.Create("Trash", &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{imap.MailboxAttrTrash}}).Wait(); err != nil && !strings.Contains(err.Error(), "exist") {
		t.Fatalf("CREATE Trash: %v", err)
	}
	s.Options = Options{Direction: OneWay, Deletions: DeleteMoveToTrash}
	a.remove("k2")
	cycle(t, s)
	same(t, map[string]string{"k1": ""}, b)
	if got := trash.view(); len(got["k2"]) != 1 {
		t.Errorf("the target's trash holds %v, want k2 once", got)
	}
}

func testUIDValidityReset(t *testing.T, sa, sb *testserver.Server) {
	a, b := openFolder(t, sa, "carol", named(t, "Rebuilt")), openFolder(t, sb, "carol", named(t, "Rebuilt"))
	a.create()
	for _, id := range []string{"r1", "r2", "r3"} {
		a.put(id)
	}
	s := newSync(a, b, Options{Direction: TwoWay, Deletions: DeletePropagate})
	cycle(t, s)
	// Each side's folder in turn is rebuilt (renamed away, created again, its messages restored): another
	// UIDVALIDITY. Its messages are matched again: nothing copied, nothing deleted.
	for i, f := range []*folder{b, a} {
		before := f.fetch()
		if err := f.c.Unselect().Wait(); err != nil {
			t.Fatal(err)
		}
		if err := f.c.Rename(f.name, fmt.Sprintf("%s-old%d", f.name, i), nil).Wait(); err != nil {
			t.Fatal(err)
		}
		f.create()
		for _, m := range before {
			f.put(m.id)
		}
		rep := cycle(t, s)
		r := rep.Folders[0]
		if side := []string{"B", "A"}[i]; !slices.Equal(r.Rematched, []string{side}) || r.ToA != (Counts{}) || r.ToB != (Counts{}) {
			t.Errorf("after side %s was rebuilt: %+v", side, r)
		}
		same(t, map[string]string{"r1": "", "r2": "", "r3": ""}, a, b)
	}
}

// testPerFolder: one sync, two pairs with rules of their own: the busy folder two-way, the archive one-way
// (what the target's user adds there stays there, and what they delete is put back).
func testPerFolder(t *testing.T, sa, sb *testserver.Server) {
	busyA, busyB := openFolder(t, sa, "bob", named(t, "Busy")), openFolder(t, sb, "alice", named(t, "Busy"))
	archA, archB := openFolder(t, sa, "bob", named(t, "Archive")), openFolder(t, sb, "alice", named(t, "Archive"))
	busyA.create()
	archA.create()
	busyA.put("u1")
	archA.put("v1")
	archA.put("v2")
	oneWay := Options{Direction: OneWay, Deletions: DeletePropagate}
	s := &Sync{A: busyA.server(), B: busyB.server(), Options: Options{Direction: TwoWay, Deletions: DeletePropagate}, State: &memStore{},
		Folders: []FolderPair{{A: busyA.name, B: busyB.name}, {A: archA.name, B: archB.name, Options: &oneWay}}}
	cycle(t, s)
	busyB.put("u2")
	archB.put("v3")
	archB.remove("v1")
	cycle(t, s)
	same(t, map[string]string{"u1": "", "u2": ""}, busyA, busyB)
	same(t, map[string]string{"v1": "", "v2": ""}, archA)
	same(t, map[string]string{"v1": "", "v2": "", "v3": ""}, archB)
}

// testInterrupted stops cycles at many points (the context cancelled after a few milliseconds, more each
// time), then lets one finish: nothing is copied twice, nothing lost.
func testInterrupted(t *testing.T, sa, sb *testserver.Server) {
	a, b := openFolder(t, sa, "alice", named(t, "Interrupted")), openFolder(t, sb, "bob", named(t, "Interrupted"))
	a.create()
	b.create()
	want := map[string]string{}
	for i := range 40 {
		id := fmt.Sprintf("i%02d", i)
		a.put(id)
		want[id] = ""
		id = fmt.Sprintf("j%02d", i)
		b.put(id, imap.FlagSeen)
		want[id] = `\Seen`
	}
	s := newSync(a, b, Options{Direction: TwoWay, Deletions: DeletePropagate})
	s.State = &syncstate.File{Path: filepath.Join(t.TempDir(), "state")}
	for d := 2 * time.Millisecond; d < 400*time.Millisecond; d = d * 3 / 2 {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		s.Cycle(ctx)
		cancel()
	}
	// A copy a killed cycle had sent may be stored by the server after the cycle that ran next had
	// read the folder, and copied the message again: the cycle after removes it.
	cycle(t, s)
	time.Sleep(time.Second)
	cycle(t, s)
	same(t, want, a, b)
}

// TestFolderFollow: two-way, without folder pairs, a folder renamed on one side is renamed on the other
// (its messages not copied again), and a folder deleted on one side is deleted on the other (Propagate) or
// kept there and never created again (Ignore). Dovecot and Cyrus each as either side.
func TestFolderFollow(t *testing.T) {
	for _, sd := range sides(t) {
		t.Run(sd.name, func(t *testing.T) {
			// Both runs share the accounts: each names its folders apart, and each run's first cycle
			// pairs the other's leftovers too, which changes nothing asserted here.
			n := func(name string) string { return named(t, name) }
			a, b := openFolder(t, sd.a, "carol", n("Proj")), openFolder(t, sd.b, "carol", n("Proj"))
			a.create()
			a.put("f1")
			a.put("f2")
			s := &Sync{A: a.server(), B: b.server(), Kinds: []string{KindMail}, Options: Options{Direction: TwoWay, Deletions: DeletePropagate}, State: &memStore{}}
			cycle(t, s)
			same(t, map[string]string{"f1": "", "f2": ""}, b)

			rename := func(f *folder, to string) *folder {
				t.Helper()
				_ = f.c.Unselect().Wait() // none may be selected: nothing to leave then
				if err := f.c.Rename(f.name, to, nil).Wait(); err != nil {
					t.Fatalf("RENAME: %v", err)
				}
				return openFolder(t, f.srv, f.user, to)
			}
			// Renamed on the source, then on the target: followed on the other side, nothing copied.
			a = rename(a, n("Projects"))
			rep := cycle(t, s)
			b = openFolder(t, sd.b, "carol", n("Projects"))
			same(t, map[string]string{"f1": "", "f2": ""}, a, b)
			if exists(t, sd.b, n("Proj")) {
				t.Error("the target kept the old name")
			}
			b = rename(b, n("Archive"))
			cycle(t, s)
			a = openFolder(t, sd.a, "carol", n("Archive"))
			same(t, map[string]string{"f1": "", "f2": ""}, a, b)
			for _, f := range rep.Folders {
				if f.ToA.Added+f.ToB.Added != 0 {
					t.Errorf("the rename copied messages: %+v", f)
				}
			}

			// Deleted on the source, Propagate: deleted on the target, and not created again.
			if err := a.c.Unselect().Wait(); err != nil {
				t.Fatal(err)
			}
			if err := a.c.Delete(n("Archive")).Wait(); err != nil {
				t.Fatal(err)
			}
			cycle(t, s)
			cycle(t, s)
			if exists(t, sd.b, n("Archive")) || exists(t, sd.a, n("Archive")) {
				t.Error("a folder deleted on the source is still on the target, or was created again")
			}

			// Deleted on the target, Ignore: the source keeps its folder, and it is never synced again.
			k := openFolder(t, sd.a, "carol", n("Kept"))
			k.create()
			k.put("k1")
			s.Options.Deletions = DeleteIgnore
			cycle(t, s)
			kb := openFolder(t, sd.b, "carol", n("Kept"))
			same(t, map[string]string{"k1": ""}, kb)
			if err := kb.c.Unselect().Wait(); err != nil {
				t.Fatal(err)
			}
			if err := kb.c.Delete(n("Kept")).Wait(); err != nil {
				t.Fatal(err)
			}
			cycle(t, s)
			k.put("k2")
			cycle(t, s)
			if exists(t, sd.b, n("Kept")) {
				t.Error("a folder the target deleted was created there again")
			}
			same(t, map[string]string{"k1": "", "k2": ""}, k)
		})
	}
}

// exists says whether user carol's folder name exists on srv.
func exists(t *testing.T, srv *testserver.Server, name string) bool {
	t.Helper()
	f := openFolder(t, srv, "carol", name)
	list, err := f.c.List("", name, nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	return len(list) > 0
}
