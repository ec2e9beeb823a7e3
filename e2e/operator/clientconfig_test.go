package operator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/clustercli"
	"github.com/mailshift/mailshift/internal/outlookprofile"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestClientConfig: on the cluster, a Mailbox's Outlook profile, as `kubectl mailshift client-config` writes
// it for software distribution, follows a change of its MailServer, and the garbage collector removes its
// ConfigMap with the Mailbox.
func TestClientConfig(t *testing.T) {
	startManager(t, "inprocess")
	srv := testserver.Dovecot(t)
	ns := newNamespace(t)
	mailServer(t, ns, srv, false)
	userMailbox(t, ns, srv, "alice")
	dir := t.TempDir()

	service := func() map[string]string {
		t.Helper()
		prf, err := os.ReadFile(filepath.Join(dir, ns, "alice", outlookprofile.PRFFile))
		if err != nil {
			t.Fatal(err)
		}
		f, err := outlookprofile.ParsePRF(prf)
		if err != nil {
			t.Fatalf("the written profile does not read back: %v", err)
		}
		s, ok := f.Section("Service1")
		if !ok {
			t.Fatal("the written profile has no [Service1]")
		}
		return s.Map()
	}
	// clientConfig runs the command until it writes a profile whose service satisfies ok.
	clientConfig := func(what string, ok func(map[string]string) bool) map[string]string {
		t.Helper()
		var last string
		var got map[string]string
		poll(t, "client-config with "+what, 60*time.Second, func() bool {
			var out, errOut bytes.Buffer
			args := []string{"client-config", "alice", "-n", ns, "--kubeconfig", kc.KubeconfigPath, "--dir", dir, "-o", "json"}
			if code := clustercli.Run("kubectl-mailshift", args, &out, &errOut); code != 0 {
				last = out.String() + errOut.String()
				return false
			}
			var res []struct{ Files []string }
			if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res) != 1 {
				t.Fatalf("client-config -o json printed %q (%v)", out.String(), err)
			}
			got = service()
			last = out.String()
			return ok(got)
		}, func() string { return "last: " + last })
		return got
	}

	got := clientConfig("the Dovecot endpoint", func(s map[string]string) bool { return s["Host"] == srv.Host })
	if got["Port"] != strconv.Itoa(srv.Port) || got["TLS"] != "starttls" || got["Login"] != srv.Users["alice"].Login {
		t.Errorf("[Service1] %v", got)
	}
	if data, err := os.ReadFile(filepath.Join(dir, ns, "alice", outlookprofile.PRFFile)); err != nil || bytes.Contains(data, []byte(srv.Users["alice"].Password)) {
		t.Errorf("the written profile holds the password, or cannot be read: %v", err)
	}

	// The MailServer moves: the ConfigMap follows, and so does the next run of the command.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var ms mailshiftv1.MailServer
		if err := kc.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "dovecot"}, &ms); err != nil {
			return err
		}
		ms.Spec.Host, ms.Spec.Port, ms.Spec.TLS = "localhost", 993, mailshiftv1.TLSImplicit
		return kc.Client.Update(context.Background(), &ms)
	}); err != nil {
		t.Fatal(err)
	}
	got = clientConfig("the moved server", func(s map[string]string) bool { return s["Host"] == "localhost" })
	if got["Port"] != "993" || got["TLS"] != "implicit" {
		t.Errorf("[Service1] after the move: %v", got)
	}

	// The garbage collector takes the ConfigMap with the Mailbox.
	var mbx mailshiftv1.Mailbox
	if err := kc.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "alice"}, &mbx); err != nil {
		t.Fatal(err)
	}
	cmName := mbx.Status.ClientConfig.ConfigMapName
	if err := kc.Client.Delete(context.Background(), &mbx); err != nil {
		t.Fatal(err)
	}
	poll(t, "the garbage collector to delete ConfigMap "+cmName, 60*time.Second, func() bool {
		var cm corev1.ConfigMap
		return apierrors.IsNotFound(kc.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: cmName}, &cm))
	})
}
