package imapconn

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestBoundedReaderFollowsLiterals: literals inside a response are not mistaken for lines (a literal
// may hold CRLFs and braces) and a response ends at the first line that announces no literal.
func TestBoundedReaderFollowsLiterals(t *testing.T) {
	stream := "* 1 FETCH (BODY[] {12}\r\n{999999999}\r\n)\r\n* OK done\r\n"
	b := NewBoundedReader(strings.NewReader(stream), 64, 1<<20, false)
	if _, err := io.ReadAll(b); err != nil {
		t.Fatalf("a literal that looks like an announcement was taken for one: %v", err)
	}
	b = NewBoundedReader(strings.NewReader("* LIST () \"/\" {65}\r\n"), 64, 1<<20, false)
	if _, err := io.ReadAll(b); !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("literal over the limit accepted: %v", err)
	}
	// One response made of endless small literals is one response: no line and no literal is long, it is.
	b = NewBoundedReader(strings.NewReader("* 1 FETCH ("+strings.Repeat("BODY[] {8}\r\naaaaaaaa ", 10)), 64, 1<<20, false)
	if _, err := io.ReadAll(b); !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("a chain of literals escaped the response limit: %v", err)
	}
	// Responses that are each under the limit add up freely within the budget...
	b = NewBoundedReader(strings.NewReader(strings.Repeat("* OK a line of forty bytes, more or less\r\n", 100)), 64, 1<<20, false)
	if _, err := io.ReadAll(b); err != nil {
		t.Fatal(err)
	}
	// ...but not past it, unless the client writes in between.
	b = NewBoundedReader(strings.NewReader(strings.Repeat("* OK x\r\n", 100)), 64, 100, true)
	if _, err := io.ReadAll(b); !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("budget not enforced: %v", err)
	}
}

// TestCaps: capabilities are matched case-insensitively, with the implied ones.
func TestCaps(t *testing.T) {
	c := ParseCaps(strings.Fields("imap4rev1 LITERAL+ qresync AUTH=PLAIN auth=xoauth2 RIGHTS=texk"))
	for _, want := range []string{"IMAP4rev1", "literal-", "CONDSTORE", "QRESYNC", "AUTH=PLAIN"} {
		if !c.Has(want) {
			t.Errorf("Has(%q) false", want)
		}
	}
	for _, not := range []string{"MOVE", "IDLE", "AUTH=LOGIN", "LITERAL"} {
		if c.Has(not) {
			t.Errorf("Has(%q) true", not)
		}
	}
	if v, ok := c.Value("rights"); !ok || v != "TEXK" {
		t.Errorf("RIGHTS = %q %v", v, ok)
	}
	if got := strings.Join(c.AuthMechanisms(), ","); got != "PLAIN,XOAUTH2" {
		t.Errorf("mechanisms %s", got)
	}
	if got := strings.Join(c.List(), " "); got != "AUTH=PLAIN AUTH=XOAUTH2 IMAP4rev1 LITERAL+ QRESYNC RIGHTS=TEXK" {
		t.Errorf("list %s", got)
	}
	rev2 := ParseCaps([]string{"IMAP4rev2"})
	if !rev2.Has("MOVE") || !rev2.Has("UIDPLUS") || rev2.Has("QRESYNC") {
		t.Error("IMAP4rev2 implications")
	}
}

// TestParseReply: the handshake's responses are split into tag, status, code and text.
func TestParseReply(t *testing.T) {
	r := parseReply("A1 NO [AUTHENTICATIONFAILED] Authentication failed.")
	if r.tag != "A1" || r.status != "NO" || r.code != "AUTHENTICATIONFAILED" || r.text != "Authentication failed." {
		t.Errorf("%+v", r)
	}
	r = parseReply("* OK [CAPABILITY IMAP4rev1 SASL-IR] ready")
	if r.status != "OK" || r.code != "CAPABILITY" || r.args != "IMAP4rev1 SASL-IR" {
		t.Errorf("%+v", r)
	}
	r = parseReply("* CAPABILITY IMAP4rev1 IDLE")
	if r.kind != "CAPABILITY" || strings.Join(r.fields, " ") != "IMAP4rev1 IDLE" {
		t.Errorf("%+v", r)
	}
	if r := parseReply("+ "); r.tag != "+" {
		t.Errorf("%+v", r)
	}
	for line, want := range map[string]int64{"* LIST () \"/\" {12}": 12, "x {3+}": 3, "no literal": -1, "{}": -1} {
		n, ok := literalAtEnd(line)
		if ok != (want >= 0) || ok && n != want {
			t.Errorf("literalAtEnd(%q) = %d %v", line, n, ok)
		}
	}
}

// TestClassifyStatus: one table for both front ends.
func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		status, code, text string
		ph                 Phase
		want               Kind
	}{
		{"NO", "", "Login failed", PhaseAuth, AuthenticationFailed},
		{"BAD", "", "Unknown authentication mechanism", PhaseAuth, NotSupported},
		{"NO", "OVERQUOTA", "Quota exceeded", PhaseCommand, PermissionDenied},
		{"NO", "", "Over quota", PhaseCommand, PermissionDenied},
		{"NO", "TRYCREATE", "", PhaseCommand, NotFound},
		{"NO", "TOOBIG", "message too big", PhaseCommand, ProtocolError},
		{"NO", "UNAVAILABLE", "", PhaseAuth, Unreachable},
		{"BYE", "", "shutting down", PhaseCommand, Unreachable},
		{"BAD", "", "Unknown command FOO", PhaseCommand, NotSupported},
		{"NO", "", "Mailbox does not exist", PhaseCommand, NotFound},
		{"no", "noperm", "x", PhaseCommand, PermissionDenied},
	}
	for _, tt := range tests {
		if got := ClassifyStatus(tt.status, tt.code, tt.text, tt.ph); got != tt.want {
			t.Errorf("%s [%s] %s: %s, want %s", tt.status, tt.code, tt.text, got, tt.want)
		}
	}
	if KindOf(&StatusError{Status: "NO", Code: "NONEXISTENT"}) != NotFound {
		t.Error("a StatusError is classified by its code")
	}
}

// FuzzParseReply: the handshake's response splitting and literal recognition take any line.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"A1 OK [CAPABILITY IMAP4rev1] done", "* 3 EXISTS", "+ ", "* OK [", "* LIST () \"/\" {12}", "{99999999999999999999}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r := parseReply(line)
		if r.status != "" && r.kind != "" {
			t.Fatalf("%q is both a status and data", line)
		}
		if n, ok := literalAtEnd(line); ok && n < 0 {
			t.Fatalf("negative literal in %q", line)
		}
		ParseCaps(strings.Fields(line)).Has("IMAP4rev2")
	})
}
