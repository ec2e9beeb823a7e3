package rtf

import (
	"errors"
	"strings"
	"testing"
)

// specHTMLRTF is the RTF of [MS-OXRTFEX] section 3.1, "Encapsulating HTML into RTF".
const specHTMLRTF = `{\rtf1\ANSI\ansicpg1251\fromhtml1 \deff0
{\fonttbl {\f0\fmodern Courier New;}{\f1\fswiss Arial;}{\f2\fswiss\fcharset0 Arial;}}
{\colortbl\red0\green0\blue0;\red0\green0\blue255;} 
{\*\htmltag64}
\uc1\pard\plain\deftab360 \f0\fs24
{\*\htmltag <HTML><head>\par
<style>\par
<!--\par
 /* Style Definitions */\par
 p.MsoNormal, li.MsoNormal \{font-family:Arial;\}\par
-->\par
</style>\par
\tab <!-- This is a HTML comment.\par
There is a horizontal tab (%x09) character before the comment, \par
and some new lines inside the comment. -->\par
</head>\par
<body>\par
<p\par
class="MsoNormal">}
{\htmlrtf \f1 \htmlrtf0 Note the line break inside a P tag. {\*\htmltag <b>}{\htmlrtf \b \htmlrtf0 This is a bold text{\*\htmltag </b>}} \htmlrtf\par\htmlrtf0}
\htmlrtf \par \htmlrtf0
{\*\htmltag </p>\par
<p class="MsoNormal">\par}
{\htmlrtf \f1 \htmlrtf0 This is a normal text with a character references:
{\*\htmltag &nbsp;}\htmlrtf \'a0\htmlrtf0  {\*\htmltag &lt;}\htmlrtf <\htmlrtf0  {\*\htmltag &uml;}\htmlrtf {\f2\'a8}\htmlrtf0{\*\htmltag <br>\par}\htmlrtf\line\htmlrtf0
characters which have special meaning in RTF: \{\}\\{\*\htmltag <br>\par}\htmlrtf\line\htmlrtf0\htmlrtf\par\htmlrtf0}
{\*\htmltag </p>\par
<ol>\par
    <li class="MsoNormal">}{\htmlrtf {{\*\pn\pnlvlbody\pndec\pnstart1\pnindent360{\pntxta.}}\li360\fi-360{\pntext 1.\tab} \f1 \htmlrtf0 This is a list item}\htmlrtf\par\htmlrtf0}
{\*\htmltag \par
</ol>\par
</body>\par
</HTML>\par }}`

// specHTML is the HTML the section's source document has, as a de-encapsulating reader following
// [MS-OXRTFEX] 2.2.3.2 recovers it: line breaks are the CRLFs of \par, the tab before the comment is the
// \tab, and the whitespace RTF does not keep (the line breaks between tags and text) is gone. The leading
// space is the one after the color table: text outside HTMLTAG groups that \htmlrtf does not suppress
// is part of the HTML.
const specHTML = " <HTML><head>\r\n<style>\r\n<!--\r\n /* Style Definitions */\r\n p.MsoNormal, li.MsoNormal {font-family:Arial;}\r\n-->\r\n</style>\r\n" +
	"\t<!-- This is a HTML comment.\r\nThere is a horizontal tab (%x09) character before the comment, \r\nand some new lines inside the comment. -->\r\n" +
	"</head>\r\n<body>\r\n<p\r\nclass=\"MsoNormal\">Note the line break inside a P tag. <b>This is a bold text</b> </p>\r\n" +
	"<p class=\"MsoNormal\">\r\nThis is a normal text with a character references:&nbsp; &lt; &uml;<br>\r\n" +
	"characters which have special meaning in RTF: {}\\<br>\r\n</p>\r\n<ol>\r\n    <li class=\"MsoNormal\">This is a list item\r\n" +
	"</ol>\r\n</body>\r\n</HTML>\r\n"

func TestDeencapsulateSpecExample(t *testing.T) {
	b, err := Deencapsulate([]byte(specHTMLRTF))
	if err != nil {
		t.Fatal(err)
	}
	if b.Kind != HTML || b.CodePage != 1251 {
		t.Errorf("Kind %v, CodePage %d; want HTML, 1251", b.Kind, b.CodePage)
	}
	if b.Text != specHTML {
		i := commonPrefix(b.Text, specHTML)
		t.Errorf("differs at byte %d:\n got %q\nwant %q", i, b.Text[i:], specHTML[i:])
	}
}

// rtfDoc wraps a body in the header Outlook writes for encapsulated HTML, with a Western, a Cyrillic and
// a Japanese font.
func htmlDoc(body string) string {
	return `{\rtf1\ansi\ansicpg1252\fromhtml1 \fbidis \deff0{\fonttbl{\f0\fswiss\fcharset0 Arial;}` +
		`{\f1\fswiss\fcharset204 Arial Cyr;}{\f2\fmodern\fcharset128 MS Gothic;}{\f3\fnil\fcharset2 Symbol;}}` +
		"\r\n{\\colortbl\\red0\\green0\\blue0;}\r\n{\\*\\htmltag64}" + body + "}"
}

func TestDeencapsulate(t *testing.T) {
	tests := []struct {
		name string
		rtf  string
		kind Kind
		want string
	}{
		{"tag parameter, then content", htmlDoc(`{\*\htmltag84 <b>}x{\*\htmltag92 </b>}`), HTML, "<b>x</b>"},
		{"no parameter: the space is the delimiter", htmlDoc(`{\*\htmltag <br>}`), HTML, "<br>"},
		{"content starting with a digit after a space", htmlDoc(`{\*\htmltag 12}{\*\htmltag0 34}`), HTML, "1234"},
		{"a second space is content", htmlDoc(`{\*\htmltag4  }`), HTML, " "},
		{"content right after the parameter", htmlDoc(`{\*\htmltag84<i>}`), HTML, "<i>"},
		{"\\par and \\tab in a tag", htmlDoc(`{\*\htmltag0 \par \tab x}`), HTML, "\r\n\tx"},
		{"\\line in a tag is not a line break", htmlDoc(`{\*\htmltag0 a\line b}`), HTML, "ab"},
		{"escapes", htmlDoc(`{\*\htmltag0 \{\}\\}a\{b\}`), HTML, `{}\a{b}`},
		{"htmlrtf suppresses text and marks", htmlDoc(`\htmlrtf {\b x}\par\htmlrtf0 y`), HTML, "y"},
		{"htmlrtf state is scoped by groups", htmlDoc(`{\htmlrtf a{b\htmlrtf0 c}d\htmlrtf0 e}f`), HTML, "cef"},
		{"htmltag content is copied while htmlrtf is on", htmlDoc(`\htmlrtf {\*\htmltag0 <p>}x\htmlrtf0`), HTML, "<p>"},
		{"htmlrtf1 is on, htmlrtf0 off", htmlDoc(`\htmlrtf1 x\htmlrtf0 y`), HTML, "y"},
		{"hex in the current font's code page", htmlDoc(`{\f1 \'cf\'f0\'e8\'e2\'e5\'f2}`), HTML, "Привет"},
		{"font change under htmlrtf still applies", htmlDoc(`{\htmlrtf \f1 \htmlrtf0 \'e4\'e0}`), HTML, "да"},
		{"hex in a tag uses the default code page", htmlDoc(`{\f1 {\*\htmltag0 \'e9}\'e9}`), HTML, "éй"},
		{"double-byte characters", htmlDoc(`{\f2 \'82\'a0\'93\'fa\'96\'7b}`), HTML, "あ日本"},
		{"symbol font as Windows-1252", htmlDoc(`{\f3 \'b7}`), HTML, "·"},
		{"unicode with fallback", htmlDoc(`\uc1 \u8364?{\*\htmltag0 \u8212-}`), HTML, "€—"},
		{"unicode, two fallback bytes", htmlDoc(`\uc2\u26085\'93\'fa!`), HTML, "日!"},
		{"negative unicode and a surrogate pair", htmlDoc(`\u-3913?\u-10179?\u-8704?`), HTML, "\uf0b7\U0001F600"},
		{"lone surrogate", htmlDoc(`\u-10179?x`), HTML, "\ufffdx"},
		{"named characters", htmlDoc(`\lquote a\rquote \ldblquote b\rdblquote \bullet\endash\emdash\~\_`), HTML, "‘a’“b”•–—\u00a0\u00ad"},
		{"ignorable destinations are skipped", htmlDoc(`a{\*\bkmkstart x}{\*\unknown {\*\htmltag0 no} no}b`), HTML, "ab"},
		{"field instruction skipped, result kept", htmlDoc(`{\field{\*\fldinst{HYPERLINK "x"}}{\fldrslt\ul y}}`), HTML, "y"},
		{"mhtmltag replaces its htmltag twin",
			htmlDoc(`{\*\mhtmltag84 <img src="http://host/a.gif">}` + "\r\n" + `{\*\htmltag84 <img src="a.gif">}{\*\htmltag84 <br>}`),
			HTML, `<img src="http://host/a.gif"><br>`},
		{"htmltag after text is no twin",
			htmlDoc(`{\*\mhtmltag84 <a href="http://h/">}x{\*\htmltag84 <a>}`), HTML, `<a href="http://h/">x<a>`},
		{"htmltag with another parameter is no twin",
			htmlDoc(`{\*\mhtmltag84 <img src="http://h/b">}{\*\htmltag92 </a>}`), HTML, `<img src="http://h/b"></a>`},
		{"htmlbase is a placeholder", htmlDoc(`{\*\mhtmltag84 <a href="\htmlbase page.html">}`), HTML, `<a href="page.html">`},
		{"header words in a tag are ignored", htmlDoc(`{\*\htmltag0 a\b\i0\f1 b}`), HTML, "ab"},
		{"empty body", `{\rtf1\ansi\fromhtml1 {\fonttbl}}`, HTML, ""},
		{"htmltag in the font table is not content", `{\rtf1\ansi\fromhtml1 {\fonttbl{\f0 A{\*\htmltag0 x};}}{\*\htmltag0 y}}`, HTML, "y"},
		{"fromhtml without parameter", `{\rtf1\ansi\fromhtml{\*\htmltag0 <p>}}`, HTML, "<p>"},
		{"text after the document is ignored", htmlDoc(`x`) + "y}\x00\x00", HTML, "x"},

		{"fromtext", `{\rtf1\ansi\ansicpg1251\fromtext \deff0{\fonttbl{\f0\fmodern\fcharset204 Courier;}}` + "\r\n" +
			`\f0 Line one\par \'cf\'f0\'e8\'e2\'e5\'f2\tab x\line end{\*\htmltag0 <p>}}`, Text, "Line one\r\nПривет\tx\r\nend"},
		{"fromtext after other header words", `{\rtf1\ansi\fbidis\ansicpg1252\deff0\deftab720\fromtext{\fonttbl{\f0\fswiss\fcharset0 Times New Roman;}}` +
			`\pard\plain\fs20\f0{Body}}`, Text, "Body"},
		{"fromtext ignores what htmlrtf hides", `{\rtf1\fromtext a\htmlrtf b\htmlrtf0 c}`, Text, "ac"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Deencapsulate([]byte(tt.rtf))
			if err != nil {
				t.Fatalf("Deencapsulate: %v", err)
			}
			if b.Kind != tt.kind || b.Text != tt.want {
				t.Errorf("Deencapsulate = %v %q, want %v %q", b.Kind, b.Text, tt.kind, tt.want)
			}
		})
	}
}

func TestDeencapsulateErrors(t *testing.T) {
	tests := []struct {
		name string
		rtf  string
		want error
	}{
		{"native RTF", `{\rtf1\ansi\deff0{\fonttbl{\f0 Arial;}}\pard Hello\par}`, ErrNotEncapsulated},
		{"fromhtml after body text", `{\rtf1\ansi Hello \fromhtml1 {\*\htmltag0 <p>}}`, ErrNotEncapsulated},
		{"fromhtml after a paragraph mark", `{\rtf1\ansi\par\fromhtml1}`, ErrNotEncapsulated},
		{"htmltag without fromhtml", `{\rtf1\ansi{\*\htmltag64}{\*\htmltag0 <p>}}`, ErrNotEncapsulated},
		{"fromhtml0", `{\rtf1\ansi\fromhtml0 {\*\htmltag0 <p>}}`, ErrNotEncapsulated},
		{"fromhtml inside a header destination", `{\rtf1\ansi{\info{\title \fromhtml1}}x}`, ErrNotEncapsulated},
		{"empty native document", `{\rtf1}`, ErrNotEncapsulated},
		{"not RTF", `<html>`, ErrNotRTF},
		{"empty", ``, ErrNotRTF},
		{"too deep", `{\rtf1\fromhtml1 ` + strings.Repeat("{", MaxDepth+1), ErrTooDeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Deencapsulate([]byte(tt.rtf))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Deencapsulate = %+v, %v; want %v", b, err, tt.want)
			}
		})
	}
}
