package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/testserver"
	"github.com/mailshift/mailshift/worker"
)

// TestMigrateCommand runs `mailshift migrate` as an admin would: a PST into a real Dovecot, a JSON report,
// a re-run that copies nothing, the size policy, and the usage and login errors.
func TestMigrateCommand(t *testing.T) {
	srv := testserver.Dovecot(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	pw := filepath.Join(dir, "pw")
	os.WriteFile(ca, srv.CAPEM, 0o600)
	os.WriteFile(pw, []byte(srv.Users["alice"].Password+"\n"), 0o600)
	to := "imap://alice@" + srv.Host + ":" + strconv.Itoa(srv.Port)
	file := filepath.Join(pstFixtureDir(t), "pst2john-Outlook_enc.pst")
	migrate := func(extra ...string) (int, string, string, *worker.Report) {
		rep := filepath.Join(dir, "report.json")
		os.Remove(rep)
		from := file
		if len(extra) > 0 && strings.HasSuffix(extra[0], ".pst") {
			from, extra = extra[0], extra[1:]
		}
		args := append([]string{"migrate", "--from", "pst:" + from, "--to", to, "--ca-file", ca, "--to-password-file", pw,
			"--report", rep, "--checkpoint", filepath.Join(dir, "cp.json")}, extra...)
		var out, errb bytes.Buffer
		code := run(args, &out, &errb)
		var r *worker.Report
		if b, err := os.ReadFile(rep); err == nil {
			r = &worker.Report{}
			if err := json.Unmarshal(b, r); err != nil {
				t.Fatalf("report: %v", err)
			}
		}
		return code, out.String(), errb.String(), r
	}
	code, out, errs, rep := migrate()
	if code != 0 || rep == nil {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if rep.Totals.Copied == 0 || rep.Totals.Copied != rep.Totals.Items || !strings.Contains(out, "total") {
		t.Errorf("copied %d of %d; summary:\n%s", rep.Totals.Copied, rep.Totals.Items, out)
	}
	if !strings.Contains(errs, "progress:") {
		t.Errorf("no progress lines on stderr (not a terminal): %q", errs)
	}
	code, out, _, again := migrate("--keep-order")
	if code != 0 || again.Totals.Copied != 0 || again.Totals.Duplicates != rep.Totals.Items {
		t.Errorf("re-run: exit %d, copied %d, present %d\n%s", code, again.Totals.Copied, again.Totals.Duplicates, out)
	}
	// The size policy, each with a PST of its own so its messages are new to the target.
	sized := func(policy, pst string) (int, *worker.Report) {
		code, _, _, r := migrate(filepath.Join(pstFixtureDir(t), pst), "--max-size", "4000", "--too-big", policy, "--checkpoint", filepath.Join(dir, policy+".json"))
		return code, r
	}
	if code, r := sized("skip", "pst2john-2003_no-encryption_quickquick.pst"); code != 0 || r.Totals.Skipped == 0 || len(r.Failed) != int(r.Totals.Skipped) || !strings.Contains(r.Failed[0].Reason, "over the 4000-byte limit") {
		t.Errorf("--too-big skip: exit %d, %+v", code, r.Totals)
	}
	if code, r := sized("fail", "hughbe-DFRWS2009-Outlook-Email.pst"); code != 1 || r.Totals.Failed == 0 {
		t.Errorf("--too-big fail: exit %d, %+v", code, r.Totals)
	}
	// Usage errors are exit 2; a wrong password is exit 1, named, and never printed.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "--from", "pst:" + file}, "need --from and --to"},
		{[]string{"migrate", "--from", "pst:" + file, "--to", "imap://alice:secret@" + srv.Host}, "password in the URL"},
		{[]string{"migrate", "--from", "pst:" + file, "--to", to, "--tls", "none", "--to-password-file", pw}, "--allow-plaintext"},
		{[]string{"migrate", "--from", "maildir:/x", "--to", to, "--to-password-file", pw}, "--from must be"},
	} {
		var out, errb bytes.Buffer
		if code := run(c.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%q: exit %d, stderr %q, want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("wrong-Secret-42\n"), 0o600)
	var o, e bytes.Buffer
	code = run([]string{"migrate", "--from", "pst:" + file, "--to", to, "--ca-file", ca, "--to-password-file", bad}, &o, &e)
	if code != 1 || !strings.Contains(e.String(), "AuthenticationFailed") || strings.Contains(o.String()+e.String(), "wrong-Secret-42") {
		t.Errorf("wrong password: exit %d, stderr %q", code, e.String())
	}
}
