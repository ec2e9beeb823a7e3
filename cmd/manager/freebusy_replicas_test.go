package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/controllers"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/testenv"
	"github.com/mailshift/mailshift/internal/testfixtures"
	"github.com/mailshift/mailshift/internal/testserver"
)

// replica is one manager process's run(), stoppable on its own.
type replica struct {
	freeBusy string // address of its free/busy port
	stop     func()
}

func startReplica(t *testing.T, env *testenv.Env) *replica {
	t.Helper()
	r := &replica{freeBusy: freeAddr(t)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, env.Config, managerOptions{metricsAddr: "0", probeAddr: "0", leaderElect: true, leaderNS: "default",
			controllers: controllers.Options{Executor: "inprocess"}, freeBusyAddr: r.freeBusy, anotherManagerInProcess: true})
	}()
	stopped := false
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("manager: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("manager did not stop")
		}
	}
	t.Cleanup(r.stop)
	return r
}

// get asks a replica's free/busy port for path, with the request headers given in pairs.
func (r *replica) get(t *testing.T, path string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+r.freeBusy+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, []byte(err.Error())
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 2<<20))
	return resp.StatusCode, resp.Header, body
}

// waitFor polls the replica until path answers with code (and, for 200, a body), and returns the body.
func (r *replica) waitFor(t *testing.T, path string, code int) []byte {
	t.Helper()
	var got int
	var body []byte
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got, _, body = r.get(t, path); got == code {
			return body
		}
	}
	t.Fatalf("GET %s on %s: %d %.200s, want %d", path, r.freeBusy, got, body, code)
	return nil
}

func leaseHolder(ctx context.Context, c client.Client) string {
	var lease coordinationv1.Lease
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "mailshift-manager.mailshift.io"}, &lease); err != nil || lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// TestFreeBusyServedByEveryReplica runs two managers on one real API server, as two replicas do: the one
// that is not the leader serves the leader's file byte for byte (same ETag, 304 on a poll that still
// holds); when the leader stops, the other keeps serving it without publishing again; another
// namespace's path serves nothing; the old leader, restarted, serves it again at once; the file is kept in
// one ConfigMap of the publication's namespace; a deleted publication stops being served.
func TestFreeBusyServedByEveryReplica(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	// Stopped after the replicas (cleanups run last-registered first).
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	c := env.Client

	srv := testserver.Dovecot(t)
	alice := srv.Users["alice"]
	ep := imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSStartTLS, CAPEM: srv.CAPEM}
	seedCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := testfixtures.SeedCalendar(seedCtx, ep, imapconn.Credentials{Login: alice.Login, Password: alice.Password}, "Calendar",
		testfixtures.FreeBusyCalendar().Messages); err != nil {
		t.Fatal(err)
	}
	ftp := testserver.PureFTPd(t, testserver.FTPOptions{TLS: "allow"})
	pub := ftp.Users["publisher"]

	const ns, other = "fb-replicas", "fb-elsewhere"
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "imap-ca"}, StringData: map[string]string{"ca.crt": string(srv.CAPEM)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-imap"}, StringData: map[string]string{"password": alice.Password}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ftp"}, StringData: map[string]string{"username": pub.Login, "password": pub.Password}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ftp-ca"}, StringData: map[string]string{"ca.crt": string(ftp.CAPEM)}},
		&mailshiftv1.MailServer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dovecot"}, Spec: mailshiftv1.MailServerSpec{
			Host: srv.Host, Port: int32(srv.Port), TLS: mailshiftv1.TLSStartTLS, Flavor: mailshiftv1.Flavor(srv.Flavor),
			CABundle: &mailshiftv1.SecretKeyRef{Name: "imap-ca", Key: "ca.crt"}}},
		&mailshiftv1.Mailbox{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice"}, Spec: mailshiftv1.MailboxSpec{
			ServerRef: mailshiftv1.ServerRef{Name: "dovecot"}, Login: alice.Login, Address: alice.Address,
			CredentialsSecretRef: &mailshiftv1.SecretKeyRef{Name: "alice-imap"}}},
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("create %s: %v", o.GetName(), err)
		}
	}

	// The leader first, then a second replica that waits for the lease.
	leader := startReplica(t, env)
	for deadline := time.Now().Add(30 * time.Second); leaseHolder(ctx, c) == ""; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first manager did not become the leader")
		}
	}
	firstHolder := leaseHolder(ctx, c)
	follower := startReplica(t, env)

	fb := &mailshiftv1.FreeBusyPublication{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-fb"},
		Spec: mailshiftv1.FreeBusyPublicationSpec{
			MailboxRef: mailshiftv1.LocalObjectRef{Name: "alice"}, ServeHTTP: true,
			FTP: mailshiftv1.FTPTarget{Host: ftp.Host, Port: int32(ftp.Port), TLS: mailshiftv1.FTPExplicitTLS,
				CABundle: &mailshiftv1.SecretKeyRef{Name: "ftp-ca"}, CredentialsSecretRef: mailshiftv1.CredentialsSecretRef{Name: "ftp"}},
			ChangeCheckInterval: &metav1.Duration{Duration: time.Second},
		},
	}
	if err := c.Create(ctx, fb); err != nil {
		t.Fatal(err)
	}
	var published *metav1.Time
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(fb), fb); err != nil {
			t.Fatal(err)
		}
		ready := meta.FindStatusCondition(fb.Status.Conditions, mailshiftv1.ConditionReady)
		if ready != nil && ready.Status == metav1.ConditionTrue && fb.Status.HTTPPath != "" {
			published = fb.Status.LastPublishTime
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not published: %+v", ready)
		}
	}
	path := fb.Status.HTTPPath
	if path != "/freebusy/"+ns+"/alice.vfb" {
		t.Fatalf("httpPath %q", path)
	}

	fromLeader := leader.waitFor(t, path, http.StatusOK)
	if !bytes.Contains(fromLeader, []byte("BEGIN:VFREEBUSY")) || !bytes.Contains(fromLeader, []byte(alice.Address)) {
		t.Fatalf("the leader serves:\n%s", fromLeader)
	}
	fromFollower := follower.waitFor(t, path, http.StatusOK)
	if !bytes.Equal(fromFollower, fromLeader) {
		t.Fatalf("the replica that is not the leader serves other bytes:\n%s\nleader:\n%s", fromFollower, fromLeader)
	}
	if holder := leaseHolder(ctx, c); holder != firstHolder {
		t.Fatalf("the lease moved to %q before the leader stopped", holder)
	}
	_, hl, _ := leader.get(t, path)
	_, hf, _ := follower.get(t, path)
	etag := hl.Get("ETag")
	if etag == "" || hf.Get("ETag") != etag || hf.Get("Last-Modified") != hl.Get("Last-Modified") {
		t.Errorf("ETag %q / %q, Last-Modified %q / %q: want the same on both replicas", etag, hf.Get("ETag"),
			hl.Get("Last-Modified"), hf.Get("Last-Modified"))
	}
	if code, _, body := follower.get(t, path, "If-None-Match", etag); code != http.StatusNotModified || len(body) != 0 {
		t.Errorf("a poll with the current ETag: %d, %d bytes; want 304 and no body", code, len(body))
	}
	if code, _, _ := follower.get(t, "/freebusy/"+other+"/alice.vfb"); code != http.StatusNotFound {
		t.Errorf("another namespace's path: %d, want 404", code)
	}

	// The leader goes once its publication is settled (several change checks of 1 s found nothing to do);
	// the other replica answers at once, and, once it leads, does not publish again.
	for deadline, since := time.Now().Add(60*time.Second), time.Now(); time.Since(since) < 3*time.Second; time.Sleep(200 * time.Millisecond) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(fb), fb); err != nil {
			t.Fatal(err)
		}
		if !fb.Status.LastPublishTime.Equal(published) {
			published, since = fb.Status.LastPublishTime, time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leader keeps publishing with no change to the calendar (last at %s)", published)
		}
	}
	fromLeader = leader.waitFor(t, path, http.StatusOK)
	leader.stop()
	if code, _, body := follower.get(t, path); code != http.StatusOK || !bytes.Equal(body, fromLeader) {
		t.Fatalf("right after the leader stopped: %d\n%s", code, body)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if h := leaseHolder(ctx, c); h != "" && h != firstHolder {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second replica did not take the lease")
		}
	}
	time.Sleep(3 * time.Second) // several change checks (1 s) by the new leader
	if err := c.Get(ctx, client.ObjectKeyFromObject(fb), fb); err != nil {
		t.Fatal(err)
	}
	if !fb.Status.LastPublishTime.Equal(published) {
		t.Errorf("the new leader published again (%s, before %s): a failover must not need it", fb.Status.LastPublishTime, published)
	}
	if code, _, body := follower.get(t, path); code != http.StatusOK || !bytes.Equal(body, fromLeader) {
		t.Errorf("under the new leader: %d\n%s", code, body)
	}

	// The old leader comes back (a restarted pod, now not the leader): it serves the same bytes from the
	// ConfigMap as soon as its cache has synced, with nothing published again.
	began := time.Now()
	restarted := startReplica(t, env)
	if body := restarted.waitFor(t, path, http.StatusOK); !bytes.Equal(body, fromLeader) {
		t.Errorf("the restarted replica serves other bytes:\n%s", body)
	}
	t.Logf("a restarted replica served the file %s after it started", time.Since(began).Round(time.Millisecond))
	if err := c.Get(ctx, client.ObjectKeyFromObject(fb), fb); err != nil {
		t.Fatal(err)
	}
	if !fb.Status.LastPublishTime.Equal(published) {
		t.Errorf("published again (%s, before %s) around the restart", fb.Status.LastPublishTime, published)
	}

	// The file lives in one ConfigMap of the publication's own namespace, controlled by it, within the bound.
	var all corev1.ConfigMapList
	if err := c.List(ctx, &all, client.MatchingLabelsSelector{Selector: controllers.FreeBusyFileSelector()}); err != nil {
		t.Fatal(err)
	}
	if len(all.Items) != 1 {
		t.Fatalf("%d ConfigMaps of served files in the cluster, want 1", len(all.Items))
	}
	cm := all.Items[0]
	owner := metav1.GetControllerOf(&cm)
	if cm.Namespace != ns || owner == nil || owner.UID != fb.UID || len(cm.Data)+len(cm.BinaryData) != 1 {
		t.Errorf("ConfigMap %s/%s, controller %+v, %d keys: want one key in %s, controlled by the publication", cm.Namespace, cm.Name, owner,
			len(cm.Data)+len(cm.BinaryData), ns)
	}
	for _, v := range cm.Data {
		if len(v) > controllers.MaxServedFreeBusyBytes || v != string(fromLeader) {
			t.Errorf("the ConfigMap holds %d bytes, not the served file", len(v))
		}
	}

	// Deleting the publication stops it being served (the new leader runs the finalizer).
	if err := c.Delete(ctx, fb); err != nil {
		t.Fatal(err)
	}
	follower.waitFor(t, path, http.StatusNotFound)
	restarted.waitFor(t, path, http.StatusNotFound)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(fb), fb); apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the publication was not deleted")
		}
	}
	var left corev1.ConfigMapList
	if err := c.List(ctx, &left, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: controllers.FreeBusyFileSelector()}); err != nil {
		t.Fatal(err)
	}
	if n := len(left.Items); n != 0 {
		t.Errorf("%d ConfigMaps of served files left after the deletion", n)
	}
}
