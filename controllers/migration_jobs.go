package controllers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/jobspec"
	"github.com/mailshift/mailshift/internal/migrationrun"
)

// Labels on everything a migration's runs create.
const (
	labelMigration = jobspec.LabelMigration
	labelComponent = jobspec.LabelComponent
	labelManagedBy = jobspec.LabelManagedBy
)

// JobExecutor runs each MailboxMigration run as a batch/v1 Job of the manager image's `worker` subcommand.
// The Job controller retries failed pods (backoffLimit) and the podFailurePolicy stops at once on a spec the
// worker cannot run. Each migration's worker runs as a ServiceAccount of its own whose Role names the
// migration's objects one by one: it may write only that migration's progress, checkpoint and report.
// The manager's rights for this are in controllers/rbac/jobexecutor.
type JobExecutor struct {
	Client client.Client
	// APIReader reads pods uncached: the manager does not watch every pod of the cluster.
	APIReader client.Reader
	// Image and Command start the worker: Command[0] is the manager binary in Image.
	Image   string
	Command []string
	// ImagePullPolicy of the worker container ("" lets Kubernetes choose).
	ImagePullPolicy corev1.PullPolicy
	// ImagePullSecrets name Secrets of the migration's namespace that the worker pod pulls Image with.
	ImagePullSecrets []corev1.LocalObjectReference
}

func (e *JobExecutor) readsSecretsAnywhere() bool { return false }

func (e *JobExecutor) ensure(ctx context.Context, mig *mailshiftv1.MailboxMigration, p *migrationPlan, suspend bool) error {
	var job batchv1.Job
	err := e.Client.Get(ctx, types.NamespacedName{Namespace: mig.Namespace, Name: p.run}, &job)
	if err == nil {
		if ptr.Deref(job.Spec.Suspend, false) != suspend {
			patch := client.MergeFrom(job.DeepCopy())
			job.Spec.Suspend = ptr.To(suspend)
			return e.Client.Patch(ctx, &job, patch)
		}
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return err
	}
	if err := e.ensureWorkerAccess(ctx, mig); err != nil {
		return err
	}
	j, err := e.job(mig, p, suspend)
	if err != nil {
		return err
	}
	if err := e.Client.Create(ctx, j); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// job builds the worker Job of run p (internal/jobspec decides its shape; this only gathers the inputs).
func (e *JobExecutor) job(mig *mailshiftv1.MailboxMigration, p *migrationPlan, suspend bool) (*batchv1.Job, error) {
	// p.spec.Connections already is this run's share of its server's spec.limits.maxConnections
	// (connectionShare), so the Run adds no lower share of its own.
	return jobspec.Job(mig, jobspec.Run{Name: p.run, Spec: p.spec, PSTVolume: p.pstVolume, ServiceAccount: workerName(mig), Suspend: suspend},
		jobspec.Options{Image: e.Image, Command: e.Command, ImagePullPolicy: e.ImagePullPolicy, ImagePullSecrets: e.ImagePullSecrets})
}

func (e *JobExecutor) observe(ctx context.Context, mig *mailshiftv1.MailboxMigration, run string) (runState, error) {
	var job batchv1.Job
	if err := e.Client.Get(ctx, types.NamespacedName{Namespace: mig.Namespace, Name: run}, &job); err != nil {
		if apierrors.IsNotFound(err) {
			return runState{}, nil
		}
		return runState{}, err
	}
	st := runState{exists: true, start: job.Status.StartTime, end: job.Status.CompletionTime}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			st.succeeded = true
		case batchv1.JobFailed:
			st.failed = true
			st.lastError = c.Message
			if st.end == nil {
				st.end = &c.LastTransitionTime
			}
		case batchv1.JobSuspended:
			st.suspended = true
		}
	}
	if ptr.Deref(job.Spec.Suspend, false) {
		st.suspended = true
	}
	st.attempts = job.Status.Failed + job.Status.Succeeded + job.Status.Active
	st.active = !st.succeeded && !st.failed && !st.suspended
	if job.Status.Failed > 0 || st.succeeded || st.failed {
		sum, msg, err := e.lastTermination(ctx, &job)
		if err != nil {
			return st, err
		}
		st.summary = sum
		if msg != "" {
			st.lastError = msg
		}
	}
	return st, nil
}

// lastTermination reads the newest finished worker pod's termination message.
func (e *JobExecutor) lastTermination(ctx context.Context, job *batchv1.Job) (*migrationrun.Summary, string, error) {
	var pods corev1.PodList
	if err := e.APIReader.List(ctx, &pods, client.InNamespace(job.Namespace), client.MatchingLabels{"batch.kubernetes.io/job-name": job.Name}); err != nil {
		return nil, "", err
	}
	type ended struct {
		at   metav1.Time
		term *corev1.ContainerStateTerminated
	}
	var all []ended
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == "worker" && cs.State.Terminated != nil {
				all = append(all, ended{cs.State.Terminated.FinishedAt, cs.State.Terminated})
			}
		}
	}
	if len(all) == 0 {
		return nil, "", nil
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at.Before(&all[j].at) })
	t := all[len(all)-1].term
	if sum, ok := migrationrun.ParseSummary(t.Message); ok {
		return &sum, sum.Message, nil
	}
	msg := fmt.Sprintf("worker exited with code %d (%s)", t.ExitCode, t.Reason)
	if t.Message != "" {
		msg += ": " + lastLine(t.Message)
	}
	return nil, msg, nil
}

func (e *JobExecutor) remove(ctx context.Context, mig *mailshiftv1.MailboxMigration, keep string) error {
	var jobs batchv1.JobList
	if err := e.Client.List(ctx, &jobs, client.InNamespace(mig.Namespace), client.MatchingLabels{labelMigration: migrationrun.LabelValue(mig.Name)}); err != nil {
		return err
	}
	for i := range jobs.Items {
		j := &jobs.Items[i]
		if j.Name == keep || !metav1.IsControlledBy(j, mig) {
			continue
		}
		// Background: the garbage collector removes the pods, whose workers get SIGTERM and stop cleanly.
		if err := e.Client.Delete(ctx, j, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}

// lastLine is the last line of a crash's log tail, at most 512 bytes of it.
func lastLine(s string) string {
	s = strings.TrimRight(s, "\r\n")
	s = s[strings.LastIndexByte(s, '\n')+1:]
	if len(s) > 512 {
		s = s[len(s)-512:]
	}
	return s
}
