package groupware

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"testing"

	"github.com/mailshift/mailshift/internal/oracle"
)

// written is one fixture written in one format and read back by Python's email package.
type written struct {
	name string
	item Item
	raw  []byte
	mail oracle.EmailResult
}

// writeAll writes the named fixtures (all when names is empty) in format f and parses every message in one
// oracle batch.
func writeAll(t *testing.T, f Format, names ...string) map[string]*written {
	t.Helper()
	items := allItems()
	if len(names) == 0 {
		for n := range items {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	var raws [][]byte
	out := map[string]*written{}
	for _, n := range names {
		w := &written{name: n, item: items[n], raw: write(t, items[n], f)}
		out[n] = w
		raws = append(raws, w.raw)
	}
	for i, r := range oracle.Email(t, raws) {
		w := out[names[i]]
		w.mail = r
		if r.Error != "" {
			t.Fatalf("%s: email parser: %s", w.name, r.Error)
		}
		if d := r.AllDefects(); len(d) > 0 {
			t.Errorf("%s: MIME defects: %v", w.name, d)
		}
		if r.BareLF != 0 {
			t.Errorf("%s: %d lines end in a bare LF", w.name, r.BareLF)
		}
		if r.LongestLine > 998 {
			t.Errorf("%s: a line of %d octets exceeds RFC 5322's 998", w.name, r.LongestLine)
		}
	}
	return out
}

// part is the first leaf part with the content type.
func (w *written) part(t *testing.T, contentType string) oracle.EmailPart {
	t.Helper()
	for _, p := range w.mail.Leaves() {
		if p.ContentType == contentType {
			return p
		}
	}
	t.Fatalf("%s: no %s part; parts: %+v", w.name, contentType, w.mail.Leaves())
	return oracle.EmailPart{}
}

// checkAttachments compares the attachment parts Python decoded with the fixture's attachments.
func checkAttachments(t *testing.T, w *written) map[string]string {
	t.Helper()
	cids := map[string]string{}
	atts := w.item.Base().Attachments
	var got []oracle.EmailPart
	for _, p := range w.mail.Leaves() {
		if p.Disposition == "attachment" && p.Filename != "kolab.xml" && p.Filename != "item.ics" && p.Filename != "contact.vcf" && !bytes.HasPrefix([]byte(p.Filename), []byte("kolab-picture")) {
			got = append(got, p)
		}
	}
	if len(got) != len(atts) {
		t.Fatalf("%s: %d attachment parts, want %d", w.name, len(got), len(atts))
	}
	for i, a := range atts {
		rc, _ := a.Open()
		var b bytes.Buffer
		b.ReadFrom(rc)
		sum := sha256.Sum256(b.Bytes())
		p := got[i]
		if p.Filename != a.Filename || p.ContentType != a.MIMEType || p.Size != b.Len() || p.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: attachment %d read as %q %s %d bytes, want %q %s %d bytes", w.name, i, p.Filename, p.ContentType, p.Size, a.Filename, a.MIMEType, b.Len())
		}
		if p.Encoding != "base64" {
			t.Errorf("%s: attachment %d encoding %q", w.name, i, p.Encoding)
		}
		cids[p.Filename] = p.ContentID
	}
	return cids
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func eqSlice[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s = %v, want %v", what, got, want)
			return
		}
	}
}
