package rtf

// defaultCodePage is the code page of a document that names none: \ansi, [MSFT-RTF]'s default character
// set, is Windows-1252.
const defaultCodePage = 1252

// charsetCodePage maps a font's \fcharsetN to the Windows code page its text is written in ([MSFT-RTF]
// "Font Table"). 0 means "the document's default code page": DEFAULT_CHARSET (1) says so, and so does a
// charset this package does not know.
//
// SYMBOL_CHARSET (2) fonts such as Symbol and Wingdings have no code page; their bytes are glyph numbers.
// They are decoded as Windows-1252, which turns the common ones (the \'b7 bullet of Outlook's lists, the
// ASCII letters Wingdings draws as smileys) into the character a plain-text reader expects.
func charsetCodePage(charset int) int {
	switch charset {
	case 0, 2:
		return 1252
	case 77:
		return 10000
	case 128:
		return 932
	case 129:
		return 949
	case 134:
		return 936
	case 136:
		return 950
	case 161:
		return 1253
	case 162:
		return 1254
	case 163:
		return 1258
	case 177:
		return 1255
	case 178:
		return 1256
	case 186:
		return 1257
	case 204:
		return 1251
	case 222:
		return 874
	case 238:
		return 1250
	case 254:
		return 437
	case 255:
		return 850
	}
	return 0
}
