package imapsession

import (
	"context"
	"github.com/mailshift/mailshift/internal/imapconn"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestOtherUsersSubscriptions: on each real server, bob finds alice's folders under the name the server
// gives them in the other users' namespace (read from NAMESPACE), INBOX included, subscribes to and
// unsubscribes from them; carol, who has no right on them, is told NotFound.
func TestOtherUsersSubscriptions(t *testing.T) {
	for _, sc := range serverCases {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			srv := sc.start(t)
			ctx := context.Background()
			alice := rawLogin(t, srv, "alice", nil)
			folder := sc.personal + "Team"
			if err := alice.Create(folder, nil).Wait(); err != nil {
				t.Fatalf("CREATE %s: %v", folder, err)
			}
			inboxOther := map[string]string{"dovecot": "shared/alice", "cyrus-modern": "Other Users/alice", "cyrus-legacy": "user.alice"}[sc.name]
			for f, want := range map[string]string{folder: sc.otherPath("Team"), "INBOX": inboxOther} {
				if err := alice.SetACL(f, "bob", imap.RightModificationReplace, imap.RightSet("lr")).Wait(); err != nil {
					t.Fatalf("SETACL %s: %v", f, err)
				}
				bob := dialUser(t, srv, "bob")
				name, err := bob.OtherUsersMailbox(ctx, "alice", f)
				if err != nil || name != want {
					t.Fatalf("OtherUsersMailbox(alice, %s) = %q, %v; want %q", f, name, err, want)
				}
				if sub, err := bob.IsSubscribed(ctx, name); err != nil || sub {
					t.Fatalf("IsSubscribed(%s) before SUBSCRIBE = %v, %v; want false", name, sub, err)
				}
				if err := bob.Subscribe(ctx, name); err != nil {
					t.Fatal(err)
				}
				if got := rawList(t, rawLogin(t, srv, "bob", nil), &imap.ListOptions{SelectSubscribed: true}); !contains(got, name) {
					t.Fatalf("an independent client sees bob subscribed to %v, want %q among them", got, name)
				}
				if sub, err := bob.IsSubscribed(ctx, name); err != nil || !sub {
					t.Fatalf("IsSubscribed(%s) after SUBSCRIBE = %v, %v; want true", name, sub, err)
				}
				if err := bob.Unsubscribe(ctx, name); err != nil {
					t.Fatal(err)
				}
				if got := rawList(t, rawLogin(t, srv, "bob", nil), &imap.ListOptions{SelectSubscribed: true}); contains(got, name) {
					t.Fatalf("bob is still subscribed to %q after UNSUBSCRIBE", name)
				}
			}
			_, err := dialUser(t, srv, "carol").OtherUsersMailbox(ctx, "alice", folder)
			wantKind(t, "OtherUsersMailbox as carol, who has no right", err, imapconn.NotFound)
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
