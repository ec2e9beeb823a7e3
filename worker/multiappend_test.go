package worker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestRefusedBatchSentAlone: the engine appends in MULTIAPPEND batches, which a server stores or refuses as
// a whole. When a batch is refused, its messages are sent again one at a time, so that only those the server
// refuses on their own fail. Cyrus with a storage quota that holds 25 of 40 messages of 4,000 bytes: the
// second batch of 16 overflows it; without the one-by-one retry all 16 fail as "refused with the rest of
// its batch" and the target is left with fewer than it has room for.
func TestRefusedBatchSentAlone(t *testing.T) {
	const msgs, size = 40, 4000
	srv := testserver.Cyrus(t, "modern")
	src, dst := accountOf(srv, "alice"), accountOf(srv, "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if !dst.bulk(t).Has("MULTIAPPEND") {
		t.Fatal("the target does not offer MULTIAPPEND: this test needs a server that batches")
	}

	sc := src.bulk(t)
	if err := sc.Create(ctx, "Quota", ""); err != nil {
		t.Fatal(err)
	}
	var batch []imapbulk.Message
	for i := range msgs {
		head := fmt.Sprintf("From: s@example.org\r\nTo: bob@example.test\r\nSubject: quota %d\r\nDate: Mon, 3 Jun 2024 10:00:00 +0000\r\nMessage-ID: <quota-%d@batch.example>\r\n\r\n", i, i)
		body := head + strings.Repeat("x", size-len(head)-2) + "\r\n"
		batch = append(batch, imapbulk.Message{Date: time.Date(2024, 6, 3, 10, 0, 0, 0, time.UTC), Size: int64(len(body)), Body: strings.NewReader(body)})
	}
	res, err := sc.Append(ctx, "Quota", batch)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}

	// bob's quota: what he uses now and 100 KiB more, room for 25 of the messages.
	used := quotaUsedKiB(t, srv, "bob")
	admin := adminClient(t, srv)
	if err := admin.SetQuota("user/bob", map[imap.QuotaResourceType]int64{imap.QuotaResourceStorage: used + 100}).Wait(); err != nil {
		t.Fatalf("SETQUOTA user/bob: %v", err)
	}
	fit := int64((100 << 10) / size)

	s, err := OpenIMAP(ctx, src.ep, src.cred)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cp := FileCheckpoint{Path: filepath.Join(t.TempDir(), "cp.json")}
	rep, err := Run(ctx, Job{Source: s, Target: dst.target(""), Rules: foldermap.Rules{Include: []string{"Quota"}}, Checkpoints: cp})
	if err != nil {
		t.Fatal(err)
	}
	checkTotals(t, rep)
	stored := int64(len(contents(t, dst.bulk(t), "Quota")))
	t.Logf("quota for %d messages: %d copied, %d failed, %d on the target", fit, rep.Totals.Copied, rep.Totals.Failed, stored)
	if rep.Totals.Copied != stored || rep.Totals.Copied+rep.Totals.Failed != msgs {
		t.Errorf("copied %d and failed %d of %d, the target holds %d: every message is either stored or reported", rep.Totals.Copied, rep.Totals.Failed, msgs, stored)
	}
	if stored < fit-1 || stored > fit {
		t.Errorf("the target holds %d messages, want the %d its quota has room for", stored, fit)
	}
	for _, f := range rep.Failed {
		if !strings.Contains(strings.ToLower(f.Reason), "quota") || strings.Contains(f.Reason, "batch") {
			t.Errorf("failed item %s: reason %q, want the server's own quota refusal of that message", f.Identity, f.Reason)
		}
	}
}

// quotaUsedKiB is the storage the user's quota root counts now.
func quotaUsedKiB(t *testing.T, srv *testserver.Server, user string) int64 {
	t.Helper()
	u := srv.Users[user]
	c := dialClient(t, srv)
	if err := c.Login(u.Login, u.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	q, err := c.GetQuotaRoot("INBOX").Wait()
	if err != nil || len(q) == 0 {
		t.Fatalf("GETQUOTAROOT INBOX as %s: %+v, %v", user, q, err)
	}
	return q[0].Resources[imap.QuotaResourceStorage].Usage
}

func adminClient(t *testing.T, srv *testserver.Server) *imapclient.Client {
	t.Helper()
	c := dialClient(t, srv)
	if err := c.Login(srv.Admin.Login, srv.Admin.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

// dialClient is a go-imap client over STARTTLS, for what the engine's own connections do not offer.
func dialClient(t *testing.T, srv *testserver.Server) *imapclient.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(srv.CAPEM) {
		t.Fatal("the server's CA is not PEM")
	}
	c, err := imapclient.DialStartTLS(srv.Addr(), &imapclient.Options{TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
