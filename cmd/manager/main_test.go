package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mailshift/mailshift/controllers"
	"github.com/mailshift/mailshift/internal/testenv"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestManagerServesSecuredMetricsProbesAndLeads runs the real manager against a real API server: it wins
// leader election, answers its health probes, and serves metrics over HTTPS only to callers the API server
// authenticates and authorizes.
func TestManagerServesSecuredMetricsProbesAndLeads(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	metricsAddr, probeAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, env.Config, managerOptions{metricsAddr: metricsAddr, metricsSecure: true, probeAddr: probeAddr,
			leaderElect: true, leaderNS: "default", controllers: controllers.Options{Executor: "inprocess", Metrics: true},
			anotherManagerInProcess: true})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	}()

	httpc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(url, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := httpc.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitStatus := func(url, token string, want int) string {
		t.Helper()
		var code int
		var body string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if code, body = get(url, token); code == want {
				return body
			}
		}
		t.Fatalf("GET %s: status %d (%.200s), want %d", url, code, body, want)
		return ""
	}

	waitStatus("http://"+probeAddr+"/healthz", "", http.StatusOK)
	waitStatus("http://"+probeAddr+"/readyz", "", http.StatusOK)

	var lease coordinationv1.Lease
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "mailshift-manager.mailshift.io"}, &lease)
		if err == nil && lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no leader-election Lease held: %v", err)
		}
	}

	metricsURL := "https://" + metricsAddr + "/metrics"
	waitStatus(metricsURL, "", http.StatusUnauthorized)

	// ServiceAccount tokens the API server accepts: one without and one with the right to read metrics.
	// (Two accounts, because the metrics filter caches authorization decisions.)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	tokenFor := func(name string) string {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
		if err := env.Client.Create(ctx, sa); err != nil {
			t.Fatal(err)
		}
		tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("TokenRequest: %v", err)
		}
		return tr.Status.Token
	}
	reader := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "metrics-reader"},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-metrics"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: reader.Name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "default", Name: "prometheus"}}}
	for _, o := range []client.Object{reader, binding} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	waitStatus(metricsURL, tokenFor("stranger"), http.StatusForbidden)
	token := tokenFor("prometheus")
	body := waitStatus(metricsURL, token, http.StatusOK)
	for _, want := range []string{"controller_runtime_reconcile_total", `controller="mailbox"`, `controller="foldershare"`,
		// mailshift's own: from the cache, from workers' progress reports, and (in-process) from the engine.
		`mailshift_mailboxmigrations{phase="Pending"} 0`, `mailshift_mailboxmigration_items_processed_total{result="copied"} 0`,
		`mailshift_migration_runs_total{result="succeeded"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
