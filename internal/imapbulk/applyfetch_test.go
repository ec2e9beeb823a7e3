package imapbulk

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestFakeApplyThenFetch: the bodies' UID FETCH is written with the last round of the changes (here the
// UID EXPUNGE, which waits for the STOREs), and a FETCH the server sends for a STORE (a mod-sequence, no
// body) is not taken for a body. A refused FETCH is fetchErr; the changes keep their own outcomes.
func TestFakeApplyThenFetch(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		fs := startFake(t, func(s *fakeSession) {
			s.greetAndLogin(fakeCaps + " CONDSTORE")
			sel := s.readCommand()
			s.send("* 10 EXISTS", "* OK [UIDVALIDITY 7] ok", sel.tag+" OK [READ-WRITE] selected")
			flag, del := s.readCommand(), s.readCommand()
			if !strings.Contains(flag.text, `UID STORE 3 +FLAGS.SILENT (\Flagged)`) || !strings.Contains(del.text, `UID STORE 4 +FLAGS.SILENT (\Deleted)`) {
				s.t.Errorf("first round: %q, %q", flag.text, del.text)
			}
			s.send(`* 2 FETCH (UID 3 MODSEQ (50))`, flag.tag+" OK stored", del.tag+" OK stored")
			expunge, fetch := s.readCommand(), s.readCommand()
			if !strings.Contains(expunge.text, "UID EXPUNGE 4") || !strings.Contains(fetch.text, "UID FETCH 7,9 (UID BODY.PEEK[])") {
				s.t.Errorf("second round: %q, %q", expunge.text, fetch.text)
			}
			s.send("* 3 EXPUNGE", expunge.tag+" OK expunged")
			if refuse {
				s.send(fetch.tag + " NO [UNAVAILABLE] not now")
				return
			}
			// A literal's bytes and the rest of its line are one line here: send ends each with CRLF.
			s.send("* 6 FETCH (UID 7 BODY[] {9}", "Subject: )",
				`* 1 FETCH (UID 1 FLAGS (\Seen))`,
				"* 8 FETCH (UID 9 BODY[] {5}", "Hello)", fetch.tag+" OK fetched")
		})
		c := dialFake(t, fs, fakeCred())
		ctx := context.Background()
		if _, err := c.Select(ctx, "INBOX", false); err != nil {
			t.Fatal(err)
		}
		got := map[uint32]string{}
		errs, fetchErr, err := c.ApplyThenFetch(ctx, []Change{
			{UIDs: "3", Store: "+FLAGS", Flags: []string{`\Flagged`}},
			{UIDs: "4", Store: "+FLAGS", Flags: []string{`\Deleted`}},
			{UIDs: "4", Expunge: true},
		}, Bodies{UIDs: []uint32{7, 9}, Open: func() io.Writer { return new(strings.Builder) }, Done: func(uid uint32, w io.Writer, _ int64) error {
			got[uid] = w.(*strings.Builder).String()
			return nil
		}})
		if err != nil || len(errs) != 3 || errs[0] != nil || errs[1] != nil || errs[2] != nil {
			t.Fatalf("refuse=%v: errs %v, err %v", refuse, errs, err)
		}
		if refuse {
			if !errors.Is(fetchErr, ErrUnavailable) || len(got) != 0 {
				t.Errorf("refused FETCH: fetchErr %v, bodies %v", fetchErr, got)
			}
			continue
		}
		if fetchErr != nil || len(got) != 2 || got[7] != "Subject: " || got[9] != "Hello" {
			t.Errorf("fetchErr %v, bodies %v", fetchErr, got)
		}
	}
}
