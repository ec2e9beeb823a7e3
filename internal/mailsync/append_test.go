package mailsync

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailshift/mailshift/internal/testserver"
)

// TestCopyRefusedInBatch: the copies of a folder go in one MULTIAPPEND command, which a server takes or
// refuses whole. Cyrus refuses a message Dovecot stored (a header field with a bare LF in it); the messages
// of its batch must still be copied, each alone, and only the refused one fail, to be tried again next
// cycle.
func TestCopyRefusedInBatch(t *testing.T) {
	dovecot, cyrus := testserver.Dovecot(t), testserver.Cyrus(t, "modern")
	src, dst := openFolder(t, dovecot, "alice", "INBOX"), openFolder(t, cyrus, "bob", "INBOX")
	for _, id := range []string{"a1", "a2"} {
		src.put(id)
	}
	bad := "From: alice@example.test\r\nSubject: broken\nfolded wrong\r\nMessage-ID: <bad@sync.test>\r\n\r\nbody\r\n"
	src.appendRaw([]byte(bad), &imap.AppendOptions{Time: time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)})
	for _, id := range []string{"a3", "a4"} {
		src.put(id)
	}
	s := &Sync{A: src.server(), B: dst.server(), Folders: []FolderPair{{A: "INBOX"}}, Options: Options{Direction: OneWay}, State: &memStore{}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := s.Cycle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := dst.view()
	for _, id := range []string{"a1", "a2", "a3", "a4"} {
		if len(got[id]) != 1 {
			t.Errorf("message %s: %d copies on the target, want 1 (all: %v)", id, len(got[id]), got)
		}
	}
	if len(got) != 4 {
		t.Errorf("target holds %v, want a1 to a4 and not the message Cyrus refuses", got)
	}
	if len(rep.Folders) != 1 || len(rep.Folders[0].Failures) != 1 || !strings.Contains(rep.Folders[0].Failures[0].ID, "bad@sync.test") {
		t.Fatalf("report = %+v, want exactly the refused message failed", rep.Folders)
	}
	if rep.Folders[0].ToB.Added != 4 {
		t.Errorf("added to the target = %d, want 4", rep.Folders[0].ToB.Added)
	}
}
