package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
)

// appendMessage stores one small message in alice's INBOX through an independent IMAP session, so that the
// next check has something new to count.
func appendMessage(t *testing.T, c *imapclient.Client, subject string) {
	t.Helper()
	msg := []byte(fmt.Sprintf("From: bob@example.org\r\nTo: alice@example.org\r\nSubject: %s\r\n\r\nhello\r\n", subject))
	cmd := c.Append("INBOX", int64(len(msg)), nil)
	if _, err := cmd.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("APPEND: %v", err)
	}
}

// waitForMailbox polls the Mailbox until done says yes, and returns it.
func waitForMailbox(t *testing.T, mb *mailshiftv1.Mailbox, within time.Duration, what string, done func(*mailshiftv1.Mailbox) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if err := k8s.Get(context.Background(), key(mb.Namespace, mb.Name), mb); err == nil && done(mb) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("Mailbox %s/%s: %s did not happen within %s; status: %+v", mb.Namespace, mb.Name, what, within, mb.Status)
}

// TestPingRequestChecksNow: a new mailshift.io/ping-request token makes the Mailbox controller check at once,
// long before the next periodic check, and the status that carries the token is that new check's (it
// counts a message stored after the last periodic check). A token the status may not carry is ignored.
func TestPingRequestChecksNow(t *testing.T) {
	srv := startServer(t, "dovecot")
	ns := newNamespace(t)
	ms, ca := serverObjects(ns, "imap", srv)
	mb, sec := userMailbox(ns, "imap", srv.Users["alice"])
	mb.Spec.CheckInterval = &metav1.Duration{Duration: time.Hour} // no periodic check during the test
	for _, o := range []clientObject{ca, sec, ms, mb} {
		mustCreate(t, o)
	}
	waitForReady(t, mb, func() []metav1.Condition { return mb.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonReady, 60*time.Second)
	if mb.Status.Messages != 0 || mb.Status.LastPingRequest != "" {
		t.Fatalf("before any request: messages %d, lastPingRequest %q; want 0 and none", mb.Status.Messages, mb.Status.LastPingRequest)
	}

	imap := rawLogin(t, srv, srv.Users["alice"])
	appendMessage(t, imap, "first")
	const token = "0123456789abcdef-1"
	asked := time.Now()
	mutate(t, mb, func(m *mailshiftv1.Mailbox) {
		if m.Annotations == nil {
			m.Annotations = map[string]string{}
		}
		m.Annotations[mailshiftv1.PingRequestAnnotation] = token
	})
	waitForMailbox(t, mb, 20*time.Second, "the answer to ping request "+token, func(m *mailshiftv1.Mailbox) bool {
		return m.Status.LastPingRequest == token
	})
	t.Logf("ping request answered in %s", time.Since(asked).Round(time.Millisecond))
	if mb.Status.Messages != 1 {
		t.Errorf("the status that answers the request counts %d messages, want the 1 stored before it", mb.Status.Messages)
	}
	if c := condition(mb.Status.Conditions, mailshiftv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Ready after the ping = %+v, want True", c)
	}

	// A value that is not a token (spaces, too long) starts a check too, but is not copied into the status.
	for i, bad := range []string{"not a token!", fmt.Sprintf("%065d", 7)} {
		appendMessage(t, imap, fmt.Sprintf("bad %d", i))
		mutate(t, mb, func(m *mailshiftv1.Mailbox) { m.Annotations[mailshiftv1.PingRequestAnnotation] = bad })
		want := int64(2 + i)
		waitForMailbox(t, mb, 20*time.Second, fmt.Sprintf("a check counting %d messages", want), func(m *mailshiftv1.Mailbox) bool {
			return m.Status.Messages == want
		})
		if mb.Status.LastPingRequest != token {
			t.Errorf("annotation %q: status.lastPingRequest = %q, want the last valid token %q", bad, mb.Status.LastPingRequest, token)
		}
	}
}
