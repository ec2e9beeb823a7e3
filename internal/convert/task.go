package convert

import (
	"strings"

	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/pst"
)

// PidLid properties of tasks (PSETID_Task, [MS-OXOTASK] 2.2).
const (
	lidTaskStatus        = 0x8101
	lidPercentComplete   = 0x8102
	lidTaskStartDate     = 0x8104
	lidTaskDueDate       = 0x8105
	lidTaskDateCompleted = 0x810F
	lidTaskComplete      = 0x811C
	lidTaskOwner         = 0x811F
	lidTaskRecurrence    = 0x8116
	lidTaskFRecurring    = 0x8126
)

func (c *Converter) task(m *pst.Message, id identity, res *Result) (groupware.Item, error) {
	p := props{m}
	t := &groupware.Task{Common: c.common(m, id, res, nil), Priority: priority(m, 5)}
	// Task start and due dates are dates the user picked, stored as midnight UTC of that date.
	if d := p.namedTime(pst.PSETIDTask, lidTaskStartDate); !d.IsZero() {
		t.Start = groupware.DateTime{Time: dateOnly(d), AllDay: true}
	}
	if d := p.namedTime(pst.PSETIDTask, lidTaskDueDate); !d.IsZero() {
		t.Due = groupware.DateTime{Time: dateOnly(d), AllDay: true}
	}
	if v, ok := p.named(pst.PSETIDTask, lidPercentComplete); ok {
		if f, err := v.Float(); err == nil && f >= 0 && f <= 1 {
			t.PercentComplete = int(f*100 + 0.5)
		}
	}
	status, _ := p.namedInt(pst.PSETIDTask, lidTaskStatus)
	switch status {
	case 0:
		t.Status = groupware.StatusNeedsAction
	case 1:
		t.Status = groupware.StatusInProcess
	case 2:
		t.Status = groupware.StatusCompleted
	case 3:
		t.Status = groupware.StatusInProcess
		t.Custom = append(t.Custom, groupware.Custom{Name: "X-MAILSHIFT-TASK-STATUS", Value: "WAITING"})
	case 4:
		t.Status = groupware.StatusNeedsAction
		t.Custom = append(t.Custom, groupware.Custom{Name: "X-MAILSHIFT-TASK-STATUS", Value: "DEFERRED"})
	}
	if p.namedBool(pst.PSETIDTask, lidTaskComplete) {
		t.Status = groupware.StatusCompleted
		t.PercentComplete = 100
	}
	if t.Status == groupware.StatusCompleted {
		t.Completed = p.namedTime(pst.PSETIDTask, lidTaskDateCompleted)
		if t.Completed.IsZero() {
			t.Completed = t.LastModified
		}
	}
	if owner := strings.TrimSpace(p.namedStr(pst.PSETIDTask, lidTaskOwner)); owner != "" {
		t.Organizer = &groupware.Person{Name: owner}
	}
	t.Alarms = reminder(m, t.Summary)
	if p.namedBool(pst.PSETIDTask, lidTaskFRecurring) {
		if blob := p.namedBytes(pst.PSETIDTask, lidTaskRecurrence); len(blob) > 0 {
			rec, err := taskRecurrence(blob, t)
			if err != nil {
				res.warn("task recurrence kept as X-MAILSHIFT-MAPI-RECURRENCE: %v", err)
				t.Custom = append(t.Custom, rawCustom("X-MAILSHIFT-MAPI-RECURRENCE", blob))
			} else {
				t.Recurrence = rec
			}
		}
	}
	return t, nil
}

// PidLidNoteColor values ([MS-OXONOTE] 2.2.1.1).
var noteColors = []string{"blue", "green", "pink", "yellow", "white"}

func (c *Converter) note(m *pst.Message, id identity, res *Result) (groupware.Item, error) {
	p := props{m}
	n := &groupware.Note{Common: c.common(m, id, res, nil), Color: "yellow"}
	if col, ok := p.namedInt(pst.PSETIDNote, 0x8B00); ok && col >= 0 && int(col) < len(noteColors) {
		n.Color = noteColors[col]
	}
	// Outlook keeps a note's position and size; other clients have nowhere to put them.
	for _, x := range []struct {
		lid  uint16
		name string
	}{{0x8B02, "X-MAILSHIFT-NOTE-WIDTH"}, {0x8B03, "X-MAILSHIFT-NOTE-HEIGHT"}, {0x8B04, "X-MAILSHIFT-NOTE-X"}, {0x8B05, "X-MAILSHIFT-NOTE-Y"}} {
		if v, ok := p.namedInt(pst.PSETIDNote, x.lid); ok {
			n.Custom = append(n.Custom, groupware.Custom{Name: x.name, Value: itoa(v)})
		}
	}
	return n, nil
}

// PidLid properties of journal entries (PSETID_Log, [MS-OXOJRNL] 2.2.1).
const (
	lidLogType     = 0x8700
	lidLogStart    = 0x8706
	lidLogDuration = 0x8707
	lidLogEnd      = 0x8708
	lidLogTypeDesc = 0x8712
	lidContacts    = 0x853A // PSETID_Common
)

func (c *Converter) journal(m *pst.Message, id identity, res *Result) (groupware.Item, error) {
	p := props{m}
	j := &groupware.Journal{Common: c.common(m, id, res, nil)}
	if s := p.namedTime(pst.PSETIDLog, lidLogStart); !s.IsZero() {
		j.Start = groupware.DateTime{Time: s}
	}
	if e := p.namedTime(pst.PSETIDLog, lidLogEnd); !e.IsZero() {
		j.End = groupware.DateTime{Time: e}
	} else if d, ok := p.namedInt(pst.PSETIDLog, lidLogDuration); ok && !j.Start.IsZero() && d > 0 {
		j.End = groupware.DateTime{Time: j.Start.Time.Add(minutes(d))}
	}
	j.Type = firstNonEmpty(p.namedStr(pst.PSETIDLog, lidLogTypeDesc), p.namedStr(pst.PSETIDLog, lidLogType))
	if t := p.namedStr(pst.PSETIDLog, lidLogType); t != "" {
		j.Custom = append(j.Custom, groupware.Custom{Name: "X-MAILSHIFT-JOURNAL-TYPE", Value: t})
	}
	for _, name := range p.namedStrings(pst.PSETIDCommon, lidContacts) {
		j.Contacts = append(j.Contacts, groupware.Person{Name: name})
	}
	return j, nil
}
