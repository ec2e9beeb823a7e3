// Command benchscale measures the manager at scale: it starts a real control plane (etcd + kube-apiserver from
// $KUBEBUILDER_ASSETS), a real Dovecot whose passwd file holds one user per Mailbox, a real pure-ftpd for the
// free/busy files, and the manager binary built from cmd/manager as its own process with its normal flags.
// Then it applies SCALE_MAILBOXES Mailboxes, SCALE_SHARES FolderShares and SCALE_PUBLICATIONS
// FreeBusyPublications at once and measures
//   - the time until all of them are Ready;
//   - reconciles per minute (the manager's controller_runtime_reconcile_total) and IMAP logins per minute
//     (Dovecot's own "Login:" log lines) over a steady-state window of SCALE_WINDOW after that;
//   - the manager's resident memory, peak (VmHWM) and during the window (VmRSS), from /proc/<pid>/status.
//
// Every object's own period (Mailbox and MailServer checkInterval, FolderShare resyncInterval,
// FreeBusyPublication interval and changeCheckInterval) is set to SCALE_RESYNC, so that a window of a few
// minutes spans whole periods. The targets printed beside the results: RSS under 256 MiB, and at most one
// login per object per resync period.
//
// Run it with `make bench-scale` (hack/bench-scale.sh). It exits 0 when every target was met, 3 when it
// measured and a target was missed (the table says which), 1 when the objects did not all become Ready within
// SCALE_READY_TIMEOUT or something failed to start, 2 on bad parameters.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

func main() {
	cfg, err := configFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-scale:", err)
		os.Exit(2)
	}
	// envtest logs through controller-runtime's logger; unset, it prints a stack trace instead. The harness
	// prints its own progress, and the manager's log is in its own file.
	ctrllog.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	res, err := run(ctx, cfg)
	stop()
	if res != nil {
		res.print(os.Stdout, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-scale:", err)
		os.Exit(1)
	}
	if !res.targetsMet(cfg) {
		os.Exit(3)
	}
}

// run starts everything, measures, and stops everything again. The result is returned, partly filled, also
// when an error ends the run early.
func run(ctx context.Context, cfg config) (*result, error) {
	start := time.Now()
	b, err := newBench(cfg)
	if err != nil {
		return nil, err
	}
	defer b.close()
	res := &result{}

	if cfg.manager == "" {
		step("building the manager (cmd/manager)")
		if err := b.buildManager(ctx); err != nil {
			return nil, err
		}
	}
	step("starting the control plane (etcd + kube-apiserver from %s)", b.assets)
	if err := b.startControlPlane(); err != nil {
		return nil, err
	}
	step("starting Dovecot with %d users in its passwd file", cfg.mailboxes)
	if err := b.startDovecot(ctx); err != nil {
		return nil, err
	}
	if cfg.publications > 0 {
		step("starting pure-ftpd for the free/busy files; seeding %d calendars", cfg.publications)
		if err := b.startFTP(ctx); err != nil {
			return nil, err
		}
		if err := b.seedCalendars(ctx); err != nil {
			return nil, err
		}
	}
	step("starting the manager (log: %s)", b.managerLog)
	if err := b.createSecrets(ctx); err != nil {
		return nil, err
	}
	if err := b.startManager(ctx); err != nil {
		return nil, err
	}
	rss := startRSSSampler(ctx, b.manager.Process.Pid, time.Second)

	step("applying 1 MailServer, %d Mailboxes, %d FolderShares, %d FreeBusyPublications", cfg.mailboxes, cfg.shares, cfg.publications)
	applied := time.Now()
	if err := b.applyObjects(ctx); err != nil {
		return nil, err
	}
	res.applyTime = time.Since(applied)
	notReady, err := b.waitReady(ctx, applied, cfg.readyTimeout)
	res.readyTime = time.Since(applied)
	res.allReady = err == nil && len(notReady) == 0
	if !res.allReady {
		res.rssPeak, _ = rss.peak()
		res.notReady = notReady
		b.tailManagerLog(20)
		if err == nil {
			err = fmt.Errorf("%d objects not Ready after %s", countNotReady(notReady), cfg.readyTimeout)
		}
		return res, err
	}

	step("steady state: measuring over %s (resync period %s)", cfg.window, cfg.resync)
	rss.markWindow()
	before, err := b.snapshot(ctx)
	if err != nil {
		return res, err
	}
	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(cfg.window):
	}
	after, err := b.snapshot(ctx)
	if err != nil {
		return res, err
	}
	res.window = after.at.Sub(before.at)
	res.reconciles = after.reconciles.minus(before.reconciles)
	res.logins = after.logins - before.logins
	res.loginsByUser = after.loginsByUser.minus(before.loginsByUser)
	res.failedLogins = after.failedLogins - before.failedLogins
	res.imapOps = after.imapOps.minus(before.imapOps)
	res.rssPeak, res.rssWindowMax, res.rssWindowLast = rss.summary()
	// Still Ready at the end: a steady state that lost objects is no steady state.
	if lost, err := b.countNotReadyNow(ctx); err == nil && countNotReady(lost) > 0 {
		res.notReady = lost
	}
	res.total = time.Since(start)
	return res, nil
}

func step(format string, args ...any) {
	fmt.Printf("%s ==> %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}
