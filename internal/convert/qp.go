package convert

import "bufio"

// qpLineMax is the longest encoded line quoted-printable allows, soft line break included (RFC 2045 6.7).
const qpLineMax = 76

const upperHex = "0123456789ABCDEF"

// writeQP writes data as quoted-printable with CRLF line ends: a CRLF, a lone LF and a lone CR are each a
// hard line break, which is what the stored text meant. The bytes are those mime/quotedprintable.Writer
// writes for the text with its line ends made CRLF; encoding in one pass, straight into w, saves the copy
// of every body and the per-byte work of that writer.
func writeQP[T string | []byte](w *bufio.Writer, data T) error {
	var q qpLine
	q.w = w
	for i := 0; i < len(data); {
		b := data[i]
		switch {
		case qpLiteral(b):
			// A run of bytes written as they are, copied a line at a time.
			j := i + 1
			for j < len(data) && qpLiteral(data[j]) {
				j++
			}
			for run := data[i:j]; len(run) > 0; {
				if q.n == qpLineMax-1 {
					q.softBreak()
				}
				k := copy(q.buf[q.n:qpLineMax-1], run)
				q.n += k
				run = run[k:]
			}
			i = j
		case b == '\r' || b == '\n':
			i++
			if b == '\r' && i < len(data) && data[i] == '\n' {
				i++
			}
			q.hardBreak()
		default:
			q.encode(b)
			i++
		}
	}
	q.encodeTrailingSpace()
	q.flush()
	_, err := w.WriteString("\r\n")
	return err
}

// qpLine is the encoded line being built. Errors of w are not checked here: a bufio.Writer keeps its first
// error and returns it from every later write, so writeQP's last write reports it.
type qpLine struct {
	w   *bufio.Writer
	buf [qpLineMax + 2]byte
	n   int
}

// qpLiteral reports whether b is written as it is: printable ASCII other than "=", space and tab. A table,
// looked up for every byte of every text body.
func qpLiteral(b byte) bool { return qpLiterals[b] }

var qpLiterals = func() (t [256]bool) {
	for b := range t {
		t[b] = b == ' ' || b == '\t' || (b >= '!' && b <= '~' && b != '=')
	}
	return t
}()

func (q *qpLine) encode(b byte) {
	if qpLineMax-1-q.n < 3 {
		q.softBreak()
	}
	q.buf[q.n] = '='
	q.buf[q.n+1] = upperHex[b>>4]
	q.buf[q.n+2] = upperHex[b&0x0f]
	q.n += 3
}

// encodeTrailingSpace encodes a space or tab that would otherwise end a line: a transport may strip it.
func (q *qpLine) encodeTrailingSpace() {
	if q.n == 0 {
		return
	}
	if b := q.buf[q.n-1]; b == ' ' || b == '\t' {
		q.n--
		q.encode(b)
	}
}

func (q *qpLine) softBreak() {
	q.buf[q.n] = '='
	q.n++
	q.crlf()
}

func (q *qpLine) hardBreak() {
	q.encodeTrailingSpace()
	q.crlf()
}

func (q *qpLine) crlf() {
	q.buf[q.n] = '\r'
	q.buf[q.n+1] = '\n'
	q.n += 2
	q.flush()
}

func (q *qpLine) flush() {
	q.w.Write(q.buf[:q.n])
	q.n = 0
}
