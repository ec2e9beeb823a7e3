package imapbulk

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/imapconn"
)

func TestFakeThrottled(t *testing.T) {
	fs := startFake(t, func(s *fakeSession) {
		s.greetAndLogin(fakeCaps)
		cmd := s.readCommand()
		s.send(cmd.tag + " NO Request is throttled. Suggested Backoff Time: 34 milliseconds")
		cmd = s.readCommand()
		s.send(cmd.tag + " OK " + fmtAppendUID(7, 1) + " stored")
	})
	c := dialFake(t, fs, fakeCred())
	res, err := c.Append(context.Background(), "INBOX", []Message{msgOf("a\r\n"), msgOf("b\r\n")})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	var te *ThrottledError
	if !errors.As(res[0].Err, &te) {
		t.Fatalf("result 0: want *ThrottledError, got %v", res[0].Err)
	}
	if te.Backoff != 34*time.Millisecond {
		t.Errorf("Backoff = %v, want 34ms", te.Backoff)
	}
	if !IsTransient(res[0].Err) || !errors.Is(res[0].Err, ErrUnavailable) {
		t.Errorf("throttling must be transient and ErrUnavailable: %v", res[0].Err)
	}
	if res[1].Err != nil || res[1].UID != 1 || res[1].UIDValidity != 7 {
		t.Errorf("result 1 = %+v, want UID 1 validity 7", res[1])
	}
}

func TestFakeUnavailable(t *testing.T) {
	fs := startFake(t, func(s *fakeSession) {
		s.greetAndLogin(fakeCaps)
		cmd := s.readCommand()
		s.send(cmd.tag + " NO [UNAVAILABLE] Backend down, try later")
	})
	c := dialFake(t, fs, fakeCred())
	_, err := c.Select(context.Background(), "INBOX", false)
	if !errors.Is(err, ErrUnavailable) || !IsTransient(err) || imapconn.KindOf(err) != imapconn.Unreachable {
		t.Fatalf("want transient ErrUnavailable (Unreachable), got %v (kind %s)", err, imapconn.KindOf(err))
	}
	var te *ThrottledError
	if errors.As(err, &te) {
		t.Errorf("[UNAVAILABLE] is not throttling")
	}
}

func TestFakeOAuth(t *testing.T) {
	const token = "ya29.secret-token-XYZ"
	cases := []struct {
		mech, caps, wantIR, failReply string
	}{
		{imapconn.MechanismXOAUTH2, "AUTH=XOAUTH2 SASL-IR",
			"user=alice@example.test\x01auth=Bearer " + token + "\x01\x01", ""},
		{imapconn.MechanismOAuthBearer, "AUTH=OAUTHBEARER SASL-IR",
			"n,a=alice@example.test,\x01host=127.0.0.1\x01port=PORT\x01auth=Bearer " + token + "\x01\x01", "AQ=="},
		{imapconn.MechanismOAuthBearer, "AUTH=OAUTHBEARER", // no SASL-IR: initial response after "+ "
			"n,a=alice@example.test,\x01host=127.0.0.1\x01port=PORT\x01auth=Bearer " + token + "\x01\x01", "AQ=="},
	}
	for _, tc := range cases {
		for _, fail := range []bool{false, true} {
			name := tc.mech + map[bool]string{false: "/ok", true: "/fail"}[fail]
			if !strings.Contains(tc.caps, "SASL-IR") {
				name += "/no-sasl-ir"
			}
			t.Run(name, func(t *testing.T) {
				var port string
				got := make(chan []string, 1)
				fs := startFake(t, func(s *fakeSession) {
					s.send("* OK [CAPABILITY IMAP4rev1 " + tc.caps + "] fake")
					var wire []string
					defer func() { got <- wire }()
					l := s.line()
					wire = append(wire, l)
					if !strings.Contains(tc.caps, "SASL-IR") {
						s.send("+ ")
						wire = append(wire, s.line())
					}
					tag, _, _ := strings.Cut(l, " ")
					if fail {
						s.send("+ " + base64.StdEncoding.EncodeToString([]byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`)))
						wire = append(wire, s.line())
						s.send(tag + " NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)")
						return
					}
					s.send(tag + " OK [CAPABILITY IMAP4rev1 " + tc.caps + "] welcome")
					l = s.line()
					wire = append(wire, l)
					tag, _, _ = strings.Cut(l, " ")
					s.send("* CAPABILITY IMAP4rev1", tag+" OK done")
				})
				port = strings.TrimPrefix(fs.ln.Addr().String(), "127.0.0.1:")
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c, err := Dial(ctx, fs.endpoint(), imapconn.Credentials{Login: "alice@example.test", Mechanism: tc.mech, Token: token})
				if c != nil {
					defer c.netConn.Close()
				}
				wire := <-got
				ir := base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(tc.wantIR, "PORT", port)))
				wantFirst := "A1 AUTHENTICATE " + tc.mech + " " + ir
				if !strings.Contains(tc.caps, "SASL-IR") {
					wantFirst = "A1 AUTHENTICATE " + tc.mech
					if len(wire) < 2 || wire[1] != ir {
						t.Errorf("initial response after continuation: got %q, want %q", wire, ir)
					}
				}
				if len(wire) == 0 || wire[0] != wantFirst {
					t.Fatalf("wire: got %q, want first line %q", wire, wantFirst)
				}
				if !fail {
					if err != nil {
						t.Fatalf("Dial: %v", err)
					}
					return
				}
				if imapconn.KindOf(err) != imapconn.AuthenticationFailed {
					t.Fatalf("want AuthenticationFailed, got %v", err)
				}
				if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), ir) {
					t.Errorf("token in error: %v", err)
				}
				if last := wire[len(wire)-1]; last != tc.failReply {
					t.Errorf("reply to the error challenge: got %q, want %q", last, tc.failReply)
				}
			})
		}
	}
}

func TestFakeByeMidPipeline(t *testing.T) {
	fs := startFake(t, func(s *fakeSession) {
		s.greetAndLogin(fakeCaps)
		for i := 1; i <= 3; i++ {
			cmd := s.readCommand()
			s.send(cmd.tag + " OK " + fmtAppendUID(9, i) + " done")
		}
		s.send("* BYE server shutting down")
	})
	c := dialFake(t, fs, fakeCred())
	var msgs []Message
	for i := 0; i < 10; i++ {
		msgs = append(msgs, msgOf("Subject: x\r\n\r\nbody\r\n", `\Seen`))
	}
	res, err := c.Append(context.Background(), "INBOX", msgs)
	if err == nil || !IsTransient(err) {
		t.Fatalf("Append: want a transient error for the lost connection, got %v", err)
	}
	for i, r := range res {
		if i < 3 {
			if r.Err != nil || r.UID != uint32(i+1) {
				t.Errorf("result %d = %+v, want stored with UID %d", i, r, i+1)
			}
			continue
		}
		if r.Err == nil || !IsTransient(r.Err) {
			t.Errorf("result %d: want a transient error, got %v", i, r.Err)
		}
	}
	if _, err := c.Select(context.Background(), "INBOX", false); err == nil {
		t.Error("a Conn whose server said BYE must refuse further commands")
	}
}

func TestFakeAppendLimitPrecheck(t *testing.T) {
	seen := make(chan []fakeCommand, 1)
	fs := startFake(t, func(s *fakeSession) {
		s.greetAndLogin(fakeCaps + " APPENDLIMIT=1000")
		var cmds []fakeCommand
		defer func() { seen <- cmds }()
		for i := 0; i < 2; i++ {
			cmd := s.readCommand()
			cmds = append(cmds, cmd)
			if i == 0 {
				s.send(cmd.tag + " OK " + fmtAppendUID(3, 1) + " done")
			} else {
				// A server whose per-mailbox limit is lower than the global one.
				s.send(cmd.tag + " NO [TOOBIG] Message too large")
			}
		}
	})
	c := dialFake(t, fs, fakeCred())
	res, err := c.Append(context.Background(), "INBOX", []Message{
		msgOf(strings.Repeat("a", 500)),
		msgOf(strings.Repeat("b", 2000)), // over APPENDLIMIT: never sent
		msgOf(strings.Repeat("c", 900)),
	})
	if err != nil {
		t.Fatal(err)
	}
	cmds := <-seen
	if len(cmds) != 2 || strings.Contains(strings.Join(cmds[0].literals, "")+strings.Join(cmds[1].literals, ""), "b") {
		t.Fatalf("the message over APPENDLIMIT was sent: %d commands", len(cmds))
	}
	if res[0].Err != nil || res[0].UID != 1 {
		t.Errorf("result 0 = %+v", res[0])
	}
	for _, i := range []int{1, 2} {
		if !errors.Is(res[i].Err, ErrTooBig) || IsTransient(res[i].Err) {
			t.Errorf("result %d: want non-transient ErrTooBig, got %v", i, res[i].Err)
		}
	}
}

func TestFakeSynchronizingLiterals(t *testing.T) {
	seen := make(chan []fakeCommand, 1)
	fs := startFake(t, func(s *fakeSession) {
		s.greetAndLogin("AUTH=PLAIN SASL-IR UIDPLUS")
		var cmds []fakeCommand
		defer func() { seen <- cmds }()
		// 1st: normal; 2nd: refused instead of a continuation (RFC 7889
		// §4); 3rd: normal.
		cmd := s.readCommand()
		cmds = append(cmds, cmd)
		s.send(cmd.tag + " OK " + fmtAppendUID(5, 10) + " done")
		l := s.line()
		tag, _, _ := strings.Cut(l, " ")
		cmds = append(cmds, fakeCommand{tag: tag, text: l})
		s.send(tag + " NO [TOOBIG] Too large for this mailbox")
		cmd = s.readCommand()
		cmds = append(cmds, cmd)
		s.send(cmd.tag + " OK " + fmtAppendUID(5, 11) + " done")
	})
	c := dialFake(t, fs, fakeCred())
	res, err := c.Append(context.Background(), "Sent Items", []Message{
		msgOf("one\r\n", `\Seen`, "$Forwarded"), msgOf("two\r\n"), msgOf("three\r\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	cmds := <-seen
	want := `B1 APPEND "Sent Items" (\Seen $Forwarded) " 5-Mar-2024 07:08:09 +0100" {5}<literal>`
	if len(cmds) != 3 || cmds[0].text != want || cmds[0].literals[0] != "one\r\n" {
		t.Fatalf("first command: got %+v, want %q", cmds, want)
	}
	if !strings.HasSuffix(cmds[1].text, "{5}") || cmds[2].literals[0] != "three\r\n" {
		t.Errorf("commands: %+v", cmds)
	}
	if res[0].UID != 10 || res[2].UID != 11 || !errors.Is(res[1].Err, ErrTooBig) {
		t.Errorf("results: %+v", res)
	}
}

func TestFakeSizeMismatch(t *testing.T) {
	seen := make(chan []fakeCommand, 1)
	fs := startFake(t, func(s *fakeSession) {
		s.greetAndLogin(fakeCaps)
		var cmds []fakeCommand
		defer func() { seen <- cmds }()
		for i := 0; i < 2; i++ {
			cmd := s.readCommand()
			cmds = append(cmds, cmd)
			s.send(cmd.tag + " OK " + fmtAppendUID(1, i+1) + " done")
		}
	})
	c := dialFake(t, fs, fakeCred())
	short := msgOf("abc")
	short.Size = 10
	long := msgOf("abcdefghijkl")
	long.Size = 4
	res, err := c.Append(context.Background(), "INBOX", []Message{msgOf("ok1"), short, long, msgOf("ok2")})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res[1].Err, ErrSizeMismatch) || !errors.Is(res[2].Err, ErrSizeMismatch) {
		t.Errorf("want ErrSizeMismatch, got %v / %v", res[1].Err, res[2].Err)
	}
	if res[0].UID != 1 || res[3].UID != 2 {
		t.Errorf("results: %+v", res)
	}
	if cmds := <-seen; len(cmds) != 2 || cmds[1].literals[0] != "ok2" {
		t.Errorf("sent: %+v", cmds)
	}
}

func TestFakeMultiAppendBatch(t *testing.T) {
	fs := startFake(t, func(s *fakeSession) {
		s.greetAndLogin(fakeCaps)
		cmd := s.readCommand()
		if len(cmd.literals) != 3 {
			s.t.Errorf("want 3 messages in one MULTIAPPEND, got %d: %q", len(cmd.literals), cmd.text)
		}
		s.send(cmd.tag + " OK [APPENDUID 4 20:22] done")
		cmd = s.readCommand()
		s.send(cmd.tag + " NO [OVERQUOTA] Quota exceeded")
		// AppendOneByOne: one message per command, whatever Batch says.
		for i := 0; i < 2; i++ {
			cmd = s.readCommand()
			if len(cmd.literals) != 1 {
				s.t.Errorf("AppendOneByOne sent %d messages in one command: %q", len(cmd.literals), cmd.text)
			}
			if i == 0 {
				s.send(cmd.tag + " OK [APPENDUID 4 23] done")
			} else {
				s.send(cmd.tag + " NO [OVERQUOTA] Quota exceeded")
			}
		}
	})
	c := dialFake(t, fs, fakeCred())
	c.SetAppendOptions(AppendOptions{Batch: 3})
	var msgs []Message
	for i := 0; i < 5; i++ {
		msgs = append(msgs, msgOf("m\r\n"))
	}
	res, err := c.Append(context.Background(), "INBOX", msgs)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if res[i].UID != uint32(20+i) || res[i].UIDValidity != 4 {
			t.Errorf("result %d = %+v", i, res[i])
		}
	}
	for i := 3; i < 5; i++ {
		if !errors.Is(res[i].Err, ErrOverQuota) || !errors.Is(res[i].Err, ErrBatchRefused) {
			t.Errorf("result %d: want ErrOverQuota and ErrBatchRefused for the whole batch, got %v", i, res[i].Err)
		}
	}
	alone, err := c.AppendOneByOne(context.Background(), "INBOX", []Message{msgOf("m\r\n"), msgOf("m\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	if alone[0].Err != nil || alone[0].UID != 23 {
		t.Errorf("first message alone = %+v, want stored as UID 23", alone[0])
	}
	if !errors.Is(alone[1].Err, ErrOverQuota) || errors.Is(alone[1].Err, ErrBatchRefused) {
		t.Errorf("second message alone: want its own ErrOverQuota, not a batch refusal, got %v", alone[1].Err)
	}
}

func TestFakeCancelMidAppend(t *testing.T) {
	fs := startFake(t, func(s *fakeSession) {
		s.greetAndLogin(fakeCaps)
		// Read everything, answer nothing: the client must give up
		// when its context ends.
		for s.readCommand().tag != "" {
		}
	})
	c := dialFake(t, fs, fakeCred())
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var msgs []Message
	for i := 0; i < 100; i++ {
		msgs = append(msgs, msgOf(strings.Repeat("x", 10000)))
	}
	start := time.Now()
	res, err := c.Append(ctx, "INBOX", msgs)
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("Append took %v after the context ended", el)
	}
	if imapconn.KindOf(err) != imapconn.Timeout {
		t.Fatalf("want Timeout, got %v", err)
	}
	for i, r := range res {
		if r.Err == nil {
			t.Fatalf("result %d has no error", i)
		}
	}
}

// TestFakeAppendStreamPipelinesBatches: a batch sent while the one before it awaits its reply is written at
// once, so the server reads both batches' commands before it answers either; each batch gets its own
// results, in its own order.
func TestFakeAppendStreamPipelinesBatches(t *testing.T) {
	fs := startFake(t, func(s *fakeSession) {
		s.greetAndLogin(fakeCaps)
		first, second := s.readCommand(), s.readCommand()
		if !strings.Contains(first.text, "APPEND INBOX ") || !strings.Contains(second.text, `APPEND "Sent" `) {
			s.t.Errorf("commands read: %q, %q", first.text, second.text)
		}
		if len(first.literals) != 2 || len(second.literals) != 1 || second.literals[0] != "c\r\n" {
			s.t.Errorf("literals: %q, %q", first.literals, second.literals)
		}
		s.send(first.tag+" OK [APPENDUID 4 10:11] done", second.tag+" NO [OVERQUOTA] Quota exceeded")
		third := s.readCommand()
		s.send(third.tag + " OK [APPENDUID 4 12] done")
	})
	c := dialFake(t, fs, fakeCred())
	c.SetAppendOptions(AppendOptions{Batch: 16})
	s := c.AppendStream(context.Background())
	a := s.Send("INBOX", []Message{msgOf("a\r\n"), msgOf("b\r\n")}, false)
	b := s.Send("Sent", []Message{msgOf("c\r\n")}, false)
	ra, err := a.Wait()
	if err != nil || ra[0].UID != 10 || ra[1].UID != 11 || ra[0].Err != nil || ra[1].Err != nil {
		t.Errorf("first batch: %+v, %v", ra, err)
	}
	rb, err := b.Wait()
	if err != nil || !errors.Is(rb[0].Err, ErrOverQuota) || errors.Is(rb[0].Err, ErrBatchRefused) {
		t.Errorf("second batch: want its own ErrOverQuota, got %+v, %v", rb, err)
	}
	// A batch sent after the others were answered still goes out on the same stream.
	rc, err := s.Send("INBOX", []Message{msgOf("d\r\n")}, true).Wait()
	if err != nil || rc[0].Err != nil || rc[0].UID != 12 {
		t.Errorf("third batch: %+v, %v", rc, err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if res, err := s.Send("INBOX", []Message{msgOf("e\r\n")}, false).Wait(); err == nil || !errors.Is(res[0].Err, ErrNotSent) {
		t.Errorf("a batch sent after Close: want ErrNotSent and an error, got %+v, %v", res, err)
	}
}

// TestFakeAppendStreamLostConnection: the connection drops after the first batch is answered and while the
// second awaits its reply. The first keeps its outcome; the second's messages were sent, so they are
// transient failures and not ErrNotSent; a batch sent afterwards was not sent at all.
func TestFakeAppendStreamLostConnection(t *testing.T) {
	received := make(chan struct{})
	fs := startFake(t, func(s *fakeSession) {
		s.greetAndLogin(fakeCaps)
		first := s.readCommand()
		s.send(first.tag + " OK [APPENDUID 4 10] done")
		s.readCommand()
		close(received)
		s.conn.Close()
	})
	c := dialFake(t, fs, fakeCred())
	s := c.AppendStream(context.Background())
	a := s.Send("INBOX", []Message{msgOf("a\r\n")}, false)
	b := s.Send("INBOX", []Message{msgOf("b\r\n")}, false)
	if ra, err := a.Wait(); err != nil || ra[0].Err != nil || ra[0].UID != 10 {
		t.Errorf("first batch: %+v, %v", ra, err)
	}
	rb, err := b.Wait()
	if err == nil || !IsTransient(rb[0].Err) || errors.Is(rb[0].Err, ErrNotSent) {
		t.Errorf("second batch: want a transient error for a sent message, got %+v, %v", rb, err)
	}
	<-received
	rc, err := s.Send("INBOX", []Message{msgOf("c\r\n")}, false).Wait()
	if err == nil || !errors.Is(rc[0].Err, ErrNotSent) {
		t.Errorf("batch after the loss: want ErrNotSent, got %+v, %v", rc, err)
	}
	if err := s.Close(); err == nil || !IsTransient(err) {
		t.Errorf("Close: want the transient connection error, got %v", err)
	}
}

// TestFakeRefusalOutOfStep: Cyrus refuses an APPEND it failed before reading the literal, then answers the
// message's first line as a command. That refusal is no verdict (the server may have stored the message): the
// message is left as on a lost connection, to be tried again on a new one. A refusal alone stays a refusal.
func TestFakeRefusalOutOfStep(t *testing.T) {
	for _, c := range []struct {
		name      string
		reply     string
		verdictNO bool
	}{
		{"refusal then a reply for a tag never sent", " NO System I/O error\r\nFrom: BAD Unrecognized command", false},
		{"refusal alone", " NO System I/O error", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := startFake(t, func(s *fakeSession) {
				s.greetAndLogin(fakeCaps)
				cmd := s.readCommand()
				// One write: the two replies arrive together, as they leave the server.
				s.send(cmd.tag + c.reply)
				s.line()
			})
			conn := dialFake(t, fs, fakeCred())
			res, err := conn.Append(context.Background(), "INBOX", []Message{msgOf("From: a@b\r\n\r\nbody\r\n")})
			var got error
			if err != nil {
				got = err
			} else {
				got = res[0].Err
			}
			lost := errors.Is(got, ErrConnectionLost)
			if lost == c.verdictNO || got == nil {
				t.Errorf("got %v; want the connection lost: %v (a refusal: %v)", got, !c.verdictNO, c.verdictNO)
			}
			conn.Close()
		})
	}
}

// TestFakeThrottledThenReset: Exchange throttles an APPEND and drops the connection while the client is still
// writing the commands pipelined after it, so the client's write fails (the peer reset the connection) at
// about the moment its reader gets the refusal. The refusal was sent before the reset and must be read: it
// says how long to wait, and a client that lost it comes back at once, which Exchange throttles harder. The
// race is run many times over, since which side of the client notices first is up to the scheduler.
func TestFakeThrottledThenReset(t *testing.T) {
	body := "Subject: big\r\n\r\n" + strings.Repeat("x", 256<<10) + "\r\n"
	for round := range 40 {
		fs := startFake(t, func(s *fakeSession) {
			s.greetAndLogin(fakeCaps)
			cmd := s.readCommand()
			// The reply and the reset together, with the client's next commands unread: the close sends a
			// reset, and the client, blocked writing them, fails.
			s.send(cmd.tag + " NO Request is throttled. Suggested Backoff Time: 1500 milliseconds")
			s.conn.(*net.TCPConn).SetLinger(0)
			s.conn.Close()
		})
		c := dialFake(t, fs, fakeCred())
		msgs := make([]Message, 12)
		for i := range msgs {
			msgs[i] = msgOf(body)
		}
		res, err := c.Append(context.Background(), "INBOX", msgs)
		if err == nil || !IsTransient(err) {
			t.Fatalf("round %d: Append: want a transient error for the dropped connection, got %v", round, err)
		}
		var te *ThrottledError
		if !errors.As(res[0].Err, &te) || te.Backoff != 1500*time.Millisecond {
			t.Fatalf("round %d: the first message's outcome is %v, want the server's throttling reply (back off 1.5s)", round, res[0].Err)
		}
		for i, r := range res[1:] {
			if !IsTransient(r.Err) {
				t.Fatalf("round %d: message %d: want a transient error, got %v", round, i+1, r.Err)
			}
		}
		c.Close()
	}
}
