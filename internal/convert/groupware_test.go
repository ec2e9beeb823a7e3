package convert

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/oracle"
	"github.com/mailshift/mailshift/internal/pst"
)

// gwItem is a groupware item of a fixture converted in one format.
type gwItem struct {
	where  string
	fx     *fixture
	m      *pst.Message
	folder *pst.Folder
	data   []byte
	res    *Result
}

// groupwareItems converts every calendar item, contact, list, task, note and journal entry of every fixture.
func groupwareItems(t *testing.T, format groupware.Format) []gwItem {
	t.Helper()
	dir, names := fixtureNames(t)
	var out []gwItem
	for _, name := range names {
		fx := openFixture(t, dir, name, Options{Format: format, Owner: groupware.Person{Name: "Test Owner", Email: "owner@example.org"}})
		ms, fs := fx.items(t)
		for i, m := range ms {
			if ItemKind(m.Class) == groupware.KindMail {
				continue
			}
			data, res := fx.convert(t, m)
			out = append(out, gwItem{where: fmt.Sprintf("%s item %#x (%s %q)", name, uint32(m.NID), m.Class, m.Subject), fx: fx, m: m, folder: fs[i], data: data, res: res})
		}
	}
	if len(out) < 20 {
		t.Fatalf("only %d groupware items in the fixtures", len(out))
	}
	return out
}

// mimeLeaf returns the decoded body of the first part whose content type starts with prefix.
func mimeLeaf(t *testing.T, data []byte, prefix string) []byte {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var found []byte
	var walk func(ct string, body io.Reader, cte string)
	walk = func(ct string, body io.Reader, cte string) {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatalf("content type %q: %v", ct, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextPart() // decodes quoted-printable
				if err != nil {
					return
				}
				walk(p.Header.Get("Content-Type"), p, p.Header.Get("Content-Transfer-Encoding"))
			}
		}
		if found == nil && strings.HasPrefix(mt, prefix) {
			b, _ := io.ReadAll(body)
			if strings.EqualFold(cte, "base64") {
				b = decodeBase64(t, b)
			}
			found = b
		}
	}
	walk(msg.Header.Get("Content-Type"), msg.Body, msg.Header.Get("Content-Transfer-Encoding"))
	if found == nil {
		t.Fatalf("no %s part", prefix)
	}
	return found
}

var kolabKinds = map[groupware.Kind]string{groupware.KindEvent: "event", groupware.KindTask: "task", groupware.KindJournal: "journal",
	groupware.KindContact: "contact", groupware.KindDistList: "distlist", groupware.KindNote: "note"}

// kolabTime reads a libkolabxml date-time back as an instant (or a date at UTC midnight).
func kolabTime(t *testing.T, d *oracle.KolabDateTime) time.Time {
	t.Helper()
	if d == nil {
		return time.Time{}
	}
	if d.DateOnly {
		v, err := time.Parse(time.DateOnly, d.Value)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if d.UTC {
		v, err := time.Parse("2006-01-02T15:04:05Z", d.Value)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	loc, err := time.LoadLocation(strings.TrimPrefix(d.TZ, "/kolab.org/"))
	if err != nil {
		t.Fatalf("zone %q: %v", d.TZ, err)
	}
	v, err := time.ParseInLocation("2006-01-02T15:04:05", d.Value, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

// TestGroupwareKolab3 converts every groupware item of every fixture to Kolab v3, reads the object back with
// libkolabxml (error level 0, warnings included) and the message with Python's email package, and compares
// what they read with the PST's own properties.
func TestGroupwareKolab3(t *testing.T) {
	items := groupwareItems(t, groupware.FormatKolab3)
	var docs []oracle.KolabDoc
	var msgs [][]byte
	kinds := map[groupware.Kind]int{}
	counts := map[string]int{}
	for _, it := range items {
		if it.res.Kind == groupware.KindMail {
			t.Errorf("%s: fell back to mail: %q", it.where, it.res.Warnings)
		}
		kinds[it.res.Kind]++
		counts[kolabKinds[it.res.Kind]]++
		docs = append(docs, oracle.KolabDoc{Kind: kolabKinds[it.res.Kind], XML: mimeLeaf(t, it.data, "application/")})
		msgs = append(msgs, it.data)
	}
	t.Logf("groupware items converted: %v", counts)
	for _, k := range []groupware.Kind{groupware.KindEvent, groupware.KindContact, groupware.KindDistList, groupware.KindTask, groupware.KindNote, groupware.KindJournal} {
		if kinds[k] == 0 {
			t.Errorf("no %v item among the fixtures", k)
		}
	}
	mails := oracle.Email(t, msgs)
	for i, r := range mails {
		it := items[i]
		if d := r.AllDefects(); r.Error != "" || len(d) > 0 {
			t.Errorf("%s: python email: %s %q", it.where, r.Error, d)
		}
		want := "application/x-vnd.kolab." + map[string]string{"distlist": "distribution-list"}[kolabKinds[it.res.Kind]]
		if want == "application/x-vnd.kolab." {
			want += kolabKinds[it.res.Kind]
		}
		if got := r.Header("X-Kolab-Type"); got != want {
			t.Errorf("%s: X-Kolab-Type %q, want %q", it.where, got, want)
		}
	}
	for i, r := range oracle.Kolab(t, docs) {
		it := items[i]
		if err := r.Err(); err != nil {
			t.Errorf("%s: %v", it.where, err)
			continue
		}
		uid := ""
		switch {
		case r.Incidence != nil:
			uid = r.Incidence.UID
		case r.Contact != nil:
			uid = r.Contact.UID
		case r.DistList != nil:
			uid = r.DistList.UID
		case r.Note != nil:
			uid = r.Note.UID
		}
		// Kolab clients find an object by the UID in its Subject.
		if uid == "" || mails[i].Subject != uid {
			t.Errorf("%s: Subject %q, UID %q", it.where, mails[i].Subject, uid)
		}
		p := props{it.m}
		switch it.res.Kind {
		case groupware.KindEvent:
			e := r.Incidence
			if e.Summary != it.m.Subject {
				t.Errorf("%s: summary %q", it.where, e.Summary)
			}
			start, end := p.namedTime(pst.PSETIDAppointment, lidAppointmentStart), p.namedTime(pst.PSETIDAppointment, lidAppointmentEnd)
			if p.namedBool(pst.PSETIDAppointment, lidAllDay) {
				if !e.Start.DateOnly {
					t.Errorf("%s: all-day event with a start time %v", it.where, e.Start)
				}
			} else if gs, ge := kolabTime(t, e.Start), kolabTime(t, e.End); !gs.Equal(start) || !ge.Equal(end) {
				t.Errorf("%s: %v – %v, want %v – %v", it.where, gs, ge, start, end)
			}
			if loc := p.namedStr(pst.PSETIDAppointment, lidLocation); e.Location != loc {
				t.Errorf("%s: location %q, want %q", it.where, e.Location, loc)
			}
		case groupware.KindContact:
			c := r.Contact
			if want := firstNonEmpty(p.str(tagDisplayName), it.m.Subject); c.FN != want {
				t.Errorf("%s: FN %q, want %q", it.where, c.FN, want)
			}
			var wantEmails, gotEmails []string
			for k := 0; k < 3; k++ {
				if a := p.namedStr(pst.PSETIDAddress, lidEmail1Address+uint16(k*lidEmailStride)); a != "" {
					if s, ok := it.fx.conv.resolve(address{addr: a, addrType: p.namedStr(pst.PSETIDAddress, lidEmail1AddrType+uint16(k*lidEmailStride))}); ok {
						a = s
					}
					wantEmails = append(wantEmails, a)
				}
			}
			for _, e := range c.Emails {
				gotEmails = append(gotEmails, e.Address)
			}
			if !slices.Equal(gotEmails, wantEmails) {
				t.Errorf("%s: e-mails %q, want %q", it.where, gotEmails, wantEmails)
			}
			var wantPhones, gotPhones []string
			for _, tag := range []uint16{tagBusinessPhone, tagBusiness2Phone, tagHomePhone, tagHome2Phone, tagMobilePhone, tagBusinessFax, tagHomeFax,
				tagPrimaryFax, tagPagerPhone, tagCarPhone, tagISDN, tagPrimaryPhone, tagCompanyMainPhone, tagAssistantPhone, tagCallbackPhone,
				tagOtherPhone, tagRadioPhone, tagTelexNumber, tagTTYTDDPhone} {
				if n := strings.TrimSpace(p.str(tag)); n != "" {
					wantPhones = append(wantPhones, n)
				}
			}
			for _, ph := range c.Phones {
				gotPhones = append(gotPhones, ph.Number)
			}
			sort.Strings(wantPhones)
			sort.Strings(gotPhones)
			if !slices.Equal(gotPhones, wantPhones) {
				t.Errorf("%s: phones %q, want %q", it.where, gotPhones, wantPhones)
			}
			if fam := p.str(tagSurname); fam != "" && !slices.Contains(c.Family, fam) {
				t.Errorf("%s: family name %q, want %q", it.where, c.Family, fam)
			}
			if org := p.str(tagCompanyName); org != "" && (len(c.Affiliations) == 0 || c.Affiliations[0].Organization != org) {
				t.Errorf("%s: organization %+v, want %q", it.where, c.Affiliations, org)
			}
			if bd := dateOnly(p.time(tagBirthday)); !bd.IsZero() && !kolabTime(t, c.Birthday).Equal(bd) {
				t.Errorf("%s: birthday %+v, want %v", it.where, c.Birthday, bd)
			}
		case groupware.KindDistList:
			if want := len(binaries(p, lidDistListOneOff)); len(r.DistList.Members) != want || want == 0 {
				t.Errorf("%s: %d members, want %d", it.where, len(r.DistList.Members), want)
			}
		case groupware.KindTask:
			tk := r.Incidence
			if tk.Summary != it.m.Subject {
				t.Errorf("%s: summary %q", it.where, tk.Summary)
			}
			if v, ok := p.named(pst.PSETIDTask, lidPercentComplete); ok {
				f, _ := v.Float()
				if tk.PercentComplete != int(f*100+0.5) {
					t.Errorf("%s: percent complete %d, want %v", it.where, tk.PercentComplete, f*100)
				}
			}
			if due := p.namedTime(pst.PSETIDTask, lidTaskDueDate); !due.IsZero() && !kolabTime(t, tk.Due).Equal(dateOnly(due)) {
				t.Errorf("%s: due %+v, want %v", it.where, tk.Due, due)
			}
		case groupware.KindNote:
			n := r.Note
			if n.Summary != it.m.Subject {
				t.Errorf("%s: summary %q", it.where, n.Summary)
			}
			if col, ok := p.namedInt(pst.PSETIDNote, 0x8B00); ok && n.Color == "" {
				t.Errorf("%s: colour %d lost", it.where, col)
			}
		case groupware.KindJournal:
			j := r.Incidence
			if j.Summary != it.m.Subject {
				t.Errorf("%s: summary %q", it.where, j.Summary)
			}
			if s := p.namedTime(pst.PSETIDLog, lidLogStart); !s.IsZero() && !kolabTime(t, j.Start).Equal(s) {
				t.Errorf("%s: start %+v, want %v", it.where, j.Start, s)
			}
		}
	}
}

// TestGroupwareICal converts the same items to plain iCalendar/vCard: icalendar and vobject read them, every
// TZID has its VTIMEZONE, and no line is over 75 octets.
func TestGroupwareICal(t *testing.T) {
	items := groupwareItems(t, groupware.FormatICal)
	var cals, cards, msgs [][]byte
	var calItems, cardItems []gwItem
	for _, it := range items {
		msgs = append(msgs, it.data)
		switch it.res.Kind {
		case groupware.KindContact, groupware.KindDistList:
			cards, cardItems = append(cards, mimeLeaf(t, it.data, "text/vcard")), append(cardItems, it)
		case groupware.KindNote:
		default:
			cals, calItems = append(cals, mimeLeaf(t, it.data, "text/calendar")), append(calItems, it)
		}
	}
	for i, r := range oracle.Email(t, msgs) {
		if d := r.AllDefects(); r.Error != "" || len(d) > 0 {
			t.Errorf("%s: python email: %s %q", items[i].where, r.Error, d)
		}
	}
	window := [2]time.Time{time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i, r := range oracle.ICalendar(t, cals, window[0], window[1]) {
		it := calItems[i]
		if r.Error != "" || r.LongLines > 0 || len(r.MissingTimeZones) > 0 || r.BareLF > 0 {
			t.Errorf("%s: icalendar: %s, %d long lines, %d bare LFs, zones missing %q", it.where, r.Error, r.LongLines, r.BareLF, r.MissingTimeZones)
			continue
		}
		comp := map[groupware.Kind]string{groupware.KindEvent: "VEVENT", groupware.KindTask: "VTODO", groupware.KindJournal: "VJOURNAL"}[it.res.Kind]
		if s := r.Props(comp, "SUMMARY"); len(s) != 1 || s[0].Text != it.m.Subject {
			t.Errorf("%s: %s SUMMARY %+v", it.where, comp, s)
		}
		if len(r.Instances) == 0 && (it.res.Kind == groupware.KindEvent || len(r.Props(comp, "DTSTART")) > 0) {
			t.Errorf("%s: no instance in %v", it.where, window)
		}
	}
	for i, r := range oracle.VCard(t, cards) {
		it := cardItems[i]
		if r.Error != "" || r.LongLines > 0 {
			t.Errorf("%s: vobject: %s, %d long lines", it.where, r.Error, r.LongLines)
			continue
		}
		p := props{it.m}
		want := firstNonEmpty(p.str(tagDisplayName), p.namedStr(pst.PSETIDAddress, lidDistListName), it.m.Subject)
		if fn := r.First("FN").Value; fn != want {
			t.Errorf("%s: FN %q, want %q", it.where, fn, want)
		}
	}
}

// TestGroupwareKolab2: the Kolab v2 form is well-formed XML whose root names the item's kind.
func TestGroupwareKolab2(t *testing.T) {
	items := groupwareItems(t, groupware.FormatKolab2)
	var docs [][]byte
	for _, it := range items {
		docs = append(docs, mimeLeaf(t, it.data, "application/x-vnd.kolab."))
	}
	roots := map[groupware.Kind]string{groupware.KindEvent: "event", groupware.KindTask: "task", groupware.KindJournal: "journal",
		groupware.KindContact: "contact", groupware.KindDistList: "distribution-list", groupware.KindNote: "note"}
	for i, r := range oracle.XML(t, docs) {
		it := items[i]
		if r.Error != "" || r.Root.Tag != roots[it.res.Kind] {
			t.Errorf("%s: %s, root <%s>", it.where, r.Error, r.Root.Tag)
		}
		if s := firstNonEmpty(r.Root.TextAt("summary"), r.Root.TextAt("display-name"), r.Root.TextAt("name/full-name")); it.m.Subject != "" && s == "" {
			t.Errorf("%s: no summary or name in the Kolab 2 object", it.where)
		}
	}
}

// TestFolderKinds: every groupware item of the fixtures that sits in a groupware folder sits in one of its own
// kind. (Some writers leave a contacts folder with the mail class IPF.Note; Result.Kind still says contact,
// which is what a migration routes by.)
func TestFolderKinds(t *testing.T) {
	mismatched := 0
	for _, it := range groupwareItems(t, groupware.FormatKolab3) {
		fk, ik := FolderKind(it.folder.ContainerClass), it.res.Kind
		if ik == groupware.KindDistList {
			ik = groupware.KindContact
		}
		if fk == groupware.KindMail {
			mismatched++
			continue
		}
		if fk != ik {
			t.Errorf("%s: a %v item in folder %q of class %q (%v)", it.where, ik, it.folder.Path, it.folder.ContainerClass, fk)
		}
	}
	if mismatched != 6 {
		t.Errorf("%d groupware items in mail folders, want aspose-SampleContacts' 6 contacts", mismatched)
	}
	for class, want := range map[string]groupware.Kind{"IPF.Appointment": groupware.KindEvent, "IPF.Contact": groupware.KindContact,
		"IPF.Task": groupware.KindTask, "IPF.StickyNote": groupware.KindNote, "IPF.Journal": groupware.KindJournal, "IPF.Note": groupware.KindMail,
		"IPF.Imap": groupware.KindMail, "": groupware.KindMail, "IPF.Contact.MOC.QuickContacts": groupware.KindContact, "IPF.Tasks": groupware.KindMail} {
		if got := FolderKind(class); got != want {
			t.Errorf("FolderKind(%q) = %v, want %v", class, got, want)
		}
	}
}

// TestRecurringFixture: the weekly series of javalibpst-dist-list ("Test appointment", Tuesdays 08:00–08:30
// Pacific from 2016-08-02, 2016-08-09 deleted, 2016-08-23 moved to 09:00 and 2016-08-30 to 10:00) expands,
// through the iCalendar we write and dateutil, to the instances written here by hand; libkolabxml reads the
// same rule, exception date and modified instances from the Kolab v3 object.
func TestRecurringFixture(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range []string{"08-02", "08-16", "08-23 09:00", "08-30 10:00", "09-06", "09-13", "09-20", "09-27", "10-04", "10-11",
		"10-18", "10-25", "11-01", "11-08", "11-15", "11-22", "11-29", "12-06", "12-13", "12-20", "12-27"} {
		day, clock, ok := strings.Cut(d, " ")
		if !ok {
			clock = "08:00"
		}
		tm, err := time.ParseInLocation("2006-01-02 15:04", "2016-"+day+" "+clock, la)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, tm.UTC().Format("2006-01-02T15:04:05Z"))
	}
	find := func(items []gwItem) gwItem {
		for _, it := range items {
			if it.fx.name == "javalibpst-dist-list" && it.m.Subject == "Test appointment" {
				return it
			}
		}
		t.Fatal("javalibpst-dist-list has no \"Test appointment\"")
		return gwItem{}
	}
	ical := find(groupwareItems(t, groupware.FormatICal))
	r := oracle.ICalendar(t, [][]byte{mimeLeaf(t, ical.data, "text/calendar")}, time.Date(2016, 8, 1, 0, 0, 0, 0, time.UTC), time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC))[0]
	if r.Error != "" {
		t.Fatal(r.Error)
	}
	var got []string
	for _, in := range r.Instances {
		got = append(got, in.Start)
	}
	if !slices.Equal(got, want) {
		t.Errorf("instances\n got %q\nwant %q", got, want)
	}
	if len(r.OrphanOverrides) > 0 {
		t.Errorf("overrides matching no instance: %q", r.OrphanOverrides)
	}
	kolab := find(groupwareItems(t, groupware.FormatKolab3))
	k := oracle.Kolab(t, []oracle.KolabDoc{{Kind: "event", XML: mimeLeaf(t, kolab.data, "application/")}})[0]
	if err := k.Err(); err != nil {
		t.Fatal(err)
	}
	e := k.Incidence
	if e.RRule == nil || e.RRule.Freq != "WEEKLY" || !slices.Equal(e.RRule.ByDay, []string{"TU"}) || e.RRule.Count > 0 || e.RRule.Until != nil {
		t.Errorf("rule %+v, want weekly on Tuesdays for ever", e.RRule)
	}
	if len(e.ExDates) != 1 || !kolabTime(t, &e.ExDates[0]).Equal(time.Date(2016, 8, 9, 8, 0, 0, 0, la)) {
		t.Errorf("exdates %+v, want 2016-08-09 08:00 Pacific", e.ExDates)
	}
	if len(e.Exceptions) != 2 {
		t.Fatalf("%d exceptions, want 2", len(e.Exceptions))
	}
	for i, w := range [][2]time.Time{
		{time.Date(2016, 8, 23, 8, 0, 0, 0, la), time.Date(2016, 8, 23, 9, 0, 0, 0, la)},
		{time.Date(2016, 8, 30, 8, 0, 0, 0, la), time.Date(2016, 8, 30, 10, 0, 0, 0, la)},
	} {
		x := e.Exceptions[i]
		if !kolabTime(t, x.RecurrenceID).Equal(w[0]) || !kolabTime(t, x.Start).Equal(w[1]) {
			t.Errorf("exception %d: recurrence-id %+v start %+v, want %v → %v", i, x.RecurrenceID, x.Start, w[0], w[1])
		}
	}
}

func decodeBase64(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
