package imapbulk

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
)

// TestFolderAttrsServers: SUBSCRIBE (twice: re-runs subscribe again), LIST (SUBSCRIBED)/LSUB, SETMETADATA
// and GETMETADATA against Dovecot and Cyrus, with values the go-imap client reads back the same, a value that
// needs a literal, one removed, and one over MaxMetadataValue that comes back as TooLong.
func TestFolderAttrsServers(t *testing.T) {
	for _, sc := range serverCases {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			srv := sc.start(t)
			ctx := ctxT(t)
			c := dial(t, srv, userCred(srv, "alice"))
			sub, unsub := folderName(sc, "Abonniert ä"), folderName(sc, "Unsub")
			for _, n := range []string{sub, unsub} {
				if err := c.Create(ctx, n, ""); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; i < 2; i++ {
				if err := c.Subscribe(ctx, sub); err != nil {
					t.Fatalf("subscribe #%d: %v", i+1, err)
				}
			}
			subs, err := c.Subscribed(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !subs[sub] || subs[unsub] {
				t.Errorf("subscribed: %v, want %q and not %q", subs, sub, unsub)
			}

			multiline := "Zeile 1\r\nZeile 2 – ü"
			if err := c.SetMetadata(ctx, sub, map[string]string{"/private/comment": multiline, "/shared/comment": "plain",
				imapsession.SharedFolderTypeKey: "event"}); err != nil {
				t.Fatal(err)
			}
			s, err := imapsession.Dial(ctx, endpoint(srv, imapconn.TLSStartTLS), imapconn.Credentials{Login: srv.Users["alice"].Login, Password: srv.Users["alice"].Password, Flavor: srv.Flavor})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			other, err := s.GetMetadata(ctx, sub, "/private/comment", "/shared/comment", imapsession.SharedFolderTypeKey)
			if err != nil {
				t.Fatal(err)
			}
			if other["/private/comment"] != multiline || other["/shared/comment"] != "plain" || other[imapsession.SharedFolderTypeKey] != "event" {
				t.Errorf("go-imap reads %q", other)
			}
			if err := s.SetMetadata(ctx, unsub, map[string]string{"/private/comment": "written by go-imap"}); err != nil {
				t.Fatal(err)
			}
			md, err := c.GetMetadata(ctx, unsub, "/private/comment", "/shared/comment")
			if err != nil {
				t.Fatal(err)
			}
			if len(md.Entries) != 1 || md.Entries["/private/comment"] != "written by go-imap" || md.TooLong != 0 {
				t.Errorf("GetMetadata(%q) = %+v", unsub, md)
			}

			if err := c.SetMetadata(ctx, sub, map[string]string{"/shared/comment": ""}); err != nil {
				t.Fatal(err)
			}
			long := strings.Repeat("x", MaxMetadataValue+100)
			if err := c.SetMetadata(ctx, sub, map[string]string{"/private/comment": long}); err != nil {
				t.Fatalf("a %d-byte value: %v", len(long), err)
			}
			md, err = c.GetMetadata(ctx, sub, "/private/comment", "/shared/comment", imapsession.SharedFolderTypeKey)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := md.Entries["/shared/comment"]; ok {
				t.Errorf("the removed entry is still there: %+v", md.Entries)
			}
			if _, ok := md.Entries["/private/comment"]; ok || md.TooLong < int64(len(long)) || md.Entries[imapsession.SharedFolderTypeKey] != "event" {
				t.Errorf("with a %d-byte comment: entries %q, TooLong %d", len(long), md.Entries, md.TooLong)
			}

			// GetMetadataMany: the same answers as one GetMetadata per folder, from pipelined commands; a
			// folder that does not exist gets its own error and the others are read.
			missing := folderName(sc, "Fehlt")
			keys := []string{"/private/comment", "/shared/comment", imapsession.SharedFolderTypeKey}
			mds, errs, err := c.GetMetadataMany(ctx, []string{sub, missing, unsub, "INBOX"}, keys...)
			if err != nil {
				t.Fatal(err)
			}
			if errs[missing] == nil || len(errs) != 1 {
				t.Errorf("errors %v, want one for %q only", errs, missing)
			}
			for _, mb := range []string{sub, unsub, "INBOX"} {
				one, err := c.GetMetadata(ctx, mb, keys...)
				if err != nil {
					t.Fatal(err)
				}
				got, ok := mds[mb]
				if !ok || !maps.Equal(got.Entries, one.Entries) || got.TooLong != one.TooLong {
					t.Errorf("%q: GetMetadataMany %+v (found %v), GetMetadata %+v", mb, got, ok, one)
				}
			}
			if mds[unsub].Entries["/private/comment"] != "written by go-imap" {
				t.Errorf("GetMetadataMany(%q) = %+v", unsub, mds[unsub])
			}
		})
	}
}

// TestFolderAttrsHostile: a fake server that ignores MAXSIZE gets its long value dropped (and counted), one
// that never ends its LSUB answer gets an error instead of the process's memory, and a server without
// METADATA is told apart (NotSupported) without a command being sent.
func TestFolderAttrsHostile(t *testing.T) {
	t.Run("IgnoresMaxSize", func(t *testing.T) {
		long := strings.Repeat("y", MaxMetadataValue+1)
		fs := startFake(t, func(s *fakeSession) {
			s.greetAndLogin(fakeCaps + " METADATA")
			cmd := s.readCommand()
			if !strings.Contains(cmd.text, "(MAXSIZE 65536)") {
				s.t.Errorf("GETMETADATA without MAXSIZE: %q", cmd.text)
			}
			s.send(fmt.Sprintf(`* METADATA "Box" (/private/comment {%d}`, len(long)))
			s.send(long + ` /shared/comment "short" /private/other "not asked for")`)
			s.send(cmd.tag + " OK done")
		})
		c := dialFake(t, fs, fakeCred())
		md, err := c.GetMetadata(ctxT(t), "Box", "/private/comment", "/shared/comment")
		if err != nil {
			t.Fatal(err)
		}
		if len(md.Entries) != 1 || md.Entries["/shared/comment"] != "short" || md.TooLong != int64(len(long)) {
			t.Errorf("got %d entries %v, TooLong %d", len(md.Entries), md.Entries["/shared/comment"], md.TooLong)
		}
	})
	t.Run("EndlessLSUB", func(t *testing.T) {
		fs := startFake(t, func(s *fakeSession) {
			s.greetAndLogin(fakeCaps)
			cmd := s.readCommand()
			if !strings.HasPrefix(cmd.text, cmd.tag+" LSUB ") {
				s.t.Errorf("want LSUB, got %q", cmd.text)
			}
			var b strings.Builder
			for i := 0; ; i++ { // never the tagged reply
				fmt.Fprintf(&b, "* LSUB () \"/\" \"box%d\"\r\n", i)
				if b.Len() > 1<<16 {
					if _, err := s.conn.Write([]byte(b.String())); err != nil {
						return // the client gave up: that is what is tested
					}
					b.Reset()
				}
			}
		})
		c := dialFake(t, fs, fakeCred())
		_, err := c.Subscribed(ctxT(t))
		if err == nil || !strings.Contains(err.Error(), "subscribed mailboxes") {
			t.Fatalf("err = %v, want too many subscribed mailboxes", err)
		}
		if _, err := c.Subscribed(ctxT(t)); !errors.Is(err, ErrConnectionLost) {
			t.Errorf("after the overflow: %v, want the connection given up", err)
		}
	})
	t.Run("NoMetadata", func(t *testing.T) {
		fs := startFake(t, func(s *fakeSession) {
			s.greetAndLogin(fakeCaps)
			cmd := s.readCommand() // LOGOUT: nothing else may come
			if !strings.Contains(cmd.text, "LOGOUT") {
				s.t.Errorf("a command was sent to a server without METADATA: %q", cmd.text)
			}
			s.send("* BYE", cmd.tag+" OK")
		})
		c := dialFake(t, fs, fakeCred())
		_, err := c.GetMetadata(ctxT(t), "Box", "/private/comment")
		var ie *imapconn.Error
		if !errors.As(err, &ie) || ie.Kind != imapconn.NotSupported {
			t.Errorf("GetMetadata: %v, want NotSupported", err)
		}
		if err := c.SetMetadata(ctxT(t), "Box", map[string]string{"/private/comment": "x"}); imapconn.KindOf(err) != imapconn.NotSupported {
			t.Errorf("SetMetadata: %v, want NotSupported", err)
		}
		if err := c.SetMetadata(ctxT(t), "Box", map[string]string{"/private/bad key": "x"}); imapconn.KindOf(err) != imapconn.ProtocolError {
			t.Errorf("SetMetadata with a bad key: %v, want ProtocolError", err)
		}
		c.Close()
	})
}
