package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/connlimit"
)

// TestInputVersion: equal inputs held in different copies (as the cache hands them out) have one version;
// a changed password or spec field has another.
func TestInputVersion(t *testing.T) {
	spec := func() mailshiftv1.MailboxSpec {
		return mailshiftv1.MailboxSpec{Login: "alice", CheckInterval: &metav1.Duration{Duration: time.Minute},
			CredentialsSecretRef: &mailshiftv1.SecretKeyRef{Name: "pw"}}
	}
	type creds struct{ Login, Password string }
	a := inputVersion(int64(1), spec(), creds{"alice", "one"})
	if b := inputVersion(int64(1), spec(), creds{"alice", "one"}); a != b {
		t.Errorf("equal inputs in new copies: %s != %s", a, b)
	}
	if b := inputVersion(int64(1), spec(), creds{"alice", "two"}); a == b {
		t.Error("a changed password keeps the version")
	}
	changed := spec()
	changed.CheckInterval.Duration = time.Hour
	if b := inputVersion(int64(1), changed, creds{"alice", "one"}); a == b {
		t.Error("a changed spec keeps the version")
	}
}

// TestNetChecksOnePerObject: starting a check again for the same inputs while one runs does nothing; new
// inputs cancel the running check, whose result is dropped; forget cancels too. Each kept result wakes the
// controller once.
func TestNetChecksOnePerObject(t *testing.T) {
	pool := newCheckPool(connlimit.New(), 4)
	n := newNetChecks(pool, func(err error) string { return "failed: " + err.Error() })
	obj := &mailshiftv1.Mailbox{}
	obj.Namespace, obj.Name = "ns", "alice"
	key := client.ObjectKeyFromObject(obj)
	slot := serverSlot{key: "ns/imap", limit: 2}

	var runs atomic.Int32
	release := make(chan struct{})
	cancelled := make(chan struct{})
	started := make(chan struct{})
	n.start(obj, "v1", slot, func(ctx context.Context) string {
		runs.Add(1)
		close(started)
		select {
		case <-ctx.Done():
			close(cancelled)
			return "cancelled"
		case <-release:
			return "v1 done"
		}
	})
	<-started
	n.start(obj, "v1", slot, func(context.Context) string { runs.Add(1); return "duplicate" })
	if !n.inFlight(key, "v1") {
		t.Fatal("no check in flight for v1")
	}
	n.start(obj, "v2", slot, func(context.Context) string { runs.Add(1); return "v2 done" })
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the check for the old inputs was not cancelled")
	}
	select {
	case <-n.events:
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up after the check ended")
	}
	res, ok := n.last(key)
	if !ok || res.version != "v2" || res.value != "v2 done" {
		t.Fatalf("last result = %+v, want v2's", res)
	}
	if got := runs.Load(); got != 2 {
		t.Errorf("%d checks ran, want 2 (the duplicate start must not run)", got)
	}
	select {
	case <-n.events:
		t.Error("the cancelled check woke the controller too")
	case <-time.After(100 * time.Millisecond):
	}

	// forget cancels a running check and drops the result.
	stopped, running := make(chan struct{}), make(chan struct{})
	n.start(obj, "v3", slot, func(ctx context.Context) string { close(running); <-ctx.Done(); close(stopped); return "" })
	<-running
	n.forget(key)
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("forget did not cancel the running check")
	}
	if _, ok := n.last(key); ok {
		t.Error("a result is kept after forget")
	}
	close(release)
}

// TestInProgressEventsAreNormal: a migration that is merely running, or waiting for its turn, is told with
// a Normal Event; a failure with a Warning.
func TestInProgressEventsAreNormal(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	obj := &mailshiftv1.MailboxMigration{}
	recordTransition(rec, obj, "", failedOutcome(mailshiftv1.ReasonProgressing, "copying", false), "Migrate")
	recordTransition(rec, obj, mailshiftv1.ReasonProgressing, failedOutcome(ReasonWaitingForServer, "waiting", false), "Migrate")
	recordTransition(rec, obj, ReasonWaitingForServer, failedOutcome(mailshiftv1.ReasonUnreachable, "down", false), "Migrate")
	for i, want := range []string{"Normal " + mailshiftv1.ReasonProgressing, "Normal " + ReasonWaitingForServer, "Warning " + mailshiftv1.ReasonUnreachable} {
		if got := <-rec.Events; !strings.HasPrefix(got, want) {
			t.Errorf("event %d = %q, want %q...", i, got, want)
		}
	}
}

// TestConnectionShare: a migration is told its share of the server's connections.
func TestConnectionShare(t *testing.T) {
	for _, c := range []struct {
		conns, runs int32
		want        int
	}{{0, 0, 2}, {10, 4, 2}, {20, 4, 5}, {100, 1, 100}, {2, 4, 2}} {
		if got := connectionShare(mailshiftv1.ServerLimits{MaxConnections: c.conns, MaxConcurrentMigrations: c.runs}); got != c.want {
			t.Errorf("share of %d connections among %d runs = %d, want %d", c.conns, c.runs, got, c.want)
		}
	}
	if got := controllerOptions(Options{}).MaxConcurrentReconciles; got != DefaultMaxConcurrentReconciles || got < 4 {
		t.Errorf("default MaxConcurrentReconciles = %d", got)
	}
	if got := controllerOptions(Options{MaxConcurrentReconciles: 7}).MaxConcurrentReconciles; got != 7 {
		t.Errorf("MaxConcurrentReconciles 7 gave %d", got)
	}
}

// TestCheckPoolFirstChecksGoAhead: a first check (a FolderShare whose Mailbox just got its folder) waits
// behind at most the server's limit of routine re-checks, not behind every re-check queued before it. The
// limiter alone is first come, first served: at scale, shares waited minutes behind 1,000 Mailbox re-checks.
func TestCheckPoolFirstChecksGoAhead(t *testing.T) {
	pool := newCheckPool(connlimit.New(), 16)
	slot := serverSlot{key: "ns/imap", name: "MailServer ns/imap", limit: 2}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var held []func()
	for range slot.limit {
		release, err := pool.acquire(ctx, slot, true)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, release)
	}

	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	take := func(name string, first bool) {
		defer wg.Done()
		release, err := pool.acquire(ctx, slot, first)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		mu.Lock()
		order = append(order, name)
		mu.Unlock()
		// Held a moment, so that the order recorded is the order the connections were given in: a check
		// released at once let the next waiter in before the goroutine given a connection with it had
		// recorded itself (one CI run under -race).
		time.Sleep(20 * time.Millisecond)
		release()
	}
	const routine = 8
	for i := range routine {
		wg.Add(1)
		go take(fmt.Sprintf("re-check %d", i), false)
	}
	time.Sleep(200 * time.Millisecond) // every re-check is queued before the first check arrives
	wg.Add(1)
	go take("first", true)
	time.Sleep(200 * time.Millisecond)
	for _, release := range held {
		release()
	}
	wg.Wait()

	pos := slices.Index(order, "first")
	if len(order) != routine+1 || pos < 0 {
		t.Fatalf("acquired: %v, want %d checks", order, routine+1)
	}
	if pos > slot.limit {
		t.Errorf("the first check got a connection after %d re-checks queued before it (order %v), want at most %d",
			pos, order, slot.limit)
	}
}

// TestCheckPoolConns: work that opens two connections to a server (a sync cycle between two of its
// mailboxes) holds two of its slots, taken together: a third fits beside it, another such work waits.
func TestCheckPoolConns(t *testing.T) {
	pool := newCheckPool(connlimit.New(), 16)
	two := serverSlot{key: "ns/imap", name: "MailServer ns/imap", limit: 3, conns: 2}
	one := two
	one.conns = 0
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	release, err := pool.acquire(ctx, two, true)
	if err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if _, err := pool.acquire(short, two, true); err == nil {
		t.Fatal("two more slots were granted beside two of three held")
	}
	third, err := pool.acquire(ctx, one, true)
	if err != nil {
		t.Fatalf("the third slot: %v", err)
	}
	third()
	release()
	again, err := pool.acquire(ctx, two, true)
	if err != nil {
		t.Fatalf("two slots once free: %v", err)
	}
	again()
}

// TestNetChecksStartAsRoutine: work whose caller says it is routine (a sync cycle of the interval, new
// inputs every time) is a routine re-check: a first check of its server waits behind at most the server's
// limit of them, not behind every cycle queued before it.
func TestNetChecksStartAsRoutine(t *testing.T) {
	pool := newCheckPool(connlimit.New(), 16)
	n := newNetChecks(pool, func(err error) string { return err.Error() })
	slot := serverSlot{key: "ns/imap", name: "MailServer ns/imap", limit: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	held, err := pool.acquire(ctx, slot, true)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	ran := func(name string) {
		mu.Lock()
		order = append(order, name)
		mu.Unlock()
	}
	const cycles = 4
	routine := false
	for i := range cycles {
		obj := &mailshiftv1.SyncPolicy{}
		obj.Namespace, obj.Name = "ns", fmt.Sprintf("policy-%d", i)
		n.startAs(obj, "cycle", slot, &routine, func(context.Context) string { ran(obj.Name); return "" })
	}
	time.Sleep(200 * time.Millisecond) // the cycles wait first
	done := make(chan struct{})
	go func() {
		defer close(done)
		release, err := pool.acquire(ctx, slot, true)
		if err != nil {
			t.Error(err)
			return
		}
		ran("first check")
		release()
	}()
	time.Sleep(200 * time.Millisecond)
	held()
	<-done
	for range cycles {
		select {
		case <-n.events:
		case <-time.After(15 * time.Second):
			t.Fatal("a cycle did not run")
		}
	}
	if pos := slices.Index(order, "first check"); pos < 0 || pos > slot.limit {
		t.Errorf("order %v: the first check waited behind more than %d routine cycles", order, slot.limit)
	}
}

// TestCheckPoolOppositeDirections: works between two servers in opposite directions (sync policies A to B
// and B to A) each take both servers' slots; taken in one order, they never wait on each other for good.
func TestCheckPoolOppositeDirections(t *testing.T) {
	pool := newCheckPool(connlimit.New(), 16)
	x := serverSlot{key: "ns/x", name: "MailServer ns/x", limit: 1}
	y := serverSlot{key: "ns/y", name: "MailServer ns/y", limit: 1}
	xy, yx := x, y
	xy.also, yx.also = &y, &x
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var held atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slot := xy
			if i%2 == 1 {
				slot = yx
			}
			release, err := pool.acquire(ctx, slot, i%3 == 0)
			if err != nil {
				t.Errorf("work %d: %v", i, err)
				return
			}
			if n := held.Add(1); n != 1 {
				t.Errorf("%d works hold both servers' only slot", n)
			}
			time.Sleep(2 * time.Millisecond) // both held: another work that took one first waits meanwhile
			held.Add(-1)
			release()
		}()
	}
	wg.Wait()
}
