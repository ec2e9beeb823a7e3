package worker

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
	"github.com/mailshift/mailshift/internal/testfixtures"
	"github.com/mailshift/mailshift/internal/testserver"
)

// targetSubscriptions reads what the account is subscribed to (LIST (SUBSCRIBED) or LSUB).
func targetSubscriptions(t *testing.T, a account) map[string]bool {
	t.Helper()
	subs, err := a.bulk(t).Subscribed(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return subs
}

// TestPSTFoldersSubscribed: every folder a PST migration creates or maps onto, special folders included, is
// subscribed on the target, on Dovecot and on Cyrus (both layouts); a re-run subscribes again without
// failing or warning.
func TestPSTFoldersSubscribed(t *testing.T) {
	file := filepath.Join(testfixtures.MustPSTDir(t), "hughbe-hughbe_Outlook.pst")
	for _, server := range []struct {
		name  string
		start func(testing.TB) *testserver.Server
	}{
		{"dovecot", testserver.Dovecot},
		{"cyrus-modern", func(t testing.TB) *testserver.Server { return testserver.Cyrus(t, "modern") }},
		{"cyrus-legacy", func(t testing.TB) *testserver.Server { return testserver.Cyrus(t, "legacy") }},
	} {
		t.Run(server.name, func(t *testing.T) {
			t.Parallel()
			a := accountOf(server.start(t), "alice")
			for pass := 1; pass <= 2; pass++ {
				rep, gw := migratePST(t, a, file, "", func(j *Job) { j.Rules = foldermap.Rules{} })
				for _, w := range rep.Warnings {
					if strings.Contains(w.Warning, "subscribed") {
						t.Errorf("pass %d: %+v", pass, w)
					}
				}
				subs := targetSubscriptions(t, a)
				n := 0
				for _, f := range rep.Folders {
					if f.Target == "" {
						continue
					}
					n++
					if !subs[f.Target] && !(strings.EqualFold(f.Target, "INBOX") && subs["INBOX"]) {
						t.Errorf("pass %d: %q (from %q) is not subscribed; subscribed: %v", pass, f.Target, f.Source, subs)
					}
				}
				for k, name := range gw {
					if !subs[name] {
						t.Errorf("pass %d: the %s folder %q is not subscribed", pass, k, name)
					}
				}
				if n < 10 {
					t.Fatalf("only %d folders were migrated: %+v", n, rep.Folders)
				}
			}
		})
	}
}

// kolabObject is a Kolab v3 object of kind k, as a Kolab client stores it.
func kolabObject(t *testing.T, k groupware.Kind, uid string) []byte {
	t.Helper()
	when := time.Date(2024, 3, 4, 9, 0, 0, 0, time.UTC)
	c := groupware.Common{UID: uid, Created: when, LastModified: when, Summary: "item " + uid}
	var it groupware.Item
	switch k {
	case groupware.KindEvent:
		it = &groupware.Event{Common: c, Start: groupware.DateTime{Time: when}, End: groupware.DateTime{Time: when.Add(time.Hour)}}
	case groupware.KindContact:
		it = &groupware.Contact{Common: c, FormattedName: "Contact " + uid}
	case groupware.KindTask:
		it = &groupware.Task{Common: c, Due: groupware.DateTime{Time: when}}
	case groupware.KindNote:
		it = &groupware.Note{Common: c}
	default:
		t.Fatalf("no object for %v", k)
	}
	var b bytes.Buffer
	if err := groupware.WriteMessage(&b, it, groupware.FormatKolab3, groupware.Envelope{From: groupware.Person{Email: "alice@example.test"}}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// kolabFolder is a folder of the Kolab source account.
type kolabFolder struct {
	name       string
	subscribed bool
	meta       map[string]string
	kind       groupware.Kind // of its objects; KindMail: plain messages
	items      int
}

var kolabSource = []kolabFolder{
	{name: "INBOX", subscribed: true, items: 1},
	{name: "Projects", subscribed: true, items: 2, meta: map[string]string{privateCommentKey: "Projekte – nur für mich", sharedCommentKey: "team projects"}},
	{name: "Hidden", subscribed: false, items: 1, meta: map[string]string{privateCommentKey: "old stuff"}},
	{name: "Reisen/2023", subscribed: true, items: 1}, // its parent is created on the target by the migration
	{name: "Kalender", subscribed: true, kind: groupware.KindEvent, items: 3,
		meta: map[string]string{imapsession.SharedFolderTypeKey: "event", imapsession.PrivateFolderTypeKey: "event.default"}},
	{name: "Team Calendar", subscribed: true, kind: groupware.KindEvent, items: 1, meta: map[string]string{imapsession.SharedFolderTypeKey: "event"}},
	{name: "Adressbuch", subscribed: true, kind: groupware.KindContact, items: 2,
		meta: map[string]string{imapsession.SharedFolderTypeKey: "contact", imapsession.PrivateFolderTypeKey: "contact.default"}},
	{name: "Aufgaben", subscribed: false, kind: groupware.KindTask, items: 2,
		meta: map[string]string{imapsession.SharedFolderTypeKey: "task", imapsession.PrivateFolderTypeKey: "task.default"}},
	{name: "Notizen", subscribed: true, kind: groupware.KindNote, items: 1,
		meta: map[string]string{imapsession.SharedFolderTypeKey: "note", imapsession.PrivateFolderTypeKey: "note.default"}},
	{name: "Konfiguration", subscribed: false, items: 1, meta: map[string]string{imapsession.SharedFolderTypeKey: "configuration.default"}},
}

// loadKolabSource builds the Kolab account: folders, subscriptions, METADATA and objects, written with the
// go-imap client (not the worker's own) so that the worker's reading is checked against another writer.
func loadKolabSource(t *testing.T, a account) {
	t.Helper()
	ctx := context.Background()
	s, err := imapsession.Dial(ctx, a.ep, a.cred)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ns, err := s.Namespaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := a.bulk(t)
	for _, f := range kolabSource {
		name := f.name
		if name != "INBOX" {
			name = ns.PersonalDefault().Prefix + strings.ReplaceAll(name, "/", string(ns.PersonalDefault().Delim))
			if err := s.Create(ctx, name); err != nil {
				t.Fatal(err)
			}
		}
		if f.subscribed {
			if err := s.Subscribe(ctx, name); err != nil {
				t.Fatal(err)
			}
		}
		if len(f.meta) > 0 {
			if err := s.SetMetadata(ctx, name, f.meta); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		var msgs []imapbulk.Message
		for i := 0; i < f.items; i++ {
			var body []byte
			if f.kind == groupware.KindMail {
				body = []byte(fmt.Sprintf("From: bob@example.test\r\nTo: alice@example.test\r\nSubject: %s %d\r\nMessage-ID: <%s-%d@kolab.example.test>\r\nDate: Mon, 4 Mar 2024 09:00:00 +0000\r\n\r\nhello\r\n",
					f.name, i, strings.NewReplacer(" ", "", "/", "-").Replace(f.name), i))
			} else {
				body = kolabObject(t, f.kind, fmt.Sprintf("%s-%d", strings.ReplaceAll(f.name, " ", ""), i))
			}
			msgs = append(msgs, imapbulk.Message{Size: int64(len(body)), Body: bytes.NewReader(body), Date: time.Date(2024, 3, 4, 9, 0, 0, 0, time.UTC)})
		}
		res, err := c.Append(ctx, name, msgs)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
}

// TestIMAPFolderAttrs migrates a Kolab account between Dovecot and Cyrus (both ways): subscriptions are
// carried (an unsubscribed mail folder stays unsubscribed), comments are carried, the Kolab groupware folders
// land in the target's groupware folders (the default ones) or below them as annotated groupware folders of
// their type (the others), never as mail folders, with their objects exactly once; a second run copies
// nothing.
func TestIMAPFolderAttrs(t *testing.T) {
	for _, dir := range []struct {
		name     string
		src, dst func(testing.TB) *testserver.Server
	}{
		{"dovecot-to-cyrus", testserver.Dovecot, func(t testing.TB) *testserver.Server { return testserver.Cyrus(t, "modern") }},
		{"cyrus-to-dovecot", func(t testing.TB) *testserver.Server { return testserver.Cyrus(t, "legacy") }, testserver.Dovecot},
	} {
		t.Run(dir.name, func(t *testing.T) {
			t.Parallel()
			src, dst := accountOf(dir.src(t), "alice"), accountOf(dir.dst(t), "bob")
			loadKolabSource(t, src)
			spec := dst.target("")
			spec.Annotate = true
			run := func() *Report {
				t.Helper()
				s, err := OpenIMAP(context.Background(), src.ep, imapconn.Credentials{Login: src.cred.Login, Password: src.cred.Password})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				rep, err := Run(ctx, Job{Source: s, Target: spec})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Totals.Failed > 0 {
					t.Fatalf("%d failed: %+v", rep.Totals.Failed, rep.Failed)
				}
				for _, w := range rep.Warnings {
					t.Errorf("warning: %+v", w)
				}
				checkTotals(t, rep)
				return rep
			}
			rep := run()

			ctx := context.Background()
			s, err := imapsession.Dial(ctx, dst.ep, dst.cred)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			res, err := s.EnsureSpecialFolders(ctx, spec.Placement, spec.SpecialFolders, false)
			if err != nil {
				t.Fatal(err)
			}
			gw := map[groupware.Kind]string{}
			for _, f := range res.Folders {
				gw[kindOfFolderType[f.Type]] = f.Mailbox
			}
			ns, err := s.Namespaces(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pers := ns.PersonalDefault()
			sep := string(pers.Delim)
			targetOf := map[string]string{}
			for _, f := range rep.Folders {
				targetOf[f.Source] = f.Target
			}
			want := map[string]string{
				"INBOX": "INBOX", "Projects": pers.Prefix + "Projects", "Hidden": pers.Prefix + "Hidden",
				"Kalender": gw[groupware.KindEvent], "Team Calendar": gw[groupware.KindEvent] + sep + "Team Calendar",
				"Adressbuch": gw[groupware.KindContact], "Aufgaben": gw[groupware.KindTask], "Notizen": gw[groupware.KindNote],
				"Konfiguration": pers.Prefix + "Konfiguration", "Reisen/2023": pers.Prefix + "Reisen" + sep + "2023",
			}
			for src, tgt := range want {
				if targetOf[src] != tgt {
					t.Errorf("%q went to %q, want %q", src, targetOf[src], tgt)
				}
			}
			// No groupware folder became a mail folder of its source name.
			folders, err := s.PersonalFolders(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range folders {
				for _, name := range []string{"Kalender", "Adressbuch", "Aufgaben", "Notizen"} {
					if f.Name == pers.Prefix+name {
						t.Errorf("the Kolab %s folder was copied as a mail folder %q", name, f.Name)
					}
				}
			}

			// Every object is in its groupware folder, exactly once.
			c := dst.bulk(t)
			for _, f := range kolabSource {
				if f.kind == groupware.KindMail {
					continue
				}
				tgt := want[f.name]
				subjects := map[string]int{} // a Kolab object's Subject is its UID
				for _, id := range contents(t, c, tgt) {
					subjects[headerSubject(id.Header)]++
				}
				for i := 0; i < f.items; i++ {
					uid := fmt.Sprintf("%s-%d", strings.ReplaceAll(f.name, " ", ""), i)
					if subjects[uid] != 1 {
						t.Errorf("%s: object %s is there %d times (%v)", tgt, uid, subjects[uid], subjects)
					}
				}
			}

			// Subscriptions: as on the source; the account's own folders always.
			subs := targetSubscriptions(t, dst)
			for name, wantSub := range map[string]bool{
				want["Projects"]: true, want["Hidden"]: false, want["Reisen/2023"]: true, pers.Prefix + "Reisen": true, want["Konfiguration"]: false, want["Team Calendar"]: true,
				gw[groupware.KindEvent]: true, gw[groupware.KindTask]: true, gw[groupware.KindContact]: true, gw[groupware.KindNote]: true,
			} {
				if subs[name] != wantSub {
					t.Errorf("%q subscribed: %v, want %v", name, subs[name], wantSub)
				}
			}

			// METADATA: comments, and the folder types.
			for name, wantMeta := range map[string]map[string]string{
				want["Projects"]:        {privateCommentKey: "Projekte – nur für mich", sharedCommentKey: "team projects"},
				want["Hidden"]:          {privateCommentKey: "old stuff"},
				want["Team Calendar"]:   {imapsession.SharedFolderTypeKey: "event"},
				want["Konfiguration"]:   {imapsession.SharedFolderTypeKey: "configuration.default"},
				gw[groupware.KindEvent]: {imapsession.SharedFolderTypeKey: "event", imapsession.PrivateFolderTypeKey: "event.default"},
				gw[groupware.KindNote]:  {imapsession.SharedFolderTypeKey: "note", imapsession.PrivateFolderTypeKey: "note.default"},
			} {
				keys := make([]string, 0, len(wantMeta))
				for k := range wantMeta {
					keys = append(keys, k)
				}
				got, err := s.GetMetadata(ctx, name, keys...)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for k, v := range wantMeta {
					if got[k] != v {
						t.Errorf("%s %s = %q, want %q", name, k, got[k], v)
					}
				}
			}

			again := run()
			if again.Totals.Copied != 0 || again.Totals.Duplicates != rep.Totals.Items {
				t.Errorf("second run copied %d and found %d of %d", again.Totals.Copied, again.Totals.Duplicates, rep.Totals.Items)
			}
		})
	}
}

// TestFolderAttrsWithoutTargetMetadata: a target without METADATA fails nothing: the messages and the
// subscriptions are carried, the groupware folders still land in the target's groupware folders, and the
// comments and folder types that could not be written are a warning in the report.
func TestFolderAttrsWithoutTargetMetadata(t *testing.T) {
	src := accountOf(testserver.Dovecot(t), "alice")
	dst := accountOf(testserver.DovecotWith(t, testserver.Options{NoMetadata: true}), "bob")
	loadKolabSource(t, src)
	s, err := OpenIMAP(context.Background(), src.ep, imapconn.Credentials{Login: src.cred.Login, Password: src.cred.Password})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	spec := dst.target("")
	spec.Annotate = true
	rep, err := Run(context.Background(), Job{Source: s, Target: spec})
	if err != nil {
		t.Fatal(err)
	}
	checkTotals(t, rep)
	want := int64(0)
	for _, f := range kolabSource {
		want += int64(f.items)
	}
	if rep.Totals.Copied != want || rep.Totals.Failed != 0 {
		t.Errorf("copied %d, failed %d, want %d copied", rep.Totals.Copied, rep.Totals.Failed, want)
	}
	targetOf := map[string]string{}
	for _, f := range rep.Folders {
		targetOf[f.Source] = f.Target
	}
	if targetOf["Kalender"] != "Calendar" || targetOf["Team Calendar"] != "Calendar/Team Calendar" {
		t.Errorf("the calendars went to %q and %q", targetOf["Kalender"], targetOf["Team Calendar"])
	}
	var warned []string
	for _, w := range rep.Warnings {
		if strings.Contains(w.Warning, "METADATA") {
			warned = append(warned, w.Warning)
		}
	}
	// Projects, Hidden (comments), Calendar/Team Calendar (type) and Konfiguration (type).
	if len(warned) != 1 || !strings.Contains(warned[0], "of 4 folders") {
		t.Errorf("warnings about METADATA: %q, want one about 4 folders", warned)
	}
	subs := targetSubscriptions(t, dst)
	if !subs["Projects"] || subs["Hidden"] || !subs["Calendar"] {
		t.Errorf("subscriptions: %v", subs)
	}
}
