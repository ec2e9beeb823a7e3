package oracle

import "testing"

// VCardResult is what vobject.readOne(validate=True) read from one vCard.
type VCardResult struct {
	Error     string      `json:"error"`
	LongLines int         `json:"long_lines"`
	Props     []VCardProp `json:"props"`
}

// VCardProp: Parts holds N (family, given, additional, prefix, suffix) and ADR (box, extended, street, city,
// region, code, country); List holds ORG and CATEGORIES; binary values (PHOTO;ENCODING=b) have Size and Value
// in base64; other values are in Value.
type VCardProp struct {
	Name   string              `json:"name"`
	Group  string              `json:"group"`
	Params map[string][]string `json:"params"`
	Value  string              `json:"value"`
	Parts  map[string]string   `json:"parts"`
	List   []string            `json:"list"`
	Size   int                 `json:"size"`
}

// All are the properties with the given name.
func (r VCardResult) All(name string) []VCardProp {
	var out []VCardProp
	for _, p := range r.Props {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// First is the first property with the given name (zero when there is none).
func (r VCardResult) First(name string) VCardProp {
	if all := r.All(name); len(all) > 0 {
		return all[0]
	}
	return VCardProp{}
}

// VCard parses every document with vobject.
func VCard(tb testing.TB, docs [][]byte) []VCardResult {
	tb.Helper()
	var res []VCardResult
	run(tb, "vcard", map[string]any{"docs": docs}, &res)
	checkCount(tb, "vcard", len(res), len(docs))
	return res
}
