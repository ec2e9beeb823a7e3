package imapbulk

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestFakeWriteThenRead: the UID EXPUNGE, the MULTIAPPEND and the SELECT with its CHANGEDSINCE are written
// before any reply (one round trip); untagged data that comes before the writes are answered is theirs,
// not the SELECT's; the copies get their UIDs from APPENDUID. A refused SELECT is readErr, and the writes
// keep their outcomes.
func TestFakeWriteThenRead(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		fs := startFake(t, func(s *fakeSession) {
			s.greetAndLogin(fakeCaps + " CONDSTORE")
			sel := s.readCommand()
			s.send("* 10 EXISTS", "* OK [UIDVALIDITY 7] ok", sel.tag+" OK [READ-WRITE] selected")
			exp, app, sel2, fetch := s.readCommand(), s.readCommand(), s.readCommand(), s.readCommand()
			if !strings.HasSuffix(exp.text, " UID EXPUNGE 4") {
				s.t.Errorf("first command: %q", exp.text)
			}
			if !strings.Contains(app.text, ` APPEND INBOX (\Seen) " 1-Feb-2026 10:00:00 +0000" {16+}<literal> " 1-Feb-2026 11:00:00 +0000" {16+}<literal>`) ||
				len(app.literals) != 2 || app.literals[0] != "Subject: one\r\n\r\n" || app.literals[1] != "Subject: two\r\n\r\n" {
				s.t.Errorf("second command: %q %q", app.text, app.literals)
			}
			if !strings.HasSuffix(sel2.text, " SELECT INBOX") || !strings.Contains(fetch.text, "UID FETCH 1:* (UID FLAGS MODSEQ) (CHANGEDSINCE 50)") {
				s.t.Errorf("the read: %q, %q", sel2.text, fetch.text)
			}
			s.send("* 3 EXPUNGE", exp.tag+" OK expunged",
				"* 11 EXISTS", "* OK [NOMODSEQ] not the SELECT's", app.tag+" OK [APPENDUID 7 20:21] appended")
			if refuse {
				s.send(sel2.tag+" NO [UNAVAILABLE] not now", fetch.tag+" BAD no mailbox selected")
				return
			}
			s.send("* 11 EXISTS", "* OK [UIDVALIDITY 7] ok", "* OK [UIDNEXT 22] ok", "* OK [HIGHESTMODSEQ 60] ok", sel2.tag+" OK [READ-WRITE] selected",
				`* 10 FETCH (UID 20 FLAGS (\Seen) MODSEQ (58))`, fetch.tag+" OK fetched")
		})
		c := dialFake(t, fs, fakeCred())
		ctx := context.Background()
		if _, err := c.Select(ctx, "INBOX", false); err != nil {
			t.Fatal(err)
		}
		c.SetAppendOptions(AppendOptions{Batch: 8})
		msg := func(body string, hour int) Message {
			return Message{Size: int64(len(body)), Body: bytes.NewReader([]byte(body)), Date: time.Date(2026, 2, 1, hour, 0, 0, 0, time.UTC)}
		}
		msgs := []Message{msg("Subject: one\r\n\r\n", 10), msg("Subject: two\r\n\r\n", 11)}
		msgs[0].Flags = []string{`\Seen`}
		w, f, readErr, err := c.WriteThenRead(ctx, []Change{{UIDs: "4", Expunge: true}}, "INBOX", msgs, &FolderRead{FlagsSince: 50})
		if err != nil || len(w.Changes) != 1 || w.Changes[0] != nil {
			t.Fatalf("refuse=%v: changes %v, err %v", refuse, w.Changes, err)
		}
		if len(w.Appended) != 2 || w.Appended[0].Err != nil || w.Appended[0].UID != 20 || w.Appended[1].UID != 21 {
			t.Errorf("refuse=%v: appended %+v", refuse, w.Appended)
		}
		if refuse {
			if readErr == nil {
				t.Errorf("a refused SELECT gave no readErr: %+v", f)
			}
			continue
		}
		if readErr != nil || f.Status.NoModSeq || f.Status.Exists != 11 || f.Status.UIDNext != 22 || f.Status.HighestModSeq != 60 || len(f.Changed) != 1 || f.Changed[0].UID != 20 {
			t.Errorf("read: %+v, readErr %v", f, readErr)
		}
		if c.Selected() != "INBOX" {
			t.Errorf("selected %q after the read", c.Selected())
		}
	}
}

// TestFakeListStatusAsksNamespace: ListStatus writes a NAMESPACE ahead of its LIST, both before either is
// answered; Namespaces then answers from it without a command.
func TestFakeListStatusAsksNamespace(t *testing.T) {
	fs := startFake(t, func(s *fakeSession) {
		s.greetAndLogin(fakeCaps + " NAMESPACE LIST-STATUS")
		ns, list := s.readCommand(), s.readCommand()
		if !strings.HasSuffix(ns.text, " NAMESPACE") || !strings.Contains(list.text, ` LIST "" "*" RETURN (STATUS (`) {
			s.t.Errorf("commands: %q, %q", ns.text, list.text)
		}
		s.send(`* NAMESPACE (("" "/")) (("Other Users/" "/")) NIL`, ns.tag+" OK done",
			`* LIST () "/" INBOX`, `* STATUS INBOX (MESSAGES 3 UIDNEXT 4 UIDVALIDITY 1)`, list.tag+" OK listed")
		next := s.readCommand()
		if !strings.HasSuffix(next.text, " NOOP") {
			s.t.Errorf("after the listing: %q, want the NOOP (no NAMESPACE again)", next.text)
		}
		s.send(next.tag + " OK noop")
	})
	c := dialFake(t, fs, fakeCred())
	ctx := context.Background()
	folders, status, err := c.ListStatus(ctx)
	if err != nil || len(folders) != 1 || status["INBOX"].Exists != 3 {
		t.Fatalf("ListStatus: %+v %+v %v", folders, status, err)
	}
	ns, err := c.Namespaces(ctx)
	if err != nil || len(ns.Other) != 1 || ns.Other[0].Prefix != "Other Users/" {
		t.Errorf("Namespaces: %+v %v", ns, err)
	}
	if _, err := c.RoundTrip(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestFakeWriteThenReadInTurn: a server without non-synchronizing literals gets the same commands one
// after the other, the message as it was given (its body was read already, for the pipelined form).
func TestFakeWriteThenReadInTurn(t *testing.T) {
	fs := startFake(t, func(s *fakeSession) {
		s.greetAndLogin("AUTH=PLAIN SASL-IR UIDPLUS MULTIAPPEND CONDSTORE")
		sel := s.readCommand()
		s.send("* 10 EXISTS", "* OK [UIDVALIDITY 7] ok", sel.tag+" OK [READ-WRITE] selected")
		exp := s.readCommand()
		if !strings.HasSuffix(exp.text, " UID EXPUNGE 4") {
			s.t.Errorf("first command: %q", exp.text)
		}
		s.send("* 3 EXPUNGE", exp.tag+" OK expunged")
		app := s.readCommand()
		if len(app.literals) != 1 || app.literals[0] != "Subject: one\r\n\r\n" {
			s.t.Errorf("APPEND %q %q", app.text, app.literals)
		}
		s.send("* 10 EXISTS", app.tag+" OK [APPENDUID 7 20] appended")
		sel2 := s.readCommand()
		s.send("* 10 EXISTS", "* OK [UIDVALIDITY 7] ok", "* OK [UIDNEXT 21] ok", sel2.tag+" OK [READ-WRITE] selected")
	})
	c := dialFake(t, fs, fakeCred())
	ctx := context.Background()
	if _, err := c.Select(ctx, "INBOX", false); err != nil {
		t.Fatal(err)
	}
	body := "Subject: one\r\n\r\n"
	w, f, readErr, err := c.WriteThenRead(ctx, []Change{{UIDs: "4", Expunge: true}}, "INBOX",
		[]Message{{Size: int64(len(body)), Body: strings.NewReader(body)}}, &FolderRead{})
	if err != nil || readErr != nil || w.Changes[0] != nil || w.Appended[0].Err != nil || w.Appended[0].UID != 20 || f.Status.UIDNext != 21 {
		t.Errorf("written %+v, read %+v, readErr %v, err %v", w, f, readErr, err)
	}
}
