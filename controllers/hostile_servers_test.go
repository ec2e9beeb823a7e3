package controllers

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/fakeimap"
)

// plaintextServer is a MailServer for a fake on loopback (no TLS: the fakes speak none).
func plaintextServer(ns, name, host string, port int) *mailshiftv1.MailServer {
	return &mailshiftv1.MailServer{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       mailshiftv1.MailServerSpec{Host: host, Port: int32(port), TLS: mailshiftv1.TLSNone, InsecureAllowPlaintext: true},
	}
}

// secretForms are the spellings of a password an echoing server could send back.
func secretForms(login, pw string, more ...string) []string {
	forms := []string{pw, strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(pw),
		base64.StdEncoding.EncodeToString([]byte(pw)),
		base64.StdEncoding.EncodeToString([]byte("\x00" + login + "\x00" + pw))}
	for _, m := range more {
		forms = append(forms, base64.StdEncoding.EncodeToString([]byte(m)))
	}
	return forms
}

// TestEchoedPasswordsStayOutOfStatus: servers that echo every authentication command into their NO (a
// fake: no real server does) must not get any form of a password into a MailServer's or Mailbox's
// status, their Events or the log: SASL PLAIN base64 (user login and admin impersonation), and LOGIN's
// quoted string with escapes (user and Dovecot master user).
func TestEchoedPasswordsStayOutOfStatus(t *testing.T) {
	const userPW, adminPW = `secret"pw\123`, "adm1n-pw-456"
	ns := newNamespace(t)
	plain := fakeimap.Scripted(t, fakeimap.Options{Caps: "AUTH=PLAIN SASL-IR"})
	login := fakeimap.Scripted(t, fakeimap.Options{})
	admin := secret(ns, "admin", map[string]string{"username": "mailadmin", "password": adminPW})
	userSec := secret(ns, "alice-pw", map[string]string{"password": userPW})
	objs := []clientObject{admin, userSec}
	var servers []*mailshiftv1.MailServer
	var mailboxes []*mailshiftv1.Mailbox
	for name, fake := range map[string]*fakeimap.Server{"echo-plain": plain, "echo-login": login} {
		ms := plaintextServer(ns, name, fake.Host, fake.Port)
		ms.Spec.Flavor = mailshiftv1.FlavorCyrus
		if fake == login {
			ms.Spec.Flavor = mailshiftv1.FlavorDovecot // impersonation by LOGIN "alice*mailadmin"
		}
		ms.Spec.Admin = &mailshiftv1.AdminCredentials{SecretRef: mailshiftv1.CredentialsSecretRef{Name: admin.Name}, VerifyLogin: "alice"}
		mb := &mailshiftv1.Mailbox{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-" + name},
			Spec: mailshiftv1.MailboxSpec{ServerRef: mailshiftv1.ServerRef{Name: name}, Login: "alice", Address: "alice@example.test",
				CredentialsSecretRef: &mailshiftv1.SecretKeyRef{Name: userSec.Name}},
		}
		servers, mailboxes = append(servers, ms), append(mailboxes, mb)
		objs = append(objs, ms, mb)
	}
	for _, o := range objs {
		mustCreate(t, o)
	}
	forms := append(secretForms("alice", userPW), secretForms("mailadmin", adminPW, "alice\x00mailadmin\x00"+adminPW)...)
	var texts []string
	for _, ms := range servers {
		c := waitForReady(t, ms, func() []metav1.Condition { return ms.Status.Conditions }, metav1.ConditionFalse, mailshiftv1.ReasonAuthenticationFailed, 60*time.Second)
		texts = append(texts, c.Message, waitForEvent(t, ns, ms.Name, mailshiftv1.ReasonAuthenticationFailed).Note)
	}
	for _, mb := range mailboxes {
		c := waitForReady(t, mb, func() []metav1.Condition { return mb.Status.Conditions }, metav1.ConditionFalse, mailshiftv1.ReasonAuthenticationFailed, 60*time.Second)
		texts = append(texts, c.Message, waitForEvent(t, ns, mb.Name, mailshiftv1.ReasonAuthenticationFailed).Note)
	}
	for _, e := range eventsFor(t, ns, "") {
		texts = append(texts, e.Note)
	}
	texts = append(texts, logBuf.String())
	echoed := false
	for _, s := range texts {
		assertNoSecret(t, "status, Event or log", s, forms...)
		echoed = echoed || strings.Contains(s, "Authentication failed for")
	}
	if !echoed {
		t.Error("no status or Event shows the server's (scrubbed) text: the check would be vacuous")
	}
}

// TestNonIMAPPeerStaysOutOfStatus: a MailServer pointed at something that is not IMAP (here an SSH
// banner) is reported as such, without a byte of what answered.
func TestNonIMAPPeerStaysOutOfStatus(t *testing.T) {
	ns := newNamespace(t)
	junk := fakeimap.Banner(t, "SSH-2.0-OpenSSH_9.6 internal-bastion-7f3a\r\n")
	ms := plaintextServer(ns, "not-imap", junk.Host, junk.Port)
	ms.Spec.TLS, ms.Spec.InsecureAllowPlaintext = mailshiftv1.TLSStartTLS, false
	mustCreate(t, ms)
	c := waitForReady(t, ms, func() []metav1.Condition { return ms.Status.Conditions }, metav1.ConditionFalse, mailshiftv1.ReasonProtocolError, 60*time.Second)
	ev := waitForEvent(t, ns, ms.Name, mailshiftv1.ReasonProtocolError)
	for _, s := range []string{c.Message, ev.Note} {
		if strings.Contains(s, "internal") || strings.Contains(s, "SSH") {
			t.Errorf("the peer's bytes are in %q", s)
		}
		if !strings.Contains(s, "not an IMAP server") {
			t.Errorf("%q does not say what is wrong", s)
		}
	}
}

// TestServerHostNotAllowed: the test manager allows only 127.0.0.1 and localhost (see TestMain). A
// MailServer on 127.0.0.2, and a Mailbox on it, are Stalled with HostNotAllowed, and nothing connects.
func TestServerHostNotAllowed(t *testing.T) {
	ns := newNamespace(t)
	elsewhere := fakeimap.Scripted(t, fakeimap.Options{Host: "127.0.0.2", AcceptLogin: true})
	ms := plaintextServer(ns, "elsewhere", elsewhere.Host, elsewhere.Port)
	sec := secret(ns, "alice-pw", map[string]string{"password": "pw-never-sent"})
	mb := &mailshiftv1.Mailbox{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice"},
		Spec: mailshiftv1.MailboxSpec{ServerRef: mailshiftv1.ServerRef{Name: ms.Name}, Login: "alice", Address: "alice@example.test",
			CredentialsSecretRef: &mailshiftv1.SecretKeyRef{Name: sec.Name}},
	}
	for _, o := range []clientObject{ms, sec, mb} {
		mustCreate(t, o)
	}
	c := waitForReady(t, ms, func() []metav1.Condition { return ms.Status.Conditions }, metav1.ConditionFalse, mailshiftv1.ReasonHostNotAllowed, 60*time.Second)
	if st := condition(ms.Status.Conditions, mailshiftv1.ConditionStalled); st == nil || st.Status != metav1.ConditionTrue {
		t.Errorf("MailServer not Stalled: %+v", st)
	}
	if !strings.Contains(c.Message, "127.0.0.2") || !strings.Contains(c.Message, "allowed server hosts") {
		t.Errorf("message %q does not say which host and why", c.Message)
	}
	waitForEvent(t, ns, ms.Name, mailshiftv1.ReasonHostNotAllowed)
	waitForReady(t, mb, func() []metav1.Condition { return mb.Status.Conditions }, metav1.ConditionFalse, mailshiftv1.ReasonHostNotAllowed, 60*time.Second)
	if st := condition(mb.Status.Conditions, mailshiftv1.ConditionStalled); st == nil || st.Status != metav1.ConditionTrue {
		t.Errorf("Mailbox not Stalled: %+v", st)
	}
	if n := elsewhere.Connections(); n != 0 {
		t.Errorf("%d connections reached the host that is not allowed", n)
	}
}
