package controllers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/migrationrun"
	"github.com/mailshift/mailshift/worker"
)

// settledMigration creates a MailboxMigration whose Mailbox does not exist and waits until the migration
// controller has written its first status; it then looks again only after 30 s (spec changes aside), so
// the test owns the object's status writes meanwhile.
func settledMigration(t *testing.T, ns, name string) *mailshiftv1.MailboxMigration {
	t.Helper()
	mig := pstMigration(ns, name, "nobody", "tika-testPST.pst")
	mustCreate(t, mig)
	waitMigration(t, mig, metav1.ConditionFalse, "", 20*time.Second)
	return mig
}

// TestStatusWritersDoNotConflict runs a worker applying status.progress every 100 ms while the controller's
// status helper writes conditions as fast as it can: every controller write lands at once (no conflict, no
// retry), neither writer's fields are lost, and managedFields show each manager owning only its own fields.
func TestStatusWritersDoNotConflict(t *testing.T) {
	ns := newNamespace(t)
	mig := settledMigration(t, ns, "both-writers")
	key := client.ObjectKeyFromObject(mig)
	ctx := context.Background()

	// The worker: progress every 100 ms, each one more item copied. applied is the last count it wrote.
	var applied atomic.Int64
	var workerErr error
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	progress := func(n int64) worker.Progress { return worker.Progress{ItemsTotal: 1000, Copied: n, Bytes: n * 100} }
	if err := migrationrun.ApplyProgress(ctx, k8s, ns, mig.Name, progress(1), 100000); err != nil {
		t.Fatal(err)
	}
	applied.Store(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for n := int64(2); ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if err := migrationrun.ApplyProgress(ctx, k8s, ns, mig.Name, progress(n), 100000); err != nil {
				workerErr = err
				return
			}
			applied.Store(n)
		}
	}()

	// The controller: read, change the Ready message, write through the helper, read back. The reads and
	// writes interleave with the worker's on purpose.
	// At least 3 s, and until each writer has written 20 times (a loaded machine, the race detector), for 20 s
	// at most: the controller itself looks again only after 30 s.
	deadline, limit := time.Now().Add(3*time.Second), time.Now().Add(20*time.Second)
	writes := 0
	var firstTransition metav1.Time
	for i := 0; time.Now().Before(deadline) || (writes < 20 || applied.Load() < 20) && time.Now().Before(limit); i++ {
		var before mailshiftv1.MailboxMigration
		if err := k8s.Get(ctx, key, &before); err != nil {
			t.Fatal(err)
		}
		floor := applied.Load() // the worker had written at least this much before the controller's write
		after := before.DeepCopy()
		after.Status.Phase = mailshiftv1.PhasePending
		failedOutcome(ReasonWaitingForServer, fmt.Sprintf("controller write %d", i), false).apply(&after.Status.Conditions, after.Generation)
		res, err := writeStatus(ctx, k8s, fieldManagerMigration, &before, after, migrationControllerStatus)
		if err != nil || !res.IsZero() {
			t.Fatalf("controller write %d: result %+v, error %v: the write did not land", i, res, err)
		}
		writes++
		var got mailshiftv1.MailboxMigration
		if err := k8s.Get(ctx, key, &got); err != nil {
			t.Fatal(err)
		}
		if c := condition(got.Status.Conditions, mailshiftv1.ConditionReady); c == nil || c.Message != fmt.Sprintf("controller write %d", i) {
			t.Fatalf("after controller write %d, Ready = %+v: the controller's write was lost", i, c)
		}
		if i == 0 {
			firstTransition = condition(got.Status.Conditions, mailshiftv1.ConditionReady).LastTransitionTime
		}
		if p := got.Status.Progress; p == nil || p.ItemsCopied < floor {
			t.Fatalf("after controller write %d, progress = %+v, want at least %d copied: the worker's write was lost", i, p, floor)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if workerErr != nil {
		t.Fatalf("worker write: %v", workerErr)
	}
	if writes < 20 || applied.Load() < 20 {
		t.Fatalf("only %d controller and %d worker writes in 20 s: the writers did not overlap", writes, applied.Load())
	}
	t.Logf("%d controller writes and %d worker writes, interleaved: none refused, none lost", writes, applied.Load())

	var final mailshiftv1.MailboxMigration
	if err := k8s.Get(ctx, key, &final); err != nil {
		t.Fatal(err)
	}
	if p := final.Status.Progress; p == nil || p.ItemsCopied != applied.Load() || p.BytesCopied != applied.Load()*100 {
		t.Errorf("final progress = %+v, want the worker's last write (%d copied)", p, applied.Load())
	}
	if c := condition(final.Status.Conditions, mailshiftv1.ConditionReady); c == nil || c.Message != fmt.Sprintf("controller write %d", writes-1) {
		t.Errorf("final Ready = %+v, want the controller's last write", c)
	} else if !c.LastTransitionTime.Equal(&firstTransition) || c.ObservedGeneration != final.Generation {
		// Ready stayed False all along: its transition time is the first write's.
		t.Errorf("Ready moved from %s to %s (generation %d of %d) though its status never flipped", firstTransition, c.LastTransitionTime, c.ObservedGeneration, final.Generation)
	}
	if final.Status.Phase != mailshiftv1.PhasePending {
		t.Errorf("phase = %q, want the controller's Pending", final.Status.Phase)
	}

	owners := statusOwners(&final)
	for field, want := range map[string]string{
		`"f:progress"`:             migrationrun.FieldManager,
		`"k:{\"type\":\"Ready\"}"`: fieldManagerMigration, `"k:{\"type\":\"Stalled\"}"`: fieldManagerMigration,
		`"f:phase"`: fieldManagerMigration,
	} {
		if got := owners[field]; len(got) != 1 || got[0] != want {
			t.Errorf("status field %s owned by %v, want only %s", field, got, want)
		}
	}
	for _, mf := range final.ManagedFields {
		if mf.Subresource == "status" && mf.Operation != metav1.ManagedFieldsOperationApply {
			t.Errorf("manager %s wrote the status with %s, want server-side apply", mf.Manager, mf.Operation)
		}
	}
}

// statusOwners maps each status field named in managedFields (as its "f:name" or "k:{...}" key) to the
// managers owning it.
func statusOwners(obj client.Object) map[string][]string {
	out := map[string][]string{}
	for _, mf := range obj.GetManagedFields() {
		if mf.Subresource != "status" || mf.FieldsV1 == nil {
			continue
		}
		raw := mf.FieldsV1.GetRawString()
		for _, field := range []string{`"f:progress"`, `"f:phase"`, `"f:conditions"`,
			`"k:{\"type\":\"Ready\"}"`, `"k:{\"type\":\"Reconciling\"}"`, `"k:{\"type\":\"Stalled\"}"`, `"k:{\"type\":\"Audited\"}"`} {
			if strings.Contains(raw, field) {
				out[field] = append(out[field], mf.Manager)
			}
		}
	}
	return out
}

// TestStatusConditionsOfOtherManagersKept: conditions are a map keyed by type, so a condition another
// manager applied survives the controller's writes, and the controller neither takes it over nor removes
// it; a field the controller stops setting is removed.
func TestStatusConditionsOfOtherManagersKept(t *testing.T) {
	ns := newNamespace(t)
	mig := settledMigration(t, ns, "other-condition")
	key := client.ObjectKeyFromObject(mig)
	ctx := context.Background()

	const other = "mailshift-test-auditor"
	u := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"conditions": []any{map[string]any{
		"type": "Audited", "status": "True", "reason": "Checked", "message": "seen by the auditor",
		"lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
	}}}}}
	u.SetGroupVersionKind(mailshiftv1.GroupVersion.WithKind("MailboxMigration"))
	u.SetNamespace(ns)
	u.SetName(mig.Name)
	if err := k8s.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(other), client.ForceOwnership); err != nil {
		t.Fatal(err)
	}

	write := func(change func(*mailshiftv1.MailboxMigration)) *mailshiftv1.MailboxMigration {
		t.Helper()
		var before mailshiftv1.MailboxMigration
		if err := k8s.Get(ctx, key, &before); err != nil {
			t.Fatal(err)
		}
		after := before.DeepCopy()
		change(after)
		if res, err := writeStatus(ctx, k8s, fieldManagerMigration, &before, after, migrationControllerStatus); err != nil || !res.IsZero() {
			t.Fatalf("write: %+v, %v", res, err)
		}
		var got mailshiftv1.MailboxMigration
		if err := k8s.Get(ctx, key, &got); err != nil {
			t.Fatal(err)
		}
		return &got
	}
	got := write(func(m *mailshiftv1.MailboxMigration) {
		m.Status.JobName = "run-1"
		readyOutcome(ReasonCompleted, "done").apply(&m.Status.Conditions, m.Generation)
	})
	if c := condition(got.Status.Conditions, "Audited"); c == nil || c.Message != "seen by the auditor" {
		t.Fatalf("the other manager's condition was lost: %+v", got.Status.Conditions)
	}
	if c := condition(got.Status.Conditions, mailshiftv1.ConditionReady); c == nil || c.Reason != ReasonCompleted || c.ObservedGeneration != got.Generation {
		t.Fatalf("Ready = %+v, want Completed at generation %d", c, got.Generation)
	}
	if owners := statusOwners(got)[`"k:{\"type\":\"Audited\"}"`]; len(owners) != 1 || owners[0] != other {
		t.Errorf("the Audited condition is owned by %v, want only %s", owners, other)
	}

	got = write(func(m *mailshiftv1.MailboxMigration) { m.Status.JobName = "" })
	if got.Status.JobName != "" {
		t.Errorf("jobName = %q: a field the controller no longer sets must be removed", got.Status.JobName)
	}
	if condition(got.Status.Conditions, "Audited") == nil {
		t.Errorf("the other manager's condition was removed by the controller")
	}
}

// TestStatusWriteSkippedWhenUnchanged: a write with nothing new in the writer's fields sends nothing (the
// resourceVersion stays), even when fields the writer does not own differ.
func TestStatusWriteSkippedWhenUnchanged(t *testing.T) {
	ns := newNamespace(t)
	mig := settledMigration(t, ns, "unchanged")
	ctx := context.Background()
	var before mailshiftv1.MailboxMigration
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: mig.Name}, &before); err != nil {
		t.Fatal(err)
	}
	after := before.DeepCopy()
	after.Status.Progress = &mailshiftv1.Progress{ItemsCopied: 42} // the worker's field: not this writer's
	if res, err := writeStatus(ctx, k8s, fieldManagerMigration, &before, after, migrationControllerStatus); err != nil || !res.IsZero() {
		t.Fatalf("write: %+v, %v", res, err)
	}
	var got mailshiftv1.MailboxMigration
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: mig.Name}, &got); err != nil {
		t.Fatal(err)
	}
	if got.ResourceVersion != before.ResourceVersion || got.Status.Progress != nil {
		t.Errorf("resourceVersion %s -> %s, progress %+v: an unchanged status was written", before.ResourceVersion, got.ResourceVersion, got.Status.Progress)
	}
}

// TestStatusTakesOverFieldsWrittenByUpdate: status an older manager wrote with whole-object updates is taken
// over by the writer's first apply, so a field the writer then leaves out is removed, not kept forever by a
// manager that no longer writes.
func TestStatusTakesOverFieldsWrittenByUpdate(t *testing.T) {
	ns := newNamespace(t)
	mig := settledMigration(t, ns, "upgraded")
	key := client.ObjectKeyFromObject(mig)
	ctx := context.Background()

	var old mailshiftv1.MailboxMigration
	if err := k8s.Get(ctx, key, &old); err != nil {
		t.Fatal(err)
	}
	done := metav1.NewTime(time.Now().Truncate(time.Second))
	old.Status.CompletionTime = &done
	old.Status.ReportConfigMap = "upgraded-report"
	if err := k8s.Status().Update(ctx, &old, client.FieldOwner("manager")); err != nil {
		t.Fatal(err)
	}

	var before mailshiftv1.MailboxMigration
	if err := k8s.Get(ctx, key, &before); err != nil {
		t.Fatal(err)
	}
	after := before.DeepCopy()
	after.Status.CompletionTime = nil // a new run started
	after.Status.ReportConfigMap = "upgraded-report"
	if res, err := writeStatus(ctx, k8s, fieldManagerMigration, &before, after, migrationControllerStatus); err != nil || !res.IsZero() {
		t.Fatalf("write: %+v, %v", res, err)
	}
	var got mailshiftv1.MailboxMigration
	if err := k8s.Get(ctx, key, &got); err != nil {
		t.Fatal(err)
	}
	if got.Status.CompletionTime != nil || got.Status.ReportConfigMap != "upgraded-report" {
		t.Errorf("completionTime %v, report %q: want the cleared time gone and the report kept", got.Status.CompletionTime, got.Status.ReportConfigMap)
	}
	for _, mf := range got.ManagedFields {
		if mf.Manager == "manager" && mf.Subresource == "status" {
			t.Errorf("the old update manager still owns status fields: %s", mf.FieldsV1.GetRawString())
		}
	}
}

// TestStatusApplyIfUnchanged: a write that must not be made from a stale view (the FolderShare's record of
// ACL entries before it changes them) is refused once the object changed since it was read.
func TestStatusApplyIfUnchanged(t *testing.T) {
	ns := newNamespace(t)
	mig := settledMigration(t, ns, "if-unchanged")
	key := client.ObjectKeyFromObject(mig)
	ctx := context.Background()
	var read mailshiftv1.MailboxMigration
	if err := k8s.Get(ctx, key, &read); err != nil {
		t.Fatal(err)
	}
	if err := migrationrun.ApplyProgress(ctx, k8s, ns, mig.Name, worker.Progress{Copied: 1}, 0); err != nil {
		t.Fatal(err)
	}
	stale := read.DeepCopy()
	stale.Status.JobName = "from-a-stale-read"
	err := applyStatus(ctx, k8s, fieldManagerMigration, stale, migrationControllerStatus(stale), true)
	if !apierrors.IsConflict(err) {
		t.Fatalf("apply from a stale read: %v, want a conflict", err)
	}
	if err := k8s.Get(ctx, key, &read); err != nil {
		t.Fatal(err)
	}
	fresh := read.DeepCopy()
	fresh.Status.JobName = "from-a-fresh-read"
	if err := applyStatus(ctx, k8s, fieldManagerMigration, fresh, migrationControllerStatus(fresh), true); err != nil {
		t.Fatalf("apply from a fresh read: %v", err)
	}
	if err := k8s.Get(ctx, key, &read); err != nil {
		t.Fatal(err)
	}
	if read.Status.JobName != "from-a-fresh-read" || read.ResourceVersion != fresh.ResourceVersion || read.Status.Progress == nil {
		t.Errorf("jobName %q rv %s (returned %s) progress %+v", read.Status.JobName, read.ResourceVersion, fresh.ResourceVersion, read.Status.Progress)
	}
}

// TestBatchTemplateFollowsDuringProgress: a MigrationBatch's template change reaches its migration while a
// worker applies that migration's progress every 100 ms (each write a new resourceVersion): the batch
// patches the spec rather than updating it with a resourceVersion that is stale by then.
func TestBatchTemplateFollowsDuringProgress(t *testing.T) {
	ns := newNamespace(t)
	mustCreate(t, labelledMailbox(ns, "carol", "progress", "carol", "carol@example.org"))
	b := templateBatch(ns, "progress", "old/{{.Login}}.pst")
	mustCreate(t, b)
	var kids []mailshiftv1.MailboxMigration
	for deadline := time.Now().Add(30 * time.Second); len(kids) == 0 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		kids = batchChildren(t, b)
	}
	if len(kids) != 1 {
		t.Fatalf("%d migrations, want 1", len(kids))
	}
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := int64(1); ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			_ = migrationrun.ApplyProgress(ctx, k8s, ns, kids[0].Name, worker.Progress{ItemsTotal: 1000, Copied: n}, 0)
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	time.Sleep(time.Second) // the worker is writing
	mutate(t, b, func(x *mailshiftv1.MigrationBatch) { x.Spec.Template.Spec.Source.PST.Path = "new/{{.Login}}.pst" })
	began := time.Now()
	var got mailshiftv1.MailboxMigration
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(&kids[0]), &got); err != nil {
			t.Fatal(err)
		}
		if got.Spec.Source.PST != nil && got.Spec.Source.PST.Path == "new/carol.pst" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the migration's path is still %+v 10 s after the template changed", got.Spec.Source.PST)
		}
	}
	t.Logf("the migration followed the template %s after the change, with progress written every 100 ms", time.Since(began).Round(time.Millisecond))
	if got.Status.Progress == nil || got.Status.Progress.ItemsCopied == 0 {
		t.Errorf("progress %+v: the worker's writes were lost", got.Status.Progress)
	}
}
