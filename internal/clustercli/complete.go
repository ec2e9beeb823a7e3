package clustercli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// completeNames completes the NAME argument of a cluster command with the names of objects in the
// command's namespace (prefixed "batch/" and so on for the other kinds a command takes), as kubectl
// completes its own. Completion must never hang a shell: one short request per kind, errors ignored.
func completeNames(kf *kubeFlags, kinds map[string]schema.GroupVersionResource) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cl, err := kf.connect()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var names []string
		for prefix, gvr := range kinds {
			l, err := cl.dyn.Resource(gvr).Namespace(cl.namespace).List(ctx, metav1.ListOptions{Limit: 500})
			if err != nil {
				continue
			}
			for _, item := range l.Items {
				if name := prefix + item.GetName(); strings.HasPrefix(name, toComplete) {
					names = append(names, name)
				}
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
