package clustercli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/clicommon"
	"github.com/mailshift/mailshift/worker"
)

const reportLong = `Lists the items a MailboxMigration could not copy, with their folder, identity (Message-ID, or the
position in the source), subject and reason. They come from the report ConfigMap the migration's last run
wrote (named in status.reportConfigMap); a report too large for a ConfigMap keeps its totals and as many
items as fit, and says how many it left out.

-o json prints {"namespace","migration","configMap","totals","failed":[...],"truncated","failedOmitted"}.`

// The keys of the report ConfigMap, as internal/migrationrun writes them (that package links
// controller-runtime's client, which the CLI does not; TestReportKeysMatchTheWorker keeps them equal).
const (
	reportKey        = "report.json"
	reportSummaryKey = "summary.json"
)

// maxReportJSON bounds what is read from a report ConfigMap: the API server keeps objects under 1.5 MiB.
const maxReportJSON = 2 << 20

func newReportCommand(kf *kubeFlags, stdout io.Writer) *cobra.Command {
	out := clicommon.OutputFormat("table")
	c := &cobra.Command{
		Use:   "report NAME [flags]",
		Short: "List the items a migration could not copy, from its report ConfigMap",
		Long:  reportLong,
		Args:  clicommon.OneName("MailboxMigration"),
		RunE: func(_ *cobra.Command, args []string) error {
			cl, err := kf.connect()
			if err != nil {
				return err
			}
			ctx, cancel := commandContext()
			defer cancel()
			var mig mailshiftv1.MailboxMigration
			if err := cl.get(ctx, gvrMigration, args[0], &mig); err != nil {
				return err
			}
			if mig.Status.ReportConfigMap == "" {
				return clicommon.Failed("mailboxmigration %q has no report yet (phase %s): a run writes it when it ends", mig.Name, orDash(string(mig.Status.Phase)))
			}
			var cm corev1.ConfigMap
			if err := cl.get(ctx, gvrConfigMap, mig.Status.ReportConfigMap, &cm); err != nil {
				return err
			}
			rep, err := parseReportConfigMap(&mig, &cm)
			if err != nil {
				return err
			}
			if out == "json" {
				return clicommon.WriteJSON(stdout, rep)
			}
			rep.print(stdout)
			return nil
		},
	}
	clicommon.AddOutputFlag(c.Flags(), &out)
	c.ValidArgsFunction = completeNames(kf, map[string]schema.GroupVersionResource{"": gvrMigration})
	return c
}

// migrationReport is a migration's failed items as `mailshift report` shows them.
type migrationReport struct {
	Namespace     string              `json:"namespace"`
	Migration     string              `json:"migration"`
	ConfigMap     string              `json:"configMap"`
	Source        string              `json:"source,omitempty"`
	Target        string              `json:"target,omitempty"`
	Totals        worker.Totals       `json:"totals"`
	Failed        []worker.FailedItem `json:"failed"`
	Error         string              `json:"error,omitempty"`
	Truncated     bool                `json:"truncated"`
	FailedOmitted int                 `json:"failedOmitted,omitempty"`
}

// parseReportConfigMap reads the report the worker wrote (internal/migrationrun) from its ConfigMap. A
// ConfigMap that another object owns is not this migration's report, whatever its name.
func parseReportConfigMap(mig *mailshiftv1.MailboxMigration, cm *corev1.ConfigMap) (*migrationReport, error) {
	for _, o := range cm.OwnerReferences {
		if o.Controller != nil && *o.Controller && o.UID != mig.UID {
			return nil, clicommon.Failed("configmap %q is owned by %s %q, not by this migration: not its report", cm.Name, o.Kind, o.Name)
		}
	}
	raw, ok := cm.Data[reportKey]
	if !ok {
		return nil, clicommon.Failed("configmap %q has no %s: not a migration report", cm.Name, reportKey)
	}
	if len(raw) > maxReportJSON {
		return nil, clicommon.Failed("configmap %q: the report is %d bytes, more than a report can be", cm.Name, len(raw))
	}
	var rep worker.Report
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	if err := dec.Decode(&rep); err != nil {
		return nil, clicommon.Failed("configmap %q: the report is not valid: %v", cm.Name, err)
	}
	out := &migrationReport{Namespace: mig.Namespace, Migration: mig.Name, ConfigMap: cm.Name, Source: rep.Source, Target: rep.Target,
		Totals: rep.Totals, Failed: rep.Failed, Error: rep.Error}
	if out.Failed == nil {
		out.Failed = []worker.FailedItem{}
	}
	if note, ok := cm.Data[reportSummaryKey]; ok {
		var cut struct {
			Truncated     bool `json:"truncated"`
			FailedOmitted int  `json:"failedOmitted"`
		}
		if err := json.Unmarshal([]byte(note), &cut); err == nil {
			out.Truncated, out.FailedOmitted = cut.Truncated, cut.FailedOmitted
		}
	}
	return out, nil
}

func (r *migrationReport) print(w io.Writer) {
	t := r.Totals
	fmt.Fprintf(w, "%s/%s: %d items, %d copied, %d already there, %d skipped, %d failed (ConfigMap %s)\n",
		clicommon.TerminalSafe(r.Namespace), clicommon.TerminalSafe(r.Migration), t.Items, t.Copied, t.Duplicates, t.Skipped, t.Failed, clicommon.TerminalSafe(r.ConfigMap))
	if r.Error != "" {
		fmt.Fprintf(w, "the run stopped: %s\n", clicommon.TerminalSafe(r.Error))
	}
	if len(r.Failed) == 0 {
		fmt.Fprintln(w, "No failed items.")
	} else {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FOLDER\tIDENTITY\tSUBJECT\tREASON")
		for _, f := range r.Failed {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", clicommon.TerminalSafe(f.Folder), clicommon.TerminalSafe(f.Identity), orDash(clicommon.TerminalSafe(f.Subject)), clicommon.TerminalSafe(f.Reason))
		}
		tw.Flush()
	}
	if r.Truncated && r.FailedOmitted > 0 {
		fmt.Fprintf(w, "\n%d more failed items are not listed: the report was larger than a ConfigMap holds (the totals are complete).\n", r.FailedOmitted)
	}
}
