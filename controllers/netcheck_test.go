package controllers

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/testfixtures"
	"github.com/mailshift/mailshift/internal/testserver"
)

// countingProxy is a TCP proxy on 127.0.0.1 in front of a real server that counts the connections made
// through it (each controller check is one connection and one login) and the most open at the server at
// once. delay holds each new connection before it is forwarded (and before it is counted), so that concurrent
// checks overlap; hold keeps the server's greeting back for that long after the connection is counted, so
// that every counted connection stays open at least hold and two checks running together are seen together.
type countingProxy struct {
	Port  int
	total atomic.Int64
	open  atomic.Int64
	peak  atomic.Int64
}

func startCountingProxy(t *testing.T, target string, delay, hold time.Duration) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{Port: ln.Addr().(*net.TCPAddr).Port}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.total.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				time.Sleep(delay)
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				// Counted from when the server has it until either side ends it. A connection the client
				// closed is seen ended well within delay, before a connection that replaces it is counted.
				n := p.open.Add(1)
				defer p.open.Add(-1)
				for {
					old := p.peak.Load()
					if n <= old || p.peak.CompareAndSwap(old, n) {
						break
					}
				}
				// The client waits for the greeting meanwhile, so it cannot have closed the connection.
				time.Sleep(hold)
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return p
}

// badListener starts a listener on 127.0.0.1 that accepts and never sends a byte: with reset, it resets
// each connection after resetAfter (a server that drops clients), without, it holds them until the client
// goes (a server that never greets).
func badListener(t *testing.T, reset bool, resetAfter time.Duration) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if reset {
					select {
					case <-time.After(resetAfter):
					case <-stop:
					}
					_ = c.(*net.TCPConn).SetLinger(0) // RST, not FIN
					_ = c.Close()
					return
				}
				go func() { <-stop; _ = c.Close() }()
				_, _ = io.Copy(io.Discard, c)
				_ = c.Close()
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// reconcileTimes returns the count of mailbox reconciles and how many of them took longer than bound (a
// bucket boundary of controller-runtime's reconcile time histogram).
func reconcileTimes(t *testing.T, controller string, bound float64) (total, slower uint64) {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_time_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			if !hasLabel(m, "controller", controller) {
				continue
			}
			h := m.GetHistogram()
			total += h.GetSampleCount()
			found := false
			for _, b := range h.GetBucket() {
				if b.GetUpperBound() == bound {
					slower += h.GetSampleCount() - b.GetCumulativeCount()
					found = true
				}
			}
			if !found {
				t.Fatalf("the reconcile time histogram has no bucket at %gs", bound)
			}
		}
	}
	return total, slower
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// TestHealthyMailboxNotDelayedByBadServers: with 20 Mailboxes on a server that resets connections after
// 10 s and 5 on one that never greets (the numbers measured before the checks left Reconcile: 195 s and
// 97 s for a healthy Mailbox), a new Mailbox on a healthy Dovecot is Ready within seconds, the bad ones
// have a condition within seconds and then a reason that says what is wrong, and no reconcile waits on a
// server.
func TestHealthyMailboxNotDelayedByBadServers(t *testing.T) {
	const resettingBoxes, silentBoxes = 20, 5
	ns := newNamespace(t)
	dovecot := startServer(t, "dovecot")
	good, ca := serverObjects(ns, "good", dovecot)
	resetting := plaintextServer(ns, "resetting", "127.0.0.1", badListener(t, true, 10*time.Second))
	silent := plaintextServer(ns, "silent", "127.0.0.1", badListener(t, false, 0))
	pw := secret(ns, "pw", map[string]string{"password": "unused-pw"})
	for _, o := range []clientObject{ca, good, resetting, silent, pw} {
		mustCreate(t, o)
	}
	var bad []*mailshiftv1.Mailbox
	for _, srv := range []struct {
		name string
		n    int
	}{{resetting.Name, resettingBoxes}, {silent.Name, silentBoxes}} {
		for i := range srv.n {
			mb := &mailshiftv1.Mailbox{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s-%d", srv.name, i)},
				Spec: mailshiftv1.MailboxSpec{ServerRef: mailshiftv1.ServerRef{Name: srv.name}, Login: fmt.Sprintf("user%d", i),
					Address: fmt.Sprintf("user%d@example.test", i), CredentialsSecretRef: &mailshiftv1.SecretKeyRef{Name: pw.Name}},
			}
			mustCreate(t, mb)
			bad = append(bad, mb)
		}
	}
	// Every bad Mailbox has a condition that says what is going on at once, long before any timeout.
	for _, b := range bad {
		var c *metav1.Condition
		waitFor(t, 30*time.Second, b.Name+" has a Reconciling condition with a reason", func() bool {
			if err := k8s.Get(context.Background(), key(ns, b.Name), b); err != nil {
				return false
			}
			c = meta.FindStatusCondition(b.Status.Conditions, mailshiftv1.ConditionReconciling)
			return c != nil && c.Status == metav1.ConditionTrue && c.Reason != "" && c.Message != ""
		})
		// Both times are whole seconds: allow for the rounding.
		if after := c.LastTransitionTime.Sub(b.CreationTimestamp.Time); after > 5*time.Second {
			t.Errorf("%s had no condition for %s after it was created (%s: %s)", b.Name, after, c.Reason, c.Message)
		}
	}
	time.Sleep(time.Second) // the bad servers' checks are under way and hold their connections

	mb, sec := userMailbox(ns, good.Name, dovecot.Users["alice"])
	mustCreate(t, sec)
	began := time.Now()
	mustCreate(t, mb)
	waitForReady(t, mb, func() []metav1.Condition { return mb.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonReady, 60*time.Second)
	took := time.Since(began)
	t.Logf("the healthy Mailbox was Ready %s after it was created, beside %d Mailboxes on bad servers", took.Round(time.Millisecond), len(bad))
	if took > 10*time.Second {
		t.Errorf("the healthy Mailbox took %s to be Ready beside %d Mailboxes on bad servers, want < 10s", took.Round(time.Millisecond), len(bad))
	}

	// A server that resets is Unreachable once it has; one that never greets is told as such once the check
	// gives up, not as a bare connect timeout.
	dropped := bad[0]
	c := waitForReady(t, dropped, func() []metav1.Condition { return dropped.Status.Conditions }, metav1.ConditionFalse, mailshiftv1.ReasonUnreachable, 60*time.Second)
	t.Logf("a Mailbox on the resetting server: Ready=False %s: %s", c.Reason, c.Message)
	quiet := bad[resettingBoxes]
	c = waitForReady(t, quiet, func() []metav1.Condition { return quiet.Status.Conditions }, metav1.ConditionFalse, mailshiftv1.ReasonTimeout, 60*time.Second)
	t.Logf("a Mailbox on the silent server: Ready=False %s: %s", c.Reason, c.Message)
	if !strings.Contains(c.Message, "greeting") || !strings.Contains(c.Message, "within") || strings.Contains(c.Message, ": Timeout") {
		t.Errorf("a server that never greets is reported as %q, which does not say the greeting never came in time", c.Message)
	}

	total, slower := reconcileTimes(t, "mailbox", 5)
	if total == 0 {
		t.Fatal("no mailbox reconcile was measured")
	}
	t.Logf("%d mailbox reconciles, %d of them longer than 5s", total, slower)
	if slower > 0 {
		t.Errorf("%d of %d mailbox reconciles took longer than 5s: a reconcile waited on a server", slower, total)
	}
}

// TestOneLoginPerResyncPeriod: at steady state each object logs in at most once per resync period; in
// particular a Mailbox's periodic status write does not wake its FolderShares into logging in again. The
// logins are counted at a proxy in front of the real Dovecot.
func TestOneLoginPerResyncPeriod(t *testing.T) {
	const mailboxes, interval, window = 3, 10 * time.Second, 40 * time.Second
	ns := newNamespace(t)
	dovecot := startServer(t, "dovecot")
	proxy := startCountingProxy(t, dovecot.Addr(), 0, 0)
	ms, ca := serverObjects(ns, "imap", dovecot)
	ms.Spec.Port = int32(proxy.Port)
	for _, o := range []clientObject{ca, ms} {
		mustCreate(t, o)
	}
	var shares []*mailshiftv1.FolderShare
	var boxes []*mailshiftv1.Mailbox
	for i, name := range []string{"alice", "bob", "carol"}[:mailboxes] {
		mb, sec := userMailbox(ns, ms.Name, dovecot.Users[name])
		mb.Spec.CheckInterval = &metav1.Duration{Duration: interval}
		grantee := []string{"bob", "carol", "alice"}[i]
		share := &mailshiftv1.FolderShare{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-calendar"},
			Spec: mailshiftv1.FolderShareSpec{MailboxRef: mailshiftv1.LocalObjectRef{Name: name}, SpecialFolder: mailshiftv1.SpecialCalendar,
				Grants: []mailshiftv1.Grant{{Grantee: grantee, Preset: mailshiftv1.PresetReadOnly}}},
		}
		for _, o := range []clientObject{sec, mb, share} {
			mustCreate(t, o)
		}
		boxes, shares = append(boxes, mb), append(shares, share)
	}
	for _, s := range shares {
		waitForReady(t, s, func() []metav1.Condition { return s.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonACLApplied, 60*time.Second)
	}
	start := proxy.total.Load()
	time.Sleep(window)
	logins := proxy.total.Load() - start
	t.Logf("%d logins in %s for %d Mailboxes (check every %s) and %d FolderShares", logins, window, mailboxes, interval, len(shares))

	// Each Mailbox checks at most once per interval (one more for where the window falls); the FolderShares
	// (resync 5 m) and the MailServer (5 m) are not due within the window at all.
	budget := int64(mailboxes) * (int64(window/interval) + 1)
	if logins > budget {
		t.Errorf("%d logins in %s with %d Mailboxes (check every %s) and their FolderShares, want at most %d", logins, window, mailboxes, interval, budget)
		// What the objects went through says where the extra logins came from (a check that failed is
		// retried, and a FolderShare follows its Mailbox's readiness).
		for _, e := range eventsFor(t, ns, "") {
			t.Logf("event %s %s/%s %s: %s", e.CreationTimestamp.Format(time.StampMilli), e.Regarding.Kind, e.Regarding.Name, e.Reason, e.Note)
		}
	}
	if logins < int64(mailboxes)*int64(window/interval-1) {
		t.Errorf("only %d logins in %s: the Mailboxes' periodic checks did not run", logins, window)
	}
	for _, mb := range boxes {
		waitForReady(t, mb, func() []metav1.Condition { return mb.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonReady, time.Second)
	}
}

// TestMaxConnectionsPerServer: a MailServer with maxConnections 2 never sees more than 2 connections from
// the manager at once, however many of its Mailboxes are checked together; and it does see 2.
func TestMaxConnectionsPerServer(t *testing.T) {
	ns := newNamespace(t)
	dovecot := startServer(t, "dovecot")
	// Each counted connection lasts at least 500 ms and a slot's next one is counted 300 ms after the last
	// closed: two busy slots are seen open together, however the two checks' starts fall.
	proxy := startCountingProxy(t, dovecot.Addr(), 300*time.Millisecond, 500*time.Millisecond)
	ms, ca := serverObjects(ns, "imap", dovecot)
	ms.Spec.Port = int32(proxy.Port)
	ms.Spec.Limits.MaxConnections = 2
	for _, o := range []clientObject{ca, ms} {
		mustCreate(t, o)
	}
	var boxes []*mailshiftv1.Mailbox
	for i := range 8 {
		u := dovecot.Users[[]string{"alice", "bob", "carol"}[i%3]]
		mb, sec := userMailbox(ns, ms.Name, u)
		mb.Name, sec.Name = fmt.Sprintf("%s-%d", u.Login, i), fmt.Sprintf("%s-%d-pw", u.Login, i)
		mb.Spec.CredentialsSecretRef.Name = sec.Name
		mb.Spec.SpecialFolders.Disabled = true
		for _, o := range []clientObject{sec, mb} {
			mustCreate(t, o)
		}
		boxes = append(boxes, mb)
	}
	for _, mb := range boxes {
		waitForReady(t, mb, func() []metav1.Condition { return mb.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonReady, 60*time.Second)
	}
	if peak := proxy.peak.Load(); peak != 2 {
		t.Errorf("at most %d connections were open at once to a server with maxConnections 2; want exactly 2 (the limit, reached)", peak)
	}
}

// TestFreeBusyChangeCheckLogsInOnce: a free/busy change check (the calendar did not change) is one login
// at the server, not a second one to find the calendar folders again. Counted at a proxy in front of Dovecot.
func TestFreeBusyChangeCheckLogsInOnce(t *testing.T) {
	const every, window = 2 * time.Second, 12 * time.Second
	ns := newNamespace(t)
	dovecot := startServer(t, "dovecot")
	alice := dovecot.Users["alice"]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ep := imapconn.Endpoint{Host: dovecot.Host, Port: dovecot.Port, TLS: imapconn.TLSStartTLS, CAPEM: dovecot.CAPEM}
	if err := testfixtures.SeedCalendar(ctx, ep, imapconn.Credentials{Login: alice.Login, Password: alice.Password}, "Calendar", testfixtures.FreeBusyCalendar().Messages); err != nil {
		t.Fatal(err)
	}
	proxy := startCountingProxy(t, dovecot.Addr(), 0, 0)
	ms, ca := serverObjects(ns, "imap", dovecot)
	ms.Spec.Port = int32(proxy.Port)
	mb, sec := userMailbox(ns, ms.Name, alice)
	mb.Spec.CheckInterval = &metav1.Duration{Duration: time.Hour}
	ftp := testserver.PureFTPd(t, testserver.FTPOptions{TLS: "allow"})
	pub := ftp.Users["publisher"]
	fb, secrets := freeBusyObjects(ns, "alice-fb", mb.Name, ftp, pub.Login, pub.Password, mailshiftv1.FTPExplicitTLS)
	fb.Spec.ChangeCheckInterval = &metav1.Duration{Duration: every}
	for _, o := range []clientObject{ca, ms, sec, mb, secrets[0], secrets[1], fb} {
		mustCreate(t, o)
	}
	waitForReady(t, fb, fbConds(fb), metav1.ConditionTrue, mailshiftv1.ReasonPublished, 60*time.Second)
	time.Sleep(time.Second) // past the first publication's logins

	start := proxy.total.Load()
	time.Sleep(window)
	logins := proxy.total.Load() - start
	checks := int64(window / every)
	t.Logf("%d logins in %s of change checks every %s", logins, window, every)
	if logins > checks+1 {
		t.Errorf("%d logins in %s of change checks every %s, want at most %d (one per check)", logins, window, every, checks+1)
	}
	if logins < checks/2 {
		t.Errorf("only %d logins in %s: the change checks did not run", logins, window)
	}
}

// TestFolderShareOneConnectionAtATime: a FolderShare that subscribes its grantees logs in as each of them,
// but never while its owner's session is still open: with maxConnections 1 the server sees one connection
// at a time from everything the manager does (MailServer, Mailbox and FolderShare checks, grantee logins).
func TestFolderShareOneConnectionAtATime(t *testing.T) {
	ns := newNamespace(t)
	dovecot := startServer(t, "dovecot")
	proxy := startCountingProxy(t, dovecot.Addr(), 300*time.Millisecond, 0)
	ms, ca := serverObjects(ns, "imap", dovecot)
	ms.Spec.Port = int32(proxy.Port)
	ms.Spec.Limits.MaxConnections = 1
	admin := secret(ns, "imap-admin", map[string]string{"username": dovecot.Admin.Login, "password": dovecot.Admin.Password})
	ms.Spec.Admin = &mailshiftv1.AdminCredentials{SecretRef: mailshiftv1.CredentialsSecretRef{Name: admin.Name}, VerifyLogin: "alice"}
	mb, sec := userMailbox(ns, ms.Name, dovecot.Users["alice"])
	share := &mailshiftv1.FolderShare{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-calendar"},
		Spec: mailshiftv1.FolderShareSpec{MailboxRef: mailshiftv1.LocalObjectRef{Name: mb.Name}, SpecialFolder: mailshiftv1.SpecialCalendar,
			Grants: []mailshiftv1.Grant{{Grantee: "bob", Preset: mailshiftv1.PresetReadOnly}, {Grantee: "carol", Preset: mailshiftv1.PresetReadOnly}}},
	}
	for _, o := range []clientObject{ca, admin, ms, sec, mb, share} {
		mustCreate(t, o)
	}
	waitForReady(t, share, func() []metav1.Condition { return share.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonACLApplied, 60*time.Second)
	if c := meta.FindStatusCondition(share.Status.Conditions, mailshiftv1.ConditionSubscribed); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("Subscribed condition = %+v, want True: the grantee logins were not made", c)
	}
	// The MailServer, the Mailbox, the owner and two grantees: at least five connections, one at a time.
	if total, peak := proxy.total.Load(), proxy.peak.Load(); total < 5 || peak != 1 {
		t.Errorf("%d connections, at most %d open at once, to a server with maxConnections 1; want at least 5, one at a time", total, peak)
	}
}
