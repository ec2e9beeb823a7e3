package rtf

import (
	"errors"
	"strings"
	"testing"
)

func TestToText(t *testing.T) {
	tests := []struct {
		name string
		rtf  string
		want string
	}{
		{"paragraphs", `{\rtf1\ansi Hello\par World\par}`, "Hello\r\nWorld\r\n"},
		{"raw line breaks are not text", "{\\rtf1 Hel\r\nlo\n world}", "Hello world"},
		{"backslash line break is a paragraph", "{\\rtf1 a\\\r\nb}", "a\r\nb"},
		{"tabs, lines, cells and rows", "{\\rtf1 a\\tab b\\line c\\cell d\\row\tx}", "a\tb\r\nc\td\r\n\tx"},
		{"Windows-1251 hex", `{\rtf1\ansi\ansicpg1251\deff0{\fonttbl{\f0\fnil Arial;}}\f0 \'cf\'f0\'e8\'e2\'e5\'f2\par}`, "Привет\r\n"},
		{"per-font charsets", `{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fcharset238 Arial CE;}{\f1\fcharset161 Arial Greek;}{\f2\fcharset0 Arial;}}` +
			`\'b9{\f1 \'e1\'e2}\f2\'e9\plain\'b9}`, "ąαβéą"},
		{"font table without inner groups", `{\rtf1\ansi{\fonttbl\f0\fcharset0 Arial;\f1\fcharset204 Arial Cyr;}\f1 \'c0}`, "А"},
		{"cpg takes precedence over fcharset", `{\rtf1{\fonttbl{\f0\fcharset0\cpg1253 X;}}\f0\'e1}`, "α"},
		{"DEFAULT_CHARSET uses ansicpg", `{\rtf1\ansi\ansicpg1251{\fonttbl{\f0\fcharset1 X;}}\f0\'c0}`, "А"},
		{"mac", `{\rtf1\mac \'8a}`, "ä"},
		{"Shift-JIS", `{\rtf1\ansi\ansicpg932 \'82\'a0\'82\'a2}`, "あい"},
		{"GBK font", `{\rtf1{\fonttbl{\f0\fcharset134 SimSun;}}\f0\'c4\'e3\'ba\'c3}`, "你好"},
		{"Big5 font", `{\rtf1{\fonttbl{\f0\fcharset136 MingLiU;}}\f0\'a4\'a4}`, "中"},
		{"UHC font", `{\rtf1{\fonttbl{\f0\fcharset129 Gulim;}}\f0\'c7\'d1}`, "한"},
		{"Thai font", `{\rtf1{\fonttbl{\f0\fcharset222 Tahoma;}}\f0\'a1}`, "ก"},
		{"Hebrew, Arabic, Turkish, Baltic", `{\rtf1{\fonttbl{\f0\fcharset177 A;}{\f1\fcharset178 B;}{\f2\fcharset162 C;}{\f3\fcharset186 D;}}` +
			`\f0\'e0\f1\'c7\f2\'fd\f3\'e0}`, "אاıą"},
		{"unicode with uc1", `{\rtf1\uc1\u1055?\u1088?\u1080 ?}`, "При"},
		{"unicode with uc2 and hex fallback", `{\rtf1\uc2\u26085\'93\'fa\u26412\'96\'7b!}`, "日本!"},
		{"unicode with uc0", `{\rtf1\uc0\u1055\u1088}`, "Пр"},
		{"fallback skip stops at a group", `{\rtf1\uc3\u1055{x}y}`, "Пxy"},
		{"uc is scoped by groups", `{\rtf1{\uc2\u1055 ab}\u1055 ab}`, "ПП" + "b"},
		{"default uc is 1", `{\rtf1\u8364 ?x}`, "€x"},
		{"escapes", `{\rtf1 \{a\}\\}`, `{a}\`},
		{"special symbols", `{\rtf1 a\~b\_c\-d\|e}`, "a\u00a0b\u2011cde"},
		{"nested groups", `{\rtf1 a{\b b{\i c}}{{{d}}}e}`, "abcde"},
		{"field result kept, instruction skipped",
			`{\rtf1 see {\field{\*\fldinst{HYPERLINK "http://example.com/"}}{\fldrslt{\ul\cf1 the site}}} now}`, "see the site now"},
		{"old-style field instruction", `{\rtf1 {\field{\fldinst HYPERLINK x}{\fldrslt y}}}`, "y"},
		{"header tables and info skipped",
			`{\rtf1\ansi{\fonttbl{\f0 Arial;}}{\colortbl;\red255\green0\blue0;}{\stylesheet{\s0 Normal;}}{\info{\title T}{\author A}}` +
				`{\*\generator Riched20;}\pard x}`, "x"},
		{"picture with binary data skipped", `{\rtf1 a{\pict\wmetafile8\bin4 }{x{}b}`, "ab"},
		{"object skipped", `{\rtf1 a{\object\objemb{\*\objdata 0102}{\result r}}b}`, "ab"},
		{"ignorable destinations skipped", `{\rtf1 a{\*\bkmkstart m}{\*\htmltag0 <p>}{\*\x {y}}b}`, "ab"},
		{"list text kept", `{\rtf1{\pntext\f0 \'b7\tab}item\par}`, "·\titem\r\n"},
		{"headers and footers skipped", `{\rtf1{\header h}{\footerr f}body}`, "body"},
		{"named characters", `{\rtf1 \lquote a\rquote \ldblquote b\rdblquote \bullet\endash\emdash}`, "‘a’“b”•–—"},
		{"encapsulated HTML is rendered as RTF", htmlDoc(`\htmlrtf {\*\htmltag0 <p>}x\htmlrtf0 y`), "xy"},
		{"surplus closing brace", `{\rtf1 a}}b`, "a"},
		{"unclosed group", `{\rtf1 a{b`, "ab"},
		{"hex with one digit", `{\rtf1 \'4x}`, "\x04x"},
		{"hex with no digit", `{\rtf1 \'zz}`, "zz"},
		{"backslash at the end", `{\rtf1 a\`, "a"},
		{"huge parameter saturates", `{\rtf1\uc99999999999999999999 \u65?x}`, "A"},
		{"leading whitespace", "\r\n {\\rtf1 x}", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToText([]byte(tt.rtf))
			if err != nil {
				t.Fatalf("ToText: %v", err)
			}
			if got != tt.want {
				t.Errorf("ToText = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestToTextErrors(t *testing.T) {
	tests := []struct {
		name string
		rtf  string
		want error
	}{
		{"not RTF", "plain text", ErrNotRTF},
		{"compressed RTF", string(specSimple), ErrNotRTF},
		{"too deep", `{\rtf1` + strings.Repeat("{", MaxDepth) + "x", ErrTooDeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ToText([]byte(tt.rtf)); !errors.Is(err, tt.want) {
				t.Fatalf("ToText error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestDepthLimit: MaxDepth groups are fine, one more is not; many groups one after another are fine.
func TestDepthLimit(t *testing.T) {
	ok := `{\rtf1` + strings.Repeat("{", MaxDepth-1) + "x" + strings.Repeat("}", MaxDepth)
	if got, err := ToText([]byte(ok)); err != nil || got != "x" {
		t.Errorf("%d groups deep: %q, %v", MaxDepth, got, err)
	}
	wide := `{\rtf1` + strings.Repeat(`{\b x}`, 200000) + "}"
	got, err := ToText([]byte(wide))
	if err != nil || len(got) != 200000 {
		t.Errorf("200000 groups in a row: %d bytes, %v", len(got), err)
	}
}

// TestSpecExampleAsText renders the encapsulating example of [MS-OXRTFEX] 3.1 the way an RTF reader that
// ignores the encapsulation shows it.
func TestSpecExampleAsText(t *testing.T) {
	got, err := ToText([]byte(specHTMLRTF))
	if err != nil {
		t.Fatal(err)
	}
	want := " Note the line break inside a P tag. This is a bold text \r\n\r\n" +
		"This is a normal text with a character references:\u00a0 < \u00a8\r\ncharacters which have special meaning in RTF: {}\\\r\n\r\n" +
		"1.\t This is a list item\r\n"
	if got != want {
		t.Errorf("ToText =\n%q\nwant\n%q", got, want)
	}
}
