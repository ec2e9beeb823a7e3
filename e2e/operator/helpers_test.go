package operator_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/testenv"
	"github.com/mailshift/mailshift/internal/testfixtures"
	"github.com/mailshift/mailshift/internal/testserver"
)

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

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := "e2e-" + rand.String(6)
	if err := kc.CreateNamespace(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns
}

func mustCreate(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := kc.Client.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

func secret(ns, name string, data map[string]string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
}

// mailServer declares srv with its CA and, when admin is set, its master user for impersonation.
func mailServer(t *testing.T, ns string, srv *testserver.Server, admin bool) {
	t.Helper()
	ms := &mailshiftv1.MailServer{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dovecot"},
		Spec: mailshiftv1.MailServerSpec{Host: srv.Host, Port: int32(srv.Port), TLS: mailshiftv1.TLSStartTLS,
			CABundle: &mailshiftv1.SecretKeyRef{Name: "dovecot-ca", Key: "ca.crt"}, Flavor: mailshiftv1.Flavor(srv.Flavor)},
	}
	objs := []client.Object{secret(ns, "dovecot-ca", map[string]string{"ca.crt": string(srv.CAPEM)})}
	if admin {
		objs = append(objs, secret(ns, "dovecot-admin", map[string]string{"username": srv.Admin.Login, "password": srv.Admin.Password}))
		ms.Spec.Admin = &mailshiftv1.AdminCredentials{SecretRef: mailshiftv1.CredentialsSecretRef{Name: "dovecot-admin"}}
	}
	mustCreate(t, append(objs, ms)...)
}

// userMailbox declares a Mailbox for a user of srv with its password in a Secret, and waits until Ready.
func userMailbox(t *testing.T, ns string, srv *testserver.Server, user string) {
	t.Helper()
	u := srv.Users[user]
	mb := &mailshiftv1.Mailbox{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: user}, Spec: mailshiftv1.MailboxSpec{
		ServerRef: mailshiftv1.ServerRef{Name: "dovecot"}, Login: u.Login, Address: u.Address,
		CredentialsSecretRef: &mailshiftv1.SecretKeyRef{Name: user + "-imap"}}}
	mustCreate(t, secret(ns, user+"-imap", map[string]string{"password": u.Password}), mb)
	waitReady(t, mb, func() []metav1.Condition { return mb.Status.Conditions }, metav1.ConditionTrue, "", 90*time.Second)
}

// pstClaim makes a static PersistentVolume of dir (hostPath) and a claim bound to it by the real PV binder,
// the way a cluster offers a share of PST files.
func pstClaim(t *testing.T, ns, name, dir string) {
	t.Helper()
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}},
			ClaimRef:               &corev1.ObjectReference{Namespace: ns, Name: name},
			StorageClassName:       "",
		},
	}
	empty := ""
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			VolumeName:       pv.Name,
			StorageClassName: &empty,
		},
	}
	mustCreate(t, pv, pvc)
	t.Cleanup(func() { _ = kc.Client.Delete(context.Background(), pv) })
	poll(t, "the PST claim to bind", 60*time.Second, func() bool {
		_ = kc.Client.Get(context.Background(), client.ObjectKeyFromObject(pvc), pvc)
		return pvc.Status.Phase == corev1.ClaimBound
	})
}

func pstMigration(ns, name, mailbox, claim, file string) *mailshiftv1.MailboxMigration {
	return &mailshiftv1.MailboxMigration{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mailshiftv1.MailboxMigrationSpec{
			MailboxRef: mailshiftv1.LocalObjectRef{Name: mailbox},
			MigrationSettings: mailshiftv1.MigrationSettings{Source: mailshiftv1.MigrationSource{PST: &mailshiftv1.PSTSource{
				Volume: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}, Path: file}}},
		},
	}
}

func pstDir(t *testing.T) string { return testfixtures.MustPSTDir(t) }

func waitReady(t *testing.T, obj client.Object, conds func() []metav1.Condition, status metav1.ConditionStatus, reason string, timeout time.Duration) *metav1.Condition {
	t.Helper()
	var last *metav1.Condition
	poll(t, fmt.Sprintf("%T %s Ready=%s/%s", obj, obj.GetName(), status, reason), timeout, func() bool {
		if err := kc.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return false
		}
		last = meta.FindStatusCondition(conds(), mailshiftv1.ConditionReady)
		return last != nil && last.Status == status && (reason == "" || last.Reason == reason)
	}, func() string { return fmt.Sprintf("last Ready: %+v", last) })
	return last
}

func waitMigration(t *testing.T, m *mailshiftv1.MailboxMigration, status metav1.ConditionStatus, reason string, timeout time.Duration) *metav1.Condition {
	t.Helper()
	return waitReady(t, m, func() []metav1.Condition { return m.Status.Conditions }, status, reason, timeout)
}

func poll(t *testing.T, what string, timeout time.Duration, cond func() bool, detail ...func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := ""
			for _, d := range detail {
				msg += "; " + d()
			}
			t.Fatalf("timed out after %s waiting for %s%s", timeout, what, msg)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

func getMigration(t *testing.T, ns, name string) *mailshiftv1.MailboxMigration {
	t.Helper()
	var m mailshiftv1.MailboxMigration
	if err := kc.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func updateMigration(t *testing.T, ns, name string, fn func(*mailshiftv1.MailboxMigration)) {
	t.Helper()
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		m := getMigration(t, ns, name)
		fn(m)
		return kc.Client.Update(context.Background(), m)
	}); err != nil {
		t.Fatal(err)
	}
}

func waitProgress(t *testing.T, ns, name string, ok func(*mailshiftv1.Progress) bool, timeout time.Duration) {
	t.Helper()
	poll(t, ns+"/"+name+" progress", timeout, func() bool {
		m := getMigration(t, ns, name)
		return m.Status.Progress != nil && ok(m.Status.Progress)
	}, func() string { return fmt.Sprintf("%+v", getMigration(t, ns, name).Status) })
}

// serverCount counts the messages of every folder of login's account, and how many distinct Message-IDs
// they carry (equal when nothing was copied twice).
func serverCount(t *testing.T, srv *testserver.Server, login, password string) (messages, distinct int) {
	t.Helper()
	c := dialLogin(t, srv, login, password)
	folders, err := c.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range folders {
		if !f.Selectable() {
			continue
		}
		st, err := c.Select(context.Background(), f.Name, true)
		if err != nil {
			t.Fatal(err)
		}
		if st.Exists == 0 {
			continue
		}
		ids, err := c.FetchIdentities(context.Background(), "1:*", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			messages++
			seen[f.Name+"\x00"+messageID(id.Header)] = true
		}
	}
	return messages, len(seen)
}

func messageID(header []byte) string {
	for _, line := range strings.Split(string(header), "\r\n") {
		if len(line) > 11 && strings.EqualFold(line[:11], "message-id:") {
			return strings.TrimSpace(line[11:])
		}
	}
	return string(header) // no Message-ID: the header fields as a whole tell messages apart
}

// addUsers adds accounts to a running Dovecot: its passwd-file is read again when it changes.
func addUsers(t *testing.T, srv *testserver.Server, logins ...string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(srv.Dir, "users"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range logins {
		fmt.Fprintf(f, "%s:{PLAIN}%s-pw::::::\n", l, l)
	}
}

// kubectl runs the cluster's kubectl (built by hack/build-controlplane.sh) with the admin kubeconfig.
func kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.BinDir(), "kubectl"), append([]string{"--kubeconfig", kc.KubeconfigPath}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func repoRoot() string { return testenv.RepoRoot() }
