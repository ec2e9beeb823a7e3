package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
	"github.com/mailshift/mailshift/internal/testserver"
	"github.com/mailshift/mailshift/worker"
)

// TestMigrateRefusesBusyCheckpoint: while a run holds the checkpoint, `mailshift migrate` on the same
// checkpoint does nothing, says why and exits 3; once the lock is let go the same command runs.
func TestMigrateRefusesBusyCheckpoint(t *testing.T) {
	srv := testserver.Dovecot(t)
	dir := t.TempDir()
	ca, pw, cp := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "pw"), filepath.Join(dir, "cp.json")
	os.WriteFile(ca, srv.CAPEM, 0o600)
	os.WriteFile(pw, []byte(srv.Users["carol"].Password+"\n"), 0o600)
	args := []string{"migrate", "--from", "pst:" + filepath.Join(pstFixtureDir(t), "pst2john-Outlook_enc.pst"),
		"--to", "imap://carol@" + srv.Host + ":" + strconv.Itoa(srv.Port), "--ca-file", ca, "--to-password-file", pw, "--checkpoint", cp}
	// The lock a running `mailshift migrate` holds.
	unlock, err := worker.FileCheckpoint{Path: cp}.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	if code != 3 || !strings.Contains(errb.String(), "another run is using this checkpoint") || !strings.Contains(errb.String(), "process "+strconv.Itoa(os.Getpid())) {
		t.Errorf("while the checkpoint is held: exit %d\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
	}
	s, err := imapsession.Dial(context.Background(), imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSStartTLS, CAPEM: srv.CAPEM},
		imapconn.Credentials{Login: "carol", Password: srv.Users["carol"].Password, Flavor: srv.Flavor})
	if err != nil {
		t.Fatal(err)
	}
	if folders, messages, err := s.Count(context.Background()); err != nil || messages != 0 {
		t.Errorf("the refused run touched the target: %d folders, %d messages (%v)", folders, messages, err)
	}
	s.Close()
	unlock()
	out.Reset()
	errb.Reset()
	if code := run(args, &out, &errb); code != 0 {
		t.Errorf("after the lock was let go: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
}
