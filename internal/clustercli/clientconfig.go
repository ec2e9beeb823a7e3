package clustercli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/atomicfile"
	"github.com/mailshift/mailshift/internal/clicommon"
	"github.com/mailshift/mailshift/internal/outlookprofile"
)

const clientConfigLong = `Writes the Outlook files the operator keeps for Mailboxes into a directory, for a software-distribution
tool to push to the desks:

  DIR/NAMESPACE/MAILBOX/outlook.prf    the Outlook profile: the mailshift connector's service with the
                                       server, port, TLS mode, login and address, and an Internet Mail
                                       account that sends through the MailServer's submission server
                                       (outlook.exe /importprf outlook.prf)
  DIR/NAMESPACE/MAILBOX/freebusy.reg   Outlook's free/busy search path, for a Mailbox with a
                                       FreeBusyPublication (reg import freebusy.reg)

Neither holds a password: the person types it in the connector's settings dialog.

Name one Mailbox, or select Mailboxes by label with -l (in the namespace, or in every namespace with -A).
The files come from the ConfigMap named in each Mailbox's status.clientConfig, checked against the hash
there. A Mailbox without one yet, or whose files do not follow its current settings (condition
ClientConfigReady False), is reported and skipped, and the command exits 1. Each file is replaced
atomically; a freebusy.reg the Mailbox no longer has is removed.

-o json prints [{"namespace","mailbox","configMap","hash","files":[...],"removed":[...],"error"}, ...].`

// clientConfigFiles are the files the command writes, and the only ones it removes.
var clientConfigFiles = []string{outlookprofile.PRFFile, outlookprofile.FreeBusyFile}

func newClientConfigCommand(kf *kubeFlags, stdout io.Writer) *cobra.Command {
	out := clicommon.OutputFormat("table")
	var dir, selector string
	c := &cobra.Command{
		Use:   "client-config (MAILBOX | -l SELECTOR) --dir DIR [flags]",
		Short: "Write Mailboxes' Outlook profile files into a directory, for software distribution",
		Long:  clientConfigLong,
		Args: func(_ *cobra.Command, args []string) error {
			switch {
			case len(args) > 1:
				return fmt.Errorf("need one Mailbox name, got %d arguments (%s)", len(args), strings.Join(args, " "))
			case len(args) == 1 && selector != "":
				return errors.New("name a Mailbox or select Mailboxes with -l, not both")
			case len(args) == 0 && selector == "":
				return errors.New("name a Mailbox, or select Mailboxes with -l")
			case len(args) == 1 && kf.allNamespaces:
				return errors.New("-A needs -l: a Mailbox named alone is looked up in one namespace")
			case dir == "":
				return errors.New("--dir is required: the directory the files are written to")
			}
			if _, err := labels.Parse(selector); err != nil {
				return fmt.Errorf("-l %q: %v", selector, err)
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			cl, err := kf.connect()
			if err != nil {
				return err
			}
			ctx, cancel := commandContext()
			defer cancel()
			mailboxes, err := selectMailboxes(ctx, cl, args, selector)
			if err != nil {
				return err
			}
			results := make([]clientConfigResult, 0, len(mailboxes))
			failed := 0
			for i := range mailboxes {
				res := writeClientConfig(ctx, cl, dir, &mailboxes[i])
				if res.Error != "" {
					failed++
				}
				results = append(results, res)
			}
			if out == "json" {
				if err := clicommon.WriteJSON(stdout, results); err != nil {
					return err
				}
			} else {
				for _, r := range results {
					r.print(stdout)
				}
			}
			if failed > 0 {
				if out == "json" {
					return clicommon.ExitCode(1)
				}
				return clicommon.Failed("%d of %d Mailboxes have no current Outlook profile; their files were not written", failed, len(results))
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the directory the files are written to, under NAMESPACE/MAILBOX/")
	c.Flags().StringVarP(&selector, "selector", "l", "", "the Mailboxes whose labels match this selector, as kubectl -l (team=sales, tier in (a,b))")
	c.Flags().BoolVarP(&kf.allNamespaces, "all-namespaces", "A", false, "select Mailboxes (-l) in every namespace")
	clicommon.AddOutputFlag(c.Flags(), &out)
	c.ValidArgsFunction = completeNames(kf, map[string]schema.GroupVersionResource{"": gvrMailbox})
	return c
}

// selectMailboxes reads the named Mailbox, or the Mailboxes matching selector, in name order.
func selectMailboxes(ctx context.Context, cl *cluster, args []string, selector string) ([]mailshiftv1.Mailbox, error) {
	if len(args) == 1 {
		var mbx mailshiftv1.Mailbox
		if err := cl.get(ctx, gvrMailbox, args[0], &mbx); err != nil {
			return nil, err
		}
		return []mailshiftv1.Mailbox{mbx}, nil
	}
	items, more, err := cl.listSelected(ctx, gvrMailbox, selector)
	if err != nil {
		return nil, err
	}
	if more {
		return nil, clicommon.Failed("more than %d Mailboxes match -l %s: select fewer at a time", maxListedPerKind, selector)
	}
	if len(items) == 0 {
		where := fmt.Sprintf("namespace %q", cl.namespace)
		if cl.namespace == "" {
			where = "any namespace"
		}
		return nil, clicommon.Failed("no Mailbox in %s matches -l %s", where, selector)
	}
	mailboxes := make([]mailshiftv1.Mailbox, len(items))
	for i := range items {
		if err := fromUnstructured(&items[i], &mailboxes[i]); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(mailboxes, func(a, b mailshiftv1.Mailbox) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return mailboxes, nil
}

// clientConfigResult is what the command did for one Mailbox.
type clientConfigResult struct {
	Namespace string   `json:"namespace"`
	Mailbox   string   `json:"mailbox"`
	ConfigMap string   `json:"configMap,omitempty"`
	Hash      string   `json:"hash,omitempty"`
	Files     []string `json:"files,omitempty"`
	Removed   []string `json:"removed,omitempty"`
	Error     string   `json:"error,omitempty"`
}

func (r clientConfigResult) print(w io.Writer) {
	who := clicommon.TerminalSafe(r.Namespace + "/" + r.Mailbox)
	if r.Error != "" {
		fmt.Fprintf(w, "%s: not written: %s\n", who, clicommon.TerminalSafe(r.Error))
		return
	}
	fmt.Fprintf(w, "%s: %s (ConfigMap %s, %s)\n", who, clicommon.TerminalSafe(strings.Join(r.Files, ", ")), clicommon.TerminalSafe(r.ConfigMap), clicommon.TerminalSafe(r.Hash))
	for _, f := range r.Removed {
		fmt.Fprintf(w, "%s: removed %s, which the Mailbox no longer has\n", who, clicommon.TerminalSafe(f))
	}
}

// writeClientConfig writes one Mailbox's files under dir, or says why it did not.
func writeClientConfig(ctx context.Context, cl *cluster, dir string, mbx *mailshiftv1.Mailbox) clientConfigResult {
	res := clientConfigResult{Namespace: mbx.Namespace, Mailbox: mbx.Name}
	files, err := readClientConfig(ctx, cl, mbx, &res)
	if err == nil {
		err = writeFiles(dir, mbx.Namespace, mbx.Name, files, &res)
	}
	if err != nil {
		var f clicommon.Failure
		if errors.As(err, &f) {
			err = f.Err
		}
		res.Error = err.Error()
	}
	return res
}

// readClientConfig reads the files of the ConfigMap the Mailbox's status names, if they are the Mailbox's
// current ones: its own ConfigMap, with the hash its status names, every file readable.
func readClientConfig(ctx context.Context, cl *cluster, mbx *mailshiftv1.Mailbox, res *clientConfigResult) (map[string][]byte, error) {
	cc := mbx.Status.ClientConfig
	cond := meta.FindStatusCondition(mbx.Status.Conditions, mailshiftv1.ConditionClientConfigReady)
	switch {
	case cc == nil && cond != nil && cond.Status == metav1.ConditionFalse:
		return nil, fmt.Errorf("it has no Outlook profile: %s (%s)", cond.Message, cond.Reason)
	case cc == nil:
		return nil, errors.New("it has no Outlook profile yet (status.clientConfig is empty): is the operator running, and at a version that writes them?")
	case cond != nil && cond.Status == metav1.ConditionFalse:
		return nil, fmt.Errorf("its Outlook profile does not follow its current settings: %s (%s)", cond.Message, cond.Reason)
	}
	res.ConfigMap, res.Hash = cc.ConfigMapName, cc.Hash
	var cm corev1.ConfigMap
	if err := cl.getIn(ctx, gvrConfigMap, mbx.Namespace, cc.ConfigMapName, &cm); err != nil {
		return nil, err
	}
	if owner := metav1.GetControllerOf(&cm); owner == nil || owner.UID != mbx.UID {
		return nil, fmt.Errorf("ConfigMap %s is not the Mailbox's own", cm.Name)
	}
	files := map[string][]byte{}
	for _, name := range clientConfigFiles {
		if data, ok := cm.BinaryData[name]; ok {
			files[name] = data
		}
	}
	if cm.Annotations[mailshiftv1.ClientConfigHashAnnotation] != cc.Hash || outlookprofile.Hash(files) != cc.Hash {
		return nil, fmt.Errorf("ConfigMap %s is being rewritten (its content is not the one status.clientConfig.hash names): run the command again", cm.Name)
	}
	if _, err := outlookprofile.ParsePRF(files[outlookprofile.PRFFile]); err != nil {
		return nil, fmt.Errorf("ConfigMap %s: %s is not a readable profile: %v", cm.Name, outlookprofile.PRFFile, err)
	}
	if reg, ok := files[outlookprofile.FreeBusyFile]; ok {
		if _, err := outlookprofile.ParseReg(reg); err != nil {
			return nil, fmt.Errorf("ConfigMap %s: %s is not a readable registry file: %v", cm.Name, outlookprofile.FreeBusyFile, err)
		}
	}
	return files, nil
}

// writeFiles replaces the files in dir/namespace/mailbox and removes those of clientConfigFiles that are
// not among them. The two names must each be one plain path element, and neither directory a symbolic
// link: nothing is written outside dir.
func writeFiles(dir, namespace, mailbox string, files map[string][]byte, res *clientConfigResult) error {
	target := dir
	for _, part := range []string{namespace, mailbox} {
		if err := pathElement(part); err != nil {
			return err
		}
		target = filepath.Join(target, part)
		st, err := os.Lstat(target)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		case !st.IsDir():
			return fmt.Errorf("%s is not a directory (a symbolic link or a file): refusing to write through it", target)
		}
	}
	for _, name := range clientConfigFiles {
		path := filepath.Join(target, name)
		data, ok := files[name]
		if !ok {
			if err := os.Remove(path); err == nil {
				res.Removed = append(res.Removed, path)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		if st, err := os.Lstat(path); err == nil && !st.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file: refusing to replace it", path)
		}
		if err := atomicfile.Write(path, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		res.Files = append(res.Files, path)
	}
	return nil
}

// pathElement accepts a namespace or Mailbox name as one element of a path: a DNS subdomain, which has no
// separator and is never "." or "..".
func pathElement(name string) error {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 || !filepath.IsLocal(name) || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("%q is not a name that can be a directory under --dir", name)
	}
	return nil
}
