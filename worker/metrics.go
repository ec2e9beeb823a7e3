package worker

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the engine's Prometheus metrics. Register them once (NewMetrics does not).
type Metrics struct {
	messages *prometheus.CounterVec
	bytes    prometheus.Counter
	errors   *prometheus.CounterVec
	duration prometheus.Histogram
	runs     *prometheus.CounterVec
}

// NewMetrics makes the collectors: mailshift_migration_messages_total{result}, _bytes_total,
// _errors_total{kind}, _run_duration_seconds and _runs_total{result}.
func NewMetrics() *Metrics {
	return &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailshift_migration_messages_total",
			Help: "Messages dealt with by migrations, by result: copied, duplicate (already on the target), failed, skipped."}, []string{"result"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "mailshift_migration_bytes_total",
			Help: "Bytes of messages appended by migrations."}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailshift_migration_errors_total",
			Help: "Migration errors by kind: transient (retried), folder (a folder given up)."}, []string{"kind"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mailshift_migration_run_duration_seconds",
			Help: "Duration of migration runs.", Buckets: prometheus.ExponentialBuckets(1, 4, 10)}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailshift_migration_runs_total",
			Help: "Migration runs by result: succeeded, failed (items failed), error (the run stopped)."}, []string{"result"}),
	}
}

// Collectors are the metrics to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.messages, m.bytes, m.errors, m.duration, m.runs}
}

func (m *Metrics) observeRun(rep *Report, err error) {
	m.duration.Observe(rep.Finished.Sub(rep.Started).Seconds())
	switch {
	case err != nil:
		m.runs.WithLabelValues("error").Inc()
	case rep.Totals.Failed > 0:
		m.runs.WithLabelValues("failed").Inc()
	default:
		m.runs.WithLabelValues("succeeded").Inc()
	}
}
