package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mailshift/mailshift/internal/migrationrun"
	"github.com/mailshift/mailshift/internal/version"
)

// workerMemoryLimit is the worker's soft heap limit: the engine streams, so what it holds is bounded, and
// the limit keeps the garbage between collections from doubling it. GOMEMLIMIT overrides it.
const workerMemoryLimit = 200 << 20

// runWorker is the `worker` subcommand a MailboxMigration's Job runs: the spec comes from the environment
// (no secrets in it; those are files of Secret volumes), the summary goes to stdout and to the termination
// message, and the exit code tells the Job whether a retry can help.
func runWorker(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	termLog := fs.String("termination-log", "/dev/termination-log", "file for the run's summary (the pod's termination message)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return migrationrun.ExitInvalidSpec
	}
	if *showVersion {
		fmt.Fprintln(stdout, version.Get().String())
		return 0
	}
	finish := func(sum *migrationrun.Summary) int {
		msg := sum.TerminationMessage()
		fmt.Fprintf(stdout, "%s\n", msg)
		if *termLog != "" {
			if err := os.WriteFile(*termLog, msg, 0o644); err != nil {
				fmt.Fprintf(stderr, "worker: termination message: %v\n", err)
			}
		}
		return sum.ExitCode()
	}
	raw := os.Getenv(migrationrun.SpecEnv)
	if raw == "" {
		return finish(&migrationrun.Summary{Result: "Failed", Reason: "InvalidSpec", Message: migrationrun.SpecEnv + " is not set"})
	}
	spec, err := migrationrun.ParseSpec([]byte(raw))
	if err != nil {
		return finish(&migrationrun.Summary{Result: "Failed", Reason: "InvalidSpec", Message: err.Error()})
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return finish(&migrationrun.Summary{Result: "Failed", Reason: "InvalidSpec", Message: fmt.Sprintf("no API access: %v", err)})
	}
	c, err := client.New(cfg, client.Options{Scheme: newScheme()})
	if err != nil {
		return finish(&migrationrun.Summary{Result: "Failed", Reason: "Unreachable", Message: fmt.Sprintf("API client: %v", err)})
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(workerMemoryLimit)
	}
	// SIGTERM (the Job suspended or deleted, the pod evicted) stops the copy between batches; the checkpoint
	// and the report of what was done are still written.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return finish(migrationrun.Run(ctx, spec, migrationrun.Deps{Client: c, Holder: workerHolder()}))
}

// workerHolder names this pod in its lease on the checkpoint: the Job gives the pod's name and UID through
// the downward API (a replaced pod of the same name has another UID).
func workerHolder() string {
	name, uid := os.Getenv(migrationrun.PodNameEnv), os.Getenv(migrationrun.PodUIDEnv)
	if name == "" {
		name, _ = os.Hostname()
	}
	if uid == "" {
		return migrationrun.NewHolder("pod " + name)
	}
	return migrationrun.NewHolder("pod " + name + " uid " + uid)
}
