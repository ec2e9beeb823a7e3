package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/connlimit"
)

// Network work never runs inside Reconcile: a server that resets, never greets or answers slowly would hold
// a reconcile worker for as long as it takes, and with it every other object of the kind. Reconcile resolves
// what an object refers to (reads from the cache and the API server only), hands the network part to a
// netChecks, and returns. The check runs in the background under the per-server connection limit and the
// manager-wide bound of checkPool; its result wakes the object through a channel source, and the next
// Reconcile writes it into the status.

// defaultMaxConnections is MailServer.spec.limits.maxConnections when the field is unset (the CRD default).
const defaultMaxConnections = 10

// checkTimeout bounds one background check, waiting for a connection slot included. A calendar read of a
// large mailbox is the longest (buildTimeout plus publishTimeout).
const checkTimeout = buildTimeout + publishTimeout

// ReasonChecking is the Reconciling reason while the first check of an object's current spec is in flight,
// so that an object on a server that does not answer has a condition at once, not after the timeout.
const ReasonChecking = "Checking"

// markChecking shows a check in flight for the current generation: Reconciling=True with reason Checking,
// and Ready=Unknown when no check has ended yet.
func markChecking(conds *[]metav1.Condition, generation int64, message string) {
	if meta.FindStatusCondition(*conds, mailshiftv1.ConditionReady) == nil {
		meta.SetStatusCondition(conds, metav1.Condition{Type: mailshiftv1.ConditionReady, Status: metav1.ConditionUnknown,
			Reason: ReasonChecking, Message: message, ObservedGeneration: generation})
	}
	meta.SetStatusCondition(conds, metav1.Condition{Type: mailshiftv1.ConditionReconciling, Status: metav1.ConditionTrue,
		Reason: ReasonChecking, Message: message, ObservedGeneration: generation})
}

// needsChecking says whether the conditions do not yet speak of this generation: then a check in flight is
// shown, while a periodic re-check of an unchanged object leaves the status alone.
func needsChecking(conds []metav1.Condition, generation int64) bool {
	c := meta.FindStatusCondition(conds, mailshiftv1.ConditionReady)
	return c == nil || c.ObservedGeneration != generation
}

// checkPool is what every controller's background checks share: the per-server connection limiter (also used
// by in-process migration runs) and a bound on how many checks run at once in the whole manager.
//
// A check is either a first check (inputs that have no result yet: a new object, a changed spec, a Mailbox
// that just got the folder a FolderShare waits for) or a routine re-check of inputs already checked. The
// limiter is first come, first served, so without a distinction one server's routine re-checks (1,000
// Mailboxes every resync period) queue ahead of first checks, and a FolderShare woken the moment its Mailbox
// got its Calendar folder waited minutes behind them with its status still saying the folder is missing.
// So routine re-checks yield: at most the server's limit of them is in the limiter's queue or running at
// once, and none enters the queue while a first check for the same server waits (for at most routineYield,
// so that a steady stream of first checks delays re-checks but never starves them into a timeout).
type checkPool struct {
	servers *connlimit.Limiter
	running chan struct{}

	mu    sync.Mutex
	gates map[string]*serverGate
}

// serverGate orders one server's checks before they reach the limiter.
type serverGate struct {
	first   int           // first checks waiting for a connection slot
	clear   chan struct{} // closed (and replaced) when first drops to zero
	routine chan struct{} // a place per routine re-check queued or running; capacity: the server's limit
}

// routineYield bounds how long a routine re-check stands aside for first checks of its server.
const routineYield = 30 * time.Second

func newCheckPool(servers *connlimit.Limiter, workers int) *checkPool {
	if workers <= 0 {
		workers = 32
	}
	return &checkPool{servers: servers, running: make(chan struct{}, workers), gates: map[string]*serverGate{}}
}

func (p *checkPool) gate(slot serverSlot) *serverGate {
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.gates[slot.key]
	if g == nil || cap(g.routine) != slot.limit && g.first == 0 && len(g.routine) == 0 {
		// New, or idle with a changed limit: places already taken are never lost by the swap.
		g = &serverGate{clear: make(chan struct{}), routine: make(chan struct{}, max(slot.limit, 1))}
		p.gates[slot.key] = g
	}
	return g
}

// serverSlot names the server a check connects to and how many connections that server allows.
type serverSlot struct {
	key   string // the limiter's key
	name  string // the server in words, for messages
	limit int
	// conns is how many connections the work opens to the server at once (0: one), taken together: a sync
	// cycle between two mailboxes of one server holds two.
	conns int
	// also is another server the work connects to at the same time (a sync cycle's source), nil if none.
	// Both are taken in the order of their keys, whichever is named first: two works between the same two
	// servers in opposite directions never each hold one while waiting for the other.
	also *serverSlot
}

func serverSlotOf(srv *mailshiftv1.MailServer) serverSlot {
	limit := int(srv.Spec.Limits.MaxConnections)
	if limit <= 0 {
		limit = defaultMaxConnections
	}
	key := srv.Namespace + "/" + srv.Name
	return serverSlot{key: key, name: fmt.Sprintf("MailServer %s (spec.limits.maxConnections %d)", key, limit), limit: limit}
}

// acquire takes a connection slot on the server, then a place in the pool. The server slot comes first, so
// checks waiting for a full server never hold a place that a check of another server could use. first says
// whether this is a first check (see checkPool); a routine re-check yields to first checks.
func (p *checkPool) acquire(ctx context.Context, slot serverSlot, first bool) (func(), error) {
	slots := []serverSlot{slot}
	if slot.also != nil && slot.also.key != slot.key {
		slots = append(slots, *slot.also)
		slices.SortFunc(slots, func(x, y serverSlot) int { return strings.Compare(x.key, y.key) })
	}
	var releases []func()
	releaseAll := func() {
		for _, r := range slices.Backward(releases) {
			r()
		}
	}
	for _, sl := range slots {
		r, err := p.serverSlots(ctx, sl, first)
		if err != nil {
			releaseAll()
			return nil, err
		}
		releases = append(releases, r)
	}
	select {
	case p.running <- struct{}{}:
	case <-ctx.Done():
		releaseAll()
		return nil, &refError{mailshiftv1.ReasonTimeout, fmt.Sprintf("no free check worker within %s", checkTimeout), false}
	}
	return func() { <-p.running; releaseAll() }, nil
}

// serverSlots takes the work's connection slots on one server.
func (p *checkPool) serverSlots(ctx context.Context, slot serverSlot, first bool) (func(), error) {
	g := p.gate(slot)
	noSlot := func() error {
		return &refError{mailshiftv1.ReasonTimeout, fmt.Sprintf(
			"no free connection to %s within %s: all %d in use", slot.name, checkTimeout, slot.limit), false}
	}
	var release func()
	if first {
		p.mu.Lock()
		g.first++
		p.mu.Unlock()
		r, err := p.servers.Acquire(ctx, slot.key, slot.conns, slot.limit)
		p.mu.Lock()
		if g.first--; g.first == 0 {
			close(g.clear)
			g.clear = make(chan struct{})
		}
		p.mu.Unlock()
		if err != nil {
			return nil, noSlot()
		}
		release = r
	} else {
		select {
		case g.routine <- struct{}{}:
		case <-ctx.Done():
			return nil, noSlot()
		}
		yield := time.NewTimer(routineYield)
		defer yield.Stop()
	wait:
		for {
			p.mu.Lock()
			waiting, clear := g.first, g.clear
			p.mu.Unlock()
			if waiting == 0 {
				break
			}
			select {
			case <-clear:
			case <-yield.C:
				break wait
			case <-ctx.Done():
				<-g.routine
				return nil, noSlot()
			}
		}
		r, err := p.servers.Acquire(ctx, slot.key, slot.conns, slot.limit)
		if err != nil {
			<-g.routine
			return nil, noSlot()
		}
		release = func() { r(); <-g.routine }
	}
	return release, nil
}

// checkResult is a finished check: what it found, for which inputs, and when it finished.
type checkResult[R any] struct {
	version  string
	finished time.Time
	value    R
	// applied: the status already shows this result (so an outcome is counted and told once).
	applied bool
}

type runningCheck struct {
	version string
	cancel  context.CancelFunc
}

// netChecks runs one kind's background checks: at most one per object, the one for the object's current
// inputs (a check for older inputs is cancelled when a newer one starts, or when the object is deleted).
// The last result per object is kept until the object is forgotten.
type netChecks[R any] struct {
	pool   *checkPool
	failed func(error) R // the result of a check that could not start (no slot in time)
	events chan event.GenericEvent

	mu      sync.Mutex
	running map[types.NamespacedName]*runningCheck
	results map[types.NamespacedName]checkResult[R]
}

func newNetChecks[R any](pool *checkPool, failed func(error) R) *netChecks[R] {
	return &netChecks[R]{pool: pool, failed: failed, events: make(chan event.GenericEvent, 1024),
		running: map[types.NamespacedName]*runningCheck{}, results: map[types.NamespacedName]checkResult[R]{}}
}

// source wakes the controller with each finished check.
func (n *netChecks[R]) source() source.Source {
	return source.Channel(n.events, &handler.EnqueueRequestForObject{})
}

// last returns the object's latest result, if any.
func (n *netChecks[R]) last(key types.NamespacedName) (checkResult[R], bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	r, ok := n.results[key]
	return r, ok
}

// inFlight says whether a check for exactly this version is running.
func (n *netChecks[R]) inFlight(key types.NamespacedName, version string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	r, ok := n.running[key]
	return ok && r.version == version
}

// busy says whether a check of the object is running, for whatever version.
func (n *netChecks[R]) busy(key types.NamespacedName) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.running[key]
	return ok
}

// stop cancels the object's running check, if any, and keeps its place: its result, when it has ended
// (which a cancelled check does at once), is recorded as any other.
func (n *netChecks[R]) stop(key types.NamespacedName) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r, ok := n.running[key]; ok {
		r.cancel()
	}
}

// start runs check in the background unless one for the same version already runs; one for another version
// is cancelled. obj is only used to name the object in the wake-up event.
func (n *netChecks[R]) start(obj client.Object, version string, slot serverSlot, check func(ctx context.Context) R) {
	n.startAs(obj, version, slot, nil, check)
}

// startAs is start with the caller saying whether this is a first check (see checkPool); nil: a first check
// when nobody has seen a result for these inputs yet (routine re-checks repeat a known one). Work whose
// every run is new (a sync cycle) says so itself, or it would always go before the routine re-checks.
func (n *netChecks[R]) startAs(obj client.Object, version string, slot serverSlot, isFirst *bool, check func(ctx context.Context) R) {
	key := client.ObjectKeyFromObject(obj)
	n.mu.Lock()
	if r, ok := n.running[key]; ok {
		if r.version == version {
			n.mu.Unlock()
			return
		}
		r.cancel()
	}
	prev, known := n.results[key]
	first := !known || prev.version != version
	if isFirst != nil {
		first = *isFirst
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	me := &runningCheck{version: version, cancel: cancel}
	n.running[key] = me
	n.mu.Unlock()

	wake := &mailshiftv1.Mailbox{} // any object: the handler only reads namespace and name
	wake.Namespace, wake.Name = key.Namespace, key.Name
	go func() {
		defer cancel()
		var value R
		if release, err := n.pool.acquire(ctx, slot, first); err != nil {
			value = n.failed(err)
		} else {
			value = check(ctx)
			release()
		}
		n.mu.Lock()
		current := n.running[key] == me
		if current {
			delete(n.running, key)
			n.results[key] = checkResult[R]{version: version, finished: time.Now(), value: value}
		}
		n.mu.Unlock()
		if current {
			n.events <- event.GenericEvent{Object: wake}
		}
	}()
}

// markApplied records that the status now shows the result that finished at finished.
func (n *netChecks[R]) markApplied(key types.NamespacedName, finished time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r, ok := n.results[key]; ok && r.finished.Equal(finished) {
		r.applied = true
		n.results[key] = r
	}
}

// forget cancels the object's running check and drops its result: the object is gone, or its result must
// not be reused.
func (n *netChecks[R]) forget(key types.NamespacedName) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r, ok := n.running[key]; ok {
		r.cancel()
		delete(n.running, key)
	}
	delete(n.results, key)
}

// inputVersion fingerprints what a check depends on (generation, resolved endpoint and credentials, ...):
// a result is reused only for the same fingerprint. The parts are hashed in their JSON form, which follows
// pointers (the cache hands out new copies each time) and includes passwords (a changed password must
// check again); only the hash is kept.
func inputVersion(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		b, err := json.Marshal(p)
		if err != nil {
			b = fmt.Appendf(nil, "%#v", p)
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// connectionShare is how many connections one migration run may open to its target server: the server's
// maxConnections divided among the migrations it lets run at once (maxConcurrentMigrations), at least two
// (one sets the target up, one copies). A worker Job is told it in its spec; an in-process run also holds
// that many slots of the manager's limiter while it runs.
func connectionShare(l mailshiftv1.ServerLimits) int {
	conns, runs := int(l.MaxConnections), int(l.MaxConcurrentMigrations)
	if conns <= 0 {
		conns = defaultMaxConnections
	}
	if runs <= 0 {
		runs = 4
	}
	return max(2, conns/runs)
}
