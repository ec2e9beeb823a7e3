package clustercli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/clicommon"
)

func newSyncNowCommand(kf *kubeFlags, stdout io.Writer) *cobra.Command {
	out := clicommon.OutputFormat("table")
	c := &cobra.Command{
		Use:   "sync-now NAME [flags]",
		Short: "Run a SyncPolicy's cycle now, failed items included",
		Long: `Asks the operator for a cycle of the SyncPolicy NAME now, without waiting for its interval, by setting its
annotation ` + mailshiftv1.AnnotationSyncNow + ` to the current time. The cycle also tries again every item the
last one could not sync. A suspended policy runs it once resumed. Follow it with ` + "`status`" + `.`,
		Args: clicommon.OneName("SyncPolicy"),
		RunE: func(_ *cobra.Command, args []string) error {
			name := args[0]
			if len(name) > 253 || strings.ContainsAny(name, "/ ") {
				return fmt.Errorf("%q is not an object name", name)
			}
			cl, err := kf.connect()
			if err != nil {
				return err
			}
			ctx, cancel := commandContext()
			defer cancel()
			stamp := time.Now().UTC().Format(time.RFC3339Nano)
			patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{mailshiftv1.AnnotationSyncNow: stamp}}})
			u, err := cl.dyn.Resource(gvrSyncPolicy).Namespace(cl.namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "mailshift-cli"})
			if err != nil {
				return cl.explain(err, gvrSyncPolicy, name)
			}
			if out == "json" {
				return clicommon.WriteJSON(stdout, map[string]string{"namespace": u.GetNamespace(), "name": u.GetName(), "syncNow": stamp})
			}
			fmt.Fprintf(stdout, "syncpolicy.%s/%s: cycle asked for (%s=%s)\n", gvrSyncPolicy.Group, u.GetName(), mailshiftv1.AnnotationSyncNow, stamp)
			return nil
		},
	}
	clicommon.AddOutputFlag(c.Flags(), &out)
	c.ValidArgsFunction = completeNames(kf, map[string]schema.GroupVersionResource{"": gvrSyncPolicy})
	return c
}
