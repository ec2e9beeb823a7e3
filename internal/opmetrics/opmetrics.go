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

	syncCycles = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailshift_sync_cycles_total",
		Help: "SyncPolicy cycles by result (Synced, ItemsFailed, or the reason the cycle could not run).",
	}, []string{"result"})

	syncChanges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailshift_sync_changes_total",
		Help: "Changes SyncPolicy cycles made, by kind (added, flags, deleted, failed) and direction (toTarget, toSource).",
	}, []string{"kind", "direction"})

	syncConflicts = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mailshift_sync_conflicts_total",
		Help: "Conflicts SyncPolicy cycles settled.",
	})

	syncDurations = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "mailshift_sync_cycle_duration_seconds",
		Help:    "Duration of SyncPolicy cycles, connection slots waited for included.",
		Buckets: prometheus.ExponentialBuckets(0.1, 3, 10),
	})
)

func init() {
	ctrlmetrics.Registry.MustRegister(operations, durations, ftpOperations, ftpDurations, driftCorrections,
		syncCycles, syncChanges, syncConflicts, syncDurations)
}

// ObserveSync records one SyncPolicy cycle: its result, how long it took, what it did each way (changes by
// kind: "added", "updated", "flags", "deleted", "failed"; nil when it could not run) and the conflicts it
// settled.
func ObserveSync(result string, took time.Duration, toTarget, toSource map[string]int64, conflicts int64) {
	syncCycles.WithLabelValues(result).Inc()
	syncDurations.Observe(took.Seconds())
	for dir, c := range map[string]map[string]int64{"toTarget": toTarget, "toSource": toSource} {
		for kind, n := range c {
			syncChanges.WithLabelValues(kind, dir).Add(float64(n))
		}
	}
	syncConflicts.Add(float64(conflicts))
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
