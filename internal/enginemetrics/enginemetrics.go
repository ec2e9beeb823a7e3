// Package enginemetrics holds the Prometheus collectors behind the migration engine's worker.Metrics hooks.
// It lives apart from package worker so that binaries that never serve metrics (the mailshift CLI) do not
// link Prometheus: its package initialisation alone costs every process start close to a millisecond.
package enginemetrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Prometheus counts the engine's messages, bytes, errors and runs. Register its Collectors once (New does
// not register them).
type Prometheus struct {
	messages *prometheus.CounterVec
	bytes    prometheus.Counter
	errors   *prometheus.CounterVec
	duration prometheus.Histogram
	runs     *prometheus.CounterVec
}

// New makes the collectors: mailshift_migration_messages_total{result}, _bytes_total, _errors_total{kind},
// _run_duration_seconds and _runs_total{result}.
func New() *Prometheus {
	p := &Prometheus{
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
	// Every result and kind the engine reports is served from the start, at zero, so that rate() and
	// increase() see the first one as an increase rather than as a new series.
	for _, r := range []string{"copied", "duplicate", "failed", "skipped"} {
		p.messages.WithLabelValues(r)
	}
	for _, k := range []string{"transient", "folder"} {
		p.errors.WithLabelValues(k)
	}
	for _, r := range []string{"succeeded", "failed", "error"} {
		p.runs.WithLabelValues(r)
	}
	return p
}

// Collectors are the metrics to register.
func (p *Prometheus) Collectors() []prometheus.Collector {
	return []prometheus.Collector{p.messages, p.bytes, p.errors, p.duration, p.runs}
}

// Message counts one message by result.
func (p *Prometheus) Message(result string) { p.messages.WithLabelValues(result).Inc() }

// Bytes counts n appended bytes.
func (p *Prometheus) Bytes(n int64) { p.bytes.Add(float64(n)) }

// Error counts one error by kind.
func (p *Prometheus) Error(kind string) { p.errors.WithLabelValues(kind).Inc() }

// Run records a finished run's duration and result.
func (p *Prometheus) Run(d time.Duration, result string) {
	p.duration.Observe(d.Seconds())
	p.runs.WithLabelValues(result).Inc()
}
