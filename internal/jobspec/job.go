// Package jobspec builds the batch/v1 Job that runs one MailboxMigration run in a worker pod. It is a pure
// function of its inputs (the migration, the run the controller resolved, the operator's options): no
// client, no reconciler, no clock, so what a worker pod looks like is decided and tested in one place and the
// controller only compares and applies.
package jobspec

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/migrationrun"
)

// Labels on everything a migration's runs create.
const (
	LabelMigration = "mailshift.io/migration"
	LabelComponent = "app.kubernetes.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelName      = "app.kubernetes.io/name"
)

// Paths inside the worker container, and the user it runs as.
const (
	SecretsDir  = "/var/run/mailshift/secrets"
	PSTDir      = "/var/run/mailshift/pst"
	TmpDir      = "/tmp"
	WorkerUID   = 65532
	Container   = "worker"
	TermLogPath = "/dev/termination-log"
)

// Sizes of the worker pod when spec.worker.resources leaves them out.
var (
	DefaultCPURequest     = resource.MustParse("250m")
	DefaultMemoryRequest  = resource.MustParse("256Mi")
	DefaultMemoryLimit    = resource.MustParse("1Gi")
	DefaultScratchRequest = resource.MustParse("256Mi")
)

// defaultBackoffLimit is how many failed pods the Job controller retries when spec.worker.backoffLimit is unset.
const defaultBackoffLimit = 3

// assumedMaxMessageBytes stands for the largest message when the migration sets no maxMessageBytes: 150 MiB,
// what Exchange Online accepts at most.
const assumedMaxMessageBytes = 150 << 20

// Options are the operator's settings for every worker Job (the manager's flags).
type Options struct {
	// Image and Command start the worker: Command[0] is the manager binary in Image ("/manager" if empty).
	Image   string
	Command []string
	// ImagePullPolicy of the worker container ("" lets Kubernetes choose).
	ImagePullPolicy corev1.PullPolicy
	// ImagePullSecrets name Secrets of the migration's namespace that the worker pod pulls Image with.
	ImagePullSecrets []corev1.LocalObjectReference
}

// Run is one run of a migration as the controller resolved it.
type Run struct {
	// Name is the run's (and the Job's) name.
	Name string
	// Spec is the worker's spec with every secret named by Secret and key; the Job mounts those Secrets and
	// the spec it carries names files instead, so no secret value is ever part of the Job.
	Spec migrationrun.Spec
	// PSTVolume holds the PST file (nil for IMAP sources); it is mounted read-only.
	PSTVolume *corev1.VolumeSource
	// ServiceAccount is the migration's own worker ServiceAccount.
	ServiceAccount string
	// MaxConnections is this worker's share of its MailServer's spec.limits.maxConnections, decided by the
	// manager across everything it runs against that server; 0 keeps the spec's own limit. A share never
	// raises the spec's limit.
	MaxConnections int
	// Suspend creates the Job suspended (the migration's spec.suspend).
	Suspend bool
}

// Job builds the worker Job for run of mig: the spec in the environment, every Secret it names mounted
// read-only as files, the PST's volume read-only, a bounded scratch emptyDir for spools, a locked-down
// container, retries bounded by spec.worker.backoffLimit, and the run's summary returned in the termination
// message. The Job is controlled by mig.
func Job(mig *mailshiftv1.MailboxMigration, run Run, opts Options) (*batchv1.Job, error) {
	if mig == nil || mig.Name == "" || mig.Namespace == "" {
		return nil, errors.New("worker Job: the migration has no name or namespace")
	}
	if run.Name == "" {
		return nil, fmt.Errorf("worker Job for MailboxMigration %s: the run has no name", mig.Name)
	}
	if opts.Image == "" {
		return nil, fmt.Errorf("worker Job for MailboxMigration %s: no worker image set", mig.Name)
	}
	if run.PSTVolume != nil && run.Spec.Source.PST == nil {
		return nil, fmt.Errorf("worker Job for MailboxMigration %s: a PST volume without a PST source", mig.Name)
	}
	// The run's spec belongs to the caller: rewrite a copy.
	var spec migrationrun.Spec
	b, err := json.Marshal(run.Spec)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, err
	}
	if run.MaxConnections > 0 && (spec.Connections == 0 || run.MaxConnections < spec.Connections) {
		spec.Connections = run.MaxConnections
	}

	volumes, mounts := secretVolumes(&spec)
	if run.PSTVolume != nil {
		vs := run.PSTVolume.DeepCopy()
		if vs.PersistentVolumeClaim != nil {
			vs.PersistentVolumeClaim.ReadOnly = true
		}
		volumes = append(volumes, corev1.Volume{Name: "pst", VolumeSource: *vs})
		mounts = append(mounts, corev1.VolumeMount{Name: "pst", MountPath: PSTDir, ReadOnly: true})
		spec.Source.PST.Path = path.Join(PSTDir, spec.Source.PST.Path)
	}
	resources := Resources(mig.Spec.Worker.Resources, ScratchBytes(&spec))
	scratch := resources.Limits[corev1.ResourceEphemeralStorage]
	volumes = append(volumes, corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &scratch}}})
	mounts = append(mounts, corev1.VolumeMount{Name: "tmp", MountPath: TmpDir})
	spec.SpoolDir = TmpDir
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}

	labels := Labels(mig)
	w := mig.Spec.Worker
	command := slices.Clone(opts.Command)
	if len(command) == 0 {
		command = []string{"/manager"}
	}
	env := []corev1.EnvVar{{Name: migrationrun.SpecEnv, Value: string(specJSON)},
		// The pod's name and UID name it in its lease on the checkpoint.
		{Name: migrationrun.PodNameEnv, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: migrationrun.PodUIDEnv, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.uid"}}}}
	j := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: batchv1.SchemeGroupVersion.String(), Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Namespace: mig.Namespace, Name: run.Name, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(mig, mailshiftv1.GroupVersion.WithKind("MailboxMigration"))}},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To(ptr.Deref(w.BackoffLimit, defaultBackoffLimit)),
			Suspend:      ptr.To(run.Suspend),
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				// A spec the worker cannot run fails at once: retrying it cannot help.
				{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr.To(Container), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{migrationrun.ExitInvalidSpec}}},
				// An evicted or preempted pod is not the worker's failure: it does not count against the limit.
				{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
					{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
			}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:      corev1.RestartPolicyNever,
					ServiceAccountName: run.ServiceAccount,
					ImagePullSecrets:   slices.Clone(opts.ImagePullSecrets),
					NodeSelector:       w.NodeSelector,
					Tolerations:        w.Tolerations,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](WorkerUID), RunAsGroup: ptr.To[int64](WorkerUID),
						FSGroup:        ptr.To[int64](WorkerUID),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:            Container,
						Image:           opts.Image,
						ImagePullPolicy: opts.ImagePullPolicy,
						Command:         command,
						Args:            []string{"worker", "--termination-log=" + TermLogPath},
						Env:             env,
						Resources:       resources,
						VolumeMounts:    mounts,
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot: ptr.To(true), ReadOnlyRootFilesystem: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false),
							Privileged: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						// The worker writes its summary there; a crash before it does leaves the log's tail.
						TerminationMessagePath:   TermLogPath,
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
					}},
					Volumes: volumes,
				},
			},
		},
	}
	return j, nil
}

// Labels are the labels of a migration's worker Jobs and pods.
func Labels(mig *mailshiftv1.MailboxMigration) map[string]string {
	return map[string]string{LabelMigration: migrationrun.LabelValue(mig.Name), LabelComponent: "worker",
		LabelManagedBy: "mailshift", LabelName: "mailshift"}
}

// secretVolumes mounts every Secret spec names (one volume per Secret, only the keys named) and rewrites
// each of spec's secret values to the file it is mounted as.
func secretVolumes(spec *migrationrun.Spec) ([]corev1.Volume, []corev1.VolumeMount) {
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
			mounts = append(mounts, corev1.VolumeMount{Name: name, MountPath: path.Join(SecretsDir, k.Name), ReadOnly: true})
		}
		sv := volumes[i].Secret
		if !slices.ContainsFunc(sv.Items, func(it corev1.KeyToPath) bool { return it.Key == k.Key }) {
			sv.Items = append(sv.Items, corev1.KeyToPath{Key: k.Key, Path: k.Key})
		}
		*v = migrationrun.Value{File: path.Join(SecretsDir, k.Name, k.Key)}
	}
	return volumes, mounts
}

// ScratchBytes bounds what the worker spools to its scratch directory at once. Each connection holds the
// batch being appended and the one being gathered (a batch closes at 4 MiB or 32 messages, so it holds less
// than 4 MiB plus one message), 8 decided messages queued between reader and appender, the message being
// converted, and with an IMAP source 16 prefetched bodies; any of them may be a message of the largest size.
// Messages are spooled whole before their size is judged, so this is a bound of the design that the pod's
// ephemeral-storage limit enforces from outside: a run that exceeds it is evicted and retried, not left to
// fill the node.
func ScratchBytes(spec *migrationrun.Spec) int64 {
	conns := int64(spec.Parallel)
	if conns <= 0 {
		conns = 4 // worker.Job's default
	}
	if spec.Connections > 0 && int64(spec.Connections) < conns {
		conns = int64(spec.Connections)
	}
	largest := spec.MaxBytes
	if largest <= 0 {
		largest = assumedMaxMessageBytes
	}
	const batchBytes = 4 << 20
	messages := int64(2 + 8 + 1)
	if spec.Source.IMAP != nil {
		messages += 16
	}
	return conns * (2*batchBytes + messages*largest)
}

// Resources fills what spec.worker.resources leaves out: requests, a memory limit, and an ephemeral-storage
// limit of the scratch bound (the emptyDir's sizeLimit is the same).
func Resources(user corev1.ResourceRequirements, scratchBytes int64) corev1.ResourceRequirements {
	r := *user.DeepCopy()
	if r.Requests == nil {
		r.Requests = corev1.ResourceList{}
	}
	if r.Limits == nil {
		r.Limits = corev1.ResourceList{}
	}
	setDefault := func(l corev1.ResourceList, name corev1.ResourceName, q resource.Quantity) {
		if _, ok := l[name]; !ok {
			l[name] = q
		}
	}
	setDefault(r.Limits, corev1.ResourceMemory, DefaultMemoryLimit)
	setDefault(r.Limits, corev1.ResourceEphemeralStorage, *resource.NewQuantity(scratchBytes, resource.BinarySI))
	setDefault(r.Requests, corev1.ResourceCPU, DefaultCPURequest)
	// A request above its limit is refused by the API server: a small limit the user set wins.
	setDefault(r.Requests, corev1.ResourceMemory, minQuantity(DefaultMemoryRequest, r.Limits[corev1.ResourceMemory]))
	setDefault(r.Requests, corev1.ResourceEphemeralStorage, minQuantity(DefaultScratchRequest, r.Limits[corev1.ResourceEphemeralStorage]))
	return r
}

func minQuantity(a, b resource.Quantity) resource.Quantity {
	if b.Cmp(a) < 0 {
		return b
	}
	return a
}
