package mapisvc

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/connectorsettings"
)

// outlookINF is shaped like the MAPISVC.INF an Outlook installs: CRLF, comments, other services' sections, and
// a display name in the ANSI code page (Windows-1252 "ö"), which is not UTF-8.
const outlookINF = ";\r\n; MAPISVC.INF\r\n;\r\n" +
	"[Services]\r\n" +
	"MSEMS=Microsoft Exchange Server\r\n" +
	"MSPST MS=Pers\xf6nliche Ordner\r\n" +
	"CONTAB=Outlook Address Book\r\n" +
	"\r\n" +
	"[Help File Mappings]\r\n" +
	"MAPI=MAPI.HLP\r\n" +
	"\r\n" +
	"; the personal folders\r\n" +
	"[MSPST MS]\r\n" +
	"Providers=MSPST MSP\r\n" +
	"PR_SERVICE_DLL_NAME=mspst.dll\r\n" +
	"PR_SERVICE_ENTRY_NAME=PSTServiceEntry\r\n" +
	"PR_RESOURCE_FLAGS=SERVICE_NO_PRIMARY_IDENTITY\r\n" +
	"\r\n" +
	"[MSPST MSP]\r\n" +
	"PR_PROVIDER_DLL_NAME=mspst.dll\r\n" +
	"PR_RESOURCE_TYPE=MAPI_STORE_PROVIDER\r\n"

const testDLL = `C:\Program Files\mailshift\Outlook Connector\mailshift.dll`

func ourSection(dll, eol string) string {
	return strings.Join([]string{
		"[MAILSHIFT]",
		"PR_DISPLAY_NAME=mailshift IMAP Connector",
		"PR_SERVICE_DLL_NAME=" + dll,
		"PR_SERVICE_SUPPORT_FILES=" + dll,
		"PR_SERVICE_ENTRY_NAME=ServiceEntry",
		"PR_RESOURCE_FLAGS=SERVICE_SINGLE_COPY|SERVICE_NO_PRIMARY_IDENTITY",
		"Providers=",
	}, eol) + eol
}

func mustAdd(t *testing.T, file, dll string) string {
	t.Helper()
	out, err := Add([]byte(file), Fragment{DLLPath: dll})
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	return string(out)
}

func mustRemove(t *testing.T, file string) string {
	t.Helper()
	out, err := Remove([]byte(file))
	if err != nil {
		t.Fatalf("Remove: %v", err)
	}
	return string(out)
}

func TestAddToOutlookFile(t *testing.T) {
	got := mustAdd(t, outlookINF, testDLL)
	want := strings.Replace(outlookINF, "CONTAB=Outlook Address Book\r\n",
		"CONTAB=Outlook Address Book\r\nMAILSHIFT=mailshift IMAP Connector\r\n", 1) + "\r\n" + ourSection(testDLL, "\r\n")
	if got != want {
		t.Fatalf("Add:\n%q\nwant\n%q", got, want)
	}
	if again := mustAdd(t, got, testDLL); again != got {
		t.Errorf("adding twice changed the file:\n%q", again)
	}
	if back := mustRemove(t, got); back != outlookINF {
		t.Errorf("Remove did not restore the original:\n%q", back)
	}
	if back := mustRemove(t, outlookINF); back != outlookINF {
		t.Errorf("Remove changed a file without the service:\n%q", back)
	}
}

func TestAddWithAnotherDLLPathReplacesOurLines(t *testing.T) {
	const other = `D:\Apps\mailshift\mailshift.dll`
	first := mustAdd(t, outlookINF, testDLL)
	second := mustAdd(t, first, other)
	if want := strings.Replace(first, testDLL, other, -1); second != want {
		t.Fatalf("re-adding with another path:\n%q\nwant\n%q", second, want)
	}
	if back := mustRemove(t, second); back != outlookINF {
		t.Errorf("Remove after re-adding:\n%q", back)
	}
}

// TestRoundTrips adds to and removes from files of every shape the service can meet: each must come back byte
// for byte, and adding must be idempotent.
func TestRoundTrips(t *testing.T) {
	for name, file := range map[string]string{
		"empty":                      "",
		"one blank line":             "\r\n",
		"no Services section":        "[Other]\r\nA=1\r\n",
		"no Services, unterminated":  "[Other]\r\nA=1",
		"LF line endings":            "[Services]\nA=x\n\n[A]\nK=v\n",
		"unterminated last entry":    "[Services]\r\nA=x",
		"unterminated header":        "[Services]",
		"empty Services at the end":  "[X]\r\n[Services]\r\n",
		"Services with comment tail": "[Services]\r\nA=x\r\n; next\r\n\r\n[A]\r\n",
		"blanks around names":        "  [ services ]  \r\n A = x \r\n",
		"trailing blank lines":       "[Services]\r\nA=x\r\n\r\n\r\n",
		"mixed endings":              "[Services]\nA=x\r\nB=y\r",
		"lone CR at end":             "A\r",
		"lines before any section":   "MAILSHIFT=not in a section\r\n[Services]\r\n",
		"two Services sections":      "[Services]\r\nA=x\r\n[Services]\r\nB=y\r\n",
		"comment key like ours":      "[Services]\r\n;MAILSHIFT=commented out\r\n",
		"ours in another section":    "[Other]\r\nMAILSHIFT=x\r\n[Services]\r\nA=x\r\n",
		"bracket without close":      "[Services\r\nA=x\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			added := mustAdd(t, file, testDLL)
			if again := mustAdd(t, added, testDLL); again != added {
				t.Errorf("adding twice:\n%q\nonce:\n%q", again, added)
			}
			if back := mustRemove(t, added); back != file {
				t.Errorf("Remove(Add(%q)) = %q\nAdd gave %q", file, back, added)
			}
			checkReadsOurs(t, added)
		})
	}
}

func TestPlacement(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"empty file", "",
			ourSection(testDLL, "\r\n") + "\r\n[Services]\r\nMAILSHIFT=mailshift IMAP Connector\r\n"},
		{"entry after the last entry, before the blank and comment lines", "[Services]\nA=x\n\n; B\n[B]\n",
			"[Services]\nA=x\nMAILSHIFT=mailshift IMAP Connector\n\n; B\n[B]\n\n" + ourSection(testDLL, "\n")},
		{"existing entry replaced in place", "[Services]\r\nA=x\r\nmailshift = old\r\nB=y\r\n",
			"[Services]\r\nA=x\r\nMAILSHIFT=mailshift IMAP Connector\r\nB=y\r\n\r\n" + ourSection(testDLL, "\r\n")},
		{"existing section replaced in place", "[MAILSHIFT]\r\nPR_SERVICE_DLL_NAME=old.dll\r\nOld=1\r\n\r\n[Services]\r\n",
			ourSection(testDLL, "\r\n") + "\r\n[Services]\r\nMAILSHIFT=mailshift IMAP Connector\r\n"},
		{"duplicates of ours dropped", "[Services]\r\nMAILSHIFT=a\r\n[MAILSHIFT]\r\nX=1\r\n[Services]\r\nMAILSHIFT=b\r\n[mailshift]\r\nY=2\r\n",
			"[Services]\r\nMAILSHIFT=mailshift IMAP Connector\r\n" + ourSection(testDLL, "\r\n") + "[Services]\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustAdd(t, tc.file, testDLL); got != tc.want {
				t.Errorf("Add(%q):\n%q\nwant\n%q", tc.file, got, tc.want)
			}
		})
	}
}

func TestRemoveTakesOutWhatOthersWrote(t *testing.T) {
	file := "[Services]\r\nA=x\r\nMAILSHIFT=by hand\r\n\r\n[MAILSHIFT]\r\nPR_SERVICE_DLL_NAME=x.dll\r\n\r\n[A]\r\nK=v\r\n"
	if got, want := mustRemove(t, file), "[Services]\r\nA=x\r\n\r\n\r\n[A]\r\nK=v\r\n"; got != want {
		t.Errorf("Remove:\n%q\nwant\n%q", got, want)
	}
}

func TestRefusesWhatIsNotMAPISVC(t *testing.T) {
	for name, file := range map[string][]byte{
		"too large": bytes.Repeat([]byte("; padding\r\n"), MaxFileSize/11+1),
		"UTF-16":    []byte("\xff\xfe[\x00S\x00"),
	} {
		if _, err := Add(file, Fragment{DLLPath: testDLL}); !errors.Is(err, ErrNotMAPISVC) {
			t.Errorf("Add of %s: %v, want ErrNotMAPISVC", name, err)
		}
		if _, err := Remove(file); !errors.Is(err, ErrNotMAPISVC) {
			t.Errorf("Remove of %s: %v, want ErrNotMAPISVC", name, err)
		}
	}
	if _, err := Add(make([]byte, MaxFileSize), Fragment{DLLPath: testDLL}); !errors.Is(err, ErrNotMAPISVC) {
		t.Errorf("Add of %d NUL bytes: %v", MaxFileSize, err)
	}
}

func TestFragmentFor(t *testing.T) {
	for in, want := range map[string]string{
		`C:\Program Files\mailshift\Outlook Connector\mailshift32.dll`:       `C:\Program Files\mailshift\Outlook Connector\mailshift.dll`,
		`C:\Program Files (x86)\mailshift\Outlook Connector\MAILSHIFT32.DLL`: `C:\Program Files (x86)\mailshift\Outlook Connector\MAILSHIFT.DLL`,
		`mailshift32.dll`: `mailshift.dll`,
	} {
		f, err := FragmentFor(in)
		if err != nil || f.DLLPath != want {
			t.Errorf("FragmentFor(%q) = %q, %v; want %q", in, f.DLLPath, err, want)
		}
	}
	for _, bad := range []string{
		`C:\Program Files\mailshift\mailshift.dll`,          // MAPI would look for mailshift32.dll
		`C:\Program Files\mail.shift\mailshift32.dll`,       // a period before the extension's
		"C:\\Programme\\Gesch\xe4ft\\mailshift32.dll",       // not ASCII (Windows-1252)
		"C:\\Program Files\\\u00e9t\u00e9\\mailshift32.dll", // not ASCII
		`C:\a,b\mailshift32.dll`,                            // would split PR_SERVICE_SUPPORT_FILES
		"C:\\x\r\n[Services]\\mailshift32.dll",
		`32.dll`,
		``,
	} {
		if f, err := FragmentFor(bad); err == nil {
			t.Errorf("FragmentFor(%q) = %q, want an error", bad, f.DLLPath)
		}
	}
	if _, err := Add(nil, Fragment{DLLPath: "x.y.dll"}); err == nil {
		t.Error("Add accepted a DLL path with two periods")
	}
}

func TestFragmentFile(t *testing.T) {
	f := Fragment{DLLPath: testDLL}
	want := "[Services]\r\nMAILSHIFT=mailshift IMAP Connector\r\n\r\n" + ourSection(testDLL, "\r\n")
	if got := string(f.File()); got != want {
		t.Errorf("File:\n%q\nwant\n%q", got, want)
	}
	checkReadsOurs(t, string(f.File()))
}

// profileValue reads a value the way GetPrivateProfileString does: the first section of that name, the first
// key of that name in it, names compared without regard to case, blanks around them ignored. It is written
// apart from the package's own parser so that the two check each other.
func profileValue(file, sectionName, key string) (string, bool) {
	in := false
	for _, raw := range strings.Split(file, "\n") {
		l := strings.Trim(strings.TrimSuffix(raw, "\r"), " \t")
		if strings.HasPrefix(l, "[") {
			if end := strings.Index(l, "]"); end > 0 {
				if in {
					return "", false
				}
				in = strings.EqualFold(strings.Trim(l[1:end], " \t"), sectionName)
				continue
			}
		}
		if !in || strings.HasPrefix(l, ";") {
			continue
		}
		if k, v, ok := strings.Cut(l, "="); ok && strings.EqualFold(strings.Trim(k, " \t"), key) {
			return strings.Trim(v, " \t"), true
		}
	}
	return "", false
}

// checkReadsOurs checks what MAPI reads from a file Add wrote.
func checkReadsOurs(t *testing.T, file string) {
	t.Helper()
	for _, kv := range [][3]string{
		{"Services", connectorsettings.ServiceName, connectorsettings.DisplayName},
		{connectorsettings.ServiceName, "PR_DISPLAY_NAME", connectorsettings.DisplayName},
		{connectorsettings.ServiceName, "PR_SERVICE_DLL_NAME", testDLL},
		{connectorsettings.ServiceName, "PR_SERVICE_SUPPORT_FILES", testDLL},
		{connectorsettings.ServiceName, "PR_SERVICE_ENTRY_NAME", "ServiceEntry"},
		{connectorsettings.ServiceName, "PR_RESOURCE_FLAGS", "SERVICE_SINGLE_COPY|SERVICE_NO_PRIMARY_IDENTITY"},
		{connectorsettings.ServiceName, "Providers", ""},
	} {
		if v, ok := profileValue(file, kv[0], kv[1]); !ok || v != kv[2] {
			t.Errorf("[%s] %s = %q (found %v), want %q, in\n%q", kv[0], kv[1], v, ok, kv[2], file)
		}
	}
}
