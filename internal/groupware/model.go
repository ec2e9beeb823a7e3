package groupware

import (
	"io"
	"time"
)

// Kind is what an item is, and so which kind of folder it belongs in.
type Kind int

const (
	KindMail Kind = iota
	KindEvent
	KindContact
	KindDistList
	KindTask
	KindNote
	KindJournal
)

// String is the Kolab folder type of the kind ("event", "contact", ...). Distribution lists live in contact
// folders.
func (k Kind) String() string {
	switch k {
	case KindEvent:
		return "event"
	case KindContact, KindDistList:
		return "contact"
	case KindTask:
		return "task"
	case KindNote:
		return "note"
	case KindJournal:
		return "journal"
	}
	return "mail"
}

// Format is an output format for groupware items.
type Format int

const (
	// FormatKolab3 is Kolab format v3 (KEP 17): one object per message, xCal or xCard in multipart/mixed.
	FormatKolab3 Format = iota
	// FormatICal is plain iCalendar (RFC 5545) or vCard 3.0 (RFC 2426) in MIME, readable by any mail client.
	FormatICal
	// FormatKolab2 is Kolab format v2 XML, what older Outlook connectors read.
	FormatKolab2
)

func (f Format) String() string {
	switch f {
	case FormatICal:
		return "ical"
	case FormatKolab2:
		return "kolab2"
	}
	return "kolab3"
}

// DateTime is a point in time in a time zone, or a calendar date when AllDay is set (then only Time's year,
// month and day count). TZID is the IANA name of Time's location ("Europe/Berlin"); empty means UTC, or, for
// an AllDay date, no zone at all.
type DateTime struct {
	Time   time.Time
	TZID   string
	AllDay bool
}

// IsZero reports whether the value is unset.
func (d DateTime) IsZero() bool { return d.Time.IsZero() }

// Person is an organizer, attendee, owner or list member.
type Person struct {
	Name  string
	Email string
}

// Role is an attendee's participation role (RFC 5545 ROLE).
type Role string

const (
	RoleChair          Role = "CHAIR"
	RoleRequired       Role = "REQ-PARTICIPANT"
	RoleOptional       Role = "OPT-PARTICIPANT"
	RoleNonParticipant Role = "NON-PARTICIPANT"
)

// PartStat is an attendee's response (RFC 5545 PARTSTAT).
type PartStat string

const (
	PartStatNeedsAction PartStat = "NEEDS-ACTION"
	PartStatAccepted    PartStat = "ACCEPTED"
	PartStatDeclined    PartStat = "DECLINED"
	PartStatTentative   PartStat = "TENTATIVE"
	PartStatDelegated   PartStat = "DELEGATED"
)

// CUType is the kind of calendar user an attendee is (RFC 5545 CUTYPE).
type CUType string

const (
	CUIndividual CUType = "INDIVIDUAL"
	CUResource   CUType = "RESOURCE"
	CURoom       CUType = "ROOM"
)

// Attendee is one invitee of a meeting.
type Attendee struct {
	Person
	Role     Role
	PartStat PartStat
	RSVP     bool
	CUType   CUType
}

// BusyStatus is how an event shows in free/busy (Outlook's "Show as").
type BusyStatus int

const (
	BusyBusy BusyStatus = iota // the default
	BusyFree
	BusyTentative
	BusyOutOfOffice
	BusyWorkingElsewhere
)

// Status is an event's or task's status (RFC 5545 STATUS).
type Status string

const (
	StatusNone        Status = ""
	StatusTentative   Status = "TENTATIVE"
	StatusConfirmed   Status = "CONFIRMED"
	StatusCancelled   Status = "CANCELLED"
	StatusNeedsAction Status = "NEEDS-ACTION"
	StatusInProcess   Status = "IN-PROCESS"
	StatusCompleted   Status = "COMPLETED"
)

// Class is an item's sensitivity (RFC 5545 CLASS).
type Class string

const (
	ClassPublic       Class = "PUBLIC"
	ClassPrivate      Class = "PRIVATE"
	ClassConfidential Class = "CONFIDENTIAL"
)

// Alarm is a reminder: a display alarm Before the start (or the due time, for tasks).
type Alarm struct {
	Before      time.Duration
	Description string
}

// Frequency is a recurrence rule's FREQ.
type Frequency string

const (
	Daily   Frequency = "DAILY"
	Weekly  Frequency = "WEEKLY"
	Monthly Frequency = "MONTHLY"
	Yearly  Frequency = "YEARLY"
)

// WeekdayNum is one BYDAY entry: a weekday with an optional ordinal (1 = first, -1 = last, 0 = every).
type WeekdayNum struct {
	N       int
	Weekday time.Weekday
}

// Rule is a recurrence rule (RFC 5545 RRULE). Until and Count are exclusive; both zero means for ever.
// Until is inclusive, in the same location (or UTC) as the series start.
type Rule struct {
	Freq       Frequency
	Interval   int // 0 or 1 means every period
	Count      int
	Until      time.Time
	ByDay      []WeekdayNum
	ByMonthDay []int
	ByMonth    []int
	BySetPos   []int
	WeekStart  time.Weekday // WKST; Monday when unset by the source
}

// Recurrence is an item's whole recurrence: its rule, the instances removed from it (EXDATE, as the
// original start of each removed instance) and extra instances (RDATE).
type Recurrence struct {
	Rule    Rule
	ExDates []time.Time
	RDates  []time.Time
}

// Attachment is a file attached to a groupware item. Open streams its content; Size is its length in bytes.
type Attachment struct {
	Filename  string
	MIMEType  string
	ContentID string // without angle brackets; the writer makes one when empty
	Size      int64
	Open      func() (io.ReadCloser, error)
}

// Custom is a property the model has no field for, preserved as an X- property (iCalendar, vCard) or an
// x-custom element (Kolab), so nothing is dropped. Name is the X- name ("X-MAILSHIFT-…", "X-MICROSOFT-…").
type Custom struct {
	Name  string
	Value string
}

// Common are the fields every groupware item has.
type Common struct {
	UID          string
	Created      time.Time // UTC
	LastModified time.Time // UTC
	Summary      string
	Description  string // plain text
	Categories   []string
	Class        Class
	Attachments  []Attachment
	Custom       []Custom
	// ProductID names the writer in PRODID; the writer supplies a default.
	ProductID string
}

// Event is a calendar item (VEVENT).
type Event struct {
	Common
	Start, End DateTime
	Location   string
	Priority   int // 0 none, 1 highest … 9 lowest
	Busy       BusyStatus
	Status     Status
	Organizer  *Person
	Attendees  []Attendee
	Alarms     []Alarm
	Sequence   int
	Recurrence *Recurrence
	// Exceptions are modified instances of a recurring event, each with its RecurrenceID (the original
	// start of the instance it replaces) and its own fields. They are written in the same object.
	Exceptions []Exception
}

// Exception is one modified instance of a recurring event.
type Exception struct {
	RecurrenceID DateTime
	Event        Event // its own Start, End, Summary, Location, Busy, …; Recurrence and Exceptions unused
}

// Name is a structured personal name (vCard N).
type Name struct {
	Family, Given, Additional, Prefix, Suffix string
}

// Email is one e-mail address of a contact. Type is "work", "home" or "" (other).
type Email struct {
	Type    string
	Address string
	Display string // the display name Outlook keeps for the address, when it differs from the contact's
}

// Phone is one telephone number. Types are vCard TYPE values: "work", "home", "cell", "fax", "pager",
// "voice", "car", "isdn", "text", "video", "main", "assistant", "callback", "company", "radio", "telex",
// "ttytdd", "other".
type Phone struct {
	Types  []string
	Number string
}

// Address is one postal address (vCard ADR). Type is "work", "home" or "" (other).
type Address struct {
	Type                                                     string
	POBox, Extended, Street, Locality, Region, Code, Country string
	Label                                                    string // the formatted address as Outlook shows it
}

// Photo is a contact picture.
type Photo struct {
	MIMEType string
	Data     []byte
}

// Contact is an address-book entry (vCard).
type Contact struct {
	Common
	FormattedName string // FN
	Name          Name
	Nickname      string
	Emails        []Email
	Phones        []Phone
	Addresses     []Address
	Organization  string
	Department    string
	Title         string
	Role          string // profession
	Manager       string
	Assistant     string
	Spouse        string
	URLs          []string
	IMAddresses   []string
	Birthday      time.Time // date only; zero when unknown
	Anniversary   time.Time // date only; zero when unknown
	Gender        string    // "M", "F" or ""
	Photo         *Photo
}

// DistList is a distribution list: a named group of people (vCard KIND:group; Kolab distribution-list).
type DistList struct {
	Common
	Name    string
	Members []Person
}

// Task is a to-do (VTODO).
type Task struct {
	Common
	Start           DateTime
	Due             DateTime
	Completed       time.Time // UTC; zero when not completed
	PercentComplete int       // 0…100
	Status          Status    // NEEDS-ACTION, IN-PROCESS, COMPLETED, CANCELLED
	Priority        int       // 0 none, 1 highest … 9 lowest
	Organizer       *Person
	Alarms          []Alarm
	Recurrence      *Recurrence
}

// Note is a sticky note. Color is Outlook's note colour name: "blue", "green", "pink", "yellow" or "white".
type Note struct {
	Common
	Color string
}

// Journal is a journal entry (VJOURNAL): a logged phone call, meeting, document, … Type is Outlook's entry
// type as shown to the user ("Phone call", "E-mail Message", …).
type Journal struct {
	Common
	Start, End DateTime
	Type       string
	Contacts   []Person
}
