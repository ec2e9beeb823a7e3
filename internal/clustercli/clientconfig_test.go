package clustercli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/connectorsettings"
	"github.com/mailshift/mailshift/internal/outlookprofile"
)

// withClientConfig creates mbx and gives it the ConfigMap and status the client configuration controller
// would, with the files of a real profile (and its search URL's registry file when url is set).
func withClientConfig(t *testing.T, e *kubeEnv, mbx *mailshiftv1.Mailbox, url string) map[string][]byte {
	t.Helper()
	e.create(t, mbx)
	files, err := outlookprofile.Render(outlookprofile.Profile{Connector: connectorsettings.Settings{
		Host: "imap.example.test", Login: mbx.Spec.Login, Address: mbx.Spec.Login + "@example.test", FreeBusySearchURL: url}})
	if err != nil {
		t.Fatal(err)
	}
	setClientConfig(t, e, mbx, files.Map())
	return files.Map()
}

// setClientConfig writes files into mbx's ConfigMap and names them in its status.
func setClientConfig(t *testing.T, e *kubeEnv, mbx *mailshiftv1.Mailbox, files map[string][]byte) {
	t.Helper()
	hash := outlookprofile.Hash(files)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: mbx.Namespace, Name: mbx.Name + "-outlook",
		Annotations:     map[string]string{mailshiftv1.ClientConfigHashAnnotation: hash},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: mailshiftv1.GroupVersion.String(), Kind: "Mailbox", Name: mbx.Name, UID: mbx.UID, Controller: ptr.To(true)}}},
		BinaryData: files}
	var cur corev1.ConfigMap
	if err := e.c.Get(t.Context(), client.ObjectKeyFromObject(cm), &cur); err == nil {
		cur.BinaryData, cur.Annotations = cm.BinaryData, cm.Annotations
		if err := e.c.Update(t.Context(), &cur); err != nil {
			t.Fatal(err)
		}
	} else {
		e.create(t, cm)
	}
	mbx.Status.ClientConfig = &mailshiftv1.ClientConfigStatus{ConfigMapName: cm.Name, Hash: hash}
	mbx.Status.Conditions = []metav1.Condition{{Type: mailshiftv1.ConditionClientConfigReady, Status: metav1.ConditionTrue,
		Reason: mailshiftv1.ReasonClientConfigRendered, Message: "outlook.prf", LastTransitionTime: metav1.Now()}}
	e.setStatus(t, mbx)
}

// TestClientConfigCommand: the files of one Mailbox land in DIR/NAMESPACE/MAILBOX byte for byte, a
// registry file the Mailbox no longer has is removed, and what is not current is refused.
func TestClientConfigCommand(t *testing.T) {
	e := newKubeEnv(t)
	dir := t.TempDir()
	alice := mailbox(e.ns, "alice")
	files := withClientConfig(t, e, alice, "ftp://fb.example.test/pub/calendar/%NAME%.vfb")

	code, out, errOut := e.cli("client-config", "alice", "--dir", dir)
	if code != 0 {
		t.Fatalf("client-config alice: exit %d, %s", code, errOut)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, e.ns, "alice", name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes (%v), want the ConfigMap's %d", name, len(got), err, len(want))
		}
	}
	if !strings.Contains(out, e.ns+"/alice: ") || !strings.Contains(out, filepath.Join(dir, e.ns, "alice", "freebusy.reg")) || !strings.Contains(out, "sha256:") {
		t.Errorf("output:\n%s", out)
	}

	// The publication went away: the next run removes freebusy.reg.
	delete(files, outlookprofile.FreeBusyFile)
	setClientConfig(t, e, alice, files)
	code, out, errOut = e.cli("client-config", "alice", "--dir", dir, "-o", "json")
	if code != 0 {
		t.Fatalf("client-config alice -o json: exit %d, %s", code, errOut)
	}
	var res []clientConfigResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	reg := filepath.Join(dir, e.ns, "alice", "freebusy.reg")
	if _, err := os.Stat(reg); !os.IsNotExist(err) || len(res[0].Removed) != 1 || res[0].Removed[0] != reg || len(res[0].Files) != 1 {
		t.Errorf("freebusy.reg after the publication went: %v; result %+v", err, res[0])
	}

	// A ConfigMap being rewritten (its hash not the status's) is not written out.
	prf := filepath.Join(dir, e.ns, "alice", "outlook.prf")
	before, _ := os.ReadFile(prf)
	var cm corev1.ConfigMap
	if err := e.c.Get(t.Context(), client.ObjectKey{Namespace: e.ns, Name: "alice-outlook"}, &cm); err != nil {
		t.Fatal(err)
	}
	cm.BinaryData[outlookprofile.PRFFile] = append(bytes.Clone(before), 'x', 0)
	if err := e.c.Update(t.Context(), &cm); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = e.cli("client-config", "alice", "--dir", dir)
	if after, _ := os.ReadFile(prf); code != 1 || !strings.Contains(errOut, "1 of 1 Mailboxes") || !bytes.Equal(after, before) {
		t.Errorf("a ConfigMap of another content: exit %d, stderr %q, file changed: %v", code, errOut, !bytes.Equal(after, before))
	}

	// Not yet written, and not following the Mailbox's settings: each says why.
	bob := mailbox(e.ns, "bob")
	e.create(t, bob)
	code, out, errOut = e.cli("client-config", "bob", "--dir", dir)
	if code != 1 || !strings.Contains(out, "no Outlook profile yet") {
		t.Errorf("bob without a client configuration: exit %d\n%s%s", code, out, errOut)
	}
	carol := mailbox(e.ns, "carol")
	withClientConfig(t, e, carol, "")
	carol.Status.Conditions = []metav1.Condition{{Type: mailshiftv1.ConditionClientConfigReady, Status: metav1.ConditionFalse,
		Reason: mailshiftv1.ReasonClientConfigInvalid, Message: "the Outlook connector would refuse MailServer x spec.host", LastTransitionTime: metav1.Now()}}
	e.setStatus(t, carol)
	code, out, _ = e.cli("client-config", "carol", "--dir", dir)
	if code != 1 || !strings.Contains(out, "does not follow its current settings: the Outlook connector would refuse MailServer x spec.host (ClientConfigInvalid)") {
		t.Errorf("carol with stale files: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, e.ns, "carol")); !os.IsNotExist(err) {
		t.Errorf("carol's stale files were written: %v", err)
	}
	code, _, errOut = e.cli("client-config", "nobody", "--dir", dir)
	if code != 1 || !strings.Contains(errOut, `mailbox "nobody" not found`) {
		t.Errorf("a missing Mailbox: exit %d, %q", code, errOut)
	}
}

// TestClientConfigSelector: -l writes every matching Mailbox of the namespace (-A: of every namespace),
// carries on past the ones that cannot be written and then fails.
func TestClientConfigSelector(t *testing.T) {
	e := newKubeEnv(t)
	other := newKubeEnv(t)
	team := "team=" + rand.String(8)
	labelled := func(m *mailshiftv1.Mailbox) *mailshiftv1.Mailbox {
		k, v, _ := strings.Cut(team, "=")
		m.Labels = map[string]string{k: v}
		return m
	}
	withClientConfig(t, e, labelled(mailbox(e.ns, "alice")), "")
	e.create(t, labelled(mailbox(e.ns, "bob"))) // no client configuration yet
	withClientConfig(t, e, mailbox(e.ns, "carol"), "")
	withClientConfig(t, other, labelled(mailbox(other.ns, "erin")), "")

	dir := t.TempDir()
	code, out, _ := e.cli("client-config", "-l", team, "--dir", dir, "-o", "json")
	var res []clientConfigResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	if code != 1 || len(res) != 2 || res[0].Mailbox != "alice" || res[0].Error != "" || res[1].Mailbox != "bob" || !strings.Contains(res[1].Error, "no Outlook profile yet") {
		t.Errorf("-l %s: exit %d, %+v", team, code, res)
	}
	for _, p := range []string{filepath.Join(e.ns, "carol"), filepath.Join(e.ns, "bob"), other.ns} {
		if _, err := os.Stat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("%s was written", p)
		}
	}

	code, out, errOut := e.cli("client-config", "-A", "-l", team, "--dir", dir)
	if code != 1 || !hasLine(out, e.ns+"/alice", "outlook.prf") || !hasLine(out, other.ns+"/erin", "outlook.prf") || !hasLine(out, e.ns+"/bob", "not written") {
		t.Errorf("-A -l %s: exit %d\n%s%s", team, code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, other.ns, "erin", "outlook.prf")); err != nil {
		t.Errorf("erin's profile: %v", err)
	}
	code, _, errOut = e.cli("client-config", "-l", "team=nobody-"+rand.String(6), "--dir", dir)
	if code != 1 || !strings.Contains(errOut, "no Mailbox in namespace") {
		t.Errorf("an empty selection: exit %d, %q", code, errOut)
	}
}

// TestClientConfigStaysInDir: nothing is written through a symbolic link in the directory, nor for a name
// that is not one path element.
func TestClientConfigStaysInDir(t *testing.T) {
	e := newKubeEnv(t)
	withClientConfig(t, e, mailbox(e.ns, "alice"), "")
	dir, elsewhere := t.TempDir(), t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(dir, e.ns)); err != nil {
		t.Fatal(err)
	}
	code, out, _ := e.cli("client-config", "alice", "--dir", dir)
	if code != 1 || !strings.Contains(out, "refusing to write through it") {
		t.Errorf("through a symbolic link: exit %d\n%s", code, out)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("files were written outside --dir: %v", entries)
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/b", `a\b`, "/abs", "A"} {
		if err := pathElement(bad); err == nil {
			t.Errorf("pathElement(%q) accepted it", bad)
		}
	}
	if err := pathElement("alice.example-1"); err != nil {
		t.Error(err)
	}
}
