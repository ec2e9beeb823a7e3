// Package opmetrics counts and times the operator's IMAP and FTP operations, labelled by operation, server
// and result, on controller-runtime's registry so they are served from the manager's secured metrics
// endpoint. Each protocol has its own metrics and its own failure kinds.
package opmetrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/mailshift/mailshift/internal/ftppublish"
	"github.com/mailshift/mailshift/internal/imapconn"
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

	ftpOperations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailshift_ftp_operations_total",
		Help: "FTP operations (free/busy publication) by operation, FTP server and result (ok, or the FTP error kind).",
	}, []string{"operation", "server", "result"})

	ftpDurations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "mailshift_ftp_operation_duration_seconds",
		Help:    "Duration of FTP operations.",
		Buckets: prometheus.ExponentialBuckets(0.005, 3, 9),
	}, []string{"operation", "server"})

	driftCorrections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailshift_acl_drift_corrections_total",
		Help: "ACL entries found changed on the server and put back, by FolderShare namespace.",
	}, []string{"namespace"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(operations, durations, ftpOperations, ftpDurations, driftCorrections)
}

// Observe records one operation that started at start and ended with err.
func Observe(operation, server string, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = string(imapconn.KindOf(err))
	}
	operations.WithLabelValues(operation, server, result).Inc()
	durations.WithLabelValues(operation, server).Observe(time.Since(start).Seconds())
}

// ObserveFTP records one FTP operation that started at start and ended with err, classified by the FTP
// client's own error kinds (FTPAuthFailed, PermissionDenied, ...), which IMAP's classifier does not know.
func ObserveFTP(operation, server string, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = ftppublish.KindOf(err)
		if result == "" {
			result = ftppublish.KindProtocolError
		}
	}
	ftpOperations.WithLabelValues(operation, server, result).Inc()
	ftpDurations.WithLabelValues(operation, server).Observe(time.Since(start).Seconds())
}

// DriftCorrected counts n ACL entries put back in namespace.
func DriftCorrected(namespace string, n int) {
	driftCorrections.WithLabelValues(namespace).Add(float64(n))
}
