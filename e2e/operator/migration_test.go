package operator_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/migrationrun"
	"github.com/mailshift/mailshift/internal/testserver"
)

// bigPST holds 180 mails (readpst ground truth: totals.messages_normal); 27 of them are in its Outbox, which a
// migration carries into Drafts flagged \Draft, so all 180 reach the target.
const (
	bigPST     = "pst2john-97_outlook_qwerty12345.pst"
	bigPSTMail = 180
	smallPST   = "tika-testPST.pst" // 7 mails at the top of the file
	smallMail  = 7
)

// TestPSTMigrationJob: MailServer, Mailbox, a claim holding the PST and a MailboxMigration end Succeeded
// through a worker Job that the real Job controller runs on the stand-in kubelet; the server then holds
// exactly the PST's mails, and `kubectl wait --for=condition=Ready` sees it.
func TestPSTMigrationJob(t *testing.T) {
	srv, ns := setup(t, "job", "bob")
	mig := pstMigration(ns, "bob-archive", "bob", "pst", bigPST)
	mustCreate(t, mig)

	out, err := kubectl(t, "wait", "--for=condition=Ready", "--timeout=180s", "-n", ns, "mailboxmigration/bob-archive")
	if err != nil {
		t.Fatalf("kubectl wait: %v\n%s\n%+v", err, out, getMigration(t, ns, mig.Name).Status)
	}
	m := getMigration(t, ns, mig.Name)
	if m.Status.Phase != mailshiftv1.PhaseSucceeded {
		t.Errorf("phase = %s", m.Status.Phase)
	}
	if p := m.Status.Progress; p == nil || p.ItemsCopied != bigPSTMail || p.ItemsFailed != 0 {
		t.Errorf("progress = %+v, want %d copied", p, bigPSTMail)
	}
	u := srv.Users["bob"]
	if n, distinct := serverCount(t, srv, u.Login, u.Password); n != bigPSTMail || distinct != n {
		t.Errorf("the server holds %d messages (%d distinct), want %d", n, distinct, bigPSTMail)
	}

	// The Job is what the issue asks for: owned, bounded retries, locked-down pod, secrets as files.
	var job batchv1.Job
	if err := kc.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: m.Status.JobName}, &job); err != nil {
		t.Fatalf("Job %s: %v", m.Status.JobName, err)
	}
	if !metav1.IsControlledBy(&job, m) || job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 3 || job.Spec.PodFailurePolicy == nil {
		t.Errorf("Job: owner %v, backoffLimit %v, podFailurePolicy %v", job.OwnerReferences, job.Spec.BackoffLimit, job.Spec.PodFailurePolicy)
	}
	pod := job.Spec.Template.Spec
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || !ptr.Deref(sc.ReadOnlyRootFilesystem, false) || ptr.Deref(sc.AllowPrivilegeEscalation, true) || !ptr.Deref(pod.SecurityContext.RunAsNonRoot, false) {
		t.Errorf("worker security context: %+v / %+v", sc, pod.SecurityContext)
	}
	if c.Image != workerImage || len(c.Args) == 0 || c.Args[0] != "worker" {
		t.Errorf("worker container runs %s %v %v", c.Image, c.Command, c.Args)
	}
	for _, a := range append(c.Args, envValues(c.Env)...) {
		if strings.Contains(a, u.Password) {
			t.Errorf("a password is in the worker's arguments or environment: %q", a)
		}
	}
	// The pod's termination message carries the run's summary.
	sum := lastSummary(t, ns, job.Name)
	if sum.Result != "Succeeded" || sum.Totals.Copied != bigPSTMail {
		t.Errorf("termination summary = %+v", sum)
	}
	var cm corev1.ConfigMap
	if err := kc.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: m.Status.ReportConfigMap}, &cm); err != nil || cm.Data[migrationrun.ReportKey] == "" {
		t.Errorf("report ConfigMap %q: %v", m.Status.ReportConfigMap, err)
	}
	// Printer columns, as `kubectl get` shows them.
	if out, err := kubectl(t, "get", "-n", ns, "mailboxmigration", "bob-archive"); err != nil || !strings.Contains(out, "Succeeded") ||
		!strings.Contains(out, fmt.Sprint(bigPSTMail)) || !strings.Contains(out, "DONE") || !strings.Contains(out, "BYTES") {
		t.Errorf("kubectl get: %v\n%s", err, out)
	}
}

// setup starts a manager with executor, a Dovecot, a namespace with its MailServer, Ready Mailboxes for
// users, and the claim "pst" holding the PST fixtures.
func setup(t *testing.T, executor string, users ...string) (*testserver.Server, string) {
	t.Helper()
	startManager(t, executor)
	srv := testserver.Dovecot(t)
	ns := newNamespace(t)
	mailServer(t, ns, srv, false)
	for _, u := range users {
		userMailbox(t, ns, srv, u)
	}
	// The claim's directory is the namespace's own under the in-process executor's root (a link to the
	// fixtures); the Job executor's pods mount it the same way.
	dir := filepath.Join(pstRoot, ns)
	if err := os.Symlink(pstDir(t), dir); err != nil {
		t.Fatal(err)
	}
	pstClaim(t, ns, "pst", dir)
	return srv, ns
}

func envValues(env []corev1.EnvVar) []string {
	var out []string
	for _, e := range env {
		out = append(out, e.Value)
	}
	return out
}

// lastSummary reads the newest finished worker pod's termination message.
func lastSummary(t *testing.T, ns, job string) migrationrun.Summary {
	t.Helper()
	var pods corev1.PodList
	if err := kc.Client.List(context.Background(), &pods, client.InNamespace(ns), client.MatchingLabels{"batch.kubernetes.io/job-name": job}); err != nil {
		t.Fatal(err)
	}
	var best *corev1.ContainerStateTerminated
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			if term := cs.State.Terminated; term != nil && (best == nil || best.FinishedAt.Before(&term.FinishedAt)) {
				best = term
			}
		}
	}
	if best == nil {
		t.Fatalf("no finished worker pod of Job %s", job)
	}
	sum, ok := migrationrun.ParseSummary(best.Message)
	if !ok {
		t.Fatalf("termination message is not a summary: %q", best.Message)
	}
	return sum
}

// TestPSTMigrationInProcess: the same migration through the in-process executor ends the same way.
func TestPSTMigrationInProcess(t *testing.T) {
	srv, ns := setup(t, "inprocess", "carol")
	mig := pstMigration(ns, "carol-archive", "carol", "pst", bigPST)
	mustCreate(t, mig)
	waitMigration(t, mig, metav1.ConditionTrue, "Completed", 120*time.Second)
	u := srv.Users["carol"]
	if n, distinct := serverCount(t, srv, u.Login, u.Password); n != bigPSTMail || distinct != n {
		t.Errorf("the server holds %d messages (%d distinct), want %d", n, distinct, bigPSTMail)
	}
	var jobs batchv1.JobList
	if err := kc.Client.List(context.Background(), &jobs, client.InNamespace(ns)); err != nil || len(jobs.Items) != 0 {
		t.Errorf("the in-process executor made Jobs: %v %d", err, len(jobs.Items))
	}
	if p := mig.Status.Progress; p == nil || p.ItemsCopied != bigPSTMail {
		t.Errorf("progress = %+v", p)
	}
}

// TestKillWorker: the worker process is SIGKILLed mid-run; the Job controller starts another pod, which
// continues from the checkpoint; nothing is duplicated and nothing is missing.
func TestKillWorker(t *testing.T) {
	srv, ns := setup(t, "job", "bob")
	mig := pstMigration(ns, "killed", "bob", "pst", bigPST)
	mig.Spec.RateLimit.MessagesPerSecond = 30 // six seconds of copying: time to kill it halfway
	mustCreate(t, mig)
	waitProgress(t, ns, mig.Name, func(p *mailshiftv1.Progress) bool { return p.ItemsCopied >= 40 }, 90*time.Second)

	m := getMigration(t, ns, mig.Name)
	var pods corev1.PodList
	if err := kc.Client.List(context.Background(), &pods, client.InNamespace(ns), client.MatchingLabels{"batch.kubernetes.io/job-name": m.Status.JobName}); err != nil {
		t.Fatal(err)
	}
	killed := false
	for _, p := range pods.Items {
		if pid, ok := kubelet.PID(ns, p.Name, "worker"); ok {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	if !killed {
		t.Fatal("no running worker process to kill")
	}
	waitMigration(t, mig, metav1.ConditionTrue, "Completed", 180*time.Second)
	if mig.Status.Attempts < 2 {
		t.Errorf("attempts = %d: the killed worker should have been retried", mig.Status.Attempts)
	}
	var job batchv1.Job
	if err := kc.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: mig.Status.JobName}, &job); err != nil || job.Status.Failed < 1 {
		t.Errorf("Job status %+v (%v): want a failed pod and a successful one", job.Status, err)
	}
	u := srv.Users["bob"]
	if n, distinct := serverCount(t, srv, u.Login, u.Password); n != bigPSTMail || distinct != n {
		t.Errorf("after the kill the server holds %d messages (%d distinct), want %d", n, distinct, bigPSTMail)
	}
}

// TestLifecycle: suspend stops the worker pod and keeps the checkpoint, resume finishes without duplicates,
// deletion cancels; a missing Secret stalls at once, a wrong password after the retries.
func TestLifecycle(t *testing.T) {
	srv, ns := setup(t, "job", "bob", "carol")

	mig := pstMigration(ns, "pausable", "bob", "pst", bigPST)
	mig.Spec.RateLimit.MessagesPerSecond = 30
	mustCreate(t, mig)
	waitProgress(t, ns, mig.Name, func(p *mailshiftv1.Progress) bool { return p.ItemsCopied >= 30 }, 90*time.Second)
	updateMigration(t, ns, mig.Name, func(m *mailshiftv1.MailboxMigration) { m.Spec.Suspend = true })
	waitMigration(t, mig, metav1.ConditionFalse, "Suspended", 30*time.Second)
	jobName := mig.Status.JobName
	poll(t, "the suspended Job's pods to go", 60*time.Second, func() bool { return activePods(t, ns, jobName) == 0 })
	u := srv.Users["bob"]
	held, _ := serverCount(t, srv, u.Login, u.Password)
	time.Sleep(2 * time.Second)
	if now, _ := serverCount(t, srv, u.Login, u.Password); now != held || held == 0 || held >= bigPSTMail {
		t.Fatalf("suspended: %d then %d messages (of %d): should hold still, partly done", held, now, bigPSTMail)
	}
	updateMigration(t, ns, mig.Name, func(m *mailshiftv1.MailboxMigration) { m.Spec.Suspend = false })
	waitMigration(t, mig, metav1.ConditionTrue, "Completed", 180*time.Second)
	if mig.Status.JobName != jobName {
		t.Errorf("resuming started run %s instead of continuing %s", mig.Status.JobName, jobName)
	}
	if n, distinct := serverCount(t, srv, u.Login, u.Password); n != bigPSTMail || distinct != n {
		t.Errorf("after resuming the server holds %d messages (%d distinct), want %d", n, distinct, bigPSTMail)
	}

	// Deleting a running migration removes its Job and stops its worker; what was copied stays.
	doomed := pstMigration(ns, "doomed", "carol", "pst", bigPST)
	doomed.Spec.RateLimit.MessagesPerSecond = 30
	mustCreate(t, doomed)
	waitProgress(t, ns, doomed.Name, func(p *mailshiftv1.Progress) bool { return p.ItemsCopied >= 30 }, 90*time.Second)
	doomedJob := getMigration(t, ns, doomed.Name).Status.JobName
	if err := kc.Client.Delete(context.Background(), doomed); err != nil {
		t.Fatal(err)
	}
	poll(t, "the deleted migration, its Job and its pods to go", 90*time.Second, func() bool {
		var m mailshiftv1.MailboxMigration
		var j batchv1.Job
		gone := kc.Client.Get(context.Background(), client.ObjectKeyFromObject(doomed), &m) != nil
		jobGone := kc.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: doomedJob}, &j) != nil
		return gone && jobGone && activePods(t, ns, doomedJob) == 0
	})
	cu := srv.Users["carol"]
	stopped, _ := serverCount(t, srv, cu.Login, cu.Password)
	time.Sleep(2 * time.Second)
	if now, _ := serverCount(t, srv, cu.Login, cu.Password); now != stopped || stopped >= bigPSTMail {
		t.Errorf("after deletion carol went from %d to %d messages: the worker should have stopped", stopped, now)
	}

	// A missing Secret: Stalled at once, no Job.
	missing := &mailshiftv1.MailboxMigration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "missing-secret"},
		Spec: mailshiftv1.MailboxMigrationSpec{MailboxRef: mailshiftv1.LocalObjectRef{Name: "bob"},
			MigrationSettings: mailshiftv1.MigrationSettings{Source: mailshiftv1.MigrationSource{IMAP: &mailshiftv1.IMAPSource{
				Host: srv.Host, Port: int32(srv.Port), TLS: mailshiftv1.TLSStartTLS, CABundle: &mailshiftv1.SecretKeyRef{Name: "dovecot-ca", Key: "ca.crt"},
				CredentialsSecretRef: &mailshiftv1.CredentialsSecretRef{Name: "no-such-secret"}}}}}}
	// A wrong password: the worker fails to log in, the Job retries it, then the migration is Stalled.
	wrong := missing.DeepCopy()
	wrong.Name = "wrong-password"
	wrong.Spec.Source.IMAP.CredentialsSecretRef.Name = "alice-wrong"
	wrong.Spec.Worker.BackoffLimit = ptr.To[int32](1)
	mustCreate(t, secret(ns, "alice-wrong", map[string]string{"username": "alice", "password": "Wr0ng-Pa55word-e2e"}), missing, wrong)
	for _, tc := range []struct {
		m      *mailshiftv1.MailboxMigration
		reason string
	}{{missing, mailshiftv1.ReasonSecretNotFound}, {wrong, mailshiftv1.ReasonAuthenticationFailed}} {
		waitMigration(t, tc.m, metav1.ConditionFalse, tc.reason, 120*time.Second)
		st := findCondition(tc.m.Status.Conditions, mailshiftv1.ConditionStalled)
		if st == nil || st.Status != metav1.ConditionTrue {
			t.Errorf("%s: Stalled = %+v", tc.m.Name, st)
		}
	}
	if wrong.Status.Attempts != 2 || wrong.Status.Phase != mailshiftv1.PhaseFailed {
		t.Errorf("wrong password: phase %s after %d attempts, want Failed after 2", wrong.Status.Phase, wrong.Status.Attempts)
	}
	if strings.Contains(logs.String(), "Wr0ng-Pa55word-e2e") {
		t.Error("the manager log shows the password")
	}
}

func findCondition(conds []metav1.Condition, typ string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

func activePods(t *testing.T, ns, job string) int {
	t.Helper()
	var pods corev1.PodList
	if err := kc.Client.List(context.Background(), &pods, client.InNamespace(ns), client.MatchingLabels{"batch.kubernetes.io/job-name": job}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			n++
		}
	}
	return n
}

// TestBatch: a MigrationBatch over 20 Mailboxes with maxParallel 3 never has more than 3 migrations Running
// (watched), and ends with all of them Succeeded, each mailbox holding its PST.
func TestBatch(t *testing.T) {
	startManager(t, "job")
	srv := testserver.Dovecot(t)
	ns := newNamespace(t)
	mailServer(t, ns, srv, true)
	const n = 20
	var logins []string
	dir := t.TempDir()
	for i := 1; i <= n; i++ {
		l := fmt.Sprintf("user%02d", i)
		logins = append(logins, l)
		// Every user's own PST, as an organisation's share of exported archives looks.
		if err := os.Symlink(filepath.Join(pstDir(t), smallPST), filepath.Join(dir, l+".pst")); err != nil {
			t.Fatal(err)
		}
	}
	addUsers(t, srv, logins...)
	pstClaim(t, ns, "archives", dir)
	for _, l := range logins[:15] {
		mustCreate(t, &mailshiftv1.Mailbox{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: l, Labels: map[string]string{"wave": "1"}},
			Spec: mailshiftv1.MailboxSpec{ServerRef: mailshiftv1.ServerRef{Name: "dovecot"}, Login: l, Address: l + "@example.test"}})
	}
	// Running counts per migration, from a watch that sees every phase change.
	w, err := kc.Client.Watch(context.Background(), &mailshiftv1.MailboxMigrationList{}, client.InNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	maxRunning := make(chan int, 1)
	go func() {
		phases := map[string]mailshiftv1.MigrationPhase{}
		peak := 0
		for ev := range w.ResultChan() {
			m, ok := ev.Object.(*mailshiftv1.MailboxMigration)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted {
				delete(phases, m.Name)
			} else {
				phases[m.Name] = m.Status.Phase
			}
			running := 0
			for _, p := range phases {
				if p == mailshiftv1.PhaseRunning {
					running++
				}
			}
			peak = max(peak, running)
		}
		maxRunning <- peak
	}()

	batch := &mailshiftv1.MigrationBatch{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "wave"},
		Spec: mailshiftv1.MigrationBatchSpec{
			Selector:    metav1.LabelSelector{MatchLabels: map[string]string{"wave": "1"}},
			MaxParallel: 3,
			Template: mailshiftv1.MigrationTemplate{Spec: mailshiftv1.MigrationSettings{Source: mailshiftv1.MigrationSource{PST: &mailshiftv1.PSTSource{
				Volume: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "archives"}},
				Path:   "{{.Login}}.pst"}}}},
		},
	}
	mustCreate(t, batch)
	// Mailboxes labelled later join the batch.
	time.Sleep(3 * time.Second)
	for _, l := range logins[15:] {
		mustCreate(t, &mailshiftv1.Mailbox{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: l, Labels: map[string]string{"wave": "1"}},
			Spec: mailshiftv1.MailboxSpec{ServerRef: mailshiftv1.ServerRef{Name: "dovecot"}, Login: l, Address: l + "@example.test"}})
	}
	waitReady(t, batch, func() []metav1.Condition { return batch.Status.Conditions }, metav1.ConditionTrue, "Completed", 8*time.Minute)
	if batch.Status.Total != n || batch.Status.Succeeded != n || batch.Status.Failed != 0 {
		t.Errorf("batch status = %+v", batch.Status)
	}
	w.Stop()
	if peak := <-maxRunning; peak > 3 || peak == 0 {
		t.Errorf("at most %d migrations were Running at once, want 1..3", peak)
	}
	for _, l := range logins {
		if got, distinct := serverCount(t, srv, l, l+"-pw"); got != smallMail || distinct != got {
			t.Errorf("%s holds %d messages (%d distinct), want %d", l, got, distinct, smallMail)
		}
	}
}

// TestSamplesValidate: the migration samples in config/samples/migrations are accepted by the API server as
// they are written (schema and CEL rules), so the documentation cannot drift from the API.
func TestSamplesValidate(t *testing.T) {
	ns := newNamespace(t)
	out, err := kubectl(t, "apply", "--dry-run=server", "-n", ns, "-f", filepath.Join(repoRoot(), "config", "samples", "migrations"))
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=server: %v\n%s", err, out)
	}
	if strings.Count(out, "created (server dry run)") != 3 {
		t.Errorf("expected 3 objects accepted:\n%s", out)
	}
}
