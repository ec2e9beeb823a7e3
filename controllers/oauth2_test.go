package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestMailboxOAuth2 runs Mailboxes that log in with OAuth 2.0 tokens from a real authorization server (Ory
// Hydra, client-credentials grant) to a real Dovecot that asks Hydra about each token: the Mailbox becomes
// Ready, a SyncPolicy syncs from it, tokens that expire within seconds are renewed for every login, a
// refused client stalls with AuthenticationFailed, and no secret or token shows in status or Events.
func TestMailboxOAuth2(t *testing.T) {
	t.Parallel()
	hydra := testserver.StartHydra(t, testserver.HydraOptions{AccessTokenTTL: 5 * time.Second})
	hydra.AddClient(t, "alice", "alice-oauth2-client-secret")
	dovecot := testserver.DovecotWith(t, testserver.Options{OAuth2IntrospectionURL: hydra.IntrospectURL, OAuth2UsernameAttribute: "sub"})
	ns := newNamespace(t)
	ms, ca := serverObjects(ns, "dovecot", dovecot)
	mustCreate(t, ca)
	mustCreate(t, ms)
	client := secret(ns, "alice-oauth2", map[string]string{"client_id": "alice", "client_secret": "alice-oauth2-client-secret"})
	mustCreate(t, client)
	mbx := oauth2Mailbox(ns, "alice", hydra.TokenURL, client.Name)
	mustCreate(t, mbx)
	waitForReady(t, mbx, func() []metav1.Condition { return mbx.Status.Conditions }, metav1.ConditionTrue, "", 60*time.Second)

	// A sync from the OAuth2 Mailbox: each cycle logs in with a token fetched then (they live 5 s here).
	bob, bobSecret := userMailbox(ns, "dovecot", dovecot.Users["bob"])
	mustCreate(t, bobSecret)
	mustCreate(t, bob)
	account{t, dovecot, "alice"}.put("Reports", "r1", "r2")
	sp := &mailshiftv1.SyncPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-bob"},
		Spec: mailshiftv1.SyncPolicySpec{SourceRef: mailshiftv1.LocalObjectRef{Name: "alice"}, TargetRef: mailshiftv1.LocalObjectRef{Name: "bob"},
			Interval: metav1.Duration{Duration: time.Minute}, Folders: []mailshiftv1.SyncFolderPair{{Source: "Reports"}}},
	}
	mustCreate(t, sp)
	waitForReady(t, sp, func() []metav1.Condition { return sp.Status.Conditions }, metav1.ConditionTrue, mailshiftv1.ReasonSynced, 60*time.Second)
	time.Sleep(6 * time.Second) // the first token has expired
	account{t, dovecot, "alice"}.put("Reports", "r3")
	mutate(t, sp, func(p *mailshiftv1.SyncPolicy) {
		p.Annotations = map[string]string{mailshiftv1.AnnotationSyncNow: "after-expiry"}
	})
	waitFor(t, 30*time.Second, "the cycle after the first token expired", func() bool {
		return k8s.Get(context.Background(), key(ns, sp.Name), sp) == nil && sp.Status.LastSyncNow == "after-expiry"
	})
	target := account{t, dovecot, "bob"}
	if r, n := readyReason(sp.Status.Conditions), target.count("Reports"); r != mailshiftv1.ReasonSynced || n != 3 {
		t.Errorf("after the token expired: %s, the target holds %d", r, n)
	}

	// A client the authorization server refuses: stalled, AuthenticationFailed, a person must act.
	wrong := secret(ns, "carol-oauth2", map[string]string{"client_id": "alice", "client_secret": "a-wrong-client-secret"})
	mustCreate(t, wrong)
	bad := oauth2Mailbox(ns, "refused", hydra.TokenURL, wrong.Name)
	mustCreate(t, bad)
	c := waitForReady(t, bad, func() []metav1.Condition { return bad.Status.Conditions }, metav1.ConditionFalse, mailshiftv1.ReasonAuthenticationFailed, 60*time.Second)
	if s := condition(bad.Status.Conditions, mailshiftv1.ConditionStalled); s == nil || s.Status != metav1.ConditionTrue {
		t.Errorf("a refused client is not stalled: %+v", bad.Status.Conditions)
	}
	var events corev1.EventList
	if err := k8s.List(context.Background(), &events); err != nil {
		t.Fatal(err)
	}
	all := fmt.Sprintf("%+v %+v %+v %s", mbx.Status, bad.Status, sp.Status, c.Message)
	for _, e := range events.Items {
		if e.InvolvedObject.Namespace == ns {
			all += e.Message
		}
	}
	assertNoSecret(t, "status and Events", all, "alice-oauth2-client-secret", "a-wrong-client-secret", "ory_at_")
}

// oauth2Mailbox is Mailbox name for the login alice on the MailServer "dovecot", with tokens from tokenURL
// for the client in Secret client.
func oauth2Mailbox(ns, name, tokenURL, client string) *mailshiftv1.Mailbox {
	return &mailshiftv1.Mailbox{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mailshiftv1.MailboxSpec{ServerRef: mailshiftv1.ServerRef{Name: "dovecot"}, Login: "alice",
			OAuth2: &mailshiftv1.MailboxOAuth2{TokenURL: tokenURL, ClientSecretRef: &mailshiftv1.LocalObjectRef{Name: client}}},
	}
}
