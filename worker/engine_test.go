package worker

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/convert"
	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
	"github.com/mailshift/mailshift/internal/msgid"
	"github.com/mailshift/mailshift/internal/pst"
	"github.com/mailshift/mailshift/internal/testfixtures"
	"github.com/mailshift/mailshift/internal/testserver"
)

// account is one user of a test server, as the engine and the checks log in to it.
type account struct {
	srv  *testserver.Server
	ep   imapconn.Endpoint
	cred imapconn.Credentials
}

func accountOf(srv *testserver.Server, user string) account {
	u := srv.Users[user]
	return account{
		srv:  srv,
		ep:   imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSStartTLS, CAPEM: srv.CAPEM, DialTimeout: 20 * time.Second},
		cred: imapconn.Credentials{Login: u.Login, Password: u.Password, Flavor: srv.Flavor},
	}
}

func (a account) target(prefix string) TargetSpec {
	return TargetSpec{Endpoint: a.ep, Credentials: a.cred, SpecialFolders: []imapsession.SpecialFolder{
		{Type: imapsession.FolderEvent, Name: prefix + "Calendar"}, {Type: imapsession.FolderContact, Name: prefix + "Contacts"},
		{Type: imapsession.FolderTask, Name: prefix + "Tasks"}, {Type: imapsession.FolderNote, Name: prefix + "Notes"},
		{Type: imapsession.FolderJournal, Name: prefix + "Journal"},
	}}
}

func (a account) bulk(t testing.TB) *imapbulk.Conn {
	t.Helper()
	c, err := imapbulk.Dial(context.Background(), a.ep, imapconn.Credentials{Login: a.cred.Login, Password: a.cred.Password, Flavor: a.cred.Flavor})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// contents reads what a target mailbox holds.
func contents(t testing.TB, c *imapbulk.Conn, mailbox string) []imapbulk.Identity {
	t.Helper()
	st, err := c.Select(context.Background(), mailbox, true)
	if err != nil {
		t.Fatalf("select %q: %v", mailbox, err)
	}
	if st.Exists == 0 {
		return nil
	}
	ids, err := c.FetchIdentities(context.Background(), "1:*", 0)
	if err != nil {
		t.Fatalf("fetch %q: %v", mailbox, err)
	}
	return ids
}

// expected is what the PST says each target mailbox must hold: Message-ID → the converted message.
type expected struct {
	msgID string
	data  []byte
	res   *convert.Result
}

// expectFromPST converts every item of the PST, the way the engine does, and files it under the target
// mailbox the report says its folder went to (groupware items found in mail folders go to their special
// folder).
func expectFromPST(t *testing.T, path string, rep *Report, gw map[groupware.Kind]string) map[string][]expected {
	t.Helper()
	f, err := pst.OpenPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.DefaultCodePage = fixtureCodePage(path)
	conv, err := convert.New(f, convert.Options{Addresses: convert.ScanAddresses(f), Owner: groupware.Person{Email: "alice@example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]string{}
	kinds := map[string]groupware.Kind{}
	for _, fr := range rep.Folders {
		if fr.Target != "" && fr.Skipped < fr.Items || fr.Items == 0 && fr.Target != "" {
			targets[fr.Source] = fr.Target
		}
	}
	out := map[string][]expected{}
	seen := map[string]bool{}
	f.Folders(func(fo *pst.Folder) error {
		kinds[fo.Path] = convert.FolderKind(fo.ContainerClass)
		tgt, ok := targets[fo.Path]
		if !ok {
			return nil
		}
		return fo.Messages(func(m *pst.Message) error {
			var buf bytes.Buffer
			res, err := conv.Convert(&buf, m)
			if err != nil {
				t.Errorf("convert %#x: %v", uint32(m.NID), err)
				return nil
			}
			dest := tgt
			if k := routeKind(res.Kind); k != groupware.KindMail && k != routeKind(kinds[fo.Path]) {
				dest = gw[k]
			}
			id := msgid.Normalize(res.MessageID)
			if seen[dest+"\x00"+id] {
				return nil // the same item twice in one folder is one message
			}
			seen[dest+"\x00"+id] = true
			out[dest] = append(out[dest], expected{msgID: id, data: buf.Bytes(), res: res})
			return nil
		})
	})
	return out
}

// checkTarget compares every target mailbox with what the PST says it must hold: the same Message-IDs,
// each once, the same flags and internal dates, and a sample byte for byte.
func checkTarget(t *testing.T, a account, want map[string][]expected, sample int) {
	t.Helper()
	c := a.bulk(t)
	for mailbox, items := range want {
		got := contents(t, c, mailbox)
		byID := map[string][]imapbulk.Identity{}
		for _, g := range got {
			id := msgid.FromHeader(g.Header, g.Size).MessageID
			byID[id] = append(byID[id], g)
		}
		if len(got) != len(items) {
			t.Errorf("%s holds %d messages, want %d", mailbox, len(got), len(items))
		}
		for i, e := range items {
			g := byID[e.msgID]
			if len(g) != 1 {
				t.Errorf("%s: %d copies of %s, want 1", mailbox, len(g), e.msgID)
				continue
			}
			var flags []string
			for _, f := range g[0].Flags {
				if !strings.EqualFold(f, `\Recent`) {
					flags = append(flags, f)
				}
			}
			sort.Strings(flags)
			wantFlags := slices.Clone(e.res.Flags)
			sort.Strings(wantFlags)
			if !slices.Equal(flags, wantFlags) {
				t.Errorf("%s %s: flags %q, want %q", mailbox, e.msgID, flags, wantFlags)
			}
			if !e.res.InternalDate.IsZero() && !g[0].InternalDate.Equal(e.res.InternalDate.Truncate(time.Second)) {
				t.Errorf("%s %s: internal date %v, want %v", mailbox, e.msgID, g[0].InternalDate, e.res.InternalDate)
			}
			if i < sample {
				var body bytes.Buffer
				if _, err := c.FetchMessage(context.Background(), g[0].UID, &body); err != nil {
					t.Errorf("fetch %s: %v", e.msgID, err)
				} else if !bytes.Equal(body.Bytes(), e.data) {
					t.Errorf("%s %s: the message on the server (%d bytes) differs from the converter's output (%d bytes)", mailbox, e.msgID, body.Len(), len(e.data))
				}
			}
		}
	}
}

func migratePST(t *testing.T, a account, path, prefix string, mutate func(*Job)) (*Report, map[groupware.Kind]string) {
	t.Helper()
	src, err := OpenPST(path, fixtureCodePage(path), convert.Options{Owner: groupware.Person{Email: "alice@example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	job := Job{Source: src, Target: a.target(prefix), Rules: foldermap.Rules{Root: strings.TrimSuffix(prefix, " "), RootSpecial: true}}
	if mutate != nil {
		mutate(&job)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, job)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	checkTotals(t, rep)
	gw := map[groupware.Kind]string{}
	// The special folders are found again the way the engine found them.
	s, err := imapsession.Dial(ctx, a.ep, a.cred)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.EnsureSpecialFolders(ctx, job.Target.Placement, job.Target.SpecialFolders, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Folders {
		gw[kindOfFolderType[f.Type]] = f.Mailbox
	}
	return rep, gw
}

// fixtureCodePage is the code page of the one fixture written by a Japanese Outlook 97-2002 that records none
// (see ../shared/testdata/pst/SOURCES.md).
func fixtureCodePage(path string) int {
	if strings.Contains(path, "contacts97-2002") {
		return 932
	}
	return 0
}

// checkTotals: every item is counted once, whatever retries and resumes happened.
func checkTotals(t *testing.T, rep *Report) {
	t.Helper()
	tt := rep.Totals
	if tt.Copied+tt.Duplicates+tt.Failed+tt.Skipped != tt.Items {
		t.Errorf("totals do not add up: %d copied + %d present + %d failed + %d skipped != %d items", tt.Copied, tt.Duplicates, tt.Failed, tt.Skipped, tt.Items)
	}
	var sum int64
	for _, f := range rep.Folders {
		sum += f.Copied
	}
	if sum != tt.Copied {
		t.Errorf("folders copied %d, totals %d", sum, tt.Copied)
	}
}

// TestMigrateFixtures copies every fixture PST into Dovecot and into Cyrus (modern and legacy layouts): the
// server holds each folder's items exactly once with their flags and internal dates, a sample is
// byte-identical to the converter's output, and a second run appends nothing.
func TestMigrateFixtures(t *testing.T) {
	dir := testfixtures.MustPSTDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.pst"))
	for _, server := range []struct {
		name  string
		start func(testing.TB) *testserver.Server
		all   bool
	}{
		{"dovecot", testserver.Dovecot, true},
		{"cyrus-modern", func(t testing.TB) *testserver.Server { return testserver.Cyrus(t, "modern") }, false},
		{"cyrus-legacy", func(t testing.TB) *testserver.Server { return testserver.Cyrus(t, "legacy") }, false},
	} {
		t.Run(server.name, func(t *testing.T) {
			t.Parallel()
			srv := server.start(t)
			a := accountOf(srv, "alice")
			n := 0
			for i, file := range files {
				name := strings.TrimSuffix(filepath.Base(file), ".pst")
				// Every fixture on Dovecot; on Cyrus a spread of them (its tests are slower to set up).
				if !server.all && i%4 != 0 && !strings.Contains(name, "hughbe_Outlook") && !strings.Contains(name, "dist-list") {
					continue
				}
				prefix := fmt.Sprintf("F%02d ", i)
				rep, gw := migratePST(t, a, file, prefix, nil)
				if rep.Totals.Failed > 0 {
					t.Errorf("%s: %d items failed: %+v", name, rep.Totals.Failed, rep.Failed)
				}
				want := expectFromPST(t, file, rep, gw)
				checkTarget(t, a, want, 3)
				again, _ := migratePST(t, a, file, prefix, nil)
				if again.Totals.Copied != 0 || again.Totals.Duplicates != rep.Totals.Items || again.Totals.Items != rep.Totals.Items {
					t.Errorf("%s: re-run copied %d, found %d of %d", name, again.Totals.Copied, again.Totals.Duplicates, rep.Totals.Items)
				}
				n++
			}
			t.Logf("%d fixtures migrated", n)
		})
	}
}

// TestSpecialFolders: without a root, Outlook's default folders land in the target's special-use folders
// (found by their attribute, whatever they are called), the groupware folders in the Mailbox's special
// folders, and the outbox is left out with a reason.
func TestSpecialFolders(t *testing.T) {
	srv := testserver.Dovecot(t)
	a := accountOf(srv, "bob")
	file := filepath.Join(testfixtures.MustPSTDir(t), "hughbe-hughbe_Outlook.pst")
	rep, gw := migratePST(t, a, file, "", func(j *Job) { j.Rules = foldermap.Rules{} })
	got := map[string]string{}
	for _, f := range rep.Folders {
		got[f.Source] = f.Target
	}
	for src, want := range map[string]string{
		"Inbox": "INBOX", "Sent Items": "Sent", "Deleted Items": "Trash", "Drafts": "Drafts", "Junk E-mail": "Junk",
		"Calendar": gw[groupware.KindEvent], "Contacts": gw[groupware.KindContact], "Tasks": gw[groupware.KindTask],
		"Journal": gw[groupware.KindJournal], "Notes": gw[groupware.KindNote], "RSS Feeds": "RSS Feeds",
	} {
		if got[src] != want {
			t.Errorf("%q went to %q, want %q", src, got[src], want)
		}
	}
	for _, f := range rep.Folders {
		if f.Source == "Outbox" && (f.Target != "" && f.Copied > 0 || !strings.Contains(strings.ToLower(f.Note), "outbox")) {
			t.Errorf("Outbox: %+v, want it left out with a reason", f)
		}
	}
	checkTarget(t, a, expectFromPST(t, file, rep, gw), 5)
}

// TestSourceChunks: the chunks a span's bodies are fetched in start small, double up to prefetchMost, never
// pass prefetchBytes unless one message alone does, and hold every item once, in order.
func TestSourceChunks(t *testing.T) {
	mk := func(sizes ...int64) []*Item {
		var items []*Item
		for i, s := range sizes {
			items = append(items, &Item{UID: uint32(i + 1), size: s})
		}
		return items
	}
	lens := func(cs [][]*Item) []int {
		var out []int
		for _, c := range cs {
			out = append(out, len(c))
		}
		return out
	}
	small := make([]int64, 1000)
	for i := range small {
		small[i] = 1500
	}
	if got, want := lens(chunks(mk(small...))), []int{16, 32, 64, 128, 256, 256, 248}; !slices.Equal(got, want) {
		t.Errorf("1,000 small messages: chunks of %v, want %v", got, want)
	}
	// 600 KiB each: the byte bound cuts first; a 3 MiB message goes alone.
	big := []int64{600 << 10, 600 << 10, 600 << 10, 600 << 10, 3 << 20, 600 << 10, 100, 100}
	cs := chunks(mk(big...))
	if got, want := lens(cs), []int{3, 1, 1, 3}; !slices.Equal(got, want) {
		t.Errorf("large messages: chunks of %v, want %v", got, want)
	}
	next := uint32(1)
	for _, c := range cs {
		var bytes int64
		for _, it := range c {
			if it.UID != next {
				t.Fatalf("item %d where %d was due", it.UID, next)
			}
			next++
			bytes += it.size
		}
		if bytes > prefetchBytes && len(c) > 1 {
			t.Errorf("a chunk of %d messages holds %d bytes", len(c), bytes)
		}
	}
	if len(chunks(nil)) != 0 {
		t.Error("no items, yet chunks")
	}
}
