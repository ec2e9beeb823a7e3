package rtf

import (
	"bytes"
	"fmt"
)

// MaxDepth is the deepest group nesting the parsers accept. Real documents stay far below it; a deeper one
// fails with ErrTooDeep rather than growing the state stack without limit.
const MaxDepth = 1000

// walkMode is what a walk extracts.
type walkMode uint8

const (
	// modeDetect: Deencapsulate reading the header, not yet knowing whether the document encapsulates
	// anything. The first body content ends the walk if no \fromhtml1 or \fromtext came before it.
	modeDetect walkMode = iota
	modeHTML            // [MS-OXRTFEX] 2.2.3.2: de-encapsulating HTML
	modePlain           // [MS-OXRTFEX] 2.2.3.3: de-encapsulating plain text
	modeRender          // ToText: rendering native RTF as text
)

// destination is where the text of a group goes.
type destination uint8

const (
	destBody      destination = iota // the document's text
	destSkip                         // a destination whose content is not text (pictures, tables of properties, ...)
	destFontTable                    // \fonttbl: read for the fonts' code pages, not shown
	destHTMLTag                      // \*\htmltag or \*\mhtmltag ([MS-OXRTFEX] 2.1.3.1.4)
)

// groupState is the part of the reader's state that a group saves on "{" and restores on "}"
// ([MSFT-RTF] "Groups").
type groupState struct {
	dest     destination
	htmlrtf  bool // [MS-OXRTFEX] 2.1.3.1.3: RTF-only content, not part of the encapsulated document
	mhtml    bool // the HTMLTAG destination is an \mhtmltag
	tagParam int  // its HTMLTagParameter
	font     int  // \fN in effect, -1 for the document default (\deffN)
	uc       int  // \ucN: fallback characters that follow each \uN
	fontDef  int  // in the font table: the font \fN is describing
}

// fontCodePage is what the font table says about one font.
type fontCodePage struct {
	charset int // code page from \fcharsetN, 0 for the document's default
	cpg     int // code page from \cpgN, which takes precedence
}

// walker interprets the tokens of one document. It is a single pass with no backtracking, and keeps only
// the group stack and the font table, so time and memory are linear in the input.
type walker struct {
	z     tokenizer
	mode  walkMode
	st    groupState
	stack []groupState

	fresh     bool // just after "{": a \* or a destination control word may follow
	ignorable bool // "{\*" seen: the next control word names an ignorable destination
	skip      int  // fallback characters of the last \uN still to drop

	defaultCP   int // \ansicpgN, or the one \ansi, \mac, \pc or \pca imply
	ansicpgSeen bool
	defaultFont int // \deffN
	fonts       map[int]fontCodePage
	out         textOutput
	bodyStarted bool // modeDetect: body content reached without \fromhtml1 or \fromtext
	twinArmed   bool // an \mhtmltag group just closed: its \htmltag twin may follow
	twinParam   int
}

// textPrealloc bounds the room made for a walk's text up front.
const textPrealloc = 1 << 20

func newWalker(src []byte, mode walkMode) *walker {
	w := &walker{
		z:         tokenizer{src: src},
		mode:      mode,
		st:        groupState{font: -1, uc: 1, fontDef: -1},
		defaultCP: defaultCodePage,
		fonts:     map[int]fontCodePage{},
	}
	// The text is rarely more than half of the document around it (an encapsulated HTML body is most of
	// it): room for that at once saves growing the output step by step, copying it each time. Capped, as
	// a large document is mostly pictures and other data that is not text.
	w.out.sb.Grow(min(len(src)/2, textPrealloc))
	return w
}

// checkRTF rejects input that is not an RTF document at all, and returns the document without the
// whitespace that may precede it.
func checkRTF(src []byte) ([]byte, error) {
	trimmed := bytes.TrimLeft(src, " \t\r\n")
	if !bytes.HasPrefix(trimmed, []byte(`{\rtf`)) {
		head := trimmed[:min(len(trimmed), 16)]
		return nil, fmt.Errorf("%w: starts with %q, not {\\rtf", ErrNotRTF, head)
	}
	return trimmed, nil
}

// run walks the document until its outermost group closes or the input ends. Text after the outermost
// group (NUL padding, for example) is not part of the document and is ignored, as are surplus "}".
func (w *walker) run() error {
	for {
		t := w.z.next()
		switch t.kind {
		case tokEOF:
			return nil
		case tokGroupStart:
			if len(w.stack) >= MaxDepth {
				return fmt.Errorf("%w: more than %d groups open at byte %d", ErrTooDeep, MaxDepth, t.offset)
			}
			w.stack = append(w.stack, w.st)
			w.fresh, w.ignorable, w.skip = true, false, 0
			continue
		case tokGroupEnd:
			if len(w.stack) == 0 {
				continue
			}
			closed := w.st
			w.st = w.stack[len(w.stack)-1]
			w.stack = w.stack[:len(w.stack)-1]
			w.fresh, w.ignorable, w.skip = false, false, 0
			if closed.dest == destHTMLTag && closed.mhtml && w.st.dest != destHTMLTag {
				w.twinArmed, w.twinParam = true, closed.tagParam
			}
			if len(w.stack) == 0 {
				return nil
			}
			continue
		}
		if w.st.dest == destSkip {
			continue
		}
		fresh, ignorable := w.fresh, w.ignorable
		w.fresh, w.ignorable = false, false
		if fresh && t.kind == tokSymbol && t.b == '*' {
			// [MSFT-RTF] "Destinations": "{\*\name" marks a destination a reader that does not know it
			// must skip, group and all.
			w.fresh, w.ignorable = true, true
			continue
		}
		if ignorable {
			w.ignorableDestination(t)
			continue
		}
		if w.skip > 0 {
			// [MSFT-RTF] \ucN: the N characters after \uN are the fallback for readers without Unicode;
			// a byte of text, a \'hh escape and a control word or symbol each count as one.
			if t.kind == tokText && len(t.text) > w.skip {
				t.text = t.text[w.skip:]
				w.skip = 0
			} else {
				if t.kind == tokText {
					w.skip -= len(t.text)
				} else {
					w.skip--
				}
				continue
			}
		}
		switch t.kind {
		case tokText:
			w.text(t.text)
		case tokHex:
			if cp, ok := w.sink(); ok {
				w.out.writeByte(t.b, cp)
			}
		case tokSymbol:
			w.symbol(t.b)
		case tokControl:
			w.control(t)
		}
		if w.bodyStarted {
			return nil
		}
	}
}

// ignorableDestination handles the token after "{\*".
func (w *walker) ignorableDestination(t token) {
	if t.kind == tokControl && (w.mode == modeHTML || w.mode == modeDetect) && w.st.dest != destFontTable {
		name := string(t.text)
		if name == "htmltag" || name == "mhtmltag" {
			if w.mode == modeDetect {
				w.bodyStarted = true // encapsulated HTML content, but the header never said so
				return
			}
			if name == "htmltag" && w.twinArmed && t.param == w.twinParam {
				// The \htmltag Outlook writes right after an \mhtmltag is the same tag with the links as
				// the original MHTML had them; the \mhtmltag version is the one for plain HTML
				// ([MSFT-RTF] "\*\mhtmltag"), so the twin is dropped and the tag appears once.
				w.twinArmed = false
				w.st.dest = destSkip
				return
			}
			w.twinArmed = false
			w.st.dest, w.st.mhtml, w.st.tagParam = destHTMLTag, name == "mhtmltag", t.param
			return
		}
	}
	w.st.dest = destSkip
}

// sink says where text goes now: ok is false when it is dropped, else cp is the code page of its bytes.
func (w *walker) sink() (cp int, ok bool) {
	switch w.st.dest {
	case destBody:
		switch w.mode {
		case modeDetect:
			w.bodyStarted = true
			return 0, false
		case modeHTML, modePlain:
			if w.st.htmlrtf {
				return 0, false
			}
			w.twinArmed = false
		}
		return w.fontCodePage(), true
	case destHTMLTag:
		// [MS-OXRTFEX] 2.2.3.2: escapes in an HTMLTAG destination are interpreted in the default code
		// page, not the current font's.
		return w.defaultCP, true
	}
	return 0, false
}

func (w *walker) text(b []byte) {
	if w.mode == modeDetect && w.st.dest == destBody && len(bytes.Trim(b, " \t")) == 0 {
		return // spaces between header groups are not body text
	}
	if cp, ok := w.sink(); ok {
		for len(b) > 0 {
			// A literal tab character is a \tab ([MSFT-RTF] "Special Characters"); other bytes are text.
			i := bytes.IndexByte(b, '\t')
			if i < 0 {
				w.out.writeBytes(b, cp)
				return
			}
			w.out.writeBytes(b[:i], cp)
			w.out.writeString("\t")
			b = b[i+1:]
		}
	}
}

// write emits text that is already UTF-8 (a paragraph mark, a named character).
func (w *walker) write(s string) {
	if _, ok := w.sink(); ok {
		w.out.writeString(s)
	}
}

// symbol handles the control symbols that stand for a character ([MSFT-RTF] "Special Characters",
// [MS-OXRTFEX] 2.1.3.1.4.2).
func (w *walker) symbol(c byte) {
	switch c {
	case '~':
		w.write("\u00a0")
	case '_':
		if w.mode == modeHTML {
			w.write("\u00ad") // [MS-OXRTFEX] 2.1.3.1.4.2 maps \_ to &shy;
		} else {
			w.write("\u2011") // [MSFT-RTF]: non-breaking hyphen
		}
	}
	// \- (optional hyphen), \| and \: (formula and index marks) have no text.
}

// namedCharacter is the character a control word stands for ([MSFT-RTF] "Special Characters"), if it
// stands for one.
func namedCharacter(name string) (string, bool) {
	switch name {
	case "lquote":
		return "\u2018", true
	case "rquote":
		return "\u2019", true
	case "ldblquote":
		return "\u201c", true
	case "rdblquote":
		return "\u201d", true
	case "bullet":
		return "\u2022", true
	case "endash":
		return "\u2013", true
	case "emdash":
		return "\u2014", true
	case "enspace":
		return "\u2002", true
	case "emspace":
		return "\u2003", true
	case "qmspace":
		return "\u2005", true
	case "zwj":
		return "\u200d", true
	case "zwnj":
		return "\u200c", true
	case "zwbo":
		return "\u200b", true
	case "ltrmark":
		return "\u200e", true
	case "rtlmark":
		return "\u200f", true
	}
	return "", false
}

// skippedDestination says whether name is a destination whose content is not document text ([MSFT-RTF]
// "Destinations"): tables the header declares, document properties, pictures and objects, field
// instructions, headers and footers, annotations. \fldrslt, \pntext and \listtext are not among them: they
// hold the text a reader shows for a field or a list number. A switch, not a map: it runs for every control
// word, and comparing the few names of the same length costs less than hashing each one.
func skippedDestination(name string) bool {
	switch name {
	case "colortbl", "stylesheet", "info", "pict", "object", "objdata", "fldinst", "listtable",
		"listoverridetable", "revtbl", "rsidtbl", "filetbl", "generator", "xmlnstbl", "themedata",
		"colorschememapping", "datastore", "latentstyles", "pgdsctbl", "mmathPr", "userprops", "docvar",
		"template", "protusertbl", "nonshppict", "shpinst", "shprslt", "header", "headerl", "headerr", "headerf",
		"footer", "footerl", "footerr", "footerf", "footnote", "annotation", "atnid", "atnauthor", "atndate",
		"atnref", "atntime", "atnicn", "bkmkstart", "bkmkend", "xe", "tc", "txe", "pntxta", "pntxtb", "pnseclvl",
		"fontemb", "fontfile", "falt", "panose":
		return true
	}
	return false
}

func (w *walker) control(t token) {
	name := string(t.text)
	if w.st.dest == destFontTable {
		w.fontTableControl(name, t)
		return
	}
	if skippedDestination(name) {
		w.st.dest = destSkip
		return
	}
	switch name {
	case "fonttbl":
		w.st.dest, w.st.fontDef = destFontTable, -1
	case "ansi":
		w.setImpliedCodePage(1252)
	case "mac":
		w.setImpliedCodePage(10000)
	case "pc":
		w.setImpliedCodePage(437)
	case "pca":
		w.setImpliedCodePage(850)
	case "ansicpg":
		if t.hasParam && t.param > 0 {
			w.defaultCP, w.ansicpgSeen = t.param, true
		}
	case "deff":
		w.defaultFont = t.param
	case "fromhtml":
		// [MS-OXRTFEX] 2.1.3.1.1 writes \fromhtml1; a missing parameter is read as 1, 0 as "not HTML".
		if w.mode == modeDetect && (!t.hasParam || t.param != 0) {
			w.mode = modeHTML
		}
	case "fromtext":
		if w.mode == modeDetect {
			w.mode = modePlain
		}
	case "htmlrtf":
		// A toggle ([MS-OXRTFEX] 2.1.3.1.3): \htmlrtf and \htmlrtf1 start suppressing, \htmlrtf0 stops.
		w.st.htmlrtf = !t.hasParam || t.param != 0
	case "f":
		w.st.font = t.param
	case "plain":
		w.st.font = -1 // \plain resets character formatting, the font included
	case "uc":
		w.st.uc = max(t.param, 0)
	case "u":
		w.unicode(t.param)
	case "par":
		w.write("\r\n")
	case "line", "sect", "page", "row":
		// In an HTMLTAG destination only \par stands for a line break ([MS-OXRTFEX] 2.1.3.1.4.2).
		if w.st.dest != destHTMLTag {
			w.write("\r\n")
		}
	case "tab":
		w.write("\t")
	case "cell", "nestcell":
		if w.st.dest != destHTMLTag {
			w.write("\t")
		}
	case "htmlbase":
		// A placeholder for the base URL of an MHTML reference; the base is not known here, and the
		// reference that follows is then relative, as in the original.
	default:
		if s, ok := namedCharacter(name); ok {
			w.write(s)
		}
	}
}

// setImpliedCodePage applies \ansi, \mac, \pc or \pca, which \ansicpgN overrides.
func (w *walker) setImpliedCodePage(cp int) {
	if !w.ansicpgSeen {
		w.defaultCP = cp
	}
}

// unicode emits \uN and arms the skipping of its fallback characters ([MSFT-RTF] \uN, \ucN). N is a
// signed 16-bit value: negative ones are code units above 0x7FFF.
func (w *walker) unicode(n int) {
	if n < 0 {
		n += 0x10000
	}
	if _, ok := w.sink(); ok {
		w.out.writeUTF16(rune(n))
	}
	w.skip = w.st.uc
}

// fontTableControl reads one control word of the font table ([MSFT-RTF] "Font Table").
func (w *walker) fontTableControl(name string, t token) {
	switch name {
	case "f":
		w.st.fontDef = t.param
	case "fcharset":
		if w.st.fontDef >= 0 {
			f := w.fonts[w.st.fontDef]
			f.charset = charsetCodePage(t.param)
			w.fonts[w.st.fontDef] = f
		}
	case "cpg":
		if w.st.fontDef >= 0 && t.param > 0 {
			f := w.fonts[w.st.fontDef]
			f.cpg = t.param
			w.fonts[w.st.fontDef] = f
		}
	}
}

// fontCodePage is the code page of text in the current font, falling back to the document's.
func (w *walker) fontCodePage() int {
	font := w.st.font
	if font < 0 {
		font = w.defaultFont
	}
	f := w.fonts[font]
	switch {
	case f.cpg > 0:
		return f.cpg
	case f.charset > 0:
		return f.charset
	}
	return w.defaultCP
}
