package pst

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
)

// mimePart is an attachment found in a converted message: its file name and decoded size, or the
// attachments of an embedded message.
type mimePart struct {
	filename string
	size     int64
	embedded *mimeMsg
}

type mimeMsg struct {
	header mail.Header
	text   string // text/plain body, decoded
	html   bool
	parts  []mimePart
}

// parseEML takes a converted message apart the way a mail client would.
func parseEML(r io.Reader) (*mimeMsg, error) {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return nil, err
	}
	out := &mimeMsg{header: msg.Header}
	err = walkMIME(textproto.MIMEHeader(msg.Header), msg.Body, out, true)
	return out, err
}

func walkMIME(h textproto.MIMEHeader, body io.Reader, out *mimeMsg, top bool) error {
	ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("content-type %q: %w", h.Get("Content-Type"), err)
	}
	if strings.HasPrefix(ct, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		first := true
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			isBody := ct == "multipart/alternative" || (ct == "multipart/mixed" && first)
			first = false
			if isBody {
				if err := walkMIME(p.Header, p, out, false); err != nil {
					return err
				}
				continue
			}
			if err := attachmentPart(p.Header, p, out); err != nil {
				return err
			}
		}
	}
	var data []byte
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		data, err = io.ReadAll(quotedprintable.NewReader(body))
	case "base64":
		data, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, body))
	default:
		data, err = io.ReadAll(body)
	}
	if err != nil {
		return err
	}
	switch ct {
	case "text/plain":
		out.text = string(data)
	case "text/html":
		out.html = true
	}
	return nil
}

func attachmentPart(h textproto.MIMEHeader, body io.Reader, out *mimeMsg) error {
	_, dp, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil {
		return fmt.Errorf("content-disposition %q: %w", h.Get("Content-Disposition"), err)
	}
	mp := mimePart{filename: dp["filename"]}
	if strings.HasPrefix(h.Get("Content-Type"), "message/rfc822") {
		em, err := parseEML(body)
		if err != nil {
			return fmt.Errorf("embedded message: %w", err)
		}
		mp.embedded = em
	} else {
		if !strings.EqualFold(h.Get("Content-Transfer-Encoding"), "base64") {
			return fmt.Errorf("attachment %q not base64", mp.filename)
		}
		n, err := io.Copy(io.Discard, base64.NewDecoder(base64.StdEncoding, body))
		if err != nil {
			return fmt.Errorf("attachment %q: %w", mp.filename, err)
		}
		mp.size = n
	}
	out.parts = append(out.parts, mp)
	return nil
}

// compareEML checks a converted message against the item: subject, attachment names, sizes, and embedded
// messages recursively.
func compareEML(t *testing.T, where string, m *Message, got *mimeMsg) {
	t.Helper()
	// With PR_TRANSPORT_MESSAGE_HEADERS the original header (any charset) is kept; otherwise the subject
	// is written by the conversion, in UTF-8.
	if _, hasTH := m.Get(propTransportHeaders); !hasTH {
		dec := new(mime.WordDecoder)
		subj, err := dec.DecodeHeader(got.header.Get("Subject"))
		if err != nil {
			t.Errorf("%s: subject header %q: %v", where, got.header.Get("Subject"), err)
		}
		if strings.Join(strings.Fields(subj), " ") != strings.Join(strings.Fields(m.Subject), " ") {
			t.Errorf("%s: subject %q, want %q", where, subj, m.Subject)
		}
	}
	atts, err := m.Attachments()
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	var real []*Attachment
	for _, a := range atts {
		if a.Method != 0 {
			real = append(real, a)
		}
	}
	if len(real) != len(got.parts) {
		t.Errorf("%s: %d attachment parts, want %d", where, len(got.parts), len(real))
		return
	}
	for i, a := range real {
		p := got.parts[i]
		if a.Method == AttachEmbedded {
			em, err := a.Embedded()
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if p.embedded == nil {
				t.Errorf("%s: attachment %d is not message/rfc822", where, i)
				continue
			}
			compareEML(t, where+" > embedded", em, p.embedded)
			continue
		}
		if a.Filename != "" && p.filename != a.Filename {
			t.Errorf("%s: attachment %d named %q, want %q", where, i, p.filename, a.Filename)
		}
		if v, ok := a.Get(propAttachDataBin); ok && v.Type == 0x102 && p.size != a.Size {
			t.Errorf("%s: attachment %q has %d bytes, want %d", where, a.Filename, p.size, a.Size)
		}
	}
}

// TestEMLStructure converts every normal item of every fixture and takes the result apart again: the
// attachments come back with their names and exact sizes, embedded messages as message/rfc822 with their own
// attachments, and the text body equals PR_BODY.
func TestEMLStructure(t *testing.T) {
	dir, names := fixtureNames(t)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := openFixture(t, dir, name)
			for _, m := range allMessages(t, f) {
				where := fmt.Sprintf("item %#x", uint32(m.NID))
				var buf bytes.Buffer
				if err := m.WriteEML(&buf); err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				got, err := parseEML(&buf)
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				compareEML(t, where, m, got)
				if body := m.String(propBody); body != "" {
					norm := func(s string) string { return strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n") }
					if norm(got.text) != norm(body) {
						t.Errorf("%s: text body differs (%d vs %d bytes)", where, len(got.text), len(body))
					}
				}
			}
		})
	}
}

func TestTransportHeaders(t *testing.T) {
	var b bytes.Buffer
	w := newTestWriter(&b)
	n := writeTransportHeaders(w, "Received: from a\r\n\tby b\r\nContent-Type: multipart/mixed;\r\n boundary=x\r\nSubject: hi\r\nbogus line\r\nMIME-Version: 1.0\r\n\r\nbody")
	w.Flush()
	if n != 2 || b.String() != "Received: from a\r\n\tby b\r\nSubject: hi\r\n" {
		t.Errorf("%d %q", n, b.String())
	}
}

func newTestWriter(w io.Writer) *bufio.Writer { return bufio.NewWriter(w) }
