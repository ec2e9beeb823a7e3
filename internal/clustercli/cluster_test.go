package clustercli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/testenv"
	"github.com/mailshift/mailshift/worker"
)

// The cluster commands are tested against a real kube-apiserver and etcd with mailshift's CRDs, started
// once for the package when the first test needs it. No manager runs: the tests write the status a
// controller would, and TestPingMailbox answers ping requests with fakePingResponder.
var (
	controlPlaneOnce sync.Once
	controlPlane     *testenv.Env
	controlPlaneErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if controlPlane != nil {
		_ = controlPlane.Stop()
	}
	os.Exit(code)
}

// kubeEnv is a namespace of its own on the shared control plane and a kubeconfig whose current context
// points at it.
type kubeEnv struct {
	c          client.Client
	ns         string
	kubeconfig string
}

func newKubeEnv(t *testing.T) *kubeEnv {
	t.Helper()
	controlPlaneOnce.Do(func() { controlPlane, controlPlaneErr = testenv.Start() })
	if controlPlaneErr != nil {
		t.Fatal(controlPlaneErr)
	}
	e := &kubeEnv{c: controlPlane.Client, ns: "t-" + rand.String(8)}
	e.create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}})
	cfg := controlPlane.Config
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "admin", Namespace: e.ns}
	kc.Contexts["elsewhere"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "admin", Namespace: "default"}
	kc.CurrentContext = "test"
	e.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, e.kubeconfig); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *kubeEnv) create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := e.c.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// setStatus writes obj's status as the controller would.
func (e *kubeEnv) setStatus(t *testing.T, obj client.Object) {
	t.Helper()
	if err := e.c.Status().Update(context.Background(), obj); err != nil {
		t.Fatalf("status of %T %s: %v", obj, obj.GetName(), err)
	}
}

// cli runs mailshift with --kubeconfig pointing at the test cluster.
func (e *kubeEnv) cli(args ...string) (int, string, string) {
	return runCLI(append(args, "--kubeconfig", e.kubeconfig)...)
}

func mailbox(ns, name string) *mailshiftv1.Mailbox {
	return &mailshiftv1.Mailbox{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mailshiftv1.MailboxSpec{ServerRef: mailshiftv1.ServerRef{Name: "imap"}, Login: name}}
}

func migrationSettings() mailshiftv1.MigrationSettings {
	return mailshiftv1.MigrationSettings{Source: mailshiftv1.MigrationSource{IMAP: &mailshiftv1.IMAPSource{
		Host: "imap.example.org", TLS: mailshiftv1.TLSImplicit, Auth: mailshiftv1.AuthPassword,
		CredentialsSecretRef: &mailshiftv1.CredentialsSecretRef{Name: "source"}}}}
}

func migration(ns, name string) *mailshiftv1.MailboxMigration {
	return &mailshiftv1.MailboxMigration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mailshiftv1.MailboxMigrationSpec{MailboxRef: mailshiftv1.LocalObjectRef{Name: name}, MigrationSettings: migrationSettings()}}
}

func batch(ns, name string) *mailshiftv1.MigrationBatch {
	return &mailshiftv1.MigrationBatch{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mailshiftv1.MigrationBatchSpec{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"wave": "1"}},
			Template: mailshiftv1.MigrationTemplate{Spec: migrationSettings()}}}
}

func syncPolicy(ns, name string) *mailshiftv1.SyncPolicy {
	return &mailshiftv1.SyncPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mailshiftv1.SyncPolicySpec{SourceRef: mailshiftv1.LocalObjectRef{Name: "alice"}, TargetRef: mailshiftv1.LocalObjectRef{Name: "bob"},
			Interval: metav1.Duration{Duration: 15 * time.Minute}, Suspend: true}}
}

func ready(status metav1.ConditionStatus, reason, msg string) []metav1.Condition {
	return []metav1.Condition{{Type: mailshiftv1.ConditionReady, Status: status, Reason: reason, Message: msg, LastTransitionTime: metav1.Now()}}
}

// seedMigrations creates a batch with a running migration (alice) and a finished one (bob), as their
// controllers would leave them; t0 is when alice started.
func seedMigrations(t *testing.T, e *kubeEnv, t0 time.Time) {
	t.Helper()
	at := func(s int) *metav1.Time { m := metav1.NewTime(t0.Add(time.Duration(s) * time.Second)); return &m }
	b := batch(e.ns, "wave1")
	e.create(t, b)
	b.Status = mailshiftv1.MigrationBatchStatus{Conditions: ready(metav1.ConditionFalse, "Progressing", "1 of 2 migrations done"),
		Total: 2, Running: 1, Succeeded: 1, BytesCopied: 3 << 20, BytesTotal: 6 << 20, ETA: at(200)}
	e.setStatus(t, b)

	alice := migration(e.ns, "alice")
	alice.OwnerReferences = []metav1.OwnerReference{{APIVersion: mailshiftv1.GroupVersion.String(), Kind: "MigrationBatch", Name: b.Name, UID: b.UID, Controller: ptr.To(true)}}
	e.create(t, alice)
	alice.Status = mailshiftv1.MailboxMigrationStatus{Conditions: ready(metav1.ConditionFalse, "Progressing", "copying"),
		Phase: mailshiftv1.PhaseRunning, StartTime: at(0), JobName: "alice-1",
		Progress: &mailshiftv1.Progress{ItemsTotal: 1000, ItemsCopied: 400, ItemsSkipped: 50, ItemsFailed: 50, BytesCopied: 1 << 20, UpdateTime: at(100)}}
	e.setStatus(t, alice)

	bob := migration(e.ns, "bob")
	bob.OwnerReferences = alice.OwnerReferences
	e.create(t, bob)
	bob.Status = mailshiftv1.MailboxMigrationStatus{Conditions: ready(metav1.ConditionTrue, "Completed", "done"),
		Phase: mailshiftv1.PhaseSucceeded, StartTime: at(-300), CompletionTime: at(-100), ReportConfigMap: "bob-report",
		Progress: &mailshiftv1.Progress{ItemsTotal: 400, ItemsCopied: 398, ItemsFailed: 2, UpdateTime: at(-101)}}
	e.setStatus(t, bob)
}

// TestStatus: batches and migrations with the progress, rate and ETA their status timestamps give, in the
// kubeconfig context's namespace only unless -A.
func TestStatus(t *testing.T) {
	e := newKubeEnv(t)
	t0 := time.Now().Add(-50 * time.Second).Truncate(time.Second)
	seedMigrations(t, e, t0)
	sp := syncPolicy(e.ns, "alice-bob")
	e.create(t, sp)
	lastSync := metav1.NewTime(time.Now().Add(-5 * time.Minute).Truncate(time.Second))
	sp.Status = mailshiftv1.SyncPolicyStatus{Conditions: ready(metav1.ConditionFalse, "Suspended", "suspended"), LastSyncTime: &lastSync, Conflicts: 3}
	e.setStatus(t, sp)
	other := newKubeEnv(t) // another namespace, not shown without -A
	other.create(t, migration(other.ns, "carol"))

	code, out, errOut := e.cli("status", "-o", "json")
	if code != 0 {
		t.Fatalf("status -o json: exit %d, %s", code, errOut)
	}
	var st clusterStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status -o json is not JSON: %v\n%s", err, out)
	}
	if len(st.Batches) != 1 || len(st.Migrations) != 2 {
		t.Fatalf("status: %d batches, %d migrations; want 1 and 2 (only the context's namespace)\n%s", len(st.Batches), len(st.Migrations), out)
	}
	b := st.Batches[0]
	if b.Name != "wave1" || b.Total != 2 || b.Succeeded != 1 || b.Running != 1 || b.Ready != "False" {
		t.Errorf("batch row %+v", b)
	}
	alice, bob := st.Migrations[0], st.Migrations[1]
	if alice.Name != "alice" || alice.Batch != "wave1" || alice.Phase != "Running" || alice.ItemsDone != 500 || alice.ItemsTotal != 1000 || alice.ItemsFailed != 50 {
		t.Errorf("alice row %+v", alice)
	}
	// 500 items in the 100 s from start to the last report: 5 items/s, 500 left take 100 s.
	if alice.ItemsPerSecond != 5 || alice.ETASeconds == nil || *alice.ETASeconds != 100 || alice.ETA == nil || !alice.ETA.Time.Equal(t0.Add(200*time.Second)) {
		t.Errorf("alice rate %v, eta %v (%v); want 5/s, 100 s, at t0+200s", alice.ItemsPerSecond, alice.ETASeconds, alice.ETA)
	}
	if bob.Phase != "Succeeded" || bob.ItemsDone != 400 || bob.ItemsPerSecond != 2 || bob.ETASeconds != nil || bob.ReportConfigMap != "bob-report" {
		t.Errorf("bob row %+v; want done 400 at 2/s, no ETA", bob)
	}
	if len(st.SyncPolicies) != 1 || !st.SyncPolicies[0].Suspended || st.SyncPolicies[0].Conflicts != 3 || st.SyncPolicies[0].LastSyncTime == nil {
		t.Errorf("sync policies %+v", st.SyncPolicies)
	}

	code, out, errOut = e.cli("status")
	if code != 0 {
		t.Fatalf("status: exit %d, %s", code, errOut)
	}
	t.Logf("mailshift status:\n%s", out)
	for _, want := range []string{"MIGRATION BATCHES", "MAILBOX MIGRATIONS", "[##########..........]  50%", "500/1000", "5.0/s",
		"[####################] 100%", "400/400", "2.0/s", "1/2", "3.0 MiB/6.0 MiB", "SYNC POLICIES", "5m ago"} {
		if !strings.Contains(out, want) {
			t.Errorf("status table lacks %q", want)
		}
	}
	if strings.Contains(out, "carol") || strings.Contains(out, "NAMESPACE") {
		t.Errorf("status without -A shows another namespace:\n%s", out)
	}
	aliceLine := lineWith(out, "alice")
	if !strings.Contains(aliceLine, "wave1") || !(strings.HasSuffix(aliceLine, "s") || strings.HasSuffix(aliceLine, "m")) {
		t.Errorf("alice's line %q: want its batch and an ETA", aliceLine)
	}

	// -A lists every namespace, with a NAMESPACE column; -n and --context choose another namespace.
	code, out, _ = e.cli("status", "-A")
	if code != 0 || !strings.Contains(out, "NAMESPACE") || !hasLine(out, other.ns, "carol") || !hasLine(out, e.ns, "alice", "wave1", "Running") {
		t.Errorf("status -A: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{{"status", "-n", other.ns}, {"status", "--namespace", other.ns}, {"-n", other.ns, "status"}} {
		code, out, _ = e.cli(append(args, "-o", "json")...)
		if code != 0 || !strings.Contains(out, `"carol"`) || strings.Contains(out, `"alice"`) {
			t.Errorf("status %v: exit %d\n%s", args, code, out)
		}
	}
	code, out, _ = e.cli("status", "--context", "elsewhere")
	if code != 0 || !strings.Contains(out, "No MigrationBatches, MailboxMigrations or SyncPolicies in namespace default") {
		t.Errorf("status --context elsewhere: exit %d\n%s", code, out)
	}
	// $KUBECONFIG is honoured as kubectl honours it.
	t.Setenv("KUBECONFIG", e.kubeconfig)
	code, out, errOut = runCLI("status", "-o", "json")
	if code != 0 || !strings.Contains(out, `"alice"`) {
		t.Errorf("status with $KUBECONFIG: exit %d, %s\n%s", code, errOut, out)
	}
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	if code, _, errOut = runCLI("status"); code != 1 || !strings.Contains(errOut, "mailshift status:") {
		t.Errorf("status without a usable kubeconfig: exit %d, %q; want 1 and a message", code, errOut)
	}
}

// hasLine says whether a line of out holds all the words.
func hasLine(out string, words ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(l, w)
		}
		if all {
			return true
		}
	}
	return false
}

func lineWith(out, word string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, word) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// TestReport: the failed items of a migration, from the ConfigMap its status names.
func TestReport(t *testing.T) {
	e := newKubeEnv(t)
	seedMigrations(t, e, time.Now())
	var bob mailshiftv1.MailboxMigration
	if err := e.c.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: "bob"}, &bob); err != nil {
		t.Fatal(err)
	}
	rep := worker.Report{Source: "imaps://imap.example.org", Target: "imap://bob@dovecot", Totals: worker.Totals{Items: 400, Copied: 398, Failed: 2},
		Failed: []worker.FailedItem{
			{Folder: "Inbox", Identity: "<a1@example.org>", Subject: "Quarterly numbers", Reason: "the server refused it: message too large"},
			{Folder: "Sent", Identity: "nid:0x200044", Subject: "evil\x1b[2Jsubject", Reason: "unreadable attachment"},
		}}
	raw, _ := json.Marshal(rep)
	e.create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "bob-report",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: mailshiftv1.GroupVersion.String(), Kind: "MailboxMigration", Name: "bob", UID: bob.UID, Controller: ptr.To(true)}}},
		Data: map[string]string{reportKey: string(raw), reportSummaryKey: `{"truncated":true,"failedOmitted":7}`}})

	code, out, errOut := e.cli("report", "bob")
	if code != 0 {
		t.Fatalf("report bob: exit %d, %s", code, errOut)
	}
	t.Logf("mailshift report bob:\n%s", out)
	for _, want := range []string{"400 items, 398 copied", "2 failed", "FOLDER", "<a1@example.org>", "message too large", "nid:0x200044", "7 more failed items"} {
		if !strings.Contains(out, want) {
			t.Errorf("report table lacks %q", want)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("report table passes a terminal escape through")
	}
	code, out, _ = e.cli("report", "bob", "-o", "json")
	var got migrationReport
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("report -o json: exit %d, %v\n%s", code, err, out)
	}
	if got.Migration != "bob" || got.ConfigMap != "bob-report" || len(got.Failed) != 2 || got.Failed[1].Subject != rep.Failed[1].Subject ||
		got.Totals != rep.Totals || !got.Truncated || got.FailedOmitted != 7 {
		t.Errorf("report JSON %+v", got)
	}

	// A migration without a report yet, one that does not exist, and a ConfigMap that is not its report.
	for _, tc := range []struct {
		name, want string
	}{
		{"alice", `"alice" has no report yet (phase Running)`},
		{"nobody", fmt.Sprintf(`mailboxmigration "nobody" not found in namespace %q`, e.ns)},
	} {
		if code, _, errOut := e.cli("report", tc.name); code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("report %s: exit %d, %q; want 1 and %q", tc.name, code, errOut, tc.want)
		}
	}
	dave := migration(e.ns, "dave")
	e.create(t, dave)
	dave.Status.ReportConfigMap = "bob-report"
	e.setStatus(t, dave)
	if code, _, errOut := e.cli("report", "dave"); code != 1 || !strings.Contains(errOut, "not by this migration") {
		t.Errorf("report of a ConfigMap owned by another migration: exit %d, %q", code, errOut)
	}
}

// TestSuspendResume: suspend and resume set and clear spec.suspend of a migration, a batch (batch/NAME or
// --kind batch), and say so.
func TestSuspendResume(t *testing.T) {
	e := newKubeEnv(t)
	seedMigrations(t, e, time.Now())
	suspended := func(obj client.Object) bool {
		t.Helper()
		if err := e.c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Fatal(err)
		}
		switch o := obj.(type) {
		case *mailshiftv1.MailboxMigration:
			return o.Spec.Suspend
		case *mailshiftv1.MigrationBatch:
			return o.Spec.Suspend
		case *mailshiftv1.SyncPolicy:
			return o.Spec.Suspend
		}
		t.Fatalf("%T", obj)
		return false
	}
	alice := migration(e.ns, "alice")
	code, out, errOut := e.cli("suspend", "alice")
	if code != 0 || !suspended(alice) || !strings.Contains(out, "mailboxmigration.mailshift.io/alice suspended") {
		t.Fatalf("suspend alice: exit %d, %q %q, suspended %v", code, out, errOut, suspended(alice))
	}
	if code, out, _ = e.cli("resume", "alice", "-o", "json"); code != 0 || suspended(alice) || !strings.Contains(out, `"suspend": false`) {
		t.Errorf("resume alice: exit %d, %q, suspended %v", code, out, suspended(alice))
	}
	wave := batch(e.ns, "wave1")
	if code, out, _ = e.cli("suspend", "batch/wave1"); code != 0 || !suspended(wave) || !strings.Contains(out, "migrationbatch.mailshift.io/wave1 suspended") {
		t.Errorf("suspend batch/wave1: exit %d, %q, suspended %v", code, out, suspended(wave))
	}
	if suspended(alice) {
		t.Errorf("suspending the batch object changed the migration's own spec")
	}
	if code, _, _ = e.cli("resume", "wave1", "--kind", "batch"); code != 0 || suspended(wave) {
		t.Errorf("resume --kind batch wave1: exit %d, suspended %v", code, suspended(wave))
	}
	sp := syncPolicy(e.ns, "alice-bob")
	e.create(t, sp)
	if code, out, _ = e.cli("resume", "syncpolicy/alice-bob"); code != 0 || suspended(sp) || !strings.Contains(out, "syncpolicy.mailshift.io/alice-bob resumed") {
		t.Errorf("resume syncpolicy/alice-bob: exit %d, %q, suspended %v", code, out, suspended(sp))
	}
	// sync-now sets the annotation the controller acts on, to a new value each time.
	if code, out, errOut = e.cli("sync-now", "alice-bob"); code != 0 || !strings.Contains(out, "syncpolicy.mailshift.io/alice-bob: cycle asked for") {
		t.Errorf("sync-now alice-bob: exit %d, %q %q", code, out, errOut)
	}
	suspended(sp)
	first := sp.Annotations[mailshiftv1.AnnotationSyncNow]
	if _, err := time.Parse(time.RFC3339Nano, first); err != nil {
		t.Errorf("sync-now annotation %q: %v", first, err)
	}
	if code, _, _ = e.cli("sync-now", "alice-bob"); code != 0 || suspended(sp) || sp.Annotations[mailshiftv1.AnnotationSyncNow] == first {
		t.Errorf("a second sync-now: exit %d, annotation %q (the first was %q)", code, sp.Annotations[mailshiftv1.AnnotationSyncNow], first)
	}
	if code, _, errOut = e.cli("sync-now", "nobody"); code != 1 || !strings.Contains(errOut, `"nobody" not found`) {
		t.Errorf("sync-now nobody: exit %d, %q", code, errOut)
	}
	if code, _, errOut = e.cli("suspend", "nobody"); code != 1 || !strings.Contains(errOut, `mailboxmigration "nobody" not found`) {
		t.Errorf("suspend nobody: exit %d, %q", code, errOut)
	}
	// Shell completion offers the names of the namespace's objects.
	code, out, _ = runCLI("__complete", "suspend", "--kubeconfig", e.kubeconfig, "")
	for _, want := range []string{"alice\n", "bob\n", "batch/wave1\n"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion of suspend: exit %d, %q; want %q", code, out, want)
		}
	}
	if code, out, _ = runCLI("__complete", "report", "--kubeconfig", e.kubeconfig, "b"); code != 0 || !strings.HasPrefix(out, "bob\n:") {
		t.Errorf("completion of report b: exit %d, %q; want bob alone", code, out)
	}
}

// fakePingResponder stands in for the Mailbox controller in TestPingMailbox (the real one is tested in the
// controllers package): it answers each new ping request of the Mailboxes it is given with the outcome
// they are given, as the controller records a check.
func fakePingResponder(ctx context.Context, t *testing.T, c client.Client, ns string, outcomes map[string][]metav1.Condition) {
	for ctx.Err() == nil {
		for name, conds := range outcomes {
			var mb mailshiftv1.Mailbox
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &mb); err != nil {
				continue
			}
			token := mb.Annotations[mailshiftv1.PingRequestAnnotation]
			if token == "" || token == mb.Status.LastPingRequest {
				continue
			}
			now := metav1.Now()
			mb.Status.Conditions = conds
			mb.Status.LastCheckTime = &now
			mb.Status.LastPingRequest = token
			if meta.IsStatusConditionTrue(conds, mailshiftv1.ConditionReady) {
				mb.Status.AuthenticatedAs = "user"
				mb.Status.Capabilities = []string{"IMAP4rev1", "IDLE", "NAMESPACE", "QUOTA", "METADATA"}
				mb.Status.Folders, mb.Status.Messages = 6, 42
			}
			if err := c.Status().Update(ctx, &mb); err != nil && ctx.Err() == nil {
				t.Logf("fake responder: %v", err)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPingMailbox: ping MAILBOX asks with a fresh token, waits for the answer to that token (not an older
// one), prints it, and exits 0 only for a Ready mailbox; without an answer it gives up after --timeout.
func TestPingMailbox(t *testing.T) {
	e := newKubeEnv(t)
	for _, name := range []string{"alice", "carol", "dave"} {
		e.create(t, mailbox(e.ns, name))
	}
	// carol has answered an older request already: that answer must not be taken for the new one.
	var carol mailshiftv1.Mailbox
	if err := e.c.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: "carol"}, &carol); err != nil {
		t.Fatal(err)
	}
	carol.Status.Conditions = ready(metav1.ConditionTrue, "Ready", "an old check")
	carol.Status.LastPingRequest = "old-token"
	e.setStatus(t, &carol)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		fakePingResponder(ctx, t, e.c, e.ns, map[string][]metav1.Condition{
			"alice": ready(metav1.ConditionTrue, "Ready", "logged in as alice; 6 folders, 42 messages"),
			"carol": ready(metav1.ConditionFalse, "AuthenticationFailed", "the server refused the login"),
		})
	}()
	t.Cleanup(func() { cancel(); <-done })

	code, out, errOut := e.cli("ping", "alice")
	t.Logf("mailshift ping alice:\n%s", out)
	if code != 0 || !strings.Contains(out, "Ready: True (Ready) logged in as alice") || !strings.Contains(out, "capabilities (5): IMAP4rev1 IDLE") ||
		!strings.Contains(out, "folders: 6, messages: 42") {
		t.Errorf("ping alice: exit %d, stderr %q", code, errOut)
	}
	code, out, _ = e.cli("ping", "alice", "-o", "json")
	var res pingResult
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || !res.Ready || len(res.Capabilities) != 5 {
		t.Fatalf("ping alice -o json: exit %d, %v\n%s", code, err, out)
	}
	var alice mailshiftv1.Mailbox
	if err := e.c.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: "alice"}, &alice); err != nil {
		t.Fatal(err)
	}
	if alice.Annotations[mailshiftv1.PingRequestAnnotation] != res.Token || alice.Status.LastPingRequest != res.Token {
		t.Errorf("token %q; annotation %q, status %q", res.Token, alice.Annotations[mailshiftv1.PingRequestAnnotation], alice.Status.LastPingRequest)
	}

	code, out, _ = e.cli("-n", e.ns, "ping", "--context", "elsewhere", "carol") // -n wins over the context's namespace
	if code != 1 || !strings.Contains(out, "Ready: False (AuthenticationFailed) the server refused the login") {
		t.Errorf("ping carol (not ready): exit %d\n%s", code, out)
	}

	start := time.Now()
	code, _, errOut = e.cli("ping", "dave", "--timeout", "1500ms")
	if code != 1 || !strings.Contains(errOut, "the operator did not answer within 1.5s") || time.Since(start) > 20*time.Second {
		t.Errorf("ping dave (no answer): exit %d after %s, %q", code, time.Since(start), errOut)
	}
	if code, _, errOut = e.cli("ping", "nobody"); code != 1 || !strings.Contains(errOut, `mailbox "nobody" not found`) {
		t.Errorf("ping nobody: exit %d, %q", code, errOut)
	}
	if code, out, _ = runCLI("__complete", "ping", "--kubeconfig", e.kubeconfig, "ca"); code != 0 || !strings.HasPrefix(out, "carol\n:") {
		t.Errorf("completion of ping ca: exit %d, %q; want carol alone", code, out)
	}
}
