package calendarsource

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailshift/mailshift/internal/freebusy"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapx"
	"github.com/mailshift/mailshift/internal/testfixtures"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestCalendarFolders finds, watches and reads calendar folders on Dovecot and on Cyrus with an
// INBOX-prefixed namespace: an annotated folder under any name, a plain "Calendar" without annotation,
// change tokens that move on APPEND and EXPUNGE but not on a read, and the fixture's periods.
func TestCalendarFolders(t *testing.T) {
	for _, flavor := range []string{"dovecot", "cyrus-legacy"} {
		t.Run(flavor, func(t *testing.T) {
			var srv *testserver.Server
			prefix := ""
			if flavor == "dovecot" {
				srv = testserver.Dovecot(t)
			} else {
				srv = testserver.Cyrus(t, "legacy")
				prefix = "INBOX."
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			ep := imapx.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapx.TLSStartTLS, CAPEM: srv.CAPEM}
			fx := testfixtures.FreeBusyCalendar()
			login := func(u string) imapx.Credentials {
				return imapx.Credentials{Login: srv.Users[u].Login, Password: srv.Users[u].Password, Flavor: srv.Flavor}
			}

			// alice: an annotated folder with a name of her own.
			if err := testfixtures.SeedCalendar(ctx, ep, login("alice"), prefix+"Termine", fx.Messages); err != nil {
				t.Fatal(err)
			}
			s, err := imapx.Dial(ctx, ep, login("alice"))
			if err != nil {
				t.Fatal(err)
			}
			folders, err := Discover(ctx, s)
			s.Close()
			if err != nil || !slices.Equal(folders, []string{prefix + "Termine"}) {
				t.Fatalf("alice's calendar folders: %q, %v", folders, err)
			}

			// bob: a Calendar folder nobody annotated is found by its name; carol has none at all.
			s, err = imapx.Dial(ctx, ep, login("bob"))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Create(ctx, prefix+"Calendar"); err != nil {
				t.Fatal(err)
			}
			folders, err = Discover(ctx, s)
			s.Close()
			if err != nil || !slices.Equal(folders, []string{prefix + "Calendar"}) {
				t.Errorf("bob's calendar folders: %q, %v", folders, err)
			}
			s, err = imapx.Dial(ctx, ep, login("carol"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Discover(ctx, s)
			s.Close()
			if imapx.KindOf(err) != imapx.NotFound {
				t.Errorf("carol has no calendar: %v", err)
			}

			// Tokens: stable across reads, moved by a new message.
			pub, err := Build(ctx, Request{Endpoint: ep, Credentials: login("alice"), FreeBusy: freebusy.Options{
				Start: fx.WindowStart, End: fx.WindowEnd, Location: mustZone(t, fx.TimeZone), Organizer: fx.Owner}})
			if err != nil {
				t.Fatal(err)
			}
			if pub.Messages != len(fx.Messages) || pub.NotCalendar != 1 || pub.Events != len(fx.Messages)-1 || len(pub.Unreadable) != 0 {
				t.Errorf("read %d messages, %d not calendar, %d events, unreadable %q", pub.Messages, pub.NotCalendar, pub.Events, pub.Unreadable)
			}
			if len(pub.Periods) != len(fx.Expected) {
				t.Errorf("%d periods, want %d", len(pub.Periods), len(fx.Expected))
			}

			// With a cache, a second build fetches nothing and computes the same file; one new message is one
			// fetch; an expunged one leaves the result without fetching anything.
			cache := NewCache()
			opts := freebusy.Options{Start: fx.WindowStart, End: fx.WindowEnd, Location: mustZone(t, fx.TimeZone), Organizer: fx.Owner}
			build := func() *Publication {
				t.Helper()
				p, err := Build(ctx, Request{Endpoint: ep, Credentials: login("alice"), Folders: []string{prefix + "Termine"}, FreeBusy: opts, Cache: cache})
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			if first := build(); first.Fetched != len(fx.Messages) || string(first.VFB) != string(pub.VFB) {
				t.Errorf("first cached build fetched %d of %d, same file %v", first.Fetched, len(fx.Messages), string(first.VFB) == string(pub.VFB))
			}
			if second := build(); second.Fetched != 0 || string(second.VFB) != string(pub.VFB) || cache.Events() != len(fx.Messages)-1 {
				t.Errorf("second cached build fetched %d, same file %v, cache holds %d events", second.Fetched, string(second.VFB) == string(pub.VFB), cache.Events())
			}
			again, err := Build(ctx, Request{Endpoint: ep, Credentials: login("alice"), UnlessToken: pub.Token,
				FreeBusy: freebusy.Options{Start: fx.WindowStart, End: fx.WindowEnd, Organizer: fx.Owner}})
			if err != nil || !again.Unchanged || again.VFB != nil {
				t.Fatalf("unchanged calendar: %+v, %v", again, err)
			}
			if err := testfixtures.SeedCalendar(ctx, ep, login("alice"), prefix+"Termine", fx.Messages[:1]); err != nil {
				t.Fatal(err)
			}
			c, err := imapbulk.Dial(ctx, ep, imapbulk.Credentials{Login: srv.Users["alice"].Login, Password: srv.Users["alice"].Password})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, grown, err := State(ctx, c, []string{prefix + "Termine"})
			if err != nil || grown == pub.Token {
				t.Errorf("token after an APPEND: %q (was %q), %v", grown, pub.Token, err)
			}
			// An expunge changes it too, even though UIDNEXT stays.
			if err := expungeFirst(ep, srv.Users["alice"], prefix+"Termine"); err != nil {
				t.Fatal(err)
			}
			_, shrunk, err := State(ctx, c, []string{prefix + "Termine"})
			if err != nil || shrunk == grown {
				t.Errorf("token after an EXPUNGE: %q (was %q), %v", shrunk, grown, err)
			}
			// The first message (the weekly series) is gone, the copy appended above took its place: one
			// fetch for the copy, and the same events as at first.
			if after := build(); after.Fetched != 1 || after.Events != len(fx.Messages)-1 || after.Token != shrunk ||
				len(after.Periods) != len(fx.Expected) {
				t.Errorf("after APPEND and EXPUNGE: fetched %d, %d events, %d periods, token %q (want %q)",
					after.Fetched, after.Events, len(after.Periods), after.Token, shrunk)
			}
		})
	}
}

// expungeFirst deletes the folder's first message with a plain IMAP client (imapbulk never expunges).
func expungeFirst(ep imapx.Endpoint, u testserver.User, folder string) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ep.CAPEM)
	c, err := imapclient.DialStartTLS(ep.Address(), &imapclient.Options{TLSConfig: &tls.Config{RootCAs: pool, ServerName: ep.Host}})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(u.Login, u.Password).Wait(); err != nil {
		return err
	}
	if _, err := c.Select(folder, nil).Wait(); err != nil {
		return err
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		return err
	}
	return c.Expunge().Close()
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
