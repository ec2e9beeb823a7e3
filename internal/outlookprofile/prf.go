package outlookprofile

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mailshift/mailshift/internal/connectorsettings"
)

// The PRF's own sections and the names it gives the service and the account. Section names are compared
// without regard to case by Windows, so each is spelled once, here.
const (
	sectionGeneral     = "General"
	sectionServiceList = "Service List"
	sectionAccountList = "Internet Account List"
	sectionService     = "Service1"
	sectionAccount     = "Account1"
	// The Office Customization Tool's names for Outlook's own profile section and the POP3/SMTP account
	// type, whose mapping sections follow.
	outlookClient = "Microsoft Outlook Client"
	internetMail  = "I_Mail"
)

// outlookClientMapping is the PRF mapping of Outlook's profile section as the Office Customization Tool
// writes it (section 6 of its PRF files). The service list names it as ServiceX; it is needed even though
// the PRF sets none of its properties, or Outlook does not know the section it names.
var outlookClientMapping = []Key{
	{"SectionGUID", "0a0d020000000000c000000000000046"},
	{"FormDirectoryPage", "PT_STRING8,0x0270"},
	{"WebServicesLocation", "PT_STRING8,0x0271"},
	{"ComposeWithWebServices", "PT_BOOLEAN,0x0272"},
	{"PromptWhenUsingWebServices", "PT_BOOLEAN,0x0273"},
	{"OpenWithWebServices", "PT_BOOLEAN,0x0274"},
	{"CachedExchangeMode", "PT_LONG,0x041f"},
	{"CachedExchangeSlowDetect", "PT_BOOLEAN,0x0420"},
}

// internetMailMapping is the PRF mapping of an Internet Mail (POP3/SMTP) account's properties, section 7 of
// the Office Customization Tool's PRF files ("DO NOT MODIFY"). The account is used for sending only: the
// mailbox is read through the connector, so none of the POP3 settings is given a value.
var internetMailMapping = []Key{
	{"AccountType", "POP3"},
	{"AccountName", "PT_UNICODE,0x0002"},
	{"DisplayName", "PT_UNICODE,0x000B"},
	{"EmailAddress", "PT_UNICODE,0x000C"},
	{"POP3Server", "PT_UNICODE,0x0100"},
	{"POP3UserName", "PT_UNICODE,0x0101"},
	{"POP3UseSPA", "PT_LONG,0x0108"},
	{"Organization", "PT_UNICODE,0x0107"},
	{"ReplyEmailAddress", "PT_UNICODE,0x0103"},
	{"POP3Port", "PT_LONG,0x0104"},
	{"POP3UseSSL", "PT_LONG,0x0105"},
	{"SMTPServer", "PT_UNICODE,0x0200"},
	{"SMTPUseAuth", "PT_LONG,0x0203"},
	{"SMTPAuthMethod", "PT_LONG,0x0208"},
	{"SMTPUserName", "PT_UNICODE,0x0204"},
	{"SMTPUseSPA", "PT_LONG,0x0207"},
	{"ConnectionType", "PT_LONG,0x000F"},
	{"ConnectionOID", "PT_UNICODE,0x0010"},
	{"SMTPPort", "PT_LONG,0x0201"},
	{"SMTPSecureConnection", "PT_LONG,0x020A"},
	{"ServerTimeOut", "PT_LONG,0x0209"},
	{"LeaveOnServer", "PT_LONG,0x1000"},
}

// SMTPSecureConnection values of an Internet Mail account: Outlook's "Use the following type of encrypted
// connection" for the outgoing server.
const (
	smtpSecureNone     = "0"
	smtpSecureImplicit = "1" // SSL/TLS from the first byte
	smtpSecureStartTLS = "2" // STARTTLS
)

// SMTPAuthMethod 1 is "Log on using" the account's own SMTP user name, rather than the incoming server's
// settings, which a send-only account does not have.
const smtpAuthOwnLogin = "1"

// Default submission ports (RFC 6409 section 3.1, RFC 8314 section 3.3).
const (
	SubmissionPort         = 587
	SubmissionPortImplicit = 465
)

// propertyTypes are the PRF names of the MAPI property types a mapping may name.
var propertyTypes = map[uint32]string{
	connectorsettings.TypeLong:    "PT_LONG",
	connectorsettings.TypeBoolean: "PT_BOOLEAN",
	connectorsettings.TypeString8: "PT_STRING8",
	connectorsettings.TypeUnicode: "PT_UNICODE",
	connectorsettings.TypeBinary:  "PT_BINARY",
}

// MappingValue is a property's entry in the service's mapping section: "PT_UNICODE,0x6700".
func MappingValue(p connectorsettings.Property) (string, error) {
	name, ok := propertyTypes[p.Type]
	if !ok {
		return "", fmt.Errorf("property %s has MAPI type 0x%04X, which a PRF file cannot name", p.Key, p.Type)
	}
	return fmt.Sprintf("%s,0x%04X", name, p.ID), nil
}

// RenderPRF checks p and writes its PRF file.
func RenderPRF(p Profile) ([]byte, error) {
	f, err := prf(p)
	if err != nil {
		return nil, err
	}
	return f.Bytes(), nil
}

// prf builds the PRF file of p, section by section, in the Office Customization Tool's order.
func prf(p Profile) (*INI, error) {
	conn, err := p.Connector.Normalize()
	if err != nil {
		return nil, err
	}
	if conn.Address == "" {
		return nil, &connectorsettings.FieldError{Field: "EmailAddress", Reason: "is empty; the Internet Mail account sends as this address"}
	}
	sub, err := p.Submission.normalize(conn)
	if err != nil {
		return nil, err
	}
	name := p.Name
	if name == "" {
		name = DefaultProfileName
	}

	f := &INI{Comments: []string{
		"Outlook profile with the " + connectorsettings.DisplayName + ", written by the mailshift operator.",
		"Import with: outlook.exe /importprf <this file>. It holds no password: type it in the connector's settings.",
	}}
	// The desk's default profile is extended (OverwriteProfile=Append with ModifyDefaultProfileIfPresent),
	// whatever its name; a desk without one gets a new profile of this name. No "Backup of" profile is left
	// by each import.
	f.add(sectionGeneral,
		Key{"Custom", "1"},
		Key{"ProfileName", name},
		Key{"DefaultProfile", "Yes"},
		Key{"OverwriteProfile", "Append"},
		Key{"ModifyDefaultProfileIfPresent", "TRUE"},
		Key{"BackupProfile", "No"})
	f.add(sectionServiceList,
		Key{"ServiceX", outlookClient},
		Key{sectionService, connectorsettings.DisplayName})
	f.add(sectionAccountList, Key{sectionAccount, internetMail})

	// Importing the file again, after the server moved, replaces the service's settings rather than adding a
	// second service.
	service := []Key{{"UniqueService", "Yes"}, {"OverwriteExistingService", "Yes"}}
	mapping := []Key{{"ServiceName", connectorsettings.ServiceName}}
	for _, prop := range connectorsettings.PRFProperties {
		v, err := settingValue(conn, prop.Key)
		if err != nil {
			return nil, err
		}
		m, err := MappingValue(prop)
		if err != nil {
			return nil, err
		}
		mapping = append(mapping, Key{prop.Key, m})
		if v != "" {
			service = append(service, Key{prop.Key, v})
		}
	}
	f.add(sectionService, service...)

	account := []Key{
		{"UniqueService", "No"},
		{"AccountName", conn.Address},
		{"EmailAddress", conn.Address},
	}
	if p.DisplayName != "" {
		account = append(account, Key{"DisplayName", p.DisplayName})
	}
	account = append(account,
		Key{"SMTPServer", sub.Host},
		Key{"SMTPPort", strconv.Itoa(sub.Port)},
		Key{"SMTPSecureConnection", smtpSecureConnection(sub.TLS)},
		Key{"SMTPUseAuth", "1"},
		Key{"SMTPAuthMethod", smtpAuthOwnLogin},
		Key{"SMTPUserName", sub.Login},
		Key{"SMTPUseSPA", "0"},
		Key{"ConnectionType", "0"})
	f.add(sectionAccount, account...)

	f.add(connectorsettings.DisplayName, mapping...)
	f.add(outlookClient, outlookClientMapping...)
	f.add(internetMail, internetMailMapping...)

	for _, s := range f.Sections {
		for _, k := range s.Keys {
			if err := CheckValue(k.Name, k.Value); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

// settingValue is the PRF value of one of the connector's settings, "" for one that is not set.
func settingValue(s connectorsettings.Settings, key string) (string, error) {
	switch key {
	case "Host":
		return s.Host, nil
	case "Port":
		return strconv.Itoa(s.Port), nil
	case "TLS":
		return s.TLS, nil
	case "AllowPlaintext":
		// Written either way, so that a file imported again after plaintext was withdrawn withdraws it.
		return strconv.FormatBool(s.AllowPlaintext), nil
	case "Login":
		return s.Login, nil
	case "EmailAddress":
		return s.Address, nil
	case "FreeBusySearchURL":
		return s.FreeBusySearchURL, nil
	case "CAFile":
		return s.CAFile, nil
	}
	return "", fmt.Errorf("connectorsettings.PRFProperties has %s, which this package does not know how to write", key)
}

// normalize fills in the submission server's defaults and checks it: the host and login by the rules of the
// connector's own (conn is already normalized, so any complaint is about them).
func (s Submission) normalize(conn connectorsettings.Settings) (Submission, error) {
	if s.Host == "" {
		s.Host = conn.Host
	}
	s.TLS = strings.ToLower(strings.TrimSpace(s.TLS))
	if s.TLS == "" {
		s.TLS = connectorsettings.TLSStartTLS
		if s.Port == SubmissionPortImplicit {
			s.TLS = connectorsettings.TLSImplicit
		}
	}
	if s.Port == 0 {
		s.Port = SubmissionPort
		if s.TLS == connectorsettings.TLSImplicit {
			s.Port = SubmissionPortImplicit
		}
	}
	if s.Login == "" {
		s.Login = conn.Login
	}
	check := conn
	check.Host, check.Port, check.TLS, check.AllowPlaintext, check.Login = s.Host, s.Port, s.TLS, s.AllowPlaintext, s.Login
	norm, err := check.Normalize()
	var fe *connectorsettings.FieldError
	if errors.As(err, &fe) {
		switch fe.Field {
		case "Host":
			return s, &connectorsettings.FieldError{Field: "SMTPServer", Reason: fe.Reason}
		case "Port":
			return s, &connectorsettings.FieldError{Field: "SMTPPort", Reason: fe.Reason}
		case "TLS":
			return s, &connectorsettings.FieldError{Field: "SMTPSecureConnection", Reason: fe.Reason}
		case "Login":
			return s, &connectorsettings.FieldError{Field: "SMTPUserName", Reason: fe.Reason}
		}
		return s, err
	}
	if err != nil {
		return s, err
	}
	s.Host = norm.Host
	return s, nil
}

func smtpSecureConnection(tls string) string {
	switch tls {
	case connectorsettings.TLSImplicit:
		return smtpSecureImplicit
	case connectorsettings.TLSNone:
		return smtpSecureNone
	}
	return smtpSecureStartTLS
}

// CheckValue refuses a value that an INI reader could take for something other than that one value: line
// breaks and other control characters (a new line would be a new key or section), ';' (the comment
// character: Windows honours it only at the start of a line, other readers anywhere), blanks and quotes at
// either end (Windows drops them), and values longer than the connector accepts.
func CheckValue(key, v string) error {
	bad := func(reason string) error { return &connectorsettings.FieldError{Field: key, Reason: reason} }
	if len(v) > connectorsettings.MaxValueBytes {
		return bad(fmt.Sprintf("is %d bytes long; at most %d are accepted", len(v), connectorsettings.MaxValueBytes))
	}
	if !utf8.ValidString(v) {
		return bad("contains bytes that are not UTF-8 text")
	}
	for _, r := range v {
		switch {
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, r == '\u2028', r == '\u2029', r == '\ufeff':
			return bad("contains a line break or another control character")
		case r == ';':
			return bad("contains ';', which INI readers take for the start of a comment")
		}
	}
	if strings.TrimSpace(v) != v {
		return bad("begins or ends with a blank, which Windows drops when it reads the file")
	}
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "'") || strings.HasSuffix(v, `"`) || strings.HasSuffix(v, "'") {
		return bad("begins or ends with a quotation mark, which Windows drops when it reads the file")
	}
	return nil
}
