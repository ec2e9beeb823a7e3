package controllers

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/migrationrun"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestMailboxOAuth2 runs Mailboxes that log in with OAuth 2.0 tokens from a real authorization server (Ory
// Hydra, client-credentials grant) to a real Dovecot that asks Hydra about each token: the Mailbox becomes
// Ready, a SyncPolicy syncs from it, tokens that expire within seconds are renewed for every login, a
// refused client stalls with AuthenticationFailed, and no secret or token shows in status or Events.
func TestMailboxOAuth2(t *testing.T) {
	t.Parallel()
	hydra, dovecot, ns, client, _ := oauth2Fixture(t)
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

// oauth2Fixture starts Ory Hydra (tokens live 5 s) with the client "alice", and a Dovecot that asks Hydra
// about each token, named by the MailServer "dovecot" in a new namespace, with its CA Secret and the client's.
func oauth2Fixture(t *testing.T) (hydra *testserver.Hydra, dovecot *testserver.Server, ns string, client, ca *corev1.Secret) {
	hydra = testserver.StartHydra(t, testserver.HydraOptions{AccessTokenTTL: 5 * time.Second})
	hydra.AddClient(t, "alice", "alice-oauth2-client-secret")
	dovecot = testserver.DovecotWith(t, testserver.Options{OAuth2IntrospectionURL: hydra.IntrospectURL, OAuth2UsernameAttribute: "sub"})
	ns = newNamespace(t)
	ms, ca := serverObjects(ns, "dovecot", dovecot)
	client = secret(ns, "alice-oauth2", map[string]string{"client_id": "alice", "client_secret": "alice-oauth2-client-secret"})
	for _, o := range []clientObject{ca, ms, client} {
		mustCreate(t, o)
	}
	return hydra, dovecot, ns, client, ca
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

// TestMigrationIntoOAuth2Mailbox: a migration into a Mailbox that logs in with OAuth2 (the client-credentials
// grant against Ory Hydra, Dovecot introspecting the tokens): the worker gets its tokens itself, and a run
// after the first token expired gets a new one. The Secrets it reads are the Mailbox's; nothing of them
// reaches the status or Events.
func TestMigrationIntoOAuth2Mailbox(t *testing.T) {
	t.Parallel()
	hydra, dovecot, ns, client, ca := oauth2Fixture(t)
	source := secret(ns, "bob-imap", map[string]string{"username": "bob", "password": dovecot.Users["bob"].Password})
	mustCreate(t, source)
	mbx := oauth2Mailbox(ns, "alice", hydra.TokenURL, client.Name)
	mustCreate(t, mbx)
	waitForReady(t, mbx, func() []metav1.Condition { return mbx.Status.Conditions }, metav1.ConditionTrue, "", 60*time.Second)

	account{t, dovecot, "bob"}.put("Reports", "r1", "r2", "r3")
	mig := imapMigration(ns, "bob-to-alice", "alice", dovecot, source.Name)
	mig.Spec.Source.IMAP.CABundle = &mailshiftv1.SecretKeyRef{Name: ca.Name, Key: "ca.crt"}
	mig.Spec.Folders.Include = []string{"Reports"}
	mustCreate(t, mig)
	waitMigration(t, mig, metav1.ConditionTrue, ReasonCompleted, 120*time.Second)
	target := account{t, dovecot, "alice"}
	if p := mig.Status.Progress; p == nil || p.ItemsCopied != 3 || p.ItemsFailed != 0 || target.count("Reports") != 3 {
		t.Fatalf("progress %+v, the OAuth2 Mailbox holds %d", mig.Status.Progress, target.count("Reports"))
	}

	// The first token has expired: the next run logs in with a new one.
	time.Sleep(6 * time.Second)
	account{t, dovecot, "bob"}.put("Reports", "r4")
	first := mig.Status.JobName
	updateMigration(t, mig, func(m *mailshiftv1.MailboxMigration) { m.Spec.Parallelism = 2 })
	waitFor(t, 90*time.Second, "a second run", func() bool {
		m := getMigration(t, ns, mig.Name)
		*mig = *m
		return m.Status.JobName != first && m.Status.Phase == mailshiftv1.PhaseSucceeded && m.Status.ObservedGeneration == m.Generation
	})
	if p := mig.Status.Progress; p == nil || p.ItemsCopied != 1 || target.count("Reports") != 4 {
		t.Errorf("second run: progress %+v, the OAuth2 Mailbox holds %d", mig.Status.Progress, target.count("Reports"))
	}
	assertNoSecret(t, "status", fmt.Sprintf("%+v %+v", mig.Status, mbx.Status), "alice-oauth2-client-secret", "ory_at_")
}

// TestOAuth2MigrationTarget: what a worker is given to log in to an OAuth2 Mailbox: the token's Secret, or
// the client's Secret keys for the client-credentials grant; never the RefreshToken grant (its refresh token
// is the manager's), and never a token endpoint the manager may not reach.
func TestOAuth2MigrationTarget(t *testing.T) {
	mbx := func(o mailshiftv1.MailboxOAuth2) *mailshiftv1.Mailbox {
		return &mailshiftv1.Mailbox{ObjectMeta: metav1.ObjectMeta{Namespace: "t", Name: "alice"}, Spec: mailshiftv1.MailboxSpec{OAuth2: &o}}
	}
	var tgt migrationrun.Target
	if err := oauth2Target(mbx(mailshiftv1.MailboxOAuth2{TokenSecretRef: &mailshiftv1.SecretKeyRef{Name: "tok"}, Mechanism: mailshiftv1.AuthOAUTHBEARER}), &tgt); err != nil ||
		tgt.Token == nil || tgt.Token.Secret.Name != "tok" || tgt.Token.Secret.Key != "token" || tgt.Mechanism != imapconn.MechanismOAuthBearer || tgt.OAuth2 != nil {
		t.Errorf("token Secret: %+v, %v", tgt, err)
	}
	tgt = migrationrun.Target{}
	if err := oauth2Target(mbx(mailshiftv1.MailboxOAuth2{TokenURL: "http://127.0.0.1:4444/oauth2/token", ClientSecretRef: &mailshiftv1.LocalObjectRef{Name: "cl"}, Scopes: []string{"imap"}}), &tgt); err != nil ||
		tgt.OAuth2 == nil || tgt.OAuth2.ClientID.Secret.Key != "client_id" || tgt.OAuth2.ClientSecret.Secret.Name != "cl" || tgt.OAuth2.Scopes[0] != "imap" || tgt.Mechanism != imapconn.MechanismXOAUTH2 {
		t.Errorf("client credentials: %+v %+v, %v", tgt, tgt.OAuth2, err)
	}
	for name, c := range map[string]struct {
		o      mailshiftv1.MailboxOAuth2
		reason string
	}{
		"refresh token": {mailshiftv1.MailboxOAuth2{TokenURL: "http://127.0.0.1:4444/oauth2/token", Grant: mailshiftv1.GrantRefreshToken,
			ClientSecretRef: &mailshiftv1.LocalObjectRef{Name: "cl"}, RefreshTokenSecretRef: &mailshiftv1.SecretKeyRef{Name: "rt"}}, mailshiftv1.ReasonNotSupported},
		"token endpoint elsewhere": {mailshiftv1.MailboxOAuth2{TokenURL: "http://127.0.0.2:4444/oauth2/token",
			ClientSecretRef: &mailshiftv1.LocalObjectRef{Name: "cl"}}, mailshiftv1.ReasonHostNotAllowed},
		"no client": {mailshiftv1.MailboxOAuth2{TokenURL: "http://127.0.0.1:4444/oauth2/token"}, mailshiftv1.ReasonInvalidSpec},
	} {
		var re *refError
		if err := oauth2Target(mbx(c.o), &migrationrun.Target{}); !errors.As(err, &re) || re.reason != c.reason {
			t.Errorf("%s: %v, want %s", name, err, c.reason)
		} else {
			t.Logf("%s: %s", name, re.message)
		}
	}
}

// TestMailboxOAuth2RefreshTokenKept: a Mailbox on the RefreshToken grant against Ory Hydra, which replaces
// the refresh token at each use and refuses the one before: the replaced one is written back into the
// Mailbox's Secret, and a manager started again (its token sources gone) logs in with what the Secret holds.
func TestMailboxOAuth2RefreshTokenKept(t *testing.T) {
	t.Parallel()
	hydra, _, ns, _, _ := oauth2Fixture(t)
	first := hydra.RefreshToken(t, "mail-app", "mail-app-secret-9", "alice")
	client := secret(ns, "mail-app", map[string]string{"client_id": "mail-app", "client_secret": "mail-app-secret-9"})
	rt := secret(ns, "alice-refresh", map[string]string{"refresh_token": first})
	mustCreate(t, client)
	mustCreate(t, rt)
	mbx := oauth2Mailbox(ns, "alice", hydra.TokenURL, client.Name)
	mbx.Spec.OAuth2.Grant = mailshiftv1.GrantRefreshToken
	mbx.Spec.OAuth2.RefreshTokenSecretRef = &mailshiftv1.SecretKeyRef{Name: rt.Name}
	mustCreate(t, mbx)
	waitForReady(t, mbx, func() []metav1.Condition { return mbx.Status.Conditions }, metav1.ConditionTrue, "", 60*time.Second)
	kept := func() string {
		var s corev1.Secret
		if err := k8s.Get(context.Background(), key(ns, rt.Name), &s); err != nil {
			t.Fatal(err)
		}
		return string(s.Data["refresh_token"])
	}
	waitFor(t, 30*time.Second, "the replaced refresh token written back", func() bool { return kept() != first })

	// A manager started again has no token source: the check after it logs in with the Secret's.
	tokenSources.mu.Lock()
	delete(tokenSources.m, ns+"/"+mbx.Name)
	tokenSources.mu.Unlock()
	mutate(t, mbx, func(m *mailshiftv1.Mailbox) {
		m.Annotations = map[string]string{mailshiftv1.PingRequestAnnotation: "after-restart"}
	})
	waitFor(t, 30*time.Second, "the check after the restart", func() bool {
		return k8s.Get(context.Background(), key(ns, mbx.Name), mbx) == nil && mbx.Status.LastPingRequest == "after-restart"
	})
	if c := condition(mbx.Status.Conditions, mailshiftv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("after a restart with the kept refresh token: %+v", c)
	}
	assertNoSecret(t, "status", fmt.Sprintf("%+v", mbx.Status), first, kept(), "mail-app-secret-9", "ory_at_")
}
