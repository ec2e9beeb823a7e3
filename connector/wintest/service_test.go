package wintest

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	cs "github.com/mailshift/mailshift/internal/connectorsettings"
)

// hostCall is what the test host printed for one ServiceEntry call followed by a dump.
type hostCall struct {
	hr                  uint32
	setProps, delProps  int
	errText, component  string
	errOwned            string
	errContext, version string
	live                string
	nonNullUID          string
	stored              map[uint32]string
}

// script builds the test host's input.
type script struct{ b strings.Builder }

func (s *script) set(tag uint32, v any) *script {
	fmt.Fprintf(&s.b, "set\t%08X\t%v\n", tag, v)
	return s
}

func (s *script) repeat(tag uint32, c byte, n int) *script {
	fmt.Fprintf(&s.b, "repeat\t%08X\t%c\t%d\n", tag, c, n)
	return s
}

// call is ServiceEntry(context, flags) followed by a dump of the section.
func (s *script) call(context, flags uint32) *script {
	fmt.Fprintf(&s.b, "call\t%d\t0x%X\ndump\n", context, flags)
	return s
}

// masked is the script with the passwords it hands in replaced, for the test log.
func (s *script) masked() string {
	lines := strings.Split(s.b.String(), "\n")
	for i, l := range lines {
		f := strings.Split(l, "\t")
		switch {
		case len(f) >= 3 && f[0] == "set" && f[1] == fmt.Sprintf("%08X", cs.TagPassword):
			f[2] = "<password>"
		case len(f) >= 7 && f[0] == "ping":
			f[6] = "<password>"
		case len(f) >= 4 && f[0] == "ui" && f[1] == "set" && f[2] == idPassword:
			f[3] = "<password>"
		}
		lines[i] = strings.Join(f, "\t")
	}
	return strings.Join(lines, "\n")
}

func (s *script) line(fields ...string) *script {
	s.b.WriteString(strings.Join(fields, "\t") + "\n")
	return s
}

// runHostIn runs the test host of arch in w on the DLL of arch, and returns its output lines.
func runHostIn(t *testing.T, w *Wine, arch string, s *script) []string {
	t.Helper()
	r := w.RunWith(t, Loader(arch), s.b.String(), 2*time.Minute, Host(t, arch), WinPath(DLL(t, arch)))
	// The host's stdout is in text mode: msvcrt writes CRLF.
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(r.Stdout, "\r\n", "\n"), "\n"), "\n")
	if len(lines) == 0 || lines[0] != "loaded" || lines[len(lines)-1] != "done" || r.ExitCode != 0 {
		t.Fatalf("the test host did not run to the end (exit %d); stdout:\n%s\nstderr:\n%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	// The whole exchange, for `go test -v` and for a failure: the script, then what the host printed.
	t.Logf("test host script:\n%s\ntest host output:\n%s\ntest host stderr:\n%s", s.masked(), r.Stdout, r.Stderr)
	for _, l := range lines {
		if strings.HasPrefix(l, "violation") || strings.HasPrefix(l, "unknown command") {
			t.Errorf("test host: %s", l)
		}
	}
	return lines
}

// calls parses the output of a script made of calls, each followed by a dump.
func calls(t *testing.T, lines []string) []hostCall {
	t.Helper()
	var out []hostCall
	var cur *hostCall
	for _, l := range lines {
		f := strings.Split(l, "\t")
		kv := func(i int) string { return f[i][strings.IndexByte(f[i], '=')+1:] }
		switch f[0] {
		case "result":
			hr, err := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 32)
			if err != nil {
				t.Fatalf("bad result line %q", l)
			}
			out = append(out, hostCall{hr: uint32(hr), stored: map[uint32]string{}})
			cur = &out[len(out)-1]
			cur.setProps, _ = strconv.Atoi(kv(2))
			cur.delProps, _ = strconv.Atoi(kv(3))
		case "error":
			cur.errOwned, cur.version, cur.errContext, cur.errText, cur.component = kv(1), kv(2), kv(3), kv(4), kv(5)
		case "live":
			cur.live = f[1]
			if len(f) > 3 {
				cur.nonNullUID = kv(3)
			}
		case "stored":
			tag, _ := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 32)
			cur.stored[uint32(tag)] = f[2]
		}
	}
	return out
}

const (
	hrOK             = 0
	hrInvalidParam   = 0x80070057
	hrUnconfigured   = 0x8004011C
	hrLogonFailed    = 0x80040111
	hrNetworkError   = 0x80040115
	hrTimeout        = 0x80040401
	hrCallFailed     = 0x80004005
	flagUIAlways     = 0x00000002
	flagUnicode      = 0x80000000
	contextInstall   = 1
	contextCreate    = 2
	contextConfigure = 3
	contextDelete    = 4
	contextUninstall = 5
	contextProvCreat = 6
	contextProvDel   = 7
)

var string8 = func(id uint32) uint32 { return cs.Tag(id, cs.TypeString8) }

// TestServiceEntryContexts drives ServiceEntry through every context as MAPI does: CreateMsgService (CREATE with
// nothing), a PRF import (CONFIGURE with the PRF's properties), a change, DELETE; the 64-bit DLL and the 32-bit
// one (its __stdcall entry point called by the 32-bit host).
func TestServiceEntryContexts(t *testing.T) {
	for _, arch := range []string{"amd64", "386"} {
		t.Run(arch, func(t *testing.T) { testServiceEntryContexts(t, arch) })
	}
}

func testServiceEntryContexts(t *testing.T, arch string) {
	const password = "pässword-Seven7"
	s := &script{}
	s.call(contextInstall, 0)
	s.call(contextCreate, 0)                      // CreateMsgService: no settings yet
	s.call(contextConfigure, 0)                   // nothing given, nothing stored, no UI: unconfigured
	s.call(contextConfigure, flagUnicode)         // the same, error strings in UTF-16
	s.set(string8(cs.IDHost), "imap.example.org") // a PRF import: PT_STRING8 and PT_UNICODE mixed
	s.set(cs.TagTLS, "Implicit")
	s.set(cs.TagLogin, "alice.smith")
	s.set(cs.TagAddress, "älice@example.org")
	s.set(cs.TagFreeBusySearchURL, "ftp://imap.example.org/pub/calendar/%NAME%.vfb")
	s.set(cs.TagPassword, password)
	s.set(cs.Tag(0x3001, cs.TypeUnicode), "not ours: passed over") // PR_DISPLAY_NAME
	s.call(contextConfigure, 0)
	s.set(cs.TagPort, 10993) // a later change of one setting keeps the others
	s.call(contextConfigure, 0)
	s.call(contextConfigure, 0) // nothing given: everything stays
	s.set(cs.TagHost, "ui.example.org")
	s.call(contextConfigure, flagUIAlways) // no display here: the dialog cannot be shown
	s.call(contextProvCreat, 0)
	s.call(contextProvDel, 0)
	s.call(contextDelete, 0)
	s.call(contextUninstall, 0)
	got := calls(t, runHostIn(t, Prefix(t), arch, s))
	if len(got) != 12 {
		t.Fatalf("%d calls answered, want 12", len(got))
	}
	for i, c := range got {
		if c.live != "0" {
			t.Errorf("call %d: %s buffers of the caller's allocator left allocated after the error was freed", i, c.live)
		}
		if c.nonNullUID != "0" {
			t.Errorf("call %d: OpenProfileSection got a UID; the service's own section is opened with NULL", i)
		}
	}
	expectOK := func(i int, what string) {
		t.Helper()
		if got[i].hr != hrOK || got[i].errText != "" {
			t.Errorf("%s: hr 0x%08X error %q, want S_OK and no error", what, got[i].hr, got[i].errText)
		}
	}
	expectOK(0, "INSTALL")
	expectOK(1, "CREATE with nothing")
	if len(got[1].stored) != 0 || got[1].setProps != 0 {
		t.Errorf("CREATE with nothing stored %v (%d SetProps)", got[1].stored, got[1].setProps)
	}
	for i, want := range map[int]string{2: "ANSI", 3: "Unicode"} {
		c := got[i]
		if c.hr != hrUnconfigured || !strings.Contains(c.errText, "not configured") || !strings.Contains(c.errText, "Host") {
			t.Errorf("CONFIGURE of an empty section (%s): hr 0x%08X %q, want MAPI_E_UNCONFIGURED naming Host", want, c.hr, c.errText)
		}
		if c.errOwned != "yes" || c.errContext != "3" || c.version != "0" || !strings.HasPrefix(c.component, cs.DisplayName) {
			t.Errorf("the MAPIERROR (%s): owned=%s context=%s version=%s component=%q; want the caller's allocator, context 3, version 0, the service's name",
				want, c.errOwned, c.errContext, c.version, c.component)
		}
	}
	prf := got[4]
	expectOK(4, "CONFIGURE from PRF properties")
	want := map[uint32]string{
		cs.TagHost: "imap.example.org", cs.TagPort: "993", cs.TagTLS: "implicit", cs.TagAllowPlaintext: "0",
		cs.TagLogin: "alice.smith", cs.TagAddress: "älice@example.org",
		cs.TagFreeBusySearchURL: "ftp://imap.example.org/pub/calendar/%NAME%.vfb",
	}
	for tag, v := range want {
		if prf.stored[tag] != v {
			t.Errorf("after the PRF import, 0x%08X = %q, want %q", tag, prf.stored[tag], v)
		}
	}
	if prf.setProps != 1 {
		t.Errorf("the settings took %d SetProps calls, want 1 (all at once)", prf.setProps)
	}
	checkProtected(t, prf.stored, password)
	if _, ok := prf.stored[cs.Tag(0x3001, cs.TypeUnicode)]; ok {
		t.Error("a property that is not the service's was stored")
	}
	expectOK(5, "CONFIGURE of the port")
	if got[5].stored[cs.TagPort] != "10993" || got[5].stored[cs.TagHost] != "imap.example.org" || got[5].stored[cs.TagProtectedPassword] != prf.stored[cs.TagProtectedPassword] {
		t.Errorf("after changing the port: %v", got[5].stored)
	}
	expectOK(6, "CONFIGURE with nothing on a configured section")
	if len(got[6].stored) != len(got[5].stored) {
		t.Errorf("CONFIGURE with nothing changed the section: %v", got[6].stored)
	}
	if ui := got[7]; ui.hr != hrCallFailed || !strings.Contains(ui.errText, "dialog could not be shown") || ui.setProps != 0 || ui.stored[cs.TagHost] != "imap.example.org" {
		t.Errorf("CONFIGURE with SERVICE_UI_ALWAYS and no display: hr 0x%08X %q, %d SetProps, host %q; want the dialog tried, MAPI_E_CALL_FAILED, nothing stored",
			ui.hr, ui.errText, ui.setProps, ui.stored[cs.TagHost])
	}
	expectOK(8, "PROVIDER_CREATE")
	expectOK(9, "PROVIDER_DELETE")
	expectOK(10, "DELETE")
	if len(got[10].stored) != 0 {
		t.Errorf("DELETE left %v", got[10].stored)
	}
	expectOK(11, "UNINSTALL")
}

// checkProtected asserts the password is stored only in its protected property, in no readable form.
func checkProtected(t *testing.T, stored map[uint32]string, password string) {
	t.Helper()
	blob, err := hex.DecodeString(stored[cs.TagProtectedPassword])
	if err != nil || len(blob) < 32 {
		t.Fatalf("the protected password is %q, want a DPAPI blob", stored[cs.TagProtectedPassword])
	}
	utf16le := func(s string) []byte {
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}
	for tag, v := range stored {
		raw, _ := hex.DecodeString(v)
		for _, form := range [][]byte{[]byte(password), utf16le(password), []byte("cMOkc3N3b3Jk")} {
			if strings.Contains(v, string(form)) || (raw != nil && strings.Contains(string(raw), string(form))) {
				t.Errorf("property 0x%08X holds the password in a readable form", tag)
			}
		}
	}
	if _, ok := stored[cs.TagPassword]; ok {
		t.Error("the password was stored under the property it is handed in with")
	}
}

// TestServiceEntryRefusesBadInput: each bad setting is refused with MAPI_E_INVALID_PARAMETER, a MAPIERROR that
// names it, and nothing stored or removed.
func TestServiceEntryRefusesBadInput(t *testing.T) {
	good := func(s *script) {
		s.set(cs.TagHost, "imap.example.org").set(cs.TagLogin, "alice")
	}
	cases := []struct {
		name, field string
		add         func(*script)
	}{
		{"empty host", "Host", func(s *script) { s.set(cs.TagLogin, "alice").line("set", fmt.Sprintf("%08X", cs.TagHost), "") }},
		{"host with a space", "Host", func(s *script) { s.set(cs.TagLogin, "alice").set(cs.TagHost, "imap example.org") }},
		{"port above 65535", "Port", func(s *script) { good(s); s.set(cs.TagPort, 70000) }},
		{"port 0", "Port", func(s *script) { good(s); s.set(cs.TagPort, 0) }},
		{"port negative", "Port", func(s *script) { good(s); s.set(cs.TagPort, -143) }},
		{"port as text", "Port", func(s *script) { good(s); s.set(cs.Tag(cs.IDPort, cs.TypeUnicode), "imap") }},
		{"plaintext without permission", "TLS", func(s *script) { good(s); s.set(cs.TagTLS, "none") }},
		{"unknown TLS mode", "TLS", func(s *script) { good(s); s.set(cs.TagTLS, "ssl3") }},
		{"non-ASCII login", "Login", func(s *script) { s.set(cs.TagHost, "imap.example.org").set(cs.TagLogin, "jürgen") }},
		{"login with a space", "Login", func(s *script) { s.set(cs.TagHost, "imap.example.org").set(cs.TagLogin, "a b") }},
		{"10 KB host (PT_UNICODE)", "Host", func(s *script) { s.set(cs.TagLogin, "alice").repeat(cs.TagHost, 'a', 10240) }},
		{"10 KB address (PT_STRING8)", "EmailAddress", func(s *script) { good(s); s.repeat(string8(cs.IDAddress), 'b', 10240) }},
		{"10 KB password", "Password", func(s *script) { good(s); s.repeat(cs.TagPassword, 'p', 10240) }},
		{"host as a number", "Host", func(s *script) { s.set(cs.Tag(cs.IDHost, cs.TypeLong), 7) }},
		{"not an address", "EmailAddress", func(s *script) { good(s); s.set(cs.TagAddress, "alice at example.org") }},
		{"free/busy URL not a URL", "FreeBusySearchURL", func(s *script) { good(s); s.set(cs.TagFreeBusySearchURL, "file:///etc/passwd") }},
	}
	s := &script{}
	// A configured section first: a refused CONFIGURE must leave it as it was.
	s.set(cs.TagHost, "kept.example.org").set(cs.TagLogin, "kept").set(cs.TagPassword, "kept-password").call(contextConfigure, 0)
	for _, c := range cases {
		c.add(s)
		s.call(contextConfigure, 0)
	}
	// Plaintext with permission is accepted: the refusal above is about permission, not the mode.
	good(s)
	s.set(cs.TagTLS, "none").set(cs.TagAllowPlaintext, 1).call(contextConfigure, 0)
	// Both DLLs: the 32-bit one reads the same property arrays with 4-byte pointers.
	for _, arch := range []string{"amd64", "386"} {
		t.Run(arch, func(t *testing.T) {
			got := calls(t, runHostIn(t, Prefix(t), arch, s))
			if len(got) != len(cases)+2 {
				t.Fatalf("%d calls answered, want %d", len(got), len(cases)+2)
			}
			before := got[0].stored
			if got[0].hr != hrOK || before[cs.TagHost] != "kept.example.org" {
				t.Fatalf("the first CONFIGURE: hr 0x%08X, stored %v", got[0].hr, before)
			}
			for i, c := range cases {
				r := got[i+1]
				t.Run(c.name, func(t *testing.T) {
					if r.hr != hrInvalidParam {
						t.Errorf("hr 0x%08X, want MAPI_E_INVALID_PARAMETER", r.hr)
					}
					if r.errOwned != "yes" || !strings.Contains(r.errText, c.field) || !strings.Contains(r.errText, "nothing was stored") {
						t.Errorf("error %q (owned=%s), want one from the caller's allocator naming %s and saying nothing was stored", r.errText, r.errOwned, c.field)
					}
					if r.setProps != 0 || r.delProps != 0 || fmt.Sprint(r.stored) != fmt.Sprint(before) {
						t.Errorf("the refused settings changed the section: %d SetProps, %d DeleteProps, now %v", r.setProps, r.delProps, r.stored)
					}
					if strings.Contains(r.errText, "kept-password") {
						t.Error("the error text holds the password")
					}
				})
			}
			last := got[len(got)-1]
			if last.hr != hrOK || last.stored[cs.TagTLS] != "none" || last.stored[cs.TagAllowPlaintext] != "1" || last.stored[cs.TagPort] != "143" {
				t.Errorf("plaintext with permission: hr 0x%08X (%s), stored %v", last.hr, last.errText, last.stored)
			}
		})
	}
}
