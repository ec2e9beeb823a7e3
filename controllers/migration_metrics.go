package controllers

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
)

// MigrationMetrics are the controller's view of migrations. The gauges are computed from the cache when
// Prometheus scrapes (never stale, nothing to forget when an object goes); the counters and the histogram
// are observed as migrations finish, whichever executor ran them. Names follow Prometheus' conventions:
// gauges carry no _total, units come last (_bytes, _seconds), counters end in _total.
type MigrationMetrics struct {
	reader      client.Reader
	phases      *prometheus.Desc
	phase       *prometheus.Desc
	items       *prometheus.Desc
	copied      *prometheus.Desc
	skipped     *prometheus.Desc
	failed      *prometheus.Desc
	copiedBytes *prometheus.Desc
	sourceBytes *prometheus.Desc
	finished    *prometheus.CounterVec
	failures    *prometheus.CounterVec
	durations   prometheus.Histogram
}

// migrationPhases are every phase a MailboxMigration can be in, so that each count is served even at zero.
var migrationPhases = []mailshiftv1.MigrationPhase{mailshiftv1.PhasePending, mailshiftv1.PhaseRunning, mailshiftv1.PhaseSuspended,
	mailshiftv1.PhaseSucceeded, mailshiftv1.PhaseFailed}

// NewMigrationMetrics reads MailboxMigrations through reader (the manager's cache) at scrape time.
func NewMigrationMetrics(reader client.Reader) *MigrationMetrics {
	obj := []string{"namespace", "name"}
	m := &MigrationMetrics{
		reader: reader,
		phases: prometheus.NewDesc("mailshift_mailboxmigrations", "MailboxMigrations by phase.", []string{"phase"}, nil),
		phase: prometheus.NewDesc("mailshift_mailboxmigration_phase",
			"1 for a MailboxMigration's current phase (only that phase is served).", []string{"namespace", "name", "phase"}, nil),
		items:       prometheus.NewDesc("mailshift_mailboxmigration_items", "Items a MailboxMigration's source holds, from its status.", obj, nil),
		copied:      prometheus.NewDesc("mailshift_mailboxmigration_items_copied", "Items copied by a MailboxMigration's current run, from its status.", obj, nil),
		skipped:     prometheus.NewDesc("mailshift_mailboxmigration_items_skipped", "Items a MailboxMigration's current run found already on the target or skipped by policy, from its status.", obj, nil),
		failed:      prometheus.NewDesc("mailshift_mailboxmigration_items_failed", "Items a MailboxMigration's current run could not copy, from its status.", obj, nil),
		copiedBytes: prometheus.NewDesc("mailshift_mailboxmigration_copied_bytes", "Bytes copied by a MailboxMigration's current run, from its status.", obj, nil),
		sourceBytes: prometheus.NewDesc("mailshift_mailboxmigration_source_bytes", "Bytes a MailboxMigration's source holds, from its status (0 when unknown).", obj, nil),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailshift_mailboxmigrations_finished_total",
			Help: "MailboxMigrations that finished, by phase (Succeeded, Failed)."}, []string{"phase"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailshift_mailboxmigration_failures_total",
			Help: "MailboxMigrations that failed, by reason."}, []string{"reason"}),
		durations: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mailshift_mailboxmigration_duration_seconds",
			Help: "Time from a MailboxMigration's start to its completion.", Buckets: prometheus.ExponentialBuckets(1, 4, 10)}),
	}
	// Both outcomes are served from the start, so that rate() sees the first finish as an increase.
	m.finished.WithLabelValues(string(mailshiftv1.PhaseSucceeded))
	m.finished.WithLabelValues(string(mailshiftv1.PhaseFailed))
	return m
}

// Collectors are what to register.
func (m *MigrationMetrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m, m.finished, m.failures, m.durations}
}

func (m *MigrationMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.phases, m.phase, m.items, m.copied, m.skipped, m.failed, m.copiedBytes, m.sourceBytes} {
		ch <- d
	}
}

func (m *MigrationMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeListTimeout)
	defer cancel()
	var list mailshiftv1.MailboxMigrationList
	if err := m.reader.List(ctx, &list); err != nil {
		return
	}
	counts := map[mailshiftv1.MigrationPhase]int{}
	for _, p := range migrationPhases {
		counts[p] = 0
	}
	for i := range list.Items {
		mig := &list.Items[i]
		phase := mig.Status.Phase
		if phase == "" {
			phase = mailshiftv1.PhasePending
		}
		counts[phase]++
		ch <- prometheus.MustNewConstMetric(m.phase, prometheus.GaugeValue, 1, mig.Namespace, mig.Name, string(phase))
		if p := mig.Status.Progress; p != nil {
			for _, v := range []struct {
				d *prometheus.Desc
				n int64
			}{{m.items, p.ItemsTotal}, {m.copied, p.ItemsCopied}, {m.skipped, p.ItemsSkipped}, {m.failed, p.ItemsFailed},
				{m.copiedBytes, p.BytesCopied}, {m.sourceBytes, p.BytesTotal}} {
				ch <- prometheus.MustNewConstMetric(v.d, prometheus.GaugeValue, float64(v.n), mig.Namespace, mig.Name)
			}
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
