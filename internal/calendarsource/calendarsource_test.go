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
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
	"github.com/mailshift/mailshift/internal/testfixtures"
	"github.com/mailshift/mailshift/internal/testproxy"
	"github.com/mailshift/mailshift/internal/testserver"
)

// TestCalendarFolders finds, watches and reads calendar folders on Dovecot and on Cyrus with an
// INBOX-prefixed namespace: an annotated folder under any name, a plain "Calendar" without annotation,
// change tokens that move on APPEND and EXPUNGE but not on a read, and the fixture's periods.
func TestCalendarFolders(t *testing.T) {
	for _, flavor := range []string{"dovecot", "cyrus-legacy"} {
		t.Run(flavor, func(t *testing.T) {
			srv, prefix := serverOf(t, flavor)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			ep := imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSStartTLS, CAPEM: srv.CAPEM}
			fx := testfixtures.FreeBusyCalendar()
			login := func(u string) imapconn.Credentials {
				return imapconn.Credentials{Login: srv.Users[u].Login, Password: srv.Users[u].Password, Flavor: srv.Flavor}
			}

			// alice: an annotated folder with a name of her own.
			if err := testfixtures.SeedCalendar(ctx, ep, login("alice"), prefix+"Termine", fx.Messages); err != nil {
				t.Fatal(err)
			}
			discover := func(u string) ([]string, error) {
				t.Helper()
				c, err := imapbulk.Dial(ctx, ep, login(u))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				return Discover(ctx, c)
			}
			folders, err := discover("alice")
			if err != nil || !slices.Equal(folders, []string{prefix + "Termine"}) {
				t.Fatalf("alice's calendar folders: %q, %v", folders, err)
			}

			// bob: a Calendar folder nobody annotated is found by its name; carol has none at all.
			s, err := imapsession.Dial(ctx, ep, login("bob"))
			if err != nil {
				t.Fatal(err)
			}
			err = s.Create(ctx, prefix+"Calendar")
			s.Close()
			if err != nil {
				t.Fatal(err)
			}
			folders, err = discover("bob")
			if err != nil || !slices.Equal(folders, []string{prefix + "Calendar"}) {
				t.Errorf("bob's calendar folders: %q, %v", folders, err)
			}
			_, err = discover("carol")
			if imapconn.KindOf(err) != imapconn.NotFound {
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
			c, err := imapbulk.Dial(ctx, ep, imapconn.Credentials{Login: srv.Users["alice"].Login, Password: srv.Users["alice"].Password})
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

// TestBuildLogsInOnce: a publication without configured folders discovers them over the connection it then
// reads them with, so each build costs the server exactly one login (issue: no more than one login per
// object per resync period). Counted as connections through a relay: every dial logs in once.
func TestBuildLogsInOnce(t *testing.T) {
	for _, flavor := range []string{"dovecot", "cyrus-legacy"} {
		t.Run(flavor, func(t *testing.T) {
			srv, prefix := serverOf(t, flavor)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			ep := imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: imapconn.TLSStartTLS, CAPEM: srv.CAPEM}
			u := srv.Users["alice"]
			cred := imapconn.Credentials{Login: u.Login, Password: u.Password, Flavor: srv.Flavor}
			fx := testfixtures.FreeBusyCalendar()
			if err := testfixtures.SeedCalendar(ctx, ep, cred, prefix+"Termine", fx.Messages); err != nil {
				t.Fatal(err)
			}
			p := testproxy.New(t, srv.Addr())
			viaProxy := imapconn.Endpoint{Host: p.Host(), Port: p.Port(), TLS: imapconn.TLSStartTLS, CAPEM: srv.CAPEM}
			opts := freebusy.Options{Start: fx.WindowStart, End: fx.WindowEnd, Location: mustZone(t, fx.TimeZone), Organizer: fx.Owner}
			pub, err := Build(ctx, Request{Endpoint: viaProxy, Credentials: cred, FreeBusy: opts})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(pub.Folders, []string{prefix + "Termine"}) || len(pub.Periods) != len(fx.Expected) {
				t.Errorf("discovered %q, %d periods (want %d)", pub.Folders, len(pub.Periods), len(fx.Expected))
			}
			if n := len(p.Accepted()); n != 1 {
				t.Errorf("a build with discovery made %d connections (logins), want 1", n)
			}
			// The change check of a quiet calendar, discovery included, is one login too.
			again, err := Build(ctx, Request{Endpoint: viaProxy, Credentials: cred, FreeBusy: opts, UnlessToken: pub.Token})
			if err != nil || !again.Unchanged {
				t.Fatalf("unchanged calendar: %+v, %v", again, err)
			}
			if n := len(p.Accepted()); n != 2 {
				t.Errorf("two builds with discovery made %d connections (logins), want 2", n)
			}
		})
	}
}

// expungeFirst deletes the folder's first message with a plain IMAP client (imapbulk never expunges).
func expungeFirst(ep imapconn.Endpoint, u testserver.User, folder string) error {
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

// TestCalendarFoldersRule: the rule itself, apart from any server. A typed folder wins over a folder named
// Calendar; any event sub-type and either entry counts; folders that cannot hold messages do not; without a
// typed folder, Calendar at the top level or under INBOX is taken; with neither, NotFound.
func TestCalendarFoldersRule(t *testing.T) {
	f := func(name string, attrs ...string) imapconn.Folder {
		return imapconn.Folder{Name: name, Delim: '.', Attrs: attrs, Messages: -1}
	}
	personal := []imapconn.Folder{f("Calendar"), f("INBOX"), f("INBOX.Calendar"), f("Termine"), f("Privat"),
		f("Gone", `\NonExistent`), f("Parent", `\Noselect`), f("Tasks")}
	for _, tc := range []struct {
		name    string
		folders []imapconn.Folder
		meta    map[string]map[string]string
		want    []string
	}{
		{"typed wins", personal, map[string]map[string]string{
			"Termine": {imapsession.SharedFolderTypeKey: "event"},
			"Privat":  {imapsession.PrivateFolderTypeKey: " Event.Confidential "},
			"Gone":    {imapsession.SharedFolderTypeKey: "event"},
			"Parent":  {imapsession.SharedFolderTypeKey: "event"},
			"Tasks":   {imapsession.SharedFolderTypeKey: "task"},
		}, []string{"Termine", "Privat"}},
		{"by name", personal, nil, []string{"Calendar", "INBOX.Calendar"}},
		{"only other types", personal[3:], map[string]map[string]string{"Tasks": {imapsession.SharedFolderTypeKey: "task.default"}}, nil},
	} {
		got, err := CalendarFolders(tc.folders, tc.meta)
		if tc.want == nil {
			if imapconn.KindOf(err) != imapconn.NotFound {
				t.Errorf("%s: %q, %v, want NotFound", tc.name, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, %v, want %q", tc.name, got, err, tc.want)
		}
	}
}

// serverOf starts the server a subtest runs on and says the prefix of its personal folders: Dovecot, or
// Cyrus with the legacy INBOX. namespace.
func serverOf(t *testing.T, flavor string) (*testserver.Server, string) {
	if flavor == "dovecot" {
		return testserver.Dovecot(t), ""
	}
	return testserver.Cyrus(t, "legacy"), "INBOX."
}
