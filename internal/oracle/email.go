package oracle

import (
	"strings"
	"testing"
)

// EmailResult is what Python's email package (policy=email.policy.default) read from one message.
type EmailResult struct {
	Error       string      `json:"error"`   // the parser raised
	Defects     []string    `json:"defects"` // message and header defects
	Headers     [][2]string `json:"headers"` // name, decoded value, in order
	Subject     string      `json:"subject"`
	From        []Address   `json:"from"`
	To          []Address   `json:"to"`
	ContentType string      `json:"content_type"`
	Parts       []EmailPart `json:"parts"`        // every part of msg.walk(), the message itself first
	BareLF      int         `json:"bare_lf"`      // lines ending in LF without CR
	LongestLine int         `json:"longest_line"` // in octets, without the line end
}

type Address struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// EmailPart is one part; Body is the decoded content (empty above 1 MiB: then only Size and SHA256).
type EmailPart struct {
	ContentType string            `json:"content_type"`
	Multipart   bool              `json:"multipart"`
	Charset     string            `json:"charset"`
	Params      map[string]string `json:"params"`
	Filename    string            `json:"filename"`
	ContentID   string            `json:"content_id"`
	Disposition string            `json:"disposition"`
	Encoding    string            `json:"encoding"`
	Size        int               `json:"size"`
	SHA256      string            `json:"sha256"`
	Body        []byte            `json:"body"`
	Defects     []string          `json:"defects"`
}

// Header is the first decoded value of the named header field, "" when absent.
func (r EmailResult) Header(name string) string {
	for _, h := range r.Headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

// AllDefects are the defects of the message, its headers and all its parts.
func (r EmailResult) AllDefects() []string {
	d := append([]string(nil), r.Defects...)
	for _, p := range r.Parts {
		d = append(d, p.Defects...)
	}
	return d
}

// Leaves are the non-multipart parts.
func (r EmailResult) Leaves() []EmailPart {
	var out []EmailPart
	for _, p := range r.Parts {
		if !p.Multipart {
			out = append(out, p)
		}
	}
	return out
}

// Email parses every message with email.message_from_bytes.
func Email(tb testing.TB, msgs [][]byte) []EmailResult {
	tb.Helper()
	var res []EmailResult
	run(tb, "email", map[string]any{"docs": msgs}, &res)
	checkCount(tb, "email", len(res), len(msgs))
	return res
}
