package controllers

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestPSTHostPathNeedsManagerFlag: a hostPath PST volume is refused, with its reason, by a manager started
// without --allow-hostpath-pst-volumes, and passes that check with it; claims pass either way. The plan is
// resolved against the real API server (the suite's manager runs with the flag on, for the in-process tests).
func TestPSTHostPathNeedsManagerFlag(t *testing.T) {
	ns := newNamespace(t)
	hostPath := pstMigration(ns, "host", "nobody", "tika-testPST.pst")
	claim := pstMigration(ns, "claim", "nobody", "tika-testPST.pst")
	claim.Spec.Source.PST.Volume = corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "archives"}}
	for _, m := range []*mailshiftv1.MailboxMigration{hostPath, claim} {
		m.Spec.Suspend = true // the suite's manager leaves them alone
		mustCreate(t, m)
	}
	reasonOf := func(allow bool, m *mailshiftv1.MailboxMigration) (string, string) {
		r := &MigrationReconciler{Client: k8s, Executor: &JobExecutor{}, AllowHostPathPSTVolumes: allow}
		_, err := r.plan(context.Background(), m)
		var re *refError
		if !errors.As(err, &re) {
			t.Fatalf("plan: %v, want a reason", err)
		}
		return re.reason, re.message
	}
	if reason, msg := reasonOf(false, hostPath); reason != ReasonVolumeNotAllowed || !strings.Contains(msg, "--allow-hostpath-pst-volumes") {
		t.Errorf("hostPath without the flag: %s: %s", reason, msg)
	}
	// With the flag, planning goes on to the next reference: the Mailbox (deliberately missing).
	if reason, msg := reasonOf(true, hostPath); reason != mailshiftv1.ReasonMailboxNotFound {
		t.Errorf("hostPath with the flag: %s: %s", reason, msg)
	}
	if reason, msg := reasonOf(false, claim); reason != mailshiftv1.ReasonMailboxNotFound {
		t.Errorf("a claim without the flag: %s: %s", reason, msg)
	}
	// An object stored before the API's rules existed is judged the same way by the controller.
	old := claim.DeepCopy()
	old.Spec.Source.PST.Volume.Secret = &corev1.SecretVolumeSource{SecretName: "other-secret"}
	if reason, _ := reasonOf(true, old); reason != ReasonVolumeNotAllowed {
		t.Errorf("a claim with a Secret volume beside it: %s", reason)
	}
	for _, p := range []string{"/etc/shadow", "../x.pst", "a/../../x.pst", "."} {
		old := claim.DeepCopy()
		old.Spec.Source.PST.Path = p
		if reason, msg := reasonOf(true, old); reason != mailshiftv1.ReasonInvalidSpec {
			t.Errorf("path %q: %s: %s", p, reason, msg)
		}
	}
}

// TestInProcessPSTConfinedToNamespaceRoot: the in-process executor reads a namespace's PST files only from
// <root>/<namespace>/: a symlink there leading out of it, another namespace's directory, and a directory
// outside the root are each refused with PathNotAllowed, and nothing is copied.
func TestInProcessPSTConfinedToNamespaceRoot(t *testing.T) {
	srv := testserver.Dovecot(t)
	ns := newNamespace(t)
	readyMailbox(t, ns, srv, "bob")
	own := filepath.Join(pstRoot, ns)
	if err := os.Mkdir(own, 0o755); err != nil {
		t.Fatal(err)
	}
	// A tenant's upload that is a symlink to a file outside its directory (here: a real PST, so that
	// following it would copy mail).
	if err := os.Symlink(filepath.Join(testfixturesDir(), "tika-testPST.pst"), filepath.Join(own, "escape.pst")); err != nil {
		t.Fatal(err)
	}
	other := newNamespace(t)
	viaLink := pstMigration(ns, "via-link", "bob", "escape.pst")
	viaLink.Spec.Source.PST.Volume.HostPath.Path = own
	otherTenant := pstMigration(ns, "other-tenant", "bob", "tika-testPST.pst")
	otherTenant.Spec.Source.PST.Volume.HostPath.Path = fixturesInRoot(other)
	outside := pstMigration(ns, "outside", "bob", "tika-testPST.pst")
	outside.Spec.Source.PST.Volume.HostPath.Path = testfixturesDir()
	dotted := pstMigration(ns, "dotted", "bob", "tika-testPST.pst")
	dotted.Spec.Source.PST.Volume.HostPath.Path = own + "/../" + other
	for _, m := range []*mailshiftv1.MailboxMigration{viaLink, otherTenant, outside, dotted} {
		mustCreate(t, m)
	}
	for _, m := range []*mailshiftv1.MailboxMigration{viaLink, otherTenant, outside, dotted} {
		c := waitMigration(t, m, metav1.ConditionFalse, ReasonPathNotAllowed, 60*time.Second)
		if st := condition(m.Status.Conditions, mailshiftv1.ConditionStalled); st == nil || st.Status != metav1.ConditionTrue {
			t.Errorf("%s: Stalled = %+v", m.Name, st)
		}
		if m.Status.Progress != nil && m.Status.Progress.ItemsCopied > 0 {
			t.Errorf("%s copied %d items", m.Name, m.Status.Progress.ItemsCopied)
		}
		t.Logf("%s: %s", m.Name, c.Message)
	}
	if n := serverTotal(t, srv, "bob"); n != 0 {
		t.Errorf("bob's account holds %d messages: a refused PST was read", n)
	}
}

// TestInProcessOpenerStaysInRoot: the opener a run reads its PST through cannot leave the namespace's
// directory, whatever the file turned into after the controller looked at it.
func TestInProcessOpenerStaysInRoot(t *testing.T) {
	root := t.TempDir()
	secret := filepath.Join(t.TempDir(), "secret.pst")
	for _, f := range []string{filepath.Join(root, "ns", "ok.pst"), filepath.Join(root, "other", "theirs.pst"), secret} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("!BDN"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{"abs.pst": secret, "rel.pst": "../other/theirs.pst", "dir": "../other"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, "ns", name)); err != nil {
			t.Fatal(err)
		}
	}
	open := (&InProcessExecutor{PSTRoot: root}).opener("ns")
	f, err := open(filepath.Join(root, "ns", "ok.pst"))
	if err != nil {
		t.Fatalf("a file of the namespace: %v", err)
	}
	_ = f.Close()
	for _, p := range []string{"abs.pst", "rel.pst", "dir/theirs.pst", "../other/theirs.pst"} {
		if f, err := open(filepath.Join(root, "ns", p)); err == nil {
			_ = f.Close()
			t.Errorf("%s: opened outside the namespace's directory", p)
		}
	}
	if f, err := (&InProcessExecutor{}).opener("ns")(filepath.Join(root, "ns", "ok.pst")); err == nil {
		_ = f.Close()
		t.Error("an executor without a root opened a file")
	}
}
