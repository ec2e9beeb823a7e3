package clustercli

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/clicommon"
)

const statusLong = `Shows the MigrationBatches, MailboxMigrations and SyncPolicies of a namespace (every namespace with -A):
each migration with a progress bar (items done of the total; done counts copied, already present, skipped
and failed items), its rate in items per second over the run so far (from status.startTime to the last
progress report, or to the completion) and the time the rest needs at that rate.

-o json prints the same as one JSON document: {"batches":[...],"migrations":[...],"syncPolicies":[...]}.`

func newStatusCommand(kf *kubeFlags, stdout io.Writer) *cobra.Command {
	out := clicommon.OutputFormat("table")
	c := &cobra.Command{
		Use:   "status [flags]",
		Short: "Show migration batches, migrations and sync policies with progress, rate and ETA",
		Long:  statusLong,
		Args:  clicommon.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cl, err := kf.connect()
			if err != nil {
				return err
			}
			ctx, cancel := commandContext()
			defer cancel()
			st, err := readStatus(ctx, cl)
			if err != nil {
				return err
			}
			if out == "json" {
				return clicommon.WriteJSON(stdout, st)
			}
			st.print(stdout, cl.namespace, time.Now())
			return nil
		},
	}
	c.Flags().BoolVarP(&kf.allNamespaces, "all-namespaces", "A", false, "list the objects of every namespace")
	clicommon.AddOutputFlag(c.Flags(), &out)
	return c
}

// clusterStatus is what `mailshift status` shows.
type clusterStatus struct {
	Batches      []batchRow      `json:"batches"`
	Migrations   []migrationRow  `json:"migrations"`
	SyncPolicies []syncPolicyRow `json:"syncPolicies"`
	// Truncated names the kinds of which more objects exist than were listed.
	Truncated []string `json:"truncated,omitempty"`
}

type batchRow struct {
	Namespace   string       `json:"namespace"`
	Name        string       `json:"name"`
	Ready       string       `json:"ready"`
	Message     string       `json:"message,omitempty"`
	Suspended   bool         `json:"suspended"`
	Total       int32        `json:"total"`
	Pending     int32        `json:"pending"`
	Running     int32        `json:"running"`
	Succeeded   int32        `json:"succeeded"`
	Failed      int32        `json:"failed"`
	BytesCopied int64        `json:"bytesCopied"`
	BytesTotal  int64        `json:"bytesTotal"`
	ETA         *metav1.Time `json:"eta,omitempty"`
}

type migrationRow struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Batch     string `json:"batch,omitempty"`
	Mailbox   string `json:"mailbox"`
	Phase     string `json:"phase"`
	Ready     string `json:"ready"`
	Reason    string `json:"reason,omitempty"`
	Suspended bool   `json:"suspended"`
	// ItemsDone counts copied, already present, skipped and failed items: those the run is through with.
	ItemsDone   int64 `json:"itemsDone"`
	ItemsTotal  int64 `json:"itemsTotal"`
	ItemsCopied int64 `json:"itemsCopied"`
	ItemsFailed int64 `json:"itemsFailed"`
	BytesCopied int64 `json:"bytesCopied"`
	// ItemsPerSecond is the rate over the run so far; 0 when it is not known yet.
	ItemsPerSecond float64 `json:"itemsPerSecond"`
	// ETASeconds is how long the rest needed at that rate when the worker last reported; ETA when that is.
	ETASeconds      *int64       `json:"etaSeconds,omitempty"`
	ETA             *metav1.Time `json:"eta,omitempty"`
	ReportConfigMap string       `json:"reportConfigMap,omitempty"`
}

type syncPolicyRow struct {
	Namespace    string       `json:"namespace"`
	Name         string       `json:"name"`
	Ready        string       `json:"ready"`
	Message      string       `json:"message,omitempty"`
	Suspended    bool         `json:"suspended"`
	Direction    string       `json:"direction,omitempty"`
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	NextSyncTime *metav1.Time `json:"nextSyncTime,omitempty"`
	Conflicts    int64        `json:"conflicts"`
}

func readStatus(ctx context.Context, cl *cluster) (*clusterStatus, error) {
	st := &clusterStatus{Batches: []batchRow{}, Migrations: []migrationRow{}, SyncPolicies: []syncPolicyRow{}}
	batches, more, err := cl.list(ctx, gvrBatch)
	if err != nil {
		return nil, err
	}
	if more {
		st.Truncated = append(st.Truncated, "migrationbatches")
	}
	for i := range batches {
		var b mailshiftv1.MigrationBatch
		if err := fromUnstructured(&batches[i], &b); err != nil {
			return nil, err
		}
		st.Batches = append(st.Batches, newBatchRow(&b))
	}
	migrations, more, err := cl.list(ctx, gvrMigration)
	if err != nil {
		return nil, err
	}
	if more {
		st.Truncated = append(st.Truncated, "mailboxmigrations")
	}
	for i := range migrations {
		var m mailshiftv1.MailboxMigration
		if err := fromUnstructured(&migrations[i], &m); err != nil {
			return nil, err
		}
		st.Migrations = append(st.Migrations, newMigrationRow(&m))
	}
	policies, more, err := cl.list(ctx, gvrSyncPolicy)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	if more {
		st.Truncated = append(st.Truncated, "syncpolicies")
	}
	for i := range policies {
		var p mailshiftv1.SyncPolicy
		if err := fromUnstructured(&policies[i], &p); err != nil {
			return nil, err
		}
		ready, msg := readyOf(p.Status.Conditions)
		st.SyncPolicies = append(st.SyncPolicies, syncPolicyRow{Namespace: p.Namespace, Name: p.Name, Ready: ready, Message: msg,
			Suspended: p.Spec.Suspend, Direction: string(p.Spec.Direction), LastSyncTime: p.Status.LastSyncTime,
			NextSyncTime: p.Status.NextSyncTime, Conflicts: p.Status.Conflicts})
	}
	sort.Slice(st.Batches, func(i, j int) bool {
		return less(st.Batches[i].Namespace, st.Batches[i].Name, st.Batches[j].Namespace, st.Batches[j].Name)
	})
	sort.Slice(st.Migrations, func(i, j int) bool {
		return less(st.Migrations[i].Namespace, st.Migrations[i].Name, st.Migrations[j].Namespace, st.Migrations[j].Name)
	})
	sort.Slice(st.SyncPolicies, func(i, j int) bool {
		return less(st.SyncPolicies[i].Namespace, st.SyncPolicies[i].Name, st.SyncPolicies[j].Namespace, st.SyncPolicies[j].Name)
	})
	return st, nil
}

func less(ns1, n1, ns2, n2 string) bool {
	if ns1 != ns2 {
		return ns1 < ns2
	}
	return n1 < n2
}

// readyOf returns the Ready condition's status ("Unknown" when there is none yet) and message.
func readyOf(conds []metav1.Condition) (string, string) {
	c := meta.FindStatusCondition(conds, mailshiftv1.ConditionReady)
	if c == nil {
		return string(metav1.ConditionUnknown), ""
	}
	return string(c.Status), c.Message
}

func newBatchRow(b *mailshiftv1.MigrationBatch) batchRow {
	ready, msg := readyOf(b.Status.Conditions)
	s := b.Status
	return batchRow{Namespace: b.Namespace, Name: b.Name, Ready: ready, Message: msg, Suspended: b.Spec.Suspend,
		Total: s.Total, Pending: s.Pending, Running: s.Running, Succeeded: s.Succeeded, Failed: s.Failed,
		BytesCopied: s.BytesCopied, BytesTotal: s.BytesTotal, ETA: s.ETA}
}

func newMigrationRow(m *mailshiftv1.MailboxMigration) migrationRow {
	ready, _ := readyOf(m.Status.Conditions)
	row := migrationRow{Namespace: m.Namespace, Name: m.Name, Mailbox: m.Spec.MailboxRef.Name, Phase: string(m.Status.Phase),
		Ready: ready, Suspended: m.Spec.Suspend, ReportConfigMap: m.Status.ReportConfigMap}
	if c := meta.FindStatusCondition(m.Status.Conditions, mailshiftv1.ConditionReady); c != nil {
		row.Reason = c.Reason
	}
	if row.Phase == "" {
		row.Phase = string(mailshiftv1.PhasePending)
	}
	for _, o := range m.OwnerReferences {
		if o.Kind == "MigrationBatch" {
			row.Batch = o.Name
		}
	}
	if p := m.Status.Progress; p != nil {
		row.ItemsDone = p.ItemsCopied + p.ItemsSkipped + p.ItemsFailed
		row.ItemsTotal, row.ItemsCopied, row.ItemsFailed, row.BytesCopied = p.ItemsTotal, p.ItemsCopied, p.ItemsFailed, p.BytesCopied
	}
	if rate, eta, at, ok := rateAndETA(m.Status); ok {
		row.ItemsPerSecond = math.Round(rate*100) / 100
		if eta >= 0 {
			secs := int64(math.Ceil(eta.Seconds()))
			row.ETASeconds = &secs
			when := metav1.NewTime(at.Add(eta).Truncate(time.Second))
			row.ETA = &when
		}
	}
	return row
}

// rateAndETA computes a migration's rate from its status timestamps: the items done over the time from
// status.startTime to the worker's last progress report (status.progress.updateTime), or to the completion
// when the run ended. eta is how long the rest needs at that rate, counted from at (the report's time); it
// is -1 when the run is over or nothing is left. ok is false until there is a rate.
func rateAndETA(st mailshiftv1.MailboxMigrationStatus) (rate float64, eta time.Duration, at time.Time, ok bool) {
	p := st.Progress
	if p == nil || st.StartTime == nil {
		return 0, 0, time.Time{}, false
	}
	done := p.ItemsCopied + p.ItemsSkipped + p.ItemsFailed
	switch {
	case st.CompletionTime != nil:
		at = st.CompletionTime.Time
	case p.UpdateTime != nil:
		at = p.UpdateTime.Time
	default:
		return 0, 0, time.Time{}, false
	}
	elapsed := at.Sub(st.StartTime.Time)
	if elapsed <= 0 || done <= 0 {
		return 0, 0, time.Time{}, false
	}
	rate = float64(done) / elapsed.Seconds()
	left := p.ItemsTotal - done
	if st.CompletionTime != nil || left <= 0 {
		return rate, -1, at, true
	}
	return rate, time.Duration(float64(left) / rate * float64(time.Second)), at, true
}

// progressBar draws done of total as "[#####...............]  25%".
func progressBar(done, total int64, width int) string {
	frac := 0.0
	if total > 0 {
		frac = math.Min(1, math.Max(0, float64(done)/float64(total)))
	}
	filled := int(frac * float64(width))
	return fmt.Sprintf("[%s%s] %3.0f%%", strings.Repeat("#", filled), strings.Repeat(".", width-filled), math.Floor(frac*100))
}

// print writes the tables; namespace is "" with -A, which adds a NAMESPACE column.
func (st *clusterStatus) print(w io.Writer, namespace string, now time.Time) {
	all := namespace == ""
	nsCol := func(ns string) string {
		if all {
			return clicommon.TerminalSafe(ns) + "\t"
		}
		return ""
	}
	nsHead := ""
	if all {
		nsHead = "NAMESPACE\t"
	}
	if len(st.Batches)+len(st.Migrations)+len(st.SyncPolicies) == 0 {
		where := fmt.Sprintf("namespace %s", namespace)
		if all {
			where = "any namespace"
		}
		fmt.Fprintf(w, "No MigrationBatches, MailboxMigrations or SyncPolicies in %s.\n", where)
		return
	}
	section := false
	newSection := func(title string) *tabwriter.Writer {
		if section {
			fmt.Fprintln(w)
		}
		section = true
		fmt.Fprintln(w, title)
		return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	}
	if len(st.Batches) > 0 {
		tw := newSection("MIGRATION BATCHES")
		fmt.Fprintln(tw, nsHead+"NAME\tREADY\tPROGRESS\tMIGRATIONS\tRUNNING\tSUCCEEDED\tFAILED\tBYTES\tETA")
		for _, b := range st.Batches {
			eta := "-"
			if b.ETA != nil && b.Succeeded+b.Failed < b.Total {
				eta = shortDuration(b.ETA.Sub(now))
			}
			ready := b.Ready
			if b.Suspended {
				ready += " (suspended)"
			}
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t%d/%d\t%d\t%d\t%d\t%s\t%s\n", nsCol(b.Namespace), clicommon.TerminalSafe(b.Name), ready,
				progressBar(int64(b.Succeeded+b.Failed), int64(b.Total), 20), b.Succeeded+b.Failed, b.Total, b.Running, b.Succeeded, b.Failed,
				bytesOf(b.BytesCopied, b.BytesTotal), eta)
		}
		tw.Flush()
	}
	if len(st.Migrations) > 0 {
		tw := newSection("MAILBOX MIGRATIONS")
		fmt.Fprintln(tw, nsHead+"NAME\tBATCH\tPHASE\tPROGRESS\tITEMS\tFAILED\tRATE\tETA")
		for _, m := range st.Migrations {
			phase := m.Phase
			if m.Suspended && phase != string(mailshiftv1.PhaseSuspended) {
				phase += " (suspending)"
			}
			rate, eta := "-", "-"
			if m.ItemsPerSecond > 0 {
				rate = fmt.Sprintf("%.1f/s", m.ItemsPerSecond)
			}
			if m.ETA != nil && m.Phase == string(mailshiftv1.PhaseRunning) {
				eta = shortDuration(m.ETA.Sub(now))
			}
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%d/%d\t%d\t%s\t%s\n", nsCol(m.Namespace), clicommon.TerminalSafe(m.Name), orDash(clicommon.TerminalSafe(m.Batch)),
				phase, progressBar(m.ItemsDone, m.ItemsTotal, 20), m.ItemsDone, m.ItemsTotal, m.ItemsFailed, rate, eta)
		}
		tw.Flush()
	}
	if len(st.SyncPolicies) > 0 {
		tw := newSection("SYNC POLICIES")
		fmt.Fprintln(tw, nsHead+"NAME\tREADY\tDIRECTION\tSUSPENDED\tLAST SYNC\tNEXT SYNC\tCONFLICTS")
		for _, p := range st.SyncPolicies {
			last, next := "-", "-"
			if p.LastSyncTime != nil {
				last = shortDuration(now.Sub(p.LastSyncTime.Time)) + " ago"
			}
			if p.NextSyncTime != nil && !p.Suspended {
				next = "in " + shortDuration(p.NextSyncTime.Sub(now))
			}
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t%v\t%s\t%s\t%d\n", nsCol(p.Namespace), clicommon.TerminalSafe(p.Name), p.Ready, orDash(p.Direction),
				p.Suspended, last, next, p.Conflicts)
		}
		tw.Flush()
	}
	if len(st.Truncated) > 0 {
		fmt.Fprintf(w, "\nOnly the first %d of each are listed: there are more %s.\n", maxListedPerKind, strings.Join(st.Truncated, " and "))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func bytesOf(done, total int64) string {
	if total <= 0 {
		return clicommon.HumanBytes(done)
	}
	return clicommon.HumanBytes(done) + "/" + clicommon.HumanBytes(total)
}

// shortDuration rounds a duration for a person: "45s", "12m", "3h20m", "2d4h"; 0 or less is "now".
func shortDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(math.Ceil(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute)/time.Minute))
	case d < 48*time.Hour:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	d = d.Round(time.Hour)
	return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}
