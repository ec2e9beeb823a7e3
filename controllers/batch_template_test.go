package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
)

// templateBatch selects the Mailboxes labelled team=<name> and migrates a PST at path from a claim.
func templateBatch(ns, name, path string) *mailshiftv1.MigrationBatch {
	return &mailshiftv1.MigrationBatch{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mailshiftv1.MigrationBatchSpec{
			Selector: metav1.LabelSelector{MatchLabels: map[string]string{"team": name}},
			Template: mailshiftv1.MigrationTemplate{Spec: mailshiftv1.MigrationSettings{
				Source: mailshiftv1.MigrationSource{PST: &mailshiftv1.PSTSource{
					Volume: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "archives"}},
					Path:   path,
				}},
				Suspend: true, // nothing here is meant to run
			}},
		},
	}
}

func labelledMailbox(ns, name, team, login, address string) *mailshiftv1.Mailbox {
	return &mailshiftv1.Mailbox{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"team": team}},
		Spec: mailshiftv1.MailboxSpec{ServerRef: mailshiftv1.ServerRef{Name: "none"}, Login: login, Address: address,
			CredentialsSecretRef: &mailshiftv1.SecretKeyRef{Name: name + "-imap"}},
	}
}

func batchChildren(t *testing.T, b *mailshiftv1.MigrationBatch) []mailshiftv1.MailboxMigration {
	t.Helper()
	var l mailshiftv1.MailboxMigrationList
	if err := k8s.List(context.Background(), &l, client.InNamespace(b.Namespace), client.MatchingLabels{labelBatch: b.Name}); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// TestMigrationBatchTemplates: placeholders are replaced literally (a value that looks like a placeholder
// stays as it is); anything else between {{ and }} (an object written before the API's rule, which the API
// server would now refuse) stalls the batch with InvalidTemplate and stamps out nothing; so does a result
// longer than the cap.
func TestMigrationBatchTemplates(t *testing.T) {
	ns := newNamespace(t)
	mustCreate(t, labelledMailbox(ns, "alice", "good", "alice", "{{.Name}}@example.org"))
	good := templateBatch(ns, "good", "{{.Login}}/{{.LocalPart}}-{{.Name}}-{{.Address}}.pst")
	mustCreate(t, good)
	var kids []mailshiftv1.MailboxMigration
	deadline := time.Now().Add(30 * time.Second)
	for len(kids) == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		kids = batchChildren(t, good)
	}
	if len(kids) != 1 {
		t.Fatalf("batch good: %d migrations, want 1", len(kids))
	}
	if got, want := kids[0].Spec.Source.PST.Path, "alice/{{.Name}}-alice-{{.Name}}@example.org.pst"; got != want {
		t.Errorf("rendered path %q, want %q", got, want)
	}

	// The API server refuses templates that are programs (see api/v1); objects stored before its rule
	// existed still reach the controller, whose own check is called directly here.
	mustCreate(t, labelledMailbox(ns, "bob", "loop", "bob", "bob@example.org"))
	long := strings.Repeat("{{.Address}}", 300) // 3,600 bytes of template, 4,500 rendered (bob@example.org)
	for _, tc := range []struct{ name, path, want string }{
		{"loop", "{{range 3}}x{{end}}.pst", `"{{range 3}}" is not a placeholder`},
		{"call", `{{printf "%s" .Login}}.pst`, "is not a placeholder"},
		{"long", long, "renders 4500 bytes, more than 4096"},
	} {
		b := templateBatch(ns, tc.name, tc.path)
		b.Spec.Selector.MatchLabels["team"] = "loop"
		_, err := (&BatchReconciler{Client: k8s}).desired(b, labelledMailbox(ns, "bob", "loop", "bob", "bob@example.org"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// Through the manager: a batch whose template renders too long is Stalled and stamps out nothing.
	b := templateBatch(ns, "too-long", long)
	b.Spec.Selector.MatchLabels["team"] = "loop"
	mustCreate(t, b)
	c := waitForReady(t, b, func() []metav1.Condition { return b.Status.Conditions }, metav1.ConditionFalse, ReasonInvalidTemplate, 30*time.Second)
	if st := condition(b.Status.Conditions, mailshiftv1.ConditionStalled); st == nil || st.Status != metav1.ConditionTrue {
		t.Errorf("Stalled = %+v", st)
	}
	if !strings.Contains(c.Message, "more than 4096") {
		t.Errorf("message %q", c.Message)
	}
	if n := len(batchChildren(t, b)); n != 0 {
		t.Errorf("the batch with a bad template stamped out %d migrations", n)
	}
}
