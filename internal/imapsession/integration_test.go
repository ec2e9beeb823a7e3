package imapsession

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/mailshift/mailshift/internal/imapconn"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailshift/mailshift/internal/acl"
	"github.com/mailshift/mailshift/internal/testserver"
)

// serverCase says what each real server must look like through imapsession.
type serverCase struct {
	name     string
	start    func(testing.TB) *testserver.Server
	rights   string // RIGHTS= value
	personal string // personal namespace prefix
	delim    rune
	// otherPath is where bob sees alice's folder (name without alice's
	// personal prefix).
	otherPath func(folder string) string
	idName    string // ID "name"
}

var serverCases = []serverCase{
	{
		name: "dovecot", start: testserver.Dovecot, rights: "texk", personal: "", delim: '/',
		otherPath: func(f string) string { return "shared/alice/" + f }, idName: "Dovecot",
	},
	{
		name: "cyrus-modern", start: func(t testing.TB) *testserver.Server { return testserver.Cyrus(t, "modern") },
		rights: "kxten", personal: "", delim: '/',
		otherPath: func(f string) string { return "Other Users/alice/" + f }, idName: "Cyrus IMAPD",
	},
	{
		name: "cyrus-legacy", start: func(t testing.TB) *testserver.Server { return testserver.Cyrus(t, "legacy") },
		rights: "kxten", personal: "INBOX.", delim: '.',
		otherPath: func(f string) string { return "user.alice." + f }, idName: "Cyrus IMAPD",
	},
}

func endpoint(srv *testserver.Server, mode imapconn.TLSMode) imapconn.Endpoint {
	ep := imapconn.Endpoint{Host: srv.Host, Port: srv.Port, TLS: mode, CAPEM: srv.CAPEM, DialTimeout: 20 * time.Second}
	if mode == imapconn.TLSImplicit {
		ep.Port = srv.TLSPort
	}
	return ep
}

func userCred(srv *testserver.Server, name string) imapconn.Credentials {
	u := srv.Users[name]
	return imapconn.Credentials{Login: u.Login, Password: u.Password, Flavor: srv.Flavor}
}

func dialUser(t *testing.T, srv *testserver.Server, name string) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Dial(ctx, endpoint(srv, imapconn.TLSStartTLS), userCred(srv, name))
	if err != nil {
		t.Fatalf("Dial %s: %v", name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawLogin is an independent plain go-imap client, to check what imapsession did.
// syncBuffer collects a client's wire log (written from two goroutines).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func rawLogin(t *testing.T, srv *testserver.Server, name string, debug *syncBuffer) *imapclient.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CAPEM)
	opts := &imapclient.Options{TLSConfig: &tls.Config{RootCAs: pool}}
	if debug != nil {
		opts.DebugWriter = debug
	}
	c, err := imapclient.DialStartTLS(srv.Addr(), opts)
	if err != nil {
		t.Fatalf("raw dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	u := srv.Users[name]
	if err := c.Login(u.Login, u.Password).Wait(); err != nil {
		t.Fatalf("raw login %s: %v", name, err)
	}
	return c
}

func rawList(t *testing.T, c *imapclient.Client, opts *imap.ListOptions) []string {
	t.Helper()
	list, err := c.List("", "*", opts).Collect()
	if err != nil {
		t.Fatalf("raw LIST: %v", err)
	}
	var names []string
	for _, d := range list {
		names = append(names, d.Mailbox)
	}
	return names
}

func appendMessages(t *testing.T, c *imapclient.Client, mailbox string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		msg := fmt.Sprintf("From: alice@example.test\r\nTo: alice@example.test\r\nSubject: test %d\r\n"+
			"Message-ID: <%d.%d@example.test>\r\n\r\nbody %d %s\r\n", i, time.Now().UnixNano(), i, i, strings.Repeat("x", 2000))
		cmd := c.Append(mailbox, int64(len(msg)), nil)
		if _, err := cmd.Write([]byte(msg)); err != nil {
			t.Fatalf("APPEND write: %v", err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatalf("APPEND close: %v", err)
		}
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("APPEND %s: %v", mailbox, err)
		}
	}
}

// otherCA returns a CA certificate that signed nothing the servers use.
func otherCA(t *testing.T) []byte {
	t.Helper()
	return selfSignedPEM(t, "not the test CA")
}

func wantKind(t *testing.T, what string, err error, want imapconn.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, want)
	}
	if got := imapconn.KindOf(err); got != want {
		t.Fatalf("%s: kind %s, want %s (%v)", what, got, want, err)
	}
	var e *imapconn.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: %T is not *imapsession.Error", what, err)
	}
}

func TestRealServers(t *testing.T) {
	for _, sc := range serverCases {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			srv := sc.start(t)
			ctx := context.Background()

			t.Run("DialAndErrors", func(t *testing.T) { testDial(t, ctx, srv, sc) })
			t.Run("Probe", func(t *testing.T) { testProbe(t, ctx, srv) })
			t.Run("Impersonation", func(t *testing.T) { testImpersonation(t, ctx, srv, sc) })
			t.Run("InfoQuotaCount", func(t *testing.T) { testInfo(t, ctx, srv, sc) })
			t.Run("SpecialFolders", func(t *testing.T) { testSpecialFolders(t, ctx, srv, sc) })
			t.Run("NonASCIIFolders", func(t *testing.T) { testNonASCII(t, ctx, srv, sc) })
			t.Run("RecogniseTypedFolder", func(t *testing.T) { testRecognise(t, ctx, srv, sc) })
			t.Run("ACL", func(t *testing.T) { testACL(t, ctx, srv, sc) })
			t.Run("SpecialUse", func(t *testing.T) { testSpecialUse(t, ctx, srv, sc) })
			t.Run("Context", func(t *testing.T) { testContext(t, ctx, srv) })
		})
	}
}

func testDial(t *testing.T, ctx context.Context, srv *testserver.Server, sc serverCase) {
	alice := srv.Users["alice"]
	for _, mode := range []imapconn.TLSMode{imapconn.TLSStartTLS, imapconn.TLSImplicit} {
		s, err := Dial(ctx, endpoint(srv, mode), userCred(srv, "alice"))
		if err != nil {
			t.Fatalf("Dial %s: %v", mode, err)
		}
		if got := s.RightsCapability(); got != sc.rights {
			t.Errorf("%s: RIGHTS= %q, want %q", mode, got, sc.rights)
		}
		if !s.Has("acl") || !s.Has("NAMESPACE") || !s.Has("IMAP4rev1") {
			t.Errorf("%s: capabilities %v lack ACL/NAMESPACE/IMAP4rev1", mode, s.Capabilities())
		}
		if s.Has("STARTTLS") {
			t.Errorf("%s: post-TLS capabilities still offer STARTTLS: %v", mode, s.Capabilities())
		}
		if !slices.IsSorted(s.Capabilities()) {
			t.Errorf("capabilities not sorted")
		}
		// The session really is alice's: her INBOX is selectable and she owns it.
		rights, err := s.MyRights(ctx, "INBOX")
		if err != nil || !rights.Contains("lrswa") {
			t.Errorf("%s: MYRIGHTS INBOX = %q, %v", mode, rights, err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if _, err := s.MyRights(ctx, "INBOX"); imapconn.KindOf(err) != imapconn.ProtocolError || !errors.Is(err, imapconn.ErrClosed) {
			t.Errorf("use after Close: %v", err)
		}
	}

	// Wrong CA, both TLS modes.
	for _, mode := range []imapconn.TLSMode{imapconn.TLSStartTLS, imapconn.TLSImplicit} {
		ep := endpoint(srv, mode)
		ep.CAPEM = otherCA(t)
		_, err := Dial(ctx, ep, userCred(srv, "alice"))
		wantKind(t, "wrong CA "+string(mode), err, imapconn.TLSFailed)
	}
	// Certificate for another name.
	ep := endpoint(srv, imapconn.TLSImplicit)
	ep.ServerName = "imap.wrong.example"
	_, err := Dial(ctx, ep, userCred(srv, "alice"))
	wantKind(t, "wrong server name", err, imapconn.TLSFailed)
	// ...accepted only when verification is switched off explicitly.
	ep.InsecureSkipVerify = true
	ep.CAPEM = otherCA(t)
	if s, err := Dial(ctx, ep, userCred(srv, "alice")); err != nil {
		t.Errorf("InsecureSkipVerify: %v", err)
	} else {
		s.Close()
	}
	// TLS to the plaintext port.
	ep = endpoint(srv, imapconn.TLSImplicit)
	ep.Port = srv.Port
	_, err = Dial(ctx, ep, userCred(srv, "alice"))
	wantKind(t, "implicit TLS on the STARTTLS port", err, imapconn.TLSFailed)

	// Wrong password: AuthenticationFailed, and no password in the message.
	cred := userCred(srv, "alice")
	cred.Password = "wrong-" + alice.Password
	_, err = Dial(ctx, endpoint(srv, imapconn.TLSStartTLS), cred)
	wantKind(t, "wrong password", err, imapconn.AuthenticationFailed)
	if msg := err.Error(); strings.Contains(msg, cred.Password) || strings.Contains(msg, alice.Password) {
		t.Fatalf("error message contains a password: %s", msg)
	}
	// Unknown user.
	_, err = Dial(ctx, endpoint(srv, imapconn.TLSStartTLS), imapconn.Credentials{Login: "nobody", Password: "x"})
	wantKind(t, "unknown user", err, imapconn.AuthenticationFailed)

	// Closed port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ep = endpoint(srv, imapconn.TLSStartTLS)
	ep.Port = closed
	_, err = Dial(ctx, ep, userCred(srv, "alice"))
	wantKind(t, "closed port", err, imapconn.Unreachable)
}

func testProbe(t *testing.T, ctx context.Context, srv *testserver.Server) {
	for _, mode := range []imapconn.TLSMode{imapconn.TLSStartTLS, imapconn.TLSImplicit} {
		res, err := imapconn.Probe(ctx, endpoint(srv, mode))
		if err != nil {
			t.Fatalf("Probe %s: %v", mode, err)
		}
		if !strings.HasPrefix(res.Greeting, "* OK") {
			t.Errorf("%s: greeting %q", mode, res.Greeting)
		}
		if !slices.Contains(res.AuthMechanisms, "PLAIN") || !slices.Contains(res.Capabilities, "IMAP4rev1") {
			t.Errorf("%s: caps %v mechs %v", mode, res.Capabilities, res.AuthMechanisms)
		}
		if slices.Contains(res.Capabilities, "STARTTLS") {
			t.Errorf("%s: capabilities after TLS still offer STARTTLS", mode)
		}
		if !strings.HasPrefix(res.TLSVersion, "TLS 1.") || res.CertificateNotAfter.Before(time.Now()) {
			t.Errorf("%s: TLS %q cert until %v", mode, res.TLSVersion, res.CertificateNotAfter)
		}
	}
	// Without TLS (asked for explicitly) the pre-STARTTLS capabilities are seen.
	res, err := imapconn.Probe(ctx, endpoint(srv, imapconn.TLSNone))
	if err != nil {
		t.Fatalf("Probe None: %v", err)
	}
	if !slices.Contains(res.Capabilities, "STARTTLS") || res.TLSVersion != "" {
		t.Errorf("None: caps %v, TLS %q", res.Capabilities, res.TLSVersion)
	}
	ep := endpoint(srv, imapconn.TLSStartTLS)
	ep.CAPEM = otherCA(t)
	_, err = imapconn.Probe(ctx, ep)
	wantKind(t, "Probe wrong CA", err, imapconn.TLSFailed)
}

func testImpersonation(t *testing.T, ctx context.Context, srv *testserver.Server, sc serverCase) {
	cred := imapconn.Credentials{Login: "alice", AdminLogin: srv.Admin.Login, AdminPassword: srv.Admin.Password, Flavor: srv.Flavor}
	s, err := Dial(ctx, endpoint(srv, imapconn.TLSStartTLS), cred)
	if err != nil {
		t.Fatalf("Dial as alice by %s: %v", srv.Admin.Login, err)
	}
	defer s.Close()
	if s.Login() != "alice" {
		t.Errorf("Login() = %q", s.Login())
	}
	name := sc.personal + "Impersonated"
	if err := s.Create(ctx, name); err != nil {
		t.Fatalf("CREATE as impersonated alice: %v", err)
	}
	// alice herself sees the folder: it was created in her mailbox.
	if names := rawList(t, rawLogin(t, srv, "alice", nil), nil); !slices.Contains(names, name) {
		t.Fatalf("alice's LIST %v lacks %q", names, name)
	}
	// bob does not.
	if names := rawList(t, rawLogin(t, srv, "bob", nil), nil); slices.Contains(names, name) {
		t.Fatalf("bob's LIST %v has %q", names, name)
	}

	if srv.Flavor == "dovecot" {
		// The master-user LOGIN "alice*mailadmin" fallback, as used when PLAIN
		// is not offered or refuses the impersonation.
		loginForm := cred
		loginForm.Mechanism = imapconn.MechanismLogin
		s2, err := Dial(ctx, endpoint(srv, imapconn.TLSImplicit), loginForm)
		if err != nil {
			t.Fatalf("Dovecot master-user LOGIN: %v", err)
		}
		folders, err := s2.Folders(ctx)
		s2.Close()
		if err != nil || !slices.ContainsFunc(folders, func(f imapconn.Folder) bool { return f.Name == name }) {
			t.Fatalf("master-user LOGIN session does not see alice's %q: %v %v", name, folders, err)
		}
		// Without the dovecot flavor there is no such fallback.
		noFlavor := loginForm
		noFlavor.Flavor = ""
		_, err = Dial(ctx, endpoint(srv, imapconn.TLSImplicit), noFlavor)
		wantKind(t, "impersonation without PLAIN and without the dovecot flavor", err, imapconn.NotSupported)
	}

	bad := cred
	bad.AdminPassword = "wrong"
	_, err = Dial(ctx, endpoint(srv, imapconn.TLSStartTLS), bad)
	wantKind(t, "impersonation with a wrong admin password", err, imapconn.AuthenticationFailed)
	if strings.Contains(err.Error(), srv.Admin.Password) {
		t.Fatalf("error message contains the admin password: %v", err)
	}
}

func testInfo(t *testing.T, ctx context.Context, srv *testserver.Server, sc serverCase) {
	s := dialUser(t, srv, "carol")
	id, err := s.ID(ctx)
	if err != nil || id["name"] != sc.idName {
		t.Errorf("ID = %v, %v; want name %q", id, err, sc.idName)
	}
	ns, err := s.Namespaces(ctx)
	if err != nil {
		t.Fatalf("Namespaces: %v", err)
	}
	if len(ns.Personal) == 0 || ns.Personal[0].Prefix != sc.personal || ns.Personal[0].Delim != sc.delim {
		t.Fatalf("personal namespace %+v, want %q %q", ns.Personal, sc.personal, sc.delim)
	}
	if len(ns.Other) == 0 || !strings.HasPrefix(sc.otherPath("x"), ns.Other[0].Prefix) {
		t.Errorf("other users' namespace %+v", ns.Other)
	}

	q, err := s.Quota(ctx)
	if err != nil {
		t.Fatalf("Quota: %v", err)
	}
	storage := func(q []QuotaResource) *QuotaResource {
		for i := range q {
			if q[i].Name == "STORAGE" {
				return &q[i]
			}
		}
		return nil
	}
	st := storage(q)
	if st == nil || st.Limit != 1048576 || st.Root == "" {
		t.Fatalf("quota %+v: want STORAGE limit 1048576 KiB", q)
	}

	folders0, msgs0, err := s.Count(ctx)
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	raw := rawLogin(t, srv, "carol", nil)
	f1, f2 := sc.personal+"Count One", sc.personal+"Count Two"
	for _, f := range []string{f1, f2} {
		if err := raw.Create(f, nil).Wait(); err != nil {
			t.Fatalf("CREATE %s: %v", f, err)
		}
	}
	appendMessages(t, raw, "INBOX", 3)
	appendMessages(t, raw, f2, 2)
	folders1, msgs1, err := s.Count(ctx)
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	if folders1-folders0 != 2 || msgs1-msgs0 != 5 {
		t.Errorf("Count went from %d/%d to %d/%d, want +2 folders +5 messages", folders0, msgs0, folders1, msgs1)
	}
	// Without LIST-STATUS (pipelined STATUS commands) the numbers are the same.
	if f, m, err := s.count(ctx, false); err != nil || f != folders1 || m != msgs1 {
		t.Errorf("count via STATUS = %d/%d, %v; via LIST-STATUS %d/%d", f, m, err, folders1, msgs1)
	}
	// The count matches an independent LIST of the personal namespace.
	n := 0
	for _, name := range rawList(t, raw, nil) {
		if ns.IsPersonal(name) {
			n++
		}
	}
	if n != folders1 {
		t.Errorf("Count says %d folders, LIST has %d personal ones", folders1, n)
	}
	q2, err := s.Quota(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st2 := storage(q2); st2 == nil || st2.Usage <= st.Usage {
		t.Errorf("STORAGE usage did not grow after 5 messages: %+v -> %+v", st, st2)
	}

	folders, err := s.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, f := range folders {
		if f.Name == f2 {
			found = true
			if f.Delim != sc.delim || !f.Selectable() {
				t.Errorf("folder %+v", f)
			}
		}
	}
	if !found {
		t.Errorf("Folders() lacks %q", f2)
	}

	// METADATA round trip on a mailbox.
	if err := s.SetMetadata(ctx, f1, map[string]string{"/private/vendor/mailshift/test": "v1 ü"}); err != nil {
		t.Fatalf("SetMetadata: %v", err)
	}
	m, err := s.GetMetadata(ctx, f1, "/private/vendor/mailshift/test", "/shared/vendor/mailshift/unset")
	if err != nil || m["/private/vendor/mailshift/test"] != "v1 ü" || len(m) != 1 {
		t.Errorf("GetMetadata = %v, %v", m, err)
	}
	if err := s.SetMetadata(ctx, f1, map[string]string{"/private/vendor/mailshift/test": ""}); err != nil {
		t.Fatalf("SetMetadata remove: %v", err)
	}
	if m, err := s.GetMetadata(ctx, f1, "/private/vendor/mailshift/test"); err != nil || len(m) != 0 {
		t.Errorf("after removal GetMetadata = %v, %v", m, err)
	}
	_, err = s.GetMetadata(ctx, sc.personal+"No Such Folder", "/private/vendor/mailshift/test")
	wantKind(t, "GETMETADATA on a missing folder", err, imapconn.NotFound)
}

var standardFolders = []SpecialFolder{
	{Type: FolderEvent, Name: "Calendar"},
	{Type: FolderContact, Name: "Contacts"},
	{Type: FolderTask, Name: "Tasks"},
	{Type: FolderNote, Name: "Notes"},
	{Type: FolderJournal, Name: "Journal"},
}

func testSpecialFolders(t *testing.T, ctx context.Context, srv *testserver.Server, sc serverCase) {
	s := dialUser(t, srv, "alice")
	res, err := s.EnsureSpecialFolders(ctx, PlaceAuto, standardFolders, true)
	if err != nil {
		t.Fatalf("EnsureSpecialFolders: %v", err)
	}
	if res.MetadataUnsupported || len(res.Folders) != len(standardFolders) {
		t.Fatalf("result %+v", res)
	}
	for i, f := range res.Folders {
		want := sc.personal + standardFolders[i].Name // Dovecot, modern Cyrus: top level; legacy Cyrus: INBOX.
		if f.Mailbox != want || f.Type != standardFolders[i].Type || !f.Created || !f.Annotated || !f.Subscribed || f.Existing != "" {
			t.Errorf("first run: %+v, want created+annotated+subscribed %q", f, want)
		}
	}
	if sc.name == "cyrus-legacy" && res.Folders[0].Mailbox != "INBOX.Calendar" {
		t.Errorf("legacy Cyrus: calendar at %q, want under INBOX", res.Folders[0].Mailbox)
	}

	// Idempotent, in a new session: nothing is created, annotated or subscribed again.
	s2 := dialUser(t, srv, "alice")
	res2, err := s2.EnsureSpecialFolders(ctx, PlaceAuto, standardFolders, true)
	if err != nil {
		t.Fatalf("second EnsureSpecialFolders: %v", err)
	}
	if res2.Changed() {
		t.Errorf("second run changed something: %+v", res2)
	}
	for i, f := range res2.Folders {
		if f.Mailbox != res.Folders[i].Mailbox {
			t.Errorf("second run uses %q, first %q", f.Mailbox, res.Folders[i].Mailbox)
		}
	}

	// Another session (and an independent client) reads the annotations back.
	s3 := dialUser(t, srv, "alice")
	raw := rawLogin(t, srv, "alice", nil)
	subscribed := rawList(t, raw, &imap.ListOptions{SelectSubscribed: true})
	for i, f := range res.Folders {
		m, err := s3.GetMetadata(ctx, f.Mailbox, SharedFolderTypeKey, PrivateFolderTypeKey)
		if err != nil {
			t.Fatalf("GetMetadata %s: %v", f.Mailbox, err)
		}
		typ := string(standardFolders[i].Type)
		if m[SharedFolderTypeKey] != typ || m[PrivateFolderTypeKey] != typ+".default" {
			t.Errorf("%s metadata %v, want %s / %s.default", f.Mailbox, m, typ, typ)
		}
		if !slices.Contains(subscribed, f.Mailbox) {
			t.Errorf("%s not subscribed (subscribed: %v)", f.Mailbox, subscribed)
		}
	}
	// Exactly one folder per name: no duplicates created.
	names := rawList(t, raw, nil)
	for _, f := range res.Folders {
		n := 0
		for _, name := range names {
			if strings.EqualFold(name, f.Mailbox) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%q listed %d times in %v", f.Mailbox, n, names)
		}
	}

	// Without annotate, on a user with nothing yet, folders are only created and subscribed.
	sc2 := dialUser(t, srv, "carol")
	res3, err := sc2.EnsureSpecialFolders(ctx, PlaceAuto, standardFolders[:1], false)
	if err != nil {
		t.Fatal(err)
	}
	if f := res3.Folders[0]; !f.Created || f.Annotated {
		t.Errorf("annotate=false: %+v", f)
	}
	if m, _ := sc2.GetMetadata(ctx, res3.Folders[0].Mailbox, SharedFolderTypeKey); len(m) != 0 {
		t.Errorf("annotate=false wrote %v", m)
	}

	if _, err := s.EnsureSpecialFolders(ctx, PlaceAuto, []SpecialFolder{{Type: "mail", Name: "X"}}, true); imapconn.KindOf(err) != imapconn.ProtocolError {
		t.Errorf("bad type: %v", err)
	}
}

func testNonASCII(t *testing.T, ctx context.Context, srv *testserver.Server, sc serverCase) {
	folders := []SpecialFolder{
		{Type: FolderEvent, Name: "Kalender"},
		{Type: FolderContact, Name: "Adreßbuch"},
		{Type: FolderTask, Name: "Aufgaben"},
		{Type: FolderNote, Name: "Notizen"},
		{Type: FolderJournal, Name: "Éléments"},
	}
	s := dialUser(t, srv, "bob")
	res, err := s.EnsureSpecialFolders(ctx, PlaceAuto, folders, true)
	if err != nil {
		t.Fatalf("EnsureSpecialFolders: %v", err)
	}
	var wire syncBuffer
	raw := rawLogin(t, srv, "bob", &wire)
	names := rawList(t, raw, nil)
	for i, f := range res.Folders {
		want := sc.personal + folders[i].Name
		if f.Mailbox != want || !f.Created {
			t.Errorf("%+v, want created %q", f, want)
		}
		if !slices.Contains(names, want) {
			t.Errorf("LIST %v lacks %q", names, want)
		}
	}
	// On the wire the server holds modified UTF-7, not raw UTF-8.
	w := wire.String()
	for _, enc := range []string{"Adre&AN8-buch", "&AMk-l&AOk-ments"} {
		if !strings.Contains(w, enc) {
			t.Errorf("LIST on the wire lacks %q:\n%s", enc, w)
		}
	}
	if strings.Contains(w, "Éléments") || strings.Contains(w, "ß") {
		t.Errorf("raw UTF-8 on the wire:\n%s", w)
	}
	res2, err := s.EnsureSpecialFolders(ctx, PlaceAuto, folders, true)
	if err != nil || res2.Changed() {
		t.Errorf("second run: %+v, %v", res2, err)
	}
}

func testRecognise(t *testing.T, ctx context.Context, srv *testserver.Server, sc serverCase) {
	// carol already has an event folder under another name, typed by another client.
	s := dialUser(t, srv, "carol")
	termine := sc.personal + "Termine"
	if err := s.Create(ctx, termine); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMetadata(ctx, termine, map[string]string{SharedFolderTypeKey: "event"}); err != nil {
		t.Fatal(err)
	}
	// carol's "Calendar" from testSpecialFolders is untyped (annotate=false):
	// the typed "Termine" must win over the planned name.
	res, err := s.EnsureSpecialFolders(ctx, PlaceAuto, []SpecialFolder{{Type: FolderEvent, Name: "Kalender"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	f := res.Folders[0]
	if f.Mailbox != termine || f.Existing != termine || f.Created || !f.Annotated {
		t.Fatalf("%+v, want the existing %q recognised", f, termine)
	}
	if names := rawList(t, rawLogin(t, srv, "carol", nil), nil); slices.Contains(names, sc.personal+"Kalender") {
		t.Errorf("a duplicate Kalender was created: %v", names)
	}
	m, err := dialUser(t, srv, "carol").GetMetadata(ctx, termine, SharedFolderTypeKey, PrivateFolderTypeKey)
	if err != nil || m[SharedFolderTypeKey] != "event" || m[PrivateFolderTypeKey] != "event.default" {
		t.Errorf("metadata %v, %v", m, err)
	}
}

func testACL(t *testing.T, ctx context.Context, srv *testserver.Server, sc serverCase) {
	alice := dialUser(t, srv, "alice")
	// The calendar from testSpecialFolders.
	res, err := alice.EnsureSpecialFolders(ctx, PlaceAuto, standardFolders[:1], true)
	if err != nil {
		t.Fatal(err)
	}
	cal := res.Folders[0].Mailbox
	caps := alice.RightsCapability()

	before, err := alice.GetACL(ctx, cal)
	if err != nil {
		t.Fatalf("GetACL: %v", err)
	}
	if own := before["alice"]; !own.Contains("lrswipkxtea") || acl.FromLetters(own) == nil {
		t.Fatalf("owner's entry %q in %v", own, before)
	}

	// bob gets lookup+read, with letters chosen from RIGHTS=.
	lr := acl.SetFor([]acl.Right{acl.Lookup, acl.Read}, caps)
	if err := alice.SetACL(ctx, cal, "bob", lr); err != nil {
		t.Fatalf("SetACL bob: %v", err)
	}
	got, err := alice.GetACL(ctx, cal)
	if err != nil {
		t.Fatal(err)
	}
	if !got["bob"].Equal(lr) || got["bob"].String() != "lr" {
		t.Fatalf("bob's entry %q, want %q", got["bob"], lr)
	}
	// bob now sees alice's calendar in his LIST, and may read but not insert.
	bob := dialUser(t, srv, "bob")
	shared := sc.otherPath(strings.TrimPrefix(cal, sc.personal))
	folders, err := bob.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(folders, func(f imapconn.Folder) bool { return f.Name == shared }) {
		t.Fatalf("bob's folders lack %q: %v", shared, folders)
	}
	my, err := bob.MyRights(ctx, shared)
	if err != nil || !my.Contains("lr") || my.Has('i') || my.Has('a') {
		t.Errorf("bob's MYRIGHTS on %s = %q, %v", shared, my, err)
	}
	// Not the owner and no 'a': GETACL is refused.
	_, err = bob.GetACL(ctx, shared)
	wantKind(t, "GETACL by a non-admin", err, imapconn.PermissionDenied)
	_, err = alice.GetACL(ctx, sc.personal+"Nowhere")
	wantKind(t, "GETACL on a missing folder", err, imapconn.NotFound)
	// carol (no grant) does not see it.
	if names := rawList(t, rawLogin(t, srv, "carol", nil), nil); slices.Contains(names, shared) {
		t.Errorf("carol sees %q", shared)
	}

	// Every named right round-trips through the server's letters.
	editor, _ := acl.Expand(acl.PresetEditor)
	full := append(editor, acl.Create)
	want := acl.SetFor(full, caps)
	if err := alice.SetACL(ctx, cal, "carol", want); err != nil {
		t.Fatalf("SetACL carol: %v", err)
	}
	got, _ = alice.GetACL(ctx, cal)
	if !got["carol"].Equal(want) {
		t.Fatalf("carol's entry %q, want %q", got["carol"], want)
	}
	if fr := acl.FromLetters(got["carol"]); !slices.Equal(fr, acl.Normalize(full)) {
		t.Errorf("FromLetters %v, want %v", fr, acl.Normalize(full))
	}

	// Diff against what the server holds: nothing to do for the same desire.
	desired := map[string]acl.Set{"alice": got["alice"], "bob": lr, "carol": want}
	set, remove := acl.Diff(desired, got, true)
	if len(set) != 0 || len(remove) != 0 {
		t.Errorf("Diff after applying = %v %v", set, remove)
	}
	delete(desired, "alice")
	if err := acl.CheckOwner("alice", desired, got, true); err == nil {
		t.Errorf("CheckOwner let the owner's entry go")
	}

	// DELETEACL removes the entry itself, even the empty entry Dovecot keeps
	// after SETACL "".
	raw := rawLogin(t, srv, "alice", nil)
	if err := raw.SetACL(cal, "carol", imap.RightModificationReplace, nil).Wait(); err != nil {
		t.Fatalf("raw SETACL carol \"\": %v", err)
	}
	if err := alice.DeleteACL(ctx, cal, "carol"); err != nil {
		t.Fatalf("DeleteACL carol: %v", err)
	}
	if err := alice.DeleteACL(ctx, cal, "bob"); err != nil {
		t.Fatalf("DeleteACL bob: %v", err)
	}
	data, err := raw.GetACL(cal).Wait()
	if err != nil {
		t.Fatal(err)
	}
	for id := range data.Rights {
		if id == "bob" || id == "carol" {
			t.Errorf("after DELETEACL the server still lists %q: %v", id, data.Rights)
		}
	}
	if _, ok := data.Rights["alice"]; !ok {
		t.Errorf("owner entry gone: %v", data.Rights)
	}
	// bob no longer sees it (a new session: LIST results may be cached per session).
	folders, err = dialUser(t, srv, "bob").Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(folders, func(f imapconn.Folder) bool { return f.Name == shared }) {
		t.Errorf("bob still sees %q", shared)
	}
	// Deleting what is not there is fine; the session is still usable after the raw command.
	if err := alice.DeleteACL(ctx, cal, "nobody-here"); err != nil {
		t.Errorf("DeleteACL of an absent identifier: %v", err)
	}
	if _, err := alice.GetACL(ctx, cal); err != nil {
		t.Errorf("session unusable after DELETEACL: %v", err)
	}
	// SetACL with an empty set deletes too.
	if err := alice.SetACL(ctx, cal, "bob", lr); err != nil {
		t.Fatal(err)
	}
	if err := alice.SetACL(ctx, cal, "bob", acl.Set{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := alice.GetACL(ctx, cal); func() bool { _, ok := got["bob"]; return ok }() {
		t.Errorf("SetACL with no rights left an entry: %v", got)
	}
	// Non-ASCII mailbox names go through the raw DELETEACL path encoded.
	uni := sc.personal + "Geteilt Ä"
	if err := alice.Create(ctx, uni); err != nil {
		t.Fatal(err)
	}
	if err := alice.SetACL(ctx, uni, "bob", lr); err != nil {
		t.Fatal(err)
	}
	if err := alice.DeleteACL(ctx, uni, "bob"); err != nil {
		t.Fatalf("DeleteACL on %q: %v", uni, err)
	}
	if got, _ := alice.GetACL(ctx, uni); func() bool { _, ok := got["bob"]; return ok }() {
		t.Errorf("DeleteACL on %q left bob: %v", uni, got)
	}
	// "anyone": both servers take it (the test Dovecot sets acl_anyone = allow; its default forbids it).
	if err := alice.SetACL(ctx, cal, acl.Anyone, acl.ParseLetters("l")); err != nil {
		t.Fatalf("SETACL anyone: %v", err)
	}
	if got, _ := alice.GetACL(ctx, cal); got[acl.Anyone].String() != "l" {
		t.Errorf("anyone's entry: %v", got)
	}
	if err := alice.DeleteACL(ctx, cal, acl.Anyone); err != nil {
		t.Fatal(err)
	}
	err = alice.DeleteACL(ctx, sc.personal+"Nowhere", "bob")
	wantKind(t, "DELETEACL on a missing folder", err, imapconn.NotFound)
}

func testSpecialUse(t *testing.T, ctx context.Context, srv *testserver.Server, sc serverCase) {
	s := dialUser(t, srv, "alice")
	out, err := s.EnsureSpecialUse(ctx)
	if !s.Has("CREATE-SPECIAL-USE") {
		wantKind(t, "EnsureSpecialUse without CREATE-SPECIAL-USE", err, imapconn.NotSupported)
		return
	}
	if err != nil {
		t.Fatalf("EnsureSpecialUse: %v", err)
	}
	if len(out) != 5 {
		t.Fatalf("EnsureSpecialUse = %+v", out)
	}
	folders, err := s.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ef := range out {
		if !ef.Created || ef.Mailbox != sc.personal+strings.TrimPrefix(ef.SpecialUse, `\`) {
			t.Errorf("%+v", ef)
		}
		i := slices.IndexFunc(folders, func(f imapconn.Folder) bool { return f.Name == ef.Mailbox })
		if i < 0 || folders[i].SpecialUse != ef.SpecialUse {
			t.Errorf("%s: LIST shows %+v", ef.Mailbox, folders)
		}
	}
	// carol already has a plain "Junk": it gets the attribute instead of a second folder.
	carol := dialUser(t, srv, "carol")
	junk := sc.personal + "Junk"
	if err := carol.Create(ctx, junk); err != nil {
		t.Fatal(err)
	}
	cout, err := carol.EnsureSpecialUse(ctx)
	if err != nil {
		t.Fatalf("EnsureSpecialUse with a plain Junk: %v", err)
	}
	j := slices.IndexFunc(cout, func(ef EnsuredFolder) bool { return ef.SpecialUse == `\Junk` })
	if j < 0 || cout[j].Mailbox != junk || cout[j].Created || !cout[j].Annotated {
		t.Errorf("plain Junk: %+v", cout)
	}
	cf, _ := carol.Folders(ctx)
	if i := slices.IndexFunc(cf, func(f imapconn.Folder) bool { return f.Name == junk }); i < 0 || cf[i].SpecialUse != `\Junk` {
		t.Errorf("Junk not marked: %+v", cf)
	}

	out2, err := s.EnsureSpecialUse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ef := range out2 {
		if ef.Created || ef.Annotated || ef.Existing != "" {
			t.Errorf("second run: %+v", ef)
		}
	}
}

func testContext(t *testing.T, ctx context.Context, srv *testserver.Server) {
	done, cancel := context.WithCancel(ctx)
	cancel()
	_, err := Dial(done, endpoint(srv, imapconn.TLSStartTLS), userCred(srv, "alice"))
	wantKind(t, "Dial with a cancelled context", err, imapconn.Timeout)

	s := dialUser(t, srv, "alice")
	_, err = s.Folders(done)
	wantKind(t, "Folders with a cancelled context", err, imapconn.Timeout)
	// Refused before sending anything: the session is still fine.
	if _, err := s.Folders(ctx); err != nil {
		t.Fatalf("session broken by a context refused up front: %v", err)
	}
}
