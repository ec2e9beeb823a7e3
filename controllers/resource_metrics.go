package controllers

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
)

// scrapeListTimeout bounds each list a collector makes while Prometheus waits: a cache that has not synced
// yet costs a scrape its series, never a hung scrape.
const scrapeListTimeout = 5 * time.Second

// defaultFreeBusyInterval is a FreeBusyPublication's interval when spec.interval is unset (the CRD's
// default, for objects stored before it).
const defaultFreeBusyInterval = 15 * time.Minute

// The collector reads SyncPolicies too, which no controller reconciles yet.
// +kubebuilder:rbac:groups=mailshift.io,resources=syncpolicies,verbs=get;list;watch

// ResourceMetrics serves, for every object of every mailshift kind, its standard conditions as 0/1 gauges
// (mailshift_resource_ready, _reconciling, _stalled, and _suspended for the kinds that can be suspended),
// each labelled with the object's kind, namespace and name and, for the three conditions, the condition's
// reason (one series per object and condition: the reason is what an alert links its runbook by),
// and, for FreeBusyPublications, when their file was last published and how often it should be. Everything
// is read from the manager's cache when Prometheus scrapes: a deleted object's series end with it, and no
// map of past objects grows in the manager.
type ResourceMetrics struct {
	reader      client.Reader
	ready       *prometheus.Desc
	reconciling *prometheus.Desc
	stalled     *prometheus.Desc
	suspended   *prometheus.Desc
	lastPublish *prometheus.Desc
	interval    *prometheus.Desc
}

// NewResourceMetrics reads through reader (the manager's cache) at scrape time.
func NewResourceMetrics(reader client.Reader) *ResourceMetrics {
	obj := []string{"kind", "namespace", "name"}
	cond := []string{"kind", "namespace", "name", "reason"}
	fb := []string{"namespace", "name"}
	return &ResourceMetrics{
		reader: reader,
		ready: prometheus.NewDesc("mailshift_resource_ready",
			"1 when the object's Ready condition is True (done or healthy), else 0 (also before the controller wrote one); reason is the condition's.", cond, nil),
		reconciling: prometheus.NewDesc("mailshift_resource_reconciling",
			"1 when the object's Reconciling condition is True (work in flight), else 0; reason is the condition's.", cond, nil),
		stalled: prometheus.NewDesc("mailshift_resource_stalled",
			"1 when the object's Stalled condition is True (a person must act), else 0; reason is the condition's.", cond, nil),
		suspended: prometheus.NewDesc("mailshift_resource_suspended",
			"1 when a MailboxMigration, MigrationBatch or SyncPolicy has spec.suspend set, else 0.", obj, nil),
		lastPublish: prometheus.NewDesc("mailshift_freebusy_last_publish_timestamp_seconds",
			"When a FreeBusyPublication's file was last published (Unix time); absent until the first publication.", fb, nil),
		interval: prometheus.NewDesc("mailshift_freebusy_publish_interval_seconds",
			"A FreeBusyPublication's spec.interval: the file is republished at least this often.", fb, nil),
	}
}

func (m *ResourceMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.ready, m.reconciling, m.stalled, m.suspended, m.lastPublish, m.interval} {
		ch <- d
	}
}

// resourceKinds are the kinds served, each with a list to read them into.
var resourceKinds = []struct {
	kind string
	list func() client.ObjectList
}{
	{"MailServer", func() client.ObjectList { return &mailshiftv1.MailServerList{} }},
	{"Mailbox", func() client.ObjectList { return &mailshiftv1.MailboxList{} }},
	{"FolderShare", func() client.ObjectList { return &mailshiftv1.FolderShareList{} }},
	{"FreeBusyPublication", func() client.ObjectList { return &mailshiftv1.FreeBusyPublicationList{} }},
	{"MailboxMigration", func() client.ObjectList { return &mailshiftv1.MailboxMigrationList{} }},
	{"MigrationBatch", func() client.ObjectList { return &mailshiftv1.MigrationBatchList{} }},
	{"SyncPolicy", func() client.ObjectList { return &mailshiftv1.SyncPolicyList{} }},
}

func (m *ResourceMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeListTimeout)
	defer cancel()
	for _, k := range resourceKinds {
		list := k.list()
		// Read only: the cache's own objects are looked at, not copied.
		if err := m.reader.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
			continue
		}
		_ = meta.EachListItem(list, func(o runtime.Object) error {
			m.collect(ch, k.kind, o)
			return nil
		})
	}
}

func (m *ResourceMetrics) collect(ch chan<- prometheus.Metric, kind string, o runtime.Object) {
	obj, ok := o.(client.Object)
	if !ok {
		return
	}
	var conds []metav1.Condition
	suspendable, suspended := false, false
	switch x := o.(type) {
	case *mailshiftv1.MailServer:
		conds = x.Status.Conditions
	case *mailshiftv1.Mailbox:
		conds = x.Status.Conditions
	case *mailshiftv1.FolderShare:
		conds = x.Status.Conditions
	case *mailshiftv1.FreeBusyPublication:
		conds = x.Status.Conditions
		m.collectFreeBusy(ch, x)
	case *mailshiftv1.MailboxMigration:
		conds, suspendable, suspended = x.Status.Conditions, true, x.Spec.Suspend
	case *mailshiftv1.MigrationBatch:
		conds, suspendable, suspended = x.Status.Conditions, true, x.Spec.Suspend
	case *mailshiftv1.SyncPolicy:
		conds, suspendable, suspended = x.Status.Conditions, true, x.Spec.Suspend
	default:
		return
	}
	labels := []string{kind, obj.GetNamespace(), obj.GetName()}
	for _, c := range []struct {
		desc *prometheus.Desc
		typ  string
	}{{m.ready, mailshiftv1.ConditionReady}, {m.reconciling, mailshiftv1.ConditionReconciling}, {m.stalled, mailshiftv1.ConditionStalled}} {
		value, reason := 0.0, ""
		if found := meta.FindStatusCondition(conds, c.typ); found != nil {
			value, reason = boolGauge(found.Status == metav1.ConditionTrue), found.Reason
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, value, append(labels, reason)...)
	}
	if suspendable {
		ch <- prometheus.MustNewConstMetric(m.suspended, prometheus.GaugeValue, boolGauge(suspended), labels...)
	}
}

func (m *ResourceMetrics) collectFreeBusy(ch chan<- prometheus.Metric, fb *mailshiftv1.FreeBusyPublication) {
	ch <- prometheus.MustNewConstMetric(m.interval, prometheus.GaugeValue,
		intervalOf(fb.Spec.Interval, defaultFreeBusyInterval).Seconds(), fb.Namespace, fb.Name)
	if t := fb.Status.LastPublishTime; t != nil {
		ch <- prometheus.MustNewConstMetric(m.lastPublish, prometheus.GaugeValue, float64(t.UnixNano())/1e9, fb.Namespace, fb.Name)
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ManagerCollectors are the collectors the manager serves whatever its executor: migrations by phase and
// progress, the counters made from workers' progress reports, and every object's conditions. The in-process
// executor adds the engine's own (package enginemetrics).
func ManagerCollectors(reader client.Reader, migrations *MigrationMetrics, progress *MigrationProgressCounters) []prometheus.Collector {
	cs := append([]prometheus.Collector{NewResourceMetrics(reader)}, migrations.Collectors()...)
	return append(cs, progress.Collectors()...)
}
