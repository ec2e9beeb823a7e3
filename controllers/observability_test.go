package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/testserver"
)

// startCache starts an informer cache of its own against the test API server: a second manager process, as
// far as the counters are concerned.
func startCache(t *testing.T) cache.Cache {
	t.Helper()
	c, err := cache.New(k8sConfig, cache.Options{Scheme: scheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = c.Start(ctx) }()
	return c
}

// watchProgress makes counters fed by a cache of their own, started now, and waits until that cache has
// listed the MailboxMigrations that exist.
func watchProgress(t *testing.T) *MigrationProgressCounters {
	t.Helper()
	c := startCache(t)
	counters := NewMigrationProgressCounters()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := counters.Watch(ctx, c); err != nil {
		t.Fatal(err)
	}
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	return counters
}

// report writes status.progress as a worker does.
func report(t *testing.T, mig *mailshiftv1.MailboxMigration, p mailshiftv1.Progress) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(mig), mig); err != nil {
			return err
		}
		mig.Status.Progress = p.DeepCopy()
		return k8s.Status().Update(context.Background(), mig)
	})
	if err != nil {
		t.Fatalf("report progress: %v", err)
	}
}

type progressCounts struct{ copied, skipped, failed, bytes float64 }

func (c *MigrationProgressCounters) counts() progressCounts {
	return progressCounts{
		copied:  testutil.ToFloat64(c.items.WithLabelValues(resultCopied)),
		skipped: testutil.ToFloat64(c.items.WithLabelValues(resultSkipped)),
		failed:  testutil.ToFloat64(c.items.WithLabelValues(resultFailed)),
		bytes:   testutil.ToFloat64(c.bytes),
	}
}

// waitCounts waits until the counters read want, and fails if they read anything else once they got there
// or passed it (a double count).
func waitCounts(t *testing.T, what string, c *MigrationProgressCounters, want progressCounts) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := c.counts()
		if got.copied >= want.copied && got.skipped >= want.skipped && got.failed >= want.failed && got.bytes >= want.bytes {
			time.Sleep(300 * time.Millisecond) // anything counted twice would arrive by now
			if got = c.counts(); got != want {
				t.Fatalf("%s: counters %+v, want %+v", what, got, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: counters %+v never reached %+v", what, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestProgressCountersCountEachReportOnce: the counters the manager makes from workers' progress reports
// (the only engine counters there are with worker Jobs) advance by exactly what each report adds; a status
// write that reports nothing new adds nothing; a manager started later takes what it finds as its baseline
// instead of counting it again; a new run, whose counts start from zero again, is counted whole.
func TestProgressCountersCountEachReportOnce(t *testing.T) {
	ns := newNamespace(t)
	mig := oneOfEachKind(ns)[4].(*mailshiftv1.MailboxMigration) // its Mailbox is missing: the suite's manager runs nothing
	mustCreate(t, mig)
	first := watchProgress(t)

	report(t, mig, mailshiftv1.Progress{ItemsTotal: 100, ItemsCopied: 10, ItemsSkipped: 2, ItemsFailed: 1, BytesCopied: 1000})
	waitCounts(t, "first report", first, progressCounts{10, 2, 1, 1000})
	report(t, mig, mailshiftv1.Progress{ItemsTotal: 100, ItemsCopied: 10, ItemsSkipped: 2, ItemsFailed: 1, BytesCopied: 1000, ItemsPerSecond: "3.0"})
	report(t, mig, mailshiftv1.Progress{ItemsTotal: 100, ItemsCopied: 25, ItemsSkipped: 2, ItemsFailed: 1, BytesCopied: 2500, ItemsPerSecond: "3.0"})
	waitCounts(t, "a report with nothing new, then 15 more", first, progressCounts{25, 2, 1, 2500})

	// A manager (re)started now sees 25 copied already: its baseline, not an increase.
	second := watchProgress(t)
	report(t, mig, mailshiftv1.Progress{ItemsTotal: 100, ItemsCopied: 30, ItemsSkipped: 4, ItemsFailed: 1, BytesCopied: 3000})
	waitCounts(t, "the first manager", first, progressCounts{30, 4, 1, 3000})
	waitCounts(t, "the restarted manager", second, progressCounts{5, 2, 0, 500})

	// A retried run reports from zero: 3 copied and the 30 it finds on the target as skipped.
	report(t, mig, mailshiftv1.Progress{ItemsTotal: 100, ItemsCopied: 3, ItemsSkipped: 30, BytesCopied: 300})
	waitCounts(t, "a new run, first manager", first, progressCounts{33, 34, 1, 3300})
	waitCounts(t, "a new run, restarted manager", second, progressCounts{8, 32, 0, 800})

	// Deleting the migration counts nothing more.
	if err := k8s.Delete(context.Background(), mig); err != nil {
		t.Fatal(err)
	}
	waitCounts(t, "after deletion", first, progressCounts{33, 34, 1, 3300})
}

// seriesFor returns the value of each series of a metric family, keyed by its labels as k=v,... (all but the
// condition's reason, which reasonsFor returns).
func seriesFor(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	values, _ := series(t, reg, name)
	return values
}

func reasonsFor(t *testing.T, reg *prometheus.Registry, name string) map[string]string {
	_, reasons := series(t, reg, name)
	return reasons
}

func series(t *testing.T, reg *prometheus.Registry, name string) (map[string]float64, map[string]string) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out, reasons := map[string]float64{}, map[string]string{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var ls []string
			reason := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" {
					reason = l.GetValue()
					continue
				}
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			out[strings.Join(ls, ",")] = gaugeOrCounter(m)
			reasons[strings.Join(ls, ",")] = reason
		}
	}
	return out, reasons
}

func gaugeOrCounter(m *dto.Metric) float64 {
	if m.GetGauge() != nil {
		return m.GetGauge().GetValue()
	}
	return m.GetCounter().GetValue()
}

// TestResourceMetricsFollowTheCache: every kind's conditions are served per object from the cache, a
// FreeBusyPublication's last publication and interval too, and a deleted object's series go with it.
func TestResourceMetricsFollowTheCache(t *testing.T) {
	ns := newNamespace(t)
	objs := oneOfEachKind(ns)
	for _, o := range objs {
		mustCreate(t, o)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewResourceMetrics(startCache(t)))

	// The suite's manager finds the Mailbox's MailServer missing: Stalled, not Ready.
	mailbox := "kind=Mailbox,name=m,namespace=" + ns
	waitSeries(t, reg, "mailshift_resource_stalled", mailbox, 1)
	if got := seriesFor(t, reg, "mailshift_resource_ready")[mailbox]; got != 0 {
		t.Errorf("mailshift_resource_ready of a stalled Mailbox = %v, want 0", got)
	}
	if got := reasonsFor(t, reg, "mailshift_resource_stalled")[mailbox]; got != mailshiftv1.ReasonServerNotFound {
		t.Errorf("the stalled Mailbox's reason label is %q, want %s", got, mailshiftv1.ReasonServerNotFound)
	}
	for _, kind := range []string{"MailServer", "Mailbox", "FolderShare", "FreeBusyPublication", "MailboxMigration", "MigrationBatch", "SyncPolicy"} {
		name := map[string]string{"MailServer": "s", "Mailbox": "m", "FolderShare": "fs", "FreeBusyPublication": "fb",
			"MailboxMigration": "mig", "MigrationBatch": "batch", "SyncPolicy": "sync"}[kind]
		series := "kind=" + kind + ",name=" + name + ",namespace=" + ns
		waitSeries(t, reg, "mailshift_resource_ready", series, -1)
		for _, metric := range []string{"mailshift_resource_reconciling", "mailshift_resource_stalled"} {
			if _, ok := seriesFor(t, reg, metric)[series]; !ok {
				t.Errorf("no %s{%s}", metric, series)
			}
		}
	}
	suspended := seriesFor(t, reg, "mailshift_resource_suspended")
	if suspended["kind=SyncPolicy,name=sync,namespace="+ns] != 1 || suspended["kind=MailboxMigration,name=mig,namespace="+ns] != 0 {
		t.Errorf("mailshift_resource_suspended: %v", suspended)
	}
	if _, ok := suspended["kind=Mailbox,name=m,namespace="+ns]; ok {
		t.Error("mailshift_resource_suspended served for a Mailbox, which cannot be suspended")
	}

	fb := "name=fb,namespace=" + ns
	waitSeries(t, reg, "mailshift_freebusy_publish_interval_seconds", fb, 1800)
	if _, ok := seriesFor(t, reg, "mailshift_freebusy_last_publish_timestamp_seconds")[fb]; ok {
		t.Error("a last publication time for a file never published")
	}
	published := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	pub := objs[3].(*mailshiftv1.FreeBusyPublication)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(pub), pub); err != nil {
			return err
		}
		pub.Status.LastPublishTime = &metav1.Time{Time: published}
		return k8s.Status().Update(context.Background(), pub)
	})
	if err != nil {
		t.Fatal(err)
	}
	waitSeries(t, reg, "mailshift_freebusy_last_publish_timestamp_seconds", fb, float64(published.Unix()))

	for _, o := range objs {
		if err := k8s.Delete(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := 0
		for _, metric := range []string{"mailshift_resource_ready", "mailshift_freebusy_publish_interval_seconds"} {
			for s := range seriesFor(t, reg, metric) {
				if strings.Contains(s, "namespace="+ns) && !strings.Contains(s, "kind=MailboxMigration") {
					left++ // a migration waits for its finalizer; everything else goes at once
				}
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d series of deleted objects are still served", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitSeries waits until metric{series} is served with value want (any value when want is -1).
func waitSeries(t *testing.T, reg *prometheus.Registry, metric, series string, want float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, ok := seriesFor(t, reg, metric)[series]
		if ok && (want == -1 || got == want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s{%s} = %v (served: %v), want %v", metric, series, got, ok, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// oneOfEachKind returns one valid object of every mailshift kind, none of which can do anything (the
// MailServer's host is a closed port, the migration and the sync policy are suspended).
func oneOfEachKind(ns string) []client.Object {
	return []client.Object{
		&mailshiftv1.MailServer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "s"},
			Spec: mailshiftv1.MailServerSpec{Host: "127.0.0.1", Port: 1, TLS: mailshiftv1.TLSImplicit}},
		&mailshiftv1.Mailbox{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "m", Labels: map[string]string{"team": "batch"}},
			Spec: mailshiftv1.MailboxSpec{ServerRef: mailshiftv1.ServerRef{Name: "missing"}, Login: "m"}},
		&mailshiftv1.FolderShare{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fs"},
			Spec: mailshiftv1.FolderShareSpec{MailboxRef: mailshiftv1.LocalObjectRef{Name: "m"}, Folder: "INBOX",
				Grants: []mailshiftv1.Grant{{Grantee: "anyone", Rights: []mailshiftv1.Right{mailshiftv1.RightLookup}}}}},
		&mailshiftv1.FreeBusyPublication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fb"},
			Spec: mailshiftv1.FreeBusyPublicationSpec{MailboxRef: mailshiftv1.LocalObjectRef{Name: "m"},
				Interval: &metav1.Duration{Duration: 30 * time.Minute},
				FTP:      mailshiftv1.FTPTarget{Host: "127.0.0.1", CredentialsSecretRef: mailshiftv1.CredentialsSecretRef{Name: "ftp"}}}},
		&mailshiftv1.MailboxMigration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mig"},
			Spec: mailshiftv1.MailboxMigrationSpec{MailboxRef: mailshiftv1.LocalObjectRef{Name: "m"},
				MigrationSettings: mailshiftv1.MigrationSettings{Source: mailshiftv1.MigrationSource{PST: &mailshiftv1.PSTSource{
					Volume: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "archives"}},
					Path:   "m.pst"}}}}},
		templateBatch(ns, "batch", "{{.Login}}.pst"),
		&mailshiftv1.SyncPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sync"},
			Spec: mailshiftv1.SyncPolicySpec{SourceRef: mailshiftv1.LocalObjectRef{Name: "m"}, TargetRef: mailshiftv1.LocalObjectRef{Name: "m2"},
				Interval: metav1.Duration{Duration: 15 * time.Minute}, Suspend: true}},
	}
}

// TestSuspendedMigrationIsNotReconciling: a suspended migration has no work in flight, so it says so
// (Reconciling=False, reason Suspended) and has observed its spec; kstatus would otherwise wait for it
// forever.
func TestSuspendedMigrationIsNotReconciling(t *testing.T) {
	srv := testserver.Dovecot(t)
	ns := newNamespace(t)
	readyMailbox(t, ns, srv, "bob")
	mig := pstMigration(ns, "paused", "bob", "tika-testPST.pst")
	mig.Spec.Suspend = true
	mustCreate(t, mig)
	waitMigration(t, mig, metav1.ConditionFalse, ReasonSuspended, 30*time.Second)
	assertSuspendedConditions(t, mig.Status.Conditions)
	if mig.Status.Phase != mailshiftv1.PhaseSuspended {
		t.Errorf("phase %s, want Suspended", mig.Status.Phase)
	}
	if mig.Status.ObservedGeneration != mig.Generation {
		t.Errorf("status.observedGeneration %d, generation %d: kstatus reads this as not yet observed", mig.Status.ObservedGeneration, mig.Generation)
	}
}

// TestSuspendedBatchIsNotReconciling: the same for a suspended MigrationBatch with work left.
func TestSuspendedBatchIsNotReconciling(t *testing.T) {
	ns := newNamespace(t)
	mustCreate(t, labelledMailbox(ns, "carol", "paused", "carol", "carol@example.org"))
	b := templateBatch(ns, "paused", "{{.Login}}.pst")
	b.Spec.Suspend = true
	mustCreate(t, b)
	waitForReady(t, b, func() []metav1.Condition { return b.Status.Conditions }, metav1.ConditionFalse, ReasonSuspended, 30*time.Second)
	assertSuspendedConditions(t, b.Status.Conditions)
	if e := waitForEvent(t, ns, b.Name, ReasonSuspended); e.Type != corev1.EventTypeNormal {
		t.Errorf("Suspended event of type %s, want Normal: nothing is wrong", e.Type)
	}

	// Suspended before any Mailbox matches: suspended too, not waiting for Mailboxes.
	empty := templateBatch(ns, "nobody-yet", "{{.Login}}.pst")
	empty.Spec.Suspend = true
	mustCreate(t, empty)
	waitForReady(t, empty, func() []metav1.Condition { return empty.Status.Conditions }, metav1.ConditionFalse, ReasonSuspended, 30*time.Second)
	assertSuspendedConditions(t, empty.Status.Conditions)
}

func assertSuspendedConditions(t *testing.T, conds []metav1.Condition) {
	t.Helper()
	if c := condition(conds, mailshiftv1.ConditionReconciling); c == nil || c.Status != metav1.ConditionFalse || c.Reason != ReasonSuspended {
		t.Errorf("Reconciling = %+v, want False with reason Suspended", c)
	}
	if c := condition(conds, mailshiftv1.ConditionStalled); c == nil || c.Status != metav1.ConditionFalse {
		t.Errorf("Stalled = %+v, want False", c)
	}
}
