package imapsession

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailshift/mailshift/internal/acl"
	"github.com/mailshift/mailshift/internal/imapconn"
)

// TestSyncCommands runs what mailbox synchronisation needs against real Dovecot and Cyrus: another
// client (a plain go-imap one, independent of this package) changes flags, expunges and moves, and the
// Session must report exactly those changes through QRESYNC, CHANGEDSINCE and VANISHED.
func TestSyncCommands(t *testing.T) {
	for _, sc := range serverCases {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			srv := sc.start(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			mb := sc.personal + "SyncBox"
			dest := sc.personal + "SyncDest"
			other := rawLogin(t, srv, "alice", nil)
			for _, name := range []string{mb, dest} {
				if err := other.Create(name, nil).Wait(); err != nil {
					t.Fatalf("CREATE %s: %v", name, err)
				}
			}
			appendMessages(t, other, mb, 5)
			if _, err := other.Select(mb, nil).Wait(); err != nil {
				t.Fatal(err)
			}
			search, err := other.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
			if err != nil {
				t.Fatal(err)
			}
			uids := search.AllUIDs()
			if len(uids) != 5 {
				t.Fatalf("UIDs %v", uids)
			}
			u := func(i int) uint32 { return uint32(uids[i]) }
			all := joinUIDs(uids)

			watcher := dialUser(t, srv, "alice")
			for _, c := range []string{"CONDSTORE", "QRESYNC", "UIDPLUS", "MOVE", "IDLE", "METADATA", "ACL"} {
				if !watcher.Has(c) {
					t.Fatalf("the server lacks %s: %v", c, watcher.Capabilities())
				}
			}
			if err := watcher.EnableQResync(ctx); err != nil {
				t.Fatalf("ENABLE QRESYNC: %v", err)
			}
			before, _, err := watcher.Select(ctx, mb, nil, false)
			if err != nil {
				t.Fatalf("SELECT: %v", err)
			}
			if before.Messages != 5 || before.UIDValidity == 0 || before.HighestModSeq == 0 {
				t.Fatalf("state %+v", before)
			}
			t.Logf("%s: %+v", sc.name, before)

			t.Run("ChangedSinceAndVanished", func(t *testing.T) {
				// The other client flags u1, marks u2 and u3 \Deleted; this package's UID EXPUNGE (on a
				// session of its own) removes only u2.
				store(t, other, u(1), imap.StoreFlagsAdd, imap.FlagFlagged)
				store(t, other, u(2), imap.StoreFlagsAdd, imap.FlagDeleted)
				store(t, other, u(3), imap.StoreFlagsAdd, imap.FlagDeleted)
				expunger := dialUser(t, srv, "alice")
				if err := expunger.EnableQResync(ctx); err != nil {
					t.Fatal(err)
				}
				if _, _, err := expunger.Select(ctx, mb, nil, false); err != nil {
					t.Fatal(err)
				}
				gone, err := expunger.UIDExpunge(ctx, strconv.Itoa(int(u(2))))
				if err != nil {
					t.Fatalf("UID EXPUNGE: %v", err)
				}
				// With QRESYNC on, the server reports the expunge as VANISHED: exactly u2.
				if gone.String() != strconv.Itoa(int(u(2))) {
					t.Errorf("UID EXPUNGE reported %q gone, want %d", gone.String(), u(2))
				}
				ch, err := watcher.ChangedSince(ctx, before.HighestModSeq, "1:*")
				if err != nil {
					t.Fatalf("CHANGEDSINCE: %v", err)
				}
				if got := changedUIDs(ch); !slices.Equal(got, []uint32{u(1), u(3)}) {
					t.Errorf("changed %v (%+v), want %d and %d", got, ch.Changed, u(1), u(3))
				}
				if got := vanishedUIDs(ch); !slices.Equal(got, []uint32{u(2)}) {
					t.Errorf("vanished %v, want only %d (u3 is \\Deleted but was not expunged)", got, u(2))
				}
				modseq := map[uint32]uint64{}
				for _, m := range ch.Changed {
					want := map[uint32][]string{u(1): {`\Flagged`}, u(3): {`\Deleted`}}[m.UID]
					if got := slices.Sorted(slices.Values(m.Flags)); !slices.Equal(got, want) {
						t.Errorf("flags of %d: %v, want %v", m.UID, m.Flags, want)
					}
					if m.ModSeq <= before.HighestModSeq {
						t.Errorf("MODSEQ %d of %d not above %d", m.ModSeq, m.UID, before.HighestModSeq)
					}
					modseq[m.UID] = m.ModSeq
				}
				// The STOREs ran in order, so u3's mod-sequence is above u1's; CHANGEDSINCE is strict: since
				// u1's change only u3 changed (and u2 vanished, expunged after both).
				if modseq[u(3)] <= modseq[u(1)] {
					t.Errorf("MODSEQ of %d (%d) not above that of %d (%d)", u(3), modseq[u(3)], u(1), modseq[u(1)])
				}
				since, err := watcher.ChangedSince(ctx, modseq[u(1)], "1:*")
				if err != nil {
					t.Fatalf("CHANGEDSINCE %d: %v", modseq[u(1)], err)
				}
				if got := changedUIDs(since); !slices.Equal(got, []uint32{u(3)}) || since.Changed[0].ModSeq != modseq[u(3)] {
					t.Errorf("changed since %d: %+v, want only %d at %d", modseq[u(1)], since.Changed, u(3), modseq[u(3)])
				}
				if got := vanishedUIDs(since); !slices.Equal(got, []uint32{u(2)}) {
					t.Errorf("vanished since %d: %v, want %d", modseq[u(1)], got, u(2))
				}
				// A UID set limits the report: u1 alone.
				only, err := watcher.ChangedSince(ctx, before.HighestModSeq, strconv.Itoa(int(u(1))))
				if err != nil || !slices.Equal(changedUIDs(only), []uint32{u(1)}) {
					t.Errorf("changed among %d: %+v, %v", u(1), only.Changed, err)
				}

				// A new session resynchronises in one round trip: SELECT ... (QRESYNC ...).
				fresh := dialUser(t, srv, "alice")
				st, ch, err := fresh.Select(ctx, mb, &KnownState{UIDValidity: before.UIDValidity, ModSeq: before.HighestModSeq, KnownUIDs: all}, true)
				if err != nil {
					t.Fatalf("SELECT (QRESYNC): %v", err)
				}
				if ch.UIDValidityChanged || st.Messages != 4 || st.UIDValidity != before.UIDValidity || st.UIDNext != u(4)+1 ||
					st.HighestModSeq < modseq[u(3)] || !st.ReadOnly {
					t.Errorf("QRESYNC state %+v changes %+v", st, ch)
				}
				for _, m := range ch.Changed {
					if m.ModSeq != modseq[m.UID] {
						t.Errorf("QRESYNC MODSEQ of %d: %d, CHANGEDSINCE said %d", m.UID, m.ModSeq, modseq[m.UID])
					}
				}
				if got := changedUIDs(ch); !slices.Equal(got, []uint32{u(1), u(3)}) {
					t.Errorf("QRESYNC changed %v, want %d and %d", got, u(1), u(3))
				}
				if got := vanishedUIDs(ch); !slices.Equal(got, []uint32{u(2)}) {
					t.Errorf("QRESYNC vanished %v, want %d", got, u(2))
				}
				// A wrong UIDVALIDITY: the server ignores the rest, and so must the caller.
				_, ch, err = fresh.Select(ctx, mb, &KnownState{UIDValidity: before.UIDValidity + 1, ModSeq: before.HighestModSeq}, true)
				if err != nil || !ch.UIDValidityChanged || len(ch.Changed) > 0 || len(ch.Vanished) > 0 {
					t.Errorf("stale UIDVALIDITY: %+v, %v", ch, err)
				}
				// Nothing changed since the state just read.
				ch, err = watcher.ChangedSince(ctx, st.HighestModSeq, "1:*")
				if err != nil || len(ch.Changed) > 0 || len(ch.Vanished) > 0 {
					t.Errorf("changes since the latest state: %+v, %v", ch, err)
				}
			})

			t.Run("UIDMove", func(t *testing.T) {
				mover := dialUser(t, srv, "alice")
				if _, _, err := mover.Select(ctx, mb, nil, false); err != nil {
					t.Fatal(err)
				}
				st, _, err := watcher.Select(ctx, mb, nil, false)
				if err != nil {
					t.Fatal(err)
				}
				res, err := mover.UIDMove(ctx, strconv.Itoa(int(u(4))), dest)
				if err != nil {
					t.Fatalf("UID MOVE: %v", err)
				}
				status, err := other.Status(dest, &imap.StatusOptions{NumMessages: true, UIDValidity: true, UIDNext: true}).Wait()
				if err != nil || *status.NumMessages != 1 {
					t.Fatalf("destination after MOVE: %+v %v", status, err)
				}
				// COPYUID names the message's new UID: the only one in the new, empty destination.
				if res.DestUIDValidity != status.UIDValidity || res.Source.String() != strconv.Itoa(int(u(4))) ||
					res.Dest.String() != strconv.Itoa(int(status.UIDNext)-1) {
					t.Errorf("COPYUID %+v, destination UIDVALIDITY %d UIDNEXT %d", res, status.UIDValidity, status.UIDNext)
				}
				ch, err := watcher.ChangedSince(ctx, st.HighestModSeq, "1:*")
				if err != nil {
					t.Fatal(err)
				}
				if got := vanishedUIDs(ch); !slices.Equal(got, []uint32{u(4)}) || len(ch.Changed) > 0 {
					t.Errorf("after MOVE: vanished %v changed %+v, want only %d vanished", got, ch.Changed, u(4))
				}
			})

			t.Run("Idle", func(t *testing.T) {
				// Selected afresh: what the server still owes the watcher from the subtests before (the
				// expunge of the moved message, which Dovecot may report only at its next chance, IDLE)
				// is not news of the quiet mailbox.
				if _, _, err := watcher.Select(ctx, mb, nil, false); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				changed, err := watcher.Idle(ctx, time.Second)
				if err != nil || changed {
					t.Fatalf("IDLE on a quiet mailbox: %v, %v", changed, err)
				}
				if d := time.Since(start); d < 900*time.Millisecond || d > 5*time.Second {
					t.Errorf("quiet IDLE took %v, want about 1s", d)
				}
				go func() {
					time.Sleep(300 * time.Millisecond)
					appendMessages(t, rawLogin(t, srv, "alice", nil), mb, 1)
				}()
				start = time.Now()
				changed, err = watcher.Idle(ctx, 20*time.Second)
				if err != nil || !changed {
					t.Fatalf("IDLE with an APPEND from elsewhere: %v, %v", changed, err)
				}
				if d := time.Since(start); d > 15*time.Second {
					t.Errorf("IDLE noticed the APPEND only after %v", d)
				}
				// The session is usable afterwards, and a cancelled context ends the wait, not the session.
				cctx, ccancel := context.WithCancel(ctx)
				ccancel()
				if _, err := watcher.Idle(cctx, 10*time.Second); imapconn.KindOf(err) != imapconn.Timeout {
					t.Errorf("IDLE with a cancelled context: %v", err)
				}
				if _, err := watcher.ChangedSince(ctx, 1, "1:*"); err != nil {
					t.Errorf("after IDLE: %v", err)
				}
			})

			t.Run("Metadata", func(t *testing.T) {
				kv := map[string]string{"/private/comment": "mine\r\nsecond line", "/shared/comment": "everyone's"}
				if err := watcher.SetMetadata(ctx, mb, kv); err != nil {
					t.Fatalf("SETMETADATA: %v", err)
				}
				reader := dialUser(t, srv, "alice")
				got, err := reader.GetMetadata(ctx, mb, "/private/comment", "/shared/comment", "/private/unset")
				if err != nil || got["/private/comment"] != kv["/private/comment"] || got["/shared/comment"] != kv["/shared/comment"] || len(got) != 2 {
					t.Fatalf("GETMETADATA: %q, %v", got, err)
				}
				if err := watcher.SetMetadata(ctx, mb, map[string]string{"/private/comment": ""}); err != nil {
					t.Fatal(err)
				}
				got, err = reader.GetMetadata(ctx, mb, "/private/comment", "/shared/comment")
				if err != nil || len(got) != 1 || got["/shared/comment"] != kv["/shared/comment"] {
					t.Errorf("after removing the private entry: %q, %v", got, err)
				}
			})

			t.Run("ListRightsAndACL", func(t *testing.T) {
				bob := srv.Users["bob"].Login
				required, optional, err := watcher.ListRights(ctx, mb, bob)
				if err != nil {
					t.Fatalf("LISTRIGHTS: %v", err)
				}
				t.Logf("%s LISTRIGHTS: required %q optional %q", sc.name, required.String(), setsString(optional))
				// Both servers grant nothing unasked and every RFC 4314 right on its own (Cyrus also offers n and
				// its custom rights 0-9; Dovecot's c and d arrive as the virtual rights, normalised to kx and et).
				if !required.IsEmpty() {
					t.Errorf("required rights %q", required.String())
				}
				for _, r := range []byte("lrswipkxtea") {
					if !slices.ContainsFunc(optional, func(s acl.Set) bool { return s.Has(r) }) {
						t.Errorf("right %c is not grantable: %q", r, setsString(optional))
					}
				}
				mine, err := watcher.MyRights(ctx, mb)
				if err != nil || !mine.Has('a') {
					t.Errorf("MYRIGHTS on her own folder: %q, %v", mine.String(), err)
				}
			})

			t.Run("Subscriptions", func(t *testing.T) {
				if err := watcher.Subscribe(ctx, dest); err != nil {
					t.Fatal(err)
				}
				lsub, err := watcher.LSub(ctx, dest)
				if err != nil || len(lsub) != 1 || lsub[0].Name != dest || lsub[0].Delim != sc.delim {
					t.Errorf("LSUB: %+v, %v", lsub, err)
				}
				listed, err := watcher.SubscribedFolders(ctx, dest)
				if err != nil || len(listed) != 1 || listed[0].Name != dest {
					t.Errorf("LIST (SUBSCRIBED): %+v, %v", listed, err)
				}
				if err := watcher.Unsubscribe(ctx, dest); err != nil {
					t.Fatal(err)
				}
				lsub, err = watcher.LSub(ctx, dest)
				if err != nil || len(lsub) != 0 {
					t.Errorf("LSUB after UNSUBSCRIBE: %+v, %v", lsub, err)
				}
				listed, err = watcher.SubscribedFolders(ctx, dest)
				if err != nil || len(listed) != 0 {
					t.Errorf("LIST (SUBSCRIBED) after UNSUBSCRIBE: %+v, %v", listed, err)
				}
			})
		})
	}
}

func store(t *testing.T, c *imapclient.Client, uid uint32, op imap.StoreFlagsOp, flag imap.Flag) {
	t.Helper()
	if err := c.Store(imap.UIDSetNum(imap.UID(uid)), &imap.StoreFlags{Op: op, Silent: true, Flags: []imap.Flag{flag}}, nil).Close(); err != nil {
		t.Fatalf("STORE %d: %v", uid, err)
	}
}

func joinUIDs(uids []imap.UID) string {
	var parts []string
	for _, u := range uids {
		parts = append(parts, strconv.Itoa(int(u)))
	}
	return strings.Join(parts, ",")
}

func changedUIDs(ch Changes) []uint32 {
	var out []uint32
	for _, m := range ch.Changed {
		if !slices.Contains(out, m.UID) {
			out = append(out, m.UID)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func vanishedUIDs(ch Changes) []uint32 {
	list, _ := ch.Vanished.UIDs(1000)
	var out []uint32
	for _, u := range list {
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func setsString(sets []acl.Set) string {
	var parts []string
	for _, s := range sets {
		parts = append(parts, s.String())
	}
	return strings.Join(parts, " ")
}
