package foldermap

import (
	"testing"

	"github.com/mailshift/mailshift/internal/groupware"
)

// Targets the tests run against: the four naming layouts mailshift meets.
var (
	allGroupware = func(prefix string) map[groupware.Kind]string {
		return map[groupware.Kind]string{
			groupware.KindEvent:   prefix + "Calendar",
			groupware.KindContact: prefix + "Contacts",
			groupware.KindTask:    prefix + "Tasks",
			groupware.KindNote:    prefix + "Notes",
			groupware.KindJournal: prefix + "Journal",
		}
	}
	allSpecialUse = func(prefix string) map[Role]string {
		return map[Role]string{
			RoleSent: prefix + "Sent", RoleDrafts: prefix + "Drafts", RoleTrash: prefix + "Trash",
			RoleJunk: prefix + "Junk", RoleArchive: prefix + "Archive",
		}
	}
)

// dovecotSlash: Dovecot with maildir++ and separator '/'; '.' is refused in names.
func dovecotSlash() Target {
	return Target{Separator: '/', SpecialUse: allSpecialUse(""), Groupware: allGroupware(""), Forbidden: ForbiddenDovecotMaildir}
}

// dovecotDot: Dovecot's default maildir++ layout, separator '.', no prefix; '/' is refused.
func dovecotDot() Target {
	return Target{Separator: '.', SpecialUse: allSpecialUse(""), Groupware: allGroupware(""), Forbidden: ForbiddenDovecotMaildir}
}

// cyrusAlt: Cyrus with altnamespace and unixhierarchysep.
func cyrusAlt() Target {
	return Target{Separator: '/', SpecialUse: allSpecialUse(""), Groupware: allGroupware("")}
}

// cyrusLegacy: Cyrus with altnamespace: no, unixhierarchysep: no: everything below "INBOX.".
func cyrusLegacy() Target {
	return Target{Separator: '.', PersonalPrefix: "INBOX.", SpecialUse: allSpecialUse("INBOX."), Groupware: allGroupware("INBOX.")}
}

type namedTarget struct {
	name string
	t    Target
}

var layouts = []namedTarget{
	{"dovecot-slash", dovecotSlash()},
	{"dovecot-dot", dovecotDot()},
	{"cyrus-alt", cyrusAlt()},
	{"cyrus-legacy", cyrusLegacy()},
}

func mail(path ...string) Source { return Source{Path: path} }

func folder(kind groupware.Kind, path ...string) Source { return Source{Path: path, Kind: kind} }

// slash turns a "/"-form expectation into the target's separator: "INBOX/Projekte" → "INBOX.Projekte".
// planOK runs Plan and fails the test on an error.
func planOK(t *testing.T, src []Source, target Target, rules Rules) []Mapping {
	t.Helper()
	got, err := Plan(src, target, rules)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if len(got) != len(src) {
		t.Fatalf("Plan returned %d mappings for %d sources", len(got), len(src))
	}
	return got
}

// outcome is a mapping as tests compare it: the target, or "SKIP".
func outcome(m Mapping) string {
	if m.Skip {
		return "SKIP"
	}
	return m.Target
}
