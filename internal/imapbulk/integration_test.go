package imapbulk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/testserver"
)

// serverCase is one real server the tests run against.
type serverCase struct {
	name   string
	start  func(testing.TB) *testserver.Server
	prefix string // personal namespace prefix
	delim  string
}

var serverCases = []serverCase{
	{name: "dovecot", start: testserver.Dovecot, delim: "/"},
	{name: "cyrus-modern", start: func(t testing.TB) *testserver.Server { return testserver.Cyrus(t, "modern") }, delim: "/"},
	{name: "cyrus-legacy", start: func(t testing.TB) *testserver.Server { return testserver.Cyrus(t, "legacy") },
		prefix: "INBOX.", delim: "."},
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

func dial(t testing.TB, srv *testserver.Server, cred imapconn.Credentials) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, endpoint(srv, imapconn.TLSStartTLS), cred)
	if err != nil {
		t.Fatalf("Dial %s: %v", cred.Login, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestServers runs every integration test against each real server.
func TestServers(t *testing.T) {
	for _, sc := range serverCases {
		t.Run(sc.name, func(t *testing.T) {
			srv := sc.start(t)
			t.Run("Login", func(t *testing.T) { testLogin(t, srv) })
			t.Run("Namespaces", func(t *testing.T) { testNamespaces(t, srv, sc) })
			t.Run("CreateList", func(t *testing.T) { testCreateList(t, srv, sc) })
			if sc.name == "cyrus-legacy" {
				return // the rest does not depend on the namespace
			}
			t.Run("AppendFetch", func(t *testing.T) { testAppendFetch(t, srv, sc) })
			t.Run("LargeMessage", func(t *testing.T) { testLargeMessage(t, srv, sc) })
			t.Run("TryCreate", func(t *testing.T) { testTryCreate(t, srv, sc) })
			t.Run("Apply", func(t *testing.T) { testApply(t, srv, sc) })
			t.Run("CancelMidAppend", func(t *testing.T) { testCancel(t, srv, sc) })
		})
	}
}

func testLogin(t *testing.T, srv *testserver.Server) {
	for _, mode := range []imapconn.TLSMode{imapconn.TLSStartTLS, imapconn.TLSImplicit} {
		ctx := ctxT(t)
		c, err := Dial(ctx, endpoint(srv, mode), userCred(srv, "alice"))
		if err != nil {
			t.Fatalf("%s: PLAIN: %v", mode, err)
		}
		if !c.Has("IMAP4rev1") || slices.Contains(c.Caps(), "STARTTLS") && mode == imapconn.TLSStartTLS && srv.Flavor == "dovecot" {
			t.Errorf("%s: capabilities after login: %v", mode, c.Caps())
		}
		c.Close()
	}

	login := userCred(srv, "bob")
	login.Mechanism = imapconn.MechanismLogin
	dial(t, srv, login) // LOGIN fallback

	imp := imapconn.Credentials{Login: "alice", AdminLogin: srv.Admin.Login, AdminPassword: srv.Admin.Password, Flavor: srv.Flavor}
	c := dial(t, srv, imp) // SASL PLAIN with authzid
	if _, err := c.Select(ctxT(t), "INBOX", true); err != nil {
		t.Errorf("impersonated SELECT INBOX: %v", err)
	}
	if srv.Flavor == "dovecot" {
		imp.Mechanism = imapconn.MechanismLogin
		dial(t, srv, imp) // LOGIN alice*mailadmin
	}

	for _, withoutPlain := range []bool{false, true} {
		bad := userCred(srv, "carol")
		bad.Password = "wrong-Pa55-" + srv.Flavor
		if withoutPlain {
			bad.Mechanism = imapconn.MechanismLogin
		}
		_, err := Dial(ctxT(t), endpoint(srv, imapconn.TLSStartTLS), bad)
		if imapconn.KindOf(err) != imapconn.AuthenticationFailed {
			t.Errorf("wrong password (LOGIN %v): want AuthenticationFailed, got %v", withoutPlain, err)
		} else if strings.Contains(err.Error(), bad.Password) {
			t.Errorf("password in error: %v", err)
		}
		if IsTransient(err) {
			t.Errorf("a refused login is not transient: %v", err)
		}
	}
}

func testNamespaces(t *testing.T, srv *testserver.Server, sc serverCase) {
	c := dial(t, srv, userCred(srv, "alice"))
	ns, err := c.Namespaces(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	p := ns.PersonalDefault()
	if p.Prefix != sc.prefix || string(p.Delim) != sc.delim {
		t.Errorf("personal namespace %+v, want prefix %q delimiter %q", p, sc.prefix, sc.delim)
	}
	if len(ns.Other) == 0 {
		t.Errorf("no other-users namespace: %+v", ns)
	}
}

// folderName builds a personal folder path from UTF-8 parts.
func folderName(sc serverCase, parts ...string) string {
	return sc.prefix + strings.Join(parts, sc.delim)
}

func testCreateList(t *testing.T, srv *testserver.Server, sc serverCase) {
	c := dial(t, srv, userCred(srv, "bob"))
	ctx := ctxT(t)
	names := []string{
		folderName(sc, "Gesendete Elemente"),
		folderName(sc, "Gesendete Elemente", "Ünterordner"),
		folderName(sc, "Projekt & Co (Alpha)"),
		folderName(sc, "日本語 📎"),
	}
	if srv.Flavor == "dovecot" {
		// Cyrus refuses '"' and '\' in names ("Invalid mailbox name").
		names = append(names, folderName(sc, `Zitat "Alpha" und Back\slash`))
	}
	for _, n := range names {
		if err := c.Create(ctx, n, ""); err != nil {
			t.Fatalf("Create %q: %v", n, err)
		}
		if err := c.Create(ctx, n, ""); err != nil {
			t.Errorf("Create %q again must tolerate ALREADYEXISTS: %v", n, err)
		}
	}
	if srv.Flavor == "dovecot" {
		if err := c.Create(ctx, "Sent", ""); err != nil { // special_use = \Sent in its config
			t.Fatal(err)
		}
		names = append(names, "Sent")
	}
	archive := folderName(sc, "Archiv 2024")
	if err := c.Create(ctx, archive, `\Archive`); err != nil {
		t.Fatalf("Create with special use: %v", err)
	}
	folders, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]imapconn.Folder{}
	for _, f := range folders {
		byName[f.Name] = f
	}
	for _, n := range append(names, archive, "INBOX") {
		f, ok := byName[n]
		if !ok {
			t.Errorf("List lacks %q (got %v)", n, keys(byName))
			continue
		}
		if n != "INBOX" && string(f.Delim) != sc.delim {
			t.Errorf("%q: delimiter %q", n, f.Delim)
		}
	}
	// Dovecot ignores CREATE (USE ...); Cyrus honours it (see NOTES).
	if srv.Flavor == "cyrus" && c.Has("CREATE-SPECIAL-USE") && byName[archive].SpecialUse != `\Archive` {
		t.Errorf("special use of %q: %+v", archive, byName[archive])
	}
	if srv.Flavor == "dovecot" && byName["Sent"].Name == "Sent" && byName["Sent"].SpecialUse != `\Sent` {
		t.Errorf("Dovecot's Sent: %+v", byName["Sent"])
	}
	for _, n := range names {
		if _, err := c.Select(ctx, n, false); err != nil {
			t.Errorf("Select %q: %v", n, err)
		}
	}
	if _, err := c.Select(ctx, folderName(sc, "does-not-exist"), false); imapconn.KindOf(err) != imapconn.NotFound {
		t.Errorf("Select of a missing folder: want NotFound, got %v", err)
	}

	// ListStatus: the same folders, each selectable one with what STATUS says of it, from one command.
	body := "Subject: counted\r\n\r\nx\r\n"
	if res, err := c.Append(ctx, names[1], []Message{{Size: int64(len(body)), Body: strings.NewReader(body)}}); err != nil || res[0].Err != nil {
		t.Fatalf("Append: %v %+v", err, res)
	}
	if !c.Has("LIST-STATUS") {
		t.Fatalf("%s does not offer LIST-STATUS: ListStatus is not exercised", srv.Flavor)
	}
	listed, statuses, err := c.ListStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != len(folders) {
		t.Errorf("ListStatus listed %d folders, List %d", len(listed), len(folders))
	}
	for _, f := range listed {
		if !f.Selectable() {
			continue
		}
		got, ok := statuses[f.Name]
		if !ok {
			t.Errorf("ListStatus: no status for %q", f.Name)
			continue
		}
		want, err := c.Status(ctx, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got.Exists != want.Exists || got.UIDValidity != want.UIDValidity || got.UIDNext != want.UIDNext || got.UIDValidity == 0 {
			t.Errorf("%q: ListStatus %+v, STATUS %+v", f.Name, got, want)
		}
	}
	if st := statuses[names[1]]; st.Exists != 1 {
		t.Errorf("%q holds one message, ListStatus says %d", names[1], st.Exists)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// testMessage builds a CRLF message of about size bytes with a unique
// Message-ID. Headers are ASCII: Cyrus rewrites 8-bit header bytes
// (munge8bit), which would defeat the byte-for-byte comparison.
func testMessage(rng *rand.Rand, i, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Sender %d <s%d@example.test>\r\nTo: bob@example.test\r\nSubject: Test %d =?utf-8?q?=C3=84rger?=\r\n", i, i, i)
	fmt.Fprintf(&b, "Date: Tue, 5 Mar 2024 07:08:09 +0100\r\nMessage-ID: <msg-%d-%d@example.test>\r\n", i, rng.Int63())
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	const alphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789"
	line := make([]byte, 76)
	for b.Len() < size {
		for k := range line {
			line[k] = alphabet[rng.Intn(len(alphabet))]
		}
		b.Write(line)
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

var flagSets = [][]string{{`\Seen`}, {`\Flagged`}, {`$Forwarded`}, {"Kunde_A"}, {`\Seen`, `\Flagged`, "$Forwarded", "Kunde_A"}, nil}

func testAppendFetch(t *testing.T, srv *testserver.Server, sc serverCase) {
	c := dial(t, srv, userCred(srv, "alice"))
	ctx := ctxT(t)
	folder := folderName(sc, "Bulk", "Eingang")
	if err := c.Create(ctx, folderName(sc, "Bulk"), ""); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, folder, ""); err != nil {
		t.Fatal(err)
	}
	before, err := c.Select(ctx, folder, false)
	if err != nil {
		t.Fatal(err)
	}
	if before.UIDValidity == 0 || before.UIDNext == 0 || before.Exists != 0 {
		t.Errorf("fresh folder status %+v", before)
	}
	if c.Has("CONDSTORE") && before.HighestModSeq == 0 && !before.NoModSeq {
		t.Errorf("CONDSTORE offered but no HIGHESTMODSEQ: %+v", before)
	}

	const n = 300
	rng := rand.New(rand.NewSource(1))
	bodies := make([][]byte, n)
	msgs := make([]Message, n)
	zones := []*time.Location{time.UTC, time.FixedZone("", 2*3600), time.FixedZone("", -5*3600-1800)}
	for i := range msgs {
		size := 1000 + rng.Intn(200_000)
		if i%10 != 0 {
			size = 1000 + rng.Intn(20_000) // mostly small, as in real mailboxes
		}
		bodies[i] = testMessage(rng, i, size)
		msgs[i] = Message{
			Flags: flagSets[i%len(flagSets)],
			Date:  time.Date(2019, 1+time.Month(i%12), 1+i%28, i%24, i%60, (i*7)%60, 0, zones[i%len(zones)]),
			Size:  int64(len(bodies[i])),
			Body:  bytes.NewReader(bodies[i]),
		}
	}
	start := time.Now()
	res, err := c.Append(ctx, folder, msgs)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	t.Logf("%s: appended %d messages in %v (%.0f msg/s)", sc.name, n, time.Since(start), n/time.Since(start).Seconds())
	uidOf := map[uint32]int{}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("message %d: %v", i, r.Err)
		}
		if r.UID == 0 || r.UIDValidity != before.UIDValidity {
			t.Fatalf("message %d: APPENDUID %d/%d, folder UIDVALIDITY %d", i, r.UIDValidity, r.UID, before.UIDValidity)
		}
		uidOf[r.UID] = i
	}
	if len(uidOf) != n {
		t.Fatalf("%d distinct UIDs for %d messages", len(uidOf), n)
	}

	after, err := c.Select(ctx, folder, false)
	if err != nil {
		t.Fatal(err)
	}
	if after.Exists != n || after.UIDNext < before.UIDNext+n || after.UIDValidity != before.UIDValidity {
		t.Errorf("status after append %+v, before %+v", after, before)
	}
	if c.Has("CONDSTORE") && after.HighestModSeq <= before.HighestModSeq {
		t.Errorf("HIGHESTMODSEQ did not increase: %d -> %d", before.HighestModSeq, after.HighestModSeq)
	}
	if st, err := c.Status(ctx, folderName(sc, "Bulk")); err != nil || st.UIDValidity == 0 {
		t.Errorf("Status: %+v %v", st, err)
	}

	ids, err := c.FetchIdentities(ctx, "1:*", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != n {
		t.Fatalf("FetchIdentities: %d identities, want %d", len(ids), n)
	}
	for _, id := range ids {
		i, ok := uidOf[id.UID]
		if !ok {
			t.Fatalf("UID %d was not reported by APPENDUID", id.UID)
		}
		wantID := headerValue(bodies[i], "Message-ID")
		if id.MessageID != wantID {
			t.Errorf("UID %d: Message-ID %q, want %q", id.UID, id.MessageID, wantID)
		}
		if id.Size != int64(len(bodies[i])) {
			t.Errorf("UID %d: size %d, want %d", id.UID, id.Size, len(bodies[i]))
		}
		if !id.InternalDate.Equal(msgs[i].Date) {
			t.Errorf("UID %d: INTERNALDATE %v, want %v", id.UID, id.InternalDate, msgs[i].Date)
		}
		if !sameFlags(id.Flags, msgs[i].Flags) {
			t.Errorf("UID %d: flags %v, want %v", id.UID, id.Flags, msgs[i].Flags)
		}
		if !bytes.Contains(id.Header, []byte("Subject: Test")) {
			t.Errorf("UID %d: header %q", id.UID, id.Header)
		}
		if c.Has("CONDSTORE") && id.ModSeq == 0 {
			t.Errorf("UID %d: no MODSEQ", id.UID)
		}
	}

	// Bodies come back byte for byte.
	for uid, i := range uidOf {
		h := sha256.New()
		meta, err := c.FetchMessage(ctx, uid, h)
		if err != nil {
			t.Fatalf("FetchMessage %d: %v", uid, err)
		}
		if want := sha256.Sum256(bodies[i]); !bytes.Equal(h.Sum(nil), want[:]) || meta.Size != int64(len(bodies[i])) {
			t.Fatalf("FetchMessage %d: body differs (%d bytes, want %d)", uid, meta.Size, len(bodies[i]))
		}
	}
	if _, err := c.FetchMessage(ctx, after.UIDNext+100, io.Discard); imapconn.KindOf(err) != imapconn.NotFound {
		t.Errorf("FetchMessage of a missing UID: want NotFound, got %v", err)
	}

	// Store, then CHANGEDSINCE returns only what changed.
	var someUIDs []uint32
	for uid := range uidOf {
		if len(someUIDs) < 3 {
			someUIDs = append(someUIDs, uid)
		}
	}
	slices.Sort(someUIDs)
	set := fmt.Sprintf("%d,%d,%d", someUIDs[0], someUIDs[1], someUIDs[2])
	if err := c.Store(ctx, set, "+FLAGS", []string{`\Answered`, "Bearbeitet"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(ctx, set, "-FLAGS", []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	found, err := c.UIDSearch(ctx, "KEYWORD Bearbeitet")
	if err != nil || !slices.Equal(found, someUIDs) {
		t.Errorf("UIDSearch: %v %v, want %v", found, err, someUIDs)
	}
	if c.Has("CONDSTORE") {
		changed, err := c.FetchIdentities(ctx, "1:*", after.HighestModSeq)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint32
		for _, id := range changed {
			got = append(got, id.UID)
			if !slices.Contains(id.Flags, "Bearbeitet") || slices.Contains(id.Flags, `\Seen`) {
				t.Errorf("changed UID %d flags %v", id.UID, id.Flags)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, someUIDs) {
			t.Errorf("CHANGEDSINCE %d returned %v, want %v", after.HighestModSeq, got, someUIDs)
		}
	} else {
		t.Logf("%s: no CONDSTORE, CHANGEDSINCE not tested", sc.name)
	}
}

func sameFlags(got, want []string) bool {
	norm := func(in []string) []string {
		var out []string
		for _, f := range in {
			if strings.EqualFold(f, `\Recent`) {
				continue
			}
			out = append(out, strings.ToLower(f))
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(norm(got), norm(want))
}

func testLargeMessage(t *testing.T, srv *testserver.Server, sc serverCase) {
	c := dial(t, srv, userCred(srv, "carol"))
	ctx := ctxT(t)
	folder := folderName(sc, "Gross")
	if err := c.Create(ctx, folder, ""); err != nil {
		t.Fatal(err)
	}
	body := testMessage(rand.New(rand.NewSource(5)), 1, 5<<20)
	res, err := c.Append(ctx, folder, []Message{{Flags: []string{`\Seen`}, Size: int64(len(body)), Body: bytes.NewReader(body)}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("Append 5 MB: %v %v", err, res[0].Err)
	}
	if _, err := c.Select(ctx, folder, true); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	meta, err := c.FetchMessage(ctx, res[0].UID, h)
	if err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256(body); !bytes.Equal(h.Sum(nil), want[:]) || meta.Size != int64(len(body)) {
		t.Fatalf("5 MB body differs: %d bytes", meta.Size)
	}

	// A body longer than it claims is refused and never stored; the Conn
	// is closed to discard it.
	big := testMessage(rand.New(rand.NewSource(6)), 2, 2<<20)
	c2 := dial(t, srv, userCred(srv, "carol"))
	res, err = c2.Append(ctx, folder, []Message{{Size: int64(len(big)) - 100, Body: bytes.NewReader(big)}})
	if !errors.Is(res[0].Err, ErrSizeMismatch) || err == nil {
		t.Fatalf("size mismatch of a streamed body: %v / %v", res[0].Err, err)
	}
	st, err := c.Select(ctx, folder, true)
	if err != nil || st.Exists != 1 {
		t.Errorf("after the refused message: %+v %v", st, err)
	}
}

func testTryCreate(t *testing.T, srv *testserver.Server, sc serverCase) {
	c := dial(t, srv, userCred(srv, "bob"))
	res, err := c.Append(ctxT(t), folderName(sc, "Nirgendwo"), []Message{msgOf("Subject: x\r\n\r\nx\r\n"), msgOf("y\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if !errors.Is(r.Err, ErrTryCreate) || imapconn.KindOf(r.Err) != imapconn.NotFound {
			t.Errorf("message %d: want ErrTryCreate, got %v", i, r.Err)
		}
	}
}

// testApply: several changes in one pipelined call, in order: a STORE, a \Deleted STORE of two messages
// and the UID EXPUNGE of one of them (which must wait for the STORE before it), a MOVE, and a MOVE into a
// folder that does not exist, which fails alone.
func testApply(t *testing.T, srv *testserver.Server, sc serverCase) {
	c := dial(t, srv, userCred(srv, "carol"))
	ctx := ctxT(t)
	box, dest := folderName(sc, "Anwenden"), folderName(sc, "Ziel")
	for _, f := range []string{box, dest} {
		if err := c.Create(ctx, f, ""); err != nil {
			t.Fatal(err)
		}
	}
	var msgs []Message
	for i := range 5 {
		msgs = append(msgs, msgOf(fmt.Sprintf("Message-ID: <apply-%d@test>\r\nSubject: %d\r\n\r\nbody\r\n", i, i)))
	}
	res, err := c.Append(ctx, box, msgs)
	if err != nil || res[4].UID == 0 {
		t.Fatalf("append: %v %+v", err, res)
	}
	u := func(i int) string { return fmt.Sprint(res[i].UID) }
	if _, err := c.Select(ctx, box, false); err != nil {
		t.Fatal(err)
	}
	errs, err := c.Apply(ctx, []Change{
		{UIDs: u(0), Store: "FLAGS", Flags: []string{`\Flagged`, "Wichtig"}},
		{UIDs: u(1) + "," + u(2), Store: "+FLAGS", Flags: []string{`\Deleted`}},
		{UIDs: u(1), Expunge: true},
		{UIDs: u(3), MoveTo: dest},
		{UIDs: u(4), MoveTo: folderName(sc, "Gibtsnicht")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if (e != nil) != (i == 4) {
			t.Errorf("change %d: %v", i, e)
		}
	}
	ids, err := c.FetchIdentities(ctx, "1:*", 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint32][]string{}
	for _, id := range ids {
		got[id.UID] = id.Flags
	}
	if _, ok := got[res[1].UID]; ok || len(got) != 3 {
		t.Errorf("after Apply the folder holds %v; want messages 0, 2 and 4", got)
	}
	if f := got[res[0].UID]; !slices.Contains(f, `\Flagged`) || !slices.Contains(f, "Wichtig") {
		t.Errorf("message 0 has %v", f)
	}
	if f := got[res[2].UID]; !slices.Contains(f, `\Deleted`) {
		t.Errorf("message 2, marked \\Deleted and not expunged, has %v", f)
	}
	if st, err := c.Status(ctx, dest); err != nil || st.Exists != 1 {
		t.Errorf("the move's destination: %+v %v", st, err)
	}
	if _, err := c.Apply(ctx, []Change{{UIDs: "1,x", Store: "FLAGS"}}); imapconn.KindOf(err) != imapconn.ProtocolError {
		t.Errorf("an invalid UID set: %v", err)
	}
}

func testCancel(t *testing.T, srv *testserver.Server, sc serverCase) {
	c := dial(t, srv, userCred(srv, "bob"))
	folder := folderName(sc, "Abbruch")
	if err := c.Create(ctxT(t), folder, ""); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(9))
	var msgs []Message
	for i := 0; i < 2000; i++ {
		b := testMessage(rng, i, 50_000)
		msgs = append(msgs, Message{Size: int64(len(b)), Body: bytes.NewReader(b)})
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	res, err := c.Append(ctx, folder, msgs)
	el := time.Since(start)
	if imapconn.KindOf(err) != imapconn.Timeout {
		t.Fatalf("want Timeout after cancel, got %v", err)
	}
	if el > 2*time.Second {
		t.Errorf("Append returned %v after start; cancel was at 300ms", el)
	}
	stored := 0
	for _, r := range res {
		if r.Err == nil {
			stored++
		}
	}
	t.Logf("%s: %d of %d stored before the cancel", sc.name, stored, len(msgs))
	if stored == len(msgs) {
		t.Error("everything was stored: the cancel came too late to test anything")
	}
}
