package imapconn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// This file holds the little protocol the base speaks itself, up to the hand-off: reading one response
// at a time (lines and the literals they announce, all within MaxHandshakeBytes) and rendering
// arguments.

// reply is one server response of the handshake phase.
type reply struct {
	tag    string // "*", "+" or a command tag
	status string // OK, NO, BAD, BYE, PREAUTH (upper case), or "" for data
	kind   string // for untagged data: its keyword upper-cased (CAPABILITY, ...)
	code   string // response code name, upper case ("" when none)
	args   string // response code arguments (CAPABILITY's list)
	text   string // human-readable text (for "+": the continuation text)
	fields []string
}

// readReply reads one response. Literals are read past (their contents are never needed before the
// hand-off) but count against the limits.
func (c *Conn) readReply() (*reply, error) {
	var first string
	size := int64(0)
	for n := 0; ; n++ {
		line, err := c.readLine(&size)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			first = line
		}
		lit, ok := literalAtEnd(line)
		if !ok {
			break
		}
		if size+lit > MaxHandshakeBytes {
			return nil, fmt.Errorf("%w: the server announced a literal of %d bytes; one response may have at most %s",
				ErrResponseTooLarge, lit, mib(MaxHandshakeBytes))
		}
		if err := c.spend(lit); err != nil {
			return nil, err
		}
		size += lit
		if _, err := io.CopyN(io.Discard, c.br, lit); err != nil {
			return nil, err
		}
	}
	return parseReply(first), nil
}

// readLine reads one CRLF-terminated line (without the CRLF), counting it against the response's size
// and the handshake budget.
func (c *Conn) readLine(size *int64) (string, error) {
	var sb strings.Builder
	for {
		frag, err := c.br.ReadSlice('\n')
		if err := c.spend(int64(len(frag))); err != nil {
			return "", err
		}
		*size += int64(len(frag))
		if *size > MaxHandshakeBytes {
			return "", fmt.Errorf("%w: one response longer than %s (a line, quoted string or list that does not end)",
				ErrResponseTooLarge, mib(MaxHandshakeBytes))
		}
		sb.Write(frag)
		if err == nil {
			return strings.TrimRight(sb.String(), "\r\n"), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", err
		}
	}
}

// spend takes n bytes off the handshake budget.
func (c *Conn) spend(n int64) error {
	c.budget -= n
	if c.budget < 0 {
		return fmt.Errorf("%w: more than %s before the session started", ErrResponseTooLarge, mib(MaxHandshakeBytes))
	}
	return nil
}

// literalAtEnd recognises "{n}" or "{n+}" at the end of a line.
func literalAtEnd(line string) (int64, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	num := strings.TrimSuffix(line[i+1:len(line)-1], "+")
	if num == "" || len(num) > 15 {
		if len(num) > 15 {
			return 1 << 62, true // absurd; refused by the caller's limit
		}
		return 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// parseReply splits a response line: tag, status or data keyword, response code and text.
func parseReply(line string) *reply {
	r := &reply{}
	tag, rest, _ := strings.Cut(line, " ")
	r.tag = tag
	if tag == "+" {
		r.text = rest
		return r
	}
	word, after, _ := strings.Cut(rest, " ")
	if tag == "*" {
		// "* 23 EXISTS": the keyword follows the number.
		if _, err := strconv.ParseUint(word, 10, 32); err == nil {
			word, after, _ = strings.Cut(after, " ")
		}
	}
	switch up := strings.ToUpper(word); up {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
		r.status = up
		r.code, r.args, r.text = splitCode(after)
	default:
		r.kind = up
		r.text = after
		r.fields = strings.Fields(after)
	}
	return r
}

// splitCode takes a "[CODE args]" off the front of a response text.
func splitCode(s string) (code, args, text string) {
	if !strings.HasPrefix(s, "[") {
		return "", "", s
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return "", "", s
	}
	inner := s[1:end]
	code, args, _ = strings.Cut(inner, " ")
	return strings.ToUpper(code), args, strings.TrimSpace(s[end+1:])
}

// ServerText renders a line an IMAP server sent for an error message: printable ASCII only, at most 100
// characters, quoted.
func ServerText(s string) string {
	const max = 100
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; i++ {
		if ch := s[i]; ch >= 0x20 && ch < 0x7f {
			b.WriteByte(ch)
		} else {
			b.WriteByte('?')
		}
	}
	out := strconv.Quote(b.String())
	if len(s) > max {
		out += "…"
	}
	return out
}

// Quote renders s as an IMAP quoted string (RFC 3501 §4.3). ok is false for strings a quoted string
// cannot carry (CR, LF, NUL, 8-bit): they need a literal.
func Quote(s string) (quoted string, ok bool) {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"' || ch == '\\':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case ch == 0 || ch == '\r' || ch == '\n' || ch >= 0x80:
			return "", false
		default:
			b.WriteByte(ch)
		}
	}
	b.WriteByte('"')
	return b.String(), true
}

// greetingKind classifies a greeting line.
func greetingKind(line string) (string, bool) {
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "*" {
		return "", false
	}
	switch k := strings.ToUpper(f[1]); k {
	case "OK", "PREAUTH", "BYE":
		return k, true
	}
	return "", false
}

// part is a piece of a command: text, or an argument sent as a literal.
type part struct {
	text    string
	literal bool
}

// exec sends one command (its tag added) and reads responses until its tagged reply, answering
// continuation requests with cont (nil: none expected). Untagged CAPABILITY data and CAPABILITY
// response codes update the capabilities. A NO or BAD becomes a *StatusError inside an *Error of the
// Kind ClassifyStatus gives for ph. Everything is scrubbed of the connection's secrets.
func (c *Conn) exec(op string, ph Phase, parts []part, cont func(text string) (string, error)) error {
	c.tagSeq++
	tag := "A" + strconv.Itoa(c.tagSeq)
	var line strings.Builder
	line.WriteString(tag + " ")
	flush := func() error {
		_, err := io.WriteString(c.conn, line.String())
		line.Reset()
		return err
	}
	for _, p := range parts {
		if !p.literal {
			line.WriteString(p.text)
			continue
		}
		nonSync := c.caps.Has("LITERAL+") || (c.caps.Has("LITERAL-") && len(p.text) <= 4096)
		if nonSync {
			line.WriteString("{" + strconv.Itoa(len(p.text)) + "+}\r\n" + p.text)
			continue
		}
		line.WriteString("{" + strconv.Itoa(len(p.text)) + "}\r\n")
		if err := flush(); err != nil {
			return Wrap(op, ph, err, c.secrets)
		}
		if err := c.awaitContinuation(op, ph, tag); err != nil {
			return err
		}
		line.WriteString(p.text)
	}
	line.WriteString("\r\n")
	if err := flush(); err != nil {
		return Wrap(op, ph, err, c.secrets)
	}
	var bye *reply
	for {
		r, err := c.readReply()
		if err != nil {
			if bye != nil {
				return c.statusErr(op, ph, bye)
			}
			return Wrap(op, ph, err, c.secrets)
		}
		switch {
		case r.tag == tag:
			if r.code == "CAPABILITY" && r.status == "OK" {
				c.caps = ParseCaps(strings.Fields(r.args))
				c.capsOK = true
			}
			if r.status != "OK" {
				return c.statusErr(op, ph, r)
			}
			return nil
		case r.tag == "*":
			c.untagged(r)
			if r.status == "BYE" {
				bye = r
			}
		case r.tag == "+":
			if cont == nil {
				return Errorf(ProtocolError, op, "unexpected continuation request")
			}
			reply, err := cont(r.text)
			if err != nil {
				reply = "*" // RFC 9051 §6.2.2: cancel the exchange
			}
			if _, err := io.WriteString(c.conn, reply+"\r\n"); err != nil {
				return Wrap(op, ph, err, c.secrets)
			}
		default:
			return Errorf(ProtocolError, op, "response for unknown tag %s", ServerText(r.tag))
		}
	}
}

// awaitContinuation reads until the server's "+" for a synchronizing literal.
func (c *Conn) awaitContinuation(op string, ph Phase, tag string) error {
	for {
		r, err := c.readReply()
		if err != nil {
			return Wrap(op, ph, err, c.secrets)
		}
		switch {
		case r.tag == "+":
			return nil
		case r.tag == tag:
			if r.status == "OK" {
				return Errorf(ProtocolError, op, "server completed the command before its literal")
			}
			return c.statusErr(op, ph, r)
		case r.tag == "*":
			c.untagged(r)
			if r.status == "BYE" {
				return c.statusErr(op, ph, r)
			}
		default:
			return Errorf(ProtocolError, op, "response for unknown tag %s", ServerText(r.tag))
		}
	}
}

func (c *Conn) untagged(r *reply) {
	switch {
	case r.kind == "CAPABILITY":
		c.caps = ParseCaps(r.fields)
	case r.status == "OK" && r.code == "CAPABILITY":
		c.caps = ParseCaps(strings.Fields(r.args))
	}
}

func (c *Conn) statusErr(op string, ph Phase, r *reply) error {
	se := &StatusError{Status: r.status, Code: r.code, Text: truncate(c.secrets.String(r.text))}
	return &Error{Kind: ClassifyStatus(r.status, r.code, r.text, ph), Op: op, Err: se}
}

// truncate shortens a server text for an error message.
func truncate(s string) string {
	const max = 300
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// Capability asks for the capabilities (CAPABILITY).
func (c *Conn) Capability(ctx context.Context) error {
	return c.guard(ctx, "CAPABILITY", func() error {
		return c.exec("CAPABILITY", PhaseCommand, []part{{text: "CAPABILITY"}}, nil)
	})
}

// Logout sends LOGOUT and closes the connection, whatever the answer.
func (c *Conn) Logout(ctx context.Context) {
	_ = c.guard(ctx, "LOGOUT", func() error {
		return c.exec("LOGOUT", PhaseCommand, []part{{text: "LOGOUT"}}, nil)
	})
	c.raw.Close()
}
