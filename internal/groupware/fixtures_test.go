package groupware

import (
	"bytes"
	"io"
	"strings"
	"time"
)

// Hand-built items covering every field the writers handle. Expected values in the tests are written out by
// hand from these, never taken from a writer's output.

var (
	berlin  = mustZone("Europe/Berlin")
	newYork = mustZone("America/New_York")
	created = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	changed = time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func at(loc *time.Location, y int, m time.Month, d, h, min int) DateTime {
	tz := loc.String()
	if loc == time.UTC {
		tz = ""
	}
	return DateTime{Time: time.Date(y, m, d, h, min, 0, 0, loc), TZID: tz}
}

func day(y int, m time.Month, d int) DateTime {
	return DateTime{Time: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), AllDay: true}
}

// pattern is deterministic attachment content of n bytes.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func attachment(name, mimeType string, data []byte) Attachment {
	return Attachment{
		Filename: name, MIMEType: mimeType, Size: int64(len(data)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
	}
}

// Text with everything that needs escaping: XML and iCalendar specials, a forbidden control character,
// invalid UTF-8, CRLF and non-ASCII.
const trickyText = "Agenda: A&B <review>; \"quotes\", commas\\backslash\r\nZweite Zeile: Grüße\x01 \xff end"

// trickyClean is trickyText as every reader must see it: control removed, invalid byte replaced, CRLF → LF.
const trickyClean = "Agenda: A&B <review>; \"quotes\", commas\\backslash\nZweite Zeile: Grüße \uFFFD end"

var (
	bigAttachment   = pattern(200_000)
	smallAttachment = []byte("plain notes\n")
)

// weeklyMeeting recurs on Wednesdays 10:00 Berlin time from 20 March 2024, 8 times, across the change to
// summer time on 31 March; 27 March and 17 April are cancelled and 10 April moved to Thursday 11 April.
func weeklyMeeting() *Event {
	return &Event{
		Common: Common{
			UID: "weekly-3f1c@example.org", Created: created, LastModified: changed,
			Summary: "Wöchentliche Besprechung", Description: trickyText,
			Categories: []string{"Work", "Team, Core"}, Class: ClassConfidential,
			Attachments: []Attachment{
				attachment("Präsentation über Ölförderung.pdf", "application/pdf", bigAttachment),
				attachment("notes.txt", "text/plain", smallAttachment),
			},
			Custom: []Custom{{Name: "X-MAILSHIFT-TEST", Value: "a; b, c"}},
		},
		Start: at(berlin, 2024, 3, 20, 10, 0), End: at(berlin, 2024, 3, 20, 11, 0),
		Location: "Raum 4.01; Gebäude B", Priority: 3, Busy: BusyBusy, Status: StatusConfirmed, Sequence: 2,
		Organizer: &Person{Name: "Anna Organizer", Email: "anna@example.org"},
		Attendees: []Attendee{
			{Person: Person{Name: "Anna Organizer", Email: "anna@example.org"}, Role: RoleChair, PartStat: PartStatAccepted, CUType: CUIndividual},
			{Person: Person{Name: "Bernd, Required", Email: "bernd@example.org"}, Role: RoleRequired, PartStat: PartStatTentative, RSVP: true, CUType: CUIndividual},
			{Person: Person{Name: "Clara Optional", Email: "clara@example.org"}, Role: RoleOptional, PartStat: PartStatDeclined},
			{Person: Person{Name: "Dieter Info", Email: "dieter@example.org"}, Role: RoleNonParticipant, PartStat: PartStatNeedsAction, RSVP: true},
			{Person: Person{Name: "Eva Delegate", Email: "eva@example.org"}, Role: RoleRequired, PartStat: PartStatDelegated},
			{Person: Person{Name: "Room 4.01", Email: "room401@example.org"}, Role: RoleNonParticipant, PartStat: PartStatAccepted, CUType: CURoom},
			{Person: Person{Name: "Beamer", Email: "beamer@example.org"}, Role: RoleOptional, PartStat: PartStatAccepted, CUType: CUResource},
		},
		Alarms: []Alarm{{Before: 15 * time.Minute, Description: "In 15 Minuten"}, {Before: 24 * time.Hour}},
		Recurrence: &Recurrence{
			Rule:    Rule{Freq: Weekly, Count: 8, ByDay: []WeekdayNum{{Weekday: time.Wednesday}}, WeekStart: time.Monday},
			ExDates: []time.Time{time.Date(2024, 3, 27, 10, 0, 0, 0, berlin), time.Date(2024, 4, 17, 10, 0, 0, 0, berlin)},
		},
		Exceptions: []Exception{{
			RecurrenceID: at(berlin, 2024, 4, 10, 10, 0),
			Event: Event{
				Common: Common{Summary: "Verschoben: Besprechung", Description: "moved"},
				Start:  at(berlin, 2024, 4, 11, 14, 0), End: at(berlin, 2024, 4, 11, 15, 30),
				Location: "Raum 2.12", Busy: BusyTentative, Sequence: 3,
			},
		}},
	}
}

// weeklyInstancesUTC are the meeting's occurrences as UTC instants, written out by hand: 09:00Z before the
// change to summer time, 08:00Z after, the override at 12:00Z.
var weeklyInstancesUTC = []string{
	"2024-03-20T09:00:00Z", "2024-04-03T08:00:00Z", "2024-04-11T12:00:00Z", "2024-04-24T08:00:00Z",
	"2024-05-01T08:00:00Z", "2024-05-08T08:00:00Z",
}

func allDayEvent() *Event {
	return &Event{
		Common: Common{UID: "holiday-2024-05-01", Created: created, LastModified: changed, Summary: "Tag der Arbeit", Class: ClassPublic},
		Start:  day(2024, 5, 1), End: day(2024, 5, 2), Busy: BusyFree,
		Recurrence: &Recurrence{Rule: Rule{Freq: Yearly, Until: time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC), ByMonth: []int{5}, ByMonthDay: []int{1}, WeekStart: time.Monday}},
	}
}

func busyEvent(uid string, b BusyStatus) *Event {
	return &Event{
		Common: Common{UID: uid, Created: created, LastModified: changed, Summary: "Show as " + busyCode(b)},
		Start:  at(newYork, 2024, 11, 4, 9, 0), End: at(newYork, 2024, 11, 4, 9, 45), Busy: b,
	}
}

func fullContact() *Contact {
	return &Contact{
		Common: Common{
			UID: "c0ffee00-1234-4abc-8def-0123456789ab", Created: created, LastModified: changed,
			Description: "Met at the conference.\nLikes tea; not coffee.", Categories: []string{"Kunden", "VIP"},
			Custom: []Custom{{Name: "X-MAILSHIFT-FILE-AS", Value: "Müller, Jörg"}},
		},
		FormattedName: "Dr. Jörg Peter Müller Jr.",
		Name:          Name{Family: "Müller", Given: "Jörg", Additional: "Peter", Prefix: "Dr.", Suffix: "Jr."},
		Nickname:      "Jöggi",
		Emails: []Email{
			{Type: "work", Address: "joerg.mueller@example.com"},
			{Type: "home", Address: "jm@example.net", Display: "Jörg privat"},
			{Address: "jm-other@example.org"},
		},
		Phones: []Phone{
			{Types: []string{"work", "voice"}, Number: "+49 30 1234567"},
			{Types: []string{"home", "voice"}, Number: "+49 30 7654321"},
			{Types: []string{"cell"}, Number: "+49 170 1112223"},
			{Types: []string{"work", "fax"}, Number: "+49 30 1234568"},
			{Types: []string{"pager"}, Number: "+49 160 999"},
		},
		Addresses: []Address{
			{Type: "work", Street: "Hauptstraße 1", Locality: "Berlin", Region: "BE", Code: "10115", Country: "Deutschland", Label: "Hauptstraße 1\n10115 Berlin"},
			{Type: "home", POBox: "PF 12", Street: "Gartenweg 5", Locality: "Potsdam", Region: "BB", Code: "14467", Country: "Deutschland"},
		},
		Organization: "Beispiel GmbH", Department: "Vertrieb", Title: "Leiter Vertrieb", Role: "Ingenieur",
		Manager: "Frau Chefin", Assistant: "Herr Helfer", Spouse: "Maria Müller",
		URLs:        []string{"https://example.com/~jm"},
		IMAddresses: []string{"xmpp:jm@example.com"},
		Birthday:    time.Date(1975, 6, 15, 0, 0, 0, 0, time.UTC),
		Anniversary: time.Date(2001, 9, 8, 0, 0, 0, 0, time.UTC),
		Gender:      "M",
		Photo:       &Photo{MIMEType: "image/png", Data: pattern(3000)},
	}
}

func distList() *DistList {
	return &DistList{
		Common: Common{UID: "list-7d2e", Created: created, LastModified: changed},
		Name:   "Projekt Ölpreis",
		Members: []Person{
			{Name: "Anna Organizer", Email: "anna@example.org"},
			{Name: "Bernd, Required", Email: "bernd@example.org"},
			{Name: "", Email: "plain@example.org"},
		},
	}
}

func fullTask() *Task {
	return &Task{
		Common: Common{UID: "task-9a8b", Created: created, LastModified: changed, Summary: "Bericht schreiben",
			Description: "Quartalsbericht\nmit Zahlen", Categories: []string{"Work"}, Class: ClassPrivate},
		Start: at(berlin, 2024, 3, 25, 9, 0), Due: at(berlin, 2024, 4, 2, 17, 0),
		Completed: time.Date(2024, 4, 2, 15, 30, 0, 0, time.UTC), PercentComplete: 100,
		Status: StatusCompleted, Priority: 1,
		Alarms: []Alarm{{Before: 2 * time.Hour, Description: "Bericht fällig"}},
	}
}

func fullNote() *Note {
	return &Note{
		Common: Common{UID: "note-42", Created: created, LastModified: changed, Summary: "Einkauf",
			Description: "Milch\nBrot & Butter", Categories: []string{"Privat"}},
		Color: "yellow",
	}
}

func fullJournal() *Journal {
	return &Journal{
		Common: Common{UID: "journal-17", Created: created, LastModified: changed, Summary: "Anruf bei Jörg",
			Description: "Angebot besprochen."},
		Start: at(time.UTC, 2024, 3, 21, 14, 0), End: at(time.UTC, 2024, 3, 21, 14, 25),
		Type: "Phone call", Contacts: []Person{{Name: "Jörg Müller", Email: "joerg.mueller@example.com"}},
	}
}

// allItems are the fixtures every format's tests write.
func allItems() map[string]Item {
	return map[string]Item{
		"weekly":    weeklyMeeting(),
		"allday":    allDayEvent(),
		"tentative": busyEvent("busy-tentative", BusyTentative),
		"oof":       busyEvent("busy-oof", BusyOutOfOffice),
		"free":      busyEvent("busy-free", BusyFree),
		"elsewhere": busyEvent("busy-elsewhere", BusyWorkingElsewhere),
		"contact":   fullContact(),
		"distlist":  distList(),
		"task":      fullTask(),
		"note":      fullNote(),
		"journal":   fullJournal(),
	}
}

func envelopeFor(it Item) Envelope {
	return Envelope{
		From:      Person{Name: "Postfach Inhaber", Email: "owner@example.org"},
		Date:      it.Base().LastModified,
		MessageID: "<" + strings.ReplaceAll(it.Base().UID, "@", ".") + "@mailshift.test>",
	}
}

func write(t interface{ Fatalf(string, ...any) }, it Item, f Format) []byte {
	var b bytes.Buffer
	if err := WriteMessage(&b, it, f, envelopeFor(it)); err != nil {
		t.Fatalf("WriteMessage(%s): %v", f, err)
	}
	return b.Bytes()
}
