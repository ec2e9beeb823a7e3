package rtf

// ToText renders an RTF document as plain text, for items whose only body is native RTF. Paragraphs,
// line, section and page breaks and table rows end with CRLF; tabs and table cells become tab characters;
// \'hh escapes are decoded in the current font's code page and \uN as Unicode (with \ucN fallback
// characters dropped). Destinations that hold no text are skipped: the font, color and style tables,
// document information, pictures, objects, headers and footers, field instructions (\fldinst, while the
// field result \fldrslt is kept) and every ignorable destination {\*\...}, which includes the HTML an
// encapsulating document carries.
//
// The error is ErrNotRTF for input that is not RTF and ErrTooDeep for groups nested beyond MaxDepth.
func ToText(rtf []byte) (string, error) {
	rtf, err := checkRTF(rtf)
	if err != nil {
		return "", err
	}
	w := newWalker(rtf, modeRender)
	if err = w.run(); err != nil {
		return "", err
	}
	return w.out.String(), nil
}
