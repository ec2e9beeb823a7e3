package testfixtures

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
)

// FreeBusyCase is a calendar with hand-written free/busy expectations, for the tests of free/busy
// publication (CLI, controller, IMAP reading). Its objects come in every format a calendar folder holds:
// Kolab v3 and v2 and plain iCalendar written by mailshift, and an iCalendar message as Outlook sends it
// (Windows zone name with its VTIMEZONE, RDATE, EXDATE).
type FreeBusyCase struct {
	// Now is the moment the publication is computed at; the window is DaysBack before the start of Now's
	// UTC day to DaysAhead after it.
	Now                 time.Time
	DaysBack, DaysAhead int
	WindowStart         time.Time
	WindowEnd           time.Time
	// TimeZone places the all-day events.
	TimeZone string
	Owner    string
	// Messages are the calendar folder's messages (RFC 5322, CRLF).
	Messages [][]byte
	// Expected are the FREEBUSY lines' values, "FBTYPE start/end" in UTC, in order.
	Expected []string
}

func berlin() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}

// FreeBusyCalendar returns the case: a window from 2026-03-15 to 2026-04-03 (UTC) around the European
// daylight-saving change of 2026-03-29, so wall-clock series move by an hour in UTC inside it.
func FreeBusyCalendar() FreeBusyCase {
	ber := berlin()
	c := FreeBusyCase{
		Now: time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC), DaysBack: 5, DaysAhead: 14,
		WindowStart: time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), WindowEnd: time.Date(2026, 4, 3, 0, 0, 0, 0, time.UTC),
		TimeZone: "Europe/Berlin", Owner: "alice@example.test",
	}
	at := func(loc *time.Location, y int, m time.Month, d, hh, mm int) groupware.DateTime {
		tzid := ""
		if loc != time.UTC {
			tzid = loc.String()
		}
		return groupware.DateTime{Time: time.Date(y, m, d, hh, mm, 0, 0, loc), TZID: tzid}
	}
	day := func(y int, m time.Month, d int) groupware.DateTime {
		return groupware.DateTime{Time: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), AllDay: true}
	}
	stamp := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ev := func(uid, summary string, start, end groupware.DateTime) *groupware.Event {
		return &groupware.Event{Common: groupware.Common{UID: uid, Summary: summary, Created: stamp, LastModified: stamp},
			Start: start, End: end}
	}

	// A weekly Monday 09:00–10:00 Berlin meeting (Kolab v3): Mar 16 regular (CET: 08:00Z), Mar 23
	// cancelled, Mar 30 moved to Tuesday Mar 31 14:00–15:00 Berlin (CEST: 12:00Z).
	weekly := ev("fb-weekly", "Team meeting", at(ber, 2026, 3, 2, 9, 0), at(ber, 2026, 3, 2, 10, 0))
	weekly.Recurrence = &groupware.Recurrence{Rule: groupware.Rule{Freq: groupware.Weekly,
		ByDay: []groupware.WeekdayNum{{Weekday: time.Monday}}}}
	cancelled := *ev("fb-weekly", "Team meeting", at(ber, 2026, 3, 23, 9, 0), at(ber, 2026, 3, 23, 10, 0))
	cancelled.Status = groupware.StatusCancelled
	moved := *ev("fb-weekly", "Team meeting (moved)", at(ber, 2026, 3, 31, 14, 0), at(ber, 2026, 3, 31, 15, 0))
	weekly.Exceptions = []groupware.Exception{
		{RecurrenceID: at(ber, 2026, 3, 23, 9, 0), Event: cancelled},
		{RecurrenceID: at(ber, 2026, 3, 30, 9, 0), Event: moved},
	}

	// Tentative (Kolab v2) overlapping a busy event (iCalendar): 13:00–13:30 tentative, 13:30–15:00 busy.
	tentative := ev("fb-tentative", "Maybe lunch talk", at(time.UTC, 2026, 3, 25, 13, 0), at(time.UTC, 2026, 3, 25, 14, 0))
	tentative.Busy = groupware.BusyTentative
	busy := ev("fb-review", "Design review", at(time.UTC, 2026, 3, 25, 13, 30), at(time.UTC, 2026, 3, 25, 15, 0))

	// Out of office all day Friday Mar 27 (Kolab v3), in Berlin: Mar 26 23:00Z to Mar 27 23:00Z.
	oof := ev("fb-oof", "Day off", day(2026, 3, 27), day(2026, 3, 28))
	oof.Busy = groupware.BusyOutOfOffice

	// A busy all-day conference on the day of the change (Kolab v2): 23 hours, Mar 28 23:00Z to Mar 29 22:00Z.
	conference := ev("fb-conference", "Conference", day(2026, 3, 29), day(2026, 3, 30))

	// Shown as free (transparent) and cancelled: neither is busy.
	free := ev("fb-free", "Focus time", at(time.UTC, 2026, 3, 24, 15, 0), at(time.UTC, 2026, 3, 24, 16, 0))
	free.Busy = groupware.BusyFree
	gone := ev("fb-cancelled", "Cancelled sync", at(time.UTC, 2026, 3, 24, 16, 0), at(time.UTC, 2026, 3, 24, 17, 0))
	gone.Status = groupware.StatusCancelled

	// A night shift that began before the window: clipped to its start.
	night := ev("fb-night", "Night shift", at(time.UTC, 2026, 3, 14, 20, 0), at(time.UTC, 2026, 3, 15, 2, 0))

	write := func(it groupware.Item, f groupware.Format) []byte {
		var b bytes.Buffer
		if err := groupware.WriteMessage(&b, it, f, groupware.Envelope{From: groupware.Person{Email: c.Owner}}); err != nil {
			panic(fmt.Sprintf("fixture %s: %v", it.Base().UID, err))
		}
		return b.Bytes()
	}
	c.Messages = [][]byte{
		write(weekly, groupware.FormatKolab3),
		write(tentative, groupware.FormatKolab2),
		write(busy, groupware.FormatICal),
		write(oof, groupware.FormatKolab3),
		write(conference, groupware.FormatKolab2),
		write(free, groupware.FormatICal),
		write(gone, groupware.FormatKolab3),
		write(night, groupware.FormatICal),
		[]byte(outlookStandup),
		[]byte("From: bob@example.test\r\nTo: alice@example.test\r\nSubject: not a calendar object\r\n" +
			"Message-ID: <plain-mail@example.test>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nAn ordinary mail filed in the calendar folder.\r\n"),
	}
	c.Expected = []string{
		"BUSY 20260315T000000Z/20260315T020000Z",           // night shift, clipped
		"BUSY 20260316T080000Z/20260316T090000Z",           // weekly, CET
		"BUSY 20260317T090000Z/20260317T093000Z",           // stand-up Tue, CET
		"BUSY 20260319T090000Z/20260319T093000Z",           // stand-up Thu
		"BUSY 20260324T090000Z/20260324T093000Z",           // stand-up Tue (Thu 26 excluded)
		"BUSY-TENTATIVE 20260325T130000Z/20260325T133000Z", // tentative until the busy review starts
		"BUSY 20260325T133000Z/20260325T150000Z",           // review wins the overlap
		"BUSY-UNAVAILABLE 20260326T230000Z/20260327T230000Z",
		"BUSY 20260328T090000Z/20260328T093000Z", // stand-up's RDATE, Saturday
		"BUSY 20260328T230000Z/20260329T220000Z", // conference, the 23-hour day
		"BUSY 20260331T080000Z/20260331T083000Z", // stand-up Tue, CEST
		"BUSY 20260331T120000Z/20260331T130000Z", // moved weekly instance
		"BUSY 20260402T080000Z/20260402T083000Z", // stand-up Thu, CEST
	}
	return c
}

// outlookStandup is a meeting invitation as Outlook sends it: a Windows zone name with its VTIMEZONE, a
// twice-weekly 10:00–10:30 series with one date excluded and one extra date added, in a multipart mail.
var outlookStandup = strings.ReplaceAll(`From: carol@example.test
To: alice@example.test
Subject: Stand-up
Message-ID: <standup-invite@example.test>
Date: Sun, 01 Mar 2026 09:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Stand-up, Tuesdays and Thursdays.
--b1
Content-Type: text/calendar; charset=utf-8; method=REQUEST
Content-Transfer-Encoding: 7bit

BEGIN:VCALENDAR
METHOD:REQUEST
PRODID:Microsoft Exchange Server 2010
VERSION:2.0
BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
ORGANIZER;CN=Carol:mailto:carol@example.test
ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=Alice:mailto:alice@example.test
DESCRIPTION;LANGUAGE=en-US:Stand-up\, Tuesdays and Thursdays.
RRULE:FREQ=WEEKLY;UNTIL=20260430T080000Z;INTERVAL=1;BYDAY=TU,TH;WKST=MO
EXDATE;TZID=W. Europe Standard Time:20260326T100000
RDATE;TZID=W. Europe Standard Time:20260328T100000
UID:040000008200E00074C5B7101A82E00800000000A0B1C2D3E4F5A601000000000000000010000000F00DBA5EF00DBA5EF00DBA5EF00DBA5E
SUMMARY;LANGUAGE=en-US:Stand-up
DTSTART;TZID=W. Europe Standard Time:20260303T100000
DTEND;TZID=W. Europe Standard Time:20260303T103000
CLASS:PUBLIC
PRIORITY:5
DTSTAMP:20260301T090000Z
TRANSP:OPAQUE
STATUS:CONFIRMED
SEQUENCE:0
X-MICROSOFT-CDO-BUSYSTATUS:BUSY
X-MICROSOFT-CDO-INTENDEDSTATUS:BUSY
END:VEVENT
END:VCALENDAR

--b1--
`, "\n", "\r\n")

// SeedCalendar creates folder in the account (when missing), marks it as a Kolab event folder where the
// server has METADATA, and appends msgs to it.
func SeedCalendar(ctx context.Context, ep imapconn.Endpoint, cred imapconn.Credentials, folder string, msgs [][]byte) error {
	s, err := imapsession.Dial(ctx, ep, cred)
	if err != nil {
		return err
	}
	defer s.Close()
	folders, err := s.PersonalFolders(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(folders, func(f imapconn.Folder) bool { return f.Name == folder }) {
		if err := s.Create(ctx, folder); err != nil {
			return err
		}
	}
	if s.Has("METADATA") {
		if err := s.SetMetadata(ctx, folder, map[string]string{imapsession.SharedFolderTypeKey: "event"}); err != nil {
			return err
		}
	}
	c, err := imapbulk.Dial(ctx, ep, cred)
	if err != nil {
		return err
	}
	defer c.Close()
	batch := make([]imapbulk.Message, len(msgs))
	for i, m := range msgs {
		batch[i] = imapbulk.Message{Size: int64(len(m)), Body: bytes.NewReader(m)}
	}
	res, err := c.Append(ctx, folder, batch)
	if err != nil {
		return err
	}
	for i, r := range res {
		if r.Err != nil {
			return fmt.Errorf("append message %d: %w", i, r.Err)
		}
	}
	return nil
}
