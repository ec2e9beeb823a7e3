package migrationrun

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestConcurrentRunsNoDuplicates starts two runs of one migration at once on one checkpoint ConfigMap (a
// replaced worker pod still stopping beside its successor, an in-process run cancelled while the next
// starts), IMAP to IMAP on a real Dovecot: the second waits for the first, and the target holds every
// message once.
func TestConcurrentRunsNoDuplicates(t *testing.T) {
	c, ns := kube(t)
	ctx := context.Background()
	const n = 400
	spec, count := migrationFixture(t, ns, n)
	sums := make([]*Summary, 2)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			sums[i] = Run(ctx, spec(fmt.Sprintf("run-%d", i)), Deps{Client: c})
		}()
	}
	close(start)
	wg.Wait()
	for i, s := range sums {
		t.Logf("run %d: %s %s: %s", i, s.Result, s.Reason, s.Message)
		if s.Result != "Succeeded" {
			t.Errorf("run %d: %s %s: %s", i, s.Result, s.Reason, s.Message)
		}
	}
	total, distinct := count()
	if distinct != n || total != n {
		t.Errorf("the target holds %d messages, %d distinct, %d duplicates; want %d once each", total, distinct, total-distinct, n)
	}
	if copied := sums[0].Totals.Copied + sums[1].Totals.Copied; copied != n {
		t.Errorf("the runs copied %d messages between them, want %d", copied, n)
	}
}

// migrationFixture fills alice's INBOX on a fresh Dovecot with n messages and returns the spec of a
// migration of it to bob, and a count of what bob's INBOX holds (all, distinct Message-IDs).
func migrationFixture(t *testing.T, ns string, n int) (func(run string) *Spec, func() (int, int)) {
	srv := testserver.Dovecot(t)
	ctx := context.Background()
	ep := imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSStartTLS, CAPEM: srv.CAPEM, DialTimeout: 20 * time.Second}
	alice, bob := srv.Users["alice"], srv.Users["bob"]
	dial := func(u testserver.User) *imapbulk.Conn {
		conn, err := imapbulk.Dial(ctx, ep, imapconn.Credentials{Login: u.Login, Password: u.Password, Flavor: srv.Flavor})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	var msgs []imapbulk.Message
	for i := range n {
		body := fmt.Appendf(nil, "From: a@example.org\r\nTo: alice@example.test\r\nSubject: lease %d\r\nMessage-ID: <lease-%d@example.org>\r\n\r\n%s\r\n",
			i, i, bytes.Repeat([]byte("x"), 2000))
		msgs = append(msgs, imapbulk.Message{Size: int64(len(body)), Body: bytes.NewReader(body), Date: time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC)})
	}
	res, err := dial(alice).Append(ctx, "INBOX", msgs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}

	dir := t.TempDir()
	file := func(name, content string) *Value {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return &Value{File: p}
	}
	endpoint := Endpoint{Host: srv.Host, Port: srv.Port, TLS: string(imapconn.TLSStartTLS), Flavor: srv.Flavor, CA: file("ca.pem", string(srv.CAPEM))}
	spec := func(run string) *Spec {
		return &Spec{Namespace: ns, Name: "m", Run: run,
			Source:     Source{IMAP: &IMAPSource{Endpoint: endpoint, Login: alice.Login, Password: file("alice", alice.Password)}},
			Target:     Target{Endpoint: endpoint, Login: bob.Login, Password: file("bob", bob.Password)},
			Checkpoint: "m-checkpoint", ReportName: "m-report"}
	}
	count := func() (int, int) {
		tgt := dial(bob)
		st, err := tgt.Select(ctx, "INBOX", true)
		if err != nil {
			t.Fatal(err)
		}
		if st.Exists == 0 {
			return 0, 0
		}
		ids, err := tgt.FetchIdentities(ctx, "1:*", 0)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, id := range ids {
			seen[id.MessageID] = true
		}
		return len(ids), len(seen)
	}
	return spec, count
}

// TestRunStopsWhenLeaseTakenOver: a run whose lease another run took over (it was partitioned from the API
// server past the lease's end) stops sending at once, and writes neither the checkpoint nor the report.
func TestRunStopsWhenLeaseTakenOver(t *testing.T) {
	c, ns := kube(t)
	ctx := context.Background()
	const n = 400
	spec, count := migrationFixture(t, ns, n)
	s := spec("slow")
	s.RateMsgs = 40 // ten seconds for the whole mailbox
	done := make(chan *Summary, 1)
	go func() { done <- Run(ctx, s, Deps{Client: c, Holder: "slow run", LeaseDuration: 3 * time.Second}) }()

	// Once the run is copying, another run takes the checkpoint over, as one would after the lease ran out.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if total, _ := count(); total > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run copied nothing in 20 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var cm corev1.ConfigMap
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: s.Checkpoint}, &cm); err != nil {
		t.Fatal(err)
	}
	if h := cm.Annotations[AnnotationRunHolder]; h != "slow run" {
		t.Errorf("the running run's ConfigMap names holder %q", h)
	}
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[AnnotationRunHolder] = "successor"
	cm.Data = map[string]string{CheckpointKey: "successor's"}
	if err := c.Update(ctx, &cm); err != nil {
		t.Fatal(err)
	}
	takenOver := time.Now()

	var sum *Summary
	select {
	case sum = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the run goes on 10 s after its lease was taken over")
	}
	stoppedAfter := time.Since(takenOver)
	// APPENDs already on the wire when the run stopped may still be stored (the successor settles them, as
	// the checkpoint's in-flight marks say); nothing is sent after.
	time.Sleep(time.Second)
	atEnd, _ := count()
	time.Sleep(2 * time.Second)
	later, _ := count()
	t.Logf("stopped %s after the takeover: %s %s: %s; %d of %d copied", stoppedAfter.Round(time.Millisecond), sum.Result, sum.Reason, sum.Message, atEnd, n)
	if sum.Result != "Failed" || sum.Reason != ReasonCheckpointInUse || !strings.Contains(sum.Message, "successor") {
		t.Errorf("summary %s %s %q, want Failed %s naming the successor", sum.Result, sum.Reason, sum.Message, ReasonCheckpointInUse)
	}
	if stoppedAfter > 5*time.Second || atEnd >= n || later != atEnd {
		t.Errorf("the run ended %s after the takeover; the target then holds %d messages and %d two seconds later (of %d): it did not stop",
			stoppedAfter, atEnd, later, n)
	}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: s.Checkpoint}, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Data[CheckpointKey] != "successor's" || cm.Annotations[AnnotationRunHolder] != "successor" {
		t.Errorf("the run wrote the checkpoint after losing it: holder %q, checkpoint %.60q", cm.Annotations[AnnotationRunHolder], cm.Data[CheckpointKey])
	}
	var rep corev1.ConfigMap
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: s.ReportName}, &rep); !apierrors.IsNotFound(err) {
		t.Errorf("the run wrote its report after losing the checkpoint: %v", err)
	}
}
