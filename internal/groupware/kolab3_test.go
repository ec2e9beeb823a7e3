package groupware

import (
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/oracle"
)

var kolabKinds = map[string]string{
	"weekly": "event", "allday": "event", "tentative": "event", "oof": "event", "free": "event", "elsewhere": "event",
	"contact": "contact", "distlist": "distlist", "task": "task", "note": "note", "journal": "journal",
}

var kolabXMLTypes = map[string]string{
	"event": "application/calendar+xml", "task": "application/calendar+xml", "journal": "application/calendar+xml",
	"contact": "application/vcard+xml", "distlist": "application/vcard+xml", "note": "application/vnd.kolab+xml",
}

// readKolab3 writes every fixture as Kolab v3 and reads the XML part back with libkolabxml.
func readKolab3(t *testing.T) (map[string]*written, map[string]oracle.KolabResult) {
	t.Helper()
	ws := writeAll(t, FormatKolab3)
	var names []string
	var docs []oracle.KolabDoc
	for name, w := range ws {
		kind := kolabKinds[name]
		p := w.part(t, kolabXMLTypes[kind])
		names = append(names, name)
		docs = append(docs, oracle.KolabDoc{Kind: kind, XML: p.Body})
	}
	res := map[string]oracle.KolabResult{}
	for i, r := range oracle.Kolab(t, docs) {
		if err := r.Err(); err != nil {
			t.Errorf("%s: %v", names[i], err)
		}
		res[names[i]] = r
	}
	return ws, res
}

func TestKolab3Envelope(t *testing.T) {
	ws := writeAll(t, FormatKolab3)
	for name, w := range ws {
		kind := kolabKinds[name]
		typ := kind
		if kind == "distlist" {
			typ = "distribution-list"
		}
		m := w.mail
		eq(t, name+" X-Kolab-Type", m.Header("X-Kolab-Type"), "application/x-vnd.kolab."+typ)
		eq(t, name+" X-Kolab-Mime-Version", m.Header("X-Kolab-Mime-Version"), "3.0")
		eq(t, name+" User-Agent", m.Header("User-Agent"), "mailshift")
		eq(t, name+" Subject", m.Subject, w.item.Base().UID)
		eq(t, name+" Message-ID", m.Header("Message-ID"), envelopeFor(w.item).MessageID)
		eq(t, name+" content type", m.ContentType, "multipart/mixed")
		if len(m.From) != 1 || m.From[0].Email != "owner@example.org" || m.From[0].Name != "Postfach Inhaber" {
			t.Errorf("%s From = %+v", name, m.From)
		}
		if len(m.To) != 1 || m.To[0].Email != "owner@example.org" {
			t.Errorf("%s To = %+v", name, m.To)
		}
		leaves := m.Leaves()
		eq(t, name+" first part", leaves[0].ContentType, "text/plain")
		if !strings.Contains(string(leaves[0].Body), "Kolab Groupware object") {
			t.Errorf("%s: explanation part reads %q", name, leaves[0].Body)
		}
		x := leaves[1]
		eq(t, name+" xml type", x.ContentType, kolabXMLTypes[kind])
		eq(t, name+" xml charset", x.Charset, "utf-8")
		eq(t, name+" xml filename", x.Filename, "kolab.xml")
		eq(t, name+" xml name", x.Params["name"], "kolab.xml")
		eq(t, name+" xml disposition", x.Disposition, "attachment")
		checkAttachments(t, w)
	}
}

func kdt(v, tz string) *oracle.KolabDateTime {
	return &oracle.KolabDateTime{Value: v, TZ: tz, DateOnly: len(v) == 10, UTC: strings.HasSuffix(v, "Z")}
}

func eqKDT(t *testing.T, what string, got, want *oracle.KolabDateTime) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil || *got != *want:
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func customMap(list []oracle.KolabCustom) map[string]string {
	m := map[string]string{}
	for _, c := range list {
		m[c.Name] = c.Value
	}
	return m
}

func TestKolab3Event(t *testing.T) {
	ws, res := readKolab3(t)
	e := ws["weekly"].item.(*Event)
	r := res["weekly"].Incidence
	if r == nil {
		t.Fatal("weekly: not read")
	}
	eq(t, "uid", r.UID, e.UID)
	eq(t, "summary", r.Summary, e.Summary)
	eq(t, "description", r.Description, trickyClean)
	eq(t, "location", r.Location, e.Location)
	eq(t, "priority", r.Priority, 3)
	eq(t, "sequence", r.Sequence, 2)
	eq(t, "class", r.Class, "CONFIDENTIAL")
	eq(t, "status", r.Status, "CONFIRMED")
	eq(t, "transparent", r.Transparent, false)
	eqSlice(t, "categories", r.Categories, []string{"Work", "Team, Core"})
	eqKDT(t, "created", r.Created, kdt("2024-01-02T03:04:05Z", ""))
	eqKDT(t, "last modified", r.LastModified, kdt("2024-02-03T04:05:06Z", ""))
	eqKDT(t, "start", r.Start, kdt("2024-03-20T10:00:00", "Europe/Berlin"))
	eqKDT(t, "end", r.End, kdt("2024-03-20T11:00:00", "Europe/Berlin"))
	if r.RRule == nil {
		t.Fatal("no rrule")
	}
	eq(t, "freq", r.RRule.Freq, "WEEKLY")
	eq(t, "count", r.RRule.Count, 8)
	eq(t, "interval", r.RRule.Interval, 1)
	eqSlice(t, "byday", r.RRule.ByDay, []string{"WE"})
	eq(t, "wkst", r.RRule.WeekStart, "MO")
	if len(r.ExDates) != 2 {
		t.Fatalf("exdates = %+v", r.ExDates)
	}
	eqKDT(t, "exdate 1", &r.ExDates[0], kdt("2024-03-27T10:00:00", "Europe/Berlin"))
	eqKDT(t, "exdate 2", &r.ExDates[1], kdt("2024-04-17T10:00:00", "Europe/Berlin"))
	if r.Organizer == nil || r.Organizer.Email != "anna@example.org" || r.Organizer.Name != "Anna Organizer" {
		t.Errorf("organizer = %+v", r.Organizer)
	}
	want := []oracle.KolabAttendee{
		{Name: "Anna Organizer", Email: "anna@example.org", PartStat: "ACCEPTED", Role: "CHAIR", CUType: "INDIVIDUAL"},
		{Name: "Bernd, Required", Email: "bernd@example.org", PartStat: "TENTATIVE", Role: "REQ-PARTICIPANT", RSVP: true, CUType: "INDIVIDUAL"},
		{Name: "Clara Optional", Email: "clara@example.org", PartStat: "DECLINED", Role: "OPT-PARTICIPANT", CUType: "INDIVIDUAL"},
		{Name: "Dieter Info", Email: "dieter@example.org", PartStat: "NEEDS-ACTION", Role: "NON-PARTICIPANT", RSVP: true, CUType: "INDIVIDUAL"},
		{Name: "Eva Delegate", Email: "eva@example.org", PartStat: "DELEGATED", Role: "REQ-PARTICIPANT", CUType: "INDIVIDUAL"},
		// libkolabxml 1.2.1 reads CUTYPE=ROOM back as CutypeGroup, also from XML it wrote itself.
		{Name: "Room 4.01", Email: "room401@example.org", PartStat: "ACCEPTED", Role: "NON-PARTICIPANT", CUType: "GROUP"},
		{Name: "Beamer", Email: "beamer@example.org", PartStat: "ACCEPTED", Role: "OPT-PARTICIPANT", CUType: "RESOURCE"},
	}
	eqSlice(t, "attendees", r.Attendees, want)
	if len(r.Alarms) != 2 {
		t.Fatalf("alarms = %+v", r.Alarms)
	}
	eq(t, "alarm 1", r.Alarms[0].Trigger+" "+r.Alarms[0].Related+" "+r.Alarms[0].Description, "-PT15M START In 15 Minuten")
	eq(t, "alarm 2", r.Alarms[1].Trigger+" "+r.Alarms[1].Related+" "+r.Alarms[1].Description, "-P1D START Wöchentliche Besprechung")
	cids := checkAttachments(t, ws["weekly"])
	if len(r.Attachments) != 2 {
		t.Fatalf("attachments = %+v", r.Attachments)
	}
	for i, a := range e.Attachments {
		ra := r.Attachments[i]
		eq(t, "attachment label", ra.Label, a.Filename)
		eq(t, "attachment type", ra.MIMEType, a.MIMEType)
		eq(t, "attachment uri", "<"+strings.TrimPrefix(ra.URI, "cid:")+">", cids[a.Filename])
	}
	c := customMap(r.Custom)
	eq(t, "custom", c["X-MAILSHIFT-TEST"], "a; b, c")
	eq(t, "busy status", c["X-MICROSOFT-CDO-BUSYSTATUS"], "BUSY")
	if len(r.Exceptions) != 1 {
		t.Fatalf("exceptions = %+v", r.Exceptions)
	}
	x := r.Exceptions[0]
	eq(t, "exception summary", x.Summary, "Verschoben: Besprechung")
	eq(t, "exception location", x.Location, "Raum 2.12")
	eq(t, "exception status", x.Status, "TENTATIVE")
	eq(t, "exception uid", x.UID, e.UID)
	eqKDT(t, "exception recurrence-id", x.RecurrenceID, kdt("2024-04-10T10:00:00", "Europe/Berlin"))
	eqKDT(t, "exception start", x.Start, kdt("2024-04-11T14:00:00", "Europe/Berlin"))
	eqKDT(t, "exception end", x.End, kdt("2024-04-11T15:30:00", "Europe/Berlin"))
	eq(t, "exception busy", customMap(x.Custom)["X-MICROSOFT-CDO-BUSYSTATUS"], "TENTATIVE")

	a := res["allday"].Incidence
	eqKDT(t, "all-day start", a.Start, kdt("2024-05-01", ""))
	eqKDT(t, "all-day end", a.End, kdt("2024-05-02", ""))
	eq(t, "all-day transparent", a.Transparent, true)
	eq(t, "all-day freq", a.RRule.Freq, "YEARLY")
	eqKDT(t, "all-day until", a.RRule.Until, kdt("2027-05-01", ""))
	eqSlice(t, "all-day bymonth", a.RRule.ByMonth, []int{5})
	eqSlice(t, "all-day bymonthday", a.RRule.ByMonthDay, []int{1})
}

func TestKolab3Busy(t *testing.T) {
	_, res := readKolab3(t)
	for _, tc := range []struct {
		name, busy, status string
		transparent        bool
	}{
		{"tentative", "TENTATIVE", "TENTATIVE", false},
		{"oof", "OOF", "", false},
		{"free", "FREE", "", true},
		{"elsewhere", "WORKINGELSEWHERE", "", false},
		{"weekly", "BUSY", "CONFIRMED", false},
	} {
		r := res[tc.name].Incidence
		eq(t, tc.name+" busy", customMap(r.Custom)["X-MICROSOFT-CDO-BUSYSTATUS"], tc.busy)
		eq(t, tc.name+" status", r.Status, tc.status)
		eq(t, tc.name+" transparent", r.Transparent, tc.transparent)
		if tc.name != "weekly" {
			eqKDT(t, tc.name+" start", r.Start, kdt("2024-11-04T09:00:00", "America/New_York"))
		}
	}
}

func TestKolab3TaskJournalNote(t *testing.T) {
	_, res := readKolab3(t)
	task := res["task"].Incidence
	eq(t, "task summary", task.Summary, "Bericht schreiben")
	eq(t, "task description", task.Description, "Quartalsbericht\nmit Zahlen")
	eq(t, "task status", task.Status, "COMPLETED")
	eq(t, "task percent", task.PercentComplete, 100)
	eq(t, "task priority", task.Priority, 1)
	eq(t, "task class", task.Class, "PRIVATE")
	eqKDT(t, "task start", task.Start, kdt("2024-03-25T09:00:00", "Europe/Berlin"))
	eqKDT(t, "task due", task.Due, kdt("2024-04-02T17:00:00", "Europe/Berlin"))
	eq(t, "task completed", customMap(task.Custom)[completedCustom], "20240402T153000Z")
	if len(task.Alarms) != 1 || task.Alarms[0].Trigger != "-PT2H" || task.Alarms[0].Related != "END" {
		t.Errorf("task alarms = %+v", task.Alarms)
	}

	j := res["journal"].Incidence
	eq(t, "journal summary", j.Summary, "Anruf bei Jörg")
	eqKDT(t, "journal start", j.Start, kdt("2024-03-21T14:00:00Z", ""))
	jc := customMap(j.Custom)
	eq(t, "journal end", jc[journalEndCustom], "20240321T142500Z")
	eq(t, "journal type", jc[journalTypeCustom], "Phone call")
	if len(j.Attendees) != 1 || j.Attendees[0].Email != "joerg.mueller@example.com" || j.Attendees[0].Name != "Jörg Müller" {
		t.Errorf("journal contacts = %+v", j.Attendees)
	}

	n := res["note"].Note
	if n == nil {
		t.Fatal("note not read")
	}
	eq(t, "note uid", n.UID, "note-42")
	eq(t, "note summary", n.Summary, "Einkauf")
	eq(t, "note description", n.Description, "Milch\nBrot & Butter")
	eq(t, "note color", n.Color, "#FFFF99")
	eqSlice(t, "note categories", n.Categories, []string{"Privat"})
	eqKDT(t, "note created", n.Created, kdt("2024-01-02T03:04:05Z", ""))
}

func TestKolab3Contact(t *testing.T) {
	ws, res := readKolab3(t)
	in := ws["contact"].item.(*Contact)
	c := res["contact"].Contact
	if c == nil {
		t.Fatal("contact not read")
	}
	eq(t, "uid", c.UID, in.UID)
	eq(t, "fn", c.FN, in.FormattedName)
	eqSlice(t, "family", c.Family, []string{"Müller"})
	eqSlice(t, "given", c.Given, []string{"Jörg"})
	eqSlice(t, "additional", c.Additional, []string{"Peter"})
	eqSlice(t, "prefixes", c.Prefixes, []string{"Dr."})
	eqSlice(t, "suffixes", c.Suffixes, []string{"Jr."})
	eqSlice(t, "nicknames", c.Nicknames, []string{"Jöggi"})
	eq(t, "note", c.Note, in.Description)
	eqSlice(t, "titles", c.Titles, []string{"Leiter Vertrieb"})
	eqSlice(t, "categories", c.Categories, []string{"Kunden", "VIP"})
	if len(c.Affiliations) != 1 {
		t.Fatalf("affiliations = %+v", c.Affiliations)
	}
	af := c.Affiliations[0]
	eq(t, "org", af.Organization, "Beispiel GmbH")
	eqSlice(t, "units", af.Units, []string{"Vertrieb"})
	eqSlice(t, "roles", af.Roles, []string{"Ingenieur"})
	eqSlice(t, "affiliation related", af.Related, []oracle.KolabRelated{{Text: "Frau Chefin", Types: 4}, {Text: "Herr Helfer", Types: 8}})
	eqSlice(t, "related", c.Related, []oracle.KolabRelated{{Text: "Maria Müller", Types: 2}})
	eqSlice(t, "urls", c.URLs, []string{"https://example.com/~jm"})
	eqSlice(t, "impp", c.IMPP, []string{"xmpp:jm@example.com"})
	eqSlice(t, "emails", c.Emails, []oracle.KolabTyped{
		{Address: "joerg.mueller@example.com", Types: 1}, {Address: "jm@example.net", Types: 2}, {Address: "jm-other@example.org"}})
	eqSlice(t, "phones", c.Phones, []oracle.KolabTyped{
		{Number: "+49 30 1234567", Types: 1 | 8}, {Number: "+49 30 7654321", Types: 2 | 8}, {Number: "+49 170 1112223", Types: 0x20},
		{Number: "+49 30 1234568", Types: 1 | 0x10}, {Number: "+49 160 999", Types: 0x80}})
	eqSlice(t, "addresses", c.Addresses, []oracle.KolabAddress{
		{Types: 1, Label: "Hauptstraße 1\n10115 Berlin", Street: "Hauptstraße 1", Locality: "Berlin", Region: "BE", Code: "10115", Country: "Deutschland"},
		{Types: 2, Street: "Gartenweg 5", Locality: "Potsdam", Region: "BB", Code: "14467", Country: "Deutschland"}})
	eqKDT(t, "birthday", c.Birthday, kdt("1975-06-15", ""))
	eqKDT(t, "anniversary", c.Anniversary, kdt("2001-09-08", ""))
	eq(t, "gender", c.Gender, "M")
	eq(t, "photo type", c.PhotoMIME, "image/png")
	eq(t, "photo", string(c.Photo), string(in.Photo.Data))
	cm := customMap(c.Custom)
	eq(t, "custom", cm["X-MAILSHIFT-FILE-AS"], "Müller, Jörg")
	eq(t, "email display", cm[emailDisplayCustom], "Jörg privat <jm@example.net>")

	d := res["distlist"].DistList
	if d == nil {
		t.Fatal("distlist not read")
	}
	eq(t, "list uid", d.UID, "list-7d2e")
	eq(t, "list name", d.Name, "Projekt Ölpreis")
	eqSlice(t, "members", d.Members, []oracle.KolabPerson{
		{Name: "Anna Organizer", Email: "anna@example.org"}, {Name: "Bernd, Required", Email: "bernd@example.org"},
		{Email: "plain@example.org"}})
}
