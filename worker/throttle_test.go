package worker

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailshift/mailshift/internal/enginemetrics"
	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/msgid"
	"github.com/mailshift/mailshift/internal/testfixtures"
	"github.com/mailshift/mailshift/internal/testproxy"
	"github.com/mailshift/mailshift/internal/testserver"
)

// throttleFixture has 180 items in nine folders, the largest (Deleted Items, 114) first.
const throttleFixture = "pst2john-97_outlook_qwerty12345.pst"

// throughProxy makes the job reach the target through p, in plain text (the proxy reads the commands).
func throughProxy(p *testproxy.Proxy) func(*Job) {
	return func(j *Job) {
		j.Target.Endpoint = imapconn.Endpoint{Host: p.Host(), Port: p.Port(), TLS: imapconn.TLSNone, DialTimeout: 20 * time.Second}
		// The engine's own backoff is kept short: a long wait must come from what the server asked for.
		j.RetryBackoff = 50 * time.Millisecond
	}
}

// TestThrottledAppendIsHonoured: Exchange answers a client that goes too fast "NO Request is throttled.
// Suggested Backoff Time: N milliseconds" and closes the connection. The engine must wait that long before
// it reconnects, then finish the folder without losing or duplicating a message, even though the server
// had in fact stored the refused message and those pipelined after it.
func TestThrottledAppendIsHonoured(t *testing.T) {
	t.Parallel()
	const backoff = 1500 * time.Millisecond
	f := migrateWithAppendFault(t, "T ", testproxy.ExchangeThrottle(backoff))
	at, p := f.at, f.p
	var next time.Time
	for _, acc := range p.Accepted() {
		if acc.After(at) {
			next = acc
			break
		}
	}
	if next.IsZero() {
		t.Fatal("no connection after the throttling reply: the engine did not go on")
	}
	if gap := next.Sub(at); gap < backoff || gap > 10*time.Second {
		t.Errorf("reconnected %v after the throttling reply, want the suggested %v (and under 10s)", gap.Round(time.Millisecond), backoff)
	} else {
		t.Logf("reconnected %v after the throttling reply", gap.Round(time.Millisecond))
	}
	f.check()
}

// appendFault is a PST migrated into Dovecot through a proxy that replaced the reply to the 4th APPEND
// command (16 messages each where the server takes MULTIAPPEND, well into the first folder), one folder at a
// time: the connection after the fault is the folder's retry, not another folder starting.
type appendFault struct {
	p     *testproxy.Proxy
	at    time.Time // when the reply was replaced
	check func()    // every item on the target once, none failed
}

func migrateWithAppendFault(t *testing.T, prefix, reply string) appendFault {
	path := filepath.Join(testfixtures.MustPSTDir(t), throttleFixture)
	a := accountOf(testserver.Dovecot(t), "alice")
	f := appendFault{p: testproxy.New(t, a.srv.Addr())}
	injected := f.p.ThrottleAppend(4, reply)
	rep, gw := migratePST(t, a, path, prefix, func(j *Job) {
		throughProxy(f.p)(j)
		j.Parallel = 1
	})
	select {
	case f.at = <-injected:
	default:
		t.Fatal("the run never reached the 4th APPEND: the fault was not injected")
	}
	f.check = func() {
		t.Helper()
		if rep.Totals.Failed != 0 || rep.Totals.Copied+rep.Totals.Duplicates < rep.Totals.Items {
			t.Errorf("totals %+v, failed items %+v", rep.Totals, rep.Failed)
		}
		checkTarget(t, a, expectFromPST(t, path, rep, gw), 3)
	}
	return f
}

// TestRefusalOutOfStep: the server refuses an APPEND and then answers for a tag it was never sent, as Cyrus
// does when it fails an APPEND before reading the literal ("NO System I/O error", then "From: BAD …" for the
// message's first line). The refusal is not a verdict on those messages: the folder is retried on a new
// connection and every item ends up on the target once, although the server had in fact stored the messages
// it was said to refuse.
func TestRefusalOutOfStep(t *testing.T) {
	t.Parallel()
	f := migrateWithAppendFault(t, "S ", testproxy.CyrusOutOfStep)
	if n := len(f.p.Accepted()); n < 2 {
		t.Errorf("%d connections: the folder was not retried on a new one", n)
	}
	f.check()
}

// TestThrottleProxyCutsConnectionsMidRun cuts every connection to the target twice during a run: the folders that lost
// their connection are retried and the target ends up with every item exactly once.
func TestThrottleProxyCutsConnectionsMidRun(t *testing.T) {
	t.Parallel()
	path := filepath.Join(testfixtures.MustPSTDir(t), throttleFixture)
	srv := testserver.Dovecot(t)
	a := accountOf(srv, "alice")
	p := testproxy.New(t, srv.Addr())

	// An undisturbed run first, into other folders, says how many bytes a run relays.
	migratePST(t, a, path, "Calm ", throughProxy(p))
	perRun, calmConns := p.Relayed(), len(p.Accepted())
	if perRun < 100<<10 {
		t.Fatalf("a run relays only %d bytes: too few to cut it mid-run", perRun)
	}

	// Cut after a third of the run's traffic, and again after another third.
	step := perRun / 3
	first := p.BreakAfter(step)
	var second <-chan struct{}
	armed := make(chan struct{})
	runDone := make(chan struct{})
	go func() {
		defer close(armed)
		select {
		case <-first:
			second = p.BreakAfter(step)
		case <-runDone:
		}
	}()
	rep, gw := migratePST(t, a, path, "Cut ", throughProxy(p))
	close(runDone)
	<-armed

	for i, fired := range []<-chan struct{}{first, second} {
		select {
		case <-fired:
		default:
			t.Errorf("cut %d did not happen during the run (%d bytes relayed, a cut every %d)", i+1, p.Relayed()-perRun, step)
		}
	}
	t.Logf("undisturbed: %d connections, %d bytes; cut twice: %d connections, %d bytes",
		calmConns, perRun, len(p.Accepted())-calmConns, p.Relayed()-perRun)
	if rep.Totals.Failed != 0 || rep.Totals.Copied+rep.Totals.Duplicates < rep.Totals.Items {
		t.Errorf("totals %+v, failed items %+v", rep.Totals, rep.Failed)
	}
	checkTarget(t, a, expectFromPST(t, path, rep, gw), 3)
}

// TestServerRestartMidRun restarts the target server while a migration is appending: the run reconnects once
// the server is back and completes, with every item exactly once.
func TestServerRestartMidRun(t *testing.T) {
	srv := testserver.Dovecot(t)
	a := accountOf(srv, "alice")
	file := filepath.Join(testfixtures.MustPSTDir(t), "pst2john-97_outlook_qwerty12345.pst")
	restarted := make(chan struct{})
	var once sync.Once
	metrics := enginemetrics.New()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.Collectors()...)
	rep, gw := migratePST(t, a, file, "R ", func(j *Job) {
		j.Metrics = metrics
		j.Batch, j.RateMessages, j.RetryBackoff = 4, 60, 200*time.Millisecond
		j.OnProgress, j.ProgressInterval = func(p Progress) {
			if p.Copied >= 40 {
				once.Do(func() {
					go func() { srv.Restart(t); close(restarted) }()
				})
			}
		}, 100*time.Millisecond
	})
	select {
	case <-restarted:
	default:
		t.Fatal("the migration ended before the server was restarted")
	}
	if rep.Totals.Failed > 0 {
		t.Fatalf("%d failed: %+v", rep.Totals.Failed, rep.Failed)
	}
	if n := counterValue(t, reg, "mailshift_migration_errors_total", "transient"); n < 1 {
		t.Errorf("the restart caused %v transient errors: the run never noticed it", n)
	}
	if n := counterValue(t, reg, "mailshift_migration_messages_total", "copied"); n != float64(rep.Totals.Copied) {
		t.Errorf("metrics count %v copied messages, the report %d", n, rep.Totals.Copied)
	}
	checkTarget(t, a, expectFromPST(t, file, rep, gw), 2)
}

// counterValue is the value of the counter name whose one label has the value label in reg (0 when it was
// never counted).
func counterValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if l := m.GetLabel(); len(l) == 1 && l[0].GetValue() == label {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestUnservableSourceMessage: a source that refuses to serve one message (Exchange answers NO for any FETCH
// that names it) costs that message only: it is reported as failed with the server's reason and everything
// else is copied.
func TestUnservableSourceMessage(t *testing.T) {
	src := accountOf(testserver.Dovecot(t), "alice")
	dst := accountOf(testserver.Dovecot(t), "bob")
	loadCorpus(t, src, 0, 120, "u")
	c := src.bulk(t)
	inbox := contents(t, c, "INBOX")
	if len(inbox) < 10 {
		t.Fatalf("%d messages in INBOX", len(inbox))
	}
	bad := inbox[len(inbox)/2]
	p := testproxy.New(t, src.srv.Addr())
	p.RefuseFetch("INBOX", bad.UID, "NO The specified message set is invalid.")
	ep := imapconn.Endpoint{Host: p.Host(), Port: p.Port(), TLS: imapconn.TLSNone, DialTimeout: 20 * time.Second}
	s, err := OpenIMAP(context.Background(), ep, imapconn.Credentials{Login: src.cred.Login, Password: src.cred.Password})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rep, err := Run(context.Background(), Job{Source: s, Target: dst.target("")})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Failed != 1 || rep.Totals.Copied != 119 {
		t.Fatalf("copied %d, failed %d (%+v); want 119 and the one message", rep.Totals.Copied, rep.Totals.Failed, rep.Failed)
	}
	f := rep.Failed[0]
	if f.Folder != "INBOX" || !strings.Contains(f.Identity, msgid.Normalize(bad.MessageID)) || !strings.Contains(f.Reason, "specified message set is invalid") {
		t.Errorf("failed item %+v, want INBOX %s with the server's reason", f, bad.MessageID)
	}
}

// TestUnitsReuseConnections: a run of nine folders over two connections logs in on the target for its first
// two folders only; each later folder takes the connection of one that is done. (Without the hand-over each
// folder dials its own: nine here.)
func TestUnitsReuseConnections(t *testing.T) {
	t.Parallel()
	path := filepath.Join(testfixtures.MustPSTDir(t), throttleFixture)
	srv := testserver.Dovecot(t)
	a := accountOf(srv, "alice")
	p := testproxy.New(t, srv.Addr())
	rep, _ := migratePST(t, a, path, "Reuse ", func(j *Job) { throughProxy(p)(j); j.Parallel = 2 })
	if len(rep.Folders) < 8 || rep.Totals.Failed != 0 || rep.Totals.Copied != rep.Totals.Items {
		t.Fatalf("the run did not copy %d folders in full: %+v", len(rep.Folders), rep.Totals)
	}
	// The setup session, the two units' connections, and one for each groupware folder an item is routed
	// to from a folder of another kind.
	conns := len(p.Accepted())
	t.Logf("%d folders over %d connections", len(rep.Folders), conns)
	if conns > 5 {
		t.Errorf("%d connections for %d folders with two at a time: folders did not hand theirs on", conns, len(rep.Folders))
	}
}

// TestIMAPSourceConnections: an IMAP source's listing connection is one of the units' connections once the
// folders are listed, so a run of two units at a time opens two source connections, not three; and the
// units of nine folders hand theirs on. Each connection is a session the server starts, which on Dovecot
// costs it more than a small folder's messages.
func TestIMAPSourceConnections(t *testing.T) {
	t.Parallel()
	srv := testserver.Dovecot(t)
	src, dst := accountOf(srv, "alice"), accountOf(srv, "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := src.bulk(t)
	const folders, each = 9, 5
	for i := range folders {
		name := fmt.Sprintf("Conns%d", i)
		if err := c.Create(ctx, name, ""); err != nil {
			t.Fatal(err)
		}
		var msgs []imapbulk.Message
		for j := range each {
			body := fmt.Sprintf("From: s@example.org\r\nSubject: %d.%d\r\nMessage-ID: <%d.%d@conns.example>\r\n\r\nBody.\r\n", i, j, i, j)
			msgs = append(msgs, imapbulk.Message{Size: int64(len(body)), Body: strings.NewReader(body)})
		}
		if _, err := c.Append(ctx, name, msgs); err != nil {
			t.Fatal(err)
		}
	}
	p := testproxy.New(t, srv.Addr())
	s, err := OpenIMAP(ctx, imapconn.Endpoint{Host: p.Host(), Port: p.Port(), TLS: imapconn.TLSNone, DialTimeout: 20 * time.Second}, src.cred)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rep, err := Run(ctx, Job{Source: s, Target: dst.target(""), Parallel: 2, Rules: foldermap.Rules{Include: []string{"Conns*"}}})
	if err != nil {
		t.Fatal(err)
	}
	checkTotals(t, rep)
	if rep.Totals.Copied != folders*each {
		t.Fatalf("copied %d of %d", rep.Totals.Copied, folders*each)
	}
	if got := len(p.Accepted()); got != 2 {
		t.Errorf("%d source connections for %d folders two at a time, want 2 (the listing connection and one more)", got, folders)
	}
}
