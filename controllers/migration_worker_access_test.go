package controllers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/jobspec"
	"github.com/mailshift/mailshift/internal/migrationrun"
	"github.com/mailshift/mailshift/worker"
)

// TestWorkerRoleNamesItsObjects: the worker's Role names exactly its migration and that migration's two
// ConfigMaps, and never grants create (which RBAC cannot limit by name).
func TestWorkerRoleNamesItsObjects(t *testing.T) {
	mig := &mailshiftv1.MailboxMigration{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "alice", UID: "u-1"}}
	a, err := workerAccessFor(mig, scheme.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	if a.serviceAccount.Name != "alice-worker" || a.role.Name != a.serviceAccount.Name || a.binding.RoleRef.Name != a.role.Name ||
		a.binding.RoleRef.Kind != "Role" || len(a.binding.Subjects) != 1 || a.binding.Subjects[0].Name != a.serviceAccount.Name {
		t.Fatalf("ServiceAccount %q, Role %q, RoleBinding %+v do not fit together", a.serviceAccount.Name, a.role.Name, a.binding)
	}
	want := map[string][]string{"mailboxmigrations/status": {"alice"}, "configmaps": {"alice-checkpoint", "alice-report"}}
	if len(a.role.Rules) != len(want) {
		t.Fatalf("rules %+v", a.role.Rules)
	}
	for _, r := range a.role.Rules {
		if len(r.Resources) != 1 || !slices.Equal(r.ResourceNames, want[r.Resources[0]]) {
			t.Errorf("rule %+v: want resourceNames %v", r, want[r.Resources[0]])
		}
		for _, v := range r.Verbs {
			if v != "get" && v != "patch" {
				t.Errorf("rule %+v grants %q", r, v)
			}
		}
	}
	var names []string
	for _, cm := range a.configMaps {
		names = append(names, cm.Name)
		if len(cm.OwnerReferences) != 1 || cm.OwnerReferences[0].UID != mig.UID {
			t.Errorf("ConfigMap %s owners %+v", cm.Name, cm.OwnerReferences)
		}
	}
	if !slices.Equal(names, want["configmaps"]) {
		t.Errorf("ConfigMaps made in advance %v, want %v", names, want["configmaps"])
	}
	for _, o := range []metav1.Object{a.serviceAccount, a.role, a.binding} {
		if !metav1.IsControlledBy(o, mig) {
			t.Errorf("%s is not owned by its migration", o.GetName())
		}
	}
}

// TestWorkerPodResources: defaults where the spec leaves resources out, the user's values where it sets them,
// and a scratch emptyDir whose sizeLimit is the ephemeral-storage limit sized to the spool's bound.
func TestWorkerPodResources(t *testing.T) {
	e := &JobExecutor{Client: k8s, Image: "mailshift:test"}
	mig := &mailshiftv1.MailboxMigration{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "alice", UID: "u-1"}}
	pstSpec := migrationrun.Spec{Source: migrationrun.Source{PST: &migrationrun.PSTSource{Path: "a.pst"}}}
	job := func(mig *mailshiftv1.MailboxMigration, spec migrationrun.Spec) (*corev1.Container, *corev1.Volume, *batchv1.Job) {
		t.Helper()
		j, err := e.job(mig, &migrationPlan{run: "alice-1", spec: spec}, false)
		if err != nil {
			t.Fatal(err)
		}
		pod := &j.Spec.Template.Spec
		for i := range pod.Volumes {
			if pod.Volumes[i].Name == "tmp" {
				return &pod.Containers[0], &pod.Volumes[i], j
			}
		}
		t.Fatal("no scratch volume")
		return nil, nil, nil
	}

	c, tmp, j := job(mig, pstSpec)
	if sa := j.Spec.Template.Spec.ServiceAccountName; sa != workerName(mig) {
		t.Errorf("worker runs as %q, want its own %q", sa, workerName(mig))
	}
	limit, ok := c.Resources.Limits[corev1.ResourceEphemeralStorage]
	// 4 connections × (2 batches of 4 MiB + 11 messages of 150 MiB).
	wantScratch := resource.NewQuantity(4*(2*(4<<20)+11*(150<<20)), resource.BinarySI)
	if !ok || limit.Cmp(*wantScratch) != 0 {
		t.Errorf("ephemeral-storage limit %v, want %v", limit.String(), wantScratch)
	}
	if tmp.EmptyDir == nil || tmp.EmptyDir.SizeLimit == nil || tmp.EmptyDir.SizeLimit.Cmp(limit) != 0 {
		t.Errorf("scratch emptyDir %+v, want sizeLimit %v", tmp.EmptyDir, limit.String())
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		if _, ok := c.Resources.Requests[name]; !ok {
			t.Errorf("no default %s request: %v", name, c.Resources.Requests)
		}
	}
	if m := c.Resources.Limits[corev1.ResourceMemory]; m.Cmp(jobspec.DefaultMemoryLimit) != 0 {
		t.Errorf("memory limit %v", m.String())
	}

	// A size cap, fewer connections and an IMAP source change the bound.
	small := migrationrun.Spec{Source: migrationrun.Source{IMAP: &migrationrun.IMAPSource{}}, MaxBytes: 10 << 20, Parallel: 8, Connections: 2}
	c, tmp, _ = job(mig, small)
	want := resource.NewQuantity(2*(2*(4<<20)+27*(10<<20)), resource.BinarySI)
	if got := c.Resources.Limits[corev1.ResourceEphemeralStorage]; got.Cmp(*want) != 0 || tmp.EmptyDir.SizeLimit.Cmp(*want) != 0 {
		t.Errorf("capped IMAP run: limit %v sizeLimit %v, want %v", got.String(), tmp.EmptyDir.SizeLimit, want)
	}

	// What the user sets wins, and a default request never exceeds the user's limit.
	own := mig.DeepCopy()
	own.Spec.Worker.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{
		corev1.ResourceMemory: resource.MustParse("128Mi"), corev1.ResourceEphemeralStorage: resource.MustParse("2Gi")}}
	c, tmp, _ = job(own, pstSpec)
	if m := c.Resources.Limits[corev1.ResourceMemory]; m.Cmp(resource.MustParse("128Mi")) != 0 {
		t.Errorf("user's memory limit replaced: %v", m.String())
	}
	if r := c.Resources.Requests[corev1.ResourceMemory]; r.Cmp(resource.MustParse("128Mi")) > 0 {
		t.Errorf("memory request %v above the user's limit", r.String())
	}
	if tmp.EmptyDir.SizeLimit.Cmp(resource.MustParse("2Gi")) != 0 {
		t.Errorf("sizeLimit %v, want the user's ephemeral-storage limit 2Gi", tmp.EmptyDir.SizeLimit)
	}
	if own.Spec.Worker.Resources.Requests != nil {
		t.Error("the builder wrote defaults into the MailboxMigration's spec")
	}
}

// TestWorkerIdentityConfined runs the Job executor's ensure against the real API server for two migrations
// of one namespace, then acts as the first one's worker (impersonating its ServiceAccount, so the API
// server's RBAC decides): it may write its own checkpoint, report and progress, and nothing of the other
// migration's, create no ConfigMap and read no Secret.
func TestWorkerIdentityConfined(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	migs := map[string]*mailshiftv1.MailboxMigration{}
	for _, name := range []string{"first", "second"} {
		// No Mailbox exists: the running manager only marks them MailboxNotFound and starts nothing.
		m := &mailshiftv1.MailboxMigration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: mailshiftv1.MailboxMigrationSpec{MailboxRef: mailshiftv1.LocalObjectRef{Name: "nobody"},
				MigrationSettings: mailshiftv1.MigrationSettings{Source: mailshiftv1.MigrationSource{IMAP: &mailshiftv1.IMAPSource{
					Host: "127.0.0.1", Login: "x", CredentialsSecretRef: &mailshiftv1.CredentialsSecretRef{Name: "src"}}}}}}
		mustCreate(t, m)
		migs[name] = m
	}
	mustCreate(t, secret(ns, "src", map[string]string{"username": "x", "password": "never-to-be-read"}))
	e := &JobExecutor{Client: k8s, APIReader: k8s, Image: "mailshift:test"}
	var sa string
	for _, name := range []string{"first", "second"} {
		p := &migrationPlan{run: name + "-run", spec: migrationrun.Spec{Namespace: ns, Name: name, Source: migrationrun.Source{PST: &migrationrun.PSTSource{Path: "a.pst"}}}}
		if err := e.ensure(ctx, migs[name], p, true); err != nil {
			t.Fatalf("ensure %s: %v", name, err)
		}
		var j batchv1.Job
		if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: p.run}, &j); err != nil {
			t.Fatal(err)
		}
		if name == "first" {
			sa = j.Spec.Template.Spec.ServiceAccountName
		}
	}
	// Ensuring again is harmless.
	if err := e.ensureWorkerAccess(ctx, migs["first"]); err != nil {
		t.Fatalf("ensure again: %v", err)
	}

	cfg := rest.CopyConfig(k8sConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + sa}
	as, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	checkpoint := func(mig string) error {
		m := migs[mig]
		// As a run does: claim the checkpoint's lease, write as its holder, release it.
		lease := &migrationrun.Lease{Client: as, Namespace: ns, Name: checkpointName(m), Holder: migrationrun.NewHolder("worker")}
		if err := lease.Claim(ctx); err != nil {
			return err
		}
		s := &migrationrun.ConfigMapCheckpoint{Client: as, Namespace: ns, Name: checkpointName(m), Lease: lease,
			Owner: metav1.OwnerReference{APIVersion: mailshiftv1.GroupVersion.String(), Kind: "MailboxMigration", Name: m.Name, UID: m.UID}}
		if _, err := s.Load(ctx); err != nil {
			return err
		}
		if err := s.Save(ctx, &worker.Checkpoint{Version: 1, Job: "test"}); err != nil {
			return err
		}
		if err := s.Flush(ctx); err != nil {
			return err
		}
		return lease.Release(ctx)
	}
	progress := func(mig string) error {
		m := migs[mig].DeepCopy()
		return as.Status().Patch(ctx, m, client.RawPatch(types.MergePatchType, []byte(`{"status":{"progress":{"itemsCopied":1}}}`)))
	}
	report := func(mig string) error {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: reportName(migs[mig])}}
		return as.Patch(ctx, cm, client.RawPatch(types.MergePatchType, []byte(`{"data":{"report.json":"{}"}}`)))
	}
	for what, f := range map[string]func(string) error{"checkpoint": checkpoint, "progress": progress, "report": report} {
		if err := f("first"); err != nil {
			t.Errorf("the worker cannot write its own %s: %v", what, err)
		}
		if err := f("second"); !apierrors.IsForbidden(err) {
			t.Errorf("the worker's %s write to another migration: %v, want Forbidden", what, err)
		}
	}
	if err := as.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "anything"}}); !apierrors.IsForbidden(err) {
		t.Errorf("the worker creates a ConfigMap: %v, want Forbidden", err)
	}
	var s corev1.Secret
	if err := as.Get(ctx, types.NamespacedName{Namespace: ns, Name: "src"}, &s); !apierrors.IsForbidden(err) {
		t.Errorf("the worker reads a Secret: %v, want Forbidden", err)
	}

	// A ConfigMap of that name that is someone else's is not handed to a worker.
	third := migs["first"].DeepCopy()
	third.Name, third.UID, third.ResourceVersion = "third", "", ""
	mustCreate(t, third)
	mustCreate(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: checkpointName(third)}, Data: map[string]string{"k": "v"}})
	err = e.ensureWorkerAccess(ctx, third)
	var re *refError
	if !errors.As(err, &re) || !re.stalled || !strings.Contains(re.message, checkpointName(third)) {
		t.Errorf("ensure with a foreign ConfigMap in the way: %v, want a Stalled refusal naming it", err)
	}
	var rb rbacv1.RoleBinding
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: workerName(third)}, &rb); !apierrors.IsNotFound(err) {
		t.Errorf("a worker binding exists despite the refusal: %v", err)
	}
}

// TestManagerRBACByExecutor installs the generated ClusterRoles and acts as a manager bound to them: the
// base role with the Job executor's may set up a worker (Kubernetes lets a Role grant only what its creator
// holds, so this also proves the manager holds every right it hands on), the base role alone may neither do
// that nor keep a migration's checkpoint, and the base role with the in-process executor's may keep a
// checkpoint. The base role keeps free/busy files in ConfigMaps with exactly the verbs FreeBusyFiles uses.
func TestManagerRBACByExecutor(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	for _, f := range []string{"rbac/role.yaml", "rbac/jobexecutor/role.yaml", "inprocess/role.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "config", f))
		if err != nil {
			t.Fatal(err)
		}
		var role rbacv1.ClusterRole
		if err := yaml.Unmarshal(b, &role); err != nil {
			t.Fatal(err)
		}
		if err := k8s.Create(ctx, &role); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	manager := func(name string, roles ...string) client.Client {
		t.Helper()
		mustCreate(t, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
		for _, r := range roles {
			mustCreate(t, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-" + r},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: r},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}}})
		}
		cfg := rest.CopyConfig(k8sConfig)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + name}
		c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	newMig := func(name string) *mailshiftv1.MailboxMigration {
		m := &mailshiftv1.MailboxMigration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: mailshiftv1.MailboxMigrationSpec{MailboxRef: mailshiftv1.LocalObjectRef{Name: "nobody"},
				MigrationSettings: mailshiftv1.MigrationSettings{Source: mailshiftv1.MigrationSource{IMAP: &mailshiftv1.IMAPSource{
					Host: "127.0.0.1", Login: "x", CredentialsSecretRef: &mailshiftv1.CredentialsSecretRef{Name: "src"}}}}}}
		mustCreate(t, m)
		return m
	}
	plan := func(m *mailshiftv1.MailboxMigration) *migrationPlan {
		return &migrationPlan{run: m.Name + "-run", spec: migrationrun.Spec{Namespace: ns, Name: m.Name}}
	}
	checkpoint := func(c client.Client, m *mailshiftv1.MailboxMigration) error {
		owner := metav1.OwnerReference{APIVersion: mailshiftv1.GroupVersion.String(), Kind: "MailboxMigration", Name: m.Name, UID: m.UID}
		// In-process, the run's lease makes the ConfigMap when it is not there yet.
		lease := &migrationrun.Lease{Client: c, Namespace: ns, Name: checkpointName(m), Holder: migrationrun.NewHolder("manager"), Owner: owner}
		if err := lease.Claim(ctx); err != nil {
			return err
		}
		s := &migrationrun.ConfigMapCheckpoint{Client: c, Namespace: ns, Name: checkpointName(m), Owner: owner, Lease: lease}
		if err := s.Save(ctx, &worker.Checkpoint{Version: 1, Job: "test"}); err != nil {
			return err
		}
		if err := s.Flush(ctx); err != nil {
			return err
		}
		return lease.Release(ctx)
	}

	jobs := manager("jobs", "mailshift-manager", "mailshift-manager-jobs")
	m := newMig("with-jobs")
	if err := (&JobExecutor{Client: jobs, APIReader: jobs, Image: "mailshift:test"}).ensure(ctx, m, plan(m), true); err != nil {
		t.Errorf("a manager with the Job executor's role cannot start a worker: %v", err)
	}

	base := manager("base", "mailshift-manager")
	m = newMig("base-only")
	if err := (&JobExecutor{Client: base, APIReader: base, Image: "mailshift:test"}).ensure(ctx, m, plan(m), true); !apierrors.IsForbidden(err) {
		t.Errorf("the base role sets up a worker: %v, want Forbidden", err)
	}
	if err := checkpoint(base, m); !apierrors.IsForbidden(err) {
		t.Errorf("the base role keeps a migration's checkpoint: %v, want Forbidden", err)
	}
	// Free/busy files: create, then get and update (a changed file), list and delete (a rename, a removal).
	fb := strandedPublication(t, ns, "rbac-files")
	files := NewFreeBusyFiles(base, base, base)
	for i, name := range []string{"rbac", "rbac", "rbac-renamed"} {
		if err := files.Put(ctx, fb, name, []byte(fmt.Sprintf("X-V:%d", i)), time.Now()); err != nil {
			t.Errorf("the base role keeps free/busy file %s (write %d): %v", name, i, err)
		}
	}
	if err := files.Remove(ctx, fb); err != nil {
		t.Errorf("the base role removes free/busy files: %v", err)
	}
	if cms := servedConfigMaps(t, fb); len(cms) != 0 {
		t.Errorf("%d free/busy ConfigMaps left after Remove", len(cms))
	}

	inproc := manager("inprocess", "mailshift-manager", "mailshift-manager-inprocess")
	m = newMig("in-process")
	if err := checkpoint(inproc, m); err != nil {
		t.Errorf("a manager with the in-process role cannot keep a checkpoint: %v", err)
	}
	if err := (&JobExecutor{Client: inproc, APIReader: inproc, Image: "mailshift:test"}).ensure(ctx, m, plan(m), true); !apierrors.IsForbidden(err) {
		t.Errorf("the in-process role sets up a worker Job: %v, want Forbidden", err)
	}
}
