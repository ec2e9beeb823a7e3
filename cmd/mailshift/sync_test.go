package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/atomicfile"
	"github.com/mailshift/mailshift/internal/clicommon/clitest"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/mailsync"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestSyncCommand runs `mailshift sync` as an admin would, between a real Dovecot (a PST's folders migrated
// into it) and a real Cyrus: usage errors, a two-way sync killed (SIGKILL) at many points and run again,
// after which both sides hold the same messages, none twice and none lost, and a state in use.
func TestSyncCommand(t *testing.T) {
	dovecot, cyrus := testserver.Dovecot(t), testserver.Cyrus(t, "modern")
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, append(append([]byte{}, dovecot.CAPEM...), cyrus.CAPEM...), 0o600)
	from := "imap://alice@" + dovecot.Addr()
	to := "imap://bob@" + cyrus.Addr()
	env := []string{"MAILSHIFT_FROM_PASSWORD=" + dovecot.Users["alice"].Password, "MAILSHIFT_TO_PASSWORD=" + cyrus.Users["bob"].Password}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	alicePw := filepath.Join(dir, "alice-pw")
	os.WriteFile(alicePw, []byte(dovecot.Users["alice"].Password), 0o600)
	if code := run([]string{"migrate", "--from", "pst:" + filepath.Join(pstFixtureDir(t), "pst2john-97_outlook_qwerty12345.pst"), "--to", from,
		"--to-password-file", alicePw, "--ca-file", ca, "--checkpoint", filepath.Join(dir, "cp")}, &out, &errb); code != 0 {
		t.Fatalf("seeding the source: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	sourceBefore := folderCounts(t, dovecot, "alice")

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", from, "--to", to}, "need --from, --to and --state"},
		{[]string{"--from", from, "--to", to, "--state", dir, "--direction", "both"}, "--direction must be one-way or two-way"},
		{[]string{"--from", from, "--to", to, "--state", dir, "--deletions", "drop"}, "--deletions must be"},
		{[]string{"--from", from, "--to", to, "--state", dir, "--interval", "10ms"}, "--interval must be at least 1s"},
		{[]string{"--from", from, "--to", to, "--state", dir, "--parallel", "0"}, "--parallel must be from 1 to 32"},
		{[]string{"--from", from, "--to", to, "--state", dir, "--folder", "=x"}, "write SOURCE or SOURCE=TARGET"},
		{[]string{"--from", from, "--to", to, "--state", dir, "--items", "mail,faxes"}, `--items: "faxes" is none of mail, calendar`},
		{[]string{"--from", from, "--to", to, "--state", dir, "--calendar", "separate:"}, "--calendar must be default or separate:NAME"},
		{[]string{"--from", "pst:x.pst", "--to", to, "--state", dir}, "--from must be imap://"},
		{[]string{"--from", from, "--to", to, "--state", dir, "--tls", "none"}, "--allow-plaintext"},
	} {
		out.Reset()
		errb.Reset()
		if code := run(append([]string{"sync"}, c.args...), &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("sync %q: exit %d, stderr %q; want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}

	// Killed at many points: the process dies with copies sent and not confirmed, state not saved.
	bin := filepath.Join(dir, "mailshift")
	if b, err := exec.Command(clitest.GoCommand(), "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	state := filepath.Join(dir, "state")
	args := []string{"sync", "--from", from, "--to", to, "--ca-file", ca, "--state", state, "--direction", "two-way", "--deletions", "propagate"}
	for _, d := range []time.Duration{150, 250, 350, 500, 700, 1000} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(d * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	report := filepath.Join(dir, "report.json")
	var rep mailsync.Report
	for range 2 { // a copy the server stored after the kill, and copied again meanwhile, goes at the second
		out.Reset()
		errb.Reset()
		if code := run(append(args, "--report", report), &out, &errb); code != 0 {
			t.Fatalf("sync after the kills: exit %d\n%s\n%s", code, out.String(), errb.String())
		}
		b, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("report: %v", err)
		}
	}
	t.Logf("last cycle:\n%s", out.String())
	if !strings.Contains(out.String(), "cycle: to target") {
		t.Errorf("no summary:\n%s", out.String())
	}
	source, target := folderCounts(t, dovecot, "alice"), folderCounts(t, cyrus, "bob")
	for name, n := range sourceBefore {
		if source[name] != n {
			t.Errorf("source folder %q holds %d messages, %d before the sync: something was copied back or lost", name, source[name], n)
		}
	}
	paired := 0
	for _, f := range rep.Folders {
		if f.Error != "" {
			t.Errorf("folder %q: %s", f.A, f.Error)
			continue
		}
		paired++
		if source[f.A] != target[f.B] {
			t.Errorf("%q holds %d messages on the source, %q %d on the target", f.A, source[f.A], f.B, target[f.B])
		}
	}
	if paired < 3 {
		t.Errorf("only %d folders paired: %+v", paired, rep.Folders)
	}

	// Another sync on the same state waits its turn: exit 3, nothing done.
	unlock, err := atomicfile.Lock(filepath.Join(state, stateNameOf(t, dovecot, cyrus)))
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	if code := run(args, &out, &errb); code != 3 || !strings.Contains(errb.String(), "process "+strconv.Itoa(os.Getpid())) {
		t.Errorf("state in use: exit %d\n%s", code, errb.String())
	}
	unlock()
}

func stateNameOf(t *testing.T, a, b *testserver.Server) string {
	ep := func(s *testserver.Server) imapconn.Endpoint {
		return imapconn.Endpoint{Host: s.Host, Port: s.Port, TLS: imapconn.TLSStartTLS}
	}
	return stateName(ep(a), imapconn.Credentials{Login: "alice"}, ep(b), imapconn.Credentials{Login: "bob"})
}

// folderCounts is how many messages each folder of a user holds.
func folderCounts(t *testing.T, srv *testserver.Server, user string) map[string]uint32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := imapbulk.Dial(ctx, imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSStartTLS, CAPEM: srv.CAPEM},
		imapconn.Credentials{Login: user, Password: srv.Users[user].Password, Flavor: srv.Flavor})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	list, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint32{}
	for _, f := range list {
		if !f.Selectable() {
			continue
		}
		st, err := c.Status(ctx, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = st.Exists
	}
	return out
}
