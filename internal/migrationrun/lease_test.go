package migrationrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mailshift/mailshift/internal/testenv"
	"github.com/mailshift/mailshift/worker"
)

// The control plane is started by the first test that needs one (the others run without).
var (
	planeOnce sync.Once
	plane     *testenv.Env
	planeErr  error
	nsCount   int
)

func TestMain(m *testing.M) {
	code := m.Run()
	if plane != nil {
		_ = plane.Stop()
	}
	os.Exit(code)
}

// kube is a client of a real kube-apiserver and a fresh namespace.
func kube(t *testing.T) (client.Client, string) {
	t.Helper()
	planeOnce.Do(func() { plane, planeErr = testenv.Start() })
	if planeErr != nil {
		t.Fatal(planeErr)
	}
	nsCount++
	ns := fmt.Sprintf("lease-%d-%d", time.Now().UnixNano()%1e6, nsCount)
	if err := plane.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	return plane.Client, ns
}

// checkpointConfigMap makes the ConfigMap as the Job executor does before a worker starts.
func checkpointConfigMap(t *testing.T, c client.Client, ns string) string {
	t.Helper()
	if err := c.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "m-checkpoint"}}); err != nil {
		t.Fatal(err)
	}
	return "m-checkpoint"
}

func holderOf(t *testing.T, c client.Client, ns, name string) string {
	t.Helper()
	var cm corev1.ConfigMap
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &cm); err != nil {
		t.Fatal(err)
	}
	return cm.Annotations[AnnotationRunHolder]
}

// TestLeaseRaceOneWinner: claimants that start at once on one checkpoint, each trying once: exactly one
// wins, and the others are told who.
func TestLeaseRaceOneWinner(t *testing.T) {
	c, ns := kube(t)
	for _, existing := range []bool{true, false} {
		name := "fresh-checkpoint"
		if existing {
			name = checkpointConfigMap(t, c, ns)
		}
		const n = 8
		leases := make([]*Lease, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range leases {
			leases[i] = &Lease{Client: c, Namespace: ns, Name: name, Holder: NewHolder(fmt.Sprintf("claimant %d", i)), MaxWait: time.Nanosecond}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = leases[i].Claim(context.Background())
			}()
		}
		close(start)
		wg.Wait()
		var winners []string
		for i, err := range errs {
			var held *LeaseHeldError
			switch {
			case err == nil:
				winners = append(winners, leases[i].Holder)
			case !errors.As(err, &held):
				t.Fatalf("existing=%v: claimant %d: %v, want a LeaseHeldError", existing, i, err)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("existing=%v: %d claimants won: %v", existing, len(winners), winners)
		}
		if got := holderOf(t, c, ns, name); got != winners[0] {
			t.Errorf("existing=%v: the ConfigMap names %q, the winner is %q", existing, got, winners[0])
		}
		for i, err := range errs {
			var held *LeaseHeldError
			if errors.As(err, &held) && held.Holder != winners[0] {
				t.Errorf("existing=%v: claimant %d was told %q holds it, not the winner %q", existing, i, held.Holder, winners[0])
			}
		}
	}
}

// settle gives the goroutines on the fake clock time to reach their next wait.
func settle(fc *clocktesting.FakeClock) {
	for i := 0; i < 200 && !fc.HasWaiters(); i++ {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
}

// TestLeaseTakeoverAfterExpiry: a holder that stops renewing (a killed or partitioned run) keeps a second
// claimant out for the lease's duration, then loses it; when it wakes up its renewal and its checkpoint
// writes are refused and it counts itself stopped.
func TestLeaseTakeoverAfterExpiry(t *testing.T) {
	c, ns := kube(t)
	name := checkpointConfigMap(t, c, ns)
	ctx := context.Background()
	// The stalled holder's clock stands still: only the API server's compare-and-swap can stop it.
	old := &Lease{Client: c, Namespace: ns, Name: name, Holder: NewHolder("stalled run"), Clock: clocktesting.NewFakeClock(time.Now())}
	if err := old.Claim(ctx); err != nil {
		t.Fatal(err)
	}
	oldCps := &ConfigMapCheckpoint{Client: c, Namespace: ns, Name: name, Lease: old}
	if err := oldCps.Save(ctx, &worker.Checkpoint{Version: 2, Job: "old"}); err != nil {
		t.Fatal(err)
	}
	if err := oldCps.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	fc := clocktesting.NewFakeClock(time.Now())
	t0 := fc.Now()
	next := &Lease{Client: c, Namespace: ns, Name: name, Holder: NewHolder("next run"), Clock: fc}
	claimed := make(chan error, 1)
	go func() { claimed <- next.Claim(ctx) }()
	var err error
wait:
	for {
		settle(fc)
		select {
		case err = <-claimed:
			break wait
		default:
		}
		if fc.Since(t0) > time.Minute {
			t.Fatal("the claimant is still waiting a minute after the lease ran out")
		}
		fc.Step(next.poll())
	}
	if err != nil {
		t.Fatal(err)
	}
	if waited := fc.Since(t0); waited < DefaultLeaseDuration {
		t.Fatalf("the claimant took over after %s, before the lease of %s ran out", waited, DefaultLeaseDuration)
	}
	nextCps := &ConfigMapCheckpoint{Client: c, Namespace: ns, Name: name, Lease: next}
	if err := nextCps.Save(ctx, &worker.Checkpoint{Version: 2, Job: "next"}); err != nil {
		t.Fatal(err)
	}
	if err := nextCps.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	// The stalled run wakes up: its renewal finds the new holder.
	if err := old.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("renewal of a lease taken over: %v, want ErrLeaseLost", err)
	}
	select {
	case <-old.Done():
	default:
		t.Fatal("the holder whose lease was taken over is not told to stop")
	}
	if err := oldCps.Save(ctx, &worker.Checkpoint{Version: 2, Job: "old, again"}); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("checkpoint save after the lease was lost: %v, want ErrLeaseLost", err)
	}
	if err := oldCps.Flush(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("checkpoint write after the lease was lost: %v, want ErrLeaseLost", err)
	}
	cp, err := nextCps.Load(ctx)
	if err != nil || cp == nil || cp.Job != "next" {
		t.Errorf("the checkpoint is %+v (%v), want the new holder's", cp, err)
	}
	if got := holderOf(t, c, ns, name); got != next.Holder {
		t.Errorf("holder %q, want %q", got, next.Holder)
	}
}

// TestLeaseLiveHolderKeepsClaimantOut: a holder that keeps renewing keeps a claimant out for good; the
// claimant gives up after its bounded wait with an error that names the holder.
func TestLeaseLiveHolderKeepsClaimantOut(t *testing.T) {
	c, ns := kube(t)
	name := checkpointConfigMap(t, c, ns)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fc := clocktesting.NewFakeClock(time.Now())
	live := &Lease{Client: c, Namespace: ns, Name: name, Holder: NewHolder("live run"), Clock: fc}
	if err := live.Claim(ctx); err != nil {
		t.Fatal(err)
	}
	go live.Keep(ctx)
	other := &Lease{Client: c, Namespace: ns, Name: name, Holder: NewHolder("other run"), Clock: fc}
	claimed := make(chan error, 1)
	go func() { claimed <- other.Claim(ctx) }()
	t0 := fc.Now()
	var err error
wait:
	for {
		settle(fc)
		select {
		case err = <-claimed:
			break wait
		default:
		}
		if fc.Since(t0) > 3*time.Minute {
			t.Fatal("the claimant waits without bound")
		}
		fc.Step(other.poll())
	}
	var held *LeaseHeldError
	if !errors.As(err, &held) || held.Holder != live.Holder {
		t.Fatalf("claim against a live holder: %v, want a LeaseHeldError naming %q", err, live.Holder)
	}
	if live.Err() != nil {
		t.Errorf("the live holder lost its lease: %v", live.Err())
	}
}

// TestLeaseReleaseLetsNextIn: a run that ends releases its lease, and the next run gets in at once rather
// than after the lease's duration.
func TestLeaseReleaseLetsNextIn(t *testing.T) {
	c, ns := kube(t)
	name := checkpointConfigMap(t, c, ns)
	ctx := context.Background()
	first := &Lease{Client: c, Namespace: ns, Name: name, Holder: NewHolder("first run")}
	if err := first.Claim(ctx); err != nil {
		t.Fatal(err)
	}
	second := &Lease{Client: c, Namespace: ns, Name: name, Holder: NewHolder("second run")}
	claimed := make(chan error, 1)
	go func() { claimed <- second.Claim(ctx) }()
	select {
	case err := <-claimed:
		t.Fatalf("the second run got in while the first held the lease: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	released := time.Now()
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-claimed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the second run did not get in within 5 s of the release (the lease lasts %s)", DefaultLeaseDuration)
	}
	t.Logf("the second run got in %s after the release", time.Since(released).Round(time.Millisecond))
	if got := holderOf(t, c, ns, name); got != second.Holder {
		t.Errorf("holder %q, want %q", got, second.Holder)
	}
	if err := first.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("renewal after release: %v, want ErrLeaseLost", err)
	}
}

// TestLeaseHolderStopsBeforeTakeover: a holder cut off from the API server (its renewals fail) counts its
// lease lost on its own clock before any claimant may take it over.
func TestLeaseHolderStopsBeforeTakeover(t *testing.T) {
	c, ns := kube(t)
	name := checkpointConfigMap(t, c, ns)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fc := clocktesting.NewFakeClock(time.Now())
	l := &Lease{Client: c, Namespace: ns, Name: name, Holder: NewHolder("partitioned run"), Clock: fc}
	if err := l.Claim(ctx); err != nil {
		t.Fatal(err)
	}
	claimed := fc.Now()
	// From here on every request fails: nothing listens on port 1 of loopback.
	cut, err := client.New(&rest.Config{Host: "http://127.0.0.1:1", Timeout: time.Second}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Client = cut
	go l.Keep(ctx)
	for {
		settle(fc)
		select {
		case <-l.Done():
		default:
			if fc.Since(claimed) >= DefaultLeaseDuration {
				t.Fatalf("the holder still counts itself holding %s after its last renewal, when a claimant may take over", fc.Since(claimed))
			}
			fc.Step(time.Second)
			continue
		}
		break
	}
	if !errors.Is(l.Err(), ErrLeaseLost) {
		t.Errorf("Err = %v, want ErrLeaseLost", l.Err())
	}
	t.Logf("stopped %s after the last renewal: %v", fc.Since(claimed), l.Err())
}
