package worker

import "time"

// Metrics receives the engine's counts as they happen. The Prometheus implementation is in
// internal/enginemetrics, not here: package worker is linked into the mailshift CLI, which serves no metrics
// and would otherwise pay for Prometheus's package initialisation on every start.
type Metrics interface {
	// Message counts one message by result: copied, duplicate (already on the target), failed, skipped.
	Message(result string)
	// Bytes counts n bytes of messages appended.
	Bytes(n int64)
	// Error counts one error by kind: transient (retried), folder (a folder given up).
	Error(kind string)
	// Run records a finished run: its duration and result: succeeded, failed (items failed), error (the run
	// stopped).
	Run(d time.Duration, result string)
}

func observeRun(m Metrics, rep *Report, err error) {
	result := "succeeded"
	switch {
	case err != nil:
		result = "error"
	case rep.Totals.Failed > 0:
		result = "failed"
	}
	m.Run(rep.Finished.Sub(rep.Started), result)
}
