package controllers

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/migrationrun"
)

// An Executor runs MailboxMigration runs: as worker Jobs (JobExecutor, the default) or inside the manager
// (InProcessExecutor, for single-machine installs and the demo). Both run the same worker code and report
// progress the same way (status.progress, applied by the worker's field manager).
type Executor interface {
	// ensure makes the plan's run exist, suspended or not as asked. Calling it again is cheap.
	ensure(ctx context.Context, mig *mailshiftv1.MailboxMigration, p *migrationPlan, suspend bool) error
	// observe reports a run's state; exists is false when it was never started (or was removed).
	observe(ctx context.Context, mig *mailshiftv1.MailboxMigration, run string) (runState, error)
	// remove stops and deletes every run of mig except keep ("" removes all). What was copied stays, and
	// so do the checkpoint and report ConfigMaps (they belong to the MailboxMigration).
	remove(ctx context.Context, mig *mailshiftv1.MailboxMigration, keep string) error
	// readsSecretsAnywhere is true when runs can read Secrets of other namespaces (in-process).
	readsSecretsAnywhere() bool
}

// runState is what an executor knows of one run.
type runState struct {
	exists    bool
	active    bool // a worker is running (or about to)
	suspended bool
	succeeded bool
	failed    bool // retries exhausted or a failure a retry cannot fix
	attempts  int32
	// summary is the last finished attempt's (the pod's termination message); nil when none finished or it
	// left none. lastError then says what is known (a crash's log tail, the pod's reason).
	summary    *migrationrun.Summary
	lastError  string
	start, end *metav1.Time
}
