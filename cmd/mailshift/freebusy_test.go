package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/oracle"
	"github.com/mailshift/mailshift/internal/testfixtures"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestFreeBusyCommand previews the free/busy of a real mailbox whose calendar holds every kind of object
// (Kolab v3 and v2, iCalendar, an Outlook invitation, a plain mail) across a daylight-saving change, and
// checks the file with an independent parser against hand-written periods.
func TestFreeBusyCommand(t *testing.T) {
	srv := testserver.Dovecot(t)
	fx := testfixtures.FreeBusyCalendar()
	alice := srv.Users["alice"]
	ep := imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSStartTLS, CAPEM: srv.CAPEM}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := testfixtures.SeedCalendar(ctx, ep, imapconn.Credentials{Login: alice.Login, Password: alice.Password}, "Calendar", fx.Messages); err != nil {
		t.Fatal(err)
	}
	// A second calendar folder, typed by annotation under a name nobody would guess: it must be found.
	extra := [][]byte{fx.Messages[0]} // the same weekly series again: merging must not double anything
	if err := testfixtures.SeedCalendar(ctx, ep, imapconn.Credentials{Login: alice.Login, Password: alice.Password}, "Projekte", extra); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	ca, pw := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "pw")
	os.WriteFile(ca, srv.CAPEM, 0o600)
	os.WriteFile(pw, []byte(alice.Password+"\n"), 0o600)
	from := "imap://alice@" + srv.Host + ":" + strconv.Itoa(srv.Port)
	out := filepath.Join(dir, "alice.vfb")
	args := []string{"freebusy", "--from", from, "--ca-file", ca, "--password-file", pw, "--out", out,
		"--start", fx.WindowStart.Format(time.RFC3339), "--end", fx.WindowEnd.Format(time.RFC3339), "--time-zone", fx.TimeZone}
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "13 busy periods") || !strings.Contains(stderr.String(), "Calendar, Projekte") {
		t.Errorf("summary: %s", stderr.String())
	}
	vfb, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	res := oracle.ICalendar(t, [][]byte{vfb}, fx.WindowStart, fx.WindowEnd)[0]
	if res.Error != "" {
		t.Fatalf("python icalendar rejects the file: %s\n%s", res.Error, vfb)
	}
	if got := res.FreeBusy(); !slices.Equal(got, fx.Expected) {
		t.Errorf("periods:\n got %q\nwant %q", got, fx.Expected)
	}
	for _, want := range []string{"METHOD:PUBLISH", "ORGANIZER:mailto:alice@" + srv.Host, "DTSTART:20260315T000000Z", "DTEND:20260403T000000Z"} {
		if !strings.Contains(string(vfb), want+"\r\n") {
			t.Errorf("no %q line in\n%s", want, vfb)
		}
	}

	// One folder named: only its objects count (the weekly series alone).
	var so, se bytes.Buffer
	if code := run(append(args, "--folder", "Projekte", "--out", "-"), &so, &se); code != 0 {
		t.Fatalf("--folder: exit %d: %s", code, se.String())
	}
	got := oracle.ICalendar(t, [][]byte{so.Bytes()}, fx.WindowStart, fx.WindowEnd)[0].FreeBusy()
	want := []string{"BUSY 20260316T080000Z/20260316T090000Z", "BUSY 20260331T120000Z/20260331T130000Z"}
	if !slices.Equal(got, want) {
		t.Errorf("--folder Projekte: got %q want %q", got, want)
	}

	// migrate's names for the source's password work too: the flag, and the variable.
	for _, extra := range [][]string{{"--from-password-file", pw}, nil} {
		if extra == nil {
			t.Setenv("MAILSHIFT_FROM_PASSWORD", alice.Password)
		}
		a := append([]string{"freebusy", "--from", from, "--ca-file", ca, "--out", "-"}, extra...)
		var o, e bytes.Buffer
		if code := run(a, &o, &e); code != 0 || !bytes.Contains(o.Bytes(), []byte("BEGIN:VFREEBUSY")) {
			t.Errorf("%v: exit %d: %s", extra, code, e.String())
		}
	}
	t.Setenv("MAILSHIFT_FROM_PASSWORD", "")

	// Errors: a missing folder, a wrong password (never printed), bad usage.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{append(slices.Clone(args), "--folder", "Nope"), 1, "NotFound"},
		{[]string{"freebusy", "--from", from, "--out", out}, 2, "no password"},
		{[]string{"freebusy", "--from", from, "--password-file", pw, "--out", out, "--start", "2026-04-01T00:00:00Z", "--end", "2026-03-01T00:00:00Z"}, 2, "is not after"},
		{[]string{"freebusy", "--from", from, "--password-file", pw, "--out", out, "--time-zone", "Mars/Olympus"}, 2, "not an IANA"},
		{[]string{"freebusy", "--out", out}, 2, "need --from"},
	} {
		var o, e bytes.Buffer
		if code := run(c.args, &o, &e); code != c.code || !strings.Contains(e.String(), c.want) {
			t.Errorf("%v: exit %d, want %d with %q: %s", c.args[1:], code, c.code, c.want, e.String())
		}
	}
	wrong := filepath.Join(dir, "wrong")
	os.WriteFile(wrong, []byte("not-the-password\n"), 0o600)
	var o, e bytes.Buffer
	before, _ := os.ReadFile(out)
	if code := run([]string{"freebusy", "--from", from, "--ca-file", ca, "--password-file", wrong, "--out", out}, &o, &e); code != 1 ||
		!strings.Contains(e.String(), "AuthenticationFailed") || strings.Contains(e.String(), "not-the-password") {
		t.Errorf("wrong password: exit %d: %s", code, e.String())
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Error("a failed run changed the existing output file")
	}
}

// TestFreeBusyOfMigratedPST migrates fixture PSTs' appointments into a real Dovecot with `mailshift
// migrate` and previews their free/busy: each must match what the appointment's properties imply.
func TestFreeBusyOfMigratedPST(t *testing.T) {
	srv := testserver.Dovecot(t)
	dir := t.TempDir()
	ca, pw := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "pw")
	os.WriteFile(ca, srv.CAPEM, 0o600)
	for _, c := range []struct {
		pst, user, start, end, tz string
		want                      []string
	}{
		// A single appointment, 2021-02-04 11:00–11:30 UTC, shown as busy.
		{"hughbe-hughbe_Outlook.pst", "alice", "2021-02-01T00:00:00Z", "2021-02-08T00:00:00Z", "UTC",
			[]string{"BUSY 20210204T110000Z/20210204T113000Z"}},
		// "Updated: Olympus training for new hires": 2004-08-19 13:30–14:30 America/Chicago (CDT, UTC−5),
		// a meeting request accepted tentatively (PidLidBusyStatus olTentative).
		{"gopst-32-bit.pst", "bob", "2004-08-16T00:00:00Z", "2004-08-23T00:00:00Z", "UTC",
			[]string{"BUSY-TENTATIVE 20040819T183000Z/20040819T193000Z"}},
		// A weekly Tuesday 08:00–08:30 America/Los_Angeles (PDT, UTC−7) series from 2016-08-02 without end:
		// the 9 August instance deleted, 23 August moved to 09:00, 30 August moved to 10:00.
		{"javalibpst-dist-list.pst", "carol", "2016-08-01T00:00:00Z", "2016-09-14T00:00:00Z", "America/Los_Angeles",
			[]string{
				"BUSY 20160802T150000Z/20160802T153000Z",
				"BUSY 20160816T150000Z/20160816T153000Z",
				"BUSY 20160823T160000Z/20160823T163000Z",
				"BUSY 20160830T170000Z/20160830T173000Z",
				"BUSY 20160906T150000Z/20160906T153000Z",
				"BUSY 20160913T150000Z/20160913T153000Z",
			}},
	} {
		t.Run(c.pst, func(t *testing.T) {
			u := srv.Users[c.user]
			os.WriteFile(pw, []byte(u.Password+"\n"), 0o600)
			imapURL := "imap://" + u.Login + "@" + srv.Host + ":" + strconv.Itoa(srv.Port)
			var o, e bytes.Buffer
			if code := run([]string{"migrate", "--from", "pst:" + filepath.Join(pstFixtureDir(t), c.pst), "--to", imapURL,
				"--ca-file", ca, "--to-password-file", pw, "--checkpoint", filepath.Join(dir, c.user+".cp")}, &o, &e); code != 0 {
				t.Fatalf("migrate: exit %d: %s %s", code, o.String(), e.String())
			}
			o.Reset()
			e.Reset()
			if code := run([]string{"freebusy", "--from", imapURL, "--ca-file", ca, "--password-file", pw, "--out", "-",
				"--start", c.start, "--end", c.end, "--time-zone", c.tz}, &o, &e); code != 0 {
				t.Fatalf("freebusy: exit %d: %s", code, e.String())
			}
			start, _ := time.Parse(time.RFC3339, c.start)
			end, _ := time.Parse(time.RFC3339, c.end)
			res := oracle.ICalendar(t, [][]byte{o.Bytes()}, start, end)[0]
			if res.Error != "" {
				t.Fatalf("python icalendar: %s", res.Error)
			}
			if got := res.FreeBusy(); !slices.Equal(got, c.want) {
				t.Errorf("got %q\nwant %q\nstderr: %s", got, c.want, e.String())
			}
		})
	}
}
