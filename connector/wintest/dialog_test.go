package wintest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	cs "github.com/mailshift/mailshift/internal/connectorsettings"
	"github.com/mailshift/mailshift/internal/testserver"
)

// Control IDs of the settings dialog (connector/resource.h).
const (
	idOK       = "1"
	idCancel   = "2"
	idHost     = "101"
	idPort     = "102"
	idLogin    = "105"
	idPassword = "106"
	idCAFile   = "109"
	idPing     = "110"
)

// TestSettingsDialog works the settings dialog as a person would, on a virtual display: it shows the stored
// settings but not the password, refuses a bad port and comes back, pings Dovecot with what is typed (a wrong
// password, then the right one), stores on OK, and changes nothing on Cancel.
func TestSettingsDialog(t *testing.T) {
	srv := testserver.Dovecot(t)
	alice := srv.Users["alice"]
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(srv.Port)
	s := &script{}
	s.set(cs.TagHost, "127.0.0.1").set(cs.TagLogin, alice.Login).set(cs.TagPassword, "an-old-password").call(contextConfigure, 0)
	s.line("ui", "read", idHost, "").line("ui", "read", idPassword, "")
	s.line("ui", "set", idPort, "70000").line("ui", "click", idOK, "").line("ui", "box", "0", "")
	s.line("ui", "set", idPort, port).line("ui", "set", idCAFile, WinPath(ca))
	s.line("ui", "set", idPassword, "not-the-password").line("ui", "click", idPing, "").line("ui", "box", "0", "")
	s.line("ui", "set", idPassword, alice.Password).line("ui", "click", idPing, "").line("ui", "box", "0", "")
	s.line("ui", "click", idOK, "")
	s.call(contextConfigure, flagUIAlways)
	s.line("pingprofile", "20")
	s.line("ui", "set", idHost, "changed.example.org").line("ui", "click", idCancel, "")
	s.call(contextConfigure, flagUIAlways)
	// Wine under Xvfb now and then shows no window at all in a test process: DialogBox fails at once with
	// ERROR_INVALID_WINDOW_HANDLE for every dialog, the parent being none. That is Wine's display, not the
	// connector: the run is tried again on a new virtual display with a fresh wineserver, and when Wine still
	// shows nothing the test is skipped, saying so, since it then cannot tell anything about the dialog.
	w := Prefix(t).WithDisplay(t)
	var lines []string
	for attempt := 1; ; attempt++ {
		lines = runHostIn(t, w, "amd64", s)
		if !strings.Contains(strings.Join(lines, "\n"), "dialog could not be shown") {
			break
		}
		if attempt == 3 {
			t.Skipf("Wine showed no window on %d virtual displays in a row (DialogBox failed); the settings dialog was not tested:\n%s",
				attempt, strings.Join(lines, "\n"))
		}
		t.Logf("attempt %d: Wine showed no window on the virtual display; trying again on a new one", attempt)
		w = w.NewDisplay(t)
	}
	var fields, boxes, pings []string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "field\t"):
			fields = append(fields, l)
		case strings.HasPrefix(l, "box\t"):
			boxes = append(boxes, l)
		case strings.HasPrefix(l, "ping\t"):
			pings = append(pings, l)
		case strings.HasPrefix(l, "ui\t"):
			t.Errorf("dialog automation: %s", l)
		}
	}
	got := calls(t, lines)
	if len(got) != 3 || len(boxes) != 3 || len(fields) != 2 || len(pings) != 1 {
		t.Fatalf("%d calls, %d message boxes, %d fields read, %d pings; want 3, 3, 2, 1:\n%s", len(got), len(boxes), len(fields), len(pings), strings.Join(lines, "\n"))
	}
	if fields[0] != "field\t101\t127.0.0.1" || fields[1] != "field\t106\t" {
		t.Errorf("the dialog showed %q and %q; want the stored host and an empty password field", fields[0], fields[1])
	}
	for i, w := range []struct{ title, text string }{
		{cs.DisplayName, "Port: 70000 is not a TCP port"},
		{"Ping Server: failed", "FAILED: logging in: AuthenticationFailed"},
		{"Ping Server: OK", "logged in to 127.0.0.1:" + port + " as alice"},
	} {
		if !strings.HasPrefix(boxes[i], "box\t"+w.title+"\t") || !strings.Contains(boxes[i], w.text) {
			t.Errorf("message box %d: %q, want %q with %q", i, boxes[i], w.title, w.text)
		}
	}
	ok := got[1]
	if ok.hr != hrOK || ok.stored[cs.TagPort] != port || ok.stored[cs.TagCAFile] != WinPath(ca) || ok.setProps != 1 {
		t.Errorf("OK in the dialog: hr 0x%08X (%s), %d SetProps, stored %v", ok.hr, ok.errText, ok.setProps, ok.stored)
	}
	if got[0].stored[cs.TagProtectedPassword] == ok.stored[cs.TagProtectedPassword] {
		t.Error("the password typed in the dialog did not replace the stored one")
	}
	checkProtected(t, ok.stored, alice.Password)
	if !strings.HasPrefix(pings[0], "ping\t0x00000000\t") {
		t.Errorf("a ping with what the dialog stored: %s", pings[0])
	}
	cancel := got[2]
	if cancel.hr != 0x80040113 || cancel.setProps != 0 || cancel.stored[cs.TagHost] != "127.0.0.1" || !strings.Contains(cancel.errText, "cancelled") {
		t.Errorf("Cancel: hr 0x%08X %q, %d SetProps, host %q; want MAPI_E_USER_CANCEL and nothing changed", cancel.hr, cancel.errText, cancel.setProps, cancel.stored[cs.TagHost])
	}
}
