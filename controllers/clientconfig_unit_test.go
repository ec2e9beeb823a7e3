package controllers

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/outlookprofile"
)

func clientConfigInputs() (*mailshiftv1.Mailbox, *mailshiftv1.MailServer) {
	mbx := &mailshiftv1.Mailbox{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "alice", UID: "uid-alice"},
		Spec: mailshiftv1.MailboxSpec{ServerRef: mailshiftv1.ServerRef{Name: "imap"}, Login: "alice", Address: "alice@example.test"}}
	srv := &mailshiftv1.MailServer{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "imap"},
		Spec: mailshiftv1.MailServerSpec{Host: "imap.example.test", TLS: mailshiftv1.TLSStartTLS}}
	return mbx, srv
}

// TestRenderClientConfig: the MailServer's TLS modes become the connector's, the submission server's
// defaults follow its TLS mode, and a value the connector refuses is reported with the field to change.
func TestRenderClientConfig(t *testing.T) {
	cases := []struct {
		name                                string
		edit                                func(*mailshiftv1.Mailbox, *mailshiftv1.MailServer)
		tls, port, smtpHost, smtpPort, smtp string
	}{
		{"STARTTLS", func(*mailshiftv1.Mailbox, *mailshiftv1.MailServer) {}, "starttls", "143", "imap.example.test", "587", "2"},
		{"no TLS mode given", func(_ *mailshiftv1.Mailbox, s *mailshiftv1.MailServer) { s.Spec.TLS = "" }, "starttls", "143", "imap.example.test", "587", "2"},
		{"implicit", func(_ *mailshiftv1.Mailbox, s *mailshiftv1.MailServer) { s.Spec.TLS = mailshiftv1.TLSImplicit }, "implicit", "993", "imap.example.test", "587", "2"},
		{"plaintext allowed", func(_ *mailshiftv1.Mailbox, s *mailshiftv1.MailServer) {
			s.Spec.TLS, s.Spec.InsecureAllowPlaintext, s.Spec.Port = mailshiftv1.TLSNone, true, 10143
			s.Spec.Submission = &mailshiftv1.SubmissionServer{Port: 25, TLS: mailshiftv1.TLSNone}
		}, "none", "10143", "imap.example.test", "25", "0"},
		{"submission on 465", func(_ *mailshiftv1.Mailbox, s *mailshiftv1.MailServer) {
			s.Spec.Submission = &mailshiftv1.SubmissionServer{Host: "smtp.example.test", Port: 465}
		}, "starttls", "143", "smtp.example.test", "465", "1"},
		{"implicit submission", func(_ *mailshiftv1.Mailbox, s *mailshiftv1.MailServer) {
			s.Spec.Submission = &mailshiftv1.SubmissionServer{TLS: mailshiftv1.TLSImplicit}
		}, "starttls", "143", "imap.example.test", "465", "1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mbx, srv := clientConfigInputs()
			tc.edit(mbx, srv)
			r, err := renderClientConfig(mbx, srv, nil)
			if err != nil {
				t.Fatal(err)
			}
			f, err := outlookprofile.ParsePRF(r.files[outlookprofile.PRFFile])
			if err != nil {
				t.Fatal(err)
			}
			service, _ := f.Section("Service1")
			account, _ := f.Section("Account1")
			s, a := service.Map(), account.Map()
			if s["TLS"] != tc.tls || s["Port"] != tc.port || a["SMTPServer"] != tc.smtpHost || a["SMTPPort"] != tc.smtpPort || a["SMTPSecureConnection"] != tc.smtp {
				t.Errorf("[Service1] %v\n[Account1] %v", s, a)
			}
			if r.configMap.Name != "alice-outlook" || r.configMap.Namespace != "team-a" || metav1.GetControllerOf(r.configMap).UID != "uid-alice" ||
				r.configMap.Annotations[mailshiftv1.ClientConfigHashAnnotation] != r.hash || r.hash != outlookprofile.Hash(r.configMap.BinaryData) {
				t.Errorf("ConfigMap %+v, hash %s", r.configMap.ObjectMeta, r.hash)
			}
		})
	}

	pub := &mailshiftv1.FreeBusyPublication{ObjectMeta: metav1.ObjectMeta{Name: "alice-fb"}}
	refused := []struct {
		name  string
		edit  func(*mailshiftv1.Mailbox, *mailshiftv1.MailServer)
		where string
	}{
		{"host", func(_ *mailshiftv1.Mailbox, s *mailshiftv1.MailServer) { s.Spec.Host = "imap server" }, "MailServer team-a/imap spec.host"},
		{"submission host", func(_ *mailshiftv1.Mailbox, s *mailshiftv1.MailServer) {
			s.Spec.Submission = &mailshiftv1.SubmissionServer{Host: "smtp;x"}
		}, "MailServer team-a/imap spec.submission.host"},
		{"login", func(m *mailshiftv1.Mailbox, _ *mailshiftv1.MailServer) { m.Spec.Login = "zoë" }, "Mailbox alice spec.login"},
		{"no address", func(m *mailshiftv1.Mailbox, _ *mailshiftv1.MailServer) { m.Spec.Address = "" }, "Mailbox alice spec.address"},
		{"display name", func(m *mailshiftv1.Mailbox, _ *mailshiftv1.MailServer) { m.Spec.DisplayName = "Alice\n[x]" }, "Mailbox alice spec.displayName"},
		{"search URL", func(*mailshiftv1.Mailbox, *mailshiftv1.MailServer) { pub.Status.SearchURL = "file:///etc/%NAME%" }, "FreeBusyPublication alice-fb status.searchURL"},
	}
	for _, tc := range refused {
		t.Run("refused "+tc.name, func(t *testing.T) {
			mbx, srv := clientConfigInputs()
			pub.Status.SearchURL = "ftp://fb.example.test/pub/calendar/%NAME%.vfb"
			tc.edit(mbx, srv)
			_, err := renderClientConfig(mbx, srv, pub)
			var re *refError
			if !errors.As(err, &re) || re.reason != mailshiftv1.ReasonClientConfigInvalid || !strings.Contains(re.message, tc.where) {
				t.Errorf("error %v, want ClientConfigInvalid naming %s", err, tc.where)
			}
		})
	}
}

// TestClientConfigMapName: "<mailbox>-outlook", and for the longest Mailbox names a name that is still
// valid, distinct for distinct Mailboxes.
func TestClientConfigMapName(t *testing.T) {
	if got := clientConfigMapName("alice"); got != "alice-outlook" {
		t.Errorf("alice: %q", got)
	}
	long := strings.Repeat("a", 240) + "." + strings.Repeat("b", 12)
	other := strings.Repeat("a", 240) + "." + strings.Repeat("c", 12)
	for _, n := range []string{long, other, strings.Repeat("x", 244) + "-" + "y"} {
		got := clientConfigMapName(n)
		if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
			t.Errorf("%q: %v", got, errs)
		}
	}
	if clientConfigMapName(long) == clientConfigMapName(other) {
		t.Error("two long Mailbox names share one ConfigMap")
	}
}

// TestCacheHoldsClientConfigs: the manager's ConfigMap cache holds the client configurations and the served
// free/busy files, and nothing else.
func TestCacheHoldsClientConfigs(t *testing.T) {
	var sel labels.Selector
	for obj, o := range CacheOptions(nil).ByObject {
		if _, ok := obj.(*corev1.ConfigMap); ok {
			sel = o.Label
		}
	}
	if sel == nil {
		t.Fatal("the cache holds every ConfigMap")
	}
	mbx, _ := clientConfigInputs()
	cm := clientConfigMap(mbx, map[string][]byte{outlookprofile.PRFFile: nil}, "sha256:0")
	for _, c := range []struct {
		labels map[string]string
		want   bool
	}{
		{cm.Labels, true},
		{map[string]string{"app.kubernetes.io/component": "freebusy-file", "app.kubernetes.io/managed-by": "mailshift"}, true},
		{map[string]string{"app.kubernetes.io/component": "client-config"}, false},
		{map[string]string{"app.kubernetes.io/component": "checkpoint", "app.kubernetes.io/managed-by": "mailshift"}, false},
		{nil, false},
	} {
		if got := sel.Matches(labels.Set(c.labels)); got != c.want {
			t.Errorf("labels %v: cached %v, want %v", c.labels, got, c.want)
		}
	}
}
