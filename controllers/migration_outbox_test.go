package controllers

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/migrationrun"
	"github.com/mailshift/mailshift/internal/testserver"
	"github.com/mailshift/mailshift/worker"
)

// TestMigrationOutbox: spec.folders.skipOutbox reaches the worker, in the Job's spec and in the in-process
// executor. Skipped, the Outbox's 27 unsent messages are reported as skipped; once the setting is turned off,
// the next pass copies them into Drafts and says so, without copying anything twice.
func TestMigrationOutbox(t *testing.T) {
	const all, outbox = 180, 27 // pst2john-97_outlook_qwerty12345.pst: 180 messages, 27 of them in its Outbox
	srv := testserver.Dovecot(t)
	ns := newNamespace(t)
	readyMailbox(t, ns, srv, "carol")
	mig := pstMigration(ns, "unsent", "carol", "pst2john-97_outlook_qwerty12345.pst")
	mig.Spec.Folders.SkipOutbox = true
	mustCreate(t, mig)

	// The Job executor's worker gets the setting in its spec.
	r := &MigrationReconciler{Client: k8s, Executor: &JobExecutor{}, AllowHostPathPSTVolumes: true}
	p, err := r.plan(context.Background(), getMigration(t, ns, mig.Name))
	if err != nil {
		t.Fatal(err)
	}
	job, err := (&JobExecutor{Client: k8s, Image: "mailshift:test"}).job(mig, p, false)
	if err != nil {
		t.Fatal(err)
	}
	var env string
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		if e.Name == migrationrun.SpecEnv {
			env = e.Value
		}
	}
	if spec, err := migrationrun.ParseSpec([]byte(env)); err != nil || !spec.SkipOutbox {
		t.Errorf("the Job's spec: %v, skipOutbox missing: %s", err, env)
	}

	report := func(m *mailshiftv1.MailboxMigration) worker.Report {
		t.Helper()
		var cm corev1.ConfigMap
		if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: m.Status.ReportConfigMap}, &cm); err != nil {
			t.Fatal(err)
		}
		var rep worker.Report
		if err := json.Unmarshal([]byte(cm.Data[migrationrun.ReportKey]), &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	c := waitMigration(t, mig, metav1.ConditionTrue, ReasonCompleted, 120*time.Second)
	if rep := report(mig); rep.Totals.OutboxSkipped != outbox || rep.Totals.OutboxToDrafts != 0 || rep.Totals.Copied != all-outbox {
		t.Errorf("skipped: totals %+v", rep.Totals)
	}
	if !strings.Contains(c.Message, "27 unsent messages of the Outbox skipped") {
		t.Errorf("Ready message %q does not say the Outbox was skipped", c.Message)
	}
	if got := serverTotal(t, srv, "carol"); got != all-outbox {
		t.Errorf("server holds %d messages, want %d", got, all-outbox)
	}

	first := mig.Status.JobName
	updateMigration(t, mig, func(m *mailshiftv1.MailboxMigration) { m.Spec.Folders.SkipOutbox = false })
	deadline := time.Now().Add(90 * time.Second)
	for {
		m := getMigration(t, ns, mig.Name)
		if m.Status.JobName != first && m.Status.Phase == mailshiftv1.PhaseSucceeded && m.Status.ObservedGeneration == m.Generation {
			rep := report(m)
			if rep.Totals.OutboxToDrafts != outbox || rep.Totals.Copied != outbox || rep.Totals.OutboxSkipped != 0 {
				t.Errorf("second pass: totals %+v, want the %d unsent messages copied into Drafts", rep.Totals, outbox)
			}
			if c := condition(m.Status.Conditions, mailshiftv1.ConditionReady); c == nil || !strings.Contains(c.Message, "27 unsent messages of the Outbox in Drafts") {
				t.Errorf("Ready = %+v", c)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no second pass: %+v", m.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := serverTotal(t, srv, "carol"); got != all {
		t.Errorf("server holds %d messages, want %d", got, all)
	}
}
