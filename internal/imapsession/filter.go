package imapsession

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"sync"
)

// responseFilter sits between the bounded reader and imapclient and hands imapclient whole responses,
// except those it takes out of the stream:
//
//   - while a capture is on (a raw command, an IDLE), every untagged response goes to the capture
//     instead: imapclient knows neither the commands (SELECT ... (QRESYNC ...), LISTRIGHTS, LSUB, UID
//     MOVE under QRESYNC) nor, in part, their answers, and an answer it cannot parse ends its session;
//   - VANISHED (RFC 7162 §3.2.10) always: once QRESYNC is enabled the server reports every expunge
//     that way, even unasked, and imapclient (go-imap v2.0.0-beta.8) would fail on it. Those are kept
//     for the next Changes.
//
// Tagged responses and continuation requests always pass, so imapclient's bookkeeping of its own
// commands (the NOOP a raw command travels under, see rawCmdConn) stays intact. Responses are read
// through the bounded reader, so what the filter holds is bounded by the same limits.
type responseFilter struct {
	br *bufio.Reader

	out []byte // what imapclient has still to read of the current response

	mu       sync.Mutex
	capture  *capture
	vanished []string // uid-sets of unasked VANISHED responses
	lost     bool     // more unasked VANISHED than maxVanishedBytes arrived: Changes must say so
	held     int
}

// maxVanishedBytes bounds the unasked VANISHED uid-sets kept between two calls that collect them.
const maxVanishedBytes = 1 << 20

// capture collects untagged responses.
type capture struct {
	responses [][]byte
	notify    chan struct{} // signalled (without blocking) on every response
}

func newResponseFilter(r io.Reader) *responseFilter {
	return &responseFilter{br: bufio.NewReaderSize(r, 64<<10)}
}

func (f *responseFilter) Read(p []byte) (int, error) {
	for len(f.out) == 0 {
		resp, err := f.readResponse()
		if err != nil {
			return 0, err
		}
		if !f.divert(resp) {
			f.out = resp
		}
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

// readResponse reads one whole response: a line, and for every literal a line ends with, the literal
// and the line after it.
func (f *responseFilter) readResponse() ([]byte, error) {
	var resp []byte
	for {
		line, err := f.br.ReadSlice('\n')
		resp = append(resp, line...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if len(resp) > 0 && errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		n, ok := literalSize(resp)
		if !ok {
			return resp, nil
		}
		start := len(resp)
		resp = append(resp, make([]byte, n)...)
		if _, err := io.ReadFull(f.br, resp[start:]); err != nil {
			return nil, err
		}
	}
}

// literalSize recognises "{n}" or "{n+}" CRLF at the end of what was read so far. The bounded reader
// beneath has already refused literals over the limits.
func literalSize(b []byte) (int, bool) {
	b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
	if len(b) < 3 || b[len(b)-1] != '}' {
		return 0, false
	}
	i := bytes.LastIndexByte(b, '{')
	if i < 0 {
		return 0, false
	}
	num := bytes.TrimSuffix(bytes.TrimSuffix(b[i+1:len(b)-1], []byte("+")), []byte("-"))
	n, err := strconv.Atoi(string(num))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// divert takes an untagged response out of the stream when a capture is on, or when it is a VANISHED.
func (f *responseFilter) divert(resp []byte) bool {
	if !bytes.HasPrefix(resp, []byte("* ")) {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.capture; c != nil {
		c.responses = append(c.responses, resp)
		select {
		case c.notify <- struct{}{}:
		default:
		}
		return true
	}
	if word, rest := firstWord(resp[2:]); bytes.EqualFold(word, []byte("VANISHED")) {
		set := bytes.TrimSpace(rest)
		if f.held+len(set) > maxVanishedBytes {
			f.lost = true
		} else {
			f.vanished = append(f.vanished, string(set))
			f.held += len(set)
		}
		return true
	}
	return false
}

// startCapture diverts every untagged response from now on until stopCapture.
func (f *responseFilter) startCapture() *capture {
	c := &capture{notify: make(chan struct{}, 1)}
	f.mu.Lock()
	f.capture = c
	f.mu.Unlock()
	return c
}

// stopCapture ends the capture and returns what it collected.
func (f *responseFilter) stopCapture() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.capture
	f.capture = nil
	if c == nil {
		return nil
	}
	return c.responses
}

// keepVanished keeps a uid-set a capture took for the next takeVanished.
func (f *responseFilter) keepVanished(set string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held+len(set) > maxVanishedBytes {
		f.lost = true
		return
	}
	f.vanished = append(f.vanished, set)
	f.held += len(set)
}

// takeVanished returns and forgets the unasked VANISHED uid-sets; lost says some did not fit.
func (f *responseFilter) takeVanished() (sets []string, lost bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sets, lost = f.vanished, f.lost
	f.vanished, f.lost, f.held = nil, false, 0
	return sets, lost
}

func firstWord(b []byte) (word, rest []byte) {
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		return b[:i], b[i+1:]
	}
	return bytes.TrimRight(b, "\r\n"), nil
}
