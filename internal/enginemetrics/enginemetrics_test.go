package enginemetrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mailshift/mailshift/internal/enginemetrics"
	"github.com/mailshift/mailshift/worker"
)

var _ worker.Metrics = (*enginemetrics.Prometheus)(nil)

// TestPrometheusCountsTheHooks: what the engine reports through worker.Metrics appears under the metric
// names the manager has always served, every result and kind is served at zero before it first happens, and
// the collectors register cleanly (a pedantic registry checks their descriptions).
func TestPrometheusCountsTheHooks(t *testing.T) {
	m := enginemetrics.New()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.Collectors()...)
	m.Message("copied")
	m.Message("copied")
	m.Message("skipped")
	m.Bytes(1500)
	m.Error("transient")
	m.Run(3*time.Second, "failed")
	want := `
# HELP mailshift_migration_bytes_total Bytes of messages appended by migrations.
# TYPE mailshift_migration_bytes_total counter
mailshift_migration_bytes_total 1500
# HELP mailshift_migration_errors_total Migration errors by kind: transient (retried), folder (a folder given up).
# TYPE mailshift_migration_errors_total counter
mailshift_migration_errors_total{kind="folder"} 0
mailshift_migration_errors_total{kind="transient"} 1
# HELP mailshift_migration_messages_total Messages dealt with by migrations, by result: copied, duplicate (already on the target), failed, skipped.
# TYPE mailshift_migration_messages_total counter
mailshift_migration_messages_total{result="copied"} 2
mailshift_migration_messages_total{result="duplicate"} 0
mailshift_migration_messages_total{result="failed"} 0
mailshift_migration_messages_total{result="skipped"} 1
# HELP mailshift_migration_runs_total Migration runs by result: succeeded, failed (items failed), error (the run stopped).
# TYPE mailshift_migration_runs_total counter
mailshift_migration_runs_total{result="error"} 0
mailshift_migration_runs_total{result="failed"} 1
mailshift_migration_runs_total{result="succeeded"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "mailshift_migration_bytes_total",
		"mailshift_migration_errors_total", "mailshift_migration_messages_total", "mailshift_migration_runs_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "mailshift_migration_run_duration_seconds"); n != 1 {
		t.Errorf("%d run duration series, want 1", n)
	}
}
