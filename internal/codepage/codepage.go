// Package codepage maps Windows code page numbers, which Outlook stores with 8-bit text (PST strings, RTF
// \ansicpg and \fcharset), to decoders. One table serves the PST reader and the RTF reader, so both read the
// same bytes the same way.
package codepage

import (
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
)

// Encoding is the decoder of a Windows code page (0 means Windows-1252, the default of Western Outlook), or
// nil for a code page this package does not know.
func Encoding(cp int) encoding.Encoding {
	switch cp {
	case 0, 1252:
		return charmap.Windows1252
	case 1250:
		return charmap.Windows1250
	case 1251:
		return charmap.Windows1251
	case 1253:
		return charmap.Windows1253
	case 1254:
		return charmap.Windows1254
	case 1255:
		return charmap.Windows1255
	case 1256:
		return charmap.Windows1256
	case 1257:
		return charmap.Windows1257
	case 1258:
		return charmap.Windows1258
	case 874:
		return charmap.Windows874
	case 437:
		return charmap.CodePage437
	case 850:
		return charmap.CodePage850
	case 852:
		return charmap.CodePage852
	case 855:
		return charmap.CodePage855
	case 858:
		return charmap.CodePage858
	case 860:
		return charmap.CodePage860
	case 862:
		return charmap.CodePage862
	case 863:
		return charmap.CodePage863
	case 865:
		return charmap.CodePage865
	case 866:
		return charmap.CodePage866
	case 10000:
		return charmap.Macintosh
	case 10007:
		return charmap.MacintoshCyrillic
	case 20866:
		return charmap.KOI8R
	case 21866:
		return charmap.KOI8U
	case 28591:
		return charmap.ISO8859_1
	case 28592:
		return charmap.ISO8859_2
	case 28593:
		return charmap.ISO8859_3
	case 28594:
		return charmap.ISO8859_4
	case 28595:
		return charmap.ISO8859_5
	case 28596:
		return charmap.ISO8859_6
	case 28597:
		return charmap.ISO8859_7
	case 28598, 38598:
		return charmap.ISO8859_8
	case 28599:
		return charmap.ISO8859_9
	case 28600:
		return charmap.ISO8859_10
	case 28603:
		return charmap.ISO8859_13
	case 28604:
		return charmap.ISO8859_14
	case 28605:
		return charmap.ISO8859_15
	case 28606:
		return charmap.ISO8859_16
	case 932:
		return japanese.ShiftJIS
	case 50220, 50221, 50222:
		return japanese.ISO2022JP
	case 51932, 20932:
		return japanese.EUCJP
	case 936:
		return simplifiedchinese.GBK
	case 54936:
		return simplifiedchinese.GB18030
	case 52936:
		return simplifiedchinese.HZGB2312
	case 949, 51949:
		return korean.EUCKR
	case 950:
		return traditionalchinese.Big5
	case 1200:
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	case 1201:
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
	}
	return nil
}
