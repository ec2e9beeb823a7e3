// Package opmetrics counts and times the operator's IMAP operations, labelled by operation, MailServer and
// result, on controller-runtime's registry so they are served from the manager's secured metrics endpoint.
package opmetrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/mailshift/mailshift/internal/imapx"
)

var (
	operations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailshift_imap_operations_total",
		Help: "IMAP operations by operation, MailServer and result (ok, or the error kind).",
	}, []string{"operation", "server", "result"})

	durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "mailshift_imap_operation_duration_seconds",
		Help:    "Duration of IMAP operations.",
		Buckets: prometheus.ExponentialBuckets(0.005, 3, 9),
	}, []string{"operation", "server"})

	driftCorrections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailshift_acl_drift_corrections_total",
		Help: "ACL entries found changed on the server and put back, by FolderShare namespace.",
	}, []string{"namespace"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(operations, durations, driftCorrections)
}

// Observe records one operation that started at start and ended with err.
func Observe(operation, server string, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = string(imapx.KindOf(err))
	}
	operations.WithLabelValues(operation, server, result).Inc()
	durations.WithLabelValues(operation, server).Observe(time.Since(start).Seconds())
}

// DriftCorrected counts n ACL entries put back in namespace.
func DriftCorrected(namespace string, n int) {
	driftCorrections.WithLabelValues(namespace).Add(float64(n))
}
