package controllers

import (
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/outlookprofile"
)

// FuzzClientConfig drives the client configuration with arbitrary Mailbox, MailServer and publication
// values: it never panics, refuses only with ClientConfigInvalid, and otherwise makes a ConfigMap the API
// server would take (a valid name, owned by the Mailbox) whose files read back with the values given.
func FuzzClientConfig(f *testing.F) {
	f.Add("alice", "imap.example.test", int32(0), "STARTTLS", "alice", "alice@example.test", "Alice", "", int32(0), "", "ftp://h/pub/%NAME%.vfb")
	f.Add("a.b-c", "127.0.0.1", int32(993), "Implicit", "a\"b", "x@y", "A\r\n[Service2]", "smtp.example.test", int32(465), "None", "")
	f.Add("x", "imap server", int32(70000), "SSLv3", "", "", ";", "h;", int32(-1), "Implicit", "http://h/%NA")
	f.Fuzz(func(t *testing.T, name, host string, port int32, tls, login, address, display, smtpHost string, smtpPort int32, smtpTLS, url string) {
		if len(validation.IsDNS1123Subdomain(name)) > 0 {
			return // the API server would not have stored the Mailbox
		}
		mbx := &mailshiftv1.Mailbox{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: "uid"},
			Spec: mailshiftv1.MailboxSpec{Login: login, Address: address, DisplayName: display}}
		srv := &mailshiftv1.MailServer{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "imap"},
			Spec: mailshiftv1.MailServerSpec{Host: host, Port: port, TLS: mailshiftv1.TLSMode(tls), InsecureAllowPlaintext: tls == "None",
				Submission: &mailshiftv1.SubmissionServer{Host: smtpHost, Port: smtpPort, TLS: mailshiftv1.TLSMode(smtpTLS)}}}
		var pub *mailshiftv1.FreeBusyPublication
		if url != "" {
			pub = &mailshiftv1.FreeBusyPublication{ObjectMeta: metav1.ObjectMeta{Name: "fb"}, Status: mailshiftv1.FreeBusyPublicationStatus{SearchURL: url}}
		}
		r, err := renderClientConfig(mbx, srv, pub)
		if err != nil {
			var re *refError
			if !errors.As(err, &re) || re.reason != mailshiftv1.ReasonClientConfigInvalid {
				t.Fatalf("refused with %v", err)
			}
			return
		}
		cm := r.configMap
		if errs := validation.IsDNS1123Subdomain(cm.Name); len(errs) > 0 {
			t.Fatalf("ConfigMap name %q: %v", cm.Name, errs)
		}
		if owner := metav1.GetControllerOf(cm); owner == nil || owner.UID != "uid" || cm.Namespace != "ns" {
			t.Fatalf("ConfigMap %s/%s owned by %+v", cm.Namespace, cm.Name, owner)
		}
		prf, err := outlookprofile.ParsePRF(cm.BinaryData[outlookprofile.PRFFile])
		if err != nil {
			t.Fatal(err)
		}
		service, _ := prf.Section("Service1")
		account, _ := prf.Section("Account1")
		if got, _ := service.Get("Login"); got != login {
			t.Fatalf("Login=%q, want %q", got, login)
		}
		if got, _ := account.Get("DisplayName"); got != display {
			t.Fatalf("DisplayName=%q, want %q", got, display)
		}
		if _, ok := cm.BinaryData[outlookprofile.FreeBusyFile]; ok != (url != "") {
			t.Fatalf("freebusy.reg present: %v, search URL %q", ok, url)
		}
	})
}
