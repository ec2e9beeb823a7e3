package freebusy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/calobject"
)

func FuzzParse(f *testing.F) {
	var b bytes.Buffer
	if err := Write(&b, decemberPeriods, december); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte("BEGIN:VCALENDAR\nBEGIN:VFREEBUSY\nORGANIZER;CN=\"a;b\":mailto:x@y\nDTSTART:20261201T000000Z\n" +
		"FREEBUSY;FBTYPE=FREE:20261202T090000Z/PT1H,20261202T110000Z/P1DT2H\nEND:VFREEBUSY\nEND:VCALENDAR\n"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VFREEBUSY\r\nUID:a\\,b\\n\r\n c\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VFREEBUSY\r\nFREEBUSY:20261201T090000Z/-P1W\r\n"))
	// No UID and no PRODID: Write supplies its own, which the round trip must allow.
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VFREEBUSY\r\nORGANIZER:0\r\nDTSTART:00000101T000000Z\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data)
		if err != nil {
			return
		}
		for _, p := range doc.Periods {
			if p.End.Before(p.Start) {
				t.Fatalf("period %v ends before it starts", p)
			}
		}
		// What Write accepts of it must read back the same.
		opt := Options{Start: doc.Start, End: doc.End, Stamp: doc.Stamp, Organizer: doc.Organizer,
			OrganizerName: doc.OrganizerName, ProductID: doc.ProductID, UID: doc.UID}
		var out bytes.Buffer
		if Write(&out, doc.Periods, opt) != nil {
			return
		}
		again, err := Parse(out.Bytes())
		if err != nil {
			t.Fatalf("Parse of Write's output: %v\n%s", err, out.Bytes())
		}
		if !samePeriods(again.Periods, doc.Periods) || again.OrganizerName != doc.OrganizerName ||
			again.UID != doc.UID && doc.UID != "" || again.ProductID != doc.ProductID && doc.ProductID != "" {
			t.Fatalf("round trip changed the document:\n%+v\n%+v", doc, again)
		}
	})
}

var fuzzRules = []string{
	"FREQ=WEEKLY", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=DAILY;COUNT=5", "FREQ=MONTHLY;BYDAY=-1FR", "FREQ=YEARLY",
	"FREQ=HOURLY;INTERVAL=5", "FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=SU,TU", "FREQ=MONTHLY;BYMONTHDAY=31",
	"FREQ=DAILY;UNTIL=20260320T000000Z", "FREQ=WEEKLY;UNTIL=20260401", "FREQ=MONTHLY;BYDAY=TH,2FR",
	"FREQ=HOURLY;INTERVAL=24;BYHOUR=5", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=MINUTELY;INTERVAL=90;COUNT=50",
	"FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=-1", "FREQ=BOGUS", "",
}

// fuzzEvents builds events from bytes, eight per event: shape, zone, start, duration, status, extras.
func fuzzEvents(data []byte) ([]*calobject.Event, Options) {
	zones := []*time.Location{time.UTC, berlin, newYork, mustLoad("Australia/Lord_Howe")}
	opt := Options{Start: ts("2026-03-01T00:00Z"), End: ts("2026-05-01T00:00Z")}
	if len(data) > 0 {
		opt.Location = zones[int(data[0])%len(zones)]
		data = data[1:]
	}
	var events []*calobject.Event
	for i := 0; len(data) >= 8; i++ {
		c := data[:8]
		data = data[8:]
		offset := time.Duration(int16(binary.LittleEndian.Uint16(c[2:4]))%900) * 24 * time.Hour
		clock := time.Duration(c[4]) * 7 * time.Minute
		base := opt.Start.Add(offset + clock)
		ev := &calobject.Event{UID: fmt.Sprint("e", i)}
		mk := func(t time.Time) calobject.Time {
			switch c[1] % 6 {
			case 1:
				return calobject.Time{T: t.In(berlin)}
			case 2:
				return calobject.Time{T: t.In(newYork)}
			case 3:
				return calobject.Time{T: t, Floating: true}
			case 4:
				return calobject.Time{T: t.Truncate(24 * time.Hour), AllDay: true}
			}
			return calobject.Time{T: t}
		}
		ev.Start = mk(base)
		ev.ExpandInReaderZone = c[1]%6 == 5
		switch d := time.Duration(c[5]%60) * 30 * time.Minute; c[5] / 60 {
		case 0:
			ev.End = mk(base.Add(d))
		case 1:
			ev.Duration = d
		case 2:
			ev.End = mk(base.Add(-d)) // possibly backwards
		}
		ev.Status = []string{"", "TENTATIVE", "CANCELLED", "CONFIRMED"}[c[6]%4]
		ev.BusyStatus = []string{"", "BUSY", "FREE", "OOF", "TENTATIVE", "WORKINGELSEWHERE"}[(c[6]/4)%6]
		ev.Transparent = c[6]&0x80 != 0
		if c[0]%4 != 0 {
			ev.RRule = fuzzRules[int(c[0])%len(fuzzRules)]
		}
		x := c[7]
		if x&1 != 0 {
			ev.ExDates = append(ev.ExDates, mk(base.AddDate(0, 0, 7)))
		}
		if x&2 != 0 {
			ev.RDates = append(ev.RDates, calobject.RDate{Start: mk(base.AddDate(0, 0, 3))})
		}
		if x&4 != 0 {
			ev.RDates = append(ev.RDates, calobject.RDate{Start: mk(base.AddDate(0, 0, 4)), End: mk(base.AddDate(0, 0, 4).Add(time.Hour))})
		}
		if x&8 != 0 {
			ov := &calobject.Event{UID: ev.UID, RecurrenceID: mk(base.AddDate(0, 0, 14)), Start: mk(base.AddDate(0, 0, 15)),
				End: mk(base.AddDate(0, 0, 15).Add(2 * time.Hour)), ThisAndFuture: x&16 != 0}
			if x&32 != 0 {
				ov.Status = "CANCELLED"
			}
			if x&64 != 0 {
				ov.Start = calobject.Time{}
				ov.End = calobject.Time{}
			}
			ev.Overrides = append(ev.Overrides, ov)
		}
		if x&128 != 0 {
			ev.Overrides = append(ev.Overrides, nil)
		}
		events = append(events, ev)
	}
	return events, opt
}

func FuzzCompute(f *testing.F) {
	f.Add([]byte{1, 1, 1, 10, 0, 60, 5, 0, 0x0f})
	f.Add([]byte{2, 5, 5, 0xf0, 0xff, 30, 2, 1, 0x1b, 2, 4, 3, 0, 0, 7, 0, 2})
	f.Add(bytes.Repeat([]byte{3, 1, 2, 250, 255, 40, 10, 4, 9}, 20))
	f.Fuzz(func(t *testing.T, data []byte) {
		events, opt := fuzzEvents(data)
		periods, problems := Compute(events, opt)
		for _, p := range problems {
			if p.Err == nil {
				t.Fatalf("problem without error: %+v", p)
			}
		}
		for i, p := range periods {
			if !p.Start.Before(p.End) || p.Start.Before(opt.Start) || p.End.After(opt.End) {
				t.Fatalf("period %d %v empty or outside the window", i, p)
			}
			if p.Type != Busy && p.Type != Tentative && p.Type != Unavailable {
				t.Fatalf("period %d: type %q", i, p.Type)
			}
			if i > 0 {
				q := periods[i-1]
				if p.Start.Before(q.End) || p.Start.Equal(q.End) && p.Type == q.Type {
					t.Fatalf("periods %d and %d overlap or were not joined: %v %v", i-1, i, q, p)
				}
			}
		}
		opt.Organizer = "fuzz@example.test"
		var b bytes.Buffer
		if err := Write(&b, periods, opt); err != nil {
			t.Fatal(err)
		}
		doc, err := Parse(b.Bytes())
		if err != nil || !samePeriods(doc.Periods, periods) {
			t.Fatalf("read back %v, %v\n%s", err, doc, strings.TrimSpace(b.String()))
		}
	})
}
