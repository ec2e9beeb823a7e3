package convert

import (
	"encoding/hex"
	"io"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/pst"
)

// PidLid properties of contacts (PSETID_Address, [MS-OXOCNTC] 2.2).
const (
	lidFileUnder          = 0x8005
	lidHomeAddress        = 0x801A
	lidWorkAddress        = 0x801B
	lidOtherAddress       = 0x801C
	lidHTML               = 0x802B // business home page
	lidWorkAddressStreet  = 0x8045
	lidWorkAddressCity    = 0x8046
	lidWorkAddressState   = 0x8047
	lidWorkAddressPostal  = 0x8048
	lidWorkAddressCountry = 0x8049
	lidWorkAddressPOBox   = 0x804A
	lidInstantMessaging   = 0x8062
	lidDistListName       = 0x8053
	lidDistListOneOff     = 0x8054
	lidDistListMembers    = 0x8055
	lidEmail1DisplayName  = 0x8080
	lidEmail1AddrType     = 0x8082
	lidEmail1Address      = 0x8083
	lidEmail1OrigDisplay  = 0x8084
	lidEmailStride        = 0x10 // Email2… is Email1… + 0x10, Email3… + 0x20
	tagAttachmentIsPhoto  = 0x7FFF
	maxPhotoSize          = 8 << 20
)

func (c *Converter) contact(m *pst.Message, id identity, res *Result) (groupware.Item, error) {
	p := props{m}
	var photo *pst.Attachment
	cm := c.common(m, id, res, func(a *pst.Attachment) bool {
		if v, ok := a.Get(tagAttachmentIsPhoto); ok {
			if b, err := v.Bool(); err == nil && b && photo == nil {
				photo = a
				return true
			}
		}
		return false
	})
	ct := &groupware.Contact{
		Common:        cm,
		FormattedName: firstNonEmpty(p.str(tagDisplayName), m.Subject),
		Name: groupware.Name{
			Family: p.str(tagSurname), Given: p.str(tagGivenName), Additional: p.str(tagMiddleName),
			Prefix: p.str(tagDisplayNamePrefix), Suffix: p.str(tagGeneration),
		},
		Nickname:     p.str(tagNickname),
		Organization: p.str(tagCompanyName),
		Department:   p.str(tagDepartmentName),
		Title:        p.str(tagTitle),
		Role:         p.str(tagProfession),
		Manager:      p.str(tagManagerName),
		Assistant:    p.str(tagAssistant),
		Spouse:       p.str(tagSpouseName),
		Birthday:     dateOnly(p.time(tagBirthday)),
		Anniversary:  dateOnly(p.time(tagWeddingAnniversary)),
	}
	// The summary of a contact is its name; Kolab puts the UID in Subject anyway.
	ct.Summary = ct.FormattedName
	switch g, _ := p.int(tagGender); g {
	case 1:
		ct.Gender = "F"
	case 2:
		ct.Gender = "M"
	}
	for k := 0; k < 3; k++ {
		off := uint16(k * lidEmailStride)
		addr := p.namedStr(pst.PSETIDAddress, lidEmail1Address+off)
		typ := p.namedStr(pst.PSETIDAddress, lidEmail1AddrType+off)
		if addr == "" {
			continue
		}
		smtp, real := c.resolve(address{addrType: typ, addr: addr})
		if smtp == "" {
			smtp = addr
		}
		if !real && !strings.EqualFold(typ, "SMTP") && !strings.EqualFold(typ, "EX") && typ != "" {
			res.warn("e-mail address %d is of type %s; kept as written", k+1, typ)
		}
		ct.Emails = append(ct.Emails, groupware.Email{Address: smtp, Display: p.namedStr(pst.PSETIDAddress, lidEmail1OrigDisplay+off)})
	}
	for _, ph := range []struct {
		tag   uint16
		types []string
	}{
		{tagBusinessPhone, []string{"work", "voice"}}, {tagBusiness2Phone, []string{"work", "voice"}},
		{tagHomePhone, []string{"home", "voice"}}, {tagHome2Phone, []string{"home", "voice"}},
		{tagMobilePhone, []string{"cell"}}, {tagBusinessFax, []string{"work", "fax"}}, {tagHomeFax, []string{"home", "fax"}},
		{tagPrimaryFax, []string{"fax"}}, {tagPagerPhone, []string{"pager"}}, {tagCarPhone, []string{"car"}},
		{tagISDN, []string{"isdn"}}, {tagPrimaryPhone, []string{"main"}}, {tagCompanyMainPhone, []string{"company"}},
		{tagAssistantPhone, []string{"assistant"}}, {tagCallbackPhone, []string{"callback"}}, {tagOtherPhone, []string{"other"}},
		{tagRadioPhone, []string{"radio"}}, {tagTelexNumber, []string{"telex"}}, {tagTTYTDDPhone, []string{"ttytdd"}},
	} {
		if n := strings.TrimSpace(p.str(ph.tag)); n != "" {
			ct.Phones = append(ct.Phones, groupware.Phone{Types: ph.types, Number: n})
		}
	}
	work := groupware.Address{Type: "work",
		Street: p.namedStr(pst.PSETIDAddress, lidWorkAddressStreet), Locality: p.namedStr(pst.PSETIDAddress, lidWorkAddressCity),
		Region: p.namedStr(pst.PSETIDAddress, lidWorkAddressState), Code: p.namedStr(pst.PSETIDAddress, lidWorkAddressPostal),
		Country: p.namedStr(pst.PSETIDAddress, lidWorkAddressCountry), POBox: p.namedStr(pst.PSETIDAddress, lidWorkAddressPOBox),
		Extended: p.str(tagOfficeLocation), Label: p.namedStr(pst.PSETIDAddress, lidWorkAddress)}
	if work.Street == "" && work.Locality == "" { // older items keep the business address only in tagged properties
		work.Street, work.Locality, work.Region = p.str(tagBusinessStreet), p.str(tagBusinessCity), p.str(tagBusinessState)
		work.Code, work.Country, work.POBox = p.str(tagBusinessPostalCode), p.str(tagBusinessCountry), p.str(tagBusinessPOBox)
	}
	home := groupware.Address{Type: "home", Street: p.str(tagHomeStreet), Locality: p.str(tagHomeCity), Region: p.str(tagHomeState),
		Code: p.str(tagHomePostalCode), Country: p.str(tagHomeCountry), POBox: p.str(tagHomePOBox), Label: p.namedStr(pst.PSETIDAddress, lidHomeAddress)}
	other := groupware.Address{Street: p.str(tagOtherStreet), Locality: p.str(tagOtherCity), Region: p.str(tagOtherState),
		Code: p.str(tagOtherPostalCode), Country: p.str(tagOtherCountry), POBox: p.str(tagOtherPOBox), Label: p.namedStr(pst.PSETIDAddress, lidOtherAddress)}
	for _, a := range []groupware.Address{work, home, other} {
		if a.Street != "" || a.Locality != "" || a.Region != "" || a.Code != "" || a.Country != "" || a.POBox != "" || a.Label != "" {
			ct.Addresses = append(ct.Addresses, a)
		}
	}
	for _, u := range []string{p.namedStr(pst.PSETIDAddress, lidHTML), p.str(tagBusinessHomePage), p.str(tagPersonalHomePage)} {
		if u = strings.TrimSpace(u); u != "" && !contains(ct.URLs, u) {
			ct.URLs = append(ct.URLs, u)
		}
	}
	if im := strings.TrimSpace(p.namedStr(pst.PSETIDAddress, lidInstantMessaging)); im != "" {
		ct.IMAddresses = append(ct.IMAddresses, im)
	}
	if fu := p.namedStr(pst.PSETIDAddress, lidFileUnder); fu != "" && fu != ct.FormattedName {
		ct.Custom = append(ct.Custom, groupware.Custom{Name: "X-MAILSHIFT-FILE-AS", Value: fu})
	}
	if photo != nil {
		if ph, err := readPhoto(photo); err != nil {
			res.warn("contact photo could not be read: %v", err)
		} else if ph != nil {
			ct.Photo = ph
		}
	}
	return ct, nil
}

func readPhoto(a *pst.Attachment) (*groupware.Photo, error) {
	if a.Size > maxPhotoSize {
		return nil, nil
	}
	rc, err := a.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxPhotoSize))
	if err != nil || len(data) == 0 {
		return nil, err
	}
	mt := attachmentType(a)
	if !strings.HasPrefix(mt, "image/") {
		mt = sniffImage(data)
	}
	return &groupware.Photo{MIMEType: mt, Data: data}, nil
}

func sniffImage(b []byte) string {
	switch {
	case len(b) > 3 && b[0] == 0xFF && b[1] == 0xD8:
		return "image/jpeg"
	case len(b) > 8 && string(b[1:4]) == "PNG":
		return "image/png"
	case len(b) > 6 && string(b[:3]) == "GIF":
		return "image/gif"
	case len(b) > 2 && string(b[:2]) == "BM":
		return "image/bmp"
	}
	return "image/jpeg"
}

// dateOnly turns Outlook's date properties (midnight local time stored as UTC, or noon-ish values written by
// some clients) into a calendar date.
func dateOnly(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	// Dates are written as local midnight converted to UTC: west of Greenwich that is the same day, east of
	// it the evening before. Rounding to the nearest day recovers the date the user typed.
	r := t.Add(12 * time.Hour)
	return time.Date(r.Year(), r.Month(), r.Day(), 0, 0, 0, 0, time.UTC)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *Converter) distList(m *pst.Message, id identity, res *Result) (groupware.Item, error) {
	p := props{m}
	dl := &groupware.DistList{Common: c.common(m, id, res, nil)}
	dl.Name = firstNonEmpty(p.namedStr(pst.PSETIDAddress, lidDistListName), p.str(tagDisplayName), m.Subject)
	dl.Summary = dl.Name
	oneOffs := binaries(p, lidDistListOneOff)
	members := binaries(p, lidDistListMembers)
	n := max(len(oneOffs), len(members))
	for i := 0; i < n; i++ {
		var a address
		ok := false
		if i < len(oneOffs) {
			a, ok = oneOffEntry(oneOffs[i])
		}
		if !ok && i < len(members) {
			a, ok = oneOffEntry(members[i])
		}
		if !ok {
			// A member that is a link to a contact entry the PST does not hold: its entry ID is kept.
			raw := oneOffs
			if i >= len(raw) {
				raw = members
			}
			res.warn("distribution list member %d is a link the store cannot resolve; kept as X-MAILSHIFT-MEMBER-ENTRYID", i+1)
			dl.Custom = append(dl.Custom, groupware.Custom{Name: "X-MAILSHIFT-MEMBER-ENTRYID", Value: hex.EncodeToString(raw[i])})
			continue
		}
		smtp, _ := c.resolve(a)
		if smtp == "" {
			smtp = a.addr
		}
		dl.Members = append(dl.Members, groupware.Person{Name: a.name, Email: smtp})
	}
	return dl, nil
}

func binaries(p props, lid uint16) [][]byte {
	v, ok := p.named(pst.PSETIDAddress, lid)
	if !ok {
		return nil
	}
	bs, err := v.BinaryValues()
	if err != nil {
		return nil
	}
	return bs
}
