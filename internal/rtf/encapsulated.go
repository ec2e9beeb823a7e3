package rtf

// Kind is the format of an encapsulated body.
type Kind int

const (
	// HTML: the document was converted from HTML and declares \fromhtml1 ([MS-OXRTFEX] 2.1.3.1.1).
	HTML Kind = iota + 1
	// Text: the document was converted from plain text and declares \fromtext ([MS-OXRTFEX] 2.1.3.1.2).
	Text
)

func (k Kind) String() string {
	switch k {
	case HTML:
		return "HTML"
	case Text:
		return "text"
	}
	return "unknown"
}

// Body is the original HTML or plain text an RTF document encapsulates.
type Body struct {
	Kind Kind
	// Text is the HTML document or the plain text, as UTF-8. Line breaks are CRLF, as the RTF wrote them.
	Text string
	// CodePage is the document's default code page (\ansicpgN). The text is already decoded, but an HTML
	// body may still name this code page in a <meta charset>; a caller that serves it as UTF-8 should
	// replace that.
	CodePage int
}

// Deencapsulate extracts the HTML or plain text an RTF document encapsulates ([MS-OXRTFEX] 2.2.3). The
// header, the part of the document before the first body content, must contain \fromhtml1 or \fromtext;
// otherwise the document is native RTF and the error is ErrNotEncapsulated (use ToText). The error is
// ErrNotRTF for input that is not RTF and ErrTooDeep for groups nested beyond MaxDepth.
//
// For HTML ([MS-OXRTFEX] 2.2.3.2): the content of \*\htmltag groups is copied, with \par as CRLF, \tab,
// the escapes \{ \} \\ \'hh \uN and the named characters decoded and other control words dropped; the
// HTMLTagParameter number is ignored, and the space that separates it from content starting with a digit
// is not content. Text outside those groups is copied unless \htmlrtf suppresses it. \'hh escapes are
// decoded in the default code page inside HTMLTAG groups and in the current font's code page (its
// \fcharset or \cpg) outside them. An \*\mhtmltag group is copied like an \*\htmltag group, and the
// \htmltag twin Outlook writes right after it (the same tag with the original MHTML links) is dropped.
//
// For text ([MS-OXRTFEX] 2.2.3.3): the document's text is copied, with \par and \line as CRLF.
func Deencapsulate(rtf []byte) (*Body, error) {
	rtf, err := checkRTF(rtf)
	if err != nil {
		return nil, err
	}
	w := newWalker(rtf, modeDetect)
	if err = w.run(); err != nil {
		return nil, err
	}
	var kind Kind
	switch w.mode {
	case modeHTML:
		kind = HTML
	case modePlain:
		kind = Text
	default:
		return nil, ErrNotEncapsulated
	}
	return &Body{Kind: kind, Text: w.out.String(), CodePage: w.defaultCP}, nil
}
