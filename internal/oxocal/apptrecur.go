package oxocal

import (
	"errors"
	"fmt"

	"github.com/mailshift/mailshift/internal/pst/ltp"
)

// OverrideFlags says which fields an exception overrides ([MS-OXOCAL] 2.2.1.44.3).
type OverrideFlags uint16

const (
	OverrideSubject       OverrideFlags = 0x0001 // ARO_SUBJECT
	OverrideMeetingType   OverrideFlags = 0x0002 // ARO_MEETINGTYPE
	OverrideReminderDelta OverrideFlags = 0x0004 // ARO_REMINDERDELTA
	OverrideReminder      OverrideFlags = 0x0008 // ARO_REMINDER
	OverrideLocation      OverrideFlags = 0x0010 // ARO_LOCATION
	OverrideBusyStatus    OverrideFlags = 0x0020 // ARO_BUSYSTATUS
	OverrideAttachment    OverrideFlags = 0x0040 // ARO_ATTACHMENT
	OverrideSubType       OverrideFlags = 0x0080 // ARO_SUBTYPE (all-day)
	OverrideAppointColor  OverrideFlags = 0x0100 // ARO_APPTCOLOR
	OverrideBody          OverrideFlags = 0x0200 // ARO_EXCEPTIONAL_BODY: the body is in the exception attachment
)

// Has reports whether all of the flags in o are set.
func (f OverrideFlags) Has(o OverrideFlags) bool { return f&o == o }

// ExceptionInfo is one modified instance ([MS-OXOCAL] 2.2.1.44.3), merged with its ExtendedException
// (2.2.1.44.4): when the extended record carries the Unicode subject or location, Subject and Location are
// those; otherwise they are the 8-bit strings decoded in the code page the blob was parsed with.
type ExceptionInfo struct {
	StartDateTime     LocalTime // the instance's new start
	EndDateTime       LocalTime // the instance's new end
	OriginalStartDate LocalTime // the start the instance had in the series: its RECURRENCE-ID
	OverrideFlags     OverrideFlags

	// Fields valid only when the matching flag is set.
	Subject          string
	MeetingType      uint32
	ReminderDelta    uint32 // minutes before the start
	ReminderSet      bool
	Location         string
	BusyStatus       uint32 // PidLidBusyStatus: 0 free, 1 tentative, 2 busy, 3 out of office, 4 working elsewhere
	Attachment       bool   // the exception has attachments of its own
	SubType          bool   // the exception is an all-day event
	AppointmentColor uint32

	// Subject8 and Location8 are the raw 8-bit strings; UnicodeSubject/UnicodeLocation tell whether
	// Subject/Location came from the ExtendedException instead.
	Subject8, Location8             []byte
	UnicodeSubject, UnicodeLocation bool

	// ChangeHighlight is the ExtendedException's ChangeHighlightValue (PidLidChangeHighlight bits), when
	// the writer stored one (WriterVersion2 ≥ 0x3009).
	ChangeHighlight    uint32
	HasChangeHighlight bool
}

// AppointmentRecurrence is the AppointmentRecurrencePattern of PidLidAppointmentRecur ([MS-OXOCAL]
// 2.2.1.44.2): the RecurrencePattern, the instances' time of day, and the modified instances.
type AppointmentRecurrence struct {
	RecurrencePattern
	ReaderVersion2 uint32 // 0x3006
	WriterVersion2 uint32 // 0x3008 or 0x3009 (0x3009 adds ChangeHighlight)
	// StartTimeOffset and EndTimeOffset are minutes after midnight of each instance's date; the end may
	// pass midnight (EndTimeOffset > 1440) for instances that span days.
	StartTimeOffset uint32
	EndTimeOffset   uint32
	Exceptions      []ExceptionInfo
	ReservedBlock1  []byte
	ReservedBlock2  []byte
	// HasExtendedExceptions is false for writers that stored no ExtendedException array.
	HasExtendedExceptions bool
}

// Minimum encoded sizes, used to bound counts before allocating.
const (
	minExceptionInfoSize     = 14 // three dates and the flags
	minExtendedExceptionSize = 4  // ReservedBlockEE1Size
)

// ParseAppointmentRecurrence decodes PidLidAppointmentRecur, reading 8-bit exception subjects and
// locations as Windows-1252 (the Unicode copies in ExtendedException win when present). Use
// ParseAppointmentRecurrenceInCodePage for items in other code pages.
func ParseAppointmentRecurrence(b []byte) (*AppointmentRecurrence, error) {
	return ParseAppointmentRecurrenceInCodePage(b, 1252)
}

// ParseAppointmentRecurrenceInCodePage decodes PidLidAppointmentRecur; codePage (the item's, e.g.
// pst.Message.CodePage) decodes the 8-bit subjects and locations of exceptions.
func ParseAppointmentRecurrenceInCodePage(b []byte, codePage int) (*AppointmentRecurrence, error) {
	r := newReader(b, "AppointmentRecurrencePattern")
	p := readRecurrencePattern(r)
	if r.err != nil {
		var ce *CorruptError
		if errors.As(r.err, &ce) {
			ce.Structure = "RecurrencePattern"
		}
		return nil, r.err
	}
	a := &AppointmentRecurrence{RecurrencePattern: *p}
	off := r.off
	a.ReaderVersion2 = r.u32("ReaderVersion2")
	if r.err == nil && a.ReaderVersion2 != 0x3006 {
		r.fail("ReaderVersion2", off, fmt.Sprintf("%#x, want 0x3006", a.ReaderVersion2))
	}
	a.WriterVersion2 = r.u32("WriterVersion2")
	a.StartTimeOffset = r.u32("StartTimeOffset")
	a.EndTimeOffset = r.u32("EndTimeOffset")
	n := r.count16("ExceptionCount", minExceptionInfoSize)
	if n > 0 {
		a.Exceptions = make([]ExceptionInfo, n)
	}
	for i := range a.Exceptions {
		readExceptionInfo(r, &a.Exceptions[i], codePage)
	}
	if r.err != nil {
		return nil, r.err
	}
	// Some writers end the blob after the ExceptionInfo array.
	if r.remaining() == 0 {
		return a, nil
	}
	a.ReservedBlock1 = r.take("ReservedBlock1", r.count32("ReservedBlock1Size", 1))
	if r.err != nil {
		return nil, r.err
	}
	afterBlock1 := r.off
	if err := a.readExtendedExceptions(r); err != nil {
		// A writer that stored no ExtendedException array leaves just ReservedBlock2Size (or nothing).
		if rest := len(b) - afterBlock1; rest != 0 && rest != 4 {
			return nil, err
		}
		r = &reader{b: b, off: afterBlock1, structure: "AppointmentRecurrencePattern"}
		for i := range a.Exceptions {
			e := &a.Exceptions[i]
			e.UnicodeSubject, e.UnicodeLocation, e.HasChangeHighlight, e.ChangeHighlight = false, false, false, 0
			e.Subject, e.Location = decode8(e.Subject8, codePage), decode8(e.Location8, codePage)
		}
		a.HasExtendedExceptions = false
	}
	if r.remaining() == 0 {
		return a, nil
	}
	a.ReservedBlock2 = r.take("ReservedBlock2", r.count32("ReservedBlock2Size", 1))
	if r.err != nil {
		return nil, r.err
	}
	// Bytes after ReservedBlock2 are ignored, as a reader of a later minor version must.
	return a, nil
}

func decode8(b []byte, codePage int) string {
	if len(b) == 0 {
		return ""
	}
	return ltp.DecodeString8(b, codePage)
}

func readExceptionInfo(r *reader, e *ExceptionInfo, codePage int) {
	r.structure = "ExceptionInfo"
	defer func() { r.structure = "AppointmentRecurrencePattern" }()
	e.StartDateTime = LocalTime(r.u32("StartDateTime"))
	e.EndDateTime = LocalTime(r.u32("EndDateTime"))
	e.OriginalStartDate = LocalTime(r.u32("OriginalStartDate"))
	e.OverrideFlags = OverrideFlags(r.u16("OverrideFlags"))
	f := e.OverrideFlags
	if f.Has(OverrideSubject) {
		e.Subject8 = read8BitString(r, "SubjectLength", "SubjectLength2", "Subject")
		e.Subject = decode8(e.Subject8, codePage)
	}
	if f.Has(OverrideMeetingType) {
		e.MeetingType = r.u32("MeetingType")
	}
	if f.Has(OverrideReminderDelta) {
		e.ReminderDelta = r.u32("ReminderDelta")
	}
	if f.Has(OverrideReminder) {
		e.ReminderSet = r.u32("ReminderSet") != 0
	}
	if f.Has(OverrideLocation) {
		e.Location8 = read8BitString(r, "LocationLength", "LocationLength2", "Location")
		e.Location = decode8(e.Location8, codePage)
	}
	if f.Has(OverrideBusyStatus) {
		e.BusyStatus = r.u32("BusyStatus")
	}
	if f.Has(OverrideAttachment) {
		e.Attachment = r.u32("Attachment") != 0
	}
	if f.Has(OverrideSubType) {
		e.SubType = r.u32("SubType") != 0
	}
	if f.Has(OverrideAppointColor) {
		e.AppointmentColor = r.u32("AppointmentColor")
	}
}

// read8BitString reads the Length (characters + 1), Length2 (characters) and the string. Length2 is the
// one trusted: writers disagree on Length, and Length2 is what the bytes follow.
func read8BitString(r *reader, lengthField, length2Field, field string) []byte {
	r.u16(lengthField)
	n := int(r.u16(length2Field))
	return r.take(field, n)
}

// readExtendedExceptions reads one ExtendedException per ExceptionInfo ([MS-OXOCAL] 2.2.1.44.4) into the
// matching Exceptions entry.
func (a *AppointmentRecurrence) readExtendedExceptions(r *reader) error {
	r.structure = "ExtendedException"
	defer func() { r.structure = "AppointmentRecurrencePattern" }()
	if len(a.Exceptions)*minExtendedExceptionSize > r.remaining() {
		r.fail("ExtendedException", r.off, "array does not fit in the blob")
		return r.err
	}
	for i := range a.Exceptions {
		e := &a.Exceptions[i]
		if a.WriterVersion2 >= 0x3009 {
			off := r.off
			size := r.u32("ChangeHighlightSize")
			if r.err == nil && size != 0 && size < 4 {
				r.fail("ChangeHighlightSize", off, fmt.Sprintf("%d is less than the 4-byte value", size))
			}
			if size >= 4 {
				e.ChangeHighlight = r.u32("ChangeHighlightValue")
				e.HasChangeHighlight = r.err == nil
				r.take("ChangeHighlightReserved", int(min(size-4, uint32(r.remaining()+1))))
			}
		}
		r.take("ReservedBlockEE1", r.count32("ReservedBlockEE1Size", 1))
		if !e.OverrideFlags.Has(OverrideSubject) && !e.OverrideFlags.Has(OverrideLocation) {
			continue
		}
		// The dates repeat the ExceptionInfo's; they are read but the ExceptionInfo's are kept.
		r.u32("StartDateTime")
		r.u32("EndDateTime")
		r.u32("OriginalStartDate")
		if e.OverrideFlags.Has(OverrideSubject) {
			n := r.count16("WideCharSubjectLength", 2)
			s := r.utf16("WideCharSubject", n)
			if r.err == nil {
				e.Subject, e.UnicodeSubject = s, true
			}
		}
		if e.OverrideFlags.Has(OverrideLocation) {
			n := r.count16("WideCharLocationLength", 2)
			s := r.utf16("WideCharLocation", n)
			if r.err == nil {
				e.Location, e.UnicodeLocation = s, true
			}
		}
		r.take("ReservedBlockEE2", r.count32("ReservedBlockEE2Size", 1))
	}
	if r.err == nil {
		a.HasExtendedExceptions = true
	}
	return r.err
}
