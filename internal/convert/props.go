package convert

import (
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/pst"
	"github.com/mailshift/mailshift/internal/pst/ltp"
)

// Property IDs ([MS-OXPROPS]) the conversion reads. Tagged properties are read by ID; named ones (PidLid…)
// through the NAMEID map with their property set and LID.
const (
	tagImportance            = 0x0017
	tagMessageClass          = 0x001A
	tagReportTag             = 0x0031
	tagSensitivity           = 0x0036
	tagSubject               = 0x0037
	tagClientSubmitTime      = 0x0039
	tagSentReprName          = 0x0042
	tagReceivedByName        = 0x0040
	tagSentReprAddrType      = 0x0064
	tagSentReprEmail         = 0x0065
	tagConversationTopic     = 0x0070
	tagTransportHeaders      = 0x007D
	tagSenderName            = 0x0C1A
	tagSenderAddrType        = 0x0C1E
	tagSenderEmail           = 0x0C1F
	tagDeliveryTime          = 0x0E06
	tagMessageFlags          = 0x0E07
	tagNormalizedSubject     = 0x0E1D
	tagBody                  = 0x1000
	tagRTFCompressed         = 0x1009
	tagHTML                  = 0x1013
	tagReferences            = 0x1039
	tagInternetMessageID     = 0x1035
	tagInReplyTo             = 0x1042
	tagLastVerbExecuted      = 0x1081
	tagFlagStatus            = 0x1090
	tagFollowupIcon          = 0x1095
	tagCreationTime          = 0x3007
	tagLastModificationTime  = 0x3008
	tagSearchKey             = 0x300B
	tagDisplayName           = 0x3001
	tagComment               = 0x3004
	tagAttachDataBin         = 0x3701
	tagAttachExtension       = 0x3703
	tagAttachPathname        = 0x3708
	tagAttachLongPathname    = 0x370D
	tagAttachFlags           = 0x3714
	tagAttachContentLocation = 0x3713
	tagAttachMIMETag         = 0x370E
	tagInternetCPID          = 0x3FDE
	tagSenderSMTPAddress     = 0x5D01
	tagSentReprSMTPAddress   = 0x5D02
	tagPrimarySMTPAddress    = 0x39FE

	// Contact properties that are tagged, not named ([MS-OXOCNTC] 2.2).
	tagGivenName          = 0x3A06
	tagSurname            = 0x3A11
	tagMiddleName         = 0x3A44
	tagDisplayNamePrefix  = 0x3A45
	tagGeneration         = 0x3A05
	tagNickname           = 0x3A4F
	tagCompanyName        = 0x3A16
	tagDepartmentName     = 0x3A18
	tagTitle              = 0x3A17
	tagProfession         = 0x3A46
	tagManagerName        = 0x3A4E
	tagAssistant          = 0x3A30
	tagSpouseName         = 0x3A48
	tagBirthday           = 0x3A42
	tagWeddingAnniversary = 0x3A41
	tagGender             = 0x3A4D
	tagBusinessHomePage   = 0x3A51
	tagPersonalHomePage   = 0x3A50
	tagBusinessPhone      = 0x3A08
	tagBusiness2Phone     = 0x3A1B
	tagHomePhone          = 0x3A09
	tagHome2Phone         = 0x3A2F
	tagMobilePhone        = 0x3A1C
	tagBusinessFax        = 0x3A24
	tagHomeFax            = 0x3A25
	tagPrimaryFax         = 0x3A23
	tagPagerPhone         = 0x3A21
	tagCarPhone           = 0x3A1E
	tagISDN               = 0x3A2D
	tagPrimaryPhone       = 0x3A1A
	tagCompanyMainPhone   = 0x3A57
	tagAssistantPhone     = 0x3A2E
	tagCallbackPhone      = 0x3A02
	tagOtherPhone         = 0x3A1F
	tagRadioPhone         = 0x3A1D
	tagTelexNumber        = 0x3A2C
	tagTTYTDDPhone        = 0x3A4B
	tagHomeStreet         = 0x3A5D
	tagHomeCity           = 0x3A59
	tagHomeState          = 0x3A5C
	tagHomePostalCode     = 0x3A5B
	tagHomeCountry        = 0x3A5A
	tagHomePOBox          = 0x3A5E
	tagOtherStreet        = 0x3A63
	tagOtherCity          = 0x3A5F
	tagOtherState         = 0x3A62
	tagOtherPostalCode    = 0x3A61
	tagOtherCountry       = 0x3A60
	tagOtherPOBox         = 0x3A64
	tagBusinessStreet     = 0x3A29
	tagBusinessCity       = 0x3A27
	tagBusinessState      = 0x3A28
	tagBusinessPostalCode = 0x3A2A
	tagBusinessCountry    = 0x3A26
	tagBusinessPOBox      = 0x3A2B
	tagOfficeLocation     = 0x3A19
	tagPostalAddress      = 0x3A15
)

// props reads an item's properties by tag or by name, decoding strings in the item's code page.
type props struct{ m *pst.Message }

func (p props) str(id uint16) string { return strings.TrimRight(p.m.String(id), "\x00") }

func (p props) int(id uint16) (int64, bool) {
	v, ok := p.m.Get(id)
	if !ok {
		return 0, false
	}
	n, err := v.Int()
	return n, err == nil
}

func (p props) time(id uint16) time.Time { return validTime(p.m.Time(id)) }

func (p props) bytes(id uint16) []byte {
	v, ok := p.m.Get(id)
	if !ok {
		return nil
	}
	b, err := v.Bytes()
	if err != nil {
		return nil
	}
	return b
}

func (p props) named(set [16]byte, lid any) (ltp.Value, bool) { return p.m.Named(set, lid) }

func (p props) namedStr(set [16]byte, lid any) string {
	v, ok := p.m.Named(set, lid)
	if !ok {
		return ""
	}
	s, err := v.String(p.m.CodePage)
	if err != nil {
		return ""
	}
	return strings.TrimRight(s, "\x00")
}

func (p props) namedStrings(set [16]byte, lid any) []string {
	v, ok := p.m.Named(set, lid)
	if !ok {
		return nil
	}
	if !v.Type.IsMultiValued() {
		if s, err := v.String(p.m.CodePage); err == nil && s != "" {
			return []string{s}
		}
		return nil
	}
	ss, err := v.Strings(p.m.CodePage)
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(strings.TrimRight(s, "\x00")); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (p props) namedInt(set [16]byte, lid any) (int64, bool) {
	v, ok := p.m.Named(set, lid)
	if !ok {
		return 0, false
	}
	n, err := v.Int()
	return n, err == nil
}

func (p props) namedBool(set [16]byte, lid any) bool {
	v, ok := p.m.Named(set, lid)
	if !ok {
		return false
	}
	b, err := v.Bool()
	if err != nil {
		n, err := v.Int()
		return err == nil && n != 0
	}
	return b
}

func (p props) namedTime(set [16]byte, lid any) time.Time {
	v, ok := p.m.Named(set, lid)
	if !ok {
		return time.Time{}
	}
	t, err := v.Time()
	if err != nil {
		return time.Time{}
	}
	return validTime(t)
}

func (p props) namedBytes(set [16]byte, lid any) []byte {
	v, ok := p.m.Named(set, lid)
	if !ok {
		return nil
	}
	b, err := v.Bytes()
	if err != nil {
		return nil
	}
	return b
}

// validTime drops the sentinel values Outlook writes for "no date": 4501-01-01 (PT_SYSTIME 0x0CB34557A3DD4000)
// and anything before 1601 or after 4500.
func validTime(t time.Time) time.Time {
	if t.IsZero() || t.Year() <= 1601 || t.Year() >= 4500 {
		return time.Time{}
	}
	return t.UTC()
}
