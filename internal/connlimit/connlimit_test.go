package connlimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLimitHoldsPerKey: many holders of one key never exceed its limit, while another key is not slowed
// by the first one being full.
func TestLimitHoldsPerKey(t *testing.T) {
	l := New()
	var cur, peak atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rel, err := l.Acquire(context.Background(), "ns/slow", 1, 3)
			if err != nil {
				t.Error(err)
				return
			}
			n := cur.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			cur.Add(-1)
			rel()
		}()
	}
	// While "slow" is saturated, another server's slot is granted at once.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	rel, err := l.Acquire(ctx, "ns/fast", 1, 1)
	if err != nil {
		t.Fatalf("another server waited for the full one: %v", err)
	}
	rel()
	wg.Wait()
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak %d holders, want at most 3 (and the test to reach the limit)", p)
	}
	if n := l.InUse("ns/slow"); n != 0 {
		t.Errorf("%d slots still held", n)
	}
}

// TestCancelledWaiterLeavesNoSlot: a waiter that gives up takes nothing and does not block those behind it.
func TestCancelledWaiterLeavesNoSlot(t *testing.T) {
	l := New()
	hold, _ := l.Acquire(context.Background(), "k", 2, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.Acquire(ctx, "k", 1, 2); err == nil {
		t.Fatal("acquired a slot of a full server")
	}
	done := make(chan struct{})
	go func() {
		rel, err := l.Acquire(context.Background(), "k", 2, 2)
		if err == nil {
			rel()
		}
		close(done)
	}()
	hold()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("a waiter was not woken after the slots were released")
	}
	hold() // twice is harmless
	if n := l.InUse("k"); n != 0 {
		t.Errorf("%d slots held after all released", n)
	}
}

// TestLargerThanLimit: a request for more slots than the limit runs alone instead of never.
func TestLargerThanLimit(t *testing.T) {
	l := New()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	rel, err := l.Acquire(ctx, "k", 5, 2)
	if err != nil {
		t.Fatal(err)
	}
	if n := l.InUse("k"); n != 2 {
		t.Errorf("holds %d slots, want the limit 2", n)
	}
	rel()
}
