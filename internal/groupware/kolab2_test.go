package groupware

import (
	"testing"

	"github.com/mailshift/mailshift/internal/oracle"
)

var kolab2Types = map[string]string{
	"weekly": "event", "allday": "event", "tentative": "event", "oof": "event", "free": "event", "elsewhere": "event",
	"contact": "contact", "distlist": "contact.distlist", "task": "task", "note": "note", "journal": "journal",
}

func TestKolab2(t *testing.T) {
	ws := writeAll(t, FormatKolab2)
	var names []string
	var docs [][]byte
	for n, w := range ws {
		typ := "application/x-vnd.kolab." + kolab2Types[n]
		eq(t, n+" X-Kolab-Type", w.mail.Header("X-Kolab-Type"), typ)
		eq(t, n+" subject", w.mail.Subject, w.item.Base().UID)
		p := w.part(t, typ)
		eq(t, n+" filename", p.Filename, "kolab.xml")
		names = append(names, n)
		docs = append(docs, p.Body)
	}
	roots := map[string]oracle.XMLNode{}
	for i, r := range oracle.XML(t, docs) {
		if r.Error != "" {
			t.Fatalf("%s: %s", names[i], r.Error)
		}
		roots[names[i]] = r.Root
	}

	e := roots["weekly"]
	eq(t, "root", e.Tag, "event")
	eq(t, "version", e.Attrs["version"], "1.0")
	eq(t, "uid", e.TextAt("uid"), "weekly-3f1c@example.org")
	eq(t, "body", e.TextAt("body"), trickyClean)
	eq(t, "summary", e.TextAt("summary"), "Wöchentliche Besprechung")
	eq(t, "location", e.TextAt("location"), "Raum 4.01; Gebäude B")
	eq(t, "sensitivity", e.TextAt("sensitivity"), "confidential")
	eq(t, "creation-date", e.TextAt("creation-date"), "2024-01-02T03:04:05Z")
	eq(t, "start-date", e.TextAt("start-date"), "2024-03-20T09:00:00Z")
	eq(t, "end-date", e.TextAt("end-date"), "2024-03-20T10:00:00Z")
	eq(t, "alarm", e.TextAt("alarm"), "15")
	eq(t, "organizer", e.TextAt("organizer/smtp-address"), "anna@example.org")
	eq(t, "show-time-as", e.TextAt("show-time-as"), "busy")
	rec := e.All("recurrence")
	if len(rec) != 1 {
		t.Fatalf("recurrence = %+v", rec)
	}
	eq(t, "cycle", rec[0].Attrs["cycle"], "weekly")
	eq(t, "interval", rec[0].TextAt("interval"), "1")
	eq(t, "day", rec[0].TextAt("day"), "wednesday")
	eq(t, "range", rec[0].TextAt("range"), "8")
	eq(t, "range type", rec[0].All("range")[0].Attrs["type"], "number")
	var excl []string
	for _, x := range rec[0].All("exclusion") {
		excl = append(excl, x.Text)
	}
	// the two EXDATEs and the moved instance, whose changes Kolab 2 cannot hold
	eqSlice(t, "exclusions", excl, []string{"2024-03-27", "2024-04-17", "2024-04-10"})
	var att []string
	for _, a := range e.All("attendee") {
		att = append(att, a.TextAt("smtp-address")+" "+a.TextAt("status")+" "+a.TextAt("role")+" "+a.TextAt("request-response"))
	}
	eqSlice(t, "attendees", att, []string{
		"anna@example.org accepted required false", "bernd@example.org tentative required true",
		"clara@example.org declined optional false", "dieter@example.org none optional true",
		"eva@example.org delegated required false", "room401@example.org accepted resource false",
		"beamer@example.org accepted resource false"})
	var inl []string
	for _, a := range e.All("inline-attachment") {
		inl = append(inl, a.Text)
	}
	eqSlice(t, "inline attachments", inl, []string{"Präsentation über Ölförderung.pdf", "notes.txt"})
	checkAttachments(t, ws["weekly"])

	a := roots["allday"]
	eq(t, "all-day start", a.TextAt("start-date"), "2024-05-01")
	eq(t, "all-day end (inclusive)", a.TextAt("end-date"), "2024-05-01")
	eq(t, "all-day show", a.TextAt("show-time-as"), "free")
	ar := a.All("recurrence")[0]
	eq(t, "yearly cycle", ar.Attrs["cycle"]+"/"+ar.Attrs["type"], "yearly/monthday")
	eq(t, "yearly day", ar.TextAt("daynumber")+" "+ar.TextAt("month"), "1 may")
	eq(t, "yearly range", ar.All("range")[0].Attrs["type"]+" "+ar.TextAt("range"), "date 2027-05-01")

	for n, want := range map[string]string{"tentative": "tentative", "oof": "outofoffice", "free": "free", "elsewhere": "busy"} {
		eq(t, n+" show-time-as", roots[n].TextAt("show-time-as"), want)
		eq(t, n+" start", roots[n].TextAt("start-date"), "2024-11-04T14:00:00Z")
	}

	c := roots["contact"]
	eq(t, "contact given", c.TextAt("name/given-name"), "Jörg")
	eq(t, "contact middle", c.TextAt("name/middle-names"), "Peter")
	eq(t, "contact last", c.TextAt("name/last-name"), "Müller")
	eq(t, "contact full", c.TextAt("name/full-name"), "Dr. Jörg Peter Müller Jr.")
	eq(t, "contact org", c.TextAt("organization"), "Beispiel GmbH")
	eq(t, "contact title", c.TextAt("job-title"), "Leiter Vertrieb")
	eq(t, "contact birthday", c.TextAt("birthday"), "1975-06-15")
	eq(t, "contact body", c.TextAt("body"), "Met at the conference.\nLikes tea; not coffee.")
	eq(t, "contact picture", c.TextAt("picture"), "kolab-picture.png")
	var emails, phones, adrs []string
	for _, x := range c.All("email") {
		emails = append(emails, x.TextAt("display-name")+" <"+x.TextAt("smtp-address")+">")
	}
	for _, x := range c.All("phone") {
		phones = append(phones, x.TextAt("type")+" "+x.TextAt("number"))
	}
	for _, x := range c.All("address") {
		adrs = append(adrs, x.TextAt("type")+"|"+x.TextAt("street")+"|"+x.TextAt("locality")+"|"+x.TextAt("region")+"|"+x.TextAt("postal-code")+"|"+x.TextAt("country"))
	}
	eqSlice(t, "contact emails", emails, []string{"Dr. Jörg Peter Müller Jr. <joerg.mueller@example.com>", "Jörg privat <jm@example.net>", "Dr. Jörg Peter Müller Jr. <jm-other@example.org>"})
	eqSlice(t, "contact phones", phones, []string{"business1 +49 30 1234567", "home1 +49 30 7654321", "mobile +49 170 1112223", "businessfax +49 30 1234568", "pager +49 160 999"})
	eqSlice(t, "contact addresses", adrs, []string{"business|Hauptstraße 1|Berlin|BE|10115|Deutschland", "home|PF 12\nGartenweg 5|Potsdam|BB|14467|Deutschland"})
	pic := ws["contact"].part(t, "image/png")
	eq(t, "picture part", pic.Filename+" "+string(rune('0'+pic.Size/1000)), "kolab-picture.png 3")

	d := roots["distlist"]
	eq(t, "list root", d.Tag, "distribution-list")
	eq(t, "list name", d.TextAt("display-name"), "Projekt Ölpreis")
	eq(t, "list members", len(d.All("member")), 3)
	eq(t, "list member 2", d.All("member")[1].TextAt("display-name"), "Bernd, Required")

	k := roots["task"]
	eq(t, "task priority", k.TextAt("priority"), "1")
	eq(t, "task completed", k.TextAt("completed"), "100")
	eq(t, "task status", k.TextAt("status"), "completed")
	eq(t, "task due", k.TextAt("due-date"), "2024-04-02T15:00:00Z")
	eq(t, "task start", k.TextAt("start-date"), "2024-03-25T08:00:00Z")

	n := roots["note"]
	eq(t, "note summary", n.TextAt("summary"), "Einkauf")
	eq(t, "note body", n.TextAt("body"), "Milch\nBrot & Butter")
	eq(t, "note colour", n.TextAt("background-color"), "#ffff99")

	j := roots["journal"]
	eq(t, "journal start", j.TextAt("start-date"), "2024-03-21T14:00:00Z")
	eq(t, "journal end", j.TextAt("end-date"), "2024-03-21T14:25:00Z")
}
