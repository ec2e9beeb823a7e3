package chart

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/controllers"
	"github.com/mailshift/mailshift/internal/enginemetrics"
	"github.com/mailshift/mailshift/internal/opmetrics"
	"github.com/mailshift/mailshift/internal/testenv"
)

const (
	alertsFile      = "../../charts/mailshift/files/alerts.yaml"
	dashboardFile   = "../../charts/mailshift/files/dashboard.json"
	troubleshooting = "../../docs/troubleshooting.md"
)

// scrapeSeries are the series Prometheus itself adds to every scraped target, not the manager.
var scrapeSeries = map[string]bool{"up": true}

// targetLabels are the labels Prometheus (and the ServiceMonitor) attach to every series of a target.
var targetLabels = map[string]bool{"job": true, "instance": true, "pod": true, "namespace": true, "service": true,
	"endpoint": true, "container": true}

// TestAlertsAndDashboardUseServedMetrics parses every alert expression (with the Prometheus rule-file
// validator, which also checks annotation templates) and every dashboard query with Prometheus' own PromQL
// parser, collects the metric names and label matchers they use, and checks each against what the manager
// serves: its collectors registered as cmd/manager registers them, fed by one object of every kind on a real
// kube-apiserver, and gathered.
func TestAlertsAndDashboardUseServedMetrics(t *testing.T) {
	served := manager(t)
	used := map[string][]*parser.VectorSelector{}
	for where, expr := range queries(t) {
		if err := selectors(expr, used); err != nil {
			t.Errorf("%s: %v", where, err)
		}
	}
	if len(used) < 10 {
		t.Fatalf("only %d metrics found in the alerts and dashboard: %v", len(used), used)
	}
	for _, problem := range check(used, served) {
		t.Error(problem)
	}
}

// TestCheckFindsMisspelledMetrics: the check itself notices a metric the manager does not serve, and a label
// its series do not have.
func TestCheckFindsMisspelledMetrics(t *testing.T) {
	served := map[string]family{"mailshift_resource_stalled": {labels: map[string]bool{"kind": true, "name": true, "reason": true}}}
	for _, tc := range []struct{ expr, want string }{
		{`max by (kind) (mailshift_resource_staled == 1)`, "mailshift_resource_staled"},
		{`mailshift_resource_stalled{knid="Mailbox"}`, "knid"},
		{`sum(rate(mailshift_resource_stalled_bucket[5m]))`, "mailshift_resource_stalled_bucket"},
	} {
		used := map[string][]*parser.VectorSelector{}
		if err := selectors(tc.expr, used); err != nil {
			t.Fatal(err)
		}
		problems := check(used, served)
		if len(problems) != 1 || !strings.Contains(problems[0], tc.want) {
			t.Errorf("%s: problems %q, want one naming %s", tc.expr, problems, tc.want)
		}
	}
	used := map[string][]*parser.VectorSelector{}
	if err := selectors(`max by (kind) (mailshift_resource_stalled{reason!=""}) or up{job="x"}`, used); err != nil {
		t.Fatal(err)
	}
	if problems := check(used, served); len(problems) != 0 {
		t.Errorf("a correct query: %q", problems)
	}
}

// TestRunbooksExist: every runbook link of an alert points at a section of docs/troubleshooting.md (links made
// from a condition reason point at that reason's section, which the page has for every reason).
func TestRunbooksExist(t *testing.T) {
	doc, err := os.ReadFile(troubleshooting)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "#") {
			anchors[githubAnchor(strings.TrimLeft(line, "# "))] = true
		}
	}
	for _, r := range rules(t) {
		url := r.Annotations["runbook_url"]
		for _, k := range []string{"summary", "description", "runbook_url"} {
			if r.Annotations[k] == "" {
				t.Errorf("%s has no %s", r.Alert, k)
			}
		}
		_, anchor, ok := strings.Cut(url, "docs/troubleshooting.md#")
		switch {
		case !ok:
			t.Errorf("%s: runbook %q is not a section of docs/troubleshooting.md", r.Alert, url)
		case strings.Contains(anchor, "{{"):
			if anchor != "{{ $labels.reason | toLower }}" {
				t.Errorf("%s: runbook anchor %q", r.Alert, anchor)
			}
		case !anchors[anchor]:
			t.Errorf("%s: docs/troubleshooting.md has no section #%s", r.Alert, anchor)
		}
	}
}

var nonAnchor = regexp.MustCompile(`[^a-z0-9 _-]`)

// githubAnchor is the anchor GitHub gives a heading.
func githubAnchor(heading string) string {
	return strings.ReplaceAll(nonAnchor.ReplaceAllString(strings.ToLower(strings.TrimSpace(heading)), ""), " ", "-")
}

func promqlParser() parser.Parser { return parser.NewParser(parser.Options{}) }

func rules(t *testing.T) []rulefmt.Rule {
	t.Helper()
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	groups, errs := rulefmt.Parse(data, false, model.UTF8Validation, promqlParser(), slog.Default())
	for _, e := range errs {
		t.Errorf("%s: %v", alertsFile, e)
	}
	if groups == nil || len(groups.Groups) == 0 {
		t.Fatalf("%s: no rule groups", alertsFile)
	}
	var out []rulefmt.Rule
	for _, g := range groups.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

// grafanaVariables are replaced as Grafana replaces them before a query reaches Prometheus.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

var labelValues = regexp.MustCompile(`^label_values\(\s*([^,]+?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$`)

// queries returns every alert expression and every dashboard query, keyed by where they come from.
func queries(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range rules(t) {
		out["alert "+r.Alert] = r.Expr
	}
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels     []dashboardPanel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var walk func(ps []dashboardPanel)
	n := 0
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			walk(p.Panels)
			for _, tg := range p.Targets {
				if tg.Expr == "" {
					t.Errorf("dashboard panel %q: a target without an expression", p.Title)
					continue
				}
				n++
				out[fmt.Sprintf("dashboard panel %q target %s", p.Title, tg.RefID)] = grafanaVariables.Replace(tg.Expr)
			}
		}
	}
	walk(dash.Panels)
	if n == 0 {
		t.Fatalf("%s: no queries", dashboardFile)
	}
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Fatalf("dashboard variable %s: %v", v.Name, err)
		}
		m := labelValues.FindStringSubmatch(q.Query)
		if m == nil {
			t.Errorf("dashboard variable %s: %q is not label_values(<selector>, <label>)", v.Name, q.Query)
			continue
		}
		out["dashboard variable "+v.Name] = m[1]
	}
	return out
}

type dashboardPanel struct {
	Title   string           `json:"title"`
	Panels  []dashboardPanel `json:"panels"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// selectors parses expr and adds its vector selectors to used, by metric name.
func selectors(expr string, used map[string][]*parser.VectorSelector) error {
	e, err := promqlParser().ParseExpr(expr)
	if err != nil {
		return err
	}
	var missing error
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			if vs.Name == "" {
				missing = fmt.Errorf("a selector without a metric name: %s", vs)
				return nil
			}
			used[vs.Name] = append(used[vs.Name], vs)
		}
		return nil
	})
	return missing
}

// family is what the manager serves under one name: the labels its series carry.
type family struct {
	typ    dto.MetricType
	labels map[string]bool
}

// check returns one problem per metric the manager does not serve and per label matcher naming a label
// its series do not carry.
func check(used map[string][]*parser.VectorSelector, served map[string]family) []string {
	var problems []string
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if scrapeSeries[name] {
			continue
		}
		f, ok := served[name]
		if !ok {
			// A histogram's series: <name>_bucket, _sum, _count.
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, cut := strings.CutSuffix(name, suffix); cut {
					if h, found := served[base]; found && h.typ == dto.MetricType_HISTOGRAM {
						f, ok = h, true
						if suffix == "_bucket" {
							f.labels = withLabel(h.labels, "le")
						}
					}
				}
			}
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("%s is used but the manager does not serve it", name))
			continue
		}
		for _, vs := range used[name] {
			for _, m := range vs.LabelMatchers {
				if m.Name != model.MetricNameLabel && !f.labels[m.Name] && !targetLabels[m.Name] {
					problems = append(problems, fmt.Sprintf("%s: %s has no label %s", vs, name, m.Name))
				}
			}
		}
	}
	return problems
}

func withLabel(ls map[string]bool, l string) map[string]bool {
	out := map[string]bool{l: true}
	for k := range ls {
		out[k] = true
	}
	return out
}

// manager registers the manager's collectors (controllers.ManagerCollectors as cmd/manager registers them,
// the in-process executor's engine counters, and controller-runtime's registry with the IMAP operation
// metrics), creates one object of each kind on a real kube-apiserver, and returns what a scrape gathers.
func manager(t *testing.T) map[string]family {
	t.Helper()
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)

	c, err := cache.New(env.Config, cache.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	migrations := controllers.NewMigrationMetrics(c)
	progress := controllers.NewMigrationProgressCounters()
	if err := progress.Watch(ctx, c); err != nil {
		t.Fatal(err)
	}
	collectors := append(controllers.ManagerCollectors(c, migrations, progress), enginemetrics.New().Collectors()...)
	reg.MustRegister(collectors...)
	go func() { _ = c.Start(ctx) }()

	const ns = "observability"
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	for _, o := range oneOfEachKind(ns) {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatalf("create %T: %v", o, err)
		}
	}
	setStatus(t, env.Client, &mailshiftv1.MailboxMigration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mig"}}, func(m *mailshiftv1.MailboxMigration) {
		m.Status.Phase = mailshiftv1.PhaseFailed
		m.Status.Progress = &mailshiftv1.Progress{ItemsTotal: 10, ItemsCopied: 4, ItemsFailed: 1, BytesCopied: 4000, BytesTotal: 10000}
		m.Status.Conditions = []metav1.Condition{{Type: mailshiftv1.ConditionStalled, Status: metav1.ConditionTrue, Reason: "RunFailed",
			Message: "gave up", LastTransitionTime: metav1.Now()}}
	})
	setStatus(t, env.Client, &mailshiftv1.FreeBusyPublication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fb"}}, func(f *mailshiftv1.FreeBusyPublication) {
		f.Status.LastPublishTime = &metav1.Time{Time: time.Now()}
	})
	// The IMAP operation metrics have series once an operation happened.
	opmetrics.Observe("login", ns+"/s", time.Now(), nil)
	opmetrics.DriftCorrected(ns, 1)

	gatherers := prometheus.Gatherers{reg, ctrlmetrics.Registry}
	deadline := time.Now().Add(30 * time.Second)
	for {
		served := map[string]family{}
		families, err := gatherers.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			ls := map[string]bool{}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					ls[l.GetName()] = true
				}
			}
			served[f.GetName()] = family{typ: f.GetType(), labels: ls}
		}
		// Everything the cache feeds is there once it has seen the objects and their statuses.
		if _, ok := served["mailshift_freebusy_last_publish_timestamp_seconds"]; ok {
			if _, ok := served["mailshift_mailboxmigration_items"]; ok {
				described(t, collectors, served)
				return served
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collectors never served the objects' series; served: %v", served)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var (
	descName   = regexp.MustCompile(`fqName: "([^"]+)"`)
	descLabels = regexp.MustCompile(`variableLabels: \{([^}]*)\}`)
)

// described adds the metrics collectors describe but serve no series of yet: a counter by label (failures
// by reason, say) has none until the first event. They are served, just not yet; each is logged.
func described(t *testing.T, collectors []prometheus.Collector, served map[string]family) {
	t.Helper()
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range collectors {
			c.Describe(ch)
		}
		close(ch)
	}()
	for d := range ch {
		m := descName.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read a metric name from %s", d)
		}
		if _, ok := served[m[1]]; ok {
			continue
		}
		ls := map[string]bool{}
		if l := descLabels.FindStringSubmatch(d.String()); l != nil {
			for _, name := range strings.Split(l[1], ",") {
				if name = strings.TrimSpace(name); name != "" {
					ls[name] = true
				}
			}
		}
		t.Logf("%s is described but has no series yet (labels %v)", m[1], ls)
		served[m[1]] = family{typ: dto.MetricType_UNTYPED, labels: ls}
	}
}

func setStatus[T client.Object](t *testing.T, c client.Client, obj T, f func(T)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		f(obj)
		return c.Status().Update(context.Background(), obj)
	})
	if err != nil {
		t.Fatalf("status of %s: %v", obj.GetName(), err)
	}
}

// oneOfEachKind is one valid object of every mailshift kind.
func oneOfEachKind(ns string) []client.Object {
	mailbox := mailshiftv1.LocalObjectRef{Name: "m"}
	return []client.Object{
		&mailshiftv1.MailServer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "s"},
			Spec: mailshiftv1.MailServerSpec{Host: "127.0.0.1", Port: 1, TLS: mailshiftv1.TLSImplicit}},
		&mailshiftv1.Mailbox{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "m"},
			Spec: mailshiftv1.MailboxSpec{ServerRef: mailshiftv1.ServerRef{Name: "s"}, Login: "m"}},
		&mailshiftv1.FolderShare{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fs"},
			Spec: mailshiftv1.FolderShareSpec{MailboxRef: mailbox, Folder: "INBOX",
				Grants: []mailshiftv1.Grant{{Grantee: "anyone", Rights: []mailshiftv1.Right{mailshiftv1.RightLookup}}}}},
		&mailshiftv1.FreeBusyPublication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fb"},
			Spec: mailshiftv1.FreeBusyPublicationSpec{MailboxRef: mailbox,
				FTP: mailshiftv1.FTPTarget{Host: "127.0.0.1", CredentialsSecretRef: mailshiftv1.CredentialsSecretRef{Name: "ftp"}}}},
		&mailshiftv1.MailboxMigration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mig"},
			Spec: mailshiftv1.MailboxMigrationSpec{MailboxRef: mailbox,
				MigrationSettings: mailshiftv1.MigrationSettings{Source: mailshiftv1.MigrationSource{PST: &mailshiftv1.PSTSource{
					Volume: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "archives"}},
					Path:   "m.pst"}}}}},
		&mailshiftv1.MigrationBatch{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "batch"},
			Spec: mailshiftv1.MigrationBatchSpec{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
				Template: mailshiftv1.MigrationTemplate{Spec: mailshiftv1.MigrationSettings{Source: mailshiftv1.MigrationSource{PST: &mailshiftv1.PSTSource{
					Volume: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "archives"}},
					Path:   "{{.Login}}.pst"}}}}}},
		&mailshiftv1.SyncPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sync"},
			Spec: mailshiftv1.SyncPolicySpec{SourceRef: mailbox, TargetRef: mailshiftv1.LocalObjectRef{Name: "m2"},
				Interval: metav1.Duration{Duration: 15 * time.Minute}}},
	}
}

// TestAlertsFire evaluates each alert's expression with Prometheus' own engine on series as two manager
// replicas would serve them: each alert fires once per object (not per replica) for what it is about, and not
// for what it is not about. (The rules' `for` is Prometheus' business; this is the expression.)
func TestAlertsFire(t *testing.T) {
	exprs := map[string]string{}
	for _, r := range rules(t) {
		exprs[r.Alert] = strings.Join(strings.Fields(r.Expr), " ")
	}
	series := `
load 1m
	mailshift_resource_stalled{kind="MailboxMigration", namespace="a", name="m1", reason="RunFailed", instance="p1"} 1x10
	mailshift_resource_stalled{kind="MailboxMigration", namespace="a", name="m1", reason="RunFailed", instance="p2"} 1x10
	mailshift_mailboxmigration_phase{namespace="a", name="m1", phase="Failed", instance="p1"} 1x10
	mailshift_mailboxmigration_phase{namespace="a", name="m1", phase="Failed", instance="p2"} 1x10
	mailshift_resource_stalled{kind="MailboxMigration", namespace="a", name="m2", reason="MailboxNotReady", instance="p1"} 1x10
	mailshift_mailboxmigration_phase{namespace="a", name="m2", phase="Pending", instance="p1"} 1x10
	mailshift_resource_stalled{kind="MailboxMigration", namespace="a", name="m3", reason="Progressing", instance="p1"} 0x10
	mailshift_mailboxmigration_phase{namespace="a", name="m3", phase="Running", instance="p1"} 1x10
	mailshift_resource_stalled{kind="Mailbox", namespace="a", name="m1", reason="AuthenticationFailed", instance="p1"} 1x10
	mailshift_resource_stalled{kind="Mailbox", namespace="a", name="m1", reason="AuthenticationFailed", instance="p2"} 1x10
	mailshift_freebusy_last_publish_timestamp_seconds{namespace="a", name="stale", instance="p1"} 0x10
	mailshift_freebusy_last_publish_timestamp_seconds{namespace="a", name="stale", instance="p2"} 0x10
	mailshift_freebusy_publish_interval_seconds{namespace="a", name="stale", instance="p1"} 60x10
	mailshift_freebusy_publish_interval_seconds{namespace="a", name="stale", instance="p2"} 60x10
	mailshift_freebusy_last_publish_timestamp_seconds{namespace="a", name="fresh", instance="p1"} 250x10
	mailshift_freebusy_publish_interval_seconds{namespace="a", name="fresh", instance="p1"} 60x10
	up{job="mailshift-metrics", instance="p1"} 0x10
	up{job="mailshift-metrics", instance="p2"} 1 1 1 1 0 0 0 0 0 0 0
	up{job="other", instance="o1"} 1x10
`
	script := series + `
eval instant at 5m ` + exprs["MailshiftMigrationFailed"] + `
	{namespace="a", name="m1", reason="RunFailed"} 1

eval instant at 5m ` + exprs["MailshiftObjectStalled"] + `
	{kind="MailboxMigration", namespace="a", name="m2", reason="MailboxNotReady"} 1
	{kind="Mailbox", namespace="a", name="m1", reason="AuthenticationFailed"} 1

eval instant at 5m ` + exprs["MailshiftFreeBusyNotRepublished"] + `
	{namespace="a", name="stale"} 300

eval instant at 3m ` + exprs["MailshiftManagerDown"] + `

eval instant at 5m ` + exprs["MailshiftManagerDown"] + `
	{} 1
`
	if len(exprs) != 4 {
		t.Fatalf("alerts %v: this test knows four; give a new one its scenario", exprs)
	}
	promqltest.RunTest(t, script, promqltest.NewTestEngine(t, false, 0, 100000))
}
