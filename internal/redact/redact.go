// Package redact removes secrets from text that may have come back from a server: error messages, status
// texts, log lines. A server that echoes what the client sent can hand a password back in the form it
// travelled in, not only as typed: base64 inside a SASL payload (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER),
// IMAP quoted-string escapes, Go's %q escapes. A Set knows every such form of its secrets and replaces
// them all.
package redact

import (
	"encoding/base64"
	"errors"
	"sort"
	"strconv"
	"strings"
)

// Mark is what a secret is replaced with.
const Mark = "***"

// minFragment is the shortest base64 fragment that is scrubbed on its own. A secret inside a larger
// payload shows in the payload's base64 only as the characters its bytes alone determine; fragments
// shorter than one base64 group would match ordinary words.
const minFragment = 4

// Set holds the forms of some secrets. The zero Set and a nil *Set scrub nothing.
type Set struct {
	forms []string // longest first, so that a longer form is not broken up by a shorter one
}

// New returns the Set of secrets (empty strings are ignored), in every form they travel in.
func New(secrets ...string) *Set {
	s := &Set{}
	seen := map[string]bool{}
	add := func(f string) {
		if f != "" && !seen[f] {
			seen[f] = true
			s.forms = append(s.forms, f)
		}
	}
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		add(sec)
		for _, f := range textForms(sec) {
			add(f)
		}
		for _, f := range base64Fragments(sec) {
			add(f)
		}
	}
	s.sort()
	return s
}

// WithPayloads returns a copy of s that also scrubs whole SASL payloads (e.g. "\x00alice\x00password")
// in base64, so that an echoed payload disappears whole rather than leaving the bytes around the secret.
// The payloads' own secrets must be in s already: this only tidies the message.
func (s *Set) WithPayloads(payloads ...string) *Set {
	out := &Set{}
	if s != nil {
		out.forms = append(out.forms, s.forms...)
	}
	for _, p := range payloads {
		if p == "" {
			continue
		}
		for _, enc := range encodings {
			out.forms = append(out.forms, enc.EncodeToString([]byte(p)))
		}
	}
	out.sort()
	return out
}

func (s *Set) sort() {
	sort.SliceStable(s.forms, func(i, j int) bool { return len(s.forms[i]) > len(s.forms[j]) })
}

// Empty reports whether s scrubs nothing.
func (s *Set) Empty() bool { return s == nil || len(s.forms) == 0 }

// String returns msg with every form of every secret replaced by Mark.
func (s *Set) String(msg string) string {
	if s == nil {
		return msg
	}
	for _, f := range s.forms {
		if strings.Contains(msg, f) {
			msg = strings.ReplaceAll(msg, f, Mark)
		}
	}
	return msg
}

// Contains reports whether msg holds any form of a secret.
func (s *Set) Contains(msg string) bool {
	if s == nil {
		return false
	}
	for _, f := range s.forms {
		if strings.Contains(msg, f) {
			return true
		}
	}
	return false
}

// Error returns err unchanged when its message holds no secret. Otherwise it returns a plain error with
// the scrubbed message and no chain: an Unwrap could hand the original text back. keep, when not nil,
// is wrapped by the result, so that callers can still tell what kind of failure it was (it must hold no
// secret itself; a sentinel such as io.EOF).
func (s *Set) Error(err error, keep ...error) error {
	if err == nil || s.Empty() {
		return err
	}
	msg := err.Error()
	scrubbed := s.String(msg)
	if scrubbed == msg {
		return err
	}
	return &Error{msg: scrubbed, keep: errors.Join(keep...)}
}

// Error is an error whose message was scrubbed.
type Error struct {
	msg  string
	keep error
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns only what the caller chose to keep (never the original error).
func (e *Error) Unwrap() error { return e.keep }

// textForms are the escaped spellings of a secret: as the content of an IMAP quoted string (RFC 9051
// §4.3: backslash and double quote escaped) and of Go's %q (strconv.Quote, also in its ASCII-only form).
func textForms(sec string) []string {
	imapQuoted := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(sec)
	goQuoted := strconv.Quote(sec)
	asciiQuoted := strconv.QuoteToASCII(sec)
	return []string{
		imapQuoted,
		goQuoted[1 : len(goQuoted)-1],
		asciiQuoted[1 : len(asciiQuoted)-1],
		// Quoted twice: an IMAP quoted string inside a %q-formatted message.
		func() string { q := strconv.Quote(imapQuoted); return q[1 : len(q)-1] }(),
	}
}

// encodings are the base64 alphabets a secret may travel in: standard (IMAP SASL) and URL-safe, each
// with and without padding.
var encodings = []*base64.Encoding{
	base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
}

// base64Fragments returns, for each alphabet and each of the three alignments a secret can have inside
// a larger payload, the run of base64 characters that the secret's bytes alone determine, both when
// more bytes follow the secret and when it ends the payload (then the final, zero-filled characters and
// the padding are determined too).
func base64Fragments(sec string) []string {
	var out []string
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for align := 0; align < 3; align++ {
			buf := make([]byte, align+len(sec))
			copy(buf[align:], sec)
			full := enc.EncodeToString(buf)
			// Character i encodes bits [6i, 6i+6) of buf; the secret occupies bits [8*align, 8*len(buf)).
			first := (8*align + 5) / 6
			lastFollowed := (8 * len(buf)) / 6 // exclusive: characters wholly inside the secret
			if lastFollowed-first >= minFragment {
				out = append(out, full[first:lastFollowed])
			}
			// Secret at the end of the payload: everything from first on is determined.
			if len(full)-first >= minFragment {
				atEnd := full[first:]
				out = append(out, atEnd, strings.TrimRight(atEnd, "="))
			}
		}
	}
	return out
}
