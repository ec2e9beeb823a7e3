package foldermap

import (
	"errors"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapconn"
)

// FuzzPlan builds a source tree from the input (one folder a line, components separated by '|', a leading
// digit choosing the kind) and checks that Plan never panics and never gives two folders one target name
// unless it merged them on purpose.
func FuzzPlan(f *testing.F) {
	f.Add("Inbox\nInbox|Kunden\nSent Items\nGesendete Elemente\nSent Items|2023\nGesendete Elemente|2023", uint8(0))
	f.Add("1Calendar\n1Calendar|Team\n1Urlaub\n2Contacts\n3Verteiler\nCalendar|Mails", uint8(1))
	f.Add("Inbox|Sent\nInbox|Sent|x\nSent Items\nSent|x (2)\n..\n.\n\nA/B\nA.B\n100%\nR&D", uint8(3))
	f.Add("Old\nOld|Sub\nAlte Gesendete\nOutbox\nOutbox|x\ninbox\nINBOX|a\nInbox|a", uint8(6))
	f.Add(strings.Repeat("Sehr langer Ordnername ", 20)+"\n"+strings.Repeat("Sehr langer Ordnername ", 20)+"x", uint8(2))
	f.Fuzz(func(t *testing.T, tree string, config uint8) {
		target := layouts[int(config)%len(layouts)].t
		if config&4 != 0 {
			target.MaxComponent = minComponentBytes
		}
		rules := Rules{}
		if config&8 != 0 {
			rules.Root = "Imported/2024"
			rules.RootSpecial = config&16 != 0
		}
		if config&32 != 0 {
			rules.Renames = map[string]string{"Old": "Archive/Old", "Alte Gesendete": "Sent", "Inbox|Sent": "INBOX/Sent"}
		}
		if config&64 != 0 {
			rules.Exclude = []string{"Deleted*"}
			rules.MigrateOutbox = true
		}
		var src []Source
		for _, line := range strings.Split(tree, "\n") {
			kind := groupware.KindMail
			if line != "" && line[0] >= '0' && line[0] <= '6' {
				kind = groupware.Kind(line[0] - '0')
				line = line[1:]
			}
			src = append(src, Source{Path: strings.Split(line, "|"), Kind: kind})
		}
		got, err := Plan(src, target, rules)
		if err != nil {
			var ce *CollisionError
			if !errors.As(err, &ce) {
				t.Fatalf("Plan: unexpected error %v", err)
			}
			return
		}
		if len(got) != len(src) {
			t.Fatalf("%d mappings for %d sources", len(got), len(src))
		}
		byName := make(map[string]int)
		for i, m := range got {
			if m.Skip {
				if m.Target != "" || m.Reason == "" {
					t.Fatalf("skipped %v has target %q, reason %q", m.Source.Path, m.Target, m.Reason)
				}
				continue
			}
			if m.Target == "" || m.Reason == "" {
				t.Fatalf("%v: target %q, reason %q", m.Source.Path, m.Target, m.Reason)
			}
			sep := string(target.Separator)
			if strings.HasPrefix(m.Target, sep) || strings.HasSuffix(m.Target, sep) || strings.Contains(m.Target, sep+sep) {
				t.Fatalf("%v: target %q has an empty component", m.Source.Path, m.Target)
			}
			if dec, err := imapconn.DecodeUTF7(m.Wire); err != nil || dec != m.Target {
				t.Fatalf("%v: wire %q decodes to %q, %v; target %q", m.Source.Path, m.Wire, dec, err, m.Target)
			}
			if target.MaxComponent > 0 {
				for _, c := range strings.Split(m.Wire, sep) {
					if len(c) > target.MaxComponent {
						t.Fatalf("%v: component %q of %q is longer than %d", m.Source.Path, c, m.Wire, target.MaxComponent)
					}
				}
			}
			key := target.collisionKey(m.Target)
			if j, dup := byName[key]; dup && !(strings.Contains(m.Reason, "merged with") && strings.Contains(got[j].Reason, "merged with")) {
				t.Fatalf("%v and %v both map to %q without a merge:\n%s\n%s", got[j].Source.Path, m.Source.Path, m.Target, got[j].Reason, m.Reason)
			}
			byName[key] = i
		}
	})
}
