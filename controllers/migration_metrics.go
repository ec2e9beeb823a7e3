package controllers

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
)

// MigrationMetrics are the controller's view of migrations. The gauges are computed from the cache when
// Prometheus scrapes (never stale, nothing to forget when an object goes); the counters and the histogram
// are observed as migrations finish, whichever executor ran them.
type MigrationMetrics struct {
	reader    client.Reader
	phases    *prometheus.Desc
	copied    *prometheus.Desc
	total     *prometheus.Desc
	bytes     *prometheus.Desc
	finished  *prometheus.CounterVec
	failures  *prometheus.CounterVec
	durations prometheus.Histogram
}

// NewMigrationMetrics reads MailboxMigrations through reader (the manager's cache) at scrape time.
func NewMigrationMetrics(reader client.Reader) *MigrationMetrics {
	obj := []string{"namespace", "name"}
	return &MigrationMetrics{
		reader: reader,
		phases: prometheus.NewDesc("mailshift_mailboxmigrations", "MailboxMigrations by phase.", []string{"phase"}, nil),
		copied: prometheus.NewDesc("mailshift_mailboxmigration_items_copied", "Items copied by a MailboxMigration, from its status.", obj, nil),
		total:  prometheus.NewDesc("mailshift_mailboxmigration_items_total", "Items a MailboxMigration's source holds, from its status.", obj, nil),
		bytes:  prometheus.NewDesc("mailshift_mailboxmigration_bytes_copied", "Bytes copied by a MailboxMigration, from its status.", obj, nil),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailshift_mailboxmigrations_finished_total",
			Help: "MailboxMigrations that finished, by phase (Succeeded, Failed)."}, []string{"phase"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailshift_mailboxmigration_failures_total",
			Help: "MailboxMigrations that failed, by reason."}, []string{"reason"}),
		durations: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mailshift_mailboxmigration_duration_seconds",
			Help: "Time from a MailboxMigration's start to its completion.", Buckets: prometheus.ExponentialBuckets(1, 4, 10)}),
	}
}

// Collectors are what to register.
func (m *MigrationMetrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m, m.finished, m.failures, m.durations}
}

func (m *MigrationMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.phases
	ch <- m.copied
	ch <- m.total
	ch <- m.bytes
}

func (m *MigrationMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list mailshiftv1.MailboxMigrationList
	if err := m.reader.List(ctx, &list); err != nil {
		return
	}
	counts := map[mailshiftv1.MigrationPhase]int{}
	for _, p := range []mailshiftv1.MigrationPhase{mailshiftv1.PhasePending, mailshiftv1.PhaseRunning, mailshiftv1.PhaseSuspended,
		mailshiftv1.PhaseSucceeded, mailshiftv1.PhaseFailed} {
		counts[p] = 0
	}
	for i := range list.Items {
		mig := &list.Items[i]
		phase := mig.Status.Phase
		if phase == "" {
			phase = mailshiftv1.PhasePending
		}
		counts[phase]++
		if p := mig.Status.Progress; p != nil {
			ch <- prometheus.MustNewConstMetric(m.copied, prometheus.GaugeValue, float64(p.ItemsCopied), mig.Namespace, mig.Name)
			ch <- prometheus.MustNewConstMetric(m.total, prometheus.GaugeValue, float64(p.ItemsTotal), mig.Namespace, mig.Name)
			ch <- prometheus.MustNewConstMetric(m.bytes, prometheus.GaugeValue, float64(p.BytesCopied), mig.Namespace, mig.Name)
		}
	}
	for p, n := range counts {
		ch <- prometheus.MustNewConstMetric(m.phases, prometheus.GaugeValue, float64(n), string(p))
	}
}

// transition records a migration entering phase.
func (m *MigrationMetrics) transition(mig *mailshiftv1.MailboxMigration, phase mailshiftv1.MigrationPhase) {
	if phase != mailshiftv1.PhaseSucceeded && phase != mailshiftv1.PhaseFailed {
		return
	}
	m.finished.WithLabelValues(string(phase)).Inc()
	if phase == mailshiftv1.PhaseFailed {
		m.failures.WithLabelValues(readyReason(mig.Status.Conditions)).Inc()
	}
	if s, c := mig.Status.StartTime, mig.Status.CompletionTime; s != nil && c != nil {
		m.durations.Observe(c.Sub(s.Time).Seconds())
	}
}
