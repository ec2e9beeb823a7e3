package operator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/controllers"
	"github.com/mailshift/mailshift/internal/clustercli"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestSyncPolicy runs a two-way SyncPolicy on the cluster: its first cycle, a cycle asked for with
// `kubectl mailshift sync-now`, a suspension that holds back even an asked-for cycle, a manager restart
// after which the state kept in the cluster still knows what was synced (a deletion on the target is
// carried to the source, not copied back), and a cycle that the interval alone starts.
func TestSyncPolicy(t *testing.T) {
	stop := startManager(t, "job")
	srv := testserver.Dovecot(t)
	ns := newNamespace(t)
	mailServer(t, ns, srv, false)
	userMailbox(t, ns, srv, "alice")
	userMailbox(t, ns, srv, "bob")
	alice, bob := dialUser(t, srv, "alice"), dialUser(t, srv, "bob")
	for i := range 3 {
		appendMail(t, alice, "INBOX", fmt.Sprintf("first-%d", i))
	}

	sp := &mailshiftv1.SyncPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-to-bob"},
		Spec: mailshiftv1.SyncPolicySpec{
			SourceRef: mailshiftv1.LocalObjectRef{Name: "alice"}, TargetRef: mailshiftv1.LocalObjectRef{Name: "bob"},
			Direction: mailshiftv1.SyncTwoWay, Interval: metav1.Duration{Duration: time.Minute},
			Deletions: mailshiftv1.DeletionPropagate, Conflicts: mailshiftv1.ConflictKeepBoth,
			Folders: []mailshiftv1.SyncFolderPair{{Source: "INBOX", Target: "From Alice"}},
		}}
	mustCreate(t, sp)
	waitSynced(t, sp, func(s *mailshiftv1.SyncPolicyStatus) bool { return s.LastCycle != nil })
	if c := sp.Status.LastCycle; c.ToTarget.Added != 3 || c.ToSource.Added != 0 || c.Folders != 1 {
		t.Errorf("first cycle: %+v, want 3 added to the target in 1 folder", *c)
	}
	if next, last := sp.Status.NextSyncTime, sp.Status.LastSyncTime; next == nil || last == nil || !next.Equal(&metav1.Time{Time: last.Add(time.Minute)}) {
		t.Errorf("next sync %v, want last sync %v + 1m", next, last)
	}
	wantSubjects(t, bob, "From Alice", "first-0", "first-1", "first-2")
	var state corev1.ConfigMap
	if err := kc.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: sp.Status.StateConfigMap}, &state); err != nil {
		t.Fatalf("state ConfigMap %q: %v", sp.Status.StateConfigMap, err)
	}
	if owners := state.OwnerReferences; len(owners) != 1 || owners[0].UID != sp.UID {
		t.Errorf("state ConfigMap owners %+v, want the SyncPolicy", owners)
	}

	// sync-now through the kubectl plugin runs a cycle long before the interval.
	appendMail(t, alice, "INBOX", "asked-for")
	stamp := syncNow(t, ns, sp.Name)
	waitSynced(t, sp, func(s *mailshiftv1.SyncPolicyStatus) bool { return s.LastSyncNow == stamp })
	if c := sp.Status.LastCycle; c.ToTarget.Added != 1 {
		t.Errorf("sync-now cycle: %+v, want 1 added to the target", *c)
	}
	wantSubjects(t, bob, "From Alice", "asked-for", "first-0", "first-1", "first-2")

	// Suspended: Ready False/Suspended, no next sync, and an asked-for cycle waits for the resumption.
	updateSyncPolicy(t, sp, func(p *mailshiftv1.SyncPolicy) { p.Spec.Suspend = true })
	waitReady(t, sp, func() []metav1.Condition { return sp.Status.Conditions }, metav1.ConditionFalse, "Suspended", 30*time.Second)
	if sp.Status.NextSyncTime != nil {
		t.Errorf("suspended, yet the next sync is due at %v", sp.Status.NextSyncTime)
	}
	appendMail(t, alice, "INBOX", "while-suspended")
	held := syncNow(t, ns, sp.Name)
	time.Sleep(3 * time.Second)
	if got := getSyncPolicy(t, sp); got.Status.LastSyncNow == held {
		t.Error("a suspended policy ran the cycle asked for")
	}
	wantSubjects(t, bob, "From Alice", "asked-for", "first-0", "first-1", "first-2")
	updateSyncPolicy(t, sp, func(p *mailshiftv1.SyncPolicy) { p.Spec.Suspend = false })
	waitSynced(t, sp, func(s *mailshiftv1.SyncPolicyStatus) bool { return s.LastSyncNow == held })
	wantSubjects(t, bob, "From Alice", "asked-for", "first-0", "first-1", "first-2", "while-suspended")

	// The manager goes away; meanwhile bob deletes one synced message and flags another. The new manager's
	// cycle knows from the state in the cluster that the deleted one was synced: it deletes it on alice's
	// side (deletions: Propagate) instead of copying it back to bob.
	stop()
	deleteBySubject(t, bob, "From Alice", "first-1")
	flagBySubject(t, bob, "From Alice", "first-2", `\Flagged`)
	startManager(t, "job")
	after := syncNow(t, ns, sp.Name)
	waitSynced(t, sp, func(s *mailshiftv1.SyncPolicyStatus) bool { return s.LastSyncNow == after })
	c := sp.Status.LastCycle
	if c.ToSource.Deleted != 1 || c.ToSource.Flags != 1 || c.ToSource.Added != 0 || c.ToTarget.Added != 0 {
		t.Errorf("cycle after the restart: %+v, want 1 deletion and 1 flag change on the source, nothing added", *c)
	}
	wantSubjects(t, alice, "INBOX", "asked-for", "first-0", "first-2", "while-suspended")
	wantSubjects(t, bob, "From Alice", "asked-for", "first-0", "first-2", "while-suspended")
	if flags := flagsBySubject(t, alice, "INBOX", "first-2"); !slices.Contains(flags, `\Flagged`) {
		t.Errorf("first-2 on the source has flags %v, want \\Flagged from the target", flags)
	}

	// With nothing asked for, the interval starts the next cycle a minute after the last one started.
	last := sp.Status.LastSyncTime.Time
	appendMail(t, alice, "INBOX", "on-interval")
	waitSynced(t, sp, func(s *mailshiftv1.SyncPolicyStatus) bool {
		return s.LastSyncTime != nil && s.LastSyncTime.After(last)
	}, 2*time.Minute)
	if gap := sp.Status.LastSyncTime.Sub(last); gap < time.Minute-time.Second || gap > time.Minute+30*time.Second {
		t.Errorf("the interval's cycle started %s after the last one, want about 1m", gap)
	}
	if sp.Status.LastSyncNow != after {
		t.Errorf("lastSyncNow moved to %q without a sync-now", sp.Status.LastSyncNow)
	}
	wantSubjects(t, bob, "From Alice", "asked-for", "first-0", "first-2", "on-interval", "while-suspended")
	if strings.Contains(logs.String(), srv.Users["alice"].Password) {
		t.Error("the manager log shows alice's password")
	}
}

// TestSyncPolicyFirstSyncJob: a first cycle over more messages than the manager copies itself runs as a
// worker Job (the policy's MailboxMigration, on the real image); the policy's first cycle then links what
// the Job copied and copies nothing again.
func TestSyncPolicyFirstSyncJob(t *testing.T) {
	const bulkAbove, messages = 30, 40
	startManager(t, "job", func(o *controllers.Options) { o.SyncBulkAbove = bulkAbove })
	srv := testserver.Dovecot(t)
	ns := newNamespace(t)
	mailServer(t, ns, srv, false)
	userMailbox(t, ns, srv, "alice")
	userMailbox(t, ns, srv, "bob")
	alice, bob := dialUser(t, srv, "alice"), dialUser(t, srv, "bob")
	if err := alice.Create(context.Background(), "Archive", ""); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range messages {
		want = append(want, fmt.Sprintf("archived-%02d", i))
		appendMail(t, alice, "Archive", want[i])
	}
	sp := &mailshiftv1.SyncPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "archive"},
		Spec: mailshiftv1.SyncPolicySpec{
			SourceRef: mailshiftv1.LocalObjectRef{Name: "alice"}, TargetRef: mailshiftv1.LocalObjectRef{Name: "bob"},
			Direction: mailshiftv1.SyncTwoWay, Interval: metav1.Duration{Duration: 15 * time.Minute},
			Folders: []mailshiftv1.SyncFolderPair{{Source: "Archive"}},
		}}
	mustCreate(t, sp)
	waitSynced(t, sp, func(s *mailshiftv1.SyncPolicyStatus) bool { return s.LastCycle != nil }, 4*time.Minute)
	var mig mailshiftv1.MailboxMigration
	if err := kc.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "archive-first-sync"}, &mig); err != nil {
		t.Fatalf("the first-sync MailboxMigration: %v", err)
	}
	var job batchv1.Job
	if err := kc.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: mig.Status.JobName}, &job); err != nil || job.Status.Succeeded != 1 {
		t.Errorf("the first sync's Job %q: %v, %d succeeded", mig.Status.JobName, err, job.Status.Succeeded)
	}
	if p := mig.Status.Progress; mig.Status.Phase != mailshiftv1.PhaseSucceeded || p == nil || p.ItemsCopied != messages {
		t.Errorf("first-sync migration %s, progress %+v, want Succeeded with %d copied", mig.Status.Phase, p, messages)
	}
	if c := sp.Status.LastCycle; c.ToTarget.Added != 0 || c.ToSource.Added != 0 {
		t.Errorf("the first cycle after the Job copied again: %+v", *c)
	}
	slices.Sort(want)
	wantSubjects(t, bob, "Archive", want...)
	wantSubjects(t, alice, "Archive", want...)
}

// waitSynced waits (90 s unless told) until sp is Ready/Synced and its status satisfies ok.
func waitSynced(t *testing.T, sp *mailshiftv1.SyncPolicy, ok func(*mailshiftv1.SyncPolicyStatus) bool, timeout ...time.Duration) {
	t.Helper()
	limit := 90 * time.Second
	if len(timeout) > 0 {
		limit = timeout[0]
	}
	poll(t, fmt.Sprintf("SyncPolicy %s in step", sp.Name), limit, func() bool {
		*sp = *getSyncPolicy(t, sp)
		for _, c := range sp.Status.Conditions {
			if c.Type == mailshiftv1.ConditionReady {
				return c.Status == metav1.ConditionTrue && c.Reason == mailshiftv1.ReasonSynced && ok(&sp.Status)
			}
		}
		return false
	}, func() string { return fmt.Sprintf("status %+v", sp.Status) })
}

func getSyncPolicy(t *testing.T, sp *mailshiftv1.SyncPolicy) *mailshiftv1.SyncPolicy {
	t.Helper()
	var got mailshiftv1.SyncPolicy
	if err := kc.Client.Get(context.Background(), types.NamespacedName{Namespace: sp.Namespace, Name: sp.Name}, &got); err != nil {
		t.Fatal(err)
	}
	return &got
}

func updateSyncPolicy(t *testing.T, sp *mailshiftv1.SyncPolicy, fn func(*mailshiftv1.SyncPolicy)) {
	t.Helper()
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got := getSyncPolicy(t, sp)
		fn(got)
		return kc.Client.Update(context.Background(), got)
	}); err != nil {
		t.Fatal(err)
	}
}

// syncNow runs `kubectl mailshift sync-now` and returns the value it set.
func syncNow(t *testing.T, ns, name string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	args := []string{"sync-now", name, "-n", ns, "--kubeconfig", kc.KubeconfigPath, "-o", "json"}
	if code := clustercli.Run("kubectl-mailshift", args, &out, &errOut); code != 0 {
		t.Fatalf("kubectl mailshift sync-now: exit %d: %s", code, errOut.String())
	}
	var printed struct{ SyncNow string }
	if err := json.Unmarshal(out.Bytes(), &printed); err != nil || printed.SyncNow == "" {
		t.Fatalf("kubectl mailshift sync-now printed %q (%v)", out.String(), err)
	}
	return printed.SyncNow
}

func dialUser(t *testing.T, srv *testserver.Server, user string) *imapbulk.Conn {
	t.Helper()
	return dialLogin(t, srv, srv.Users[user].Login, srv.Users[user].Password)
}

// dialLogin logs in to srv over STARTTLS for the rest of the test.
func dialLogin(t *testing.T, srv *testserver.Server, login, password string) *imapbulk.Conn {
	t.Helper()
	c, err := imapbulk.Dial(context.Background(), imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSStartTLS, CAPEM: srv.CAPEM},
		imapconn.Credentials{Login: login, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func appendMail(t *testing.T, c *imapbulk.Conn, folder, subject string) {
	t.Helper()
	msg := fmt.Sprintf("From: alice@example.org\r\nTo: bob@example.org\r\nSubject: %s\r\nMessage-ID: <%s@e2e.example>\r\n"+
		"Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n\r\n%s\r\n", subject, subject, subject)
	res, err := c.Append(context.Background(), folder, []imapbulk.Message{{Size: int64(len(msg)), Body: strings.NewReader(msg)}})
	if err == nil && res[0].Err != nil {
		err = res[0].Err
	}
	if err != nil {
		t.Fatalf("append %q to %s: %v", subject, folder, err)
	}
}

// bySubject is the UID and flags of each message of folder, by subject (the test's subjects are unique).
func bySubject(t *testing.T, c *imapbulk.Conn, folder string) map[string]imapbulk.Identity {
	t.Helper()
	st, err := c.Select(context.Background(), folder, false)
	if err != nil {
		t.Fatalf("select %s: %v", folder, err)
	}
	got := map[string]imapbulk.Identity{}
	if st.Exists == 0 {
		return got
	}
	ids, err := c.FetchIdentities(context.Background(), "1:*", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		subject := ""
		for _, line := range strings.Split(string(id.Header), "\r\n") {
			if s, ok := strings.CutPrefix(line, "Subject: "); ok {
				subject = s
			}
		}
		if _, dup := got[subject]; dup {
			t.Errorf("%s holds %q twice", folder, subject)
		}
		got[subject] = id
	}
	return got
}

func wantSubjects(t *testing.T, c *imapbulk.Conn, folder string, want ...string) {
	t.Helper()
	var got []string
	for s := range bySubject(t, c, folder) {
		got = append(got, s)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s of %s holds %q, want %q", folder, c.Login(), got, want)
	}
}

func uidOf(t *testing.T, c *imapbulk.Conn, folder, subject string) string {
	t.Helper()
	id, ok := bySubject(t, c, folder)[subject]
	if !ok {
		t.Fatalf("%s of %s holds no %q", folder, c.Login(), subject)
	}
	return fmt.Sprint(id.UID)
}

func deleteBySubject(t *testing.T, c *imapbulk.Conn, folder, subject string) {
	t.Helper()
	uid := uidOf(t, c, folder, subject)
	if err := c.Store(context.Background(), uid, "+FLAGS", []string{`\Deleted`}); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge(context.Background(), uid); err != nil {
		t.Fatal(err)
	}
}

func flagBySubject(t *testing.T, c *imapbulk.Conn, folder, subject, flag string) {
	t.Helper()
	if err := c.Store(context.Background(), uidOf(t, c, folder, subject), "+FLAGS", []string{flag}); err != nil {
		t.Fatal(err)
	}
}

func flagsBySubject(t *testing.T, c *imapbulk.Conn, folder, subject string) []string {
	t.Helper()
	return bySubject(t, c, folder)[subject].Flags
}
