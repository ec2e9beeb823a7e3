// Package outlookprofile writes the files an administrator pushes to the desks of one mailbox's user, so that
// Outlook works with the mailshift connector without anyone typing a host name:
//
//   - outlook.prf, an Outlook profile file in the format of the Office Customization Tool (Outlook
//     2007–2024, `outlook.exe /importprf FILE`; Microsoft's "Customize Outlook profiles by using an Outlook
//     Profile (PRF) file"). It creates the profile, or extends the default one, with the connector's message
//     service (connectorsettings.ServiceName) and its settings, and with an Internet Mail account that sends
//     through the server's SMTP submission port (RFC 6409, RFC 8314). It never holds a password: the person
//     types it in the connector's settings dialog.
//   - freebusy.reg, a registry file setting Outlook's Internet free/busy search path ("Read URL" under
//     HKEY_CURRENT_USER\Software\Microsoft\Office\<version>\Outlook\Options\Calendar\Internet Free/Busy),
//     for `reg import FILE` or `regedit /s FILE`.
//
// Both are UTF-16LE with a byte order mark and CRLF line ends, which is how Windows writes Unicode INI and
// registry files: Windows' profile-string functions, which read PRF files, take any other file in the desk's
// ANSI code page, so a person's name with an accent would arrive garbled; regedit writes exactly this form
// ("Windows Registry Editor Version 5.00") and every Windows since 2000 imports it.
//
// Every value is checked before anything is written (connectorsettings.Settings.Normalize for the
// connector's settings, the same rules for the rest), and refused with a *connectorsettings.FieldError
// naming the PRF key, rather than written in a form a reader could take for more than one value: no line
// breaks or other control characters, no ';' (the INI comment character), no blanks or quotes at either
// end (Windows trims and unquotes values). So no setting can add a key or a section.
//
// ParsePRF and ParseReg read both files back, strictly: they are what tests and `mailshift client-config`
// check the files with.
package outlookprofile

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"maps"
	"slices"

	"github.com/mailshift/mailshift/internal/connectorsettings"
)

// File names, as the operator keeps them in a Mailbox's ConfigMap and `mailshift client-config` writes them.
const (
	PRFFile      = "outlook.prf"
	FreeBusyFile = "freebusy.reg"
)

// DefaultProfileName is the profile a PRF creates when the desk has none: the name Outlook itself gives its
// first profile.
const DefaultProfileName = "Outlook"

// Submission is the SMTP submission server the Internet Mail account sends through.
type Submission struct {
	Host string
	// Port 0 means the TLS mode's default: 587, or 465 with implicit TLS.
	Port int
	// TLS is connectorsettings.TLSStartTLS (the default), TLSImplicit or TLSNone (only with AllowPlaintext).
	TLS            string
	AllowPlaintext bool
	// Login is the SMTP AUTH user name; the password is typed at the desk.
	Login string
}

// Profile is what the files say for one mailbox.
type Profile struct {
	// Name of the Outlook profile created when the desk has no default profile to extend; "" means
	// DefaultProfileName.
	Name string
	// Connector are the message service's settings; its FreeBusySearchURL, when set, is also what the
	// registry file sets.
	Connector connectorsettings.Settings
	// Submission is where the Internet Mail account sends from Connector.Address.
	Submission Submission
	// DisplayName is the person's name on the mail they send ("Your Name" in Outlook); optional.
	DisplayName string
}

// Files are the rendered files. FreeBusyReg is nil when the profile has no free/busy search URL.
type Files struct {
	PRF         []byte
	FreeBusyReg []byte
}

// Map returns the files by name, as a ConfigMap holds them.
func (f Files) Map() map[string][]byte {
	m := map[string][]byte{PRFFile: f.PRF}
	if f.FreeBusyReg != nil {
		m[FreeBusyFile] = f.FreeBusyReg
	}
	return m
}

// Hash identifies the content of a set of files: "sha256:" and the hex digest of each name and content, in
// name order, each preceded by its length so that no two sets run together into the same bytes.
func Hash(files map[string][]byte) string {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		for _, part := range [][]byte{[]byte(name), files[name]} {
			h.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(part))))
			h.Write(part)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Render checks p and writes its files.
func Render(p Profile) (Files, error) {
	prf, err := RenderPRF(p)
	if err != nil {
		return Files{}, err
	}
	f := Files{PRF: prf}
	if url := p.Connector.FreeBusySearchURL; url != "" {
		if f.FreeBusyReg, err = RenderFreeBusyReg(url); err != nil {
			return Files{}, err
		}
	}
	return f, nil
}
