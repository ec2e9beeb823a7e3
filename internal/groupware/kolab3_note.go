package groupware

import "time"

// kolabNote is the Kolab v3 note (KEP 17 "Note"; kolabformat.xsd element note): uid, prodid, creation-date,
// last-modification-date, categories, classification, attachments, summary, description, color, x-custom.
func kolabNote(n *Note, cids []string, created, modified time.Time) (string, error) {
	x := newXMLWriter()
	x.open("note", "xmlns", "http://kolab.org", "version", "3.0")
	x.leaf("uid", oneLine(n.UID))
	x.leaf("prodid", productID(&n.Common))
	x.leaf("creation-date", utcXCal(created))
	x.leaf("last-modification-date", utcXCal(modified))
	for _, c := range n.Categories {
		if c = oneLine(c); c != "" {
			x.leaf("categories", c)
		}
	}
	if n.Class != "" {
		x.leaf("classification", string(n.Class))
	}
	for i, a := range n.Attachments {
		x.open("attachment")
		x.open("parameters")
		x.leaf("fmttype", attachmentType(a))
		if f := oneLine(a.Filename); f != "" {
			x.leaf("x-label", f)
		}
		x.close()
		x.leaf("uri", "cid:"+cids[i])
		x.close()
	}
	x.leaf("summary", cleanText(n.Summary))
	x.leaf("description", cleanText(n.Description))
	if c := noteColorRGB(n.Color); c != "" {
		x.leaf("color", c)
	}
	for _, c := range n.Custom {
		x.open("x-custom")
		x.leaf("identifier", oneLine(c.Name))
		x.leaf("value", cleanText(c.Value))
		x.close()
	}
	x.close()
	return x.String(), nil
}

// noteColorRGB is the "#RRGGBB" form Kolab notes use for Outlook's five note colours (the RGB values Outlook
// shows them in). An RGB value passes through.
func noteColorRGB(name string) string {
	switch name {
	case "blue":
		return "#ADD8E6"
	case "green":
		return "#90EE90"
	case "pink":
		return "#FFC0CB"
	case "yellow":
		return "#FFFF99"
	case "white":
		return "#FFFFFF"
	}
	if len(name) == 7 && name[0] == '#' {
		return name
	}
	return ""
}
