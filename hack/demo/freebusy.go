package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/ftppublish"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/testenv"
	"github.com/mailshift/mailshift/internal/testfixtures"
)

const (
	ftpPort      = 10021 // must match config/samples/freebusy-alice.yaml
	ftpPassive   = "10030:10061"
	freeBusyHTTP = "127.0.0.1:10082"
)

func ftpDir() string { return filepath.Join(demoDir(), "ftp") }

// startFTP starts pure-ftpd on 127.0.0.1:ftpPort, explicit TLS required, and returns its CA.
func startFTP() ([]byte, error) {
	step("starting pure-ftpd on 127.0.0.1:%d (explicit TLS required) with the user publisher", ftpPort)
	if err := sh(os.Stdout, "bash", filepath.Join(testenv.RepoRoot(), "hack", "pureftpd.sh"), "start", ftpDir(),
		fmt.Sprint(ftpPort), ftpPassive, "require-data"); err != nil {
		return nil, fmt.Errorf("pure-ftpd: %w", err)
	}
	return os.ReadFile(filepath.Join(ftpDir(), "ca.pem"))
}

func stopFTP() {
	_ = runQuiet("bash", filepath.Join(testenv.RepoRoot(), "hack", "pureftpd.sh"), "stop", ftpDir())
}

// seedAliceCalendar puts a week of meetings into alice's Calendar, relative to today, so the published
// free/busy has something to show: a daily stand-up, a tentative lunch talk, a day out of office.
func seedAliceCalendar(caPEM []byte) error {
	step("putting a few meetings into alice's Calendar (Kolab v3 objects, as a migration writes them)")
	ber, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return err
	}
	today := time.Now().In(ber)
	day := func(n int) time.Time { return time.Date(today.Year(), today.Month(), today.Day()+n, 0, 0, 0, 0, ber) }
	at := func(d time.Time, h, m int) groupware.DateTime {
		return groupware.DateTime{Time: time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, ber), TZID: "Europe/Berlin"}
	}
	ev := func(uid, summary string, start, end groupware.DateTime) *groupware.Event {
		stamp := day(0).UTC()
		return &groupware.Event{Common: groupware.Common{UID: uid, Summary: summary, Created: stamp, LastModified: stamp},
			Start: start, End: end}
	}
	standup := ev("demo-standup", "Stand-up", at(day(0), 9, 30), at(day(0), 9, 45))
	standup.Recurrence = &groupware.Recurrence{Rule: groupware.Rule{Freq: groupware.Daily, Count: 10}}
	lunch := ev("demo-lunch", "Lunch talk (maybe)", at(day(1), 12, 0), at(day(1), 13, 0))
	lunch.Busy = groupware.BusyTentative
	off := ev("demo-off", "Day off", groupware.DateTime{Time: day(3), AllDay: true}, groupware.DateTime{Time: day(4), AllDay: true})
	off.Busy = groupware.BusyOutOfOffice
	var msgs [][]byte
	for _, e := range []*groupware.Event{standup, lunch, off} {
		var b bytes.Buffer
		if err := groupware.WriteMessage(&b, e, groupware.FormatKolab3, groupware.Envelope{From: groupware.Person{Email: "alice@example.test"}}); err != nil {
			return err
		}
		msgs = append(msgs, b.Bytes())
		fmt.Printf("    %s  %s\n", e.Start.Time.Format("Mon 02 Jan 15:04 MST"), e.Summary)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return testfixtures.SeedCalendar(ctx, imapconn.Endpoint{Host: "127.0.0.1", Port: imapPort, TLS: imapconn.TLSStartTLS, CAPEM: caPEM},
		imapconn.Credentials{Login: "alice", Password: "alice-secret-1"}, "Calendar", msgs)
}

// showFreeBusy prints what the FreeBusyPublication reports and the file as Outlook fetches it, over FTP and
// from the manager's HTTP.
func showFreeBusy(kubectl func(...string) error, ftpCA []byte) error {
	step("alice's free/busy, as published")
	if err := kubectl("get", "freebusypublication", "alice", "-o",
		`jsonpath={.status.conditions[?(@.type=="Ready")].message}{"\n"}search URL for Outlook: {.status.searchURL}{"\n"}`); err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ftpCA)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	overFTP, err := ftppublish.Fetch(ctx, ftppublish.Target{Host: "127.0.0.1", Port: ftpPort, RootCAs: pool,
		Username: "publisher", Password: "publisher-secret-4"}, "alice.vfb")
	if err != nil {
		return fmt.Errorf("fetch alice.vfb over FTP: %w", err)
	}
	fmt.Printf("    fetched ftp://127.0.0.1:%d/pub/calendar/alice.vfb (%d bytes):\n", ftpPort, len(overFTP))
	fmt.Print(indent(strings.ReplaceAll(string(overFTP), "\r\n", "\n")))
	// The manager serves each namespace's files under its name: the samples live in "default".
	const httpPath = "/freebusy/default/alice.vfb"
	resp, err := http.Get("http://" + freeBusyHTTP + httpPath)
	if err != nil {
		return fmt.Errorf("fetch alice.vfb over HTTP: %w", err)
	}
	defer resp.Body.Close()
	overHTTP, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(overHTTP, overFTP) {
		return fmt.Errorf("http://%s%s: %s, same as over FTP: %v", freeBusyHTTP, httpPath, resp.Status, bytes.Equal(overHTTP, overFTP))
	}
	fmt.Printf("    http://%s%s serves the same %d bytes\n", freeBusyHTTP, httpPath, len(overHTTP))
	if !bytes.Contains(overFTP, []byte("FBTYPE=BUSY-UNAVAILABLE")) || !bytes.Contains(overFTP, []byte("FBTYPE=BUSY-TENTATIVE")) {
		return fmt.Errorf("the published free/busy lacks the out-of-office day or the tentative meeting")
	}
	return nil
}
