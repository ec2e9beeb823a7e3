package calobject

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"strings"

	"github.com/mailshift/mailshift/internal/ical"
)

// A MIME reader for the few things Read needs: the entity tree, each leaf's type, name, transfer encoding
// and charset. A general MIME library costs several times the calendar parsing itself for a Kolab message
// (buffered readers, header maps, decoders per part); this one slices the message in place and decodes only
// the part it chooses. It is lenient the way mail readers are: a missing blank line after part headers, a
// missing closing boundary or stray "=" in quoted-printable text do not lose the object.

// entity is one MIME entity: its header fields of interest and its raw body.
type entity struct {
	mediaType string // lower case; "text/plain" when absent (RFC 2045 §5.2)
	params    map[string]string
	cte       string // lower case
	filename  string // Content-Disposition filename, else Content-Type name
	kolabType string // X-Kolab-Type, lower case
	contentID string // Content-ID without angle brackets: Kolab XML refers to attachments by it
	body      []byte
}

// parseEntity splits an entity into header and body and reads the fields Read uses. Header lines end at
// the first empty line, or at the first line that is no header field (a writer that left the blank line
// out), which then starts the body.
func parseEntity(b []byte) entity {
	var e entity
	var ct, disp string
	var field *string // the field being unfolded
	i := 0
	first := true
	for i < len(b) {
		end := bytes.IndexByte(b[i:], '\n')
		next := len(b)
		if end >= 0 {
			next = i + end + 1
			end += i
		} else {
			end = len(b)
		}
		line := b[i:end]
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			i = next
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if first {
				break // a body that starts with white space
			}
			if field != nil && len(*field) < maxFieldLen {
				*field += string(line)
			}
			i = next
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !isFieldName(line[:colon]) {
			if first && bytes.HasPrefix(line, []byte("From ")) {
				i = next // an mbox separator line
				continue
			}
			break
		}
		first = false
		name := line[:colon]
		field = nil
		switch {
		case bytes.EqualFold(name, []byte("Content-Type")):
			field = &ct
		case bytes.EqualFold(name, []byte("Content-Transfer-Encoding")):
			field = &e.cte
		case bytes.EqualFold(name, []byte("Content-Disposition")):
			field = &disp
		case bytes.EqualFold(name, []byte("X-Kolab-Type")):
			field = &e.kolabType
		case bytes.EqualFold(name, []byte("Content-ID")):
			field = &e.contentID
		}
		if field != nil {
			*field = string(bytes.TrimLeft(line[colon+1:], " \t"))
		}
		i = next
	}
	e.body = b[min(i, len(b)):]
	e.cte = strings.ToLower(strings.TrimSpace(e.cte))
	e.kolabType = strings.ToLower(strings.TrimSpace(e.kolabType))
	e.contentID = strings.Trim(strings.TrimSpace(e.contentID), "<>")
	e.mediaType, e.params = mediaType(ct)
	if e.mediaType == "" {
		e.mediaType = "text/plain"
	}
	if disp != "" {
		if _, p := mediaType(disp); p["filename"] != "" {
			e.filename = p["filename"]
		}
	}
	if e.filename == "" {
		e.filename = e.params["name"]
	}
	if strings.Contains(e.filename, "=?") {
		if dec, err := new(mime.WordDecoder).DecodeHeader(e.filename); err == nil {
			e.filename = dec
		}
	}
	return e
}

func isFieldName(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// mediaType parses a Content-Type or Content-Disposition value; a value mime.ParseMediaType rejects keeps
// its type and loses its parameters.
func mediaType(v string) (string, map[string]string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if mt, params, ok := simpleMediaType(v); ok {
		return mt, params
	}
	mt, params, err := mime.ParseMediaType(v)
	if err == nil || mt != "" {
		return strings.ToLower(mt), params
	}
	t, _, _ := strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(t)), nil
}

// maxFieldLen bounds the unfolded header fields Read looks at: a real Content-Type is a line or two, and
// unfolding thousands of continuation lines one by one would take quadratic time.
const maxFieldLen = 16 << 10

// simpleMediaType parses the common form of a media type, `type/sub; name=value; name="value"`, without
// the allocations of mime.ParseMediaType; ok is false for anything else (RFC 2231 parameters, escapes in
// quoted strings, odd syntax), which mime.ParseMediaType then handles.
func simpleMediaType(v string) (string, map[string]string, bool) {
	t, rest, _ := strings.Cut(v, ";")
	t = strings.TrimSpace(t)
	major, minor, found := strings.Cut(t, "/")
	if !found || !isToken(major) || !isToken(minor) {
		return "", nil, false
	}
	var params map[string]string
	for rest = strings.TrimLeft(rest, " \t\r\n"); rest != ""; rest = strings.TrimLeft(rest, " \t\r\n") {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return "", nil, false
		}
		k := strings.ToLower(strings.TrimRight(rest[:eq], " \t"))
		if !isToken(k) || strings.IndexByte(k, '*') >= 0 {
			return "", nil, false
		}
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var val string
		if strings.HasPrefix(rest, "\"") {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return "", nil, false
			}
			val, rest = rest[1:1+end], rest[2+end:]
			for i := 0; i < len(val); i++ {
				if c := val[i]; c == '\\' || c < 0x20 && c != '\t' || c >= 0x7f {
					return "", nil, false
				}
			}
		} else {
			end := strings.IndexByte(rest, ';')
			if end < 0 {
				end = len(rest)
			}
			val, rest = strings.TrimRight(rest[:end], " \t\r\n"), rest[end:]
			if !isToken(val) {
				return "", nil, false
			}
		}
		rest = strings.TrimLeft(rest, " \t\r\n")
		if rest != "" {
			if rest[0] != ';' {
				return "", nil, false
			}
			rest = rest[1:]
		}
		if params == nil {
			params = make(map[string]string, 4)
		}
		if _, dup := params[k]; dup {
			return "", nil, false
		}
		params[k] = val
	}
	return strings.ToLower(t), params, true
}

// isToken reports whether s is an RFC 2045 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// Bounds on the MIME tree: real messages nest a few levels and have a few dozen parts.
const (
	maxMIMEDepth = 32
	maxMIMEParts = 1000
)

// leaves walks the entity tree and calls f on every leaf. message/rfc822 parts are leaves: a forwarded
// invitation is not the object this message stores.
func leaves(e entity, depth int, count *int, f func(e entity)) {
	if *count >= maxMIMEParts {
		return
	}
	if strings.HasPrefix(e.mediaType, "multipart/") && depth < maxMIMEDepth {
		if boundary := e.params["boundary"]; boundary != "" && len(boundary) <= 200 {
			for _, part := range splitMultipart(e.body, boundary) {
				leaves(parseEntity(part), depth+1, count, f)
				if *count >= maxMIMEParts {
					return
				}
			}
			return
		}
	}
	*count++
	f(e)
}

// splitMultipart returns the body parts of a multipart body (RFC 2046 §5.1.1). A part the closing
// delimiter never ends (a cut-off message) runs to the end.
func splitMultipart(body []byte, boundary string) [][]byte {
	delim := "--" + boundary
	find := func(from int) int {
		for from <= len(body) {
			j := bytes.Index(body[from:], []byte(delim))
			if j < 0 {
				return -1
			}
			j += from
			if j == 0 || body[j-1] == '\n' {
				return j
			}
			from = j + 1
		}
		return -1
	}
	var parts [][]byte
	at := find(0)
	for at >= 0 {
		after := at + len(delim)
		if bytes.HasPrefix(body[after:], []byte("--")) {
			break
		}
		nl := bytes.IndexByte(body[after:], '\n')
		if nl < 0 {
			break
		}
		start := after + nl + 1
		next := find(start)
		end := next
		if next < 0 {
			end = len(body)
		} else {
			end-- // the line break before the delimiter belongs to it
			if end > start && body[end-1] == '\r' {
				end--
			}
		}
		parts = append(parts, body[start:max(end, start)])
		if len(parts) >= maxMIMEParts {
			break
		}
		at = next
	}
	return parts
}

// decodeBody undoes the entity's transfer encoding.
func decodeBody(e entity) ([]byte, error) {
	switch e.cte {
	case "", "7bit", "8bit", "binary":
		return e.body, nil
	case "quoted-printable":
		return decodeQP(e.body), nil
	case "base64":
		return decodeBase64(e.body)
	}
	return nil, fmt.Errorf("%s is not a transfer encoding this reader knows (7bit, 8bit, binary, quoted-printable, base64)", ical.Clip(e.cte))
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// lineEndAt reports whether a line ends at i (end of data, LF or CRLF), and where the next line starts.
func lineEndAt(src []byte, i int) (bool, int) {
	switch {
	case i >= len(src):
		return true, len(src)
	case src[i] == '\n':
		return true, i + 1
	case src[i] == '\r' && i+1 < len(src) && src[i+1] == '\n':
		return true, i + 2
	}
	return false, i
}

// decodeQP decodes quoted-printable text (RFC 2045 §6.7): "=XX" octets, soft line breaks, and trailing
// white space removed. An "=" that starts neither is kept, as mail readers do.
func decodeQP(src []byte) []byte {
	dst := make([]byte, 0, len(src))
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case '=':
			if i+2 < len(src) {
				if h, ok := unhex(src[i+1]); ok {
					if l, ok := unhex(src[i+2]); ok {
						dst = append(dst, h<<4|l)
						i += 2
						continue
					}
				}
			}
			j := i + 1
			for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
				j++
			}
			if ok, next := lineEndAt(src, j); ok {
				i = next - 1 // a soft line break
				continue
			}
			dst = append(dst, '=')
		case ' ', '\t':
			j := i
			for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
				j++
			}
			if ok, _ := lineEndAt(src, j); ok {
				i = j - 1 // transport padding
				continue
			}
			dst = append(dst, src[i:j]...)
			i = j - 1
		default:
			j := i + 1
			for j < len(src) && src[j] != '=' && src[j] != ' ' && src[j] != '\t' {
				j++
			}
			dst = append(dst, src[i:j]...)
			i = j - 1
		}
	}
	return dst
}

// decodeBase64 decodes base64 content (RFC 2045 §6.8), ignoring line breaks and white space and accepting
// missing padding.
func decodeBase64(src []byte) ([]byte, error) {
	clean := make([]byte, 0, len(src))
	for i, c := range src {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			clean = append(clean, c)
		case c == '=':
			clean = append(clean, c)
		case c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			return nil, fmt.Errorf("base64: %q at offset %d is not base64", c, i)
		}
	}
	clean = bytes.TrimRight(clean, "=")
	if bytes.IndexByte(clean, '=') >= 0 {
		return nil, fmt.Errorf("base64: padding inside the data")
	}
	dst := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, err := base64.RawStdEncoding.Decode(dst, clean)
	if err != nil {
		return nil, fmt.Errorf("base64: %v", err)
	}
	return dst[:n], nil
}
