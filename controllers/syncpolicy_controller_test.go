package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/mailsync"
	"github.com/mailshift/mailshift/internal/syncstate"
	"github.com/mailshift/mailshift/internal/testserver"
)

// account is a test user's folder, written and counted over a connection of its own.
type account struct {
	t    *testing.T
	srv  *testserver.Server
	user string
}

func (a account) conn() *imapbulk.Conn {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := imapbulk.Dial(ctx, imapconn.Endpoint{Host: a.srv.Host, Port: a.srv.Port, TLS: imapconn.TLSStartTLS, CAPEM: a.srv.CAPEM},
		imapconn.Credentials{Login: a.user, Password: a.srv.Users[a.user].Password, Flavor: a.srv.Flavor})
	if err != nil {
		a.t.Fatal(err)
	}
	return c
}

// put appends messages with these ids to folder, creating it.
func (a account) put(folder string, ids ...string) {
	a.t.Helper()
	c := a.conn()
	defer c.Close()
	ctx := context.Background()
	if err := c.Create(ctx, folder, ""); err != nil {
		a.t.Fatal(err)
	}
	var msgs []imapbulk.Message
	for _, id := range ids {
		body := fmt.Sprintf("From: x@example.test\r\nSubject: %s\r\nMessage-ID: <%s@sync.test>\r\n\r\nbody %s\r\n", id, id, id)
		msgs = append(msgs, imapbulk.Message{Size: int64(len(body)), Body: strings.NewReader(body)})
	}
	res, err := c.Append(ctx, folder, msgs)
	if err != nil {
		a.t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			a.t.Fatal(r.Err)
		}
	}
}

// count is how many messages folder holds (-1: no such folder).
func (a account) count(folder string) int {
	a.t.Helper()
	c := a.conn()
	defer c.Close()
	st, err := c.Status(context.Background(), folder)
	if imapconn.KindOf(err) == imapconn.NotFound || (err != nil && strings.Contains(err.Error(), "exist")) {
		return -1
	}
	if err != nil {
		a.t.Fatal(err)
	}
	return int(st.Exists)
}

// syncAccounts makes a namespace with Mailboxes alice (on a Dovecot) and bob (on a Cyrus), each with its
// MailServer and password Secret (<login>-imap).
func syncAccounts(t *testing.T) (ns string, alice, bob account) {
	t.Helper()
	ns = newNamespace(t)
	dovecot, cyrus := testserver.Dovecot(t), testserver.Cyrus(t, "modern")
	for name, srv := range map[string]*testserver.Server{"dovecot": dovecot, "cyrus": cyrus} {
		ms, ca := serverObjects(ns, name, srv)
		mustCreate(t, ca)
		mustCreate(t, ms)
	}
	src, srcSecret := userMailbox(ns, "dovecot", dovecot.Users["alice"])
	dst, dstSecret := userMailbox(ns, "cyrus", cyrus.Users["bob"])
	for _, o := range []client.Object{srcSecret, src, dstSecret, dst} {
		mustCreate(t, o)
	}
	return ns, account{t, dovecot, "alice"}, account{t, cyrus, "bob"}
}

// TestSyncPolicy runs a SyncPolicy between a Dovecot and a Cyrus mailbox: the first cycle, the status, the
// state and report ConfigMaps, sync-now, suspend (a trigger waits for resume), the interval, and a missing
// Mailbox.
func TestSyncPolicy(t *testing.T) {
	t.Parallel()
	ns, alice, bob := syncAccounts(t)
	dovecot, cyrus := alice.srv, bob.srv
	alice.put("Projects", "p1", "p2", "p3")

	sp := &mailshiftv1.SyncPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-bob"},
		Spec: mailshiftv1.SyncPolicySpec{
			SourceRef: mailshiftv1.LocalObjectRef{Name: "alice"}, TargetRef: mailshiftv1.LocalObjectRef{Name: "bob"},
			Direction: mailshiftv1.SyncTwoWay, Interval: metav1.Duration{Duration: time.Minute}, Deletions: mailshiftv1.DeletionPropagate,
			Folders: []mailshiftv1.SyncFolderPair{{Source: "Projects"}},
		},
	}
	mustCreate(t, sp)
	conds := func() []metav1.Condition { return sp.Status.Conditions }
	waitForReady(t, sp, conds, metav1.ConditionTrue, mailshiftv1.ReasonSynced, 60*time.Second)
	st := sp.Status
	if st.LastCycle == nil || st.LastCycle.ToTarget.Added != 3 || st.LastCycle.Folders != 1 || st.LastSyncTime == nil || st.NextSyncTime == nil ||
		!st.NextSyncTime.Time.Equal(st.LastSyncTime.Add(time.Minute)) || st.ObservedGeneration != sp.Generation {
		t.Fatalf("status after the first cycle: %+v %+v", st, st.LastCycle)
	}
	if n := bob.count("Projects"); n != 3 {
		t.Errorf("the target holds %d messages, want 3", n)
	}
	// The state: in its ConfigMap, owned by the policy, readable.
	var cm corev1.ConfigMap
	if err := k8s.Get(context.Background(), key(ns, st.StateConfigMap), &cm); err != nil {
		t.Fatalf("state ConfigMap %q: %v", st.StateConfigMap, err)
	}
	state, err := syncstate.Decode(cm.BinaryData["state"])
	if err != nil || len(state.Pairs) != 1 || len(state.Pairs[0].Links) != 3 {
		t.Errorf("state: %v %+v", err, state)
	}
	if len(cm.OwnerReferences) != 1 || cm.OwnerReferences[0].UID != sp.UID {
		t.Errorf("the state ConfigMap is not owned by the policy: %+v", cm.OwnerReferences)
	}
	var rep corev1.ConfigMap
	if err := k8s.Get(context.Background(), key(ns, st.ReportConfigMap), &rep); err != nil {
		t.Fatalf("report ConfigMap %q: %v", st.ReportConfigMap, err)
	}
	var report mailsync.Report
	if err := json.Unmarshal([]byte(rep.Data["report.json"]), &report); err != nil || len(report.Folders) != 1 || report.Folders[0].ToB.Added != 3 {
		t.Errorf("report: %v %s", err, rep.Data["report.json"])
	}
	assertNoSecret(t, "report", rep.Data["report.json"], dovecot.Users["alice"].Password, cyrus.Users["bob"].Password)
	// The cycle is counted: its result, and the three messages added on the target.
	if n := counterValue(t, "mailshift_sync_cycles_total", map[string]string{"result": "Synced"}); n < 1 {
		t.Errorf("mailshift_sync_cycles_total{result=Synced} = %v", n)
	}
	if n := counterValue(t, "mailshift_sync_changes_total", map[string]string{"kind": "added", "direction": "toTarget"}); n < 3 {
		t.Errorf("mailshift_sync_changes_total{kind=added,direction=toTarget} = %v, want at least 3", n)
	}

	// Sync now: a message added on the target goes to the source at once, not a minute later.
	bob.put("Projects", "b1")
	mutate(t, sp, func(p *mailshiftv1.SyncPolicy) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[mailshiftv1.AnnotationSyncNow] = "now-1"
	})
	waitFor(t, 30*time.Second, "the sync-now cycle", func() bool {
		return k8s.Get(context.Background(), key(ns, sp.Name), sp) == nil && sp.Status.LastSyncNow == "now-1"
	})
	if sp.Status.LastCycle.ToSource.Added != 1 || alice.count("Projects") != 4 {
		t.Errorf("sync now: %+v; the source holds %d", sp.Status.LastCycle, alice.count("Projects"))
	}

	// Suspended: no cycle, even when asked; the trigger is acted on after resume.
	mutate(t, sp, func(p *mailshiftv1.SyncPolicy) { p.Spec.Suspend = true })
	waitForReady(t, sp, conds, metav1.ConditionFalse, ReasonSuspended, 30*time.Second)
	if sp.Status.NextSyncTime != nil {
		t.Errorf("suspended, yet a next cycle at %v", sp.Status.NextSyncTime)
	}
	alice.put("Projects", "p4")
	mutate(t, sp, func(p *mailshiftv1.SyncPolicy) { p.Annotations[mailshiftv1.AnnotationSyncNow] = "now-2" })
	time.Sleep(3 * time.Second)
	if bob.count("Projects") != 4 {
		t.Errorf("a suspended policy synced: the target holds %d", bob.count("Projects"))
	}
	mutate(t, sp, func(p *mailshiftv1.SyncPolicy) { p.Spec.Suspend = false })
	waitFor(t, 30*time.Second, "the cycle asked for while suspended", func() bool {
		return k8s.Get(context.Background(), key(ns, sp.Name), sp) == nil && sp.Status.LastSyncNow == "now-2"
	})
	if n := bob.count("Projects"); n != 5 {
		t.Errorf("after resume: the target holds %d, want 5", n)
	}

	// The interval: the next cycle comes by itself, a minute after the last one started.
	last := sp.Status.LastSyncTime.Time
	alice.put("Projects", "p5")
	waitFor(t, 90*time.Second, "the cycle of the interval", func() bool {
		return k8s.Get(context.Background(), key(ns, sp.Name), sp) == nil && sp.Status.LastSyncTime.Time.After(last)
	})
	if got := sp.Status.LastSyncTime.Time.Sub(last); got < time.Minute-time.Second {
		t.Errorf("the interval's cycle came %v after the last one, not a minute", got)
	}
	waitFor(t, 30*time.Second, "p5 on the target", func() bool { return bob.count("Projects") == 6 })

	// A policy whose target Mailbox is missing says so, and needs a person.
	bad := sp.DeepCopy()
	bad.ObjectMeta = metav1.ObjectMeta{Namespace: ns, Name: "to-nowhere"}
	bad.Spec.TargetRef.Name = "nobody"
	bad.Status = mailshiftv1.SyncPolicyStatus{}
	mustCreate(t, bad)
	c := waitForReady(t, bad, func() []metav1.Condition { return bad.Status.Conditions }, metav1.ConditionFalse, mailshiftv1.ReasonMailboxNotFound, 30*time.Second)
	if !strings.Contains(c.Message, "target Mailbox") || condition(bad.Status.Conditions, mailshiftv1.ConditionStalled).Status != metav1.ConditionTrue {
		t.Errorf("missing target: %+v", bad.Status.Conditions)
	}
}

// TestSyncFolders: a folder pair's own direction and deletions replace the policy's, the rest stays.
// TestSyncKinds: a policy's items name the kinds of folders its cycles pair; none, the engine's default.
func TestSyncKinds(t *testing.T) {
	if got := syncKinds(nil); got != nil {
		t.Errorf("no items: %v, want none (the engine's default)", got)
	}
	got := syncKinds([]mailshiftv1.ItemType{mailshiftv1.ItemCalendar, mailshiftv1.ItemTasks, mailshiftv1.ItemMail})
	if want := []string{mailsync.KindEvent, mailsync.KindTask, mailsync.KindMail}; !slices.Equal(got, want) {
		t.Errorf("items Calendar, Tasks, Mail: %v, want %v", got, want)
	}
}

func TestSyncFolders(t *testing.T) {
	spec := mailshiftv1.SyncPolicySpec{Direction: mailshiftv1.SyncTwoWay, Deletions: mailshiftv1.DeletionPropagate, Conflicts: mailshiftv1.ConflictSourceWins,
		Folders: []mailshiftv1.SyncFolderPair{{Source: "INBOX"}, {Source: "Archiv", Target: "Archive", Direction: mailshiftv1.SyncOneWay},
			{Source: "Spam", Deletions: mailshiftv1.DeletionIgnore}}}
	got := syncFolders(spec)
	if len(got) != 3 || got[0].Options != nil || got[1].B != "Archive" || got[0].B != "INBOX" {
		t.Fatalf("pairs %+v", got)
	}
	want1 := mailsync.Options{Direction: mailsync.OneWay, Deletions: mailsync.DeletePropagate, Conflicts: mailsync.SourceWins}
	want2 := mailsync.Options{Direction: mailsync.TwoWay, Deletions: mailsync.DeleteIgnore, Conflicts: mailsync.SourceWins}
	if got[1].Options == nil || *got[1].Options != want1 || got[2].Options == nil || *got[2].Options != want2 {
		t.Errorf("overrides: %+v %+v", got[1].Options, got[2].Options)
	}
}

// counterValue is the value of the counter series name with these labels in the manager's registry.
func counterValue(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
