package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/outlookprofile"
	"github.com/mailshift/mailshift/internal/testserver"
)

// clientConfigState is a Mailbox's client configuration as a desk would get it: the Mailbox, its ConfigMap
// and the files read back.
type clientConfigState struct {
	mbx     mailshiftv1.Mailbox
	cm      corev1.ConfigMap
	service map[string]string // the PRF's [Service1]
	account map[string]string // the PRF's [Account1]
	reg     *outlookprofile.Reg
}

// readClientConfig reads the Mailbox and the ConfigMap its status names, and parses the files; ok is false
// while there is nothing consistent to read (no status yet, or a ConfigMap of another hash).
func readClientConfig(t *testing.T, ns, name string) (clientConfigState, bool) {
	t.Helper()
	var s clientConfigState
	ctx := context.Background()
	if err := k8s.Get(ctx, key(ns, name), &s.mbx); err != nil || s.mbx.Status.ClientConfig == nil {
		return s, false
	}
	cc := s.mbx.Status.ClientConfig
	if err := k8s.Get(ctx, key(ns, cc.ConfigMapName), &s.cm); err != nil || s.cm.Annotations[mailshiftv1.ClientConfigHashAnnotation] != cc.Hash {
		return s, false
	}
	prf, err := outlookprofile.ParsePRF(s.cm.BinaryData[outlookprofile.PRFFile])
	if err != nil {
		t.Fatalf("ConfigMap %s: %s does not read back: %v", s.cm.Name, outlookprofile.PRFFile, err)
	}
	for name, into := range map[string]*map[string]string{"Service1": &s.service, "Account1": &s.account} {
		sec, ok := prf.Section(name)
		if !ok {
			t.Fatalf("%s has no [%s]", outlookprofile.PRFFile, name)
		}
		*into = sec.Map()
	}
	if reg, ok := s.cm.BinaryData[outlookprofile.FreeBusyFile]; ok {
		if s.reg, err = outlookprofile.ParseReg(reg); err != nil {
			t.Fatalf("ConfigMap %s: %s does not read back: %v", s.cm.Name, outlookprofile.FreeBusyFile, err)
		}
	}
	return s, true
}

// waitClientConfig polls until the Mailbox's client configuration satisfies ok.
func waitClientConfig(t *testing.T, ns, name, what string, ok func(clientConfigState) bool) clientConfigState {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s, read := readClientConfig(t, ns, name)
		if read && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("Mailbox %s/%s: no client configuration with %s within 60s; last: status %+v, conditions %+v, [Service1] %v, [Account1] %v",
				ns, name, what, s.mbx.Status.ClientConfig, s.mbx.Status.Conditions, s.service, s.account)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// assertNoSecretIn fails when any of the secrets is in the ConfigMap, in the text of its files or in its
// bytes as the API server stores them.
func assertNoSecretIn(t *testing.T, cm *corev1.ConfigMap, secrets ...string) {
	t.Helper()
	raw, err := json.Marshal(cm)
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "ConfigMap "+cm.Name, string(raw), secrets...)
	for name, data := range cm.BinaryData {
		assertNoSecret(t, name+" (bytes)", string(data), secrets...)
		units := make([]uint16, len(data)/2)
		for i := range units {
			units[i] = uint16(data[2*i]) | uint16(data[2*i+1])<<8
		}
		assertNoSecret(t, name+" (text)", string(utf16.Decode(units)), secrets...)
	}
}

// TestClientConfig: a Mailbox gets its Outlook profile in a ConfigMap it owns, named in its status, without
// a password; the ConfigMap follows a FreeBusyPublication's search URL coming and going and the MailServer
// moving; and the files do not wait for the Mailbox's IMAP check.
func TestClientConfig(t *testing.T) {
	ns := newNamespace(t)
	srv, mb := freeBusyMailbox(t, ns)
	alice := srv.Users["alice"]
	mutate(t, mb, func(m *mailshiftv1.Mailbox) { m.Spec.DisplayName = "Alice Müller" })

	st := waitClientConfig(t, ns, "alice", "the display name", func(s clientConfigState) bool { return s.account["DisplayName"] == "Alice Müller" })
	if st.cm.Name != "alice-outlook" || st.mbx.Status.ClientConfig.ConfigMapName != "alice-outlook" {
		t.Errorf("ConfigMap %q, status names %q; want alice-outlook", st.cm.Name, st.mbx.Status.ClientConfig.ConfigMapName)
	}
	owner := metav1.GetControllerOf(&st.cm)
	if owner == nil || owner.UID != st.mbx.UID || owner.Kind != "Mailbox" || owner.BlockOwnerDeletion == nil || !*owner.BlockOwnerDeletion {
		t.Errorf("ConfigMap owners %+v, want the Mailbox (uid %s) as controller, blocking its deletion", st.cm.OwnerReferences, st.mbx.UID)
	}
	if got := outlookprofile.Hash(st.cm.BinaryData); got != st.mbx.Status.ClientConfig.Hash {
		t.Errorf("status hash %s, the ConfigMap's files hash to %s", st.mbx.Status.ClientConfig.Hash, got)
	}
	if len(st.cm.BinaryData) != 1 || len(st.cm.Data) != 0 || st.reg != nil {
		t.Errorf("ConfigMap keys %v %v, want outlook.prf alone while there is no publication", st.cm.BinaryData, st.cm.Data)
	}
	wantService := map[string]string{"UniqueService": "Yes", "OverwriteExistingService": "Yes", "Host": srv.Host, "Port": strconv.Itoa(srv.Port),
		"TLS": "starttls", "AllowPlaintext": "false", "Login": alice.Login, "EmailAddress": alice.Address}
	if fmt.Sprint(st.service) != fmt.Sprint(wantService) {
		t.Errorf("[Service1]\n got %v\nwant %v", st.service, wantService)
	}
	if st.account["SMTPServer"] != srv.Host || st.account["SMTPPort"] != "587" || st.account["SMTPSecureConnection"] != "2" ||
		st.account["SMTPUserName"] != alice.Login || st.account["EmailAddress"] != alice.Address {
		t.Errorf("[Account1] %v, want submission on %s:587 with STARTTLS as %s", st.account, srv.Host, alice.Login)
	}
	c := meta.FindStatusCondition(st.mbx.Status.Conditions, mailshiftv1.ConditionClientConfigReady)
	if c == nil || c.Status != metav1.ConditionTrue || c.Reason != mailshiftv1.ReasonClientConfigRendered || c.ObservedGeneration != st.mbx.Generation {
		t.Errorf("ClientConfigReady %+v", c)
	}
	waitForEvent(t, ns, "alice", mailshiftv1.ReasonClientConfigRendered)
	// Both controllers write the status: the Mailbox controller's check still lands beside the files.
	waitForReady(t, mb, func() []metav1.Condition { return mb.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonReady, 60*time.Second)
	if mb.Status.ClientConfig == nil || meta.FindStatusCondition(mb.Status.Conditions, mailshiftv1.ConditionClientConfigReady) == nil {
		t.Errorf("the Mailbox check's status write removed the client configuration: %+v", mb.Status)
	}
	// Each writer owns its own fields: the Mailbox controller would otherwise write back a stale copy.
	owned := map[string]string{}
	for _, f := range mb.ManagedFields {
		if f.Subresource == "status" && f.FieldsV1 != nil {
			owned[f.Manager] = f.FieldsV1.GetRawString()
		}
	}
	if m := owned[fieldManagerMailbox]; !strings.Contains(m, `"f:folders"`) || strings.Contains(m, "clientConfig") || strings.Contains(m, "ClientConfigReady") {
		t.Errorf("the Mailbox controller's status fields: %s", m)
	}
	if c := owned[fieldManagerClientConfig]; !strings.Contains(c, `"f:clientConfig"`) || !strings.Contains(c, "ClientConfigReady") || strings.Contains(c, "f:folders") {
		t.Errorf("the client configuration controller's status fields: %s", c)
	}
	assertNoSecretIn(t, &st.cm, alice.Password)

	// A publication's search URL is added as freebusy.reg, and goes with the publication.
	ftp := testserver.PureFTPd(t, testserver.FTPOptions{TLS: "require-data"})
	pub := ftp.Users["publisher"]
	fb, secrets := freeBusyObjects(ns, "alice-fb", "alice", ftp, pub.Login, pub.Password, mailshiftv1.FTPExplicitTLS)
	for _, s := range secrets {
		mustCreate(t, s)
	}
	mustCreate(t, fb)
	waitForReady(t, fb, fbConds(fb), metav1.ConditionTrue, mailshiftv1.ReasonPublished, 60*time.Second)
	url := fb.Status.SearchURL
	if !strings.Contains(url, "%NAME%") {
		t.Fatalf("the publication's search URL %q has no %%NAME%%", url)
	}
	st = waitClientConfig(t, ns, "alice", "the free/busy search URL", func(s clientConfigState) bool { return s.reg != nil })
	for _, k := range st.reg.Keys {
		if len(k.Values) != 1 || k.Values[0] != (outlookprofile.RegValue{Name: "Read URL", Data: url}) {
			t.Errorf("%s: %+v, want Read URL=%s", k.Path, k.Values, url)
		}
	}
	if len(st.reg.Keys) != 2 || st.service["FreeBusySearchURL"] != url || st.mbx.Status.ClientConfig.FreeBusyPublication != "alice-fb" ||
		strings.Join(st.mbx.Status.ClientConfig.Files, ",") != "freebusy.reg,outlook.prf" {
		t.Errorf("registry keys %d, [Service1] FreeBusySearchURL=%q, status %+v", len(st.reg.Keys), st.service["FreeBusySearchURL"], st.mbx.Status.ClientConfig)
	}
	assertNoSecretIn(t, &st.cm, alice.Password, pub.Password)
	if err := k8s.Delete(context.Background(), fb); err != nil {
		t.Fatal(err)
	}
	waitClientConfig(t, ns, "alice", "no free/busy file", func(s clientConfigState) bool {
		return s.reg == nil && s.service["FreeBusySearchURL"] == "" && s.mbx.Status.ClientConfig.FreeBusyPublication == ""
	})

	// The MailServer moves and gets a submission server on 465: the files follow, with a new hash.
	before := st.mbx.Status.ClientConfig.Hash
	ms := &mailshiftv1.MailServer{}
	if err := k8s.Get(context.Background(), key(ns, "dovecot"), ms); err != nil {
		t.Fatal(err)
	}
	mutate(t, ms, func(s *mailshiftv1.MailServer) {
		s.Spec.Host, s.Spec.Port = "localhost", 10143
		s.Spec.Submission = &mailshiftv1.SubmissionServer{Host: "smtp.example.test", Port: 465}
	})
	st = waitClientConfig(t, ns, "alice", "the moved server", func(s clientConfigState) bool { return s.service["Host"] == "localhost" })
	if st.service["Port"] != "10143" || st.account["SMTPServer"] != "smtp.example.test" || st.account["SMTPPort"] != "465" ||
		st.account["SMTPSecureConnection"] != "1" || st.mbx.Status.ClientConfig.Hash == before {
		t.Errorf("after the move: [Service1] %v, [Account1] %v, hash %s (was %s)", st.service, st.account, st.mbx.Status.ClientConfig.Hash, before)
	}

	// A host the connector refuses: ClientConfigReady False with the field to fix, an Event, and the last
	// good files stay.
	mutate(t, ms, func(s *mailshiftv1.MailServer) { s.Spec.Host = "imap server!" })
	good := st.mbx.Status.ClientConfig.Hash
	waitForCondition(t, ns, "alice", mailshiftv1.ConditionClientConfigReady, metav1.ConditionFalse, mailshiftv1.ReasonClientConfigInvalid,
		"spec.host", "not a host name")
	e := waitForEvent(t, ns, "alice", mailshiftv1.ReasonClientConfigInvalid)
	if e.Type != corev1.EventTypeWarning || !strings.Contains(e.Note, "MailServer "+ns+"/dovecot spec.host") {
		t.Errorf("Event %s %q, want a Warning naming the MailServer's spec.host", e.Type, e.Note)
	}
	if st, _ := readClientConfig(t, ns, "alice"); st.mbx.Status.ClientConfig == nil || st.mbx.Status.ClientConfig.Hash != good || st.service["Host"] != "localhost" {
		t.Errorf("the last good files were not kept: %+v", st.mbx.Status.ClientConfig)
	}
}

// waitForCondition polls the Mailbox until the condition has the status and reason, with a message
// containing every one of words.
func waitForCondition(t *testing.T, ns, name, typ string, status metav1.ConditionStatus, reason string, words ...string) *metav1.Condition {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last *metav1.Condition
	for time.Now().Before(deadline) {
		var m mailshiftv1.Mailbox
		if err := k8s.Get(context.Background(), key(ns, name), &m); err == nil {
			last = meta.FindStatusCondition(m.Status.Conditions, typ)
			if last != nil && last.Status == status && last.Reason == reason {
				for _, w := range words {
					if !strings.Contains(last.Message, w) {
						t.Fatalf("%s %s/%s: message %q does not say %q", typ, status, reason, last.Message, w)
					}
				}
				return last
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("Mailbox %s/%s: %s did not become %s/%s within 30s; last: %+v", ns, name, typ, status, reason, last)
	return nil
}

// TestClientConfigWithoutIMAP: the files are written for a Mailbox whose server cannot be reached, before
// and whatever its check concludes; a ConfigMap of the files' name that belongs to something else is left
// alone and reported; a MailServer that goes away is reported.
func TestClientConfigWithoutIMAP(t *testing.T) {
	ns := newNamespace(t)
	down := &mailshiftv1.MailServer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "down"},
		Spec: mailshiftv1.MailServerSpec{Host: "127.0.0.1", Port: int32(closedPort(t)), TLS: mailshiftv1.TLSImplicit,
			Submission: &mailshiftv1.SubmissionServer{TLS: mailshiftv1.TLSImplicit}}}
	carol := &mailshiftv1.Mailbox{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "carol"},
		Spec: mailshiftv1.MailboxSpec{ServerRef: mailshiftv1.ServerRef{Name: "down"}, Login: "carol", Address: "carol@example.test",
			CredentialsSecretRef: &mailshiftv1.SecretKeyRef{Name: "carol-imap"}}}
	taken := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dave-outlook"}, Data: map[string]string{"mine": "yes"}}
	dave := carol.DeepCopy()
	dave.Name, dave.Spec.Login, dave.Spec.Address = "dave", "dave", "dave@example.test"
	for _, o := range []clientObject{secret(ns, "carol-imap", map[string]string{"password": "carol-secret-pw"}), down, carol, taken, dave} {
		mustCreate(t, o)
	}
	st := waitClientConfig(t, ns, "carol", "files", func(clientConfigState) bool { return true })
	if st.service["Port"] != strconv.Itoa(int(down.Spec.Port)) || st.service["TLS"] != "implicit" || st.account["SMTPPort"] != "465" || st.account["SMTPSecureConnection"] != "1" {
		t.Errorf("[Service1] %v [Account1] %v", st.service, st.account)
	}
	if c := meta.FindStatusCondition(st.mbx.Status.Conditions, mailshiftv1.ConditionReady); c != nil && c.Status == metav1.ConditionTrue {
		t.Errorf("an unreachable server's Mailbox is Ready: %+v", c)
	}
	assertNoSecretIn(t, &st.cm, "carol-secret-pw")

	// A ConfigMap someone deletes is written again.
	if err := k8s.Delete(context.Background(), &st.cm); err != nil {
		t.Fatal(err)
	}
	waitClientConfig(t, ns, "carol", "a new ConfigMap", func(s clientConfigState) bool { return s.cm.UID != st.cm.UID })

	waitForCondition(t, ns, "dave", mailshiftv1.ConditionClientConfigReady, metav1.ConditionFalse, mailshiftv1.ReasonClientConfigConflict,
		"dave-outlook", "rename or remove it")
	var cm corev1.ConfigMap
	if err := k8s.Get(context.Background(), key(ns, "dave-outlook"), &cm); err != nil || cm.Data["mine"] != "yes" || len(cm.BinaryData) != 0 || len(cm.OwnerReferences) != 0 {
		t.Errorf("someone else's ConfigMap was changed: %+v (%v)", cm, err)
	}

	if err := k8s.Delete(context.Background(), down); err != nil {
		t.Fatal(err)
	}
	waitForCondition(t, ns, "carol", mailshiftv1.ConditionClientConfigReady, metav1.ConditionFalse, mailshiftv1.ReasonServerNotFound, "MailServer "+ns+"/down not found")
}
