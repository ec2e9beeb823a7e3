package imapbulk

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestFakeReadFolderInterleaved: the four commands arrive in one write, before any reply; the server runs
// the reads after the SELECT at once and interleaves their replies (RFC 9051 §5.5 allows it), answers
// "N:*" with the last message although its UID is below N, and reports a flag change unasked. Each reply
// must land where it belongs.
func TestFakeReadFolderInterleaved(t *testing.T) {
	fs := startFake(t, func(s *fakeSession) {
		s.greetAndLogin(fakeCaps + " CONDSTORE")
		var cmds []fakeCommand
		for range 4 {
			cmds = append(cmds, s.readCommand())
		}
		want := []string{`SELECT INBOX (CONDSTORE)`, `UID SEARCH ALL`, `UID FETCH 1:* (UID FLAGS MODSEQ) (CHANGEDSINCE 40)`, `UID FETCH 8:* (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (`}
		for i, cmd := range cmds {
			if !strings.Contains(cmd.text, want[i]) {
				s.t.Errorf("command %d = %q, want %q", i, cmd.text, want[i])
			}
		}
		s.send("* 3 EXISTS", "* OK [UIDVALIDITY 7] ok", "* OK [UIDNEXT 8] ok", "* OK [HIGHESTMODSEQ 44] ok",
			cmds[0].tag+" OK [READ-WRITE] selected",
			`* 3 FETCH (UID 7 FLAGS (\Seen) INTERNALDATE "05-Mar-2024 07:08:09 +0100" RFC822.SIZE 12 MODSEQ (41) BODY[HEADER.FIELDS (MESSAGE-ID)] {24}`,
			"Message-ID: <last@x>\r\n",
			")",
			`* 2 FETCH (UID 5 FLAGS (\Flagged) MODSEQ (43))`,
			"* SEARCH 2 5 7",
			cmds[3].tag+" OK fetched",
			`* 1 FETCH (FLAGS (\Answered))`, // unsolicited, without a UID
			cmds[1].tag+" OK searched",
			`* 3 FETCH (UID 7 FLAGS (\Seen) MODSEQ (41))`,
			cmds[2].tag+" OK fetched")
	})
	c := dialFake(t, fs, fakeCred())
	f, err := c.ReadFolder(context.Background(), "INBOX", FolderRead{Present: true, FlagsSince: 40, IdentitiesFrom: 8})
	if err != nil || f.Err != nil {
		t.Fatalf("ReadFolder: %v, %v", err, f.Err)
	}
	if f.Status.Exists != 3 || f.Status.UIDValidity != 7 || f.Status.UIDNext != 8 || f.Status.HighestModSeq != 44 {
		t.Errorf("status = %+v", f.Status)
	}
	if !slices.Equal(f.Present, []uint32{2, 5, 7}) {
		t.Errorf("present = %v, want [2 5 7]", f.Present)
	}
	var changed []uint32
	for _, m := range f.Changed {
		changed = append(changed, m.UID)
	}
	if !slices.Equal(changed, []uint32{5, 7}) {
		t.Errorf("changed = %v, want [5 7]", changed)
	}
	if len(f.Identities) != 0 {
		t.Errorf("identities = %+v, want none: UID 7 is below 8", f.Identities)
	}
	if c.Selected() != "INBOX" {
		t.Errorf("selected = %q", c.Selected())
	}
}

// TestFakeReadFolderRefusals: a refused read after the SELECT is in Folder.Err with the folder selected; a
// refused SELECT is the error, and the reads that follow it are answered and left behind, the connection
// still in step.
func TestFakeReadFolderRefusals(t *testing.T) {
	fs := startFake(t, func(s *fakeSession) {
		s.greetAndLogin(fakeCaps + " CONDSTORE")
		sel, search, fetch := s.readCommand(), s.readCommand(), s.readCommand()
		s.send("* 2 EXISTS", "* OK [NOMODSEQ] none", sel.tag+" OK selected", "* SEARCH 1 2", search.tag+" OK done",
			fetch.tag+" BAD [NOMODSEQ] no mod-sequences here")
		sel, search, fetch = s.readCommand(), s.readCommand(), s.readCommand()
		s.send(sel.tag+" NO [NONEXISTENT] no such mailbox", search.tag+" BAD no mailbox selected", fetch.tag+" BAD no mailbox selected")
		cmd := s.readCommand()
		if !strings.HasSuffix(cmd.text, "NOOP") && !strings.Contains(cmd.text, "SELECT") {
			s.t.Errorf("after the refused SELECT: %q", cmd.text)
		}
		s.send("* 0 EXISTS", cmd.tag+" OK selected")
	})
	c := dialFake(t, fs, fakeCred())
	ctx := context.Background()
	f, err := c.ReadFolder(ctx, "INBOX", FolderRead{Present: true, FlagsSince: 9})
	if err != nil {
		t.Fatalf("ReadFolder: %v", err)
	}
	if f.Err == nil || !strings.Contains(f.Err.Error(), "no mod-sequences here") || !f.Status.NoModSeq || !slices.Equal(f.Present, []uint32{1, 2}) {
		t.Errorf("folder = %+v, want the refused CHANGEDSINCE in Err, NOMODSEQ and UIDs 1 and 2", f)
	}
	if _, err := c.ReadFolder(ctx, "Gone", FolderRead{Present: true, FlagsSince: 9}); err == nil || !strings.Contains(err.Error(), "no such mailbox") {
		t.Errorf("ReadFolder of a missing folder: %v, want the SELECT's refusal", err)
	}
	if c.Selected() != "" {
		t.Errorf("selected after a refused SELECT = %q, want none", c.Selected())
	}
	if _, err := c.Select(ctx, "Empty", false); err != nil {
		t.Errorf("the connection is out of step after the refusals: %v", err)
	}
}

// TestFakeReadFolderWithoutCondstore: a server that no longer offers CONDSTORE (the state remembers a
// mod-sequence from before) is not asked for CHANGEDSINCE; the rest is read, and Folder.Err says what is
// missing, so that the caller reads it otherwise instead of failing the folder for good.
func TestFakeReadFolderWithoutCondstore(t *testing.T) {
	fs := startFake(t, func(s *fakeSession) {
		s.greetAndLogin(fakeCaps)
		sel, search := s.readCommand(), s.readCommand()
		if sel.text != sel.tag+" SELECT INBOX" || search.text != search.tag+" UID SEARCH ALL" {
			s.t.Errorf("commands = %q, %q", sel.text, search.text)
		}
		s.send("* 1 EXISTS", sel.tag+" OK selected", "* SEARCH 4", search.tag+" OK done")
		cmd := s.readCommand()
		if !strings.Contains(cmd.text, "SELECT") {
			s.t.Errorf("CHANGEDSINCE was sent to a server without CONDSTORE: %q", cmd.text)
		}
		s.send(cmd.tag + " OK selected")
	})
	c := dialFake(t, fs, fakeCred())
	f, err := c.ReadFolder(context.Background(), "INBOX", FolderRead{Present: true, FlagsSince: 5})
	if err != nil || f.Err == nil || !slices.Equal(f.Present, []uint32{4}) || f.Status.Exists != 1 {
		t.Fatalf("ReadFolder = %+v, %v; want UID 4 read and Err saying CHANGEDSINCE was not", f, err)
	}
	if _, err := c.Select(context.Background(), "Other", false); err != nil {
		t.Errorf("the connection is out of step: %v", err)
	}
}

// TestFakeReadFolderResync: with QRESYNC, ReadFolder enables it once per session (ENABLE, written with the
// SELECT) and has the SELECT report what changed since (QRESYNC (uidvalidity modseq)): the flags changed
// and the UIDs gone (VANISHED (EARLIER)), taken for the read's Changed and Vanished, in one round trip. A
// second read of the session does not enable it again; one of another UIDVALIDITY is not Resynced.
func TestFakeReadFolderResync(t *testing.T) {
	fs := startFake(t, func(s *fakeSession) {
		s.greetAndLogin(fakeCaps + " CONDSTORE QRESYNC")
		enable, sel, ids := s.readCommand(), s.readCommand(), s.readCommand()
		if !strings.HasSuffix(enable.text, " ENABLE QRESYNC") || !strings.HasSuffix(sel.text, " SELECT INBOX (QRESYNC (7 50))") ||
			!strings.Contains(ids.text, "UID FETCH 20:*") {
			s.t.Errorf("first read: %q, %q, %q", enable.text, sel.text, ids.text)
		}
		s.send("* ENABLED QRESYNC", enable.tag+" OK enabled",
			"* 10 EXISTS", "* OK [UIDVALIDITY 7] ok", "* OK [UIDNEXT 21] ok", "* OK [HIGHESTMODSEQ 60] ok",
			"* VANISHED (EARLIER) 3:4,9", `* 5 FETCH (UID 6 FLAGS (\Seen) MODSEQ (55))`, sel.tag+" OK [READ-WRITE] selected",
			`* 10 FETCH (UID 20 FLAGS () INTERNALDATE "01-Feb-2026 10:00:00 +0000" RFC822.SIZE 9 BODY[HEADER.FIELDS (MESSAGE-ID)] {2}`, "", ")",
			ids.tag+" OK fetched")
		sel = s.readCommand()
		if !strings.HasSuffix(sel.text, ` SELECT "Archive" (QRESYNC (8 40))`) {
			s.t.Errorf("second read: %q (no ENABLE again)", sel.text)
		}
		s.send("* 0 EXISTS", "* OK [UIDVALIDITY 99] rebuilt", "* OK [HIGHESTMODSEQ 1] ok", sel.tag+" OK [READ-WRITE] selected")
	})
	c := dialFake(t, fs, fakeCred())
	ctx := context.Background()
	f, err := c.ReadFolder(ctx, "INBOX", FolderRead{Resync: &Resync{UIDValidity: 7, ModSeq: 50}, IdentitiesFrom: 20})
	if err != nil || f.Err != nil {
		t.Fatalf("ReadFolder: %v %v", err, f.Err)
	}
	if !f.Resynced || !f.Vanished.Contains(3) || !f.Vanished.Contains(4) || !f.Vanished.Contains(9) || f.Vanished.Contains(5) ||
		len(f.Changed) != 1 || f.Changed[0].UID != 6 || len(f.Identities) != 1 || f.Identities[0].UID != 20 || f.Status.HighestModSeq != 60 {
		t.Errorf("read: %+v", f)
	}
	f, err = c.ReadFolder(ctx, "Archive", FolderRead{Resync: &Resync{UIDValidity: 8, ModSeq: 40}})
	if err != nil || f.Resynced {
		t.Errorf("a mailbox of another UIDVALIDITY: resynced %v, %v", f.Resynced, err)
	}
}
