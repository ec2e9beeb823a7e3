package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/migrationrun"
)

// Labels on everything a migration's runs create.
const (
	labelMigration = "mailshift.io/migration"
	labelComponent = "app.kubernetes.io/component"
	labelManagedBy = "app.kubernetes.io/managed-by"
)

// Paths inside the worker container.
const (
	workerSecretsDir = "/var/run/mailshift/secrets"
	workerPSTDir     = "/var/run/mailshift/pst"
	workerTmpDir     = "/tmp"
	workerUID        = 65532
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

// job builds the worker Job: the spec in the environment, every Secret it names mounted read-only as files,
// the PST's volume read-only, a scratch emptyDir for spools, and a locked-down container.
func (e *JobExecutor) job(mig *mailshiftv1.MailboxMigration, p *migrationPlan, suspend bool) (*batchv1.Job, error) {
	// The plan's spec is shared with the caller: rewrite a copy.
	var spec migrationrun.Spec
	b, _ := json.Marshal(p.spec)
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, err
	}
	var volumes []corev1.Volume
	var mounts []corev1.VolumeMount
	secretVolume := map[string]int{} // Secret name -> index in volumes
	for _, v := range spec.Values() {
		k := v.Secret
		i, ok := secretVolume[k.Name]
		if !ok {
			i = len(volumes)
			secretVolume[k.Name] = i
			name := fmt.Sprintf("secret-%d", i)
			volumes = append(volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: k.Name, DefaultMode: ptr.To[int32](0o440)}}})
			mounts = append(mounts, corev1.VolumeMount{Name: name, MountPath: path.Join(workerSecretsDir, k.Name), ReadOnly: true})
		}
		sv := volumes[i].Secret
		if !hasItem(sv.Items, k.Key) {
			sv.Items = append(sv.Items, corev1.KeyToPath{Key: k.Key, Path: k.Key})
		}
		*v = migrationrun.Value{File: path.Join(workerSecretsDir, k.Name, k.Key)}
	}
	if p.pstVolume != nil {
		vs := p.pstVolume.DeepCopy()
		if vs.PersistentVolumeClaim != nil {
			vs.PersistentVolumeClaim.ReadOnly = true
		}
		volumes = append(volumes, corev1.Volume{Name: "pst", VolumeSource: *vs})
		mounts = append(mounts, corev1.VolumeMount{Name: "pst", MountPath: workerPSTDir, ReadOnly: true})
		spec.Source.PST.Path = path.Join(workerPSTDir, spec.Source.PST.Path)
	}
	resources := workerResources(mig.Spec.Worker.Resources, workerScratchBytes(&spec))
	scratch := resources.Limits[corev1.ResourceEphemeralStorage]
	volumes = append(volumes, corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &scratch}}})
	mounts = append(mounts, corev1.VolumeMount{Name: "tmp", MountPath: workerTmpDir})
	spec.SpoolDir = workerTmpDir
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}

	labels := map[string]string{labelMigration: migrationrun.LabelValue(mig.Name), labelComponent: "worker", labelManagedBy: "mailshift",
		"app.kubernetes.io/name": "mailshift"}
	w := mig.Spec.Worker
	backoff := ptr.Deref(w.BackoffLimit, 3)
	command := e.Command
	if len(command) == 0 {
		command = []string{"/manager"}
	}
	env := []corev1.EnvVar{{Name: migrationrun.SpecEnv, Value: string(specJSON)},
		// The pod's name and UID name it in its lease on the checkpoint.
		{Name: migrationrun.PodNameEnv, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: migrationrun.PodUIDEnv, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.uid"}}}}
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: mig.Namespace, Name: p.run, Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To(backoff),
			Suspend:      ptr.To(suspend),
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr.To("worker"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{migrationrun.ExitInvalidSpec}}},
				// An evicted or preempted pod is not the worker's failure: it does not count against the limit.
				{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
					{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
			}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:      corev1.RestartPolicyNever,
					ServiceAccountName: workerName(mig),
					ImagePullSecrets:   slices.Clone(e.ImagePullSecrets),
					NodeSelector:       w.NodeSelector,
					Tolerations:        w.Tolerations,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](workerUID), RunAsGroup: ptr.To[int64](workerUID),
						FSGroup:        ptr.To[int64](workerUID),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:            "worker",
						Image:           e.Image,
						ImagePullPolicy: e.ImagePullPolicy,
						Command:         command,
						Args:            []string{"worker", "--termination-log=/dev/termination-log"},
						Env:             env,
						Resources:       resources,
						VolumeMounts:    mounts,
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot: ptr.To(true), ReadOnlyRootFilesystem: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false),
							Privileged: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						TerminationMessagePath:   "/dev/termination-log",
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
					}},
					Volumes: volumes,
				},
			},
		},
	}
	if err := controllerutil.SetControllerReference(mig, j, e.Client.Scheme()); err != nil {
		return nil, err
	}
	return j, nil
}

func hasItem(items []corev1.KeyToPath, key string) bool {
	for _, it := range items {
		if it.Key == key {
			return true
		}
	}
	return false
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
