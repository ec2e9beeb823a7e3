package oracle

import (
	"strings"
	"testing"
)

// XMLNode is an element as Python's xml.etree.ElementTree read it, namespace dropped from the tag. Text is
// the element's text (stripped when it has children).
type XMLNode struct {
	Tag      string            `json:"tag"`
	Attrs    map[string]string `json:"attrs"`
	Text     string            `json:"text"`
	Children []XMLNode         `json:"children"`
}

// XMLResult is one parsed document.
type XMLResult struct {
	Error string  `json:"error"`
	Root  XMLNode `json:"root"`
}

// All are the descendants at a slash-separated path of child tags ("attendee/smtp-address").
func (n XMLNode) All(path string) []XMLNode {
	cur := []XMLNode{n}
	for _, tag := range strings.Split(path, "/") {
		var next []XMLNode
		for _, c := range cur {
			for _, ch := range c.Children {
				if ch.Tag == tag {
					next = append(next, ch)
				}
			}
		}
		cur = next
	}
	return cur
}

// Text is the text of the first node at path, "" when there is none.
func (n XMLNode) TextAt(path string) string {
	if all := n.All(path); len(all) > 0 {
		return all[0].Text
	}
	return ""
}

// XML parses every document with xml.etree.ElementTree (the Kolab v2 format has no library reader).
func XML(tb testing.TB, docs [][]byte) []XMLResult {
	tb.Helper()
	var res []XMLResult
	run(tb, "xml", map[string]any{"docs": docs}, &res)
	checkCount(tb, "xml", len(res), len(docs))
	return res
}
