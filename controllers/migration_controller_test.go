package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/migrationrun"
	"github.com/mailshift/mailshift/internal/testfixtures"
	"github.com/mailshift/mailshift/internal/testserver"
	"github.com/mailshift/mailshift/worker"
)

// These tests run the migration controller with the in-process executor (see TestMain) against a real
// Dovecot; the Job executor is exercised end to end in e2e/.

// readyMailbox creates a MailServer and a Mailbox for user and waits until the Mailbox is Ready.
func readyMailbox(t *testing.T, ns string, srv *testserver.Server, user string) *mailshiftv1.Mailbox {
	t.Helper()
	ms, ca := serverObjects(ns, "dovecot", srv)
	mb, sec := userMailbox(ns, ms.Name, srv.Users[user])
	for _, o := range []client.Object{ca, ms, sec, mb} {
		mustCreate(t, o)
	}
	waitForReady(t, mb, func() []metav1.Condition { return mb.Status.Conditions }, metav1.ConditionTrue, "", 60*time.Second)
	return mb
}

// pstMigration migrates a fixture PST from a hostPath volume on the namespace's directory of the in-process
// executor's root, which is the fixtures' directory.
func pstMigration(ns, name, mailbox, file string) *mailshiftv1.MailboxMigration {
	return &mailshiftv1.MailboxMigration{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mailshiftv1.MailboxMigrationSpec{
			MailboxRef: mailshiftv1.LocalObjectRef{Name: mailbox},
			MigrationSettings: mailshiftv1.MigrationSettings{Source: mailshiftv1.MigrationSource{PST: &mailshiftv1.PSTSource{
				Volume: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: fixturesInRoot(ns)}}, Path: file}}},
		},
	}
}

var testfixturesDir = testfixtures.PSTDir

// fixturesInRoot makes <pstRoot>/<ns> a link to the fixtures (the administrator's own link: the root's
// entries are trusted, what lies below them is not) and returns it.
func fixturesInRoot(ns string) string {
	dir := filepath.Join(pstRoot, ns)
	if err := os.Symlink(testfixturesDir(), dir); err != nil && !errors.Is(err, fs.ErrExist) {
		panic(err)
	}
	return dir
}

// serverTotal counts the messages in every folder of user's account.
func serverTotal(t *testing.T, srv *testserver.Server, user string) int {
	t.Helper()
	c := dialUser(t, srv, user)
	defer c.Close()
	folders, err := c.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range folders {
		if !f.Selectable() {
			continue
		}
		st, err := c.Status(context.Background(), f.Name)
		if err != nil {
			t.Fatal(err)
		}
		n += int(st.Exists)
	}
	return n
}

// dialUser logs in to srv as user over STARTTLS.
func dialUser(t *testing.T, srv *testserver.Server, user string) *imapbulk.Conn {
	t.Helper()
	u := srv.Users[user]
	c, err := imapbulk.Dial(context.Background(), imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSStartTLS, CAPEM: srv.CAPEM},
		imapconn.Credentials{Login: u.Login, Password: u.Password})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func getMigration(t *testing.T, ns, name string) *mailshiftv1.MailboxMigration {
	t.Helper()
	var m mailshiftv1.MailboxMigration
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func waitMigration(t *testing.T, m *mailshiftv1.MailboxMigration, status metav1.ConditionStatus, reason string, timeout time.Duration) *metav1.Condition {
	t.Helper()
	return waitForReady(t, m, func() []metav1.Condition { return m.Status.Conditions }, status, reason, timeout)
}

func TestMigrationPSTInProcess(t *testing.T) {
	srv := testserver.Dovecot(t)
	ns := newNamespace(t)
	readyMailbox(t, ns, srv, "bob")
	const want = 7 // tika-testPST.pst: 7 normal messages (readpst ground truth, totals.messages_normal)
	mig := pstMigration(ns, "tika", "bob", "tika-testPST.pst")
	mustCreate(t, mig)
	waitMigration(t, mig, metav1.ConditionTrue, ReasonCompleted, 120*time.Second)

	if mig.Status.Phase != mailshiftv1.PhaseSucceeded {
		t.Errorf("phase = %s, want Succeeded", mig.Status.Phase)
	}
	if p := mig.Status.Progress; p == nil || p.ItemsCopied != want || p.ItemsTotal != want || p.ItemsFailed != 0 {
		t.Errorf("progress = %+v, want %d copied of %d", p, want, want)
	}
	if got := serverTotal(t, srv, "bob"); got != want {
		t.Errorf("server holds %d messages, want %d", got, want)
	}
	if mig.Status.JobName == "" || mig.Status.StartTime == nil || mig.Status.CompletionTime == nil || mig.Status.Attempts != 1 {
		t.Errorf("status = %+v: want a run name, start and completion times, 1 attempt", mig.Status)
	}
	// status.progress belongs to the worker's field manager; the conditions to the controller's.
	var owners []string
	for _, mf := range mig.ManagedFields {
		if mf.Subresource == "status" && mf.FieldsV1 != nil {
			if strings.Contains(mf.FieldsV1.GetRawString(), `"f:progress"`) {
				owners = append(owners, mf.Manager)
			}
		}
	}
	if len(owners) != 1 || owners[0] != migrationrun.FieldManager {
		t.Errorf("status.progress managed by %v, want only %s", owners, migrationrun.FieldManager)
	}
	// The report and the checkpoint are ConfigMaps owned by the migration.
	var rep corev1.ConfigMap
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: mig.Status.ReportConfigMap}, &rep); err != nil {
		t.Fatalf("report ConfigMap %q: %v", mig.Status.ReportConfigMap, err)
	}
	var r worker.Report
	if err := json.Unmarshal([]byte(rep.Data[migrationrun.ReportKey]), &r); err != nil || r.Totals.Copied != want {
		t.Errorf("report: %v, totals %+v", err, r.Totals)
	}
	if len(rep.OwnerReferences) != 1 || rep.OwnerReferences[0].UID != mig.UID {
		t.Errorf("report owner = %+v", rep.OwnerReferences)
	}
	var cp corev1.ConfigMap
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: checkpointName(mig)}, &cp); err != nil || cp.Data[migrationrun.CheckpointKey] == "" {
		t.Errorf("checkpoint ConfigMap: %v %v", err, cp.Data)
	}

	// A spec change after completion starts a delta pass from the checkpoint: nothing is copied twice.
	first := mig.Status.JobName
	updateMigration(t, mig, func(m *mailshiftv1.MailboxMigration) { m.Spec.Parallelism = 2 })
	deadline := time.Now().Add(90 * time.Second)
	for {
		m := getMigration(t, ns, mig.Name)
		if m.Status.JobName != first && m.Status.Phase == mailshiftv1.PhaseSucceeded && m.Status.ObservedGeneration == m.Generation {
			if p := m.Status.Progress; p == nil || p.ItemsCopied != 0 || p.ItemsSkipped != want {
				t.Errorf("delta pass progress = %+v, want 0 copied, %d already there", p, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delta pass: %+v", m.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := serverTotal(t, srv, "bob"); got != want {
		t.Errorf("after the delta pass the server holds %d messages, want %d", got, want)
	}
	// Waiting for Ready works as `kubectl wait --for=condition=Ready` does: on the condition's status.
	if c := condition(getMigration(t, ns, mig.Name).Status.Conditions, mailshiftv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %+v", c)
	}
}

func updateMigration(t *testing.T, mig *mailshiftv1.MailboxMigration, fn func(*mailshiftv1.MailboxMigration)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		m := getMigration(t, mig.Namespace, mig.Name)
		fn(m)
		return k8s.Update(context.Background(), m)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// imapMigration copies srv's alice into the Mailbox, with alice's password from a Secret.
func imapMigration(ns, name, mailbox string, srv *testserver.Server, secretName string) *mailshiftv1.MailboxMigration {
	return &mailshiftv1.MailboxMigration{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mailshiftv1.MailboxMigrationSpec{
			MailboxRef: mailshiftv1.LocalObjectRef{Name: mailbox},
			MigrationSettings: mailshiftv1.MigrationSettings{Source: mailshiftv1.MigrationSource{IMAP: &mailshiftv1.IMAPSource{
				Host: srv.Host, Port: int32(srv.Port), TLS: mailshiftv1.TLSStartTLS,
				CABundle:             &mailshiftv1.SecretKeyRef{Name: "dovecot-ca", Key: "ca.crt"},
				CredentialsSecretRef: &mailshiftv1.CredentialsSecretRef{Name: secretName},
			}}},
		},
	}
}

func TestMigrationFailures(t *testing.T) {
	srv := testserver.Dovecot(t)
	ns := newNamespace(t)
	readyMailbox(t, ns, srv, "bob")
	mustCreate(t, secret(ns, "alice-wrong", map[string]string{"username": "alice", "password": "Wr0ng-Pa55word-for-alice"}))

	missing := imapMigration(ns, "missing-secret", "bob", srv, "no-such-secret")
	wrong := imapMigration(ns, "wrong-password", "bob", srv, "alice-wrong")
	wrong.Spec.Worker.BackoffLimit = ptr.To[int32](1)
	noPVC := pstMigration(ns, "no-claim", "bob", "tika-testPST.pst")
	noPVC.Spec.Source.PST.Volume = corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "no-such-claim"}}
	noMailbox := pstMigration(ns, "no-mailbox", "nobody", "tika-testPST.pst")
	noFile := pstMigration(ns, "no-file", "bob", "no-such-file.pst")
	noFile.Spec.Worker.BackoffLimit = ptr.To[int32](0)
	// The test manager allows only 127.0.0.1 and localhost (see TestMain).
	elsewhere := imapMigration(ns, "source-not-allowed", "bob", srv, "alice-wrong")
	elsewhere.Spec.Source.IMAP.Host = "127.0.0.2"
	for _, m := range []*mailshiftv1.MailboxMigration{missing, wrong, noPVC, noMailbox, noFile, elsewhere} {
		mustCreate(t, m)
	}
	cases := []struct {
		m        *mailshiftv1.MailboxMigration
		reason   string
		phase    mailshiftv1.MigrationPhase
		attempts int32
	}{
		{missing, mailshiftv1.ReasonSecretNotFound, mailshiftv1.PhasePending, 0},
		{noPVC, "VolumeNotFound", mailshiftv1.PhasePending, 0},
		{noMailbox, mailshiftv1.ReasonMailboxNotFound, mailshiftv1.PhasePending, 0},
		{wrong, mailshiftv1.ReasonAuthenticationFailed, mailshiftv1.PhaseFailed, 2},
		{noFile, "SourceNotFound", mailshiftv1.PhaseFailed, 1},
		{elsewhere, mailshiftv1.ReasonHostNotAllowed, mailshiftv1.PhasePending, 0},
	}
	for _, tc := range cases {
		t.Run(tc.m.Name, func(t *testing.T) {
			c := waitMigration(t, tc.m, metav1.ConditionFalse, tc.reason, 90*time.Second)
			if st := condition(tc.m.Status.Conditions, mailshiftv1.ConditionStalled); st == nil || st.Status != metav1.ConditionTrue || st.Reason != tc.reason {
				t.Errorf("Stalled = %+v, want True/%s", st, tc.reason)
			}
			if tc.m.Status.Phase != tc.phase || tc.m.Status.Attempts != tc.attempts {
				t.Errorf("phase %s after %d attempts, want %s after %d", tc.m.Status.Phase, tc.m.Status.Attempts, tc.phase, tc.attempts)
			}
			if strings.Contains(c.Message, "Wr0ng-Pa55word") {
				t.Errorf("the condition shows the password: %q", c.Message)
			}
		})
	}
	if strings.Contains(logBuf.String(), "Wr0ng-Pa55word") {
		t.Error("the controller log shows the password")
	}
	// A Secret that appears later lets the stalled migration go on by itself.
	mustCreate(t, secret(ns, "no-such-secret", map[string]string{"username": "alice", "password": srv.Users["alice"].Password}))
	waitMigration(t, missing, metav1.ConditionTrue, ReasonCompleted, 90*time.Second)
}

// fillAccount appends n small messages to user's INBOX.
func fillAccount(t *testing.T, srv *testserver.Server, user string, n int) {
	t.Helper()
	c := dialUser(t, srv, user)
	defer c.Close()
	var msgs []imapbulk.Message
	for i := range n {
		body := fmt.Sprintf("From: a@example.org\r\nTo: b@example.org\r\nSubject: message %d\r\nMessage-ID: <m%d@fill.example>\r\nDate: Mon, 2 Jan 2006 15:04:05 +0000\r\n\r\nbody %d\r\n", i, i, i)
		msgs = append(msgs, imapbulk.Message{Size: int64(len(body)), Body: strings.NewReader(body)})
	}
	res, err := c.Append(context.Background(), "INBOX", msgs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
}

func TestMigrationSuspendResumeDelete(t *testing.T) {
	srv := testserver.Dovecot(t)
	ns := newNamespace(t)
	readyMailbox(t, ns, srv, "bob")
	const n = 400
	fillAccount(t, srv, "alice", n)
	mustCreate(t, secret(ns, "alice-login", map[string]string{"username": "alice", "password": srv.Users["alice"].Password}))
	mig := imapMigration(ns, "slow", "bob", srv, "alice-login")
	mig.Spec.RateLimit.MessagesPerSecond = 40 // about 10 s in all: long enough to suspend it halfway
	mustCreate(t, mig)

	// Suspend once some messages are copied.
	waitProgress(t, ns, mig.Name, func(p *mailshiftv1.Progress) bool { return p.ItemsCopied >= 40 }, 60*time.Second)
	updateMigration(t, mig, func(m *mailshiftv1.MailboxMigration) { m.Spec.Suspend = true })
	waitMigration(t, mig, metav1.ConditionFalse, ReasonSuspended, 30*time.Second)
	if mig.Status.Phase != mailshiftv1.PhaseSuspended {
		t.Errorf("phase = %s, want Suspended", mig.Status.Phase)
	}
	time.Sleep(1500 * time.Millisecond) // the worker stops between batches
	held := serverTotal(t, srv, "bob")
	time.Sleep(2 * time.Second)
	if now := serverTotal(t, srv, "bob"); now != held || held >= n || held == 0 {
		t.Fatalf("suspended migration: %d then %d messages on the target (of %d): it should hold still, partly done", held, now, n)
	}
	// Resume: it continues from the checkpoint and ends with every message exactly once.
	updateMigration(t, mig, func(m *mailshiftv1.MailboxMigration) { m.Spec.Suspend = false })
	waitMigration(t, mig, metav1.ConditionTrue, ReasonCompleted, 90*time.Second)
	if got := serverTotal(t, srv, "bob"); got != n {
		t.Errorf("after resuming the target holds %d messages, want %d", got, n)
	}

	// Deleting a running migration cancels its worker and reports what was done.
	mustCreate(t, secret(ns, "bob-login", map[string]string{"username": "bob", "password": srv.Users["bob"].Password}))
	mb2 := &mailshiftv1.Mailbox{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "carol"}, Spec: mailshiftv1.MailboxSpec{
		ServerRef: mailshiftv1.ServerRef{Name: "dovecot"}, Login: "carol", CredentialsSecretRef: &mailshiftv1.SecretKeyRef{Name: "carol-imap"}}}
	mustCreate(t, secret(ns, "carol-imap", map[string]string{"password": srv.Users["carol"].Password}))
	mustCreate(t, mb2)
	waitForReady(t, mb2, func() []metav1.Condition { return mb2.Status.Conditions }, metav1.ConditionTrue, "", 60*time.Second)
	del := imapMigration(ns, "doomed", "carol", srv, "alice-login")
	del.Spec.RateLimit.MessagesPerSecond = 40
	mustCreate(t, del)
	waitProgress(t, ns, del.Name, func(p *mailshiftv1.Progress) bool { return p.ItemsCopied >= 40 }, 60*time.Second)
	if err := k8s.Delete(context.Background(), del); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var m mailshiftv1.MailboxMigration
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(del), &m); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deleted migration is still there: %+v", m.ObjectMeta)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	stopped := serverTotal(t, srv, "carol")
	time.Sleep(2 * time.Second)
	if now := serverTotal(t, srv, "carol"); now != stopped || stopped >= n {
		t.Errorf("after deletion the target went from %d to %d messages (of %d): the worker should have stopped", stopped, now, n)
	}
	found := false
	for _, e := range eventsFor(t, ns, del.Name) {
		if e.Reason == "Cancelled" && strings.Contains(e.Note, "items copied") {
			found = true
		}
	}
	if !found {
		t.Error("no Cancelled event with the partial progress")
	}
}

func waitProgress(t *testing.T, ns, name string, ok func(*mailshiftv1.Progress) bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if m := getMigration(t, ns, name); m.Status.Progress != nil && ok(m.Status.Progress) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s/%s: progress never got there: %+v", ns, name, getMigration(t, ns, name).Status)
}
