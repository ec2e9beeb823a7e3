package oracle

import (
	"fmt"
	"testing"
)

// KolabDoc is one Kolab v3 XML document and what it should be read as: "event", "task", "journal",
// "contact", "distlist" or "note".
type KolabDoc struct {
	Kind string `json:"kind"`
	XML  []byte `json:"xml"`
}

// KolabResult is what libkolabxml 1.2 (python3-kolabformat) read from one document. ErrorLevel is
// kolabformat.error(): 0 none, 1 warning, 2 error, 3 critical (99: the binding raised); exactly one of the
// object fields is set when the level is below 2.
type KolabResult struct {
	Kind         string          `json:"kind"`
	ErrorLevel   int             `json:"error_level"`
	ErrorMessage string          `json:"error_message"`
	Incidence    *KolabIncidence `json:"incidence"`
	Contact      *KolabContact   `json:"contact"`
	DistList     *KolabDistList  `json:"distlist"`
	Note         *KolabNote      `json:"note"`
}

// Err is nil when libkolabxml read the document without any warning.
func (r KolabResult) Err() error {
	if r.ErrorLevel == 0 {
		return nil
	}
	return fmt.Errorf("libkolabxml %s level %d: %s", r.Kind, r.ErrorLevel, r.ErrorMessage)
}

// KolabDateTime is a cDateTime: Value is "2006-01-02" (date only), "2006-01-02T15:04:05" (local time in TZ)
// or "2006-01-02T15:04:05Z" (UTC).
type KolabDateTime struct {
	Value    string `json:"value"`
	TZ       string `json:"tz"`
	DateOnly bool   `json:"date_only"`
	UTC      bool   `json:"utc"`
}

type KolabPerson struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	UID   string `json:"uid"`
}

type KolabAttendee struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	PartStat string `json:"partstat"`
	Role     string `json:"role"`
	RSVP     bool   `json:"rsvp"`
	CUType   string `json:"cutype"`
}

// KolabAlarm: Trigger is an RFC 5545 duration ("-PT15M"), Related "START" or "END".
type KolabAlarm struct {
	Type        string `json:"type"`
	Description string `json:"description"`
	Text        string `json:"text"`
	Trigger     string `json:"trigger"`
	Related     string `json:"related"`
}

type KolabAttachment struct {
	URI      string `json:"uri"`
	MIMEType string `json:"mime_type"`
	Label    string `json:"label"`
	DataSize int    `json:"data_size"`
}

type KolabCustom struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// KolabRule is a RecurrenceRule; ByDay entries are RFC 5545 weekday codes with their ordinal ("-1SU").
type KolabRule struct {
	Freq       string         `json:"freq"`
	Interval   int            `json:"interval"`
	Count      int            `json:"count"`
	Until      *KolabDateTime `json:"until"`
	ByDay      []string       `json:"byday"`
	ByMonthDay []int          `json:"bymonthday"`
	ByMonth    []int          `json:"bymonth"`
	WeekStart  string         `json:"wkst"`
}

// KolabIncidence is an Event, Todo or Journal; fields a kind lacks stay empty.
type KolabIncidence struct {
	UID             string            `json:"uid"`
	Summary         string            `json:"summary"`
	Description     string            `json:"description"`
	Location        string            `json:"location"`
	Created         *KolabDateTime    `json:"created"`
	LastModified    *KolabDateTime    `json:"last_modified"`
	Sequence        int               `json:"sequence"`
	Class           string            `json:"class"`
	Categories      []string          `json:"categories"`
	Status          string            `json:"status"`
	Priority        int               `json:"priority"`
	Start           *KolabDateTime    `json:"start"`
	End             *KolabDateTime    `json:"end"`
	Due             *KolabDateTime    `json:"due"`
	Transparent     bool              `json:"transparent"`
	PercentComplete int               `json:"percent_complete"`
	RRule           *KolabRule        `json:"rrule"`
	ExDates         []KolabDateTime   `json:"exdates"`
	RDates          []KolabDateTime   `json:"rdates"`
	RecurrenceID    *KolabDateTime    `json:"recurrence_id"`
	Organizer       *KolabPerson      `json:"organizer"`
	Attendees       []KolabAttendee   `json:"attendees"`
	Alarms          []KolabAlarm      `json:"alarms"`
	Attachments     []KolabAttachment `json:"attachments"`
	Custom          []KolabCustom     `json:"custom"`
	Exceptions      []KolabIncidence  `json:"exceptions"`
}

type KolabRelated struct {
	Text  string `json:"text"`
	URI   string `json:"uri"`
	Types int    `json:"types"` // libkolabxml Related bits: 1 child, 2 spouse, 4 manager, 8 assistant
}

type KolabAffiliation struct {
	Organization string         `json:"organization"`
	Units        []string       `json:"units"`
	Roles        []string       `json:"roles"`
	Related      []KolabRelated `json:"related"`
}

// KolabTyped is an e-mail address or telephone number with libkolabxml's type bits (Email: 1 work, 2 home;
// Telephone: 1 work, 2 home, 4 text, 8 voice, 0x10 fax, 0x20 cell, 0x40 video, 0x80 pager, 0x100 textphone,
// 0x200 car).
type KolabTyped struct {
	Address string `json:"address"`
	Number  string `json:"number"`
	Types   int    `json:"types"`
}

type KolabAddress struct {
	Types    int    `json:"types"` // 1 work, 2 home
	Label    string `json:"label"`
	Street   string `json:"street"`
	Locality string `json:"locality"`
	Region   string `json:"region"`
	Code     string `json:"code"`
	Country  string `json:"country"`
}

type KolabContact struct {
	UID          string             `json:"uid"`
	FN           string             `json:"fn"`
	Family       []string           `json:"family"`
	Given        []string           `json:"given"`
	Additional   []string           `json:"additional"`
	Prefixes     []string           `json:"prefixes"`
	Suffixes     []string           `json:"suffixes"`
	Nicknames    []string           `json:"nicknames"`
	Note         string             `json:"note"`
	Titles       []string           `json:"titles"`
	Categories   []string           `json:"categories"`
	Affiliations []KolabAffiliation `json:"affiliations"`
	Related      []KolabRelated     `json:"related"`
	URLs         []string           `json:"urls"`
	IMPP         []string           `json:"impp"`
	Emails       []KolabTyped       `json:"emails"`
	Phones       []KolabTyped       `json:"phones"`
	Addresses    []KolabAddress     `json:"addresses"`
	Birthday     *KolabDateTime     `json:"bday"`
	Anniversary  *KolabDateTime     `json:"anniversary"`
	Gender       string             `json:"gender"`
	PhotoMIME    string             `json:"photo_mime"`
	Photo        []byte             `json:"photo"`
	LastModified *KolabDateTime     `json:"last_modified"`
	Custom       []KolabCustom      `json:"custom"`
}

type KolabDistList struct {
	UID          string         `json:"uid"`
	Name         string         `json:"name"`
	Members      []KolabPerson  `json:"members"`
	LastModified *KolabDateTime `json:"last_modified"`
	Custom       []KolabCustom  `json:"custom"`
}

type KolabNote struct {
	UID          string            `json:"uid"`
	Summary      string            `json:"summary"`
	Description  string            `json:"description"`
	Color        string            `json:"color"`
	Categories   []string          `json:"categories"`
	Class        string            `json:"class"`
	Created      *KolabDateTime    `json:"created"`
	LastModified *KolabDateTime    `json:"last_modified"`
	Attachments  []KolabAttachment `json:"attachments"`
	Custom       []KolabCustom     `json:"custom"`
}

// Kolab reads every document with libkolabxml (kolabformat.readEvent, readTodo, readJournal, readContact,
// readDistlist, readNote) and reports kolabformat.error() and the fields read back.
func Kolab(tb testing.TB, docs []KolabDoc) []KolabResult {
	tb.Helper()
	var res []KolabResult
	run(tb, "kolab", map[string]any{"docs": docs}, &res)
	checkCount(tb, "kolab", len(res), len(docs))
	return res
}
