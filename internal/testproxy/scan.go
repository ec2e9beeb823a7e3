package testproxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// scanner splits an IMAP byte stream (either direction) into pieces to relay: lines, parts of overlong
// lines, and literal data. It knows which pieces start a command or response, and skips literals ("{n}",
// and the "{n+}" / "{n-}" of LITERAL+ that a client sends without waiting) so that their contents are never
// taken for commands.
type scanner struct {
	r       *bufio.Reader
	start   bool  // the next piece starts a command or response
	literal int64 // literal bytes still to come
	buf     []byte
}

// piece is a run of bytes to relay; start says it begins a command or response line.
type piece struct {
	data  []byte
	start bool
}

func newScanner(r io.Reader) *scanner {
	return &scanner{r: bufio.NewReaderSize(r, 64<<10), start: true, buf: make([]byte, 32<<10)}
}

// next returns the next piece; its data is valid until the following call.
func (s *scanner) next() (piece, error) {
	if s.literal > 0 {
		n, err := s.r.Read(s.buf[:min(s.literal, int64(len(s.buf)))])
		s.literal -= int64(n)
		return piece{data: s.buf[:n]}, err
	}
	line, err := s.r.ReadSlice('\n')
	p := piece{data: line, start: s.start}
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		s.start = false // the rest of a long line follows
		return p, nil
	case err != nil:
		return p, err
	}
	if n, ok := literalAtEnd(line); ok {
		s.literal, s.start = n, false // the command or response goes on after the literal
	} else {
		s.start = true
	}
	return p, nil
}

// literalAtEnd parses the "{n}", "{n+}" or "{n-}" that ends a line announcing a literal.
func literalAtEnd(line []byte) (int64, bool) {
	line = bytes.TrimRight(line, "\r\n")
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false
	}
	open := bytes.LastIndexByte(line, '{')
	if open < 0 {
		return 0, false
	}
	num := line[open+1 : len(line)-1]
	if k := len(num) - 1; k >= 0 && (num[k] == '+' || num[k] == '-') {
		num = num[:k]
	}
	n, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// tagAndWord returns the first two space-separated words of a line, the second in upper case: a command's
// tag and name, or a response's tag and status.
func tagAndWord(line []byte) (string, string) {
	line = bytes.TrimRight(line, "\r\n")
	tag, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || len(tag) == 0 {
		return "", ""
	}
	word, _, _ := bytes.Cut(rest, []byte(" "))
	return string(tag), string(bytes.ToUpper(word))
}
