package migrationrun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Annotations of a checkpoint ConfigMap that say which run holds it.
const (
	AnnotationRunHolder       = "mailshift.io/run-holder"
	AnnotationRunRenewed      = "mailshift.io/run-renewed"
	AnnotationRunLeaseSeconds = "mailshift.io/run-lease-seconds"
)

// Environment variables through which a worker pod learns its own name and UID (the downward API).
const (
	PodNameEnv = "POD_NAME"
	PodUIDEnv  = "POD_UID"
)

// DefaultLeaseDuration is how long a run's claim on its checkpoint lasts without renewal.
const DefaultLeaseDuration = 30 * time.Second

// maxHonouredLease bounds the lease duration a claimant accepts from another holder's annotation.
const maxHonouredLease = 10 * time.Minute

// ErrLeaseLost: another run holds the checkpoint now (it took over after this run's lease ran out), or the
// lease was released. The run must neither write the checkpoint nor send anything more.
var ErrLeaseLost = errors.New("this run no longer holds its checkpoint")

// LeaseHeldError: another run held the checkpoint and kept renewing it for as long as this one waited.
type LeaseHeldError struct {
	ConfigMap string
	Holder    string
	Waited    time.Duration
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("checkpoint ConfigMap %s is in use by another run (%s), which kept renewing its lease while this run waited %s; two runs on one checkpoint would copy the same messages twice",
		e.ConfigMap, e.Holder, e.Waited.Round(time.Second))
}

// NewHolder is a lease holder name: what names the run to people, and a random part that keeps two
// processes apart even when that is the same (a run restarted in the same place).
func NewHolder(name string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return name + " #" + hex.EncodeToString(b)
}

// Lease is a run's exclusive claim on its checkpoint ConfigMap, kept in the ConfigMap's annotations, so
// that two runs of one migration (a replaced Job's pod still stopping, a pod on a partitioned node, a
// cancelled in-process run still flushing) never copy side by side.
//
// Invariants:
//   - Every write of the holder (claim, renewal, checkpoint data, release) is a patch with the
//     resourceVersion it last saw as a precondition; a takeover is one too. Of two runs that saw the same
//     version at most one write succeeds, so two claimants cannot both win, and a holder's write after a
//     takeover is refused by the API server whatever the holder believes.
//   - A claimant takes over another holder's lease only after seeing its holder and renewal time unchanged
//     for the lease duration on the claimant's own clock: the clocks of two machines need not agree, only
//     run at about the same rate.
//   - The holder renews every third of the duration and counts its lease lost two thirds of the duration
//     after it sent its last successful write, before any claimant may take over; it counts it lost at
//     once when a write finds another holder. Lost is final: Done is closed, every later write fails with
//     ErrLeaseLost, and the run stops.
//   - Release clears the annotations (a precondition write too), so the next claimant gets in at once.
type Lease struct {
	Client    client.Client
	Namespace string
	Name      string
	// Holder names this run uniquely: a pod's name and UID, or the manager's identity and the run's.
	Holder string
	// Owner is set on the ConfigMap when Claim has to create it (in-process; a worker finds it made).
	Owner metav1.OwnerReference
	// Duration is the lease's length (DefaultLeaseDuration when zero).
	Duration time.Duration
	// MaxWait bounds how long Claim waits for another holder (the duration and a third when zero).
	MaxWait time.Duration
	// Clock is the time source (the real clock when nil).
	Clock clock.Clock

	mu       sync.Mutex // serialises writes; held across the API call
	rv       string     // resourceVersion of the ConfigMap as this holder last wrote or saw it
	held     bool
	lastSent atomic.Int64 // clock time (UnixNano) at which the last successful write was sent

	doneOnce sync.Once
	done     chan struct{}
	doneErr  error
	initOnce sync.Once
}

func (l *Lease) init() {
	l.initOnce.Do(func() {
		if l.Duration <= 0 {
			l.Duration = DefaultLeaseDuration
		}
		if l.MaxWait <= 0 {
			l.MaxWait = l.Duration + l.Duration/3
		}
		if l.Clock == nil {
			l.Clock = clock.RealClock{}
		}
		l.done = make(chan struct{})
	})
}

func (l *Lease) poll() time.Duration      { return min(time.Second, l.Duration/10) }
func (l *Lease) stopAfter() time.Duration { return l.Duration * 2 / 3 }

// callTimeout keeps one API call from outlasting the time the holder has left.
func (l *Lease) callTimeout() time.Duration { return max(l.Duration/6, time.Second) }

// Done is closed when the lease is lost or released; Err then says which.
func (l *Lease) Done() <-chan struct{} {
	l.init()
	return l.done
}

// Err is nil while the lease is held (or not yet claimed), ErrLeaseLost (wrapped) after.
func (l *Lease) Err() error {
	select {
	case <-l.Done():
		return l.doneErr
	default:
		return nil
	}
}

func (l *Lease) end(err error) {
	l.doneOnce.Do(func() {
		l.doneErr = err
		close(l.done)
	})
}

// Claim takes the lease, waiting up to MaxWait for another holder's to run out or be released. It fails
// with a *LeaseHeldError naming the holder when the wait is over.
func (l *Lease) Claim(ctx context.Context) error {
	l.init()
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.Clock.Now()
	var seen string
	var seenAt time.Time
	for {
		if err := l.Err(); err != nil {
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, l.callTimeout())
		var cm corev1.ConfigMap
		err := l.Client.Get(cctx, types.NamespacedName{Namespace: l.Namespace, Name: l.Name}, &cm)
		now := l.Clock.Now()
		switch {
		case apierrors.IsNotFound(err):
			err = l.create(cctx, now)
			cancel()
			if err == nil {
				return nil
			}
			if !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("checkpoint ConfigMap %s: %w", l.Name, err)
			}
			continue
		case err != nil:
			cancel()
			return fmt.Errorf("checkpoint ConfigMap %s: %w", l.Name, err)
		}
		holder := cm.Annotations[AnnotationRunHolder]
		free := holder == "" || holder == l.Holder
		if !free {
			if key := holder + "\x00" + cm.Annotations[AnnotationRunRenewed]; key != seen {
				seen, seenAt = key, now
			} else if now.Sub(seenAt) >= honouredDuration(&cm, l.Duration) {
				free = true
			}
		}
		if free {
			l.rv = cm.ResourceVersion
			err = l.patch(cctx, now, nil)
			cancel()
			if err == nil {
				l.held = true
				return nil
			}
			if !apierrors.IsConflict(err) {
				return fmt.Errorf("checkpoint ConfigMap %s: %w", l.Name, err)
			}
			continue // someone else wrote first: look again
		}
		cancel()
		if waited := now.Sub(start); waited >= l.MaxWait {
			return &LeaseHeldError{ConfigMap: l.Name, Holder: holder, Waited: waited}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.Clock.After(l.poll()):
		}
	}
}

// honouredDuration is the longer of ours and the holder's stated duration, bounded.
func honouredDuration(cm *corev1.ConfigMap, own time.Duration) time.Duration {
	if s, err := strconv.Atoi(cm.Annotations[AnnotationRunLeaseSeconds]); err == nil && s > 0 {
		return max(own, min(time.Duration(s)*time.Second, maxHonouredLease))
	}
	return own
}

func (l *Lease) annotations(now time.Time) map[string]string {
	return map[string]string{
		AnnotationRunHolder:       l.Holder,
		AnnotationRunRenewed:      now.UTC().Format(time.RFC3339Nano),
		AnnotationRunLeaseSeconds: strconv.Itoa(int(l.Duration / time.Second)),
	}
}

// create makes the ConfigMap, already claimed (in-process, where the manager may create it).
func (l *Lease) create(ctx context.Context, now time.Time) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: l.Namespace, Name: l.Name, Annotations: l.annotations(now),
		Labels: map[string]string{"app.kubernetes.io/managed-by": "mailshift", "mailshift.io/migration": LabelValue(l.Owner.Name)}}}
	if l.Owner.UID != "" {
		cm.OwnerReferences = []metav1.OwnerReference{l.Owner}
	}
	if err := l.Client.Create(ctx, cm, client.FieldOwner(FieldManager)); err != nil {
		return err
	}
	l.rv, l.held = cm.ResourceVersion, true
	l.lastSent.Store(now.UnixNano())
	return nil
}

// patch writes the holder's annotations (nil values remove them: a release) and data with the last seen
// resourceVersion as a precondition.
func (l *Lease) patch(ctx context.Context, now time.Time, data map[string]string) error {
	ann := map[string]any{}
	for k, v := range l.annotations(now) {
		ann[k] = v
	}
	meta := map[string]any{"resourceVersion": l.rv, "annotations": ann}
	body := map[string]any{"metadata": meta}
	if data != nil {
		body["data"] = data
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: l.Namespace, Name: l.Name}}
	if err := l.Client.Patch(ctx, cm, client.RawPatch(types.MergePatchType, b), client.FieldOwner(FieldManager)); err != nil {
		return err
	}
	l.rv = cm.ResourceVersion
	l.lastSent.Store(now.UnixNano())
	return nil
}

// Write stores data in the ConfigMap as the holder, renewing the lease with it. It fails with ErrLeaseLost
// when another run holds the checkpoint now.
func (l *Lease) Write(ctx context.Context, data map[string]string) error {
	l.init()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writeLocked(ctx, data)
}

// Renew renews the lease.
func (l *Lease) Renew(ctx context.Context) error { return l.Write(ctx, nil) }

func (l *Lease) writeLocked(ctx context.Context, data map[string]string) error {
	if err := l.Err(); err != nil {
		return err
	}
	if !l.held {
		return fmt.Errorf("checkpoint ConfigMap %s: not claimed by this run", l.Name)
	}
	if l.expired() {
		l.end(fmt.Errorf("%w: its lease ran out (no renewal for %s)", ErrLeaseLost, l.stopAfter()))
		return l.doneErr
	}
	for attempt := 0; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, l.callTimeout())
		err := l.patch(cctx, l.Clock.Now(), data)
		if err == nil || attempt == 3 || !(apierrors.IsConflict(err) || apierrors.IsNotFound(err)) {
			cancel()
			return err
		}
		// Someone wrote in between: it is this run still (a reply lost, another field) or a new holder.
		var cm corev1.ConfigMap
		gerr := l.Client.Get(cctx, types.NamespacedName{Namespace: l.Namespace, Name: l.Name}, &cm)
		cancel()
		switch {
		case apierrors.IsNotFound(gerr) || apierrors.IsNotFound(err):
			l.end(fmt.Errorf("%w: checkpoint ConfigMap %s was deleted", ErrLeaseLost, l.Name))
			return l.doneErr
		case gerr != nil:
			return gerr
		case cm.Annotations[AnnotationRunHolder] != l.Holder:
			other := cm.Annotations[AnnotationRunHolder]
			if other == "" {
				other = "nobody: the lease was cleared"
			}
			l.end(fmt.Errorf("%w: checkpoint ConfigMap %s is held by %s", ErrLeaseLost, l.Name, other))
			return l.doneErr
		}
		l.rv = cm.ResourceVersion
	}
}

func (l *Lease) expired() bool {
	return l.Clock.Since(time.Unix(0, l.lastSent.Load())) >= l.stopAfter()
}

// Keep renews the lease until ctx ends or the lease is lost or released, and declares it lost when no
// renewal succeeded in time. Run it in its own goroutine after Claim.
func (l *Lease) Keep(ctx context.Context) {
	l.init()
	renewEvery, retryEvery := l.Duration/3, max(l.Duration/15, 10*time.Millisecond)
	wait := renewEvery
	for {
		left := l.stopAfter() - l.Clock.Since(time.Unix(0, l.lastSent.Load()))
		select {
		case <-ctx.Done():
			return
		case <-l.Done():
			return
		case <-l.Clock.After(max(0, min(wait, left))):
		}
		if l.Err() != nil {
			return
		}
		if l.expired() {
			l.end(fmt.Errorf("%w: its lease ran out (no renewal for %s)", ErrLeaseLost, l.stopAfter()))
			return
		}
		if err := l.Renew(ctx); err != nil {
			wait = retryEvery
		} else {
			wait = renewEvery
		}
	}
}

// Release gives the lease up so that the next run may claim it at once. Writes fail after it.
func (l *Lease) Release(ctx context.Context) error {
	l.init()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Err() != nil || !l.held {
		return nil
	}
	defer l.end(fmt.Errorf("%w: it was released", ErrLeaseLost))
	cctx, cancel := context.WithTimeout(ctx, l.callTimeout())
	defer cancel()
	for attempt := 0; ; attempt++ {
		b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": l.rv, "annotations": map[string]any{
			AnnotationRunHolder: nil, AnnotationRunRenewed: nil, AnnotationRunLeaseSeconds: nil}}})
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: l.Namespace, Name: l.Name}}
		err := l.Client.Patch(cctx, cm, client.RawPatch(types.MergePatchType, b), client.FieldOwner(FieldManager))
		if !apierrors.IsConflict(err) || attempt == 3 {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
		// Someone else wrote: clear the lease only if it is still this run's.
		if err := l.Client.Get(cctx, types.NamespacedName{Namespace: l.Namespace, Name: l.Name}, cm); err != nil {
			return client.IgnoreNotFound(err)
		}
		if cm.Annotations[AnnotationRunHolder] != l.Holder {
			return nil
		}
		l.rv = cm.ResourceVersion
	}
}
