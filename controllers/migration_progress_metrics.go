package controllers

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
)

// MigrationProgressCounters count the migration engine's work in the manager, whichever executor runs it.
//
// Why here and not in the workers: with the default executor the engine runs in worker Jobs, pods that live
// for one run and are gone before a scrape interval or two has passed; a PodMonitor would miss most of what
// they did, and would need every worker to serve an endpoint. Every worker already reports its progress into
// its MailboxMigration's status (at most once a second, and once at the end), and the manager watches those
// objects anyway. So the manager turns the changes it sees into counters.
//
// What is counted: only the difference between two versions of a migration this process saw one after the
// other (an informer update). A manager that restarts starts its counters at zero, like any process, and the
// first version it sees of each migration is a baseline, not an increase: nothing is counted twice, and work
// done while no manager watched is not counted at all. A run starts its counters from zero; when any of them
// goes down, a new run began and its counts are taken whole (a new run whose first report already exceeds
// the last run's in every count looks like a continuation: then only the excess is counted, so the error is
// always an undercount). Items a run found already on the target (after a resume, say) count as skipped,
// never as copied again.
type MigrationProgressCounters struct {
	items *prometheus.CounterVec
	bytes prometheus.Counter
}

// Results of mailshift_mailboxmigration_items_processed_total.
const (
	resultCopied  = "copied"
	resultSkipped = "skipped"
	resultFailed  = "failed"
)

// NewMigrationProgressCounters makes the counters; Watch feeds them, Collectors registers them.
func NewMigrationProgressCounters() *MigrationProgressCounters {
	c := &MigrationProgressCounters{
		items: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailshift_mailboxmigration_items_processed_total",
			Help: "Items MailboxMigrations reported as dealt with, by result (copied; skipped: already on the target or by policy; failed), counted by the manager from the status changes it saw."},
			[]string{"result"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "mailshift_mailboxmigration_copied_bytes_total",
			Help: "Bytes MailboxMigrations reported as copied, counted by the manager from the status changes it saw."}),
	}
	for _, r := range []string{resultCopied, resultSkipped, resultFailed} {
		c.items.WithLabelValues(r) // served at zero from the start
	}
	return c
}

// Collectors are what to register.
func (c *MigrationProgressCounters) Collectors() []prometheus.Collector {
	return []prometheus.Collector{c.items, c.bytes}
}

// Watch counts the progress changes of the MailboxMigrations informers gets from now on.
func (c *MigrationProgressCounters) Watch(ctx context.Context, informers cache.Informers) error {
	inf, err := informers.GetInformer(ctx, &mailshiftv1.MailboxMigration{})
	if err != nil {
		return err
	}
	// Additions are baselines (a new migration has no progress yet; after a restart, the initial list is
	// what was already counted by the previous process) and deletions end nothing: only updates count.
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{UpdateFunc: func(oldObj, newObj any) {
		before, ok1 := oldObj.(*mailshiftv1.MailboxMigration)
		after, ok2 := newObj.(*mailshiftv1.MailboxMigration)
		if ok1 && ok2 {
			c.observe(before.Status.Progress, after.Status.Progress)
		}
	}})
	return err
}

// observe counts what happened between two reports of one migration.
func (c *MigrationProgressCounters) observe(before, after *mailshiftv1.Progress) {
	if after == nil {
		return
	}
	var base mailshiftv1.Progress
	if before != nil {
		base = *before
	}
	if after.ItemsCopied < base.ItemsCopied || after.ItemsSkipped < base.ItemsSkipped ||
		after.ItemsFailed < base.ItemsFailed || after.BytesCopied < base.BytesCopied {
		base = mailshiftv1.Progress{} // a new run, counting from zero
	}
	add := func(r string, n int64) {
		if n > 0 {
			c.items.WithLabelValues(r).Add(float64(n))
		}
	}
	add(resultCopied, after.ItemsCopied-base.ItemsCopied)
	add(resultSkipped, after.ItemsSkipped-base.ItemsSkipped)
	add(resultFailed, after.ItemsFailed-base.ItemsFailed)
	if n := after.BytesCopied - base.BytesCopied; n > 0 {
		c.bytes.Add(float64(n))
	}
}
