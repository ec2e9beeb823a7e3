package worker

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/msgid"
	"github.com/mailshift/mailshift/internal/testserver"
)

// corpusFolders are the source folders of the generated mailbox: nested, with non-ASCII names.
var corpusFolders = []string{"INBOX", "Projekte", "Projekte/Ärger & Co", "Archiv/2023/Q1", "Gesendete Elemente", "Réunions/Été 2024", "日本語"}

// corpusMessage is message i of the generated mailbox: deterministic, 1 KB to 200 KB (log-uniform), some
// with a base64 attachment, with flags and a keyword on some.
func corpusMessage(i int, tag string) (folder string, flags []string, date time.Time, body []byte) {
	rnd := rand.New(rand.NewSource(int64(i) + 7))
	folder = corpusFolders[rnd.Intn(len(corpusFolders))]
	size := int(1024 * math.Exp(rnd.Float64()*math.Log(200)))
	date = time.Date(2023, 1, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 17 * time.Minute)
	if rnd.Intn(10) < 8 {
		flags = append(flags, `\Seen`)
	}
	if rnd.Intn(10) == 0 {
		flags = append(flags, `\Flagged`)
	}
	if rnd.Intn(7) == 0 {
		flags = append(flags, `\Answered`)
	}
	if rnd.Intn(9) == 0 {
		flags = append(flags, "$label1")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Sender %d <sender%d@example.org>\r\nTo: alice@example.test\r\nSubject: %s message %d\r\n", i%97, i%97, tag, i)
	fmt.Fprintf(&b, "Date: %s\r\nMessage-ID: <%s-%d@corpus.example.org>\r\nMIME-Version: 1.0\r\n", date.Format(time.RFC1123Z), tag, i)
	line := "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.\r\n"
	if rnd.Intn(3) == 0 {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\nContent-Type: text/plain\r\n\r\n%s--b%d\r\n", i, i, line, i)
		fmt.Fprintf(&b, "Content-Type: application/octet-stream; name=\"data%d.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", i)
		for b.Len() < size {
			b.WriteString("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n")
		}
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	} else {
		b.WriteString("Content-Type: text/plain; charset=us-ascii\r\n\r\n")
		for b.Len() < size {
			b.WriteString(line)
		}
	}
	return folder, flags, date, b.Bytes()
}

// loadCorpus appends messages [from, to) of the corpus to the account, creating its folders.
func loadCorpus(t testing.TB, a account, from, to int, tag string) {
	t.Helper()
	c := a.bulk(t)
	ctx := context.Background()
	ns, err := c.Namespaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pers := ns.PersonalDefault()
	name := func(f string) string {
		if f == "INBOX" {
			return f
		}
		return pers.Prefix + strings.ReplaceAll(f, "/", string(pers.Delim))
	}
	for _, f := range corpusFolders {
		parts := strings.Split(f, "/")
		for i := 1; i <= len(parts); i++ {
			if err := c.Create(ctx, name(strings.Join(parts[:i], "/")), ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	byFolder := map[string][]imapbulk.Message{}
	for i := from; i < to; i++ {
		f, flags, date, body := corpusMessage(i, tag)
		byFolder[f] = append(byFolder[f], imapbulk.Message{Flags: flags, Date: date, Size: int64(len(body)), Body: bytes.NewReader(body)})
		if len(byFolder[f]) == 64 || i == to-1 {
			for f, msgs := range byFolder {
				res, err := c.Append(ctx, name(f), msgs)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range res {
					if r.Err != nil {
						t.Fatal(r.Err)
					}
				}
				delete(byFolder, f)
			}
		}
	}
}

// mailboxState is a mailbox as compared between source and target: each message's Message-ID with its
// flags, internal date and size.
func mailboxState(t *testing.T, c *imapbulk.Conn, mailbox string) map[string]string {
	out := map[string]string{}
	for _, m := range contents(t, c, mailbox) {
		flags := sourceFlags(m.Flags)
		for i := range flags {
			flags[i] = strings.ToLower(flags[i])
		}
		sort.Strings(flags)
		id := msgid.Normalize(m.MessageID)
		if _, dup := out[id]; dup {
			t.Errorf("%s: %s twice", mailbox, id)
		}
		out[id] = fmt.Sprintf("%v %s %d", flags, m.InternalDate.UTC().Format(time.RFC3339), m.Size)
	}
	return out
}

// compareAccounts checks that every source folder's messages are in its target folder, identical in
// flags, date and size, and nothing else is.
func compareAccounts(t *testing.T, src, dst account, rep *Report) int {
	t.Helper()
	sc, dc := src.bulk(t), dst.bulk(t)
	ns, err := sc.Namespaces(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pers := ns.PersonalDefault()
	n := 0
	for _, fr := range rep.Folders {
		name := fr.Source
		if name != "INBOX" {
			name = pers.Prefix + strings.ReplaceAll(fr.Source, "/", string(pers.Delim))
		}
		want, got := mailboxState(t, sc, name), mailboxState(t, dc, fr.Target)
		if len(want) != len(got) {
			t.Errorf("%s → %s: %d messages, want %d", fr.Source, fr.Target, len(got), len(want))
		}
		for id, w := range want {
			if g := got[id]; g != w {
				t.Errorf("%s → %s: %s is %q, want %q", fr.Source, fr.Target, id, g, w)
			}
		}
		n += len(want)
	}
	return n
}

// TestIMAPToIMAP copies a generated mailbox of 5,000 messages (1-200 KB, nested non-ASCII folders, flags,
// keywords) from Dovecot to Cyrus and from Cyrus to Dovecot; then 50 new messages and flag changes on the
// source are carried over by a delta pass that copies nothing else.
func TestIMAPToIMAP(t *testing.T) {
	const total, extra = 5000, 50
	for _, dir := range []struct {
		name     string
		src, dst func(testing.TB) *testserver.Server
	}{
		{"dovecot-to-cyrus", testserver.Dovecot, func(t testing.TB) *testserver.Server { return testserver.Cyrus(t, "modern") }},
		{"cyrus-to-dovecot", func(t testing.TB) *testserver.Server { return testserver.Cyrus(t, "legacy") }, testserver.Dovecot},
	} {
		t.Run(dir.name, func(t *testing.T) {
			src, dst := accountOf(dir.src(t), "alice"), accountOf(dir.dst(t), "bob")
			loadCorpus(t, src, 0, total, "c")
			cp := FileCheckpoint{Path: t.TempDir() + "/cp.json"}
			run := func() *Report {
				s, err := OpenIMAP(context.Background(), src.ep, imapconn.Credentials{Login: src.cred.Login, Password: src.cred.Password})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				rep, err := Run(context.Background(), Job{Source: s, Target: dst.target(""), Checkpoints: cp})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Totals.Failed > 0 {
					t.Fatalf("%d failed: %+v", rep.Totals.Failed, rep.Failed[:min(5, len(rep.Failed))])
				}
				checkTotals(t, rep)
				return rep
			}
			start := time.Now()
			rep := run()
			t.Logf("full pass: %d messages, %d MiB in %s", rep.Totals.Copied, rep.Totals.Bytes>>20, time.Since(start).Round(time.Millisecond))
			if rep.Totals.Copied != total {
				t.Errorf("copied %d, want %d", rep.Totals.Copied, total)
			}
			if n := compareAccounts(t, src, dst, rep); n != total {
				t.Errorf("compared %d messages, want %d", n, total)
			}
			// Delta: new messages and flag changes on the source.
			loadCorpus(t, src, total, total+extra, "c")
			changed := changeFlags(t, src)
			start = time.Now()
			delta := run()
			t.Logf("delta pass: %d new, %d flag updates in %s", delta.Totals.Copied, delta.Totals.FlagUpdates, time.Since(start).Round(time.Millisecond))
			if delta.Totals.Copied != extra {
				t.Errorf("delta copied %d, want %d", delta.Totals.Copied, extra)
			}
			if delta.Totals.FlagUpdates != int64(changed) {
				t.Errorf("delta updated the flags of %d messages, want %d", delta.Totals.FlagUpdates, changed)
			}
			compareAccounts(t, src, dst, delta)
			if again := run(); again.Totals.Copied != 0 || again.Totals.FlagUpdates != 0 {
				t.Errorf("a pass with nothing new copied %d and updated %d", again.Totals.Copied, again.Totals.FlagUpdates)
			}
		})
	}
}

// changeFlags sets \Flagged on a few messages of every folder and removes \Seen from others; it returns how
// many messages' flags it changed.
func changeFlags(t *testing.T, a account) int {
	c := a.bulk(t)
	ctx := context.Background()
	ns, _ := c.Namespaces(ctx)
	pers := ns.PersonalDefault()
	n := 0
	for _, f := range corpusFolders {
		name := f
		if f != "INBOX" {
			name = pers.Prefix + strings.ReplaceAll(f, "/", string(pers.Delim))
		}
		msgs := contents(t, c, name)
		if _, err := c.Select(ctx, name, false); err != nil {
			t.Fatal(err)
		}
		for i, m := range msgs {
			if i%97 != 3 {
				continue
			}
			flags := sourceFlags(m.Flags)
			if slices.Contains(flags, `\Flagged`) {
				flags = slices.DeleteFunc(flags, func(s string) bool { return s == `\Flagged` })
			} else {
				flags = append(flags, `\Flagged`, "$changed")
			}
			if err := c.Store(ctx, fmt.Sprint(m.UID), "FLAGS", flags); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	return n
}

// TestUIDValidityChange: a folder rebuilt on either side (same messages, new UIDVALIDITY) costs a re-check,
// never a second copy: the messages are matched by identity.
func TestUIDValidityChange(t *testing.T) {
	srv := testserver.Dovecot(t)
	src, dst := accountOf(srv, "alice"), accountOf(srv, "bob")
	ctx := context.Background()
	fill := func(a account, n int) uint32 {
		c := a.bulk(t)
		c.Delete(ctx, "Rebuilt")
		if err := c.Create(ctx, "Rebuilt", ""); err != nil {
			t.Fatal(err)
		}
		var msgs []imapbulk.Message
		for i := 0; i < n; i++ {
			_, flags, date, body := corpusMessage(i, "v")
			msgs = append(msgs, imapbulk.Message{Flags: flags, Date: date, Size: int64(len(body)), Body: bytes.NewReader(body)})
		}
		if _, err := c.Append(ctx, "Rebuilt", msgs); err != nil {
			t.Fatal(err)
		}
		st, err := c.Status(ctx, "Rebuilt")
		if err != nil {
			t.Fatal(err)
		}
		return st.UIDValidity
	}
	cp := FileCheckpoint{Path: t.TempDir() + "/cp.json"}
	run := func() *Report {
		s, err := OpenIMAP(ctx, src.ep, imapconn.Credentials{Login: src.cred.Login, Password: src.cred.Password})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		rep, err := Run(ctx, Job{Source: s, Target: dst.target(""), Rules: foldermap.Rules{Include: []string{"Rebuilt"}}, Checkpoints: cp})
		if err != nil {
			t.Fatal(err)
		}
		checkTotals(t, rep)
		return rep
	}
	v1 := fill(src, 30)
	if rep := run(); rep.Totals.Copied != 30 {
		t.Fatalf("first run copied %d", rep.Totals.Copied)
	}
	// Sleep past the second: Dovecot derives UIDVALIDITY from the clock.
	time.Sleep(1100 * time.Millisecond)
	if v2 := fill(src, 30); v2 == v1 {
		t.Fatalf("the source folder kept UIDVALIDITY %d", v1)
	}
	if rep := run(); rep.Totals.Copied != 0 || rep.Totals.Duplicates != 30 {
		t.Errorf("after the source was rebuilt: copied %d, present %d", rep.Totals.Copied, rep.Totals.Duplicates)
	}
	time.Sleep(1100 * time.Millisecond)
	fill(dst, 30) // the target folder rebuilt with the same messages
	fill(src, 40) // and the source has ten more
	if rep := run(); rep.Totals.Copied != 10 || rep.Totals.Duplicates != 30 {
		t.Errorf("after both were rebuilt: copied %d, present %d; want the 10 new ones only", rep.Totals.Copied, rep.Totals.Duplicates)
	}
	if got := len(contents(t, dst.bulk(t), "Rebuilt")); got != 40 {
		t.Errorf("target holds %d messages, want 40", got)
	}
}

// TestDeltaKeepsTargetFlags: a delta pass carries over what changed on the source since the last pass and
// nothing else: a flag and a keyword a person set on the target, and a \Seen a person cleared there, stay
// while the source's own changes to other flags arrive. A message the target holds under the same
// Message-ID but with other content keeps the source's message off the target, and the report says so.
func TestDeltaKeepsTargetFlags(t *testing.T) {
	srv := testserver.Dovecot(t)
	src, dst := accountOf(srv, "alice"), accountOf(srv, "bob")
	ctx := context.Background()
	msg := func(id, subject string, flags ...string) imapbulk.Message {
		body := fmt.Sprintf("From: Sender <s@example.org>\r\nTo: bob@example.test\r\nSubject: %s\r\nDate: Mon, 3 Jun 2024 10:00:00 +0000\r\nMessage-ID: <%s@delta.example>\r\n\r\nBody of %s.\r\n", subject, id, id)
		return imapbulk.Message{Flags: flags, Date: time.Date(2024, 6, 3, 10, 0, 0, 0, time.UTC), Size: int64(len(body)), Body: strings.NewReader(body)}
	}
	put := func(c *imapbulk.Conn, msgs ...imapbulk.Message) {
		t.Helper()
		res, err := c.Append(ctx, "Delta", msgs)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
	sc, dc := src.bulk(t), dst.bulk(t)
	if err := sc.Create(ctx, "Delta", ""); err != nil {
		t.Fatal(err)
	}
	put(sc, msg("a", "A", `\Seen`), msg("b", "B", `\Seen`), msg("c", "C"), msg("d", "D", `\Seen`))
	cp := FileCheckpoint{Path: filepath.Join(t.TempDir(), "cp.json")}
	run := func() *Report {
		s, err := OpenIMAP(ctx, src.ep, imapconn.Credentials{Login: src.cred.Login, Password: src.cred.Password})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		rep, err := Run(ctx, Job{Source: s, Target: dst.target(""), Rules: foldermap.Rules{Include: []string{"Delta"}}, Checkpoints: cp})
		if err != nil {
			t.Fatal(err)
		}
		checkTotals(t, rep)
		return rep
	}
	if rep := run(); rep.Totals.Copied != 4 {
		t.Fatalf("first pass copied %d, want 4", rep.Totals.Copied)
	}
	uidOf := func(c *imapbulk.Conn, id string) uint32 {
		t.Helper()
		for _, m := range contents(t, c, "Delta") {
			if msgid.Normalize(m.MessageID) == id+"@delta.example" {
				return m.UID
			}
		}
		t.Fatalf("%s is not there", id)
		return 0
	}
	store := func(c *imapbulk.Conn, id, op string, flags ...string) {
		t.Helper()
		uid := uidOf(c, id)
		if _, err := c.Select(ctx, "Delta", false); err != nil {
			t.Fatal(err)
		}
		if err := c.Store(ctx, fmt.Sprint(uid), op, flags); err != nil {
			t.Fatal(err)
		}
	}
	// People work on the target: a flag and a keyword on A, \Seen cleared on B, a keyword on C.
	store(dc, "a", "+FLAGS", `\Flagged`, "$Project")
	store(dc, "b", "-FLAGS", `\Seen`)
	store(dc, "c", "+FLAGS", "$Later")
	// Meanwhile the source changes other flags: A answered, B flagged, C read; D unchanged.
	store(sc, "a", "+FLAGS", `\Answered`)
	store(sc, "b", "+FLAGS", `\Flagged`)
	store(sc, "c", "+FLAGS", `\Seen`)
	// A new source message whose Message-ID the target already holds for another message.
	put(dc, msg("e", "Not the same message at all"))
	put(sc, msg("e", "E"))

	rep := run()
	if rep.Totals.FlagUpdates != 3 {
		t.Errorf("delta pass updated the flags of %d messages, want 3", rep.Totals.FlagUpdates)
	}
	want := map[string][]string{
		"a": {`$project`, `\answered`, `\flagged`, `\seen`},
		"b": {`\flagged`},
		"c": {`$later`, `\seen`},
		"d": {`\seen`},
	}
	for _, m := range contents(t, dc, "Delta") {
		id := strings.TrimSuffix(msgid.Normalize(m.MessageID), "@delta.example")
		w, ok := want[id]
		if !ok {
			continue
		}
		var got []string
		for _, f := range sourceFlags(m.Flags) {
			got = append(got, strings.ToLower(f))
		}
		sort.Strings(got)
		if !slices.Equal(got, w) {
			t.Errorf("%s on the target has %q, want %q", id, got, w)
		}
	}
	var reported *FailedItem
	for i, f := range rep.Failed {
		if strings.HasPrefix(f.Identity, "e@delta.example") {
			reported = &rep.Failed[i]
		}
	}
	if reported == nil || !strings.Contains(reported.Reason, "same Message-ID") || rep.Totals.Skipped != 1 || rep.Totals.Duplicates != 4 {
		t.Errorf("the colliding message: report entry %+v, totals %+v; want it reported as skipped with the reason", reported, rep.Totals)
	}
}
