package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/migrationrun"
)

// TestWorkerPodKnowsItselfForTheLease: the worker pod is told its name and UID, which name it in its lease
// on the checkpoint (a replaced pod of the same name has another UID).
func TestWorkerPodKnowsItselfForTheLease(t *testing.T) {
	e := &JobExecutor{Client: k8s, Image: "mailshift:test"}
	mig := &mailshiftv1.MailboxMigration{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "alice", UID: "u-1"}}
	j, err := e.job(mig, &migrationPlan{run: "alice-1", spec: migrationrun.Spec{Source: migrationrun.Source{IMAP: &migrationrun.IMAPSource{}}}}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{migrationrun.PodNameEnv: "metadata.name", migrationrun.PodUIDEnv: "metadata.uid"}
	for _, env := range j.Spec.Template.Spec.Containers[0].Env {
		if f, ok := want[env.Name]; ok && env.ValueFrom != nil && env.ValueFrom.FieldRef != nil && env.ValueFrom.FieldRef.FieldPath == f {
			delete(want, env.Name)
		}
	}
	if len(want) > 0 {
		t.Errorf("the worker is not told %v", want)
	}
}
