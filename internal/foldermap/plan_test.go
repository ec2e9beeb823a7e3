package foldermap

import (
	"errors"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapconn"
)

// TestSpecialFoldersByLanguage maps every role, in every supported language, onto the target's special
// folders, in all four layouts.
func TestSpecialFoldersByLanguage(t *testing.T) {
	names := map[string]map[Role]string{
		"German":     {RoleInbox: "Posteingang", RoleSent: "Gesendete Elemente", RoleTrash: "Gelöschte Elemente", RoleDrafts: "Entwürfe", RoleJunk: "Junk-E-Mail", RoleArchive: "Archiv"},
		"French":     {RoleInbox: "Boîte de réception", RoleSent: "Éléments envoyés", RoleTrash: "Éléments supprimés", RoleDrafts: "Brouillons", RoleJunk: "Courrier indésirable", RoleArchive: "Archives"},
		"Spanish":    {RoleInbox: "Bandeja de entrada", RoleSent: "Elementos enviados", RoleTrash: "Elementos eliminados", RoleDrafts: "Borradores", RoleJunk: "Correo no deseado", RoleArchive: "Archivo"},
		"Italian":    {RoleInbox: "Posta in arrivo", RoleSent: "Posta inviata", RoleTrash: "Posta eliminata", RoleDrafts: "Bozze", RoleJunk: "Posta indesiderata", RoleArchive: "Archivio"},
		"Dutch":      {RoleInbox: "Postvak IN", RoleSent: "Verzonden items", RoleTrash: "Verwijderde items", RoleDrafts: "Concepten", RoleJunk: "Ongewenste e-mail", RoleArchive: "Archief"},
		"Portuguese": {RoleInbox: "Caixa de Entrada", RoleSent: "Itens Enviados", RoleTrash: "Itens Excluídos", RoleDrafts: "Rascunhos", RoleJunk: "Lixo Eletrônico", RoleArchive: "Arquivo"},
		"Russian":    {RoleInbox: "Входящие", RoleSent: "Отправленные", RoleTrash: "Удаленные", RoleDrafts: "Черновики", RoleJunk: "Нежелательная почта", RoleArchive: "Архив"},
		"Japanese":   {RoleInbox: "受信トレイ", RoleSent: "送信済みアイテム", RoleTrash: "削除済みアイテム", RoleDrafts: "下書き", RoleJunk: "迷惑メール", RoleArchive: "アーカイブ"},
		"English":    {RoleInbox: "Inbox", RoleSent: "Sent Items", RoleTrash: "Deleted Items", RoleDrafts: "Drafts", RoleJunk: "Junk E-mail", RoleArchive: "Archive"},
	}
	want := map[Role]string{RoleInbox: "INBOX", RoleSent: "Sent", RoleTrash: "Trash", RoleDrafts: "Drafts", RoleJunk: "Junk", RoleArchive: "Archive"}
	for _, l := range layouts {
		for lang, roles := range names {
			t.Run(l.name+"/"+lang, func(t *testing.T) {
				for role, name := range roles {
					got := planOK(t, []Source{mail(name), mail(name, "2023")}, l.t, Rules{})
					wantName := want[role]
					if role != RoleInbox {
						wantName = l.t.PersonalPrefix + wantName
					}
					if got[0].Target != wantName || got[0].Role != role {
						t.Errorf("%q → %q (role %v), want %q (role %v); %s", name, got[0].Target, got[0].Role, wantName, role, got[0].Reason)
					}
					// Subfolders follow their special folder.
					if sub := wantName + string(l.t.Separator) + "2023"; got[1].Target != sub || got[1].Role != RoleNone {
						t.Errorf("%q/2023 → %q (role %v), want %q", name, got[1].Target, got[1].Role, sub)
					}
					if wire, _ := imapconn.DecodeUTF7(got[0].Wire); wire != got[0].Target {
						t.Errorf("wire %q does not decode to %q", got[0].Wire, got[0].Target)
					}
				}
			})
		}
	}
}

func TestOutbox(t *testing.T) {
	for _, name := range []string{"Outbox", "Postausgang", "Boîte d'envoi", "Bandeja de salida", "Posta in uscita", "Postvak UIT", "Caixa de Saída", "Исходящие", "送信トレイ"} {
		got := planOK(t, []Source{mail(name), mail(name, "Sub")}, cyrusAlt(), Rules{})
		for _, m := range got {
			if !m.Skip || !m.Outbox || !strings.Contains(m.Reason, "MigrateOutbox") {
				t.Errorf("%v: skip=%v outbox=%v reason %q, want skipped by default", m.Source.Path, m.Skip, m.Outbox, m.Reason)
			}
		}
		// Migrated, the outbox's unsent messages go into the target's Drafts folder, merged with the
		// source's own drafts on purpose; a subfolder follows below Drafts.
		got = planOK(t, []Source{mail(name), mail(name, "Sub"), mail("Drafts"), mail("Inbox")}, cyrusLegacy(), Rules{MigrateOutbox: true})
		drafts := cyrusLegacy().SpecialUse[RoleDrafts]
		if got[0].Target != drafts || got[0].Role != RoleDrafts || got[1].Target != drafts+".Sub" || got[2].Target != drafts {
			t.Errorf("%q with MigrateOutbox: %q, %q, drafts %q; want %q", name, got[0].Target, got[1].Target, got[2].Target, drafts)
		}
		if !got[0].Outbox || !got[1].Outbox || got[2].Outbox || got[3].Outbox {
			t.Errorf("%q: Outbox marks %v %v %v %v, want true true false false", name, got[0].Outbox, got[1].Outbox, got[2].Outbox, got[3].Outbox)
		}
		if !strings.Contains(got[0].Reason, "Drafts") || !strings.Contains(got[0].Reason, "merged with") {
			t.Errorf("%q: reason %q", name, got[0].Reason)
		}
		// Without a \Drafts folder on the target, the conventional name.
		bare := Target{Separator: '/'}
		got = planOK(t, []Source{mail(name)}, bare, Rules{MigrateOutbox: true})
		if got[0].Target != "Drafts" || !got[0].Outbox {
			t.Errorf("%q on a target without special-use: %q", name, got[0].Target)
		}
		// A rename places it elsewhere; its messages are still unsent.
		got = planOK(t, []Source{mail(name)}, bare, Rules{MigrateOutbox: true, Renames: map[string]string{name: "Unsent"}})
		if got[0].Target != "Unsent" || !got[0].Outbox {
			t.Errorf("%q renamed: %q outbox=%v", name, got[0].Target, got[0].Outbox)
		}
	}
}

// TestPlacement covers the placement rules in every layout; expectations are written with '/' and no
// prefix, and adapted to each layout.
func TestPlacement(t *testing.T) {
	tests := []struct {
		name  string
		src   []Source
		rules Rules
		// want maps the "/"-joined source path to the target in "/" form, below the personal prefix unless
		// it starts with INBOX; "SKIP" for a skipped folder.
		want map[string]string
	}{
		{
			name: "ordinary folders keep their path",
			src:  []Source{mail("Projekte"), mail("Projekte", "2024"), mail("Projekte", "2024", "Q1")},
			want: map[string]string{"Projekte": "Projekte", "Projekte/2024": "Projekte/2024", "Projekte/2024/Q1": "Projekte/2024/Q1"},
		},
		{
			name: "inbox subfolders stay below INBOX",
			src:  []Source{mail("Posteingang"), mail("Posteingang", "Kunden"), mail("Posteingang", "Kunden", "Acme")},
			want: map[string]string{"Posteingang": "INBOX", "Posteingang/Kunden": "INBOX/Kunden", "Posteingang/Kunden/Acme": "INBOX/Kunden/Acme"},
		},
		{
			name: "a subfolder named like a special folder is ordinary",
			src:  []Source{mail("Projekte", "Sent Items"), mail("Inbox", "Gelöschte Elemente"), mail("Inbox", "INBOX")},
			want: map[string]string{"Projekte/Sent Items": "Projekte/Sent Items", "Inbox/Gelöschte Elemente": "INBOX/Gelöschte Elemente", "Inbox/INBOX": "INBOX/INBOX"},
		},
		{
			name: "subfolders of special folders without the special folder among the sources",
			src:  []Source{mail("Sent Items", "2023"), mail("Deleted Items", "Old", "Older")},
			want: map[string]string{"Sent Items/2023": "Sent/2023", "Deleted Items/Old/Older": "Trash/Old/Older"},
		},
		{
			name: "a role the source knows, at any depth",
			src:  []Source{{Path: []string{"[Gmail]", "Gesendet"}, Role: RoleSent}, {Path: []string{"[Gmail]", "Alle"}}, {Path: []string{"Sent Items"}, Role: RoleArchive}},
			want: map[string]string{"[Gmail]/Gesendet": "Sent", "[Gmail]/Alle": "[Gmail]/Alle", "Sent Items": "Archive"},
		},
		{
			name:  "exclude wins and takes the subtree",
			src:   []Source{mail("Inbox"), mail("Inbox", "Spam"), mail("Inbox", "Spam", "Old"), mail("Deleted Items"), mail("Deleted Items", "x"), mail("Notizen")},
			rules: Rules{Include: []string{"Inbox/**", "Deleted*"}, Exclude: []string{"inbox/spam", "Deleted Items"}},
			want:  map[string]string{"Inbox": "INBOX", "Inbox/Spam": "SKIP", "Inbox/Spam/Old": "SKIP", "Deleted Items": "SKIP", "Deleted Items/x": "SKIP", "Notizen": "SKIP"},
		},
		{
			name:  "include selects a subtree; filtered folders still anchor placement",
			src:   []Source{mail("Inbox"), mail("Inbox", "A"), mail("Inbox", "B"), mail("Archiv2023"), mail("X", "Archiv2024"), mail("X", "Archiv2024", "Q1"), mail("X", "Other")},
			rules: Rules{Include: []string{"Inbox/A", "*/Archiv*"}},
			want:  map[string]string{"Inbox": "SKIP", "Inbox/A": "INBOX/A", "Inbox/B": "SKIP", "Archiv2023": "SKIP", "X/Archiv2024": "X/Archiv2024", "X/Archiv2024/Q1": "X/Archiv2024/Q1", "X/Other": "SKIP"},
		},
		{
			name:  "rename of a folder and of a prefix; the longest wins",
			src:   []Source{mail("Old"), mail("Old", "Sub"), mail("Old", "Sub", "Deep"), mail("Old", "Other"), mail("Sent Items")},
			rules: Rules{Renames: map[string]string{"Old": "Archive/Old", "old/SUB": "Kept", "Sent Items": "Gesendet 2010"}},
			want:  map[string]string{"Old": "Archive/Old", "Old/Sub": "Kept", "Old/Sub/Deep": "Kept/Deep", "Old/Other": "Archive/Old/Other", "Sent Items": "Gesendet 2010"},
		},
		{
			name:  "rename into the inbox",
			src:   []Source{mail("Eingang alt"), mail("Eingang alt", "Sub")},
			rules: Rules{Renames: map[string]string{"Eingang alt": "inbox/Alt"}},
			want:  map[string]string{"Eingang alt": "INBOX/Alt", "Eingang alt/Sub": "INBOX/Alt/Sub"},
		},
		{
			name:  "root without RootSpecial: special folders stay special",
			src:   []Source{mail("Inbox"), mail("Inbox", "A"), mail("Sent Items"), mail("Sent Items", "2023"), mail("Projekte"), folder(groupware.KindEvent, "Calendar")},
			rules: Rules{Root: "Imported/2024"},
			want:  map[string]string{"Inbox": "INBOX", "Inbox/A": "INBOX/A", "Sent Items": "Sent", "Sent Items/2023": "Sent/2023", "Projekte": "Imported/2024/Projekte", "Calendar": "Calendar"},
		},
		{
			name:  "root with RootSpecial: special folders are copied below the root by name",
			src:   []Source{mail("Inbox"), mail("Inbox", "A"), mail("Sent Items"), mail("Sent Items", "2023"), mail("Projekte"), folder(groupware.KindEvent, "Calendar"), mail("Outbox")},
			rules: Rules{Root: "Imported/2024", RootSpecial: true},
			want:  map[string]string{"Inbox": "Imported/2024/Inbox", "Inbox/A": "Imported/2024/Inbox/A", "Sent Items": "Imported/2024/Sent Items", "Sent Items/2023": "Imported/2024/Sent Items/2023", "Projekte": "Imported/2024/Projekte", "Calendar": "Calendar", "Outbox": "SKIP"},
		},
		{
			name:  "root below INBOX",
			src:   []Source{mail("Projekte")},
			rules: Rules{Root: "INBOX/Import"},
			want:  map[string]string{"Projekte": "INBOX/Import/Projekte"},
		},
		{
			name: "groupware: second calendars become subfolders of the mailbox's calendar",
			src: []Source{
				folder(groupware.KindEvent, "Feiertage"), // listed first, but not the default name
				folder(groupware.KindEvent, "Kalender"),
				folder(groupware.KindEvent, "Kalender", "Team"),
				folder(groupware.KindEvent, "Projekte", "Projektkalender"),
				mail("Projekte"),
				mail("Kalender", "Einladungen"),
				folder(groupware.KindContact, "Kontakte"),
				folder(groupware.KindDistList, "Verteiler"),
				folder(groupware.KindTask, "Aufgaben"),
				folder(groupware.KindNote, "Notizen"),
				folder(groupware.KindJournal, "Journal"),
				folder(groupware.KindNote, "Kontakte", "Notizen zu Kontakten"),
			},
			want: map[string]string{
				"Feiertage":                     "Calendar/Feiertage",
				"Kalender":                      "Calendar",
				"Kalender/Team":                 "Calendar/Team",
				"Projekte/Projektkalender":      "Calendar/Projektkalender",
				"Projekte":                      "Projekte",
				"Kalender/Einladungen":          "Calendar/Einladungen",
				"Kontakte":                      "Contacts",
				"Verteiler":                     "Contacts/Verteiler",
				"Aufgaben":                      "Tasks",
				"Notizen":                       "Notes",
				"Journal":                       "Journal",
				"Kontakte/Notizen zu Kontakten": "Notes/Notizen zu Kontakten",
			},
		},
		{
			name: "groupware: the source's default folder wins",
			src:  []Source{folder(groupware.KindEvent, "Calendar"), {Path: []string{"Mein Kalender"}, Kind: groupware.KindEvent, Default: true}},
			want: map[string]string{"Calendar": "Calendar/Calendar", "Mein Kalender": "Calendar"},
		},
		{
			name:  "groupware skipped by rule, with its subtree",
			src:   []Source{folder(groupware.KindEvent, "Calendar"), folder(groupware.KindEvent, "Calendar", "Team"), mail("Calendar", "Mails"), folder(groupware.KindContact, "Inbox", "Contacts"), mail("Inbox")},
			rules: Rules{SkipGroupware: true},
			want:  map[string]string{"Calendar": "SKIP", "Calendar/Team": "SKIP", "Calendar/Mails": "SKIP", "Inbox/Contacts": "SKIP", "Inbox": "INBOX"},
		},
		{
			name: "escaping in full names",
			src:  []Source{mail("A/B"), mail("v1.2"), mail("100%"), mail("R&D"), mail("Tab\there"), mail(".."), mail("Work "), mail("Projekte", "."), mail("~tmp")},
			want: map[string]string{"A/B": "A=2FB", "v1.2": "v1=2E2", "100%": "100=25", "R&D": "R&D", "Tab\there": "Tab=09here", "..": "=2E=2E", "Work ": "Work=20", "Projekte/.": "Projekte/=2E", "~tmp": "=7Etmp"},
		},
		{
			name: "two special folders of one role merge",
			src:  []Source{mail("Sent Items"), mail("Gesendete Elemente"), mail("Inbox"), mail("INBOX")},
			want: map[string]string{"Sent Items": "Sent", "Gesendete Elemente": "Sent", "Inbox": "INBOX", "INBOX": "INBOX"},
		},
		{
			name: "their subfolders do not merge",
			src:  []Source{mail("Sent Items", "2023"), mail("Gesendete Elemente", "2023"), mail("Sent Items", "2023", "Q1")},
			want: map[string]string{"Gesendete Elemente/2023": "Sent/2023", "Sent Items/2023": "Sent/2023 (2)", "Sent Items/2023/Q1": "Sent/2023 (2)/Q1"},
		},
		{
			name: "names differing only by case stay apart, without suffix",
			src:  []Source{mail("Projekte"), mail("projekte")},
			want: map[string]string{"Projekte": "Projekte", "projekte": "projekte"},
		},
		{
			name:  "INBOX is compared case-insensitively",
			src:   []Source{mail("Inbox", "Alt"), mail("Eingang alt")},
			rules: Rules{Renames: map[string]string{"Eingang alt": "inbox/Alt"}},
			want:  map[string]string{"Eingang alt": "INBOX/Alt", "Inbox/Alt": "INBOX/Alt (2)"},
		},
		{
			name: "a suffix skips names already taken",
			src:  []Source{mail("Sent Items", "X"), mail("Gesendete Elemente", "X"), mail("Sent", "X (2)"), mail("Posta inviata", "X")},
			want: map[string]string{"Gesendete Elemente/X": "Sent/X", "Posta inviata/X": "Sent/X (3)", "Sent Items/X": "Sent/X (4)", "Sent/X (2)": "Sent/X (2)"},
		},
	}
	for _, l := range layouts {
		for _, tt := range tests {
			t.Run(l.name+"/"+tt.name, func(t *testing.T) {
				got := planOK(t, tt.src, l.t, tt.rules)
				for _, m := range got {
					key := strings.Join(m.Source.Path, "/")
					want, ok := tt.want[key]
					if !ok {
						t.Fatalf("no expectation for %q", key)
					}
					if want != "SKIP" {
						want = expectName(l.t, want)
					}
					if outcome(m) != want {
						t.Errorf("%q → %q, want %q (%s)", key, outcome(m), want, m.Reason)
					}
					if m.Reason == "" {
						t.Errorf("%q: empty reason", key)
					}
					if !m.Skip && m.Wire != imapconn.EncodeUTF7(m.Target) {
						t.Errorf("%q: wire %q is not the encoded target %q", key, m.Wire, m.Target)
					}
				}
			})
		}
	}
}

// expectName adapts a "/"-form expectation to a layout: the separator, the prefix, and the escapes that
// depend on the separator ("=2F" and "=2E" are written for Dovecot maildir, where both are escaped).
func expectName(t Target, want string) string {
	parts := strings.Split(want, "/")
	name := ""
	for _, p := range parts {
		if t.Forbidden == "" {
			// Without maildir's rules only the separator is escaped.
			if t.Separator == '/' {
				p = strings.ReplaceAll(p, "=2E", ".")
				if p == "." || p == ".." {
					p = strings.ReplaceAll(p, ".", "=2E")
				}
			} else {
				p = strings.ReplaceAll(p, "=2F", "/")
			}
		}
		name = t.child(name, p)
	}
	return name
}

func TestPlanWire(t *testing.T) {
	got := planOK(t, []Source{mail("Inbox", "Übersicht"), mail("R&D"), mail("受信トレイ", "仕事")}, cyrusLegacy(), Rules{})
	want := []struct{ target, wire string }{
		{"INBOX.Übersicht", "INBOX.&ANw-bersicht"},
		{"INBOX.R&D", "INBOX.R&-D"},
		{"INBOX.仕事", "INBOX.&TtVOiw-"},
	}
	for i, w := range want {
		if got[i].Target != w.target || got[i].Wire != w.wire {
			t.Errorf("%v → %q / %q, want %q / %q", got[i].Source.Path, got[i].Target, got[i].Wire, w.target, w.wire)
		}
	}
}

func TestConventionalNames(t *testing.T) {
	for _, l := range []namedTarget{{"slash", Target{Separator: '/'}}, {"legacy", Target{Separator: '.', PersonalPrefix: "INBOX."}}} {
		got := planOK(t, []Source{mail("Sent Items"), mail("Entwürfe"), mail("Papierkorb"), mail("Spam"), mail("Archiv"), mail("Archiv", "2020")}, l.t, Rules{})
		want := []string{"Sent", "Drafts", "Trash", "Junk", "Archive", "Archive" + string(l.t.Separator) + "2020"}
		for i, w := range want {
			w = l.t.PersonalPrefix + w
			if got[i].Target != w {
				t.Errorf("%s: %v → %q, want %q", l.name, got[i].Source.Path, got[i].Target, w)
			}
			if i < 5 && !strings.Contains(got[i].Reason, "conventional name") {
				t.Errorf("%s: %v: reason %q does not say the name is conventional", l.name, got[i].Source.Path, got[i].Reason)
			}
		}
	}
	// An existing special-use folder is used under its own name, and the reason names the attribute.
	target := cyrusAlt()
	target.SpecialUse[RoleSent] = "Gesendet"
	got := planOK(t, []Source{mail("Sent Items")}, target, Rules{})
	if got[0].Target != "Gesendet" || got[0].Reason != `special-use \Sent` {
		t.Errorf("Sent Items → %q (%s)", got[0].Target, got[0].Reason)
	}
}

func TestGroupwareWithoutTargetFolder(t *testing.T) {
	target := cyrusAlt()
	delete(target.Groupware, groupware.KindJournal)
	delete(target.Groupware, groupware.KindContact)
	got := planOK(t, []Source{folder(groupware.KindJournal, "Journal"), folder(groupware.KindJournal, "Journal", "2020"), mail("Journal", "Mails"), folder(groupware.KindDistList, "Verteiler")}, target, Rules{})
	for _, m := range got {
		if !m.Skip || !strings.Contains(m.Reason, "Target.Groupware") {
			t.Errorf("%v: skip=%v %q (%s), want skipped for lack of a target folder", m.Source.Path, m.Skip, m.Target, m.Reason)
		}
	}
}

func TestMergeReasons(t *testing.T) {
	got := planOK(t, []Source{mail("Sent Items"), mail("Gesendete Elemente"), mail("Sent Items", "2023"), mail("Gesendete Elemente", "2023")}, cyrusAlt(), Rules{})
	if !strings.Contains(got[0].Reason, `merged with "Gesendete Elemente"`) || !strings.Contains(got[1].Reason, `merged with "Sent Items"`) {
		t.Errorf("merge not reported: %q / %q", got[0].Reason, got[1].Reason)
	}
	if !strings.Contains(got[2].Reason, `is also the target of "Gesendete Elemente/2023"`) {
		t.Errorf("suffix not explained: %q", got[2].Reason)
	}
}

func TestLegacyCyrusDisambiguationMovesSubtree(t *testing.T) {
	// On legacy Cyrus the special folders live below INBOX, where an ordinary subfolder of the inbox can
	// have the same name. The special folder keeps it; the ordinary one and its subtree move.
	got := planOK(t, []Source{mail("Inbox", "Sent"), mail("Inbox", "Sent", "x"), mail("Sent Items"), mail("Sent Items", "x")}, cyrusLegacy(), Rules{})
	want := []string{"INBOX.Sent (2)", "INBOX.Sent (2).x", "INBOX.Sent", "INBOX.Sent.x"}
	for i, w := range want {
		if got[i].Target != w {
			t.Errorf("%v → %q, want %q (%s)", got[i].Source.Path, got[i].Target, w, got[i].Reason)
		}
	}
}

func TestMaxComponentInPlan(t *testing.T) {
	target := cyrusAlt()
	target.MaxComponent = 40
	long := strings.Repeat("Besprechungsprotokolle ", 4)
	got := planOK(t, []Source{mail(long + "A"), mail(long + "B"), mail(long+"A", "Sub")}, target, Rules{})
	if got[0].Target == got[1].Target {
		t.Fatalf("long names merged: %q", got[0].Target)
	}
	for _, m := range got {
		for _, c := range strings.Split(m.Wire, "/") {
			if len(c) > target.MaxComponent {
				t.Errorf("%q: component %q is longer than %d", m.Wire, c, target.MaxComponent)
			}
		}
		if !strings.Contains(m.Reason, "shortened") {
			t.Errorf("%q: reason %q does not mention shortening", m.Target, m.Reason)
		}
	}
	if !strings.HasPrefix(got[2].Target, got[0].Target+"/") {
		t.Errorf("subfolder %q not below %q", got[2].Target, got[0].Target)
	}
}

func TestPlanErrors(t *testing.T) {
	good := cyrusAlt()
	tests := []struct {
		name   string
		src    []Source
		target Target
		rules  Rules
		want   string
	}{
		{"no separator", nil, Target{}, Rules{}, "no hierarchy separator"},
		{"percent separator", nil, Target{Separator: '%'}, Rules{}, "cannot be used"},
		{"prefix without separator", nil, Target{Separator: '.', PersonalPrefix: "INBOX"}, Rules{}, "does not end with the separator"},
		{"forbidden escape character", nil, Target{Separator: '/', Forbidden: "="}, Rules{}, "cannot be escaped"},
		{"forbidden hex digit", nil, Target{Separator: '/', Forbidden: "A"}, Rules{}, "cannot be escaped"},
		{"component limit too small", nil, Target{Separator: '/', MaxComponent: 5}, Rules{}, "MaxComponent"},
		{"unterminated class", nil, good, Rules{Include: []string{"Inbox/[abc"}}, "unterminated character class"},
		{"empty pattern component", nil, good, Rules{Exclude: []string{"Inbox//x"}}, "empty component"},
		{"empty pattern", nil, good, Rules{Exclude: []string{""}}, "empty pattern"},
		{"trailing backslash", nil, good, Rules{Exclude: []string{`a\`}}, "trailing backslash"},
		{"empty rename target", nil, good, Rules{Renames: map[string]string{"Old": ""}}, "empty path"},
		{"ambiguous renames", nil, good, Rules{Renames: map[string]string{"Old": "A", "old": "B"}}, `"Old" and "old" name the same folder`},
		{"empty root component", nil, good, Rules{Root: "Imported//2024"}, "empty component"},
		{"empty source path", []Source{{}}, good, Rules{}, "empty path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(tt.src, tt.target, tt.rules)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Plan error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCollisionErrors(t *testing.T) {
	// Two roles configured onto one folder must not merge.
	target := cyrusAlt()
	target.SpecialUse[RoleTrash] = "Sent"
	_, err := Plan([]Source{mail("Sent Items"), mail("Deleted Items")}, target, Rules{})
	var ce *CollisionError
	if !errors.As(err, &ce) || ce.Target != "Sent" || !strings.Contains(err.Error(), `"Deleted Items"`) || !strings.Contains(err.Error(), `"Sent Items"`) {
		t.Fatalf("err = %v, want a collision naming both folders", err)
	}
	// A mail folder renamed onto the calendar must not merge with it.
	_, err = Plan([]Source{folder(groupware.KindEvent, "Calendar"), mail("Termine")}, cyrusAlt(), Rules{Renames: map[string]string{"Termine": "Calendar"}})
	if !errors.As(err, &ce) || !strings.Contains(ce.Why, "different kinds") {
		t.Fatalf("err = %v, want a collision between mail and event", err)
	}
	// A rename onto a special folder of the same kind is an explicit merge.
	got := planOK(t, []Source{mail("Sent Items"), mail("Alte Gesendete")}, cyrusAlt(), Rules{Renames: map[string]string{"Alte Gesendete": "Sent"}})
	if got[1].Target != "Sent" || !strings.Contains(got[1].Reason, "merged with") {
		t.Fatalf("explicit merge: %q (%s)", got[1].Target, got[1].Reason)
	}
}

func TestDeterminism(t *testing.T) {
	src := []Source{
		mail("Inbox"), mail("Inbox", "Kunden"), mail("Sent Items"), mail("Gesendete Elemente"),
		mail("Sent Items", "2023"), mail("Gesendete Elemente", "2023"), mail("Projekte"), mail("projekte"),
		folder(groupware.KindEvent, "Urlaub"), folder(groupware.KindEvent, "Team"), folder(groupware.KindEvent, "Team", "Sub"),
		folder(groupware.KindContact, "Kontakte"), mail("Outbox"), mail("A/B"), mail("Inbox", "Sent"),
	}
	rules := Rules{Exclude: []string{"projekte"}, Renames: map[string]string{"Inbox/Kunden": "Kunden", "Team/Sub": "Team Sub"}}
	for _, l := range layouts {
		first := planOK(t, src, l.t, rules)
		rng := rand.New(rand.NewSource(1))
		for round := 0; round < 20; round++ {
			perm := rng.Perm(len(src))
			shuffled := make([]Source, len(src))
			for i, j := range perm {
				shuffled[i] = src[j]
			}
			got := planOK(t, shuffled, l.t, rules)
			for i, j := range perm {
				if !reflect.DeepEqual(got[i], first[j]) {
					t.Fatalf("%s: order changed the plan of %v:\n%+v\n%+v", l.name, src[j].Path, got[i], first[j])
				}
			}
		}
	}
}
