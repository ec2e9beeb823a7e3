package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/controllers"
	"github.com/mailshift/mailshift/internal/testenv"
)

// TestClientConfigWithTheManagersCache runs the manager as it runs in a cluster, whose cache holds only the
// ConfigMaps it labels and whose reads of ConfigMaps go to the API server: a Mailbox still gets its
// Outlook profile ConfigMap, one deleted is written again, and the ConfigMaps are only ever listed and
// watched with the label selector.
func TestClientConfigWithTheManagersCache(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() }) // after the manager's cleanup, which is registered later
	ctx := context.Background()
	ns := "team-a"
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	for _, o := range []client.Object{
		&mailshiftv1.MailServer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "imap"},
			Spec: mailshiftv1.MailServerSpec{Host: "imap.example.test", TLS: mailshiftv1.TLSStartTLS}},
		&mailshiftv1.Mailbox{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice"},
			Spec: mailshiftv1.MailboxSpec{ServerRef: mailshiftv1.ServerRef{Name: "imap"}, Login: "alice", Address: "alice@example.test"}},
	} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	var log requestLog
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(log.wrap)
	startManager(t, cfg, managerOptions{probeAddr: "0", controllers: controllers.Options{Executor: "inprocess"}})

	profile := func() *corev1.ConfigMap {
		var cm corev1.ConfigMap
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "alice-outlook"}, &cm)
			if err == nil && len(cm.BinaryData["outlook.prf"]) > 0 {
				return &cm
			}
			if time.Now().After(deadline) {
				t.Fatalf("no ConfigMap alice-outlook with outlook.prf: %v", err)
			}
		}
	}
	first := profile()
	if err := env.Client.Delete(ctx, first); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if again := profile(); again.UID != first.UID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the deleted ConfigMap was not written again: the cache does not see the profiles' ConfigMaps")
		}
	}

	for _, r := range log.all() {
		if r.method != http.MethodGet || !strings.HasSuffix(r.path, "/configmaps") {
			continue
		}
		q, _ := url.ParseQuery(r.query)
		if sel := q.Get("labelSelector"); !strings.Contains(sel, "app.kubernetes.io/managed-by=mailshift") || !strings.Contains(sel, "client-config") {
			t.Errorf("ConfigMaps listed or watched without the selector of the manager's own: %s?%s", r.path, r.query)
		}
	}
}
