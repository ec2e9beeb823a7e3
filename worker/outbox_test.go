package worker

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/convert"
	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/testfixtures"
	"github.com/mailshift/mailshift/internal/testserver"
)

// outboxFixture holds 27 unsent messages in its Outbox (and none in its Drafts).
const outboxFixture = "pst2john-97_outlook_qwerty12345.pst"

// TestOutboxToDrafts: the Outbox's unsent messages land in the target's \Drafts folder, each flagged \Draft,
// counted in the report; a re-run finds them all and copies none; with the outbox skipped they are reported
// as skipped and none is on the target.
func TestOutboxToDrafts(t *testing.T) {
	srv := testserver.Dovecot(t)
	file := filepath.Join(testfixtures.MustPSTDir(t), outboxFixture)
	a := accountOf(srv, "alice")
	migrate := func(acc account, rules foldermap.Rules) *Report {
		rep, _ := migratePST(t, acc, file, "", func(j *Job) { j.Rules = rules })
		return rep
	}
	outboxOf := func(rep *Report) FolderReport {
		for _, f := range rep.Folders {
			if f.Source == "Outbox" {
				return f
			}
		}
		t.Fatalf("no Outbox in the report: %+v", rep.Folders)
		return FolderReport{}
	}
	rep := migrate(a, foldermap.Rules{MigrateOutbox: true})
	ob := outboxOf(rep)
	if ob.Target != "Drafts" || !ob.Outbox || ob.Items != 27 || ob.Copied+ob.Duplicates != 27 || ob.Skipped != 0 {
		t.Fatalf("Outbox: %+v, want 27 items into Drafts", ob)
	}
	if rep.Totals.OutboxToDrafts != 27 || rep.Totals.OutboxSkipped != 0 {
		t.Errorf("totals: %d to Drafts, %d skipped; want 27, 0", rep.Totals.OutboxToDrafts, rep.Totals.OutboxSkipped)
	}
	c := a.bulk(t)
	drafts := contents(t, c, "Drafts")
	if int64(len(drafts)) != ob.Copied {
		t.Errorf("Drafts holds %d messages, %d copied", len(drafts), ob.Copied)
	}
	for _, m := range drafts {
		if !slices.ContainsFunc(m.Flags, func(f string) bool { return strings.EqualFold(f, `\Draft`) }) {
			t.Errorf("UID %d in Drafts has flags %q, without \\Draft", m.UID, m.Flags)
		}
	}
	// The target's Drafts folder is the one with the \Drafts attribute.
	st, err := c.Select(context.Background(), "Drafts", true)
	if err != nil || st.Exists != uint32(len(drafts)) {
		t.Errorf("select Drafts: %+v, %v", st, err)
	}

	again := migrate(a, foldermap.Rules{MigrateOutbox: true})
	if ob2 := outboxOf(again); ob2.Copied != 0 || ob2.Duplicates != 27 || again.Totals.OutboxToDrafts != 27 {
		t.Errorf("re-run: %+v, %d to Drafts; want nothing copied, 27 found", ob2, again.Totals.OutboxToDrafts)
	}
	if n := len(contents(t, c, "Drafts")); n != len(drafts) {
		t.Errorf("re-run: Drafts holds %d messages, was %d", n, len(drafts))
	}

	// Skipped: another account, nothing of the outbox on it, and the report says so.
	b := accountOf(srv, "bob")
	skipped := migrate(b, foldermap.Rules{})
	ob = outboxOf(skipped)
	if ob.Target != "" || ob.Skipped != 27 || !ob.Outbox || !strings.Contains(ob.Note, "outbox") {
		t.Errorf("skipped Outbox: %+v", ob)
	}
	if skipped.Totals.OutboxSkipped != 27 || skipped.Totals.OutboxToDrafts != 0 {
		t.Errorf("skipped totals: %+v", skipped.Totals)
	}
	if st, err := b.bulk(t).Select(context.Background(), "Drafts", true); err == nil && st.Exists != 0 {
		t.Errorf("with the outbox skipped, Drafts holds %d messages", st.Exists)
	}
}

// TestMigrateJapaneseANSI: a Japanese Outlook 97-2002 file that records no code page, migrated with none
// given, creates its folders under their Japanese names.
func TestMigrateJapaneseANSI(t *testing.T) {
	srv := testserver.Dovecot(t)
	a := accountOf(srv, "carol")
	file := filepath.Join(testfixtures.MustPSTDir(t), "hiraoka-contacts97-2002.pst")
	src, err := OpenPST(file, 0, convert.Options{Owner: groupware.Person{Email: "carol@example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rep, err := Run(context.Background(), Job{Source: src, Target: a.target(""), Rules: foldermap.Rules{Root: "JP", RootSpecial: true}})
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, f := range rep.Folders {
		sources = append(sources, f.Source)
	}
	for _, want := range []string{"削除済みアイテム", "連絡先 (Contact dedicated)"} {
		if !slices.Contains(sources, want) {
			t.Errorf("no source folder %q in %q", want, sources)
		}
	}
	c := a.bulk(t)
	if _, err := c.Select(context.Background(), "JP/削除済みアイテム", true); err != nil {
		t.Errorf("folder JP/削除済みアイテム not on the server: %v", err)
	}
	if rep.Totals.Copied != 1 || rep.Totals.Failed != 0 {
		t.Errorf("totals %+v, want the one contact copied", rep.Totals)
	}
}

// TestOutboxFromIMAPIsDraft: an unsent message is stored as a draft even when its source did not flag it
// so: a message without \Draft in an IMAP account's Outbox arrives in the target's Drafts with \Draft.
func TestOutboxFromIMAPIsDraft(t *testing.T) {
	srv := testserver.Dovecot(t)
	src, dst := accountOf(srv, "alice"), accountOf(srv, "bob")
	ctx := context.Background()
	c := src.bulk(t)
	if err := c.Create(ctx, "Outbox", ""); err != nil {
		t.Fatal(err)
	}
	msg := "From: alice@example.test\r\nTo: carol@example.test\r\nSubject: not sent yet\r\nMessage-ID: <unsent-1@example.test>\r\n\r\nstill writing\r\n"
	if _, err := c.Append(ctx, "Outbox", []imapbulk.Message{{Flags: []string{`\Seen`}, Size: int64(len(msg)), Body: strings.NewReader(msg)}}); err != nil {
		t.Fatal(err)
	}
	s, err := OpenIMAP(ctx, src.ep, imapconn.Credentials{Login: src.cred.Login, Password: src.cred.Password})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rep, err := Run(ctx, Job{Source: s, Target: dst.target(""), Rules: foldermap.Rules{MigrateOutbox: true}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.OutboxToDrafts != 1 {
		t.Errorf("totals %+v, want 1 to Drafts", rep.Totals)
	}
	got := contents(t, dst.bulk(t), "Drafts")
	if len(got) != 1 || !slices.Contains(got[0].Flags, `\Draft`) || !slices.Contains(got[0].Flags, `\Seen`) {
		t.Fatalf("Drafts holds %+v, want the message with \\Seen and \\Draft", got)
	}
}
