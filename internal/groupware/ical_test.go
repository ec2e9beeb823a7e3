package groupware

import (
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/oracle"
)

var calendarFixtures = map[string]string{
	"weekly": "VEVENT", "allday": "VEVENT", "tentative": "VEVENT", "oof": "VEVENT", "free": "VEVENT",
	"elsewhere": "VEVENT", "task": "VTODO", "journal": "VJOURNAL",
}

// readICal writes the calendar fixtures as FormatICal and reads the text/calendar parts with icalendar and
// dateutil, expanding recurrences from 2024 to 2028.
func readICal(t *testing.T) (map[string]*written, map[string]oracle.ICalResult) {
	t.Helper()
	var names []string
	for n := range calendarFixtures {
		names = append(names, n)
	}
	ws := writeAll(t, FormatICal, names...)
	var docs [][]byte
	for _, n := range names {
		p := ws[n].part(t, "text/calendar")
		eq(t, n+" method", p.Params["method"], "PUBLISH")
		eq(t, n+" component", p.Params["component"], calendarFixtures[n])
		eq(t, n+" charset", p.Charset, "utf-8")
		docs = append(docs, p.Body)
	}
	res := map[string]oracle.ICalResult{}
	for i, r := range oracle.ICalendar(t, docs, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)) {
		n := names[i]
		if r.Error != "" {
			t.Fatalf("%s: icalendar: %s", n, r.Error)
		}
		eq(t, n+" long lines", r.LongLines, 0)
		eq(t, n+" bare LF", r.BareLF, 0)
		if len(r.MissingTimeZones) > 0 {
			t.Errorf("%s: TZIDs without VTIMEZONE: %v", n, r.MissingTimeZones)
		}
		res[n] = r
	}
	return ws, res
}

func prop(t *testing.T, r oracle.ICalResult, comp, name string) oracle.ICalProp {
	t.Helper()
	ps := r.Props(comp, name)
	if len(ps) == 0 {
		t.Errorf("%s has no %s", comp, name)
		return oracle.ICalProp{}
	}
	return ps[0]
}

func TestICalRecurrence(t *testing.T) {
	_, res := readICal(t)
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"weekly", weeklyInstancesUTC},
		{"allday", []string{"2024-05-01", "2025-05-01", "2026-05-01", "2027-05-01"}},
		// 09:00 New York, the day after the end of summer time: UTC-5.
		{"tentative", []string{"2024-11-04T14:00:00Z"}},
	} {
		var got []string
		for _, in := range res[tc.name].Instances {
			got = append(got, in.Start)
		}
		eqSlice(t, tc.name+" instances", got, tc.want)
	}
	for _, in := range res["weekly"].Instances {
		want := "Wöchentliche Besprechung"
		if in.Start == "2024-04-11T12:00:00Z" {
			want = "Verschoben: Besprechung"
			eq(t, "override recurrence-id", in.RecurrenceID, "2024-04-10T08:00:00Z")
		}
		eq(t, "summary of "+in.Start, in.Summary, want)
	}
	if o := res["weekly"].OrphanOverrides; len(o) > 0 {
		t.Errorf("overrides matching no instance: %v", o)
	}
	eqSlice(t, "weekly time zones", res["weekly"].TimeZones, []string{"Europe/Berlin"})
	eqSlice(t, "new york time zones", res["oof"].TimeZones, []string{"America/New_York"})
}

func TestICalEventFields(t *testing.T) {
	_, res := readICal(t)
	r := res["weekly"]
	eq(t, "summary", prop(t, r, "VEVENT", "SUMMARY").Text, "Wöchentliche Besprechung")
	eq(t, "description", prop(t, r, "VEVENT", "DESCRIPTION").Text, trickyClean)
	eq(t, "location", prop(t, r, "VEVENT", "LOCATION").Text, "Raum 4.01; Gebäude B")
	eq(t, "categories", prop(t, r, "VEVENT", "CATEGORIES").Text, "Work,Team, Core")
	eq(t, "class", prop(t, r, "VEVENT", "CLASS").Value, "CONFIDENTIAL")
	eq(t, "priority", prop(t, r, "VEVENT", "PRIORITY").Value, "3")
	eq(t, "sequence", prop(t, r, "VEVENT", "SEQUENCE").Value, "2")
	eq(t, "status", prop(t, r, "VEVENT", "STATUS").Value, "CONFIRMED")
	eq(t, "transp", prop(t, r, "VEVENT", "TRANSP").Value, "OPAQUE")
	eq(t, "dtstart tzid", prop(t, r, "VEVENT", "DTSTART").Params["TZID"], "Europe/Berlin")
	eq(t, "custom", prop(t, r, "VEVENT", "X-MAILSHIFT-TEST").Value, `a\; b\, c`)
	org := prop(t, r, "VEVENT", "ORGANIZER")
	eq(t, "organizer", org.Value+" "+org.Params["CN"], "mailto:anna@example.org Anna Organizer")
	atts := r.Props("VEVENT", "ATTENDEE")
	in := weeklyMeeting().Attendees
	if len(atts) != len(in) {
		t.Fatalf("%d attendees, want %d", len(atts), len(in))
	}
	for i, a := range in {
		p := atts[i]
		eq(t, "attendee address", p.Value, "mailto:"+a.Email)
		eq(t, "attendee cn", p.Params["CN"], a.Name)
		eq(t, "attendee role", p.Params["ROLE"], string(a.Role))
		eq(t, "attendee partstat", p.Params["PARTSTAT"], string(a.PartStat))
		eq(t, "attendee rsvp", p.Params["RSVP"] == "TRUE", a.RSVP)
		eq(t, "attendee cutype", p.Params["CUTYPE"], string(a.CUType))
	}
	triggers := []string{}
	for _, c := range r.Components {
		if c.Name == "VALARM" {
			for _, p := range c.Props {
				if p.Name == "TRIGGER" {
					triggers = append(triggers, p.Value+"/"+p.Params["RELATED"])
				}
			}
		}
	}
	// the master's two alarms; the override has none
	eqSlice(t, "alarm triggers", triggers, []string{"-PT15M/START", "-P1D/START"})
	exd := r.Props("VEVENT", "EXDATE")
	if len(exd) != 1 || exd[0].Value != "20240327T100000,20240417T100000" || exd[0].Params["TZID"] != "Europe/Berlin" {
		t.Errorf("EXDATE = %+v", exd)
	}
	attach := r.Props("VEVENT", "ATTACH")
	if len(attach) != 2 || !strings.HasPrefix(attach[0].Value, "cid:") || attach[0].Params["FMTTYPE"] != "application/pdf" {
		t.Errorf("ATTACH = %+v", attach)
	}

	for _, tc := range []struct{ name, busy, transp, status string }{
		{"tentative", "TENTATIVE", "OPAQUE", "TENTATIVE"},
		{"oof", "OOF", "OPAQUE", ""},
		{"free", "FREE", "TRANSPARENT", ""},
		{"elsewhere", "WORKINGELSEWHERE", "OPAQUE", ""},
		{"allday", "FREE", "TRANSPARENT", ""},
	} {
		r := res[tc.name]
		eq(t, tc.name+" busy", prop(t, r, "VEVENT", "X-MICROSOFT-CDO-BUSYSTATUS").Value, tc.busy)
		eq(t, tc.name+" transp", prop(t, r, "VEVENT", "TRANSP").Value, tc.transp)
		st := ""
		if ps := r.Props("VEVENT", "STATUS"); len(ps) > 0 {
			st = ps[0].Value
		}
		eq(t, tc.name+" status", st, tc.status)
	}
	eq(t, "all-day start", prop(t, res["allday"], "VEVENT", "DTSTART").Value, "20240501")
	eq(t, "all-day end", prop(t, res["allday"], "VEVENT", "DTEND").Value, "20240502")
}

func TestICalTaskJournal(t *testing.T) {
	ws, res := readICal(t)
	r := res["task"]
	eq(t, "task summary", prop(t, r, "VTODO", "SUMMARY").Text, "Bericht schreiben")
	eq(t, "task due", prop(t, r, "VTODO", "DUE").Value, "20240402T170000")
	eq(t, "task due tz", prop(t, r, "VTODO", "DUE").Params["TZID"], "Europe/Berlin")
	eq(t, "task completed", prop(t, r, "VTODO", "COMPLETED").Value, "20240402T153000Z")
	eq(t, "task percent", prop(t, r, "VTODO", "PERCENT-COMPLETE").Value, "100")
	eq(t, "task status", prop(t, r, "VTODO", "STATUS").Value, "COMPLETED")
	eq(t, "task priority", prop(t, r, "VTODO", "PRIORITY").Value, "1")
	eq(t, "task alarm", prop(t, r, "VALARM", "TRIGGER").Params["RELATED"], "END")
	eq(t, "task subject", ws["task"].mail.Subject, "Bericht schreiben")

	j := res["journal"]
	eq(t, "journal summary", prop(t, j, "VJOURNAL", "SUMMARY").Text, "Anruf bei Jörg")
	eq(t, "journal start", prop(t, j, "VJOURNAL", "DTSTART").Value, "20240321T140000Z")
	eq(t, "journal end", prop(t, j, "VJOURNAL", journalEndCustom).Value, "20240321T142500Z")
	eq(t, "journal type", prop(t, j, "VJOURNAL", journalTypeCustom).Value, "Phone call")
	eq(t, "journal contact", prop(t, j, "VJOURNAL", "ATTENDEE").Params["CN"], "Jörg Müller")
}

func TestICalNote(t *testing.T) {
	ws := writeAll(t, FormatICal, "note")
	m := ws["note"].mail
	eq(t, "subject", m.Subject, "Einkauf")
	eq(t, "type", m.ContentType, "text/plain")
	eq(t, "body", strings.ReplaceAll(string(m.Parts[0].Body), "\r\n", "\n"), "Milch\nBrot & Butter\n")
}

func TestVCard(t *testing.T) {
	ws := writeAll(t, FormatICal, "contact", "distlist")
	docs := [][]byte{ws["contact"].part(t, "text/vcard").Body, ws["distlist"].part(t, "text/vcard").Body}
	eq(t, "contact subject", ws["contact"].mail.Subject, "Dr. Jörg Peter Müller Jr.")
	res := oracle.VCard(t, docs)
	c := res[0]
	if c.Error != "" {
		t.Fatalf("vobject: %s", c.Error)
	}
	eq(t, "long lines", c.LongLines, 0)
	eq(t, "version", c.First("VERSION").Value, "3.0")
	eq(t, "uid", c.First("UID").Value, fullContact().UID)
	eq(t, "fn", c.First("FN").Value, "Dr. Jörg Peter Müller Jr.")
	n := c.First("N").Parts
	eq(t, "n", n["family"]+"|"+n["given"]+"|"+n["additional"]+"|"+n["prefix"]+"|"+n["suffix"], "Müller|Jörg|Peter|Dr.|Jr.")
	eq(t, "nickname", c.First("NICKNAME").Value, "Jöggi")
	eq(t, "bday", c.First("BDAY").Value, "1975-06-15")
	eq(t, "anniversary", c.First("X-ANNIVERSARY").Value, "2001-09-08")
	eq(t, "note", c.First("NOTE").Value, "Met at the conference.\nLikes tea; not coffee.")
	eqSlice(t, "org", c.First("ORG").List, []string{"Beispiel GmbH", "Vertrieb"})
	eq(t, "title", c.First("TITLE").Value, "Leiter Vertrieb")
	eq(t, "role", c.First("ROLE").Value, "Ingenieur")
	eq(t, "manager", c.First("X-MS-MANAGER").Value, "Frau Chefin")
	eq(t, "assistant", c.First("X-MS-ASSISTANT").Value, "Herr Helfer")
	eq(t, "spouse", c.First("X-MS-SPOUSE").Value, "Maria Müller")
	eqSlice(t, "categories", c.First("CATEGORIES").List, []string{"Kunden", "VIP"})
	eq(t, "url", c.First("URL").Value, "https://example.com/~jm")
	eq(t, "impp", c.First("IMPP").Value, "xmpp:jm@example.com")
	eq(t, "custom", c.First("X-MAILSHIFT-FILE-AS").Value, "Müller, Jörg")
	var emails []string
	for _, e := range c.All("EMAIL") {
		emails = append(emails, e.Value+" "+strings.Join(e.Params["TYPE"], ","))
	}
	eqSlice(t, "emails", emails, []string{"joerg.mueller@example.com INTERNET,WORK", "jm@example.net INTERNET,HOME", "jm-other@example.org INTERNET"})
	var phones []string
	for _, p := range c.All("TEL") {
		phones = append(phones, p.Value+" "+strings.Join(p.Params["TYPE"], ","))
	}
	eqSlice(t, "phones", phones, []string{"+49 30 1234567 WORK,VOICE", "+49 30 7654321 HOME,VOICE", "+49 170 1112223 CELL", "+49 30 1234568 WORK,FAX", "+49 160 999 PAGER"})
	adrs := c.All("ADR")
	if len(adrs) != 2 {
		t.Fatalf("ADR = %+v", adrs)
	}
	a := adrs[1].Parts
	eq(t, "adr", a["box"]+"|"+a["street"]+"|"+a["city"]+"|"+a["region"]+"|"+a["code"]+"|"+a["country"], "PF 12|Gartenweg 5|Potsdam|BB|14467|Deutschland")
	eqSlice(t, "adr type", adrs[0].Params["TYPE"], []string{"WORK"})
	eq(t, "label", c.First("LABEL").Value, "Hauptstraße 1\n10115 Berlin")
	photo := c.First("PHOTO")
	eq(t, "photo size", photo.Size, 3000)

	d := res[1]
	if d.Error != "" {
		t.Fatalf("vobject: %s", d.Error)
	}
	eq(t, "list fn", d.First("FN").Value, "Projekt Ölpreis")
	eq(t, "list kind", d.First("X-ADDRESSBOOKSERVER-KIND").Value, "group")
	var members []string
	for _, m := range d.All("X-ADDRESSBOOKSERVER-MEMBER") {
		members = append(members, m.Value+" "+strings.Join(m.Params["CN"], ""))
	}
	eqSlice(t, "members", members, []string{"mailto:anna@example.org Anna Organizer", "mailto:bernd@example.org Bernd, Required", "mailto:plain@example.org "})
}
