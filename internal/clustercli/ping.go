package clustercli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/clicommon"
)

const pingLong = `Asks the operator to check a Mailbox now, as it does every spec.checkInterval: it sets the annotation
mailshift.io/ping-request to a new token, the Mailbox controller logs in at once and records the token in
status.lastPingRequest with the check's result, and this command waits for that token (at most --timeout)
and prints the Ready condition and what the server offers.
Exit codes: 0 the Mailbox is Ready; 1 it is not, or the operator did not answer in time; 2 bad usage.

To check an IMAP account directly, without Kubernetes, use mailshift ping imap://USER@HOST:PORT.`

// newPingCommand is `ping MAILBOX`, the operator's check of a Mailbox. An imap:// URL is the direct check
// of an account, which is mailshift's (it needs no cluster); a Mailbox name never contains "://", so the
// argument tells the two apart and the URL gets a pointer to mailshift instead of a confusing error.
func newPingCommand(kf *kubeFlags, stdout io.Writer) *cobra.Command {
	out := clicommon.OutputFormat("table")
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "ping MAILBOX [flags]",
		Short: "Have the operator check a Mailbox now, and show the result",
		Long:  pingLong,
		// The flags are parsed here, after the URL check: `ping imap://a@b --tls none` is told where to go
		// rather than that --tls is unknown.
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			if clicommon.NamesIMAPAccount(args) {
				return errors.New("the direct check of an IMAP account is not a cluster command: use mailshift ping imap://USER@HOST:PORT")
			}
			c.InheritedFlags() // merges the help flag cobra adds into c.Flags()
			if err := c.Flags().Parse(args); err != nil {
				return err
			}
			if help, _ := c.Flags().GetBool("help"); help {
				return c.Help()
			}
			if err := clicommon.OneName("Mailbox")(c, c.Flags().Args()); err != nil {
				return err
			}
			if timeout <= 0 {
				return fmt.Errorf("--timeout must be positive, not %v", timeout)
			}
			cl, err := kf.connect()
			if err != nil {
				return err
			}
			ctx, cancel := commandContext()
			defer cancel()
			res, err := pingMailbox(ctx, cl, c.Flags().Arg(0), timeout)
			if err != nil {
				return err
			}
			if out == "json" {
				if err := clicommon.WriteJSON(stdout, res); err != nil {
					return err
				}
			} else {
				res.print(stdout)
			}
			if !res.Ready {
				return clicommon.ExitCode(1)
			}
			return nil
		},
	}
	c.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "how long to wait for the operator's answer")
	clicommon.AddOutputFlag(c.Flags(), &out)
	completeMailbox := completeNames(kf, map[string]schema.GroupVersionResource{"": gvrMailbox})
	c.ValidArgsFunction = func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		// Flag parsing is the command's own here: the kubeconfig flags are read to find the cluster.
		_ = c.Flags().Parse(args)
		return completeMailbox(c, c.Flags().Args(), toComplete)
	}
	return c
}

// pingResult is the operator's answer to a ping request.
type pingResult struct {
	Namespace       string                         `json:"namespace"`
	Mailbox         string                         `json:"mailbox"`
	Token           string                         `json:"token"`
	Ready           bool                           `json:"ready"`
	Condition       *metav1.Condition              `json:"condition,omitempty"`
	CheckedAt       *metav1.Time                   `json:"checkedAt,omitempty"`
	AuthenticatedAs string                         `json:"authenticatedAs,omitempty"`
	Capabilities    []string                       `json:"capabilities"`
	Namespaces      *mailshiftv1.MailboxNamespaces `json:"namespaces,omitempty"`
	Folders         int32                          `json:"folders"`
	Messages        int64                          `json:"messages"`
	Quota           []mailshiftv1.QuotaStatus      `json:"quota,omitempty"`
	AnsweredIn      string                         `json:"answeredIn"`
}

// newPingToken is a request token the Mailbox controller accepts (letters, digits and '-', at most 64).
func newPingToken(now time.Time) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%d-%s", now.Unix(), hex.EncodeToString(b))
}

// pingMailbox sets a new ping-request token on the Mailbox and waits until its status answers it.
func pingMailbox(ctx context.Context, cl *cluster, name string, timeout time.Duration) (*pingResult, error) {
	start := time.Now()
	token := newPingToken(start)
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{mailshiftv1.PingRequestAnnotation: token}}})
	if _, err := cl.dyn.Resource(gvrMailbox).Namespace(cl.namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "mailshift-cli"}); err != nil {
		return nil, cl.explain(err, gvrMailbox, name)
	}
	wait, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 100 * time.Millisecond
	var mbx mailshiftv1.Mailbox
	for {
		err := cl.get(wait, gvrMailbox, name, &mbx)
		if err == nil && mbx.Status.LastPingRequest == token {
			break
		}
		if err != nil && wait.Err() == nil {
			return nil, err
		}
		select {
		case <-wait.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, clicommon.Failed("interrupted while waiting for the operator")
			}
			last := "it has not checked the Mailbox yet"
			if t := mbx.Status.LastCheckTime; t != nil {
				last = "its last check was at " + t.UTC().Format(time.RFC3339)
			}
			return nil, clicommon.Failed("the operator did not answer within %s (%s): is the mailshift manager running and watching namespace %s?", timeout, last, cl.namespace)
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
	st := mbx.Status
	res := &pingResult{Namespace: mbx.Namespace, Mailbox: mbx.Name, Token: token, CheckedAt: st.LastCheckTime,
		AuthenticatedAs: st.AuthenticatedAs, Capabilities: st.Capabilities, Namespaces: st.Namespaces, Folders: st.Folders,
		Messages: st.Messages, Quota: st.Quota, AnsweredIn: time.Since(start).Round(time.Millisecond).String()}
	if res.Capabilities == nil {
		res.Capabilities = []string{}
	}
	if c := meta.FindStatusCondition(st.Conditions, mailshiftv1.ConditionReady); c != nil {
		res.Condition = c
		res.Ready = c.Status == metav1.ConditionTrue
	}
	return res, nil
}

// maxCapabilitiesShown keeps the capabilities line readable; -o json has them all.
const maxCapabilitiesShown = 16

func (r *pingResult) print(w io.Writer) {
	fmt.Fprintf(w, "mailbox %s/%s, checked by the operator in %s\n", clicommon.TerminalSafe(r.Namespace), clicommon.TerminalSafe(r.Mailbox), r.AnsweredIn)
	if c := r.Condition; c != nil {
		fmt.Fprintf(w, "Ready: %s (%s) %s\n", c.Status, clicommon.TerminalSafe(c.Reason), clicommon.TerminalSafe(c.Message))
	} else {
		fmt.Fprintln(w, "Ready: Unknown (no condition yet)")
	}
	if !r.Ready {
		return
	}
	if r.AuthenticatedAs != "" {
		fmt.Fprintf(w, "authenticated as: %s\n", clicommon.TerminalSafe(r.AuthenticatedAs))
	}
	caps := make([]string, 0, len(r.Capabilities))
	for i, c := range r.Capabilities {
		if i == maxCapabilitiesShown {
			caps = append(caps, fmt.Sprintf("and %d more", len(r.Capabilities)-i))
			break
		}
		caps = append(caps, clicommon.TerminalSafe(c))
	}
	fmt.Fprintf(w, "capabilities (%d): %s\n", len(r.Capabilities), strings.Join(caps, " "))
	if r.Namespaces != nil {
		for _, n := range r.Namespaces.Personal {
			fmt.Fprintf(w, "personal namespace: %q separator %q\n", n.Prefix, n.Delimiter)
		}
	}
	fmt.Fprintf(w, "folders: %d, messages: %d\n", r.Folders, r.Messages)
	for _, q := range r.Quota {
		fmt.Fprintf(w, "quota %s %s: %d of %d\n", clicommon.TerminalSafe(q.Root), clicommon.TerminalSafe(q.Resource), q.Usage, q.Limit)
	}
}
