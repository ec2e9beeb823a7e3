package controllers

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestFreeBusySameNameInTwoNamespaces: two tenants publishing the same name over HTTP both publish, each
// at a path carrying its namespace, and neither path serves the other's free/busy (before, the first to
// claim the name served it for everyone and the second was refused).
func TestFreeBusySameNameInTwoNamespaces(t *testing.T) {
	nsA := newNamespace(t)
	srv, _ := freeBusyMailbox(t, nsA) // alice, with the fixture's meetings
	nsB := newNamespace(t)
	ms, ca := serverObjects(nsB, "dovecot", srv)
	mb, sec := userMailbox(nsB, ms.Name, srv.Users["bob"]) // bob, no meetings
	for _, o := range []clientObject{ca, ms, sec, mb} {
		mustCreate(t, o)
	}
	ftp := testserver.PureFTPd(t, testserver.FTPOptions{TLS: "allow"})
	pub := ftp.Users["publisher"]
	publish := func(ns, mailbox string, folders []string) *mailshiftv1.FreeBusyPublication {
		fb, secrets := freeBusyObjects(ns, "ceo", mailbox, ftp, pub.Login, pub.Password, mailshiftv1.FTPExplicitTLS)
		fb.Spec.ServeHTTP, fb.Spec.Name, fb.Spec.Folders = true, "ceo", folders
		fb.Spec.FTP.Directory = "/pub/calendar/" + ns // the FTP side is the administrator's to separate
		for _, s := range secrets {
			mustCreate(t, s)
		}
		mustCreate(t, fb)
		return fb
	}
	a := publish(nsA, "alice", nil)
	waitForReady(t, a, fbConds(a), metav1.ConditionTrue, mailshiftv1.ReasonPublished, 60*time.Second)
	b := publish(nsB, "bob", []string{"INBOX"})
	waitForReady(t, b, fbConds(b), metav1.ConditionTrue, mailshiftv1.ReasonPublished, 60*time.Second)

	if a.Status.HTTPPath != "/freebusy/"+nsA+"/ceo.vfb" || b.Status.HTTPPath != "/freebusy/"+nsB+"/ceo.vfb" {
		t.Fatalf("paths %q and %q, want each under its namespace", a.Status.HTTPPath, b.Status.HTTPPath)
	}
	web := httptest.NewServer(fbFiles)
	defer web.Close()
	get := func(path string) (int, []byte) {
		resp, err := http.Get(web.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, body
	}
	codeA, bodyA := get(a.Status.HTTPPath)
	codeB, bodyB := get(b.Status.HTTPPath)
	if codeA != http.StatusOK || codeB != http.StatusOK {
		t.Fatalf("GET: %d and %d", codeA, codeB)
	}
	aliceAddr, bobAddr := []byte(srv.Users["alice"].Address), []byte(srv.Users["bob"].Address)
	if !bytes.Contains(bodyA, aliceAddr) || bytes.Contains(bodyA, bobAddr) || !bytes.Contains(bodyA, []byte("FREEBUSY")) {
		t.Errorf("%s serves:\n%s", a.Status.HTTPPath, bodyA)
	}
	if !bytes.Contains(bodyB, bobAddr) || bytes.Contains(bodyB, aliceAddr) || bytes.Contains(bodyB, []byte("FREEBUSY:")) {
		t.Errorf("%s serves:\n%s", b.Status.HTTPPath, bodyB)
	}
	// No global name exists unless the administrator names a namespace for it.
	if code, _ := get("/freebusy/ceo.vfb"); code != http.StatusNotFound {
		t.Errorf("/freebusy/ceo.vfb: %d, want 404", code)
	}
}
