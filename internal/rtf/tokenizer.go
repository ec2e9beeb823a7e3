package rtf

// tokenKind is the kind of one lexical element of RTF ([MSFT-RTF] "RTF Syntax").
type tokenKind uint8

const (
	tokEOF        tokenKind = iota
	tokGroupStart           // {
	tokGroupEnd             // }
	tokText                 // a run of literal bytes, or one escaped \{ \} \\
	tokControl              // a control word: \name or \nameN
	tokSymbol               // a control symbol other than the escapes: \~ \_ \- \* \| \: ...
	tokHex                  // \'hh: one byte given in hex
	tokBinary               // the data of \binN
)

// token is one lexical element. Text and binary data are slices of the input, not copies.
type token struct {
	kind     tokenKind
	offset   int    // where the token starts in the input
	text     []byte // tokText, tokBinary; the control word's name for tokControl
	param    int    // tokControl: the numeric parameter, when hasParam
	hasParam bool
	b        byte // tokHex: the byte; tokSymbol: the symbol character
}

// maxParam bounds control word parameters. [MSFT-RTF] makes them signed 16-bit values, but \binN and
// some writers use 32-bit ones; longer digit runs saturate rather than overflow.
const maxParam = 1<<31 - 1

// tokenizer splits an RTF document into tokens. It never fails: anything malformed comes out as text or
// as a token the interpreter ignores, and every call consumes at least one byte until tokEOF.
type tokenizer struct {
	src []byte
	pos int
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

func hexValue(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return c | 0x20 - 'a' + 10, true
	}
	return 0, false
}

func (z *tokenizer) next() token {
	// Raw CR and LF carry no meaning in RTF ([MSFT-RTF]: "the reader ignores them").
	for z.pos < len(z.src) && (z.src[z.pos] == '\r' || z.src[z.pos] == '\n') {
		z.pos++
	}
	if z.pos >= len(z.src) {
		return token{kind: tokEOF, offset: z.pos}
	}
	start := z.pos
	switch z.src[z.pos] {
	case '{':
		z.pos++
		return token{kind: tokGroupStart, offset: start}
	case '}':
		z.pos++
		return token{kind: tokGroupEnd, offset: start}
	case '\\':
		return z.control()
	}
	// Most of a document is text: scanned with locals and a table, as this loop is the tokenizer's time.
	src, i := z.src, z.pos
	for i < len(src) && !endsText[src[i]] {
		i++
	}
	z.pos = i
	return token{kind: tokText, offset: start, text: src[start:i]}
}

// endsText marks the bytes that end a run of text: a group, a control, or a raw line break.
var endsText = [256]bool{'{': true, '}': true, '\\': true, '\r': true, '\n': true}

// control reads what follows a backslash.
func (z *tokenizer) control() token {
	start := z.pos
	z.pos++ // the backslash
	if z.pos >= len(z.src) {
		return token{kind: tokEOF, offset: start}
	}
	c := z.src[z.pos]
	switch {
	case isLetter(c):
		return z.controlWord(start)
	case c == '{' || c == '}' || c == '\\':
		z.pos++
		return token{kind: tokText, offset: start, text: z.src[z.pos-1 : z.pos]}
	case c == '\r' || c == '\n':
		// A backslash before a line break is a paragraph mark ([MSFT-RTF] "Control Symbols").
		z.pos++
		return token{kind: tokControl, offset: start, text: []byte("par")}
	case c == '\'':
		z.pos++
		var v byte
		digits := 0
		for digits < 2 && z.pos < len(z.src) {
			h, ok := hexValue(z.src[z.pos])
			if !ok {
				break
			}
			v = v<<4 | h
			z.pos++
			digits++
		}
		if digits == 0 {
			return token{kind: tokSymbol, offset: start, b: '\''} // malformed, ignored
		}
		return token{kind: tokHex, offset: start, b: v}
	}
	z.pos++
	return token{kind: tokSymbol, offset: start, b: c}
}

// controlWord reads \name[-]digits and the space that may delimit it ([MSFT-RTF] "Control Words").
func (z *tokenizer) controlWord(start int) token {
	nameStart := z.pos
	for z.pos < len(z.src) && isLetter(z.src[z.pos]) {
		z.pos++
	}
	t := token{kind: tokControl, offset: start, text: z.src[nameStart:z.pos]}
	neg := false
	if z.pos+1 < len(z.src) && z.src[z.pos] == '-' && isDigit(z.src[z.pos+1]) {
		neg = true
		z.pos++
	}
	for z.pos < len(z.src) && isDigit(z.src[z.pos]) {
		if t.param <= (maxParam-9)/10 {
			t.param = t.param*10 + int(z.src[z.pos]-'0')
		} else {
			t.param = maxParam
		}
		t.hasParam = true
		z.pos++
	}
	if neg {
		t.param = -t.param
	}
	if z.pos < len(z.src) && z.src[z.pos] == ' ' {
		z.pos++ // the delimiter is part of the control word
	}
	if string(t.text) == "bin" && t.hasParam && t.param > 0 {
		// \binN: N bytes of binary data follow, to be taken as they are ([MSFT-RTF] "\binN").
		n := min(t.param, len(z.src)-z.pos)
		t.kind, t.text = tokBinary, z.src[z.pos:z.pos+n]
		z.pos += n
	}
	return t
}
