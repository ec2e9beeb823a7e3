package controllers

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/ftppublish"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/oracle"
	"github.com/mailshift/mailshift/internal/testfixtures"
	"github.com/mailshift/mailshift/internal/testserver"
)

// freeBusyObjects returns a FreeBusyPublication of mailbox to ftp as login, with the Secrets it needs.
func freeBusyObjects(ns, name, mailbox string, ftp *testserver.FTPServer, login, password string, tls mailshiftv1.FTPTLSMode) (*mailshiftv1.FreeBusyPublication, []*corev1.Secret) {
	fx := testfixtures.FreeBusyCalendar()
	creds := secret(ns, name+"-ftp", map[string]string{"username": login, "password": password})
	ca := secret(ns, name+"-ftp-ca", map[string]string{"ca.crt": string(ftp.CAPEM)})
	fb := &mailshiftv1.FreeBusyPublication{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mailshiftv1.FreeBusyPublicationSpec{
			MailboxRef: mailshiftv1.LocalObjectRef{Name: mailbox},
			Window:     mailshiftv1.FreeBusyWindow{DaysBack: int32(fx.DaysBack), DaysAhead: int32(fx.DaysAhead)},
			TimeZone:   fx.TimeZone,
			FTP: mailshiftv1.FTPTarget{
				Host: ftp.Host, Port: int32(ftp.Port), TLS: tls, InsecureAllowPlaintext: tls == mailshiftv1.FTPNoTLS,
				CredentialsSecretRef: mailshiftv1.CredentialsSecretRef{Name: creds.Name},
			},
			ChangeCheckInterval: &metav1.Duration{Duration: time.Second},
		},
	}
	if tls != mailshiftv1.FTPNoTLS {
		fb.Spec.FTP.CABundle = &mailshiftv1.SecretKeyRef{Name: ca.Name}
	}
	return fb, []*corev1.Secret{creds, ca}
}

func fbConds(fb *mailshiftv1.FreeBusyPublication) func() []metav1.Condition {
	return func() []metav1.Condition { return fb.Status.Conditions }
}

// freeBusyMailbox starts Dovecot with alice's calendar seeded from the fixture and returns her Mailbox.
func freeBusyMailbox(t *testing.T, ns string) (*testserver.Server, *mailshiftv1.Mailbox) {
	t.Helper()
	srv := testserver.Dovecot(t)
	alice := srv.Users["alice"]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ep := imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSStartTLS, CAPEM: srv.CAPEM}
	if err := testfixtures.SeedCalendar(ctx, ep, imapconn.Credentials{Login: alice.Login, Password: alice.Password}, "Calendar", testfixtures.FreeBusyCalendar().Messages); err != nil {
		t.Fatal(err)
	}
	ms, ca := serverObjects(ns, "dovecot", srv)
	mb, sec := userMailbox(ns, ms.Name, alice)
	for _, o := range []clientObject{ca, ms, sec, mb} {
		mustCreate(t, o)
	}
	return srv, mb
}

// TestFreeBusyPublication publishes alice's free/busy over explicit TLS FTP and HTTP, follows calendar
// changes, reports an unreadable object, and removes the file on deletion.
func TestFreeBusyPublication(t *testing.T) {
	ns := newNamespace(t)
	srv, _ := freeBusyMailbox(t, ns)
	ftp := testserver.PureFTPd(t, testserver.FTPOptions{TLS: "require-data"})
	pub := ftp.Users["publisher"]
	fb, secrets := freeBusyObjects(ns, "alice-fb", "alice", ftp, pub.Login, pub.Password, mailshiftv1.FTPExplicitTLS)
	fb.Spec.ServeHTTP = true
	for _, s := range secrets {
		mustCreate(t, s)
	}
	mustCreate(t, fb)
	waitForReady(t, fb, fbConds(fb), metav1.ConditionTrue, mailshiftv1.ReasonPublished, 60*time.Second)

	fx := testfixtures.FreeBusyCalendar()
	st := fb.Status
	wantURL := "ftp://" + ftp.Addr() + "/pub/calendar/alice.vfb"
	if st.PublishURL != wantURL || st.SearchURL != "ftp://"+ftp.Addr()+"/pub/calendar/%NAME%.vfb" {
		t.Errorf("URLs: %q %q", st.PublishURL, st.SearchURL)
	}
	if st.BusyPeriods != int32(len(fx.Expected)) || st.Events != 9 || st.UnreadableObjects != 0 ||
		!slices.Equal(st.Folders, []string{"Calendar"}) || st.HTTPPath != "/freebusy/"+ns+"/alice.vfb" || st.LastPublishTime == nil ||
		!st.WindowStart.Time.Equal(fx.WindowStart) || !st.WindowEnd.Time.Equal(fx.WindowEnd) {
		t.Errorf("status: %+v", st)
	}
	file := filepath.Join(ftp.Root, "pub", "calendar", "alice.vfb")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ftp.CAPEM)
	fetchTarget := ftppublish.Target{Host: ftp.Host, Port: ftp.Port, RootCAs: pool, Username: pub.Login, Password: pub.Password}
	// check fetches the file back over FTP, as Outlook does, and reads it with python3-icalendar.
	check := func(want []string) []byte {
		t.Helper()
		fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		body, err := ftppublish.Fetch(fctx, fetchTarget, "alice.vfb")
		if err != nil {
			t.Fatal(err)
		}
		if onDisk, err := os.ReadFile(file); err != nil || !bytes.Equal(onDisk, body) {
			t.Errorf("the file on the server's disk differs from what FTP serves: %v", err)
		}
		res := oracle.ICalendar(t, [][]byte{body}, fx.WindowStart, fx.WindowEnd)[0]
		if res.Error != "" {
			t.Fatalf("python icalendar: %s\n%s", res.Error, body)
		}
		if got := res.FreeBusy(); !slices.Equal(got, want) {
			t.Errorf("published periods:\n got %q\nwant %q", got, want)
		}
		return body
	}
	body := check(fx.Expected)
	for _, line := range []string{"METHOD:PUBLISH", "ORGANIZER:mailto:alice@example.test"} {
		if !bytes.Contains(body, []byte(line+"\r\n")) {
			t.Errorf("no %s in\n%s", line, body)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(file))
	if len(entries) != 1 {
		t.Errorf("the publish directory holds %d entries, want only alice.vfb (no temporary files)", len(entries))
	}

	// The same file over the manager's HTTP.
	web := httptest.NewServer(fbFiles)
	defer web.Close()
	get := func(path string) (int, []byte) {
		resp, err := http.Get(web.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, b := get(st.HTTPPath); code != 200 || !bytes.Equal(b, body) {
		t.Errorf("HTTP %s: %d, same bytes %v", st.HTTPPath, code, bytes.Equal(b, body))
	}

	// A new meeting is noticed by the change check (1 s here), long before the 15-minute interval.
	alice := srv.Users["alice"]
	ep := imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSStartTLS, CAPEM: srv.CAPEM}
	cred := imapconn.Credentials{Login: alice.Login, Password: alice.Password}
	added := []byte(strings.ReplaceAll("From: alice@example.test\nSubject: planning\nMessage-ID: <planning@example.test>\n"+
		"Content-Type: text/calendar; charset=utf-8\n\nBEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\nBEGIN:VEVENT\n"+
		"UID:planning-1\nDTSTAMP:20260301T000000Z\nDTSTART:20260401T100000Z\nDTEND:20260401T110000Z\nSUMMARY:Planning\n"+
		"END:VEVENT\nEND:VCALENDAR\n", "\n", "\r\n"))
	broken := []byte(strings.ReplaceAll("From: alice@example.test\nSubject: broken\nMessage-ID: <broken@example.test>\n"+
		"Content-Type: text/calendar; charset=utf-8\n\nBEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:broken-1\n"+
		"DTSTART;TZID=Nowhere/Special:20260401T120000\nDTEND;TZID=Nowhere/Special:20260401T130000\nSUMMARY:Secret project\n"+
		"END:VEVENT\nEND:VCALENDAR\n", "\n", "\r\n"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := testfixtures.SeedCalendar(ctx, ep, cred, "Calendar", [][]byte{added, broken}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if err := k8s.Get(ctx, key(ns, fb.Name), fb); err == nil && fb.Status.BusyPeriods == int32(len(fx.Expected))+1 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if fb.Status.BusyPeriods != int32(len(fx.Expected))+1 || fb.Status.UnreadableObjects != 1 || fb.Status.Events != 10 {
		t.Fatalf("after the calendar changed: %+v", fb.Status)
	}
	want := slices.Insert(slices.Clone(fx.Expected), 12, "BUSY 20260401T100000Z/20260401T110000Z")
	check(want)
	// Only the two new messages were fetched for that: the others came from the controller's cache.
	if !strings.Contains(logBuf.String(), `"messages": 12, "fetched": 2`) {
		t.Errorf("the republication after two APPENDs did not fetch exactly those two; log:\n%s", tail(logBuf.String(), 3000))
	}
	if ready := condition(fb.Status.Conditions, mailshiftv1.ConditionReady); ready.Status != metav1.ConditionTrue ||
		!strings.Contains(ready.Message, "1 calendar object could not be read") {
		t.Errorf("Ready: %+v", ready)
	}
	ev := waitForEvent(t, ns, fb.Name, mailshiftv1.ReasonCalendarObjectsUnreadable)
	if !strings.Contains(ev.Note, "Nowhere/Special") {
		t.Errorf("the Event does not say what was wrong: %q", ev.Note)
	}
	if code, b := get(st.HTTPPath); code != 200 || !bytes.Contains(b, []byte("20260401T100000Z")) {
		t.Errorf("HTTP after the change: %d\n%s", code, b)
	}

	// Deleting the publication removes the file from the FTP server and from HTTP.
	if err := k8s.Delete(ctx, fb); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if err := k8s.Get(ctx, key(ns, fb.Name), fb); apierrors.IsNotFound(err) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the published file is still there after deletion: %v", err)
	}
	if code, _ := get(st.HTTPPath); code != http.StatusNotFound {
		t.Errorf("HTTP after deletion: %d", code)
	}
	waitForEvent(t, ns, fb.Name, mailshiftv1.ReasonUnpublished)
	assertNoSecret(t, "controller log", logBuf.String(), pub.Password, alice.Password)
}

// TestFreeBusyFailures: a wrong FTP password, a read-only account, an unreachable server, a missing
// calendar folder and a name served twice each give their own reason; plaintext FTP works when allowed.
func TestFreeBusyFailures(t *testing.T) {
	ns := newNamespace(t)
	freeBusyMailbox(t, ns)
	ftp := testserver.PureFTPd(t, testserver.FTPOptions{TLS: "allow"})
	pub, reader := ftp.Users["publisher"], ftp.Users["reader"]

	cases := []struct {
		name, login, password string
		tls                   mailshiftv1.FTPTLSMode
		edit                  func(*mailshiftv1.FreeBusyPublication)
		reason                string
		stalled               bool
	}{
		{"wrong-password", pub.Login, "not-the-ftp-password", mailshiftv1.FTPExplicitTLS, nil, mailshiftv1.ReasonFTPAuthFailed, true},
		{"read-only", reader.Login, reader.Password, mailshiftv1.FTPExplicitTLS, nil, mailshiftv1.ReasonPermissionDenied, true},
		{"unreachable", pub.Login, pub.Password, mailshiftv1.FTPExplicitTLS, func(f *mailshiftv1.FreeBusyPublication) {
			f.Spec.FTP.Port = int32(closedPort(t))
		}, mailshiftv1.ReasonUnreachable, false},
		// The test manager allows only 127.0.0.1 and localhost (see TestMain).
		{"host-not-allowed", pub.Login, pub.Password, mailshiftv1.FTPExplicitTLS, func(f *mailshiftv1.FreeBusyPublication) {
			f.Spec.FTP.Host = "127.0.0.2"
		}, mailshiftv1.ReasonHostNotAllowed, true},
		{"no-folder", pub.Login, pub.Password, mailshiftv1.FTPExplicitTLS, func(f *mailshiftv1.FreeBusyPublication) {
			f.Spec.Folders = []string{"Kalender"}
		}, mailshiftv1.ReasonCalendarUnreadable, true},
		{"plaintext", pub.Login, pub.Password, mailshiftv1.FTPNoTLS, func(f *mailshiftv1.FreeBusyPublication) {
			f.Spec.Name = "alice.plain"
		}, mailshiftv1.ReasonPublished, false},
	}
	for _, c := range cases {
		fb, secrets := freeBusyObjects(ns, c.name, "alice", ftp, c.login, c.password, c.tls)
		if c.edit != nil {
			c.edit(fb)
		}
		for _, s := range secrets {
			mustCreate(t, s)
		}
		mustCreate(t, fb)
	}
	for _, c := range cases {
		fb := &mailshiftv1.FreeBusyPublication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: c.name}}
		want := metav1.ConditionFalse
		if c.reason == mailshiftv1.ReasonPublished {
			want = metav1.ConditionTrue
		}
		ready := waitForReady(t, fb, fbConds(fb), want, c.reason, 60*time.Second)
		stalled := condition(fb.Status.Conditions, mailshiftv1.ConditionStalled)
		if (stalled.Status == metav1.ConditionTrue) != c.stalled {
			t.Errorf("%s: Stalled %s, want %v (%s)", c.name, stalled.Status, c.stalled, ready.Message)
		}
		if strings.Contains(ready.Message, c.password) || strings.Contains(ready.Message, pub.Password) {
			t.Errorf("%s: the message holds a password: %s", c.name, ready.Message)
		}
		t.Logf("%s: %s: %s", c.name, ready.Reason, ready.Message)
	}
	if _, err := os.Stat(filepath.Join(ftp.Root, "pub", "calendar", "alice.plain.vfb")); err != nil {
		t.Errorf("plaintext publication: %v", err)
	}

	// A second publication serving the same name over HTTP is refused, not allowed to shadow the first.
	first, s1 := freeBusyObjects(ns, "http-first", "alice", ftp, pub.Login, pub.Password, mailshiftv1.FTPExplicitTLS)
	first.Spec.ServeHTTP, first.Spec.Name = true, "shared-name"
	second, s2 := freeBusyObjects(ns, "http-second", "alice", ftp, pub.Login, pub.Password, mailshiftv1.FTPExplicitTLS)
	second.Spec.ServeHTTP, second.Spec.Name = true, "shared-name"
	for _, o := range append(append([]*corev1.Secret{}, s1...), s2...) {
		mustCreate(t, o)
	}
	mustCreate(t, first)
	waitForReady(t, first, fbConds(first), metav1.ConditionTrue, mailshiftv1.ReasonPublished, 60*time.Second)
	mustCreate(t, second)
	waitForReady(t, second, fbConds(second), metav1.ConditionFalse, mailshiftv1.ReasonNameConflict, 30*time.Second)

	// The API server refuses plaintext FTP unless it is explicitly allowed.
	bad, _ := freeBusyObjects(ns, "bad-plain", "alice", ftp, pub.Login, pub.Password, mailshiftv1.FTPNoTLS)
	bad.Spec.FTP.InsecureAllowPlaintext = false
	if err := k8s.Create(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "insecureAllowPlaintext") {
		t.Errorf("tls None without insecureAllowPlaintext: %v", err)
	}
	assertNoSecret(t, "controller log", logBuf.String(), pub.Password, reader.Password, "not-the-ftp-password")
}
