package groupware

import (
	"encoding/base64"
	"strings"
	"time"
)

// vCard 3.0 (RFC 2426), what every address book reads. Distribution lists use the group extension of Apple's
// address book server (X-ADDRESSBOOKSERVER-KIND:group with X-ADDRESSBOOKSERVER-MEMBER), since vCard 3.0 has no
// KIND or MEMBER; vobject and most CardDAV clients read it.

// vcardPhoneTypes maps model phone types to RFC 2426 §3.3.1 TYPE values; the others become x-names.
var vcardPhoneTypes = map[string]string{
	"work": "WORK", "home": "HOME", "cell": "CELL", "fax": "FAX", "pager": "PAGER", "voice": "VOICE",
	"car": "CAR", "isdn": "ISDN", "video": "VIDEO", "text": "MSG",
}

// Contact fields vCard 3.0 has no property for, under the names Outlook's own vCard export uses.
const (
	vcardManager   = "X-MS-MANAGER"
	vcardAssistant = "X-MS-ASSISTANT"
	vcardSpouse    = "X-MS-SPOUSE"
)

// structured escapes the components of N, ADR and ORG, whose separator is ";" (RFC 2426 §4).
func structured(parts ...string) string {
	for i, p := range parts {
		parts[i] = icalEscape(oneLine(p))
	}
	return strings.Join(parts, ";")
}

func vcardTypes(types ...string) []string {
	var vals []string
	for _, t := range types {
		if t = strings.TrimSpace(t); t != "" {
			vals = append(vals, t)
		}
	}
	if len(vals) == 0 {
		return nil
	}
	return []string{"TYPE=" + strings.Join(vals, ",")}
}

func vcardStart(w *icalWriter, c *Common, modified time.Time, fn string) {
	w.line("BEGIN:VCARD")
	w.prop("VERSION", nil, "3.0")
	w.prop("PRODID", nil, icalEscape(productID(c)))
	w.prop("UID", nil, icalEscape(oneLine(c.UID)))
	w.prop("REV", nil, utcStamp(modified))
	w.prop("FN", nil, icalEscape(fn))
}

func vcardEnd(w *icalWriter, c *Common) {
	if c.Class != "" {
		w.prop("CLASS", nil, string(c.Class))
	}
	w.categories(c.Categories)
	w.text("NOTE", c.Description)
	w.customs(c.Custom)
	w.line("END:VCARD")
}

func vcardContact(c *Contact, modified time.Time) (string, error) {
	var w icalWriter
	vcardStart(&w, &c.Common, modified, formattedName(c))
	n := c.Name
	w.prop("N", nil, structured(n.Family, n.Given, n.Additional, n.Prefix, n.Suffix))
	if nick := oneLine(c.Nickname); nick != "" {
		w.prop("NICKNAME", nil, icalEscape(nick))
	}
	if !c.Birthday.IsZero() {
		w.prop("BDAY", []string{"VALUE=date"}, c.Birthday.Format("2006-01-02"))
	}
	if !c.Anniversary.IsZero() {
		w.prop("X-ANNIVERSARY", nil, c.Anniversary.Format("2006-01-02"))
	}
	if g := strings.ToUpper(c.Gender); g == "M" || g == "F" {
		w.prop("X-GENDER", nil, map[string]string{"M": "Male", "F": "Female"}[g])
	}
	for _, e := range c.Emails {
		addr := oneLine(e.Address)
		if addr == "" {
			continue
		}
		types := []string{"INTERNET"}
		if t := strings.ToUpper(e.Type); t == "WORK" || t == "HOME" {
			types = append(types, t)
		}
		w.prop("EMAIL", vcardTypes(types...), icalEscape(addr))
		if d := oneLine(e.Display); d != "" {
			w.prop(emailDisplayCustom, nil, icalEscape(d+" <"+addr+">"))
		}
	}
	for _, p := range c.Phones {
		num := oneLine(p.Number)
		if num == "" {
			continue
		}
		var types []string
		for _, t := range p.Types {
			t = strings.ToLower(strings.TrimSpace(t))
			if v, ok := vcardPhoneTypes[t]; ok {
				types = append(types, v)
			} else if t != "" {
				types = append(types, xName(t))
			}
		}
		w.prop("TEL", vcardTypes(types...), icalEscape(num))
	}
	for _, a := range c.Addresses {
		var types []string
		if t := strings.ToUpper(a.Type); t == "WORK" || t == "HOME" {
			types = []string{t}
		}
		w.prop("ADR", vcardTypes(types...), structured(a.POBox, a.Extended, a.Street, a.Locality, a.Region, a.Code, a.Country))
		if l := cleanText(a.Label); l != "" {
			w.prop("LABEL", vcardTypes(types...), icalEscape(l))
		}
	}
	if c.Organization != "" || c.Department != "" {
		if c.Department != "" {
			w.prop("ORG", nil, structured(c.Organization, c.Department))
		} else {
			w.prop("ORG", nil, structured(c.Organization))
		}
	}
	if t := oneLine(c.Title); t != "" {
		w.prop("TITLE", nil, icalEscape(t))
	}
	if r := oneLine(c.Role); r != "" {
		w.prop("ROLE", nil, icalEscape(r))
	}
	for _, kv := range [][2]string{{vcardManager, c.Manager}, {vcardAssistant, c.Assistant}, {vcardSpouse, c.Spouse}} {
		if v := oneLine(kv[1]); v != "" {
			w.prop(kv[0], nil, icalEscape(v))
		}
	}
	for _, u := range c.URLs {
		if u = oneLine(u); u != "" {
			w.prop("URL", nil, u)
		}
	}
	// IMPP is RFC 4770's addition to vCard 3.0.
	for _, im := range c.IMAddresses {
		if im = oneLine(im); im != "" {
			w.prop("IMPP", nil, im)
		}
	}
	if c.Photo != nil && len(c.Photo.Data) > 0 {
		typ := strings.ToUpper(strings.TrimPrefix(oneLine(c.Photo.MIMEType), "image/"))
		if typ == "" {
			typ = "JPEG"
		}
		w.prop("PHOTO", []string{"ENCODING=b", "TYPE=" + icalParamValue(typ)}, base64.StdEncoding.EncodeToString(c.Photo.Data))
	}
	vcardEnd(&w, &c.Common)
	return w.b.String(), nil
}

func vcardDistList(d *DistList, modified time.Time) (string, error) {
	var w icalWriter
	name := oneLine(d.Name)
	vcardStart(&w, &d.Common, modified, name)
	w.prop("N", nil, structured(name, "", "", "", ""))
	w.prop("X-ADDRESSBOOKSERVER-KIND", nil, "group")
	for _, m := range d.Members {
		if m.Email == "" {
			if n := oneLine(m.Name); n != "" {
				w.prop(memberNameCustom, nil, icalEscape(n))
			}
			continue
		}
		var params []string
		if n := oneLine(m.Name); n != "" {
			params = []string{"CN=" + icalParamValue(n)}
		}
		w.prop("X-ADDRESSBOOKSERVER-MEMBER", params, "mailto:"+oneLine(m.Email))
	}
	vcardEnd(&w, &d.Common)
	return w.b.String(), nil
}
