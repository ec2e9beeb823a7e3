package imapbulk

import (
	"fmt"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// command is a command line being built: text parts and literals. Literals
// are sent as RFC 7888 non-synchronizing literals when the server allows
// it, otherwise after the server's continuation request.
type command struct {
	parts []cmdPart
	// auth: NO means the credentials were refused.
	auth bool
	// onContinue answers continuation requests after the command was sent
	// (SASL exchanges); nil means none are expected.
	onContinue func(text string) error
}

type cmdPart struct {
	text    string
	literal bool
}

func newCommand(words ...string) *command {
	c := &command{}
	for i, w := range words {
		if i > 0 {
			c.raw(" ")
		}
		c.raw(w)
	}
	return c
}

// raw appends text as is.
func (c *command) raw(s string) *command {
	if n := len(c.parts); n > 0 && !c.parts[n-1].literal {
		c.parts[n-1].text += s
	} else {
		c.parts = append(c.parts, cmdPart{text: s})
	}
	return c
}

// sp appends a space and then s.
func (c *command) sp(s string) *command { return c.raw(" " + s) }

// astring appends s as a quoted string, or as a literal when it cannot be
// quoted (CR, LF, NUL or 8-bit bytes: RFC 9051 §4.3).
func (c *command) astring(s string) *command {
	if q, ok := quote(s); ok {
		return c.sp(q)
	}
	c.raw(" ")
	c.parts = append(c.parts, cmdPart{text: s, literal: true})
	return c
}

// mailbox appends a mailbox name: INBOX as is, anything else in modified
// UTF-7 (RFC 3501 §5.1.3), quoted. The encoding leaves only printable
// ASCII, so a quoted string always suffices.
func (c *command) mailbox(name string) *command {
	if strings.EqualFold(name, "INBOX") {
		return c.sp("INBOX")
	}
	return c.astring(imapconn.EncodeUTF7(name))
}

// quote renders s as a quoted string if it can be one.
func quote(s string) (string, bool) { return imapconn.Quote(s) }

// isAtom reports whether s is a non-empty atom (RFC 9051 §9: no
// atom-specials).
func isAtom(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch <= 0x20 || ch >= 0x7f || strings.IndexByte(`(){%*"\]`, ch) >= 0 {
			return false
		}
	}
	return true
}

// flagList renders flags as "(\Seen $Forwarded)". System flags start with
// a backslash; keywords must be atoms. \Recent cannot be set (RFC 3501
// §2.3.2).
func flagList(flags []string) (string, error) {
	var b strings.Builder
	b.WriteByte('(')
	for i, f := range flags {
		name := strings.TrimPrefix(f, `\`)
		if !isAtom(name) || strings.EqualFold(f, `\Recent`) {
			return "", fmt.Errorf("invalid flag %q", f)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f)
	}
	b.WriteByte(')')
	return b.String(), nil
}

// uidSetOK checks a sequence set such as "1:*" or "4,7:9" (RFC 9051 §9
// sequence-set).
func uidSetOK(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= '0' && ch <= '9' || ch == ':' || ch == ',' || ch == '*') {
			return false
		}
	}
	return !strings.HasPrefix(s, ",") && !strings.HasSuffix(s, ",") && !strings.Contains(s, ",,")
}

// dateTimeLayout is RFC 9051 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" with
// a space-padded day.
const dateTimeLayout = "_2-Jan-2006 15:04:05 -0700"

// formatDateTime renders t in its own zone, quoted.
func formatDateTime(t time.Time) string { return `"` + t.Format(dateTimeLayout) + `"` }

// parseDateTime parses an INTERNALDATE.
func parseDateTime(s string) (time.Time, error) {
	return time.Parse(dateTimeLayout, strings.TrimSpace(s))
}
