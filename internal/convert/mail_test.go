package convert

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"golang.org/x/text/encoding/htmlindex"

	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/oracle"
	"github.com/mailshift/mailshift/internal/pst"
	"github.com/mailshift/mailshift/internal/testfixtures"
)

// fixture is one PST of the shared test data, opened with its converter.
type fixture struct {
	name string
	f    *pst.File
	conv *Converter
}

func fixtureNames(t testing.TB) (string, []string) {
	t.Helper()
	dir := testfixtures.MustPSTDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.pst"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no PST fixtures in %s: %v", dir, err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".pst"))
	}
	sort.Strings(names)
	return dir, names
}

func openFixture(t testing.TB, dir, name string, opts Options) *fixture {
	t.Helper()
	f, err := pst.OpenPath(filepath.Join(dir, name+".pst"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if opts.Addresses == nil {
		opts.Addresses = ScanAddresses(f)
	}
	conv, err := New(f, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{name: name, f: f, conv: conv}
}

// items returns every normal item of the fixture with the folder it is in.
func (fx *fixture) items(t testing.TB) ([]*pst.Message, []*pst.Folder) {
	t.Helper()
	var ms []*pst.Message
	var fs []*pst.Folder
	err := fx.f.Folders(func(fo *pst.Folder) error {
		return fo.Messages(func(m *pst.Message) error {
			ms, fs = append(ms, m), append(fs, fo)
			return nil
		})
	})
	if err != nil {
		t.Fatalf("%s: %v", fx.name, err)
	}
	return ms, fs
}

func (fx *fixture) convert(t testing.TB, m *pst.Message) ([]byte, *Result) {
	t.Helper()
	var buf bytes.Buffer
	res, err := fx.conv.Convert(&buf, m)
	if err != nil {
		t.Fatalf("%s item %#x (%s %q): %v", fx.name, uint32(m.NID), m.Class, m.Subject, err)
	}
	if res.Size != int64(buf.Len()) {
		t.Errorf("%s item %#x: Result.Size %d, wrote %d bytes", fx.name, uint32(m.NID), res.Size, buf.Len())
	}
	return buf.Bytes(), res
}

// mimeMsg is a converted message taken apart the way a mail client would, with Go's own parsers.
type mimeMsg struct {
	header mail.Header
	text   string
	html   bool
	parts  []mimePart
}

type mimePart struct {
	filename string
	size     int64
	embedded *mimeMsg
}

var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, err
	}
	return enc.NewDecoder().Reader(r), nil
}}

func parseMessage(r io.Reader) (*mimeMsg, error) {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return nil, err
	}
	out := &mimeMsg{header: msg.Header}
	return out, walkMIME(textproto.MIMEHeader(msg.Header), msg.Body, out)
}

// walkMIME collects bodies and attachments. Parts with a filename are attachments (inline images too);
// message/rfc822 parts are parsed recursively.
func walkMIME(h textproto.MIMEHeader, body io.Reader, out *mimeMsg) error {
	ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("content-type %q: %w", h.Get("Content-Type"), err)
	}
	if strings.HasPrefix(ct, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walkMIME(p.Header, p, out); err != nil {
				return err
			}
		}
	}
	_, dp, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	if ct == "message/rfc822" {
		em, err := parseMessage(body)
		if err != nil {
			return fmt.Errorf("embedded message: %w", err)
		}
		out.parts = append(out.parts, mimePart{filename: dp["filename"], embedded: em})
		return nil
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
		return fmt.Errorf("%s part: %w", ct, err)
	}
	switch {
	case dp["filename"] != "" || params["name"] != "":
		out.parts = append(out.parts, mimePart{filename: dp["filename"], size: int64(len(data))})
	case ct == "text/plain":
		out.text = string(data)
	case ct == "text/html":
		out.html = true
	}
	return nil
}

var emptyGroup = regexp.MustCompile(`(?:^|,)\s*([^,:;<>"]*):;`)

func fields(s string) string { return strings.Join(strings.Fields(s), " ") }

// compareMail checks a converted mail against the item it came from: subject, recipients, attachment
// names and sizes, embedded messages recursively, and the text body.
func compareMail(t *testing.T, where string, fx *fixture, m *pst.Message, got *mimeMsg) {
	t.Helper()
	subj, err := wordDecoder.DecodeHeader(got.header.Get("Subject"))
	if err != nil {
		t.Errorf("%s: subject header %q: %v", where, got.header.Get("Subject"), err)
	}
	if m.Subject != "" && fields(subj) != fields(m.Subject) {
		t.Errorf("%s: subject %q, want %q", where, subj, m.Subject)
	}
	if _, hasTH := m.Get(tagTransportHeaders); !hasTH {
		compareRecipients(t, where, fx, m, got)
	}
	atts, err := m.Attachments()
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	var want []*pst.Attachment
	for _, a := range atts {
		if a.Method != 0 {
			want = append(want, a)
		}
	}
	if len(want) != len(got.parts) {
		t.Errorf("%s: %d attachment parts, want %d", where, len(got.parts), len(want))
		return
	}
	// Inline images move into multipart/related, so compare as sets keyed by name.
	byName := map[string][]mimePart{}
	for _, p := range got.parts {
		byName[p.filename] = append(byName[p.filename], p)
	}
	for i, a := range want {
		if a.Method == pst.AttachEmbedded {
			em, err := a.Embedded()
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			var p *mimePart
			for j := range got.parts {
				if got.parts[j].embedded != nil && fields(got.parts[j].embedded.header.Get("X-Embedded-Seen")) == "" {
					p = &got.parts[j]
					got.parts[j].embedded.header["X-Embedded-Seen"] = []string{"1"}
					break
				}
			}
			if p == nil {
				t.Errorf("%s: attachment %d is not message/rfc822", where, i)
				continue
			}
			compareMail(t, where+" > embedded", fx, em, p.embedded)
			continue
		}
		name := sanitizeFilename(a.Filename, "")
		ps := byName[name]
		if name == "" || len(ps) == 0 {
			if name != "" {
				t.Errorf("%s: no part named %q (parts %v)", where, name, got.parts)
			}
			continue
		}
		if a.Method == pst.AttachByValue && !slices.ContainsFunc(ps, func(p mimePart) bool { return p.size == a.Size }) {
			t.Errorf("%s: attachment %q has %d bytes, want %d", where, name, ps[0].size, a.Size)
		}
	}
	if body := m.String(tagBody); body != "" && fields(got.text) != fields(body) {
		t.Errorf("%s: text body differs (%d vs %d bytes)", where, len(got.text), len(body))
	}
}

// compareRecipients: To and Cc list the recipient rows of the item, by SMTP address where the store knows
// it, by the Exchange DN encapsulated otherwise, by name when the row has no address at all.
func compareRecipients(t *testing.T, where string, fx *fixture, m *pst.Message, got *mimeMsg) {
	t.Helper()
	rcpts, err := m.Recipients()
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	want := map[string][]string{}
	for _, r := range rcpts {
		field := map[int]string{pst.RecipientCc: "Cc", pst.RecipientBcc: "Bcc"}[r.Type]
		if field == "" {
			field = "To"
		}
		addr, _ := fx.conv.resolve(address{name: r.DisplayName, addrType: r.AddressType, addr: r.Address, smtp: r.SMTPAddress})
		if addr == "" && r.DisplayName == "" {
			continue
		}
		if addr == "" {
			addr = "name:" + fields(r.DisplayName)
		}
		want[field] = append(want[field], strings.ToLower(addr))
	}
	for _, field := range []string{"To", "Cc", "Bcc"} {
		var gotAddrs []string
		if v := got.header.Get(field); v != "" {
			// Name-only recipients are written as empty groups ("Name:;"), which net/mail skips: take them out
			// first and count them by name.
			for _, g := range emptyGroup.FindAllStringSubmatch(v, -1) {
				dec, _ := wordDecoder.DecodeHeader(g[1])
				gotAddrs = append(gotAddrs, "name:"+strings.ToLower(fields(dec)))
			}
			rest := strings.Trim(strings.TrimSpace(emptyGroup.ReplaceAllString(v, ",")), ",")
			if strings.TrimSpace(strings.ReplaceAll(rest, ",", "")) != "" {
				list, err := (&mail.AddressParser{WordDecoder: wordDecoder}).ParseList(rest)
				if err != nil {
					t.Errorf("%s: %s %q: %v", where, field, rest, err)
				}
				for _, a := range list {
					gotAddrs = append(gotAddrs, strings.ToLower(a.Address))
				}
			}
		}
		w := want[field]
		for i := range w {
			if strings.HasPrefix(w[i], "name:") {
				w[i] = "name:" + strings.ToLower(fields(strings.NewReplacer(":", " ", ";", " ", ",", " ", "\"", "'").Replace(w[i][5:])))
			}
		}
		sort.Strings(w)
		sort.Strings(gotAddrs)
		if !slices.Equal(w, gotAddrs) {
			t.Errorf("%s: %s = %q, want %q", where, field, gotAddrs, w)
		}
	}
}

// TestMailFixtures converts every mail of every fixture and takes it apart again with Go's parsers: the
// subject, recipients, attachments (names and exact sizes), embedded messages and text body are the PST's.
func TestMailFixtures(t *testing.T) {
	dir, names := fixtureNames(t)
	total := 0
	var converted []convertedMail
	for _, name := range names {
		fx := openFixture(t, dir, name, Options{})
		ms, _ := fx.items(t)
		for _, m := range ms {
			if ItemKind(m.Class) != groupware.KindMail {
				continue
			}
			where := fmt.Sprintf("%s item %#x (%q)", name, uint32(m.NID), m.Subject)
			data, res := fx.convert(t, m)
			if res.Kind != groupware.KindMail {
				t.Errorf("%s: kind %v", where, res.Kind)
			}
			got, err := parseMessage(bytes.NewReader(data))
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if id := got.header.Get("Message-ID"); id != res.MessageID || !validMessageID(id) {
				t.Errorf("%s: Message-ID header %q, result %q", where, id, res.MessageID)
			}
			compareMail(t, where, fx, m, got)
			converted = append(converted, convertedMail{where: where, m: m, data: data})
			total++
		}
	}
	checkWithPythonEmail(t, converted)
	if total < 400 {
		t.Errorf("only %d mails converted; the fixtures hold more than 400", total)
	}
	t.Logf("%d mails converted and compared", total)
}

type convertedMail struct {
	where string
	m     *pst.Message
	data  []byte
}

// checkWithPythonEmail hands every converted mail to Python's email package (policy=default), an
// independent parser: it must report no defect, and read the subject and every attachment's name and size
// as the PST has them (embedded messages' attachments included).
func checkWithPythonEmail(t *testing.T, mails []convertedMail) {
	t.Helper()
	docs := make([][]byte, len(mails))
	for i, cm := range mails {
		docs[i] = cm.data
	}
	for i, r := range oracle.Email(t, docs) {
		cm := mails[i]
		if r.Error != "" {
			t.Errorf("%s: python email: %s", cm.where, r.Error)
			continue
		}
		if d := r.AllDefects(); len(d) > 0 {
			t.Errorf("%s: python email reports defects %q", cm.where, d)
		}
		if cm.m.Subject != "" && fields(r.Subject) != fields(cm.m.Subject) {
			t.Errorf("%s: python reads subject %q, want %q", cm.where, r.Subject, cm.m.Subject)
		}
		if r.BareLF > 0 {
			t.Errorf("%s: %d lines end in a bare LF", cm.where, r.BareLF)
		}
		var got []string
		for _, p := range r.Leaves() {
			if p.Filename != "" && p.ContentType != "message/rfc822" && p.ContentType != "message/external-body" {
				got = append(got, fmt.Sprintf("%s/%d", p.Filename, p.Size))
			}
		}
		want := fileAttachments(t, cm.m)
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: python reads attachments %q, want %q", cm.where, got, want)
		}
	}
}

// fileAttachments lists "name/size" of every attachment by value of m and of the messages embedded in it.
func fileAttachments(t *testing.T, m *pst.Message) []string {
	atts, err := m.Attachments()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i, a := range atts {
		switch a.Method {
		case pst.AttachByValue:
			out = append(out, fmt.Sprintf("%s/%d", sanitizeFilename(a.Filename, fmt.Sprintf("attachment-%d", i+1)), a.Size))
		case pst.AttachEmbedded:
			em, err := a.Embedded()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fileAttachments(t, em)...)
		}
	}
	return out
}

// TestDeterministic: converting the same item twice, with two converters, gives the same bytes; invented
// Message-IDs differ between items.
func TestDeterministic(t *testing.T) {
	dir, names := fixtureNames(t)
	type seenItem struct {
		where string
		data  []byte
	}
	ids := map[string]seenItem{}
	for _, name := range names {
		a := openFixture(t, dir, name, Options{})
		b := openFixture(t, dir, name, Options{})
		ms, _ := a.items(t)
		bs, _ := b.items(t)
		for i, m := range ms {
			d1, r1 := a.convert(t, m)
			d2, _ := b.convert(t, bs[i])
			if !bytes.Equal(d1, d2) {
				t.Errorf("%s item %#x: two conversions differ", name, uint32(m.NID))
			}
			where := fmt.Sprintf("%s/%#x", name, uint32(m.NID))
			// Two files may hold copies of one store (same record key): the same item then has the same
			// identity, which is what lets a migration skip it the second time. Different items must not.
			if prev, ok := ids[r1.MessageID]; ok && strings.HasSuffix(r1.MessageID, "@pst.mailshift.invalid>") && !bytes.Equal(prev.data, d1) {
				t.Errorf("%s and %s are different items with the same invented Message-ID %s", prev.where, where, r1.MessageID)
			}
			ids[r1.MessageID] = seenItem{where, d1}
		}
	}
}

// TestFlags: read, replied, follow-up and unsent states become IMAP flags; the expectations are written by
// hand from what each fixture message says it is.
func TestFlags(t *testing.T) {
	dir := testfixtures.MustPSTDir(t)
	want := map[string][]string{
		"Microsoft Outlook Test Message":                            {`\Seen`},
		"Unread email (do not open)":                                nil,
		"Needs response":                                            {`\Seen`, `\Flagged`},
		"Needed a response, and has one":                            {`\Seen`, `\Answered`, `\Flagged`},
		"This email is important!":                                  nil,
		"This message had a follow up flag, but it was cleared":     {`\Seen`, `\Answered`},
		"RE: Needed a response, and has one":                        {`\Seen`},
		"RE: This message had a follow up flag, but it was cleared": {`\Seen`},
	}
	fx := openFixture(t, dir, "aranetic-flags_jane_doe", Options{})
	ms, _ := fx.items(t)
	seen := 0
	for _, m := range ms {
		w, ok := want[m.Subject]
		if !ok {
			continue
		}
		seen++
		_, res := fx.convert(t, m)
		if !slices.Equal(res.Flags, w) {
			t.Errorf("%q: flags %q, want %q", m.Subject, res.Flags, w)
		}
		if res.InternalDate.IsZero() || res.InternalDate.Year() != 2010 {
			t.Errorf("%q: internal date %v, want the 2010 delivery time", m.Subject, res.InternalDate)
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d expected messages", seen, len(want))
	}
	fx = openFixture(t, dir, "aranetic-unsent_email", Options{})
	ms, _ = fx.items(t)
	drafts := 0
	for _, m := range ms {
		if ItemKind(m.Class) != groupware.KindMail {
			continue
		}
		if _, res := fx.convert(t, m); slices.Contains(res.Flags, `\Draft`) {
			drafts++
		}
	}
	if drafts != 1 {
		t.Errorf("%d drafts in aranetic-unsent_email, want its one unsent mail", drafts)
	}
}

// TestTransportHeadersKept: an item that kept its original header keeps it, field for field and in order,
// less the MIME structure fields the conversion replaces. Address fields may be rewritten in today's syntax,
// but name for name and address for address.
func TestTransportHeadersKept(t *testing.T) {
	dir, names := fixtureNames(t)
	checked, rewritten := 0, 0
	addrs := func(f headerField) []string {
		_, v, _ := strings.Cut(strings.Join(f.lines, ""), ":")
		list, err := (&mail.AddressParser{WordDecoder: headerDecoder}).ParseList(strings.TrimSpace(v))
		if err != nil {
			return []string{"unparsable: " + v}
		}
		var out []string
		for _, a := range list {
			out = append(out, fields(a.Name)+" <"+strings.ToLower(a.Address)+">")
		}
		return out
	}
	for _, name := range names {
		fx := openFixture(t, dir, name, Options{})
		ms, _ := fx.items(t)
		for _, m := range ms {
			th := m.String(tagTransportHeaders)
			if strings.TrimSpace(th) == "" || ItemKind(m.Class) != groupware.KindMail {
				continue
			}
			data, _ := fx.convert(t, m)
			head, _, _ := strings.Cut(string(data), "\r\n\r\n")
			out := parseTransportHeaders(head)
			where := fmt.Sprintf("%s item %#x", name, uint32(m.NID))
			i := 0
			for _, f := range parseTransportHeaders(th) {
				if structureFields[strings.ToLower(f.name)] {
					continue
				}
				for i < len(out) && !strings.EqualFold(out[i].name, f.name) {
					i++
				}
				if i == len(out) {
					t.Errorf("%s: stored field %q missing or out of order", where, f.name)
					break
				}
				switch {
				case slices.Equal(out[i].lines, f.lines):
				case addressFields[strings.ToLower(f.name)] && slices.Equal(addrs(out[i]), addrs(f)):
					rewritten++
				default:
					t.Errorf("%s: field %q is %q, stored %q", where, f.name, out[i].lines, f.lines)
				}
				i++
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no fixture item has transport headers")
	}
	t.Logf("%d items with transport headers; %d address fields rewritten in today's syntax", checked, rewritten)
}

func TestParseTransportHeaders(t *testing.T) {
	got := parseTransportHeaders("Received: from a\r\n\tby b\r\nContent-Type: multipart/mixed;\r\n boundary=x\r\nSubject: hi\r\nbogus line\r\nMIME-Version: 1.0\r\n\r\nbody: no")
	var names []string
	for _, f := range got {
		names = append(names, f.name+"/"+fmt.Sprint(len(f.lines)))
	}
	if want := []string{"Received/2", "Content-Type/2", "Subject/1", "MIME-Version/1"}; !slices.Equal(names, want) {
		t.Errorf("fields %q, want %q", names, want)
	}
}

func TestIMCEAEX(t *testing.T) {
	got := imceaex("/O=INRS/OU=FIRST ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN=CFOULKRO", "")
	want := "IMCEAEX-_O=INRS_OU=FIRST+20ADMINISTRATIVE+20GROUP_CN=RECIPIENTS_CN=CFOULKRO@exchange.invalid"
	if got != want {
		t.Errorf("imceaex = %s, want %s", got, want)
	}
	if _, err := mail.ParseAddress(got); err != nil {
		t.Errorf("not a valid address: %v", err)
	}
}

// TestRTFOnlyBodies: an item whose only body is compressed RTF still gets a readable body. No fixture item
// lacks PR_BODY, so every item with RTF is converted from its RTF alone and the result is compared with the
// PR_BODY Outlook wrote beside it: the encapsulated HTML or text, or the text of real RTF, says the same words.
func TestRTFOnlyBodies(t *testing.T) {
	dir, names := fixtureNames(t)
	n := 0
	for _, name := range names {
		fx := openFixture(t, dir, name, Options{})
		ms, _ := fx.items(t)
		for _, m := range ms {
			p := props{m}
			compressed := p.bytes(tagRTFCompressed)
			plain := m.String(tagBody)
			if len(compressed) == 0 || strings.TrimSpace(plain) == "" {
				continue
			}
			n++
			res := &Result{}
			b := bodies{}.withRTF(compressed, res)
			got := b.text
			if b.html != nil {
				got = htmlToText(string(b.html))
			}
			if len(res.Warnings) > 0 || strings.TrimSpace(got) == "" {
				t.Errorf("%s item %#x: no body from RTF alone (warnings %q)", name, uint32(m.NID), res.Warnings)
				continue
			}
			// The writer of aspose-sample added an evaluation banner to PR_BODY only: there the RTF's words must
			// be in PR_BODY instead.
			const banner = "This is an evaluation copy of Aspose.Email"
			if name == "aspose-sample" && strings.Contains(plain, banner) {
				if share := wordShare(got, plain); share < 0.95 {
					t.Errorf("%s item %#x: only %.0f%% of the RTF body's words in PR_BODY", name, uint32(m.NID), 100*share)
				}
				continue
			}
			if share := wordShare(plain, got); share < 0.85 {
				t.Errorf("%s item %#x: only %.0f%% of PR_BODY's words in the body made from RTF", name, uint32(m.NID), 100*share)
			}
		}
	}
	if n < 100 {
		t.Errorf("only %d items with RTF bodies", n)
	}
	t.Logf("%d items converted from their RTF alone", n)
}

// wordShare is the fraction of the words of want (ignoring URLs and punctuation) that occur in got.
func wordShare(want, got string) float64 {
	norm := func(s string) map[string]int {
		out := map[string]int{}
		for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			out[w]++
		}
		return out
	}
	g := norm(got)
	total, found := 0, 0
	for _, w := range strings.Fields(want) {
		if strings.Contains(w, "://") || strings.HasPrefix(w, "<") {
			continue
		}
		for k := range norm(w) {
			total++
			if g[k] > 0 {
				found++
			}
		}
	}
	if total == 0 {
		return 1
	}
	return float64(found) / float64(total)
}

// TestMeetingRequest: a meeting request carries the appointment's properties; converted as mail it gains a
// text/calendar; method=REQUEST alternative that icalendar and dateutil read as the same series.
func TestMeetingRequest(t *testing.T) {
	fx := openFixture(t, testfixtures.MustPSTDir(t), "javalibpst-dist-list", Options{})
	ms, _ := fx.items(t)
	var appt *pst.Message
	for _, m := range ms {
		if m.Subject == "Test appointment" {
			appt = m
		}
	}
	if appt == nil {
		t.Fatal("no Test appointment")
	}
	appt.Class = "IPM.Schedule.Meeting.Request"
	data, res := fx.convert(t, appt)
	if res.Kind != groupware.KindMail {
		t.Fatalf("meeting request converted as %v", res.Kind)
	}
	r := oracle.Email(t, [][]byte{data})[0]
	if d := r.AllDefects(); len(d) > 0 {
		t.Errorf("defects %q", d)
	}
	var cal []byte
	for _, p := range r.Leaves() {
		if p.ContentType == "text/calendar" {
			if p.Params["method"] != "REQUEST" {
				t.Errorf("calendar part method %q", p.Params["method"])
			}
			cal = p.Body
		}
	}
	if cal == nil {
		t.Fatalf("no text/calendar part; warnings %q", res.Warnings)
	}
	ic := oracle.ICalendar(t, [][]byte{cal}, time.Date(2016, 8, 1, 0, 0, 0, 0, time.UTC), time.Date(2016, 9, 1, 0, 0, 0, 0, time.UTC))[0]
	if ic.Error != "" || len(ic.Instances) != 4 {
		t.Errorf("icalendar: %s, %d instances in August 2016, want 4 (08-02, 08-16, 08-23, 08-30)", ic.Error, len(ic.Instances))
	}
	if m := ic.Props("VCALENDAR", "METHOD"); len(m) != 1 || m[0].Value != "REQUEST" {
		t.Errorf("METHOD %+v", m)
	}
}

// BenchmarkConvert converts every item of the largest mail fixture.
func BenchmarkConvert(b *testing.B) {
	fx := openFixture(b, testfixtures.MustPSTDir(b), "pst2john-97_outlook_qwerty12345", Options{})
	ms, _ := fx.items(b)
	var bytes int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, m := range ms {
			res, err := fx.conv.Convert(io.Discard, m)
			if err != nil {
				b.Fatal(err)
			}
			bytes += res.Size
		}
	}
	b.SetBytes(bytes / int64(b.N))
	b.ReportMetric(float64(len(ms)*b.N)/b.Elapsed().Seconds(), "items/s")
}

// TestMessageIDWithoutConverting: MessageID predicts the Message-ID Convert writes, for every item of every
// fixture.
func TestMessageIDWithoutConverting(t *testing.T) {
	dir, names := fixtureNames(t)
	for _, name := range names {
		fx := openFixture(t, dir, name, Options{})
		ms, _ := fx.items(t)
		for _, m := range ms {
			_, res := fx.convert(t, m)
			if got := fx.conv.MessageID(m); got != res.MessageID {
				t.Errorf("%s item %#x: MessageID %q, Convert wrote %q", name, uint32(m.NID), got, res.MessageID)
			}
		}
	}
}
