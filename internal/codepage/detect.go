package codepage

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// FromLocale returns the ANSI code page Windows uses for a locale ID (LCID, as in PR_MESSAGE_LOCALE_ID), or
// 0 for a locale it does not know. The code page is what an Outlook running in that locale wrote 8-bit
// strings in.
func FromLocale(lcid int) int {
	primary, sub := lcid&0x3ff, lcid>>10
	switch primary {
	case 0x11: // Japanese
		return 932
	case 0x12: // Korean
		return 949
	case 0x04: // Chinese: Taiwan, Hong Kong and Macao write Big5; the PRC and Singapore GBK
		switch sub {
		case 0x01, 0x03, 0x05: // zh-TW, zh-HK, zh-MO
			return 950
		}
		return 936
	case 0x19, 0x22, 0x23, 0x02, 0x2f, 0x3f, 0x40, 0x44, 0x50, 0x6d, 0x85: // ru uk be bg mk kk ky tt mn ba sah
		return 1251
	case 0x1a: // Croatian, Serbian (Latin 1250, Cyrillic 1251), Bosnian
		if sub == 0x03 || sub == 0x07 || sub == 0x0c {
			return 1251
		}
		return 1250
	case 0x05, 0x0e, 0x15, 0x18, 0x1b, 0x1c, 0x24: // cs hu pl ro sk sq sl
		return 1250
	case 0x08: // Greek
		return 1253
	case 0x1f, 0x2c, 0x43: // Turkish, Azerbaijani (Latin), Uzbek (Latin)
		return 1254
	case 0x0d: // Hebrew
		return 1255
	case 0x01, 0x20, 0x29: // Arabic, Urdu, Farsi
		return 1256
	case 0x25, 0x26, 0x27: // Estonian, Latvian, Lithuanian
		return 1257
	case 0x2a: // Vietnamese
		return 1258
	case 0x1e: // Thai
		return 874
	case 0x00:
		return 0
	}
	return 1252
}

// guessCandidates are the ANSI code pages Guess chooses among, in the order that breaks ties: Western first,
// so that text it cannot tell apart keeps the default.
var guessCandidates = []int{1252, 1250, 1251, 1253, 1254, 1255, 1256, 1257, 874, 932, 936, 949, 950}

// Guess picks the Windows ANSI code page in which samples (8-bit strings read from one file: folder names,
// subjects) read most plausibly. ok is false when there is nothing to decide: every byte is ASCII, or no
// code page decodes all samples. It weighs what real text in each code page looks like: whole words in
// one script and one case pattern, kana in Japanese, the frequently used rows of the double-byte sets, few
// stray symbols. Mojibake fails these: Shift-JIS read as 1252 gives symbols and undefined bytes, Cyrillic
// read as 1252 gives words made only of accented letters, GBK read as Shift-JIS gives half-width katakana.
func Guess(samples [][]byte) (cp int, ok bool) {
	ascii := true
	for _, s := range samples {
		for _, c := range s {
			if c >= 0x80 {
				ascii = false
				break
			}
		}
	}
	if ascii {
		return 0, false
	}
	best, bestScore := 0, 0.0
	for _, c := range guessCandidates {
		score, valid := plausibility(samples, c)
		if !valid {
			continue
		}
		if best == 0 || score > bestScore {
			best, bestScore = c, score
		}
	}
	return best, best != 0
}

// plausibility scores samples decoded in code page cp; valid is false when some bytes are not text in cp.
func plausibility(samples [][]byte, cp int) (score float64, valid bool) {
	enc := Encoding(cp)
	for _, s := range samples {
		out, err := enc.NewDecoder().Bytes(s)
		if err != nil || !validText(string(out)) {
			return 0, false
		}
		if isDoubleByte(cp) {
			score += doubleByteScore(s, string(out), cp)
		} else {
			score += singleByteScore(string(out))
		}
	}
	return score, true
}

func isDoubleByte(cp int) bool { return cp == 932 || cp == 936 || cp == 949 || cp == 950 }

// validText rejects what decoders make of bytes that are not text in a code page: the replacement
// character, private-use characters and C1 controls.
func validText(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || r >= 0xe000 && r <= 0xf8ff || r >= 0x80 && r <= 0x9f {
			return false
		}
	}
	return true
}

// doubleByteScore scores the characters of s (its bytes raw) by where they sit in the code page: the rows of
// frequently used characters, kana for Japanese, Hangul syllables for Korean score; rarely used rows,
// half-width katakana and symbols of other scripts count against.
func doubleByteScore(raw []byte, decoded string, cp int) float64 {
	score := 0.0
	runes := []rune(decoded)
	ri := 0
	for i := 0; i < len(raw); {
		lead := raw[i]
		if lead < 0x80 {
			i++
			ri++
			continue
		}
		if cp == 932 && lead >= 0xa1 && lead <= 0xdf {
			score -= 3 // half-width katakana: legacy, rare in text people type
			i++
			ri++
			continue
		}
		if i+1 >= len(raw) {
			break
		}
		trail := raw[i+1]
		i += 2
		var r rune
		if ri < len(runes) {
			r = runes[ri]
		}
		ri++
		score += pairScore(cp, lead, trail, r)
	}
	return score
}

func pairScore(cp int, lead, trail byte, r rune) float64 {
	switch cp {
	case 932:
		switch {
		case lead == 0x82 || lead == 0x83 && trail <= 0x96:
			return 4 // hiragana, katakana: Japanese
		case lead == 0x81:
			return 0 // punctuation
		case lead >= 0x88 && lead <= 0x98:
			return 3 // JIS level 1 kanji
		case lead >= 0x99 && lead <= 0x9f || lead >= 0xe0 && lead <= 0xea:
			return 0 // JIS level 2 kanji
		}
		return -2
	case 936:
		switch {
		case trail < 0xa1 || lead < 0xa1 || lead > 0xf7:
			return -2 // GBK extension rows: rare characters
		case lead >= 0xb0 && lead <= 0xd7:
			if strings.ContainsRune(frequentSimplified, r) {
				return 5
			}
			return 3 // GB2312 level 1
		case lead >= 0xd8:
			return 0 // level 2
		case lead == 0xa1 || lead == 0xa3:
			return 0 // punctuation, full-width ASCII
		}
		return -1
	case 950:
		switch {
		case lead >= 0xa4 && (lead < 0xc6 || lead == 0xc6 && trail < 0xa1):
			if strings.ContainsRune(frequentTraditional, r) {
				return 5
			}
			return 3 // frequently used characters
		case lead >= 0xc9 && lead <= 0xf9:
			return 0 // less frequently used characters
		case lead >= 0xa1 && lead <= 0xa3:
			return 0 // punctuation
		}
		return -1
	case 949:
		switch {
		case lead >= 0xb0 && lead <= 0xc8 && trail >= 0xa1:
			if strings.ContainsRune(frequentHangul, r) {
				return 5
			}
			return 3 // the 2,350 Hangul syllables of KS X 1001
		case lead == 0xa1 || lead == 0xa3:
			return 0
		case lead < 0xa1 || trail < 0xa1:
			return 0 // UHC extension syllables
		}
		return -1 // Hanja and symbols of other scripts
	}
	return 0
}

// westernSymbols are non-letters common in Western text; other symbols from the upper half of a
// single-byte code page are what mojibake is made of.
const westernSymbols = "–—‘’“”«»€°·•…§©®™\u00a0¿¡£"

// singleByteScore scores text decoded from a single-byte code page word by word: a word of letters in one
// script, with capitals only at its start (or all capitals), and (for Latin) mostly ASCII letters, is
// plausible.
func singleByteScore(s string) float64 {
	score := 0.0
	word := make([]rune, 0, 32)
	flush := func() {
		if len(word) > 0 {
			score += wordScore(word)
			word = word[:0]
		}
	}
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsMark(r) {
			word = append(word, r)
			continue
		}
		flush()
		if r >= 0x80 && !strings.ContainsRune(westernSymbols, r) {
			score -= 1.5
		}
	}
	flush()
	return score
}

func wordScore(word []rune) float64 {
	nonASCII, latinNonASCII := 0, 0
	var script *unicode.RangeTable
	mixed := false
	for _, r := range word {
		if r < 0x80 {
			if script != nil && script != unicode.Latin {
				mixed = true
			}
			continue
		}
		nonASCII++
		sc := scriptOf(r)
		if sc == unicode.Latin {
			latinNonASCII++
		}
		if script == nil {
			script = sc
		} else if sc != script {
			mixed = true
		}
	}
	if nonASCII == 0 {
		return 0
	}
	if script != unicode.Latin && nonASCII < len(word) {
		mixed = true // ASCII letters inside a Cyrillic (Greek, …) word
	}
	plausible := !mixed && casePlausible(word)
	if script == unicode.Latin && 2*latinNonASCII > len(word) && len(word) > 2 {
		plausible = false // Western words are mostly unaccented letters
	}
	if plausible {
		return 1.6 * float64(nonASCII)
	}
	return -2 * float64(nonASCII)
}

func scriptOf(r rune) *unicode.RangeTable {
	for _, t := range []*unicode.RangeTable{unicode.Latin, unicode.Cyrillic, unicode.Greek, unicode.Hebrew, unicode.Arabic, unicode.Thai} {
		if unicode.Is(t, r) {
			return t
		}
	}
	return nil
}

// casePlausible: capitals only at the start of a word, or the whole word in capitals.
func casePlausible(word []rune) bool {
	lower, upperInside := false, false
	for i, r := range word {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r) && i > 0:
			upperInside = true
		}
	}
	return !(lower && upperInside)
}

// frequentSimplified, frequentTraditional and frequentHangul are among the most used characters of
// Chinese (simplified, traditional) and Korean, with the words of mail folders. Text in its own code page
// hits them often; text in another code page, read as this one, only by chance.
const (
	frequentSimplified  = "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从知件箱发送已删除邮垃圾草稿存档联系日历任务通讯录收信息请问题新月号谢您"
	frequentTraditional = "的一是不了人我在有他這為之大來以個中上們到說國和地也子時道出而要於就下得可你年生自會那後能對著事其裡所去行過家十用發天如然作方成者多日都三小軍二無同麼經法當起與好看學進種將還分此心前面又定見只主沒公從知件匣寄備份刪除郵垃圾草稿封存連絡行事曆工作收信息請問題新月號謝您"
	frequentHangul      = "이다의는에을한하고가지기로서사리를대어아자수도그나시있인정보전일해제부거만게라요니오우주원들것내보문편함받은낸임시관메일연락처작업약속휴지통정크스팸보관합회안녕세감드립습까"
)

// Decodes reports whether every sample is text in code page cp: no byte sequence that the code page does
// not define.
func Decodes(samples [][]byte, cp int) bool {
	enc := Encoding(cp)
	if enc == nil {
		return false
	}
	for _, s := range samples {
		out, err := enc.NewDecoder().Bytes(s)
		if err != nil || !validText(string(out)) {
			return false
		}
	}
	return true
}
