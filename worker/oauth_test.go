package worker

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/msgid"
	"github.com/mailshift/mailshift/internal/testserver"
)

// aliceToken is the one bearer token the fake identity provider knows; it belongs to alice.
const aliceToken = "ya29.fake-token-of-alice-0123456789"

// oauthDovecot starts a Dovecot whose users can also log in with XOAUTH2 and OAUTHBEARER, checking tokens
// against a fake identity provider that knows only aliceToken.
func oauthDovecot(t *testing.T) (*testserver.Server, *testserver.FakeTokenIntrospection) {
	t.Helper()
	idp := testserver.StartFakeTokenIntrospection(t, map[string]string{aliceToken: "alice"})
	return testserver.DovecotWith(t, testserver.Options{OAuth2IntrospectionURL: idp.URL}), idp
}

// oauthTestMessage is a small RFC 5322 message with a Message-ID of its own.
func oauthTestMessage(msgID, subject string) imapbulk.Message {
	body := fmt.Sprintf("Message-ID: <%s>\r\nFrom: alice@example.test\r\nTo: bob@example.test\r\n"+
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\nSubject: %s\r\n\r\n%s\r\n", msgID, subject, subject)
	return imapbulk.Message{Size: int64(len(body)), Body: strings.NewReader(body), Flags: []string{`\Seen`},
		Date: time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)}
}

func oauthFill(t *testing.T, c *imapbulk.Conn, mailbox string, msgs []imapbulk.Message) {
	t.Helper()
	res, err := c.Append(context.Background(), mailbox, msgs)
	if err != nil {
		t.Fatalf("append to %s: %v", mailbox, err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("append %d to %s: %v", i, mailbox, r.Err)
		}
	}
}

// oauthMessageIDs returns the normalized Message-IDs a mailbox holds, sorted (duplicates kept).
func oauthMessageIDs(t *testing.T, c *imapbulk.Conn, mailbox string) []string {
	t.Helper()
	var ids []string
	for _, g := range contents(t, c, mailbox) {
		ids = append(ids, msgid.FromHeader(g.Header, g.Size).MessageID)
	}
	slices.Sort(ids)
	return ids
}

func oauthCred(login, mech, token string) imapconn.Credentials {
	return imapconn.Credentials{Login: login, Mechanism: mech, Token: token, Flavor: "dovecot"}
}

// TestOAuthLogin logs in to a real Dovecot with XOAUTH2 and OAUTHBEARER: a valid token opens alice's own
// mailbox; a wrong token, or alice's token for bob, is an authentication failure whose error does not
// carry the token.
func TestOAuthLogin(t *testing.T) {
	t.Parallel()
	srv, idp := oauthDovecot(t)
	alice := accountOf(srv, "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A marker only alice's mailbox holds, put there with her password.
	oauthFill(t, alice.bulk(t), "INBOX", []imapbulk.Message{oauthTestMessage("marker@oauth.test", "marker")})

	for _, mech := range []string{imapconn.MechanismXOAUTH2, imapconn.MechanismOAuthBearer} {
		t.Run(mech, func(t *testing.T) {
			before := idp.Asked(aliceToken)
			c, err := imapbulk.Dial(ctx, alice.ep, oauthCred("alice", mech, aliceToken))
			if err != nil {
				t.Fatalf("%s with alice's token: %v (see %s/dovecot.log)", mech, err, srv.Dir)
			}
			defer c.Close()
			if c.Login() != "alice" {
				t.Errorf("Login() = %q, want alice", c.Login())
			}
			if idp.Asked(aliceToken) == before {
				t.Errorf("Dovecot accepted the token without asking the identity provider")
			}
			if ids := oauthMessageIDs(t, c, "INBOX"); !slices.Equal(ids, []string{"marker@oauth.test"}) {
				t.Errorf("INBOX over %s holds %q, want alice's marker", mech, ids)
			}
			folder := "Made over " + mech
			if err := c.Create(ctx, folder, ""); err != nil {
				t.Fatalf("CREATE over %s: %v", mech, err)
			}
			// What the token session did is alice's: her password session sees it.
			if _, err := alice.bulk(t).Status(ctx, folder); err != nil {
				t.Errorf("alice does not see %q created over %s: %v", folder, mech, err)
			}

			for _, bad := range []struct{ login, token, why string }{
				{"alice", "ya29.not-a-token-anyone-issued", "an unknown token"},
				{"bob", aliceToken, "alice's token for bob"},
			} {
				_, err := imapbulk.Dial(ctx, alice.ep, oauthCred(bad.login, mech, bad.token))
				if err == nil {
					t.Errorf("%s with %s was accepted", mech, bad.why)
					continue
				}
				if k := imapconn.KindOf(err); k != imapconn.AuthenticationFailed {
					t.Errorf("%s with %s: kind %q, want %q: %v", mech, bad.why, k, imapconn.AuthenticationFailed, err)
				}
				msg := err.Error()
				if strings.Contains(msg, bad.token) || strings.Contains(msg, base64.StdEncoding.EncodeToString([]byte(bad.token))) {
					t.Errorf("%s with %s: the error shows the token: %v", mech, bad.why, err)
				}
			}
		})
	}
}

// TestOAuthSourceMigration copies an account whose source logs in with XOAUTH2 (as Exchange Online and
// Gmail require) to another server: every folder arrives with the same messages.
func TestOAuthSourceMigration(t *testing.T) {
	t.Parallel()
	src, idp := oauthDovecot(t)
	dst := testserver.Dovecot(t)
	alice, bob := accountOf(src, "alice"), accountOf(dst, "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// alice's account, filled with her password: the source side of the migration only has a token.
	fill := alice.bulk(t)
	folders := map[string]int{"INBOX": 25, "Projects": 12, "Projects/2024": 7, "Sent": 9}
	total := 0
	for name, n := range folders {
		if name != "INBOX" {
			if err := fill.Create(ctx, name, ""); err != nil {
				t.Fatalf("create %s: %v", name, err)
			}
		}
		var msgs []imapbulk.Message
		for i := range n {
			msgs = append(msgs, oauthTestMessage(fmt.Sprintf("%s.%d@source.test", strings.ReplaceAll(name, "/", "."), i), name))
		}
		oauthFill(t, fill, name, msgs)
		total += n
	}

	source, err := OpenIMAP(ctx, alice.ep, oauthCred("alice", imapconn.MechanismXOAUTH2, aliceToken))
	if err != nil {
		t.Fatalf("open the source with XOAUTH2: %v (see %s/dovecot.log)", err, src.Dir)
	}
	defer source.Close()
	asked := idp.Asked(aliceToken)
	rep, err := Run(ctx, Job{Source: source, Target: bob.target("")})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if rep.Totals.Copied != int64(total) || rep.Totals.Failed != 0 {
		t.Errorf("copied %d, failed %d (%+v), want %d copied", rep.Totals.Copied, rep.Totals.Failed, rep.Failed, total)
	}
	if idp.Asked(aliceToken) == asked {
		t.Errorf("the folders were read without a token login")
	}

	check := bob.bulk(t)
	read := alice.bulk(t)
	seen := map[string]bool{}
	for _, fr := range rep.Folders {
		seen[fr.Source] = true
		if _, ok := folders[fr.Source]; !ok {
			continue // an empty folder the server made by itself
		}
		want, got := oauthMessageIDs(t, read, fr.Source), oauthMessageIDs(t, check, fr.Target)
		if len(want) != folders[fr.Source] {
			t.Fatalf("source %s holds %d messages, want %d", fr.Source, len(want), folders[fr.Source])
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s → %s: target holds %d messages %q, want %d %q", fr.Source, fr.Target, len(got), oauthShortIDs(got), len(want), oauthShortIDs(want))
		}
	}
	for name := range folders {
		if !seen[name] {
			t.Errorf("source folder %s is not in the report", name)
		}
	}
}

// oauthShortIDs shortens a list of Message-IDs for an error message.
func oauthShortIDs(ids []string) string {
	var b bytes.Buffer
	for i, id := range ids {
		if i == 6 {
			fmt.Fprintf(&b, " … (%d more)", len(ids)-i)
			break
		}
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(id)
	}
	return b.String()
}
