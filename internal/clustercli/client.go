package clustercli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/clicommon"
	"github.com/mailshift/mailshift/internal/version"
)

// The cluster commands talk to the API server through client-go's dynamic client and convert to the API
// types themselves. The typed clients (client-go's kubernetes/scheme, controller-runtime's client) register
// every built-in API group when the process starts, which would cost every mailshift command, a PST export
// as much as `mailshift status`, several milliseconds of start-up (see TestCLIStartsWithoutKubernetesSchemes).

var (
	gvrMailbox    = mailshiftv1.GroupVersion.WithResource("mailboxes")
	gvrMigration  = mailshiftv1.GroupVersion.WithResource("mailboxmigrations")
	gvrBatch      = mailshiftv1.GroupVersion.WithResource("migrationbatches")
	gvrSyncPolicy = mailshiftv1.GroupVersion.WithResource("syncpolicies")
	gvrConfigMap  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
)

const (
	// requestTimeout bounds every request to the API server.
	requestTimeout = 30 * time.Second
	// maxListedPerKind bounds what status reads: a list that long is not read by a person, and the rest is
	// said to be left out.
	maxListedPerKind = 20000
	listPageSize     = 500
)

// kubeFlags are the kubectl-style connection flags of the cluster commands.
type kubeFlags struct {
	kubeconfig    string
	context       string
	namespace     string
	allNamespaces bool
}

// register adds --kubeconfig, --context and -n/--namespace. They are the root command's persistent flags,
// so that they may also come before the command, as in `kubectl mailshift -n team-a status` (kubectl
// passes everything after the plugin's name to the plugin).
func (k *kubeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&k.kubeconfig, "kubeconfig", "", "path to the kubeconfig file of the cluster commands (default: $KUBECONFIG, else ~/.kube/config)")
	fs.StringVar(&k.context, "context", "", "the kubeconfig context to use (default: its current context)")
	fs.StringVarP(&k.namespace, "namespace", "n", "", "the namespace (default: the context's namespace, else default)")
}

// cluster is a connection to the API server with the namespace the command works in.
type cluster struct {
	dyn       dynamic.Interface
	namespace string // "" with -A
	host      string
}

// connect loads the kubeconfig as kubectl does ($KUBECONFIG, ~/.kube/config, --kubeconfig, --context) and
// makes a client whose every request is bounded in time.
func (k *kubeFlags) connect() (*cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = k.kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: k.context}
	if k.namespace != "" {
		overrides.Context.Namespace = k.namespace
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, clicommon.Failed("kubeconfig: %v", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, clicommon.Failed("kubeconfig: %v", err)
	}
	if k.allNamespaces {
		ns = metav1.NamespaceAll
	}
	cfg.Timeout = requestTimeout
	cfg.UserAgent = "mailshift/" + version.Get().Version
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, clicommon.Failed("kubeconfig: %v", err)
	}
	return &cluster{dyn: dyn, namespace: ns, host: cfg.Host}, nil
}

// commandContext ends on Ctrl-C or SIGTERM.
func commandContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// get reads one object into out (an API type).
func (c *cluster) get(ctx context.Context, gvr schema.GroupVersionResource, name string, out any) error {
	return c.getIn(ctx, gvr, c.namespace, name, out)
}

// getIn is get in the given namespace, for commands that follow an object of another namespace (-A).
func (c *cluster) getIn(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string, out any) error {
	u, err := c.dyn.Resource(gvr).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		in := *c
		in.namespace = namespace
		return in.explain(err, gvr, name)
	}
	return fromUnstructured(u, out)
}

// list reads every object of a kind in the command's namespace (all with -A), page by page, at most
// maxListedPerKind; more says whether some were left out.
func (c *cluster) list(ctx context.Context, gvr schema.GroupVersionResource) (items []unstructured.Unstructured, more bool, err error) {
	return c.listSelected(ctx, gvr, "")
}

// listSelected is list of the objects whose labels match selector ("" matches all).
func (c *cluster) listSelected(ctx context.Context, gvr schema.GroupVersionResource, selector string) (items []unstructured.Unstructured, more bool, err error) {
	opts := metav1.ListOptions{Limit: listPageSize, LabelSelector: selector}
	for {
		l, err := c.dyn.Resource(gvr).Namespace(c.namespace).List(ctx, opts)
		if err != nil {
			return nil, false, c.explain(err, gvr, "")
		}
		items = append(items, l.Items...)
		if len(items) >= maxListedPerKind {
			return items[:maxListedPerKind], l.GetContinue() != "" || len(items) > maxListedPerKind, nil
		}
		if l.GetContinue() == "" {
			return items, false, nil
		}
		opts.Continue = l.GetContinue()
	}
}

// explain turns an API error into a failure a person can act on.
func (c *cluster) explain(err error, gvr schema.GroupVersionResource, name string) error {
	what := gvr.Resource
	if name != "" {
		what = fmt.Sprintf("%s %q", singular(gvr), name)
	}
	where := fmt.Sprintf("namespace %q", c.namespace)
	if c.namespace == "" {
		where = "any namespace"
	}
	switch {
	case apierrors.IsNotFound(err) && name != "":
		return clicommon.Failure{Err: &wrapped{fmt.Sprintf("%s not found in %s", what, where), err}}
	case apierrors.IsNotFound(err):
		return clicommon.Failure{Err: &wrapped{fmt.Sprintf("the API server at %s does not serve %s: are mailshift's CRDs installed?", c.host, gvr.GroupResource()), err}}
	}
	return clicommon.Failed("%s in %s: %w", what, where, err)
}

// wrapped says msg for err and keeps err for errors.Is and errors.As (apierrors.IsNotFound).
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

func singular(gvr schema.GroupVersionResource) string {
	switch gvr {
	case gvrMailbox:
		return "mailbox"
	case gvrMigration:
		return "mailboxmigration"
	case gvrBatch:
		return "migrationbatch"
	case gvrSyncPolicy:
		return "syncpolicy"
	case gvrConfigMap:
		return "configmap"
	}
	return gvr.Resource
}

func fromUnstructured(u *unstructured.Unstructured, out any) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
		return clicommon.Failed("%s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return nil
}
