package migrationrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/worker"
)

// Exit codes of the worker. The Job's podFailurePolicy fails the Job at once on ExitInvalidSpec: a retry
// cannot fix a spec. Everything else that is not ExitOK is retried up to the backoff limit.
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitInvalidSpec = 64
)

// Summary is a run's outcome in a few hundred bytes: the worker pod's termination message, read by the
// controller for the MailboxMigration's conditions.
type Summary struct {
	// Result is Succeeded (the run got to the end; some items may have failed and are in the report) or
	// Failed (it stopped: Reason says why).
	Result  string          `json:"result"`
	Reason  string          `json:"reason,omitempty"`
	Message string          `json:"message,omitempty"`
	Totals  worker.Totals   `json:"totals"`
	Report  string          `json:"reportConfigMap,omitempty"`
	Elapsed metav1.Duration `json:"elapsed"`
}

// ExitCode is the worker's exit code for the summary.
func (s *Summary) ExitCode() int {
	switch {
	case s.Result == "Succeeded":
		return ExitOK
	case s.Reason == mailshiftv1.ReasonInvalidSpec:
		return ExitInvalidSpec
	default:
		return ExitFailed
	}
}

// terminationMessageLimit is what the kubelet keeps of a termination message.
const terminationMessageLimit = 4096

// TerminationMessage is the summary as JSON, cut to what the kubelet keeps.
func (s *Summary) TerminationMessage() []byte {
	b, _ := json.Marshal(s)
	for len(b) > terminationMessageLimit && len(s.Message) > 0 {
		cut := *s
		cut.Message = s.Message[:len(s.Message)/2] + "…"
		s = &cut
		b, _ = json.Marshal(s)
	}
	return b
}

// ParseSummary reads a termination message; ok is false when it is not one (a crash's log tail).
func ParseSummary(msg string) (Summary, bool) {
	var s Summary
	if err := json.Unmarshal([]byte(msg), &s); err != nil || s.Result == "" {
		return Summary{}, false
	}
	return s, true
}

// Deps are what a run needs besides its spec.
type Deps struct {
	// Client writes progress, the checkpoint and the report (as the worker's ServiceAccount in a pod).
	Client client.Client
	// Secrets reads the Secret keys a spec names (in-process only; a pod reads files).
	Secrets SecretReader
	// Metrics, when set, counts the engine's messages, bytes, errors and durations.
	Metrics worker.Metrics
	// OnProgress, when set, also receives every progress report (the CLI and tests).
	OnProgress func(worker.Progress)
	// OpenPST, when set, opens the spec's PST file instead of opening its path as it is: the in-process
	// executor confines it to the namespace's directory.
	OpenPST func(path string) (*os.File, error)
	// Holder names this run in its lease on the checkpoint (see NewHolder); a random name when empty.
	Holder string
	// LeaseDuration is the checkpoint lease's length (DefaultLeaseDuration when zero).
	LeaseDuration time.Duration
}

// ReasonCheckpointInUse: another run of the migration holds its checkpoint (this one waited for it in vain,
// or lost it to a run that took over).
const ReasonCheckpointInUse = "CheckpointInUse"

// Run runs the spec to its end and returns its summary; it never returns without one. Failures to write
// progress are not fatal (the copy matters more than its display); failures to keep the checkpoint or the
// report are reported in the summary.
func Run(ctx context.Context, spec *Spec, deps Deps) *Summary {
	start := time.Now()
	sum := &Summary{Result: "Failed", Report: spec.ReportName}
	defer func() { sum.Elapsed = metav1.Duration{Duration: time.Since(start).Round(time.Millisecond)} }()
	if err := spec.validate(); err != nil {
		sum.Reason, sum.Message = mailshiftv1.ReasonInvalidSpec, err.Error()
		return sum
	}
	owner := metav1.OwnerReference{APIVersion: mailshiftv1.GroupVersion.String(), Kind: "MailboxMigration",
		Name: spec.Name, UID: types.UID(spec.UID)}
	holder := deps.Holder
	if holder == "" {
		holder = NewHolder("run " + spec.Namespace + "/" + spec.Run)
	}
	// The lease comes first: nothing of the checkpoint is read, and no session opened, while another run
	// of this migration is copying.
	lease := &Lease{Client: deps.Client, Namespace: spec.Namespace, Name: spec.Checkpoint, Holder: holder, Owner: owner,
		Duration: deps.LeaseDuration}
	if err := lease.Claim(ctx); err != nil {
		var held *LeaseHeldError
		sum.Reason, sum.Message = classify(err), err.Error()
		if errors.As(err, &held) {
			sum.Reason = ReasonCheckpointInUse
		}
		return sum
	}
	keepCtx, stopKeeping := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		stopKeeping()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := lease.Release(rctx); err != nil {
			log.FromContext(ctx).Error(err, "could not release the checkpoint lease; the next run waits for it to run out",
				"migration", spec.Namespace+"/"+spec.Name)
		}
	}()
	go lease.Keep(keepCtx)
	// A run that lost its lease stops sending at once: another run copies now.
	ctx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	go func() {
		select {
		case <-lease.Done():
			stopRun(lease.Err())
		case <-ctx.Done():
		}
	}()
	lost := func() bool { return lease.Err() != nil }

	job, err := spec.open(ctx, deps.Secrets, deps.OpenPST)
	if err != nil {
		sum.Reason, sum.Message = classify(err), err.Error()
		return sum
	}
	defer job.Source.Close()

	cps := &ConfigMapCheckpoint{Client: deps.Client, Namespace: spec.Namespace, Name: spec.Checkpoint, Owner: owner, Lease: lease}
	job.Checkpoints = cps
	job.Metrics = deps.Metrics
	pw := &progressWriter{c: deps.Client, ns: spec.Namespace, name: spec.Name}
	progressFailed := false
	job.OnProgress = func(p worker.Progress) {
		if lost() {
			return // the run that holds the checkpoint reports progress now
		}
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if err := pw.write(wctx, p, 0); err != nil && !progressFailed {
			// Once per run: the copy goes on, the display is what suffers.
			progressFailed = true
			log.FromContext(ctx).Error(err, "could not write status.progress", "migration", spec.Namespace+"/"+spec.Name)
		}
		cancel()
		if deps.OnProgress != nil {
			deps.OnProgress(p)
		}
	}
	rep, runErr := worker.Run(ctx, job)
	// What follows must happen even when ctx ended (a suspend): the checkpoint and the report of a partial run
	// are what the next run and the people need.
	after, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	cpErr := cps.Flush(after)
	sum.Totals = rep.Totals
	if lost() {
		// Neither the checkpoint nor the report is this run's to write any more.
		sum.Reason, sum.Message, sum.Report = ReasonCheckpointInUse, lease.Err().Error(), ""
		return sum
	}
	var repErr error
	if data, err := reportData(rep); err != nil {
		repErr = err
	} else {
		repErr = applyConfigMap(after, deps.Client, spec.Namespace, spec.ReportName, owner, data)
	}
	switch {
	case runErr != nil:
		sum.Reason, sum.Message = classify(runErr), runErr.Error()
	case cpErr != nil:
		sum.Reason, sum.Message = "CheckpointFailed", cpErr.Error()
	default:
		sum.Result = "Succeeded"
		sum.Reason = "Completed"
		sum.Message = fmt.Sprintf("%d copied, %d already there, %d failed, %d skipped", rep.Totals.Copied,
			rep.Totals.Duplicates, rep.Totals.Failed, rep.Totals.Skipped)
		if n := rep.Totals.OutboxToDrafts; n > 0 {
			sum.Message += fmt.Sprintf("; %d unsent messages of the Outbox in Drafts as drafts", n)
		}
		if n := rep.Totals.OutboxSkipped; n > 0 {
			sum.Message += fmt.Sprintf("; %d unsent messages of the Outbox skipped (spec.folders.skipOutbox)", n)
		}
		// Folders left out by the folder rules or by policy (an Outbox's unsent mail) are said, not hidden.
		var left []string
		for _, f := range rep.Folders {
			if f.Skipped > 0 && f.Copied == 0 && f.Duplicates == 0 {
				left = append(left, fmt.Sprintf("%s (%d)", f.Source, f.Skipped))
			}
		}
		if len(left) > 0 {
			sum.Message += "; folders left out: " + strings.Join(left, ", ")
		}
	}
	if repErr != nil {
		sum.Message += fmt.Sprintf(" (the report could not be kept: %v)", repErr)
		sum.Report = ""
	}
	return sum
}

// classify names why a run stopped with the condition reasons the controllers use.
func classify(err error) string {
	var se *SpecError
	if errors.As(err, &se) {
		return mailshiftv1.ReasonInvalidSpec
	}
	var src *SourceError
	if errors.As(err, &src) && src.Reason != "" {
		return src.Reason
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "Interrupted"
	}
	switch k := imapconn.KindOf(err); k {
	case imapconn.NotFound:
		return mailshiftv1.ReasonFolderNotFound
	case "":
		return mailshiftv1.ReasonProtocolError
	default:
		return string(k)
	}
}
