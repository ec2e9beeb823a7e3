package clustercli

import (
	"fmt"
	"io"
	"strings"

	"github.com/mailshift/mailshift/internal/clicommon"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// suspendKinds are the kinds suspend and resume act on, by the names a person may use (kubectl's resource
// names, short names and kinds).
var suspendKinds = map[string]schema.GroupVersionResource{
	"migration": gvrMigration, "mailboxmigration": gvrMigration, "mailboxmigrations": gvrMigration, "mmig": gvrMigration,
	"batch": gvrBatch, "migrationbatch": gvrBatch, "migrationbatches": gvrBatch, "mbatch": gvrBatch,
	"syncpolicy": gvrSyncPolicy, "syncpolicies": gvrSyncPolicy, "syncp": gvrSyncPolicy,
}

func newSuspendCommand(kf *kubeFlags, suspend bool, stdout io.Writer) *cobra.Command {
	out := clicommon.OutputFormat("table")
	kind := ""
	verb, doing := "resume", "Continue"
	if suspend {
		verb, doing = "suspend", "Stop"
	}
	c := &cobra.Command{
		Use:   verb + " NAME | KIND/NAME [flags]",
		Short: doing + " a MailboxMigration, MigrationBatch (batch/NAME) or SyncPolicy (syncpolicy/NAME)",
		Long: fmt.Sprintf(`%ss a MailboxMigration (NAME), a MigrationBatch (batch/NAME or --kind batch) or a SyncPolicy
(syncpolicy/NAME) by setting or clearing its spec.suspend with a merge patch, and prints the result. A
suspended migration stops its worker and keeps its checkpoint; resuming continues where it stopped. A
suspended batch starts no new migrations and suspends its running ones.`, doing),
		Args: clicommon.OneName("object to " + verb),
		RunE: func(_ *cobra.Command, args []string) error {
			gvr, name, err := suspendTarget(args[0], kind)
			if err != nil {
				return err
			}
			cl, err := kf.connect()
			if err != nil {
				return err
			}
			ctx, cancel := commandContext()
			defer cancel()
			// Resuming removes the field rather than writing false: the object reads as it did before.
			patch := []byte(`{"spec":{"suspend":null}}`)
			if suspend {
				patch = []byte(`{"spec":{"suspend":true}}`)
			}
			u, err := cl.dyn.Resource(gvr).Namespace(cl.namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "mailshift-cli"})
			if err != nil {
				return cl.explain(err, gvr, name)
			}
			now, _, _ := unstructured.NestedBool(u.Object, "spec", "suspend")
			result := struct {
				Kind      string `json:"kind"`
				Namespace string `json:"namespace"`
				Name      string `json:"name"`
				Suspend   bool   `json:"suspend"`
			}{u.GetKind(), u.GetNamespace(), u.GetName(), now}
			if out == "json" {
				return clicommon.WriteJSON(stdout, result)
			}
			state := "resumed"
			if now {
				state = "suspended"
			}
			fmt.Fprintf(stdout, "%s.%s/%s %s (spec.suspend: %v)\n", strings.ToLower(result.Kind), gvr.Group, result.Name, state, now)
			return nil
		},
	}
	c.Flags().StringVar(&kind, "kind", "", "the kind of NAME: migration (default), batch or syncpolicy")
	clicommon.AddOutputFlag(c.Flags(), &out)
	c.ValidArgsFunction = completeNames(kf, map[string]schema.GroupVersionResource{"": gvrMigration, "batch/": gvrBatch, "syncpolicy/": gvrSyncPolicy})
	return c
}

// suspendTarget resolves NAME or KIND/NAME (and --kind) to a resource and a name.
func suspendTarget(arg, kindFlag string) (schema.GroupVersionResource, string, error) {
	name := arg
	kind := strings.ToLower(kindFlag)
	if k, n, ok := strings.Cut(arg, "/"); ok {
		if kind != "" && suspendKinds[kind] != suspendKinds[strings.ToLower(k)] {
			return schema.GroupVersionResource{}, "", fmt.Errorf("%q names a %s, but --kind says %s", arg, k, kindFlag)
		}
		kind, name = strings.ToLower(k), n
	}
	if kind == "" {
		kind = "migration"
	}
	gvr, ok := suspendKinds[kind]
	if !ok {
		return gvr, "", fmt.Errorf("unknown kind %q: migration, batch or syncpolicy", kind)
	}
	// A malformed name would only come back as a confusing 404 or a different path.
	if name == "" || len(name) > 253 || strings.ContainsAny(name, "/ ") {
		return gvr, "", fmt.Errorf("%q is not an object name", name)
	}
	return gvr, name, nil
}
