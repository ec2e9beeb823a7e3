package jobspec

import (
	"encoding/json"
	"path"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/migrationrun"
)

func migration() *mailshiftv1.MailboxMigration {
	return &mailshiftv1.MailboxMigration{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-a", Name: "alice", UID: "0c7e4a52-uid"},
		Spec:       mailshiftv1.MailboxMigrationSpec{MailboxRef: mailshiftv1.LocalObjectRef{Name: "alice"}},
	}
}

func secretValue(name, key string) *migrationrun.Value {
	return &migrationrun.Value{Secret: &migrationrun.SecretKey{Namespace: "tenant-a", Name: name, Key: key}}
}

// imapSpec is an IMAP→IMAP run whose credentials come from three Secrets, one of them named twice.
func imapSpec() migrationrun.Spec {
	return migrationrun.Spec{
		Namespace: "tenant-a", Name: "alice", Run: "alice-1a2b3c4d5e",
		Source: migrationrun.Source{IMAP: &migrationrun.IMAPSource{Endpoint: migrationrun.Endpoint{Host: "old.example", Port: 993},
			LoginFrom: secretValue("old-creds", "username"), Password: secretValue("old-creds", "password")}},
		Target: migrationrun.Target{Endpoint: migrationrun.Endpoint{Host: "imap.example", Port: 143, CA: secretValue("imap-ca", "ca.crt")},
			Login: "alice", Password: secretValue("alice-imap", "password")},
		Checkpoint: "alice-checkpoint", ReportName: "alice-report",
	}
}

func pstSpec() migrationrun.Spec {
	return migrationrun.Spec{
		Namespace: "tenant-a", Name: "alice", Run: "alice-pst",
		Source:     migrationrun.Source{PST: &migrationrun.PSTSource{Path: "exports/alice.pst"}},
		Target:     migrationrun.Target{Endpoint: migrationrun.Endpoint{Host: "imap.example", Port: 143}, Login: "alice", Password: secretValue("alice-imap", "password")},
		Checkpoint: "alice-checkpoint", ReportName: "alice-report",
	}
}

var opts = Options{Image: "registry.example/mailshift:v1", ImagePullPolicy: corev1.PullIfNotPresent,
	ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}}}

// workerSpec decodes the spec the Job hands the worker.
func workerSpec(t *testing.T, j *batchv1.Job) migrationrun.Spec {
	t.Helper()
	var spec migrationrun.Spec
	for _, e := range j.Spec.Template.Spec.Containers[0].Env {
		if e.Name == migrationrun.SpecEnv {
			if err := json.Unmarshal([]byte(e.Value), &spec); err != nil {
				t.Fatalf("%s: %v", migrationrun.SpecEnv, err)
			}
			return spec
		}
	}
	t.Fatalf("no %s in the worker's environment", migrationrun.SpecEnv)
	return spec
}

func volume(j *batchv1.Job, name string) *corev1.Volume {
	for i, v := range j.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return &j.Spec.Template.Spec.Volumes[i]
		}
	}
	return nil
}

func mount(j *batchv1.Job, name string) *corev1.VolumeMount {
	for i, m := range j.Spec.Template.Spec.Containers[0].VolumeMounts {
		if m.Name == name {
			return &j.Spec.Template.Spec.Containers[0].VolumeMounts[i]
		}
	}
	return nil
}

func TestJob(t *testing.T) {
	gib := resource.MustParse("1Gi")
	tests := []struct {
		name  string
		mig   func(*mailshiftv1.MailboxMigration)
		run   Run
		opts  Options
		check func(t *testing.T, j *batchv1.Job)
	}{{
		name: "identity, owner and labels",
		run:  Run{Name: "alice-1a2b3c4d5e", Spec: imapSpec(), ServiceAccount: "alice-worker"},
		opts: opts,
		check: func(t *testing.T, j *batchv1.Job) {
			if j.Namespace != "tenant-a" || j.Name != "alice-1a2b3c4d5e" {
				t.Errorf("Job %s/%s, want tenant-a/alice-1a2b3c4d5e", j.Namespace, j.Name)
			}
			want := map[string]string{LabelMigration: "alice", LabelComponent: "worker", LabelManagedBy: "mailshift", LabelName: "mailshift"}
			for k, v := range want {
				if j.Labels[k] != v || j.Spec.Template.Labels[k] != v {
					t.Errorf("label %s = %q on the Job, %q on the pod, want %q", k, j.Labels[k], j.Spec.Template.Labels[k], v)
				}
			}
			if len(j.OwnerReferences) != 1 {
				t.Fatalf("owner references %+v, want the migration", j.OwnerReferences)
			}
			o := j.OwnerReferences[0]
			if o.APIVersion != "mailshift.io/v1" || o.Kind != "MailboxMigration" || o.Name != "alice" || o.UID != "0c7e4a52-uid" ||
				!ptr.Deref(o.Controller, false) || !ptr.Deref(o.BlockOwnerDeletion, false) {
				t.Errorf("owner %+v, want the migration as controller", o)
			}
			ps := j.Spec.Template.Spec
			if ps.ServiceAccountName != "alice-worker" || ps.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("service account %q, restart %q", ps.ServiceAccountName, ps.RestartPolicy)
			}
			if len(ps.ImagePullSecrets) != 1 || ps.ImagePullSecrets[0].Name != "pull" {
				t.Errorf("pull secrets %+v", ps.ImagePullSecrets)
			}
			c := ps.Containers[0]
			if c.Name != Container || c.Image != opts.Image || c.ImagePullPolicy != corev1.PullIfNotPresent {
				t.Errorf("container %s image %s policy %s", c.Name, c.Image, c.ImagePullPolicy)
			}
			if strings.Join(c.Command, " ") != "/manager" || strings.Join(c.Args, " ") != "worker --termination-log=/dev/termination-log" {
				t.Errorf("command %q args %q", c.Command, c.Args)
			}
		},
	}, {
		name: "locked-down pod and container",
		run:  Run{Name: "r", Spec: imapSpec()},
		opts: opts,
		check: func(t *testing.T, j *batchv1.Job) {
			psc := j.Spec.Template.Spec.SecurityContext
			if psc == nil || !ptr.Deref(psc.RunAsNonRoot, false) || ptr.Deref(psc.RunAsUser, 0) != WorkerUID ||
				ptr.Deref(psc.RunAsGroup, 0) != WorkerUID || ptr.Deref(psc.FSGroup, 0) != WorkerUID ||
				psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("pod security context %+v", psc)
			}
			sc := j.Spec.Template.Spec.Containers[0].SecurityContext
			if sc == nil || !ptr.Deref(sc.RunAsNonRoot, false) || !ptr.Deref(sc.ReadOnlyRootFilesystem, false) ||
				ptr.Deref(sc.AllowPrivilegeEscalation, true) || ptr.Deref(sc.Privileged, true) ||
				sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 {
				t.Errorf("container security context %+v", sc)
			}
			if j.Spec.Template.Spec.HostNetwork || j.Spec.Template.Spec.HostPID || !ptr.Deref(j.Spec.Template.Spec.AutomountServiceAccountToken, true) {
				t.Errorf("pod shares the host's namespaces or has no API token (the worker writes its progress)")
			}
		},
	}, {
		name: "secrets mounted as files, never as values",
		run:  Run{Name: "r", Spec: imapSpec()},
		opts: opts,
		check: func(t *testing.T, j *batchv1.Job) {
			spec := workerSpec(t, j)
			vals := spec.Values()
			if len(vals) != 4 {
				t.Fatalf("worker spec has %d credentials, want 4", len(vals))
			}
			for _, v := range vals {
				if v.Secret != nil || !strings.HasPrefix(v.File, SecretsDir+"/") {
					t.Errorf("credential %+v: want a file under %s, no Secret reference", v, SecretsDir)
				}
			}
			if got := spec.Source.IMAP.Password.File; got != path.Join(SecretsDir, "old-creds", "password") {
				t.Errorf("source password read from %s", got)
			}
			for _, e := range j.Spec.Template.Spec.Containers[0].Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					t.Errorf("env %s takes a Secret's value into the environment", e.Name)
				}
			}
			// One read-only volume per Secret, with only the keys named.
			want := map[string][]string{"imap-ca": {"ca.crt"}, "alice-imap": {"password"}, "old-creds": {"username", "password"}}
			seen := 0
			for _, v := range j.Spec.Template.Spec.Volumes {
				if v.Secret == nil {
					continue
				}
				seen++
				keys := want[v.Secret.SecretName]
				if len(v.Secret.Items) != len(keys) || ptr.Deref(v.Secret.DefaultMode, 0) != 0o440 {
					t.Errorf("Secret volume %s: items %+v mode %o, want keys %v mode 440", v.Secret.SecretName, v.Secret.Items, ptr.Deref(v.Secret.DefaultMode, 0), keys)
				}
				for i, k := range keys {
					if i < len(v.Secret.Items) && (v.Secret.Items[i].Key != k || v.Secret.Items[i].Path != k) {
						t.Errorf("Secret volume %s item %d = %+v, want %s", v.Secret.SecretName, i, v.Secret.Items[i], k)
					}
				}
				m := mount(j, v.Name)
				if m == nil || !m.ReadOnly || m.MountPath != path.Join(SecretsDir, v.Secret.SecretName) {
					t.Errorf("Secret %s mounted as %+v", v.Secret.SecretName, m)
				}
			}
			if seen != len(want) {
				t.Errorf("%d Secret volumes, want %d", seen, len(want))
			}
		},
	}, {
		name: "PST on a claim: read-only, path inside the mount",
		run: Run{Name: "r", Spec: pstSpec(), PSTVolume: &corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "exports"}}},
		opts: opts,
		check: func(t *testing.T, j *batchv1.Job) {
			v := volume(j, "pst")
			if v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "exports" || !v.PersistentVolumeClaim.ReadOnly {
				t.Errorf("pst volume %+v, want claim exports read-only", v)
			}
			if m := mount(j, "pst"); m == nil || !m.ReadOnly || m.MountPath != PSTDir {
				t.Errorf("pst mount %+v", m)
			}
			if got := workerSpec(t, j).Source.PST.Path; got != PSTDir+"/exports/alice.pst" {
				t.Errorf("worker reads %s", got)
			}
		},
	}, {
		name: "PST on a hostPath",
		run:  Run{Name: "r", Spec: pstSpec(), PSTVolume: &corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/pst"}}},
		opts: opts,
		check: func(t *testing.T, j *batchv1.Job) {
			if v := volume(j, "pst"); v == nil || v.HostPath == nil || v.HostPath.Path != "/srv/pst" {
				t.Errorf("pst volume %+v", v)
			}
			if m := mount(j, "pst"); m == nil || !m.ReadOnly {
				t.Errorf("pst mount %+v, want read-only", m)
			}
		},
	}, {
		name: "IMAP source has no PST volume; scratch is bounded",
		run:  Run{Name: "r", Spec: imapSpec()},
		opts: opts,
		check: func(t *testing.T, j *batchv1.Job) {
			if volume(j, "pst") != nil {
				t.Error("a PST volume for an IMAP source")
			}
			tmp := volume(j, "tmp")
			if tmp == nil || tmp.EmptyDir == nil || tmp.EmptyDir.SizeLimit == nil {
				t.Fatalf("tmp volume %+v, want a sized emptyDir", tmp)
			}
			lim := j.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceEphemeralStorage]
			if tmp.EmptyDir.SizeLimit.Cmp(lim) != 0 || lim.Value() != ScratchBytes(ptr.To(imapSpec())) {
				t.Errorf("scratch %s, ephemeral-storage limit %s, want both %d", tmp.EmptyDir.SizeLimit, &lim, ScratchBytes(ptr.To(imapSpec())))
			}
			if m := mount(j, "tmp"); m == nil || m.MountPath != TmpDir || workerSpec(t, j).SpoolDir != TmpDir {
				t.Errorf("tmp mount %+v, spool %q", m, workerSpec(t, j).SpoolDir)
			}
		},
	}, {
		name: "retries, failure policy, termination message, no deadline",
		run:  Run{Name: "r", Spec: imapSpec()},
		opts: opts,
		check: func(t *testing.T, j *batchv1.Job) {
			if ptr.Deref(j.Spec.BackoffLimit, -1) != 3 || ptr.Deref(j.Spec.Suspend, true) {
				t.Errorf("backoffLimit %v suspend %v, want 3 and false", j.Spec.BackoffLimit, j.Spec.Suspend)
			}
			// A large mailbox may take days: the Job is not cut by a deadline; a stuck worker is the lease's
			// and the checkpoint's business.
			if j.Spec.ActiveDeadlineSeconds != nil || j.Spec.TTLSecondsAfterFinished != nil {
				t.Errorf("deadline %v, ttl %v", j.Spec.ActiveDeadlineSeconds, j.Spec.TTLSecondsAfterFinished)
			}
			rules := j.Spec.PodFailurePolicy.Rules
			if len(rules) != 2 || rules[0].Action != batchv1.PodFailurePolicyActionFailJob || rules[0].OnExitCodes == nil ||
				ptr.Deref(rules[0].OnExitCodes.ContainerName, "") != Container || len(rules[0].OnExitCodes.Values) != 1 ||
				rules[0].OnExitCodes.Values[0] != migrationrun.ExitInvalidSpec || rules[1].Action != batchv1.PodFailurePolicyActionIgnore ||
				len(rules[1].OnPodConditions) != 1 || rules[1].OnPodConditions[0].Type != corev1.DisruptionTarget {
				t.Errorf("pod failure policy %+v", rules)
			}
			c := j.Spec.Template.Spec.Containers[0]
			if c.TerminationMessagePath != TermLogPath || c.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
				t.Errorf("termination message %s %s", c.TerminationMessagePath, c.TerminationMessagePolicy)
			}
			names := []string{}
			for _, e := range c.Env {
				names = append(names, e.Name)
				if (e.Name == migrationrun.PodNameEnv && (e.ValueFrom == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name")) ||
					(e.Name == migrationrun.PodUIDEnv && (e.ValueFrom == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.uid")) {
					t.Errorf("env %s = %+v", e.Name, e.ValueFrom)
				}
			}
			if strings.Join(names, ",") != strings.Join([]string{migrationrun.SpecEnv, migrationrun.PodNameEnv, migrationrun.PodUIDEnv}, ",") {
				t.Errorf("env %v", names)
			}
		},
	}, {
		name: "worker settings: backoff, placement, suspend, command",
		mig: func(m *mailshiftv1.MailboxMigration) {
			m.Spec.Worker = mailshiftv1.WorkerSettings{BackoffLimit: ptr.To[int32](0), NodeSelector: map[string]string{"disk": "ssd"},
				Tolerations: []corev1.Toleration{{Key: "mail", Operator: corev1.TolerationOpExists}}}
		},
		run:  Run{Name: "r", Spec: imapSpec(), Suspend: true},
		opts: Options{Image: "img", Command: []string{"/bin/manager", "--quiet"}},
		check: func(t *testing.T, j *batchv1.Job) {
			if ptr.Deref(j.Spec.BackoffLimit, -1) != 0 || !ptr.Deref(j.Spec.Suspend, false) {
				t.Errorf("backoffLimit %v suspend %v, want 0 and true", j.Spec.BackoffLimit, j.Spec.Suspend)
			}
			ps := j.Spec.Template.Spec
			if ps.NodeSelector["disk"] != "ssd" || len(ps.Tolerations) != 1 || ps.Tolerations[0].Key != "mail" {
				t.Errorf("placement %v %+v", ps.NodeSelector, ps.Tolerations)
			}
			if strings.Join(ps.Containers[0].Command, " ") != "/bin/manager --quiet" || len(ps.ImagePullSecrets) != 0 {
				t.Errorf("command %q, pull secrets %v", ps.Containers[0].Command, ps.ImagePullSecrets)
			}
		},
	}, {
		name: "resources: the user's kept, defaults filled, requests never above limits",
		mig: func(m *mailshiftv1.MailboxMigration) {
			m.Spec.Worker.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}
		},
		run:  Run{Name: "r", Spec: imapSpec()},
		opts: opts,
		check: func(t *testing.T, j *batchv1.Job) {
			r := j.Spec.Template.Spec.Containers[0].Resources
			if q := r.Limits[corev1.ResourceMemory]; q.String() != "128Mi" {
				t.Errorf("memory limit %s, want the user's 128Mi", &q)
			}
			if q := r.Requests[corev1.ResourceMemory]; q.String() != "128Mi" {
				t.Errorf("memory request %s, want lowered to the 128Mi limit", &q)
			}
			if q := r.Requests[corev1.ResourceCPU]; q.String() != "2" {
				t.Errorf("cpu request %s, want the user's 2", &q)
			}
		},
	}, {
		name: "resources: defaults",
		run:  Run{Name: "r", Spec: imapSpec()},
		opts: opts,
		check: func(t *testing.T, j *batchv1.Job) {
			r := j.Spec.Template.Spec.Containers[0].Resources
			if q := r.Limits[corev1.ResourceMemory]; q.Cmp(gib) != 0 {
				t.Errorf("memory limit %s, want 1Gi", &q)
			}
			if q := r.Requests[corev1.ResourceCPU]; q.String() != "250m" {
				t.Errorf("cpu request %s", &q)
			}
		},
	}, {
		name: "the server's connection share lowers the run's limit",
		run:  Run{Name: "r", Spec: func() migrationrun.Spec { s := imapSpec(); s.Connections = 8; return s }(), MaxConnections: 3},
		opts: opts,
		check: func(t *testing.T, j *batchv1.Job) {
			if got := workerSpec(t, j).Connections; got != 3 {
				t.Errorf("worker may open %d connections, want its share 3", got)
			}
		},
	}, {
		name: "a share never raises the run's own limit",
		run:  Run{Name: "r", Spec: func() migrationrun.Spec { s := imapSpec(); s.Connections = 2; return s }(), MaxConnections: 5},
		opts: opts,
		check: func(t *testing.T, j *batchv1.Job) {
			if got := workerSpec(t, j).Connections; got != 2 {
				t.Errorf("worker may open %d connections, want the spec's 2", got)
			}
		},
	}, {
		name: "a share applies when the run sets no limit",
		run:  Run{Name: "r", Spec: imapSpec(), MaxConnections: 4},
		opts: opts,
		check: func(t *testing.T, j *batchv1.Job) {
			if got := workerSpec(t, j).Connections; got != 4 {
				t.Errorf("worker may open %d connections, want 4", got)
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mig := migration()
			if tc.mig != nil {
				tc.mig(mig)
			}
			run := tc.run
			j, err := Job(mig, run, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, j)
			// The caller's spec is not rewritten: it still names Secrets.
			for _, v := range run.Spec.Values() {
				if v.Secret == nil || v.File != "" {
					t.Errorf("the input spec was changed: %+v", v)
				}
			}
		})
	}
}

func TestJobRejectsIncompleteInput(t *testing.T) {
	tests := []struct {
		name string
		mig  *mailshiftv1.MailboxMigration
		run  Run
		opts Options
		want string
	}{
		{"no migration", nil, Run{Name: "r"}, opts, "no name or namespace"},
		{"no namespace", &mailshiftv1.MailboxMigration{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, Run{Name: "r"}, opts, "no name or namespace"},
		{"no run name", migration(), Run{Spec: imapSpec()}, opts, "the run has no name"},
		{"no image", migration(), Run{Name: "r", Spec: imapSpec()}, Options{}, "no worker image"},
		{"PST volume for an IMAP source", migration(), Run{Name: "r", Spec: imapSpec(), PSTVolume: &corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}, opts, "without a PST source"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, err := Job(tc.mig, tc.run, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) || j != nil {
				t.Errorf("Job = %v, %v; want an error saying %q", j, err, tc.want)
			}
		})
	}
}

// TestJobIsAFunctionOfItsInputs: the same inputs give the same Job, so the controller can compare.
func TestJobIsAFunctionOfItsInputs(t *testing.T) {
	run := Run{Name: "r", Spec: imapSpec(), ServiceAccount: "sa", MaxConnections: 2}
	a, err := Job(migration(), run, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Job(migration(), run, opts)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("two builds differ:\n%s\n%s", ja, jb)
	}
	// Nothing a Secret holds can be in the Job: only names of Secrets and keys are inputs.
	for _, secretName := range []string{"old-creds", "alice-imap", "imap-ca"} {
		if !strings.Contains(string(ja), secretName) {
			t.Errorf("the Job does not mount Secret %s", secretName)
		}
	}
}
