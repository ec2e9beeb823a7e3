// Package connectorsettings is what the Outlook connector's message service keeps in a profile: its name in
// MAPISVC.INF and in PRF files, the MAPI property tags of its settings, and the rules a setting must pass
// before it is stored. The DLL (connector/), the MAPISVC.INF fragment and the PRF files the operator writes
// for each Mailbox all take them from here, so the three agree by construction.
package connectorsettings

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode/utf8"
)

// ServiceName is the message service's section name in MAPISVC.INF and its PRF ServiceName. MAPI compares it
// without regard to case; it never changes once released, or existing profiles lose the service.
const ServiceName = "MAILSHIFT"

// DisplayName is what Outlook shows in the account settings and the PRF's [Service List] entry.
const DisplayName = "mailshift IMAP Connector"

// MAPI property types (mapidefs.h).
const (
	TypeLong    = 0x0003 // PT_LONG
	TypeBoolean = 0x000B // PT_BOOLEAN
	TypeString8 = 0x001E // PT_STRING8
	TypeUnicode = 0x001F // PT_UNICODE
	TypeBinary  = 0x0102 // PT_BINARY
)

// Property IDs of the settings, in the range MAPI leaves to a service provider for its own non-transmittable
// properties (0x6600–0x67FF). The password's two IDs are in the secure sub-range (PROP_ID_SECURE_MIN 0x67F0 and
// up), which MAPI does not hand out in GetProps(NULL) listings.
const (
	IDHost              = 0x6700
	IDPort              = 0x6701
	IDTLS               = 0x6702
	IDAllowPlaintext    = 0x6703
	IDLogin             = 0x6704
	IDAddress           = 0x6705
	IDFreeBusySearchURL = 0x6706
	IDCAFile            = 0x6707
	// IDProtectedPassword holds the password encrypted for the Windows user (DPAPI, CryptProtectData). It is
	// the only form of the password ever stored.
	IDProtectedPassword = 0x67F0
	// IDPassword is how a caller hands the password in (PT_UNICODE). It is never stored under this ID.
	IDPassword = 0x67F1
)

// Tag is a MAPI property tag: the ID in the high word, the type in the low one.
func Tag(id, typ uint32) uint32 { return id<<16 | typ }

// Stored property tags: the strings are kept as PT_UNICODE, whatever type the caller used.
var (
	TagHost              = Tag(IDHost, TypeUnicode)
	TagPort              = Tag(IDPort, TypeLong)
	TagTLS               = Tag(IDTLS, TypeUnicode)
	TagAllowPlaintext    = Tag(IDAllowPlaintext, TypeBoolean)
	TagLogin             = Tag(IDLogin, TypeUnicode)
	TagAddress           = Tag(IDAddress, TypeUnicode)
	TagFreeBusySearchURL = Tag(IDFreeBusySearchURL, TypeUnicode)
	TagCAFile            = Tag(IDCAFile, TypeUnicode)
	TagProtectedPassword = Tag(IDProtectedPassword, TypeBinary)
	TagPassword          = Tag(IDPassword, TypeUnicode)
)

// Property is one setting as a PRF file names it: the key in the service's section and the type and ID in the
// service's property-mapping section ("Host=PT_UNICODE,0x6700").
type Property struct {
	Key  string
	ID   uint32
	Type uint32
}

// PRFProperties are the settings a PRF file may set, in the order they are written. The password is not one of
// them: a PRF is a plain file pushed to every desk, so the person types the password at the first logon.
var PRFProperties = []Property{
	{"Host", IDHost, TypeUnicode},
	{"Port", IDPort, TypeLong},
	{"TLS", IDTLS, TypeUnicode},
	{"AllowPlaintext", IDAllowPlaintext, TypeBoolean},
	{"Login", IDLogin, TypeUnicode},
	{"EmailAddress", IDAddress, TypeUnicode},
	{"FreeBusySearchURL", IDFreeBusySearchURL, TypeUnicode},
	{"CAFile", IDCAFile, TypeUnicode},
}

// TLS modes as stored and as written in PRF files.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "implicit"
	TLSNone     = "none"
)

// MaxValueBytes bounds every string setting. A host name is at most 253 bytes and a URL or a file path of
// a few hundred is already long; anything near this limit is a mistake or an attack on whoever reads it.
const MaxValueBytes = 1024

// Settings are the connector's settings for one profile. Port 0 means the TLS mode's default (143 or 993).
type Settings struct {
	Host              string
	Port              int
	TLS               string
	AllowPlaintext    bool
	Login             string
	Address           string
	FreeBusySearchURL string
	CAFile            string
}

// FieldError says which setting is wrong and why, in words for the person configuring Outlook.
type FieldError struct {
	Field  string // the PRF key of the setting
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// DefaultPort is the port of a TLS mode when none is set: 993 for implicit TLS, 143 otherwise.
func DefaultPort(tls string) int {
	if tls == TLSImplicit {
		return 993
	}
	return 143
}

// Normalize fills in the defaults (STARTTLS, the mode's port) and checks every setting. It returns the first
// problem as a *FieldError; the settings are then not to be stored at all.
func (s Settings) Normalize() (Settings, error) {
	for _, f := range []struct{ key, v string }{
		{"Host", s.Host}, {"TLS", s.TLS}, {"Login", s.Login}, {"EmailAddress", s.Address},
		{"FreeBusySearchURL", s.FreeBusySearchURL}, {"CAFile", s.CAFile},
	} {
		if len(f.v) > MaxValueBytes {
			return s, &FieldError{f.key, fmt.Sprintf("is %d bytes long; at most %d are accepted", len(f.v), MaxValueBytes)}
		}
		if !utf8.ValidString(f.v) || strings.ContainsAny(f.v, "\x00\r\n") {
			return s, &FieldError{f.key, "contains a line break, a NUL or bytes that are not text"}
		}
	}
	s.Host = strings.TrimSpace(s.Host)
	if err := checkHost(s.Host); err != nil {
		return s, &FieldError{"Host", err.Error()}
	}
	s.TLS = strings.ToLower(strings.TrimSpace(s.TLS))
	switch s.TLS {
	case "":
		s.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !s.AllowPlaintext {
			return s, &FieldError{"TLS", "none sends the password in clear text; set AllowPlaintext to allow it"}
		}
	default:
		return s, &FieldError{"TLS", fmt.Sprintf("must be starttls, implicit or none, not %q", s.TLS)}
	}
	if s.Port == 0 {
		s.Port = DefaultPort(s.TLS)
	}
	if s.Port < 1 || s.Port > 65535 {
		return s, &FieldError{"Port", fmt.Sprintf("%d is not a TCP port (1–65535)", s.Port)}
	}
	if s.Login == "" {
		return s, &FieldError{"Login", "is empty; it is the IMAP login ID, which may differ from the e-mail address"}
	}
	for _, r := range s.Login {
		if r <= ' ' || r > '~' {
			return s, &FieldError{"Login", "must be printable ASCII without spaces (IMAP LOGIN sends it as an atom or quoted string)"}
		}
	}
	if s.Address != "" {
		if at := strings.LastIndexByte(s.Address, '@'); at < 1 || at == len(s.Address)-1 || strings.ContainsAny(s.Address, " <>\"") {
			return s, &FieldError{"EmailAddress", fmt.Sprintf("%q is not an e-mail address", s.Address)}
		}
	}
	if s.FreeBusySearchURL != "" {
		// Outlook fills in %NAME% (the part of the address before the @) and %SERVER% (the part after it);
		// they are not percent-escapes.
		u, err := url.Parse(strings.NewReplacer("%NAME%", "name", "%SERVER%", "server").Replace(s.FreeBusySearchURL))
		if err != nil || u.Host == "" || (u.Scheme != "ftp" && u.Scheme != "http" && u.Scheme != "https") {
			return s, &FieldError{"FreeBusySearchURL", "must be an ftp://, http:// or https:// URL such as ftp://host/pub/calendar/%NAME%.vfb"}
		}
	}
	return s, nil
}

func checkHost(h string) error {
	if h == "" {
		return errors.New("is empty; it is the IMAP server's host name or address")
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if net.ParseIP(h) != nil {
		return nil
	}
	if len(h) > 253 {
		return errors.New("is longer than a host name can be (253 bytes)")
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q is not a host name", h)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%q is not a host name (only letters, digits, '-' and '.')", h)
			}
		}
	}
	return nil
}
