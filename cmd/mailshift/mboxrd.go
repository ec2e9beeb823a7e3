package main

import (
	"bufio"
	"bytes"
)

// mboxrdWriter writes one message into an mbox: CRLF becomes LF, a lone CR stays, and every line that
// matches ">*From " gets one more ">" (the mboxrd convention, reversible). Close ends a last line that had no
// line end.
//
// It works on the bytes as they arrive, in one pass, whatever the write sizes: the body of a line is copied
// through in one piece, and only the first bytes of each line (the ones that could still be ">*From ") are
// looked at one by one. Nothing is buffered here beyond one held-back CR; the ">" run at the start of a line
// is a counter, so a line of a million ">" costs no memory.
type mboxrdWriter struct {
	w *bufio.Writer

	// inBody: the start of the current line has been decided (quoted or not) and written; the rest of the
	// line is copied as it is. Otherwise the line start is being matched against ">*From ".
	inBody bool
	// started: at least one byte of the current line has been consumed, so Close must end the line.
	started bool
	// quotes is the number of ">" at the start of the line not yet written; from counts how much of "From "
	// followed them.
	quotes int
	from   int
	// heldCR: the last byte consumed was a CR not yet written, because an LF may follow and drop it.
	heldCR bool
}

const mboxFrom = "From "

func (m *mboxrdWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if !m.inBody {
			p = m.lineStart(p)
			continue
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			m.body(p)
			break
		}
		m.body(p[:i])
		m.heldCR = false // a CR before the LF goes: CRLF becomes LF
		m.w.WriteByte('\n')
		m.inBody, m.started = false, false
		p = p[i+1:]
	}
	// A bufio.Writer keeps its first error and returns it from every later write, an empty one too.
	if _, err := m.w.Write(nil); err != nil {
		return 0, err
	}
	return n, nil
}

// body copies bytes of a line's body (no LF among them), holding back a final CR.
func (m *mboxrdWriter) body(p []byte) {
	if len(p) == 0 {
		return
	}
	if m.heldCR {
		m.w.WriteByte('\r') // the CR was not followed by LF
		m.heldCR = false
	}
	if p[len(p)-1] == '\r' {
		p = p[:len(p)-1]
		m.heldCR = true
	}
	m.w.Write(p)
}

// lineStart consumes bytes while they can still be the start of ">*From " and returns the rest. Once the
// start is decided it writes it (with the extra ">" when it matched) and switches to the body.
func (m *mboxrdWriter) lineStart(p []byte) []byte {
	for i, c := range p {
		m.started = true
		switch {
		case m.from == 0 && c == '>':
			m.quotes++
			continue
		case c == mboxFrom[m.from]:
			m.from++
			if m.from < len(mboxFrom) {
				continue
			}
			m.w.WriteByte('>')
			m.flushStart()
			return p[i+1:]
		}
		// Not ">*From ": what was held back is written as it was and c is part of the body.
		m.flushStart()
		return p[i:]
	}
	return nil
}

// flushStart writes the held ">" run and the matched part of "From " and enters the body.
func (m *mboxrdWriter) flushStart() {
	for ; m.quotes > 0; m.quotes-- {
		m.w.WriteByte('>')
	}
	m.w.WriteString(mboxFrom[:m.from])
	m.from = 0
	m.inBody = true
}

// Close ends a last line that had no line end (a CR at the very end goes, as it would before an LF) and
// flushes the buffer.
func (m *mboxrdWriter) Close() error {
	if m.started {
		if !m.inBody {
			m.flushStart()
		}
		m.heldCR = false
		m.w.WriteByte('\n')
		m.inBody, m.started = false, false
	}
	return m.w.Flush()
}
