package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/testserver"
	"github.com/mailshift/mailshift/worker"
)

// TestMigrateOutbox: `mailshift migrate` copies a PST's Outbox (27 unsent messages) into Drafts by default
// and says so in the summary and the report; --skip-outbox leaves them out and says that instead. A
// Japanese ANSI file needs no --codepage: its folders keep their names.
func TestMigrateOutbox(t *testing.T) {
	srv := testserver.Dovecot(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, srv.CAPEM, 0o600)
	migrate := func(user, file string, extra ...string) (int, string, *worker.Report) {
		pw := filepath.Join(dir, user+".pw")
		os.WriteFile(pw, []byte(srv.Users[user].Password+"\n"), 0o600)
		rep := filepath.Join(dir, user+".json")
		args := append([]string{"migrate", "--from", "pst:" + filepath.Join(pstFixtureDir(t), file),
			"--to", "imap://" + user + "@" + srv.Host + ":" + strconv.Itoa(srv.Port), "--ca-file", ca, "--to-password-file", pw,
			"--report", rep, "--checkpoint", filepath.Join(dir, user+".cp")}, extra...)
		var out, errb bytes.Buffer
		code := run(args, &out, &errb)
		r := &worker.Report{}
		if b, err := os.ReadFile(rep); err != nil || json.Unmarshal(b, r) != nil {
			t.Fatalf("%s: exit %d, no report: %v\n%s", user, code, err, errb.String())
		}
		return code, out.String(), r
	}
	code, out, rep := migrate("alice", "pst2john-97_outlook_qwerty12345.pst")
	if code != 0 || rep.Totals.OutboxToDrafts != 27 || !strings.Contains(out, "27 unsent messages of the Outbox are in Drafts, flagged \\Draft") {
		t.Errorf("default: exit %d, totals %+v\n%s", code, rep.Totals, out)
	}
	if !regexp.MustCompile(`Outbox +Drafts +27 +27 `).MatchString(out) {
		t.Errorf("the summary does not show the Outbox going to Drafts:\n%s", out)
	}
	code, out, rep = migrate("bob", "pst2john-97_outlook_qwerty12345.pst", "--skip-outbox")
	if code != 0 || rep.Totals.OutboxSkipped != 27 || rep.Totals.OutboxToDrafts != 0 || !strings.Contains(out, "27 unsent messages of the Outbox skipped (--skip-outbox)") {
		t.Errorf("--skip-outbox: exit %d, totals %+v\n%s", code, rep.Totals, out)
	}
	code, out, rep = migrate("carol", "hiraoka-contacts97-2002.pst", "--root", "JP")
	var sources []string
	for _, f := range rep.Folders {
		sources = append(sources, f.Source)
	}
	if code != 0 || !strings.Contains(strings.Join(sources, "|"), "連絡先 (Contact dedicated)") || !strings.Contains(out, "削除済みアイテム") {
		t.Errorf("Japanese ANSI file: exit %d, folders %q\n%s", code, sources, out)
	}
}
