package rtf

import (
	"fmt"
	"strings"
	"testing"
)

// describe renders the tokens of src compactly: {, }, "text", \word or \wordN, \'hh, \symbol, bin(data).
func describe(src string) string {
	z := tokenizer{src: []byte(src)}
	var parts []string
	for {
		t := z.next()
		switch t.kind {
		case tokEOF:
			return strings.Join(parts, " ")
		case tokGroupStart:
			parts = append(parts, "{")
		case tokGroupEnd:
			parts = append(parts, "}")
		case tokText:
			parts = append(parts, fmt.Sprintf("%q", t.text))
		case tokControl:
			if t.hasParam {
				parts = append(parts, fmt.Sprintf(`\%s%d`, t.text, t.param))
			} else {
				parts = append(parts, `\`+string(t.text))
			}
		case tokHex:
			parts = append(parts, fmt.Sprintf(`\'%02x`, t.b))
		case tokSymbol:
			parts = append(parts, `\`+string(t.b))
		case tokBinary:
			parts = append(parts, fmt.Sprintf("bin(%q)", t.text))
		}
	}
}

func TestTokenizer(t *testing.T) {
	tests := []struct{ src, want string }{
		{`{\rtf1 x}`, `{ \rtf1 "x" }`},
		{`\b0\i-5 a  b`, `\b0 \i-5 "a  b"`},
		{`\par\tab1x`, `\par \tab1 "x"`},
		{`\a-b`, `\a "-b"`},
		{"a\r\nb\nc", `"a" "b" "c"`},
		{`\{\}\\`, `"{" "}" "\\"`},
		{`\'e9\'A0\'7`, `\'e9 \'a0 \'07`},
		{`\'g`, `\' "g"`},
		{`\*\htmltag84 <b>`, `\* \htmltag84 "<b>"`},
		{`\~\_\-`, `\~ \_ \-`},
		{"\\\r\n", `\par`},
		{`\bin3 {}\x`, `bin("{}\\") "x"`},
		{`\bin99 ab`, `bin("ab")`},
		{`\bin0 x`, `\bin0 "x"`},
		{`\u99999999999999999999?`, `\u2147483647 "?"`},
		{`\`, ``},
	}
	for _, tt := range tests {
		if got := describe(tt.src); got != tt.want {
			t.Errorf("%q: %s, want %s", tt.src, got, tt.want)
		}
	}
}
