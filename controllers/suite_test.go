package controllers

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/egress"
	"github.com/mailshift/mailshift/internal/testenv"
	"github.com/mailshift/mailshift/internal/testfixtures"
	"github.com/mailshift/mailshift/internal/testserver"
)

var (
	// fbFiles are the free/busy files the test manager keeps and serves (from its cache); fbNow its
	// free/busy clock: the fixture's moment plus the real time passed, so intervals still elapse.
	fbFiles *FreeBusyFiles
	fbStart = time.Now()
	fbBase  = testfixtures.FreeBusyCalendar().Now
	fbNow   = func() time.Time { return fbBase.Add(time.Since(fbStart)) }

	k8s    client.Client
	logBuf syncBuffer // everything the controllers logged, checked for leaked secrets
	// pstRoot is the in-process executor's --inprocess-pst-root: <pstRoot>/<namespace>/ per namespace.
	pstRoot string
)

// k8sConfig is the control plane's admin config; tests impersonate other identities with copies of it.
var k8sConfig *rest.Config

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMain runs the real manager, with every controller, against a real kube-apiserver and etcd.
func TestMain(m *testing.M) {
	if isFuzzWorker() {
		// Fuzz workers re-run this binary only to call the fuzz target, which needs no control plane.
		os.Exit(m.Run())
	}
	env, err := testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(&logBuf), zap.UseDevMode(true)))
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 scheme.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err == nil {
		pstRoot, err = os.MkdirTemp("", "mailshift-pst-root-")
	}
	// Every test server listens on 127.0.0.1; TestServerHostNotAllowed uses 127.0.0.2 as a host elsewhere.
	allowedHosts, aerr := egress.Parse([]string{"127.0.0.1/32", "::1", "localhost"})
	if err == nil {
		err = aerr
	}
	if err == nil {
		fbFiles = NewFreeBusyFiles(mgr.GetClient(), mgr.GetCache(), mgr.GetAPIReader())
		err = SetupAll(mgr, Options{Executor: "inprocess", InProcessRetryBackoff: time.Second, FreeBusyFiles: fbFiles, Now: fbNow,
			InProcessPSTRoot: pstRoot, AllowHostPathPSTVolumes: true, AllowedServerHosts: allowedHosts,
			SyncBulkAbove: testSyncBulkAbove})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = env.Stop()
		os.Exit(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- mgr.Start(ctx) }()
	k8s, k8sConfig = env.Client, env.Config

	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- controller log (last 6000 bytes) ---\n%s\n", tail(logBuf.String(), 6000))
	}
	_ = env.Stop()
	_ = os.RemoveAll(pstRoot)
	os.Exit(code)
}

func isFuzzWorker() bool {
	for _, a := range os.Args {
		if strings.HasPrefix(a, "-test.fuzzworker") {
			return true
		}
	}
	return false
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// newNamespace gives each test its own namespace, so tests cannot see each other's objects.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := "t-" + rand.String(8)
	if err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { retireNamespace(t, ns) })
	return ns
}

// retireNamespace deletes what makes the manager dial out of a test's namespace once the test is done: its
// MailServers (every Mailbox, FolderShare, SyncPolicy and publication reaches its server through one) and its
// migrations (an IMAP source is named in the migration). No namespace controller runs here, so a finished
// test's objects would stay, and the shared manager would go on checking them against the ports their
// stopped servers left free: a later test's listener given the same port number would count connections that
// are not its own.
func retireNamespace(t *testing.T, ns string) {
	ctx := context.Background()
	for _, kind := range []client.Object{&mailshiftv1.MailServer{}, &mailshiftv1.MailboxMigration{}, &mailshiftv1.MigrationBatch{}} {
		if err := k8s.DeleteAllOf(ctx, kind, client.InNamespace(ns)); err != nil {
			t.Logf("cleaning up namespace %s: delete every %T: %v", ns, kind, err)
		}
	}
}

func mustCreate(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

func secret(ns, name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
	return s
}

// serverObjects returns a MailServer for srv (STARTTLS, its CA in a Secret) and the CA Secret.
func serverObjects(ns, name string, srv *testserver.Server) (*mailshiftv1.MailServer, *corev1.Secret) {
	ca := secret(ns, name+"-ca", map[string]string{"ca.crt": string(srv.CAPEM)})
	ms := &mailshiftv1.MailServer{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mailshiftv1.MailServerSpec{
			Host: srv.Host, Port: int32(srv.Port), TLS: mailshiftv1.TLSStartTLS,
			CABundle: &mailshiftv1.SecretKeyRef{Name: ca.Name, Key: "ca.crt"},
			Flavor:   mailshiftv1.Flavor(srv.Flavor),
		},
	}
	return ms, ca
}

// userMailbox returns a Mailbox for user with its own password in a Secret, and that Secret.
func userMailbox(ns, server string, u testserver.User) (*mailshiftv1.Mailbox, *corev1.Secret) {
	sec := secret(ns, u.Login+"-imap", map[string]string{"password": u.Password})
	mb := &mailshiftv1.Mailbox{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: u.Login},
		Spec: mailshiftv1.MailboxSpec{
			ServerRef: mailshiftv1.ServerRef{Name: server}, Login: u.Login, Address: u.Address,
			CredentialsSecretRef: &mailshiftv1.SecretKeyRef{Name: sec.Name},
		},
	}
	return mb, sec
}

// waitForCondition polls obj until its Ready condition has the given status and reason, and returns it.
func waitForReady(t *testing.T, obj client.Object, conds func() []metav1.Condition, status metav1.ConditionStatus, reason string, timeout time.Duration) *metav1.Condition {
	t.Helper()
	key := client.ObjectKeyFromObject(obj)
	deadline := time.Now().Add(timeout)
	var last *metav1.Condition
	for time.Now().Before(deadline) {
		if err := k8s.Get(context.Background(), key, obj); err == nil {
			last = meta.FindStatusCondition(conds(), mailshiftv1.ConditionReady)
			if last != nil && last.Status == status && (reason == "" || last.Reason == reason) {
				return last
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%T %s: Ready did not become %s/%s within %s; last: %+v", obj, key, status, reason, timeout, last)
	return nil
}

func condition(conds []metav1.Condition, typ string) *metav1.Condition {
	return meta.FindStatusCondition(conds, typ)
}

// eventsFor lists the Events recorded about the named object.
func eventsFor(t *testing.T, ns, name string) []eventsv1.Event {
	t.Helper()
	var list eventsv1.EventList
	if err := k8s.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		if name == "" || e.Regarding.Name == name {
			out = append(out, e)
		}
	}
	return out
}

func waitForEvent(t *testing.T, ns, name, reason string) eventsv1.Event {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range eventsFor(t, ns, name) {
			if e.Reason == reason {
				return e
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no Event with reason %s for %s/%s; have %v", reason, ns, name, eventsFor(t, ns, name))
	return eventsv1.Event{}
}

func key(ns, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: ns, Name: name}
}

// assertNoSecret fails when s contains any of the secrets.
func assertNoSecret(t *testing.T, where, s string, secrets ...string) {
	t.Helper()
	for _, p := range secrets {
		if p != "" && strings.Contains(s, p) {
			t.Errorf("%s contains a password (%d chars)", where, len(p))
		}
	}
}

type clientObject = client.Object

// closedPort returns a loopback port with nothing listening on it.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

// selfSignedCA returns the PEM of a CA that signed nothing the servers present.
func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "unrelated test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// startServer starts a real server by name: "dovecot", "cyrus" or "cyrus-modern", "cyrus-legacy".
func startServer(t *testing.T, name string) *testserver.Server {
	t.Helper()
	switch name {
	case "dovecot":
		return testserver.Dovecot(t)
	case "cyrus", "cyrus-modern":
		return testserver.Cyrus(t, "modern")
	case "cyrus-legacy":
		return testserver.Cyrus(t, "legacy")
	}
	t.Fatalf("unknown test server %q", name)
	return nil
}

// mutate applies f to the latest version of obj and updates it, retrying on conflicts with the controllers'
// own writes.
func mutate[T client.Object](t *testing.T, obj T, f func(T)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		f(obj)
		return k8s.Update(context.Background(), obj)
	})
	if err != nil {
		t.Fatalf("update %s: %v", obj.GetName(), err)
	}
}
