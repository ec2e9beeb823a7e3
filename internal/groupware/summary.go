package groupware

import (
	"fmt"
	"strings"
	"time"
)

// plainSummary is the human-readable text/plain part of a FormatICal message: what a mail client without
// calendar support shows.
func plainSummary(it Item) string {
	var b strings.Builder
	line := func(label, value string) {
		if value = cleanText(value); value != "" {
			fmt.Fprintf(&b, "%s: %s\n", label, value)
		}
	}
	when := func(d DateTime) string {
		if d.IsZero() {
			return ""
		}
		if d.AllDay {
			return d.Time.Format("Mon, 2 Jan 2006")
		}
		z, err := resolve(d, "")
		if err != nil {
			return d.Time.Format(time.RFC1123Z)
		}
		s := z.t.Format("Mon, 2 Jan 2006 15:04")
		if z.tzid != "" {
			return s + " (" + z.tzid + ")"
		}
		return s + " UTC"
	}
	c := it.Base()
	switch it := it.(type) {
	case *Event:
		line("Event", it.Summary)
		line("Start", when(it.Start))
		line("End", when(it.End))
		line("Location", it.Location)
		if it.Organizer != nil {
			line("Organizer", personText(*it.Organizer))
		}
		for _, a := range it.Attendees {
			line("Attendee", personText(a.Person))
		}
		if it.Recurrence != nil {
			line("Repeats", icalRRule(it.Recurrence.Rule, zoned{}))
		}
	case *Task:
		line("Task", it.Summary)
		line("Start", when(it.Start))
		line("Due", when(it.Due))
		line("Status", string(it.Status))
		if it.PercentComplete > 0 {
			line("Complete", fmt.Sprintf("%d%%", it.PercentComplete))
		}
	case *Journal:
		line("Journal", it.Summary)
		line("Type", it.Type)
		line("Start", when(it.Start))
	case *Contact:
		line("Contact", formattedName(it))
		line("Organization", it.Organization)
		for _, e := range it.Emails {
			line("E-mail", e.Address)
		}
		for _, p := range it.Phones {
			line("Phone", p.Number)
		}
	case *DistList:
		line("Distribution list", it.Name)
		for _, m := range it.Members {
			line("Member", personText(m))
		}
	case *Note:
		if d := cleanText(c.Description); d != "" {
			return d + "\n"
		}
		return cleanText(c.Summary) + "\n"
	}
	if d := cleanText(c.Description); d != "" {
		b.WriteString("\n" + d + "\n")
	}
	if b.Len() == 0 {
		return c.UID + "\n"
	}
	return b.String()
}

func personText(p Person) string {
	switch {
	case p.Name != "" && p.Email != "":
		return oneLine(p.Name) + " <" + oneLine(p.Email) + ">"
	case p.Email != "":
		return oneLine(p.Email)
	}
	return oneLine(p.Name)
}
