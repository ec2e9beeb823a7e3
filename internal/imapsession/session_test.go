package imapsession

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/mailshift/mailshift/internal/imapconn"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func selfSignedPEM(t testing.TB, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestPlanMailbox(t *testing.T) {
	dovecot := imapconn.Namespaces{Personal: []imapconn.Namespace{{Prefix: "", Delim: '/'}}, Other: []imapconn.Namespace{{Prefix: "shared/", Delim: '/'}}}
	modern := imapconn.Namespaces{Personal: []imapconn.Namespace{{Prefix: "", Delim: '/'}}, Other: []imapconn.Namespace{{Prefix: "Other Users/", Delim: '/'}}}
	legacy := imapconn.Namespaces{Personal: []imapconn.Namespace{{Prefix: "INBOX.", Delim: '.'}}, Other: []imapconn.Namespace{{Prefix: "user.", Delim: '.'}}}
	dotTop := imapconn.Namespaces{Personal: []imapconn.Namespace{{Prefix: "", Delim: '.'}}}
	dovecotInbox := imapconn.Namespaces{Personal: []imapconn.Namespace{{Prefix: "INBOX/", Delim: '/'}}}
	lowerInbox := imapconn.Namespaces{Personal: []imapconn.Namespace{{Prefix: "inbox.", Delim: '.'}}}
	flat := imapconn.Namespaces{Personal: []imapconn.Namespace{{Prefix: "", Delim: 0}}}
	tests := []struct {
		name string
		ns   imapconn.Namespaces
		p    Placement
		want string
	}{
		{"dovecot auto", dovecot, PlaceAuto, "Calendar"},
		{"dovecot top", dovecot, PlaceTopLevel, "Calendar"},
		{"dovecot under inbox", dovecot, PlaceUnderInbox, "INBOX/Calendar"},
		{"cyrus modern auto", modern, PlaceAuto, "Calendar"},
		{"cyrus modern under inbox", modern, PlaceUnderInbox, "INBOX/Calendar"},
		{"cyrus legacy auto", legacy, PlaceAuto, "INBOX.Calendar"},
		{"cyrus legacy top is still under the prefix", legacy, PlaceTopLevel, "INBOX.Calendar"},
		{"cyrus legacy under inbox", legacy, PlaceUnderInbox, "INBOX.Calendar"},
		{"dot delimiter, empty prefix, auto", dotTop, PlaceAuto, "Calendar"},
		{"dot delimiter under inbox", dotTop, PlaceUnderInbox, "INBOX.Calendar"},
		{"INBOX/ prefix auto", dovecotInbox, PlaceAuto, "INBOX/Calendar"},
		{"server spelling of the prefix kept", lowerInbox, PlaceAuto, "inbox.Calendar"},
		{"flat namespace cannot nest", flat, PlaceUnderInbox, "Calendar"},
		{"no namespace at all", imapconn.Namespaces{}, PlaceUnderInbox, "INBOX/Calendar"},
		{"empty placement is auto", legacy, "", "INBOX.Calendar"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PlanMailbox(tt.ns, tt.p, "Calendar"); got != tt.want {
				t.Errorf("PlanMailbox = %q, want %q", got, tt.want)
			}
		})
	}
	if got := PlanMailbox(legacy, PlaceAuto, "Éléments"); got != "INBOX.Éléments" {
		t.Errorf("non-ASCII: %q", got)
	}
}

func TestIsPersonal(t *testing.T) {
	dovecot := imapconn.Namespaces{Personal: []imapconn.Namespace{{Prefix: "", Delim: '/'}}, Other: []imapconn.Namespace{{Prefix: "shared/", Delim: '/'}}}
	modern := imapconn.Namespaces{Personal: []imapconn.Namespace{{Prefix: "", Delim: '/'}}, Other: []imapconn.Namespace{{Prefix: "Other Users/", Delim: '/'}}, Shared: []imapconn.Namespace{{Prefix: "Shared Folders/", Delim: '/'}}}
	legacy := imapconn.Namespaces{Personal: []imapconn.Namespace{{Prefix: "INBOX.", Delim: '.'}}, Other: []imapconn.Namespace{{Prefix: "user.", Delim: '.'}}, Shared: []imapconn.Namespace{{Prefix: "", Delim: '.'}}}
	tests := []struct {
		ns   imapconn.Namespaces
		name string
		want bool
	}{
		{dovecot, "INBOX", true},
		{dovecot, "Calendar", true},
		{dovecot, "shared/alice/Calendar", false},
		{dovecot, "shared", false},
		{modern, "Other Users/alice/Calendar", false},
		{modern, "Shared Folders/x", false},
		{modern, "Other Usersx", true},
		{legacy, "INBOX", true},
		{legacy, "INBOX.Calendar", true},
		{legacy, "user.alice.Calendar", false},
		{legacy, "public", false}, // shared namespace with an empty prefix
		{imapconn.Namespaces{}, "anything", true},
	}
	for _, tt := range tests {
		if got := tt.ns.IsPersonal(tt.name); got != tt.want {
			t.Errorf("IsPersonal(%q) = %v, want %v (ns %+v)", tt.name, got, tt.want, tt.ns)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	no := func(code imap.ResponseCode, text string) error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
	}
	bad := func(text string) error { return &imap.Error{Type: imap.StatusResponseTypeBad, Text: text} }
	tests := []struct {
		name string
		err  error
		ph   phase
		want imapconn.Kind
	}{
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, phaseConnect, imapconn.Unreachable},
		{"dns", &net.DNSError{Err: "no such host", Name: "x"}, phaseConnect, imapconn.Unreachable},
		{"dial timeout", &net.OpError{Op: "dial", Err: timeoutErr{}}, phaseConnect, imapconn.Timeout},
		{"ctx deadline", context.DeadlineExceeded, phaseCommand, imapconn.Timeout},
		{"ctx cancel", fmt.Errorf("x: %w", context.Canceled), phaseAuth, imapconn.Timeout},
		{"os deadline", os.ErrDeadlineExceeded, phaseCommand, imapconn.Timeout},
		{"unknown CA", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, phaseTLS, imapconn.TLSFailed},
		{"hostname", x509.HostnameError{Host: "x", Certificate: &x509.Certificate{}}, phaseTLS, imapconn.TLSFailed},
		{"record header", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, phaseTLS, imapconn.TLSFailed},
		{"eof during tls", io.EOF, phaseTLS, imapconn.TLSFailed},
		{"starttls refused", errors.New("server refused STARTTLS: BAD"), phaseTLS, imapconn.TLSFailed},
		{"eof during command", io.ErrUnexpectedEOF, phaseCommand, imapconn.Unreachable},
		{"reset", syscall.ECONNRESET, phaseCommand, imapconn.Unreachable},
		{"auth code", no(imap.ResponseCodeAuthenticationFailed, "Authentication failed."), phaseAuth, imapconn.AuthenticationFailed},
		{"auth plain NO (Cyrus)", no("", "Login failed: authentication failure"), phaseAuth, imapconn.AuthenticationFailed},
		{"authz code", no(imap.ResponseCodeAuthorizationFailed, ""), phaseAuth, imapconn.AuthenticationFailed},
		{"auth unavailable", no(imap.ResponseCodeUnavailable, "try later"), phaseAuth, imapconn.Unreachable},
		{"auth BAD unknown mechanism", bad("Unsupported authentication mechanism"), phaseAuth, imapconn.NotSupported},
		{"noperm", no(imap.ResponseCodeNoPerm, "Permission denied"), phaseCommand, imapconn.PermissionDenied},
		{"cyrus permission", no("", "Permission denied"), phaseCommand, imapconn.PermissionDenied},
		{"nonexistent", no(imap.ResponseCodeNonExistent, "Mailbox doesn't exist: X"), phaseCommand, imapconn.NotFound},
		{"trycreate", no(imap.ResponseCodeTryCreate, "Mailbox does not exist"), phaseCommand, imapconn.NotFound},
		{"cyrus not found", no("", "Mailbox does not exist"), phaseCommand, imapconn.NotFound},
		{"unknown command", bad("Unknown command FOO"), phaseCommand, imapconn.NotSupported},
		{"dovecot unknown command", bad("Error in IMAP command received by server."), phaseCommand, imapconn.ProtocolError},
		{"bad args", bad("Invalid arguments."), phaseCommand, imapconn.ProtocolError},
		{"bye", &imap.Error{Type: imap.StatusResponseTypeBye, Text: "shutting down"}, phaseCommand, imapconn.Unreachable},
		{"greeting bye", &imap.Error{Type: imap.StatusResponseTypeBye, Text: "too many"}, phaseGreeting, imapconn.Unreachable},
		// One table for both front ends: the bulk one needs quota refusals told apart.
		{"over quota", no("", "Over quota"), phaseCommand, imapconn.PermissionDenied},
		{"over quota code", no(imap.ResponseCodeOverQuota, "Quota exceeded"), phaseCommand, imapconn.PermissionDenied},
		{"other NO", no("", "Internal error occurred"), phaseCommand, imapconn.ProtocolError},
		{"dovecot anyone forbidden", bad("Error in IMAP command SETACL: 'anyone' identifier is disallowed"), phaseCommand, imapconn.PermissionDenied},
		{"local not supported", imapconn.ErrNotSupported, phaseCommand, imapconn.NotSupported},
		{"garbage", errors.New("in response: cannot read tag"), phaseCommand, imapconn.ProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.err, tt.ph); got != tt.want {
				t.Errorf("classify(%v) = %s, want %s", tt.err, got, tt.want)
			}
			e := wrap("op", tt.ph, tt.err)
			if imapconn.KindOf(e) != tt.want || !errors.Is(e, tt.err) && !errors.As(e, new(*imap.Error)) {
				t.Errorf("wrap lost kind or chain: %v", e)
			}
		})
	}
	if imapconn.KindOf(nil) != "" {
		t.Error("KindOf(nil)")
	}
	if imapconn.KindOf(fmt.Errorf("outer: %w", &imapconn.Error{Kind: imapconn.NotFound, Op: "x"})) != imapconn.NotFound {
		t.Error("KindOf through wrapping")
	}
}

func TestErrorNeverShowsPasswords(t *testing.T) {
	const pw, admin = "s3cr3t-Pa55", "adm1n-pa55"
	echo := &imap.Error{Type: imap.StatusResponseTypeBad, Text: `Invalid arguments: LOGIN alice "s3cr3t-Pa55" and adm1n-pa55`}
	err := wrap("authenticate", phaseAuth, echo, pw, admin)
	msg := err.Error()
	if strings.Contains(msg, pw) || strings.Contains(msg, admin) {
		t.Fatalf("password in %q", msg)
	}
	if !strings.Contains(msg, "***") || !strings.Contains(msg, "authenticate") {
		t.Errorf("message %q", msg)
	}
	var e *imapconn.Error
	if !errors.As(err, &e) || e.Kind != imapconn.ProtocolError {
		t.Fatalf("kind %v", err)
	}
	// Nothing further down the chain hands the secret back.
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		if strings.Contains(u.Error(), pw) {
			t.Fatalf("password in wrapped %q", u.Error())
		}
	}
	// Errors without secrets keep their chain.
	plain := wrap("x", phaseCommand, io.EOF, pw)
	if !errors.Is(plain, io.EOF) {
		t.Error("chain lost")
	}
	// An *Error passed through wrap is scrubbed too.
	inner := &imapconn.Error{Kind: imapconn.ProtocolError, Op: "y", Err: errors.New("said " + pw)}
	if strings.Contains(wrap("z", phaseCommand, inner, pw).Error(), pw) {
		t.Error("inner *Error not scrubbed")
	}
	// Errors built by Dial never carry the password: check the messages for all auth paths.
	for _, m := range []string{(&imapconn.Error{Kind: imapconn.AuthenticationFailed, Op: "authenticate (PLAIN as alice by mailadmin)"}).Error()} {
		if strings.Contains(m, pw) {
			t.Fatal(m)
		}
	}
}

func TestUTF7(t *testing.T) {
	tests := []struct{ dec, enc string }{
		{"INBOX", "INBOX"},
		{"Éléments", "&AMk-l&AOk-ments"},
		{"Adreßbuch", "Adre&AN8-buch"},
		{"Kalender", "Kalender"},
		{"A&B", "A&-B"},
		{"日本語", "&ZeVnLIqe-"},
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"😀", "&2D3eAA-"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := imapconn.EncodeUTF7(tt.dec); got != tt.enc {
			t.Errorf("EncodeUTF7(%q) = %q, want %q", tt.dec, got, tt.enc)
		}
		if got, err := imapconn.DecodeUTF7(tt.enc); err != nil || got != tt.dec {
			t.Errorf("DecodeUTF7(%q) = %q, %v, want %q", tt.enc, got, err, tt.dec)
		}
	}
	for _, bad := range []string{"&", "&AMk", "&A-", "é", "&AEE-" /* encoded ASCII */} {
		if _, err := imapconn.DecodeUTF7(bad); err == nil {
			t.Errorf("DecodeUTF7(%q) accepted", bad)
		}
	}
}

func FuzzUTF7(f *testing.F) {
	for _, s := range []string{"", "INBOX", "&AMk-l&AOk-ments", "A&-B", "&", "&ZeVnLIqe-", "&2D3eAA-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Decoding never panics; what decodes re-encodes to something that decodes the same.
		if d, err := imapconn.DecodeUTF7(s); err == nil {
			if d2, err := imapconn.DecodeUTF7(imapconn.EncodeUTF7(d)); err != nil || d2 != d {
				t.Fatalf("%q -> %q -> %q (%v)", s, d, d2, err)
			}
		}
		// Any valid UTF-8 string round-trips through encoding.
		if strings.ToValidUTF8(s, "") == s && !strings.ContainsAny(s, "\x00\r\n") {
			enc := imapconn.EncodeUTF7(s)
			for i := 0; i < len(enc); i++ {
				if enc[i] >= 0x80 {
					t.Fatalf("EncodeUTF7(%q) = %q is not ASCII", s, enc)
				}
			}
			if got, err := imapconn.DecodeUTF7(enc); err != nil || got != s {
				t.Fatalf("round trip %q -> %q -> %q, %v", s, enc, got, err)
			}
		}
	})
}

func TestNoopTagAndQuoting(t *testing.T) {
	for in, want := range map[string]string{"T12 NOOP\r\n": "T12", "a.1 NOOP\r\n": "a.1"} {
		if got, ok := noopTag([]byte(in)); !ok || got != want {
			t.Errorf("noopTag(%q) = %q %v", in, got, ok)
		}
	}
	for _, in := range []string{"T1 NOOP", "T1 NOOP\r\nT2 NOOP\r\n", " NOOP\r\n", "T1 CAPABILITY\r\n", "T 1 NOOP\r\n"} {
		if _, ok := noopTag([]byte(in)); ok {
			t.Errorf("noopTag(%q) matched", in)
		}
	}
	if q, err := quoteArg(`a"b\c`); err != nil || q != `"a\"b\\c"` {
		t.Errorf("quoteArg = %q, %v", q, err)
	}
	for _, bad := range []string{"a\r\nb", "é", "a\x00"} {
		if _, err := quoteArg(bad); err == nil {
			t.Errorf("quoteArg(%q) accepted", bad)
		}
	}
	if m, _ := mailboxArg("inbox"); m != "INBOX" {
		t.Errorf("mailboxArg inbox = %q", m)
	}
	if m, _ := mailboxArg("INBOX.Éléments"); m != `"INBOX.&AMk-l&AOk-ments"` {
		t.Errorf("mailboxArg = %q", m)
	}
}

func TestRawCmdConnRewritesOnlyItsNoop(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	wc := &rawCmdConn{Conn: client, r: client}
	got := make(chan string, 10)
	go func() {
		br := bufio.NewReader(server)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				close(got)
				return
			}
			got <- line
		}
	}()
	write := func(s string) {
		if n, err := wc.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	write("T1 NOOP\r\n")
	wc.arm(`DELETEACL "Cal" "bob"`)
	write("T2 CAPABILITY\r\n")
	write("T3 NOOP\r\n")
	write("T4 NOOP\r\n")
	if !wc.disarm() {
		t.Error("disarm: not sent")
	}
	for _, want := range []string{"T1 NOOP\r\n", "T2 CAPABILITY\r\n", "T3 DELETEACL \"Cal\" \"bob\"\r\n", "T4 NOOP\r\n"} {
		if line := <-got; line != want {
			t.Errorf("got %q, want %q", line, want)
		}
	}
	if wc.disarm() {
		t.Error("second disarm reports sent")
	}
}

// fakeServer accepts one connection and runs script on it.
func fakeServer(t *testing.T, script func(c net.Conn)) imapconn.Endpoint {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		script(c)
	}()
	return imapconn.Endpoint{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, TLS: imapconn.TLSStartTLS, DialTimeout: 2 * time.Second}
}

func TestDialAgainstMisbehavingServers(t *testing.T) {
	cred := imapconn.Credentials{Login: "alice", Password: "pw-never-shown"}
	tests := []struct {
		name   string
		mode   imapconn.TLSMode
		script func(c net.Conn)
		want   imapconn.Kind
	}{
		{"silent server times out", imapconn.TLSStartTLS, func(c net.Conn) { time.Sleep(3 * time.Second) }, imapconn.Timeout},
		{"BYE greeting", imapconn.TLSStartTLS, func(c net.Conn) { io.WriteString(c, "* BYE Too many connections\r\n") }, imapconn.Unreachable},
		{"not IMAP", imapconn.TLSStartTLS, func(c net.Conn) { io.WriteString(c, "220 smtp.example ESMTP\r\n") }, imapconn.ProtocolError},
		{"closes at once", imapconn.TLSStartTLS, func(c net.Conn) {}, imapconn.Unreachable},
		{"PREAUTH before STARTTLS", imapconn.TLSStartTLS, func(c net.Conn) { io.WriteString(c, "* PREAUTH hi\r\n") }, imapconn.TLSFailed},
		{"STARTTLS refused", imapconn.TLSStartTLS, func(c net.Conn) {
			io.WriteString(c, "* OK hi\r\n")
			br := bufio.NewReader(c)
			br.ReadString('\n')
			io.WriteString(c, "S1 BAD Unknown command\r\n")
			time.Sleep(time.Second)
		}, imapconn.TLSFailed},
		{"injection after STARTTLS OK", imapconn.TLSStartTLS, func(c net.Conn) {
			io.WriteString(c, "* OK hi\r\n")
			br := bufio.NewReader(c)
			br.ReadString('\n')
			io.WriteString(c, "S1 OK go\r\n* OK injected\r\n")
			time.Sleep(time.Second)
		}, imapconn.TLSFailed},
		{"plaintext server on implicit TLS", imapconn.TLSImplicit, func(c net.Conn) {
			io.WriteString(c, "* OK hi\r\n")
			time.Sleep(time.Second)
		}, imapconn.TLSFailed},
		{"LOGINDISABLED and no PLAIN", imapconn.TLSNone, func(c net.Conn) {
			io.WriteString(c, "* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] hi\r\n")
			time.Sleep(time.Second)
		}, imapconn.NotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := fakeServer(t, tt.script)
			ep.TLS = tt.mode
			start := time.Now()
			_, err := Dial(context.Background(), ep, cred)
			wantKind(t, tt.name, err, tt.want)
			if strings.Contains(err.Error(), cred.Password) {
				t.Fatalf("password in %v", err)
			}
			if time.Since(start) > 2500*time.Millisecond {
				t.Errorf("took %v despite a 2 s dial timeout", time.Since(start))
			}
		})
	}
}

func TestDialRefusesBadEndpoints(t *testing.T) {
	for _, ep := range []imapconn.Endpoint{{Host: "x", TLS: "SSL"}, {TLS: imapconn.TLSNone}, {Host: "x", Port: 70000}} {
		if _, err := Dial(context.Background(), ep, imapconn.Credentials{Login: "a"}); imapconn.KindOf(err) != imapconn.ProtocolError {
			t.Errorf("%+v: %v", ep, err)
		}
	}
	ep := imapconn.Endpoint{Host: "127.0.0.1", Port: 1, CAPEM: []byte("not pem")}
	if _, err := Dial(context.Background(), ep, imapconn.Credentials{Login: "a"}); imapconn.KindOf(err) != imapconn.TLSFailed {
		t.Errorf("bad CA bundle: %v", err)
	}
	if _, err := Dial(context.Background(), imapconn.Endpoint{Host: "127.0.0.1"}, imapconn.Credentials{}); imapconn.KindOf(err) != imapconn.ProtocolError {
		t.Errorf("no login: %v", err)
	}
	if got := (imapconn.Endpoint{Host: "h", TLS: imapconn.TLSImplicit}).Address(); got != "h:993" {
		t.Errorf("Address = %q", got)
	}
	if got := (imapconn.Endpoint{Host: "::1"}).Address(); got != "[::1]:143" {
		t.Errorf("Address = %q", got)
	}
}
