package groupware

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/ical"
)

// xCard (RFC 6351) as Kolab v3 restricts it (KEP 17 "Contact"; libkolabxml's kolabformat-xcard.xsd fixes the
// element order: uid, x-kolab-version, prodid, rev, categories, kind, fn, n, note, fburl, title, group, url,
// adr, nickname, related, bday, anniversary, photo, gender, lang, tel, impp, email, geo, key, x-crypto,
// member, x-custom).

// Contact fields Kolab's xCard has no element for, kept as x-custom.
const (
	emailDisplayCustom = "X-MAILSHIFT-EMAIL-DISPLAY" // "Display <address>" for an address with its own display name
	memberNameCustom   = "X-MAILSHIFT-MEMBER"        // a list member without an address
)

// vcardUID is the UID in URI form, as the schema's uid element requires (RFC 6350 §6.7.6); a bare
// identifier becomes a urn:uuid: URI, which libkolabxml hands back without the prefix.
func vcardUID(uid string) string {
	uid = oneLine(uid)
	if strings.Contains(uid, ":") {
		return uid
	}
	return "urn:uuid:" + uid
}

func (x *xmlWriter) xcardStart(c *Common, modified time.Time, kind, fn string) {
	x.open("vcards", "xmlns", "urn:ietf:params:xml:ns:vcard-4.0")
	x.open("vcard")
	x.prop("uid", "uri", vcardUID(c.UID))
	x.prop("x-kolab-version", "text", kolabVersion)
	x.prop("prodid", "text", productID(c))
	x.prop("rev", "timestamp", utcStamp(modified))
	x.categories(c.Categories)
	x.prop("kind", "text", kind)
	x.prop("fn", "text", fn)
}

func (x *xmlWriter) xcardEnd() {
	x.close()
	x.close()
}

// formattedName is FN, which vCard requires (RFC 6350 §6.2.1): the contact's own, else one made from its
// name, organization or first address.
func formattedName(c *Contact) string {
	if fn := oneLine(c.FormattedName); fn != "" {
		return fn
	}
	n := c.Name
	var parts []string
	for _, p := range []string{n.Prefix, n.Given, n.Additional, n.Family, n.Suffix} {
		if p = oneLine(p); p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, " ")
	}
	if o := oneLine(c.Organization); o != "" {
		return o
	}
	if len(c.Emails) > 0 {
		return oneLine(c.Emails[0].Address)
	}
	return oneLine(c.Summary)
}

func (x *xmlWriter) typedParams(types []string, extra ...xparam) {
	var vals []string
	for _, t := range types {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			vals = append(vals, t)
		}
	}
	if len(vals) == 0 && len(extra) == 0 {
		return
	}
	x.open("parameters")
	if len(vals) > 0 {
		x.open("type")
		for _, v := range vals {
			x.leaf("text", v)
		}
		x.close()
	}
	for _, p := range extra {
		x.open(p.name)
		x.leaf(p.vtype, p.value)
		x.close()
	}
	x.close()
}

// kolabPhoneType maps a model phone type to one of the TYPE values Kolab knows (work, home, text, voice, fax,
// cell, video, pager, textphone, car); the others have no Kolab equivalent.
func kolabPhoneType(t string) (string, bool) {
	switch t = strings.ToLower(t); t {
	case "work", "home", "text", "voice", "fax", "cell", "video", "pager", "car":
		return t, true
	case "ttytdd":
		return "textphone", true
	}
	return "", false
}

func (x *xmlWriter) related(kind, text string) {
	if text = oneLine(text); text == "" {
		return
	}
	x.open("related")
	x.typedParams([]string{kind})
	x.leaf("text", text)
	x.close()
}

func xcardContact(c *Contact, modified time.Time) (string, error) {
	x := newXMLWriter()
	x.xcardStart(&c.Common, modified, "individual", formattedName(c))
	n := c.Name
	if n != (Name{}) {
		x.open("n")
		x.leaf("surname", oneLine(n.Family))
		x.leaf("given", oneLine(n.Given))
		x.leaf("additional", oneLine(n.Additional))
		x.leaf("prefix", oneLine(n.Prefix))
		x.leaf("suffix", oneLine(n.Suffix))
		x.close()
	}
	x.textProp("note", c.Description)
	if t := oneLine(c.Title); t != "" {
		x.prop("title", "text", t)
	}
	// Kolab keeps organization, unit, role, manager and assistant together in an "Affiliation" group.
	if c.Organization != "" || c.Department != "" || c.Role != "" || c.Manager != "" || c.Assistant != "" {
		x.open("group", "name", "Affiliation")
		x.open("org")
		x.leaf("text", oneLine(c.Organization))
		if d := oneLine(c.Department); d != "" {
			x.leaf("text", d)
		}
		x.close()
		if r := oneLine(c.Role); r != "" {
			x.prop("role", "text", r)
		}
		x.related("x-manager", c.Manager)
		x.related("x-assistant", c.Assistant)
		x.close()
	}
	for _, u := range c.URLs {
		if u = oneLine(u); u != "" {
			x.prop("url", "uri", u)
		}
	}
	for _, a := range c.Addresses {
		var types []string
		if t := strings.ToLower(a.Type); t == "work" || t == "home" {
			types = []string{t}
		}
		var extra []xparam
		if l := cleanText(a.Label); l != "" {
			extra = append(extra, xparam{"label", "text", l})
		}
		x.open("adr")
		x.typedParams(types, extra...)
		x.leaf("pobox", oneLine(a.POBox))
		x.leaf("ext", oneLine(a.Extended))
		x.leaf("street", cleanText(a.Street))
		x.leaf("locality", oneLine(a.Locality))
		x.leaf("region", oneLine(a.Region))
		x.leaf("code", oneLine(a.Code))
		x.leaf("country", oneLine(a.Country))
		x.close()
	}
	if nick := oneLine(c.Nickname); nick != "" {
		x.prop("nickname", "text", nick)
	}
	x.related("spouse", c.Spouse)
	if !c.Birthday.IsZero() {
		x.prop("bday", "date", ical.FormatDate(c.Birthday))
	}
	if !c.Anniversary.IsZero() {
		x.prop("anniversary", "date", ical.FormatDate(c.Anniversary))
	}
	if c.Photo != nil && len(c.Photo.Data) > 0 {
		mt := oneLine(c.Photo.MIMEType)
		if mt == "" {
			mt = "image/jpeg"
		}
		// KEP 17 stores the picture inline as a data: URI (RFC 2397).
		x.prop("photo", "uri", "data:"+mt+";base64,"+base64.StdEncoding.EncodeToString(c.Photo.Data))
	}
	switch strings.ToUpper(c.Gender) {
	case "":
	case "M", "F":
		x.open("gender")
		x.leaf("sex", strings.ToUpper(c.Gender))
		x.close()
	default:
		return "", fmt.Errorf("gender: %q is not M, F or empty", c.Gender)
	}
	for _, p := range c.Phones {
		num := oneLine(p.Number)
		if num == "" {
			continue
		}
		var types []string
		for _, t := range p.Types {
			if k, ok := kolabPhoneType(t); ok {
				types = append(types, k)
			}
		}
		x.open("tel")
		x.typedParams(types)
		x.leaf("text", num)
		x.close()
	}
	for _, im := range c.IMAddresses {
		if im = oneLine(im); im != "" {
			x.prop("impp", "uri", im)
		}
	}
	var gen []Custom
	for _, e := range c.Emails {
		addr := oneLine(e.Address)
		if addr == "" {
			continue
		}
		var types []string
		if t := strings.ToLower(e.Type); t == "work" || t == "home" {
			types = []string{t}
		}
		x.open("email")
		x.typedParams(types)
		x.leaf("text", addr)
		x.close()
		if d := oneLine(e.Display); d != "" {
			gen = append(gen, Custom{emailDisplayCustom, d + " <" + addr + ">"})
		}
	}
	x.customs(customsWith(gen, c.Custom))
	x.xcardEnd()
	return x.String(), nil
}

func xcardDistList(d *DistList, modified time.Time) (string, error) {
	name := oneLine(d.Name)
	if name == "" {
		name = oneLine(d.Summary)
	}
	x := newXMLWriter()
	x.xcardStart(&d.Common, modified, "group", name)
	var gen []Custom
	for _, m := range d.Members {
		if m.Email == "" {
			if n := oneLine(m.Name); n != "" {
				gen = append(gen, Custom{memberNameCustom, n})
			}
			continue
		}
		x.prop("member", "uri", kolabMailto(m.Name, m.Email))
	}
	x.customs(customsWith(gen, d.Custom))
	x.xcardEnd()
	return x.String(), nil
}
