package rtf

import (
	"html"
	"regexp"
	"strings"
	"unicode"
)

// The helpers here turn a stored body (PR_BODY, PR_HTML) and a parsed one into comparable word lists.
// They share no code with the parser: tags are removed with regular expressions and entities decoded by
// the standard library, so a parser bug cannot hide behind the same bug in the oracle.

var (
	htmlComment = regexp.MustCompile(`(?s)<!--.*?-->`)
	htmlHidden  = regexp.MustCompile(`(?is)<(style|script|head|title|xml)\b.*?</(style|script|head|title|xml)\s*>`)
	htmlTag     = regexp.MustCompile(`(?s)<[^>]*>`)
)

// htmlText is the text of an HTML document, roughly as a browser shows it.
func htmlText(doc string) string {
	doc = htmlComment.ReplaceAllString(doc, " ")
	doc = htmlHidden.ReplaceAllString(doc, " ")
	doc = htmlTag.ReplaceAllString(doc, " ")
	return html.UnescapeString(doc)
}

// words splits text into lower-case words: runs of letters and digits. A run of ideographs or kana (which
// have no spaces between words) is split into single characters, so that line wrapping does not matter.
func words(s string) []string {
	var out []string
	var cur strings.Builder
	end := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
			end()
			out = append(out, string(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur.WriteRune(r)
		default:
			end()
		}
	}
	end()
	return out
}

// containment is the share of the words of a (as a multiset) that b also has.
func containment(a, b []string) float64 {
	if len(a) == 0 {
		return 1
	}
	have := map[string]int{}
	for _, w := range b {
		have[w]++
	}
	found := 0
	for _, w := range a {
		if have[w] > 0 {
			have[w]--
			found++
		}
	}
	return float64(found) / float64(len(a))
}
