package imapsession

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// TestApplyFolderChanges: parents and children created in one pipelined round (parents first), an existing
// mailbox taken as it is, subscriptions and METADATA in a second round; a CREATE the server refuses and
// an invalid METADATA key fail only their own change. Checked on every real server by reading back.
func TestApplyFolderChanges(t *testing.T) {
	for _, sc := range serverCases {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			srv := sc.start(t)
			ctx := context.Background()
			s, err := Dial(ctx, endpoint(srv, imapconn.TLSStartTLS), userCred(srv, "carol"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			name := func(parts ...string) string { return sc.personal + strings.Join(parts, string(sc.delim)) }
			parent, child, existing := name("Projekt"), name("Projekt", "Unterordner"), name("Schon da")
			tooLong := name(strings.Repeat("x", 1000))
			if err := s.Create(ctx, existing); err != nil {
				t.Fatal(err)
			}
			changes := []FolderChange{
				{Mailbox: parent, Create: true, Subscribe: true},
				{Mailbox: child, Create: true, Subscribe: true, Metadata: map[string]string{"/private/comment": "carried"}},
				{Mailbox: existing, Create: true, Subscribe: true, Metadata: map[string]string{"/bad/key": "x"}},
				{Mailbox: tooLong, Create: true, Subscribe: true},
			}
			res, err := s.ApplyFolderChanges(ctx, changes)
			if err != nil {
				t.Fatal(err)
			}
			if r := res[0]; !r.Created || r.CreateErr != nil || r.SubscribeErr != nil {
				t.Errorf("parent: %+v", r)
			}
			if r := res[1]; !r.Created || r.CreateErr != nil || r.SubscribeErr != nil || r.MetaErr != nil {
				t.Errorf("child: %+v", r)
			}
			if r := res[2]; r.Created || r.CreateErr != nil || r.SubscribeErr != nil || r.MetaErr == nil {
				t.Errorf("existing mailbox with a bad key: %+v, want not created, subscribed, a METADATA error", r)
			}
			if r := res[3]; r.Created || r.CreateErr == nil || r.SubscribeErr != nil {
				t.Errorf("a name the server refuses: %+v, want a CREATE error and no SUBSCRIBE", r)
			}

			folders, err := s.PersonalFolders(ctx)
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, f := range folders {
				have[f.Name] = true
			}
			if !have[parent] || !have[child] || !have[existing] || have[tooLong] {
				t.Errorf("folders after the changes: %v", have)
			}
			sv, err := s.Survey(ctx)
			if err != nil {
				t.Fatal(err)
			}
			subs := sv.Subscribed
			if subs != nil && (!subs[parent] || !subs[child] || !subs[existing] || subs[tooLong]) {
				t.Errorf("subscriptions after the changes: %v", subs)
			}
			md, err := s.GetMetadata(ctx, child, "/private/comment")
			if err != nil || md["/private/comment"] != "carried" {
				t.Errorf("the child's comment: %v, %v", md, err)
			}
		})
	}
}

// TestSurvey: the pipelined survey reads what the single reads read, on every real server: the namespaces,
// the identification, the personal folders and which of them are subscribed.
func TestSurvey(t *testing.T) {
	for _, sc := range serverCases {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			srv := sc.start(t)
			ctx := context.Background()
			dial := func() *Session {
				s, err := Dial(ctx, endpoint(srv, imapconn.TLSStartTLS), userCred(srv, "carol"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			s := dial()
			shown, hidden := sc.personal+"Survey shown", sc.personal+"Survey hidden"
			if _, err := s.ApplyFolderChanges(ctx, []FolderChange{{Mailbox: shown, Create: true, Subscribe: true}, {Mailbox: hidden, Create: true}}); err != nil {
				t.Fatal(err)
			}

			sv, err := dial().Survey(ctx) // a session of its own: no namespaces read before
			if err != nil {
				t.Fatal(err)
			}
			one := dial()
			ns, err := one.Namespaces(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sv.Namespaces, ns) {
				t.Errorf("namespaces: survey %+v, NAMESPACE %+v", sv.Namespaces, ns)
			}
			id, err := one.ID(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sv.ID, id) || (one.Has("ID") && sv.ID["name"] == "") {
				t.Errorf("ID: survey %v, ID %v", sv.ID, id)
			}
			folders, err := one.PersonalFolders(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sv.Folders, folders) {
				t.Errorf("folders: survey %+v, LIST %+v", sv.Folders, folders)
			}
			names := map[string]bool{}
			for _, f := range sv.Folders {
				names[f.Name] = true
			}
			if !names[shown] || !names[hidden] {
				t.Errorf("the survey's folders lack %q or %q: %v", shown, hidden, names)
			}
			switch {
			case !one.Has("LIST-EXTENDED"):
				if sv.Subscribed != nil {
					t.Errorf("subscriptions from a server without LIST-EXTENDED: %v", sv.Subscribed)
				}
			case !sv.Subscribed[shown] || sv.Subscribed[hidden]:
				t.Errorf("subscriptions: %v, want %q and not %q", sv.Subscribed, shown, hidden)
			}
		})
	}
}
