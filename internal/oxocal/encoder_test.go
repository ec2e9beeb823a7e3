package oxocal

import (
	"encoding/binary"
	"time"
	"unicode/utf16"
)

// This file is a small test-only encoder of AppointmentRecurrencePattern blobs, written from the field
// tables of [MS-OXOCAL] 2.2.1.44, so that tests can build every pattern and end type.

type testException struct {
	start, end, original time.Time // wall clock; the zone is ignored
	flags                OverrideFlags
	subject8, location8  string
	subjectW, locationW  string // Unicode copies for the ExtendedException
	busy                 uint32
}

type testSeries struct {
	freq        RecurFrequency
	pattern     PatternType
	calendar    CalendarType
	period      uint32
	mask        DayMask
	dayOfMonth  uint32
	n           uint32
	end         EndType
	count       uint32
	firstDOW    time.Weekday
	start, last time.Time // dates of the first and last instance (last only for EndAfterDate)
	startMin    uint32    // StartTimeOffset
	endMin      uint32    // EndTimeOffset
	deleted     []time.Time
	exceptions  []testException
	writer2     uint32 // WriterVersion2; 0x3009 when zero
	firstDT     *uint32
}

func minutes1601(t time.Time) uint32 {
	y, m, d := t.Date()
	day := (time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() - epoch1601.Unix()) / 86400
	return uint32(day*1440 + int64(t.Hour()*60+t.Minute()))
}

// firstDateTime follows the formulas of [MS-OXOCAL] 2.2.1.44.1.1.
func (s testSeries) firstDateTime() uint32 {
	if s.firstDT != nil {
		return *s.firstDT
	}
	start := minutes1601(s.start)
	switch s.pattern {
	case PatternDay:
		return start % s.period
	case PatternWeek:
		wd := int(s.start.Weekday())
		back := (wd - int(s.firstDOW) + 7) % 7
		weekStart := start - uint32(back*1440)
		return weekStart % (s.period * 10080)
	}
	months := uint32((s.start.Year()-1601)*12 + int(s.start.Month()) - 1)
	m := months % s.period
	return minutes1601(time.Date(1601, time.Month(m+1), 1, 0, 0, 0, 0, time.UTC))
}

type blobWriter []byte

func (w *blobWriter) u16(v uint16) { *w = binary.LittleEndian.AppendUint16(*w, v) }
func (w *blobWriter) u32(v uint32) { *w = binary.LittleEndian.AppendUint32(*w, v) }
func (w *blobWriter) str8(s string) {
	w.u16(uint16(len(s) + 1))
	w.u16(uint16(len(s)))
	*w = append(*w, s...)
}
func (w *blobWriter) strW(s string) {
	u := utf16.Encode([]rune(s))
	w.u16(uint16(len(u)))
	for _, c := range u {
		w.u16(c)
	}
}

func (s testSeries) encode() []byte {
	var w blobWriter
	w.u16(0x3004)
	w.u16(0x3004)
	w.u16(uint16(s.freq))
	w.u16(uint16(s.pattern))
	w.u16(uint16(s.calendar))
	w.u32(s.firstDateTime())
	w.u32(s.period)
	w.u32(0)
	switch s.pattern {
	case PatternWeek:
		w.u32(uint32(s.mask))
	case PatternMonth, PatternMonthEnd, PatternHjMonth, PatternHjMonthEnd:
		w.u32(s.dayOfMonth)
	case PatternMonthNth, PatternHjMonthNth:
		w.u32(uint32(s.mask))
		w.u32(s.n)
	}
	w.u32(uint32(s.end))
	w.u32(s.count)
	w.u32(uint32(s.firstDOW))
	var modified []uint32
	for _, e := range s.exceptions {
		modified = append(modified, minutes1601(e.original)/1440*1440)
	}
	// Modified instances are listed as deleted too.
	w.u32(uint32(len(s.deleted) + len(modified)))
	for _, d := range s.deleted {
		w.u32(minutes1601(d) / 1440 * 1440)
	}
	for _, m := range modified {
		w.u32(m)
	}
	w.u32(uint32(len(modified)))
	for _, m := range modified {
		w.u32(m)
	}
	w.u32(minutes1601(s.start) / 1440 * 1440)
	if s.end == EndAfterDate {
		w.u32(minutes1601(s.last) / 1440 * 1440)
	} else {
		w.u32(uint32(NeverEndDate))
	}
	writer2 := s.writer2
	if writer2 == 0 {
		writer2 = 0x3009
	}
	w.u32(0x3006)
	w.u32(writer2)
	w.u32(s.startMin)
	w.u32(s.endMin)
	w.u16(uint16(len(s.exceptions)))
	for _, e := range s.exceptions {
		w.u32(minutes1601(e.start))
		w.u32(minutes1601(e.end))
		w.u32(minutes1601(e.original))
		w.u16(uint16(e.flags))
		if e.flags.Has(OverrideSubject) {
			w.str8(e.subject8)
		}
		if e.flags.Has(OverrideLocation) {
			w.str8(e.location8)
		}
		if e.flags.Has(OverrideBusyStatus) {
			w.u32(e.busy)
		}
	}
	w.u32(0) // ReservedBlock1Size
	for _, e := range s.exceptions {
		if writer2 >= 0x3009 {
			w.u32(4)
			w.u32(0)
		}
		w.u32(0) // ReservedBlockEE1Size
		if e.flags.Has(OverrideSubject) || e.flags.Has(OverrideLocation) {
			w.u32(minutes1601(e.start))
			w.u32(minutes1601(e.end))
			w.u32(minutes1601(e.original))
			if e.flags.Has(OverrideSubject) {
				w.strW(e.subjectW)
			}
			if e.flags.Has(OverrideLocation) {
				w.strW(e.locationW)
			}
			w.u32(0) // ReservedBlockEE2Size
		}
	}
	w.u32(0) // ReservedBlock2Size
	return w
}
