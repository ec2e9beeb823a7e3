package controllers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/connlimit"
	"github.com/mailshift/mailshift/internal/migrationrun"
	"github.com/mailshift/mailshift/worker"
)

// InProcessExecutor runs migrations inside the manager, for single-machine installs and the demo: the same
// worker code as a Job's pod, with the same progress path, retried with backoff up to the backoff limit like
// the Job controller would. PST files must be on a local path: a hostPath volume, or a claim bound to a
// hostPath or local PersistentVolume, and that path must lie in PSTRoot/<namespace>/: the manager reads
// them with its own rights, so a namespace reads only its own directory, and a symlink there cannot lead
// out of it. Runs are not kept across manager restarts; the next manager starts them again from their
// checkpoints.
type InProcessExecutor struct {
	Client client.Client
	// Reader reads Secrets, claims and volumes.
	Reader client.Reader
	// Metrics counts the engine's messages, bytes, errors and durations.
	Metrics worker.Metrics
	// RetryBackoff is the first wait before a retry (default 10 s, as the Job controller), doubled each time.
	RetryBackoff time.Duration
	// PSTRoot holds one directory per namespace with the PST files its migrations may read; empty means
	// none may be read.
	PSTRoot string
	// Connections is the per-server connection limiter the controllers' checks use too: a run holds its
	// share of the server's connections (spec.maxConnections) while it runs. Nil means no limit.
	Connections *connlimit.Limiter

	mu     sync.Mutex
	runs   map[string]*procRun // namespace/migration/run
	events chan event.GenericEvent
}

type procRun struct {
	cancel    context.CancelFunc
	active    bool
	suspended bool
	done      bool
	succeeded bool
	attempts  int32
	summary   *migrationrun.Summary
	lastError string
	start     *metav1.Time
	end       *metav1.Time
}

// Events wakes the controller when a run changes state.
func (e *InProcessExecutor) Events() <-chan event.GenericEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.events == nil {
		e.events = make(chan event.GenericEvent, 256)
	}
	return e.events
}

func (e *InProcessExecutor) readsSecretsAnywhere() bool { return true }

// managerIdentity names this manager in the leases of its runs (its pod's name, which is its host name).
func managerIdentity() string {
	if name := os.Getenv(migrationrun.PodNameEnv); name != "" {
		return name
	}
	name, _ := os.Hostname()
	return name
}

func runKey(mig *mailshiftv1.MailboxMigration, run string) string {
	return mig.Namespace + "/" + mig.Name + "/" + run
}

func (e *InProcessExecutor) ensure(ctx context.Context, mig *mailshiftv1.MailboxMigration, p *migrationPlan, suspend bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.runs == nil {
		e.runs = map[string]*procRun{}
	}
	key := runKey(mig, p.run)
	pr := e.runs[key]
	if pr == nil {
		pr = &procRun{}
		e.runs[key] = pr
	}
	switch {
	case pr.done:
		return nil
	case suspend:
		pr.suspended = true
		if pr.cancel != nil {
			pr.cancel() // the worker stops between batches and keeps its checkpoint
		}
		return nil
	case pr.active:
		return nil
	}
	spec := p.spec
	if p.pstVolume != nil {
		file, err := e.pstFile(ctx, mig.Namespace, p.pstVolume, spec.Source.PST.Path)
		if err != nil {
			reason := mailshiftv1.ReasonNotSupported
			var re *refError
			if errors.As(err, &re) {
				reason = re.reason
			}
			now := metav1.Now()
			pr.done, pr.lastError, pr.start, pr.end = true, err.Error(), &now, &now
			pr.summary = &migrationrun.Summary{Result: "Failed", Reason: reason, Message: err.Error()}
			// Wake the controller: no run will, and the refusal must show without waiting for a resync.
			if e.events != nil {
				select {
				case e.events <- event.GenericEvent{Object: mig.DeepCopy()}:
				default:
				}
			}
			return nil
		}
		pst := *spec.Source.PST
		pst.Path = file
		spec.Source.PST = &pst
	}
	backoff := ptr.Deref(mig.Spec.Worker.BackoffLimit, 3)
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	pr.cancel, pr.active, pr.suspended = cancel, true, false
	if pr.start == nil {
		now := metav1.Now()
		pr.start = &now
	}
	obj := mig.DeepCopy()
	go e.loop(rctx, obj, key, &spec, backoff, p.conns)
	return nil
}

// loop runs attempts until one succeeds, one fails for good, the retries run out or the run is cancelled.
func (e *InProcessExecutor) loop(ctx context.Context, mig *mailshiftv1.MailboxMigration, key string, spec *migrationrun.Spec, backoffLimit int32, conns serverSlot) {
	l := log.FromContext(ctx).WithValues("migration", mig.Namespace+"/"+mig.Name, "run", spec.Run)
	wait := e.RetryBackoff
	if wait <= 0 {
		wait = 10 * time.Second
	}
	for {
		e.update(key, mig, func(pr *procRun) { pr.attempts++ })
		release, err := e.acquire(ctx, conns, spec.Connections)
		if err != nil {
			e.update(key, mig, func(pr *procRun) { pr.active = false })
			return
		}
		sum := migrationrun.Run(ctx, spec, migrationrun.Deps{Client: e.Client, Secrets: e.readSecret, Metrics: e.Metrics,
			OpenPST: e.opener(mig.Namespace), Holder: migrationrun.NewHolder("manager " + managerIdentity() + " run " + key)})
		release()
		l.Info("worker run ended", "result", sum.Result, "reason", sum.Reason, "message", sum.Message)
		if ctx.Err() != nil {
			e.update(key, mig, func(pr *procRun) { pr.active = false; pr.summary = sum })
			return
		}
		var again bool
		e.update(key, mig, func(pr *procRun) {
			pr.summary, pr.lastError = sum, sum.Message
			switch {
			case sum.Result == "Succeeded":
				pr.done, pr.succeeded, pr.active = true, true, false
			case sum.ExitCode() == migrationrun.ExitInvalidSpec || pr.attempts > backoffLimit:
				pr.done, pr.active = true, false
			default:
				again = true
			}
			if pr.done {
				now := metav1.Now()
				pr.end = &now
			}
		})
		if !again {
			return
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			e.update(key, mig, func(pr *procRun) { pr.active = false })
			return
		}
		wait = min(2*wait, 6*time.Minute)
	}
}

// acquire takes the run's share of its server's connections; it fails only when the run is cancelled.
func (e *InProcessExecutor) acquire(ctx context.Context, conns serverSlot, share int) (func(), error) {
	if e.Connections == nil || conns.key == "" {
		return func() {}, nil
	}
	release, err := e.Connections.Acquire(ctx, conns.key, share, conns.limit)
	return release, err
}

// update changes a run under the lock and wakes the controller.
func (e *InProcessExecutor) update(key string, mig *mailshiftv1.MailboxMigration, fn func(*procRun)) {
	e.mu.Lock()
	if pr := e.runs[key]; pr != nil {
		fn(pr)
	}
	ch := e.events
	e.mu.Unlock()
	if ch != nil {
		select {
		case ch <- event.GenericEvent{Object: mig}:
		default: // the controller is busy; a later event or resync will do
		}
	}
}

func (e *InProcessExecutor) observe(_ context.Context, mig *mailshiftv1.MailboxMigration, run string) (runState, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	pr := e.runs[runKey(mig, run)]
	if pr == nil {
		return runState{}, nil
	}
	st := runState{exists: true, active: pr.active, suspended: pr.suspended && !pr.active, attempts: pr.attempts,
		summary: pr.summary, lastError: pr.lastError, start: pr.start, end: pr.end}
	if pr.done {
		st.succeeded, st.failed, st.active = pr.succeeded, !pr.succeeded, false
	}
	return st, nil
}

func (e *InProcessExecutor) remove(_ context.Context, mig *mailshiftv1.MailboxMigration, keep string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	prefix := mig.Namespace + "/" + mig.Name + "/"
	for k, pr := range e.runs {
		if run, ok := strings.CutPrefix(k, prefix); ok && run != keep {
			if pr.cancel != nil {
				pr.cancel()
			}
			delete(e.runs, k)
		}
	}
	return nil
}

func (e *InProcessExecutor) readSecret(ctx context.Context, k migrationrun.SecretKey) ([]byte, error) {
	v, err := secretValue(ctx, e.Reader, k.Namespace, k.Name, k.Key)
	return []byte(v), err
}

// ReasonPathNotAllowed: the in-process executor was asked for a PST file outside its namespace's directory.
const ReasonPathNotAllowed = "PathNotAllowed"

// pstFile is the PST file a run reads: the volume's local directory, which must be in the namespace's
// directory under PSTRoot, and the path below it. A symlink that leads out of the namespace's directory is
// refused here with a clear reason; the run itself opens the file through opener, which cannot leave it
// even if the file is replaced in between.
func (e *InProcessExecutor) pstFile(ctx context.Context, ns string, v *corev1.VolumeSource, rel string) (string, error) {
	if e.PSTRoot == "" {
		return "", fmt.Errorf("this manager's in-process executor reads no PST files (--inprocess-pst-root is not set; use the Job executor)")
	}
	nsDir := filepath.Join(e.PSTRoot, ns)
	dir, err := e.localDir(ctx, ns, v)
	if err != nil {
		return "", err
	}
	inside, err := filepath.Rel(nsDir, filepath.Clean(dir))
	if err != nil || !filepath.IsLocal(inside) {
		return "", &refError{ReasonPathNotAllowed, fmt.Sprintf(
			"the PST's volume %s is outside %s, the only directory the in-process executor reads for namespace %s", dir, nsDir, ns), true}
	}
	file := filepath.Join(nsDir, inside, filepath.FromSlash(rel))
	// Where the file really is, symlinks followed: a missing file is the worker's to report (SourceNotFound).
	realDir, err := filepath.EvalSymlinks(nsDir)
	if err != nil {
		return file, nil
	}
	if realFile, err := filepath.EvalSymlinks(file); err == nil {
		if in, err := filepath.Rel(realDir, realFile); err != nil || !filepath.IsLocal(in) {
			return "", &refError{ReasonPathNotAllowed, fmt.Sprintf(
				"source.pst.path %s leads outside %s (through a symbolic link), the only directory the in-process executor reads for namespace %s", rel, nsDir, ns), true}
		}
	}
	return file, nil
}

// opener opens a run's PST file inside the namespace's directory (os.Root: no "..", no symlink out of it).
func (e *InProcessExecutor) opener(ns string) func(string) (*os.File, error) {
	return func(file string) (*os.File, error) {
		nsDir := filepath.Join(e.PSTRoot, ns)
		rel, err := filepath.Rel(nsDir, file)
		if e.PSTRoot == "" || err != nil || !filepath.IsLocal(rel) {
			return nil, fmt.Errorf("%s is outside %s", file, nsDir)
		}
		root, err := os.OpenRoot(nsDir)
		if err != nil {
			return nil, err
		}
		defer root.Close()
		return root.Open(rel)
	}
}

// localDir is where a volume's files are on this machine.
func (e *InProcessExecutor) localDir(ctx context.Context, ns string, v *corev1.VolumeSource) (string, error) {
	switch {
	case v.HostPath != nil:
		return v.HostPath.Path, nil
	case v.PersistentVolumeClaim != nil:
		var pvc corev1.PersistentVolumeClaim
		if err := e.Reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: v.PersistentVolumeClaim.ClaimName}, &pvc); err != nil {
			return "", fmt.Errorf("PersistentVolumeClaim %s: %w", v.PersistentVolumeClaim.ClaimName, err)
		}
		if pvc.Spec.VolumeName == "" {
			return "", fmt.Errorf("PersistentVolumeClaim %s is not bound", pvc.Name)
		}
		var pv corev1.PersistentVolume
		if err := e.Reader.Get(ctx, types.NamespacedName{Name: pvc.Spec.VolumeName}, &pv); err != nil {
			return "", fmt.Errorf("PersistentVolume %s: %w", pvc.Spec.VolumeName, err)
		}
		switch {
		case pv.Spec.HostPath != nil:
			return pv.Spec.HostPath.Path, nil
		case pv.Spec.Local != nil:
			return pv.Spec.Local.Path, nil
		}
		return "", fmt.Errorf("the in-process executor reads PST files from hostPath or local volumes; PersistentVolume %s is neither (use the Job executor)", pv.Name)
	}
	return "", fmt.Errorf("the in-process executor reads PST files from hostPath volumes or claims bound to hostPath/local volumes (use the Job executor for other volume types)")
}
