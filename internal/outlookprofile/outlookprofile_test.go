package outlookprofile

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/mailshift/mailshift/internal/connectorsettings"
	"github.com/mailshift/mailshift/internal/oracle"
)

const searchURL = "ftp://fb.example.com/pub/calendar/%NAME%.vfb"

func alice() Profile {
	return Profile{
		Connector:   connectorsettings.Settings{Host: "imap.example.com", Login: "alice", Address: "alice@example.com"},
		DisplayName: "Alice Müller",
	}
}

// wantSections are the sections every PRF has, in the Office Customization Tool's order.
var wantSections = []string{"General", "Service List", "Internet Account List", "Service1", "Account1",
	"mailshift IMAP Connector", "Microsoft Outlook Client", "I_Mail"}

func sectionNames(f *INI) []string {
	var names []string
	for _, s := range f.Sections {
		names = append(names, s.Name)
	}
	return names
}

func mustSection(t *testing.T, f *INI, name string) map[string]string {
	t.Helper()
	s, ok := f.Section(name)
	if !ok {
		t.Fatalf("no [%s] in %v", name, sectionNames(f))
	}
	return s.Map()
}

// TestRenderPRF: the PRF read back holds every section Outlook needs and the mailbox's values, for each
// TLS mode and submission setting.
func TestRenderPRF(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*Profile)
		service map[string]string // [Service1] besides UniqueService and OverwriteExistingService
		smtp    map[string]string // [Account1]'s SMTP keys
	}{
		{"defaults: STARTTLS on 143, submission on 587", func(*Profile) {},
			map[string]string{"Host": "imap.example.com", "Port": "143", "TLS": "starttls", "AllowPlaintext": "false", "Login": "alice", "EmailAddress": "alice@example.com"},
			map[string]string{"SMTPServer": "imap.example.com", "SMTPPort": "587", "SMTPSecureConnection": "2", "SMTPUserName": "alice"}},
		{"implicit TLS, submission on 465 is implicit too", func(p *Profile) {
			p.Connector.TLS = "Implicit"
			p.Submission = Submission{Host: "smtp.example.com", Port: 465}
		},
			map[string]string{"Host": "imap.example.com", "Port": "993", "TLS": "implicit", "AllowPlaintext": "false", "Login": "alice", "EmailAddress": "alice@example.com"},
			map[string]string{"SMTPServer": "smtp.example.com", "SMTPPort": "465", "SMTPSecureConnection": "1", "SMTPUserName": "alice"}},
		{"implicit submission without a port", func(p *Profile) {
			p.Connector.Port = 10993
			p.Connector.TLS = connectorsettings.TLSImplicit
			p.Submission = Submission{TLS: connectorsettings.TLSImplicit, Login: "alice@example.com"}
		},
			map[string]string{"Host": "imap.example.com", "Port": "10993", "TLS": "implicit", "AllowPlaintext": "false", "Login": "alice", "EmailAddress": "alice@example.com"},
			map[string]string{"SMTPServer": "imap.example.com", "SMTPPort": "465", "SMTPSecureConnection": "1", "SMTPUserName": "alice@example.com"}},
		{"plaintext where allowed", func(p *Profile) {
			p.Connector.TLS, p.Connector.AllowPlaintext = connectorsettings.TLSNone, true
			p.Submission = Submission{Port: 25, TLS: connectorsettings.TLSNone, AllowPlaintext: true}
		},
			map[string]string{"Host": "imap.example.com", "Port": "143", "TLS": "none", "AllowPlaintext": "true", "Login": "alice", "EmailAddress": "alice@example.com"},
			map[string]string{"SMTPServer": "imap.example.com", "SMTPPort": "25", "SMTPSecureConnection": "0", "SMTPUserName": "alice"}},
		{"free/busy search path and a CA file", func(p *Profile) {
			p.Connector.FreeBusySearchURL = searchURL
			p.Connector.CAFile = `C:\ProgramData\mailshift\ca.pem`
		},
			map[string]string{"Host": "imap.example.com", "Port": "143", "TLS": "starttls", "AllowPlaintext": "false", "Login": "alice", "EmailAddress": "alice@example.com",
				"FreeBusySearchURL": searchURL, "CAFile": `C:\ProgramData\mailshift\ca.pem`},
			map[string]string{"SMTPServer": "imap.example.com", "SMTPPort": "587", "SMTPSecureConnection": "2", "SMTPUserName": "alice"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := alice()
			tc.edit(&p)
			files, err := Render(p)
			if err != nil {
				t.Fatal(err)
			}
			f, err := ParsePRF(files.PRF)
			if err != nil {
				t.Fatalf("the PRF does not read back: %v", err)
			}
			if got := sectionNames(f); !slices.Equal(got, wantSections) {
				t.Fatalf("sections %v, want %v", got, wantSections)
			}
			general := mustSection(t, f, "General")
			for k, v := range map[string]string{"Custom": "1", "ProfileName": "Outlook", "DefaultProfile": "Yes", "OverwriteProfile": "Append",
				"ModifyDefaultProfileIfPresent": "TRUE", "BackupProfile": "No"} {
				if general[k] != v {
					t.Errorf("[General] %s=%q, want %q", k, general[k], v)
				}
			}
			if got := mustSection(t, f, "Service List"); !maps.Equal(got, map[string]string{"ServiceX": "Microsoft Outlook Client", "Service1": "mailshift IMAP Connector"}) {
				t.Errorf("[Service List] %v", got)
			}
			if got := mustSection(t, f, "Internet Account List"); !maps.Equal(got, map[string]string{"Account1": "I_Mail"}) {
				t.Errorf("[Internet Account List] %v", got)
			}
			service := mustSection(t, f, "Service1")
			want := maps.Clone(tc.service)
			want["UniqueService"], want["OverwriteExistingService"] = "Yes", "Yes"
			if !maps.Equal(service, want) {
				t.Errorf("[Service1]\n got %v\nwant %v", service, want)
			}
			account := mustSection(t, f, "Account1")
			wantAccount := map[string]string{"UniqueService": "No", "AccountName": "alice@example.com", "EmailAddress": "alice@example.com",
				"DisplayName": "Alice Müller", "SMTPUseAuth": "1", "SMTPAuthMethod": "1", "SMTPUseSPA": "0", "ConnectionType": "0"}
			maps.Copy(wantAccount, tc.smtp)
			if !maps.Equal(account, wantAccount) {
				t.Errorf("[Account1]\n got %v\nwant %v", account, wantAccount)
			}
			if (files.FreeBusyReg != nil) != (p.Connector.FreeBusySearchURL != "") {
				t.Errorf("free/busy registry file present: %v, search URL %q", files.FreeBusyReg != nil, p.Connector.FreeBusySearchURL)
			}
		})
	}
}

// TestPRFMappings: the service's mapping section names the connector's service and maps every setting to
// its property as connectorsettings defines it; the two standard sections are Microsoft's.
func TestPRFMappings(t *testing.T) {
	files, err := Render(alice())
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParsePRF(files.PRF)
	if err != nil {
		t.Fatal(err)
	}
	mapping := mustSection(t, f, "mailshift IMAP Connector")
	types := map[uint32]string{0x0003: "PT_LONG", 0x000B: "PT_BOOLEAN", 0x001E: "PT_STRING8", 0x001F: "PT_UNICODE", 0x0102: "PT_BINARY"}
	want := map[string]string{"ServiceName": "MAILSHIFT"}
	for _, p := range connectorsettings.PRFProperties {
		want[p.Key] = fmt.Sprintf("%s,0x%04X", types[p.Type], p.ID)
	}
	if !maps.Equal(mapping, want) {
		t.Errorf("[mailshift IMAP Connector]\n got %v\nwant %v", mapping, want)
	}
	if mapping["Host"] != "PT_UNICODE,0x6700" || mapping["Port"] != "PT_LONG,0x6701" || mapping["AllowPlaintext"] != "PT_BOOLEAN,0x6703" {
		t.Errorf("mappings of Host, Port, AllowPlaintext: %v", mapping)
	}
	for k, v := range mapping {
		if strings.Contains(strings.ToLower(k), "password") || strings.Contains(v, "0x67F") {
			t.Errorf("the PRF maps a password property: %s=%s", k, v)
		}
	}
	if got := mustSection(t, f, "Microsoft Outlook Client"); got["SectionGUID"] != "0a0d020000000000c000000000000046" || len(got) != 8 {
		t.Errorf("[Microsoft Outlook Client] %v", got)
	}
	mail := mustSection(t, f, "I_Mail")
	for k, v := range map[string]string{"AccountType": "POP3", "SMTPServer": "PT_UNICODE,0x0200", "SMTPPort": "PT_LONG,0x0201",
		"SMTPSecureConnection": "PT_LONG,0x020A", "SMTPUserName": "PT_UNICODE,0x0204", "EmailAddress": "PT_UNICODE,0x000C", "DisplayName": "PT_UNICODE,0x000B"} {
		if mail[k] != v {
			t.Errorf("[I_Mail] %s=%q, want %q", k, mail[k], v)
		}
	}
}

// TestPRFEncoding: UTF-16LE with a byte order mark and CRLF, so that a name with an accent reaches Outlook
// intact; no password, nor any key for one, is ever in the file.
func TestPRFEncoding(t *testing.T) {
	p := alice()
	p.DisplayName = "Zoë 王"
	prf, err := RenderPRF(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(prf, []byte{0xFF, 0xFE}) || len(prf)%2 != 0 {
		t.Fatalf("not UTF-16LE with a byte order mark: % x", prf[:min(8, len(prf))])
	}
	units := make([]uint16, (len(prf)-2)/2)
	for i := range units {
		units[i] = uint16(prf[2+2*i]) | uint16(prf[3+2*i])<<8
	}
	text := string(utf16.Decode(units))
	if !strings.Contains(text, "\r\nDisplayName=Zoë 王\r\n") {
		t.Errorf("the display name is not in the decoded text:\n%s", text)
	}
	if strings.Count(text, "\n") != strings.Count(text, "\r\n") {
		t.Error("a line ends in LF without CR")
	}
	f, err := ParsePRF(prf)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range f.Sections {
		for _, k := range s.Keys {
			if strings.Contains(strings.ToLower(k.Name), "password") {
				t.Errorf("[%s] has a password key: %s", s.Name, k.Name)
			}
		}
	}
}

// TestPRFOracle: Python's configparser, harsher than Windows (';' is a comment anywhere, nothing twice),
// reads the same sections, keys and values as the profile says, for profiles with awkward but valid
// values.
func TestPRFOracle(t *testing.T) {
	profiles := []Profile{alice()}
	odd := alice()
	odd.Name = "Büro [2026] = new"
	odd.DisplayName = `Dr. "Al" O'Neil # 1 = [x]`
	odd.Connector.FreeBusySearchURL = "https://fb.example.com/freebusy?user=%NAME%&domain=%SERVER%#x"
	odd.Connector.Login = `a\b"c#d`
	odd.Connector.Address = "al+fb@example.com"
	profiles = append(profiles, odd)
	var docs [][]byte
	for _, p := range profiles {
		prf, err := RenderPRF(p)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, prf)
	}
	for i, res := range oracle.INI(t, docs) {
		if res.Error != "" {
			t.Fatalf("profile %d: configparser refused the PRF: %s", i, res.Error)
		}
		ours, err := ParsePRF(docs[i])
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range res.Sections {
			got = append(got, s.Name)
			mine, _ := ours.Section(s.Name)
			var theirs []Key
			for _, kv := range s.Keys {
				theirs = append(theirs, Key{kv[0], kv[1]})
			}
			if !slices.Equal(theirs, mine.Keys) {
				t.Errorf("profile %d [%s]: configparser read\n%v\nParsePRF read\n%v", i, s.Name, theirs, mine.Keys)
			}
		}
		if !slices.Equal(got, wantSections) {
			t.Errorf("profile %d: configparser read sections %v, want %v", i, got, wantSections)
		}
		account, _ := ours.Section("Account1")
		if v, _ := account.Get("DisplayName"); v != profiles[i].DisplayName {
			t.Errorf("profile %d: DisplayName read back as %q, want %q", i, v, profiles[i].DisplayName)
		}
		service, _ := ours.Section("Service1")
		if v, _ := service.Get("Login"); v != profiles[i].Connector.Login {
			t.Errorf("profile %d: Login read back as %q, want %q", i, v, profiles[i].Connector.Login)
		}
	}
}

// TestRenderRefuses: every bad value is refused before anything is written, with the PRF key it is about.
func TestRenderRefuses(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*Profile)
		field string
		why   string
	}{
		{"empty host", func(p *Profile) { p.Connector.Host = "" }, "Host", "is empty"},
		{"host with a space", func(p *Profile) { p.Connector.Host = "imap example.com" }, "Host", "not a host name"},
		{"port out of range", func(p *Profile) { p.Connector.Port = 70000 }, "Port", "not a TCP port"},
		{"plaintext without permission", func(p *Profile) { p.Connector.TLS = "none" }, "TLS", "AllowPlaintext"},
		{"non-ASCII login", func(p *Profile) { p.Connector.Login = "zoë" }, "Login", "printable ASCII"},
		{"10 KB login", func(p *Profile) { p.Connector.Login = strings.Repeat("a", 10<<10) }, "Login", "at most 1024"},
		{"no address", func(p *Profile) { p.Connector.Address = "" }, "EmailAddress", "is empty"},
		{"address that is none", func(p *Profile) { p.Connector.Address = "alice" }, "EmailAddress", "not an e-mail address"},
		{"login with ';'", func(p *Profile) { p.Connector.Login = "alice;x" }, "Login", "comment"},
		{"display name with a line break", func(p *Profile) { p.DisplayName = "Alice\r\n[Service2]" }, "DisplayName", "line break"},
		{"display name with a line separator", func(p *Profile) { p.DisplayName = "Alice\u2028Host=evil" }, "DisplayName", "line break"},
		{"display name with NEL", func(p *Profile) { p.DisplayName = "Alice\u0085Host=evil" }, "DisplayName", "line break"},
		{"display name with a comment", func(p *Profile) { p.DisplayName = "Alice ; Host=evil" }, "DisplayName", "comment"},
		{"display name with a blank at the end", func(p *Profile) { p.DisplayName = "Alice " }, "DisplayName", "blank"},
		{"display name in quotes", func(p *Profile) { p.DisplayName = `"Alice"` }, "DisplayName", "quotation mark"},
		{"10 KB display name", func(p *Profile) { p.DisplayName = strings.Repeat("x", 10<<10) }, "DisplayName", "at most 1024"},
		{"display name not UTF-8", func(p *Profile) { p.DisplayName = "Al\xffice" }, "DisplayName", "not UTF-8"},
		{"profile name with a tab", func(p *Profile) { p.Name = "Out\tlook" }, "ProfileName", "control character"},
		{"search URL with a line break", func(p *Profile) { p.Connector.FreeBusySearchURL = searchURL + "\r\n[x]" }, "FreeBusySearchURL", "line break"},
		{"search URL that is a path", func(p *Profile) { p.Connector.FreeBusySearchURL = `\\server\share\%NAME%.vfb` }, "FreeBusySearchURL", "ftp://"},
		{"search URL with a ';'", func(p *Profile) { p.Connector.FreeBusySearchURL = "http://fb.example.com/a;b/%NAME%.vfb" }, "FreeBusySearchURL", "comment"},
		{"submission host with a space", func(p *Profile) { p.Submission.Host = "smtp example.com" }, "SMTPServer", "not a host name"},
		{"submission port out of range", func(p *Profile) { p.Submission.Port = -1 }, "SMTPPort", "not a TCP port"},
		{"submission in plaintext without permission", func(p *Profile) { p.Submission.TLS = "none" }, "SMTPSecureConnection", "AllowPlaintext"},
		{"submission TLS mode unknown", func(p *Profile) { p.Submission.TLS = "ssl" }, "SMTPSecureConnection", "must be starttls"},
		{"submission login with a space", func(p *Profile) { p.Submission.Login = "alice smith" }, "SMTPUserName", "printable ASCII"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := alice()
			tc.edit(&p)
			files, err := Render(p)
			var fe *connectorsettings.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Render: %v (files %d bytes), want a FieldError", err, len(files.PRF))
			}
			if fe.Field != tc.field || !strings.Contains(fe.Reason, tc.why) {
				t.Errorf("refused as %s: %s; want %s: ...%s...", fe.Field, fe.Reason, tc.field, tc.why)
			}
			if files.PRF != nil || files.FreeBusyReg != nil {
				t.Error("files were written for a refused profile")
			}
		})
	}
}

// TestFreeBusyReg: the registry file sets Outlook's search path under 15.0 and 16.0, with %NAME% kept and
// backslashes and quotation marks escaped as regedit escapes them.
func TestFreeBusyReg(t *testing.T) {
	p := alice()
	p.Connector.FreeBusySearchURL = searchURL
	files, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := ParseReg(files.FreeBusyReg)
	if err != nil {
		t.Fatalf("the registry file does not read back: %v", err)
	}
	want := []string{
		`HKEY_CURRENT_USER\Software\Microsoft\Office\15.0\Outlook\Options\Calendar\Internet Free/Busy`,
		`HKEY_CURRENT_USER\Software\Microsoft\Office\16.0\Outlook\Options\Calendar\Internet Free/Busy`,
	}
	if len(reg.Keys) != len(want) {
		t.Fatalf("keys %+v, want %v", reg.Keys, want)
	}
	for i, k := range reg.Keys {
		if k.Path != want[i] || !slices.Equal(k.Values, []RegValue{{"Read URL", searchURL}}) {
			t.Errorf("key %d: %+v, want %s with Read URL=%s", i, k, want[i], searchURL)
		}
	}
	text := decoded(t, files.FreeBusyReg)
	if !strings.HasPrefix(text, "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software") ||
		!strings.Contains(text, "\r\n\"Read URL\"=\""+searchURL+"\"\r\n") {
		t.Errorf("registry file:\n%s", text)
	}

	escaped := (&Reg{Keys: []RegKey{{Path: `HKEY_CURRENT_USER\Software\x`, Values: []RegValue{{`a"b`, `c:\d\"e`}}}}}).Bytes()
	if got := decoded(t, escaped); !strings.Contains(got, `"a\"b"="c:\\d\\\"e"`) {
		t.Errorf("escaping: %s", got)
	}
	back, err := ParseReg(escaped)
	if err != nil || back.Keys[0].Values[0] != (RegValue{`a"b`, `c:\d\"e`}) {
		t.Errorf("escaped value read back as %+v (%v)", back, err)
	}

	for _, bad := range []string{"", "ftp://host/a\nb", "mailto:x@example.com", "http://fb.example.com/a;b"} {
		if _, err := RenderFreeBusyReg(bad); err == nil {
			t.Errorf("RenderFreeBusyReg(%q) accepted it", bad)
		}
	}
}

func decoded(t *testing.T, b []byte) string {
	t.Helper()
	s, err := decodeUTF16(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestParseRefuses: the readers refuse what Windows would read differently from what was meant.
func TestParseRefuses(t *testing.T) {
	ini := func(s string) []byte { return encodeUTF16(s) }
	prfCases := map[string][]byte{
		"no byte order mark":          []byte("[General]\r\nCustom=1\r\n"),
		"odd length":                  append(ini("[General]\r\n"), 0),
		"LF alone":                    ini("[General]\nCustom=1\r\n"),
		"CR alone":                    ini("[General]\r\nCustom=1\rHost=x\r\n"),
		"no CRLF at the end":          ini("[General]\r\nCustom=1"),
		"section twice":               ini("[General]\r\n[general]\r\n"),
		"key twice":                   ini("[General]\r\nCustom=1\r\ncustom=2\r\n"),
		"key before a section":        ini("Custom=1\r\n[General]\r\n"),
		"line without =":              ini("[General]\r\nCustom\r\n"),
		"blank after the value":       ini("[General]\r\nCustom=1 \r\n"),
		"blank before the key":        ini("[General]\r\n Custom=1\r\n"),
		"empty key":                   ini("[General]\r\n=1\r\n"),
		"broken section header":       ini("[General\r\n"),
		"unpaired surrogate":          append(ini("[General]\r\n"), 0x00, 0xD8, 0x0D, 0x00, 0x0A, 0x00),
		"surrogate low before high":   append(ini("[A]\r\n"), 0x00, 0xDC, 0x00, 0xD8, 0x0D, 0x00, 0x0A, 0x00),
		"empty section name":          ini("[]\r\n"),
		"section name with a bracket": ini("[a]b]\r\n"),
	}
	for name, data := range prfCases {
		if f, err := ParsePRF(data); err == nil {
			t.Errorf("ParsePRF accepted %s: %+v", name, f)
		}
	}
	reg := func(s string) []byte { return encodeUTF16("Windows Registry Editor Version 5.00\r\n\r\n" + s) }
	regCases := map[string][]byte{
		"no header":          encodeUTF16("[HKEY_CURRENT_USER\\x]\r\n\"a\"=\"b\"\r\n"),
		"REGEDIT4 header":    encodeUTF16("REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\x]\r\n"),
		"value before a key": reg("\"a\"=\"b\"\r\n"),
		"deleted key":        reg("[-HKEY_CURRENT_USER\\x]\r\n"),
		"key twice":          reg("[HKEY_CURRENT_USER\\x]\r\n[hkey_current_user\\X]\r\n"),
		"value twice":        reg("[HKEY_CURRENT_USER\\x]\r\n\"a\"=\"b\"\r\n\"A\"=\"c\"\r\n"),
		"DWORD":              reg("[HKEY_CURRENT_USER\\x]\r\n\"a\"=dword:00000001\r\n"),
		"unknown escape":     reg("[HKEY_CURRENT_USER\\x]\r\n\"a\"=\"b\\n\"\r\n"),
		"unclosed string":    reg("[HKEY_CURRENT_USER\\x]\r\n\"a\"=\"b\r\n"),
		"two strings":        reg("[HKEY_CURRENT_USER\\x]\r\n\"a\"=\"b\"\"c\"\r\n"),
		"default value":      reg("[HKEY_CURRENT_USER\\x]\r\n@=\"b\"\r\n"),
		"UTF-8":              []byte("Windows Registry Editor Version 5.00\r\n\r\n"),
	}
	for name, data := range regCases {
		if f, err := ParseReg(data); err == nil {
			t.Errorf("ParseReg accepted %s: %+v", name, f)
		}
	}
}

// TestHash: the hash follows the content and the names, and does not depend on map order.
func TestHash(t *testing.T) {
	a := map[string][]byte{PRFFile: []byte("x"), FreeBusyFile: []byte("y")}
	if Hash(a) != Hash(map[string][]byte{FreeBusyFile: []byte("y"), PRFFile: []byte("x")}) || !strings.HasPrefix(Hash(a), "sha256:") {
		t.Error("the same files hash differently")
	}
	for _, other := range []map[string][]byte{
		{PRFFile: []byte("x")},
		{PRFFile: []byte("x"), FreeBusyFile: []byte("z")},
		{PRFFile: []byte("xy"), FreeBusyFile: []byte("")},
		{PRFFile + "x": []byte(""), FreeBusyFile: []byte("y")},
	} {
		if Hash(other) == Hash(a) {
			t.Errorf("%v hashes like %v", other, a)
		}
	}
}

// TestProfileName: the profile created where the desk has none is named as asked, else Outlook's default.
func TestProfileName(t *testing.T) {
	for name, want := range map[string]string{"": "Outlook", "Mail (Büro)": "Mail (Büro)"} {
		p := alice()
		p.Name = name
		prf, err := RenderPRF(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := ParsePRF(prf)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustSection(t, f, "General")["ProfileName"]; got != want {
			t.Errorf("name %q: ProfileName=%q, want %q", name, got, want)
		}
	}
}
