package freebusy

import (
	"errors"
	"fmt"
	"time"

	"github.com/mailshift/mailshift/internal/calobject"
)

const day = 86400 // seconds

// maxInstances bounds the instances one rule may produce before the window's end. Real calendars stay far
// below it; a FREQ=SECONDLY rule or a COUNT rule started centuries ago would otherwise stall the whole
// publication.
const maxInstances = 100_000

var (
	errNoStart        = errors.New("no start (DTSTART)")
	errEndBeforeStart = errors.New("ends before it starts")
	errNegDuration    = errors.New("negative DURATION")
)

// raw is one instance's busy time, clipped to the window, in Unix seconds.
type raw struct {
	s, e int64
	r    rank
}

type computer struct {
	reader   *time.Location
	ws, we   int64 // the window in Unix seconds; periods never leave it
	raw      []raw
	problems []Problem
}

func newComputer(opt Options) *computer {
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	ws := opt.Start.Unix()
	if opt.Start.Nanosecond() != 0 {
		ws++ // periods have whole seconds; stay inside the window
	}
	return &computer{reader: loc, ws: ws, we: opt.End.Unix()}
}

func (c *computer) problem(ev *calobject.Event, err error) {
	c.problems = append(c.problems, Problem{UID: ev.UID, Summary: ev.Summary, Err: err})
}

func (c *computer) emit(s, e int64, r rank) {
	s, e = max(s, c.ws), min(e, c.we)
	if e > s {
		c.raw = append(c.raw, raw{s, e, r})
	}
}

// wall is t's wall clock in its own location, as seconds since 1970-01-01T00:00 of that wall clock.
func wall(t time.Time) int64 {
	_, off := t.Zone()
	return t.Unix() + int64(off)
}

// fromWall is the instant the wall clock w (see wall) shows in loc. A wall clock that does not exist (the
// hour skipped at a daylight-saving change) is normalised by time.Date.
func fromWall(w int64, loc *time.Location) time.Time {
	u := time.Unix(w, 0).UTC()
	if loc == time.UTC {
		return u
	}
	y, m, d := u.Date()
	hh, mm, ss := u.Clock()
	return time.Date(y, m, d, hh, mm, ss, 0, loc)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// civil is the wall value of 00:00 on a date.
func civil(y int, m time.Month, d int) int64 { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() }

// instant places v on the time line: a DATE is 00:00 and a floating time its wall clock, both in loc.
func instant(v calobject.Time, loc *time.Location) time.Time {
	switch {
	case v.AllDay:
		y, m, d := v.T.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc)
	case v.Floating:
		return fromWall(wall(v.T), loc)
	}
	return v.T
}

// span is how long an instance lasts: whole days of the reader's calendar for all-day events (a day can
// have 23 or 25 hours), an exact duration otherwise (RFC 5545 §3.8.5.3: every instance of a DTEND-defined
// series lasts exactly as long as the first).
type span struct {
	days  int64
	exact time.Duration
}

func (sp span) end(start time.Time, loc *time.Location) time.Time {
	if sp.days > 0 {
		return fromWall((floorDiv(wall(start), day)+sp.days)*day, loc)
	}
	return start.Add(sp.exact)
}

// upper is an upper bound of the span in seconds.
func (sp span) upper() int64 { return sp.days*25*3600 + int64(sp.exact/time.Second) + 1 }

// spanOf is the span of an event or override from its start, DTEND and DURATION; with neither, RFC 5545's
// default: a DATE lasts one day, a DATE-TIME takes no time.
func (c *computer) spanOf(start, end calobject.Time, dur time.Duration) (span, error) {
	switch {
	case !end.IsZero():
		if start.AllDay && end.AllDay {
			days := floorDiv(wall(end.T), day) - floorDiv(wall(start.T), day)
			if days < 0 {
				return span{}, errEndBeforeStart
			}
			return span{days: days}, nil
		}
		d := instant(end, c.reader).Sub(instant(start, c.reader))
		if d < 0 {
			return span{}, errEndBeforeStart
		}
		return span{exact: d}, nil
	case dur < 0:
		return span{}, errNegDuration
	case dur > 0:
		if start.AllDay && dur%(24*time.Hour) == 0 {
			return span{days: int64(dur / (24 * time.Hour))}, nil
		}
		return span{exact: dur}, nil
	case start.AllDay:
		return span{days: 1}, nil
	}
	return span{}, nil
}

// How an EXDATE or RECURRENCE-ID is compared with an instance's original start: as an instant, as a wall
// clock (floating values), or as a date (DATE values, and everything in an all-day series).
type kind uint8

const (
	byInstant kind = iota
	byWall
	byDay
)

type key struct {
	k kind
	v int64
}

// future is a RANGE=THISANDFUTURE override: from its RECURRENCE-ID on, instances move by shift (of the
// series' wall clock, so that they keep their local time across daylight-saving changes) and take the
// override's span and busy type.
type future struct {
	rid   key
	ridAt int64 // the RECURRENCE-ID's instant, to find the latest applicable override
	shift int64
	span  span
	rank  rank
	busy  bool
}

// series is one event being expanded.
type series struct {
	c       *computer
	ev      *calobject.Event
	loc     *time.Location // the wall clock the rule is expanded in
	allDay  bool
	dtstart time.Time // in loc
	span    span
	rank    rank
	busy    bool

	exdates  []key
	replaced []key // RECURRENCE-IDs of plain overrides
	futures  []future
	lo, hi   int64 // original starts outside [lo, hi) cannot reach the window
}

func (c *computer) addEvent(ev *calobject.Event) {
	s := &series{c: c, ev: ev}
	valid := false
	if ev.Start.IsZero() {
		c.problem(ev, errNoStart)
	} else {
		st := ev.Start
		s.allDay = st.AllDay
		if st.AllDay || st.Floating || ev.ExpandInReaderZone {
			s.loc = c.reader
		} else {
			s.loc = st.T.Location()
		}
		s.dtstart = instant(st, s.loc).In(s.loc).Truncate(time.Second)
		var err error
		if s.span, err = c.spanOf(st, ev.End, ev.Duration); err != nil {
			c.problem(ev, err)
		} else {
			valid = true
		}
	}
	// Overrides count on their own, like the separate components they are, even when the master is
	// cancelled or unreadable: each replaces its instance entirely.
	for _, ov := range ev.Overrides {
		if ov != nil {
			s.addOverride(ov, valid)
		}
	}
	if !valid {
		return
	}
	s.rank, s.busy = classify(ev.Status, ev.Transparent, ev.BusyStatus)
	need := s.busy
	for _, f := range s.futures {
		need = need || f.busy
	}
	if !need {
		return
	}
	for _, x := range ev.ExDates {
		if !x.IsZero() {
			s.exdates = append(s.exdates, s.keyOf(x))
		}
	}
	s.expand()
}

// keyOf is how v is compared with the instances of s.
func (s *series) keyOf(v calobject.Time) key {
	switch {
	case s.allDay || v.AllDay:
		if v.AllDay || v.Floating {
			return key{byDay, floorDiv(wall(v.T), day)}
		}
		return key{byDay, floorDiv(wall(v.T.In(s.loc)), day)}
	case v.Floating:
		return key{byWall, wall(v.T)}
	}
	return key{byInstant, v.T.Unix()}
}

// wallIn is v's wall clock in loc.
func wallIn(v calobject.Time, loc *time.Location) int64 {
	if v.AllDay {
		return floorDiv(wall(v.T), day) * day
	}
	if v.Floating {
		return wall(v.T)
	}
	return wall(v.T.In(loc))
}

func (s *series) addOverride(ov *calobject.Event, masterValid bool) {
	c := s.c
	problem := func(err error) {
		p := Problem{UID: ov.UID, Summary: ov.Summary, Err: err}
		if p.UID == "" {
			p.UID = s.ev.UID
		}
		if p.Summary == "" {
			p.Summary = s.ev.Summary
		}
		if !ov.RecurrenceID.IsZero() {
			p.Err = fmt.Errorf("override of %s: %w", ov.RecurrenceID.T.Format(time.RFC3339), err)
		}
		c.problems = append(c.problems, p)
	}
	start := ov.Start
	var sp span
	if start.IsZero() {
		// An override that only restates properties keeps its instance's time.
		if ov.RecurrenceID.IsZero() || !masterValid || !ov.End.IsZero() || ov.Duration != 0 {
			problem(errNoStart)
			return
		}
		start, sp = ov.RecurrenceID, s.span
	} else {
		var err error
		if sp, err = c.spanOf(start, ov.End, ov.Duration); err != nil {
			problem(err)
			return
		}
	}
	r, busy := classify(ov.Status, ov.Transparent, ov.BusyStatus)
	if busy {
		at := instant(start, c.reader)
		c.emit(at.Unix(), sp.end(at, c.reader).Unix(), r)
	}
	if ov.RecurrenceID.IsZero() || !masterValid {
		return
	}
	k := s.keyOf(ov.RecurrenceID)
	if !ov.ThisAndFuture {
		s.replaced = append(s.replaced, k)
		return
	}
	s.futures = append(s.futures, future{
		rid:   k,
		ridAt: instant(ov.RecurrenceID, s.loc).Unix(),
		shift: wallIn(start, s.loc) - wallIn(ov.RecurrenceID, s.loc),
		span:  sp,
		rank:  r,
		busy:  busy,
	})
}

func (s *series) expand() {
	c, ev := s.c, s.ev
	maxSpan, maxLater, maxEarlier := s.span.upper(), int64(0), int64(0)
	for _, f := range s.futures {
		maxSpan = max(maxSpan, f.span.upper())
		maxLater, maxEarlier = max(maxLater, f.shift), max(maxEarlier, -f.shift)
	}
	own := make([]span, len(ev.RDates))
	for i, rd := range ev.RDates {
		own[i] = s.span
		if !rd.End.IsZero() {
			sp, err := c.spanOf(rd.Start, rd.End, 0)
			if err != nil {
				c.problem(ev, fmt.Errorf("RDATE %s: %w", rd.Start.T.Format(time.RFC3339), err))
				own[i] = span{}
				continue
			}
			own[i] = sp
			maxSpan = max(maxSpan, sp.upper())
		}
	}
	// A day of margin covers daylight-saving offsets in the shifts and rrule-go's wall-clock order.
	s.lo = c.ws - maxSpan - maxLater - day
	s.hi = c.we + maxEarlier + day

	// The recurrence set is generated from DTSTART along with RRULE, RDATE and EXDATE (RFC 5545 §3.8.5.3).
	// A DTSTART the rule does not produce leaves the set undefined there; it counts, so that its time stays
	// busy. rrule-go produces it again when it does match, and merging drops the duplicate.
	s.instance(s.dtstart, s.span)
	for i, rd := range ev.RDates {
		if !rd.Start.IsZero() {
			s.instance(instant(rd.Start, s.loc).In(s.loc), own[i])
		}
	}
	if ev.RRule != "" {
		if err := s.rule(); err != nil {
			c.problem(ev, err)
		}
	}
}

// instance adds the busy time of the instance whose original start is t (in s.loc).
func (s *series) instance(t time.Time, sp span) {
	c := s.c
	u := t.Unix()
	if u < s.lo || u >= s.hi {
		return
	}
	if s.allDay {
		if hh, mm, ss := t.Clock(); hh|mm|ss != 0 {
			y, m, d := t.Date()
			t = time.Date(y, m, d, 0, 0, 0, 0, s.loc)
			u = t.Unix()
		}
	}
	var w int64
	if len(s.exdates)+len(s.replaced)+len(s.futures) > 0 || s.allDay {
		w = wall(t)
	}
	of := func(k kind) int64 {
		switch k {
		case byWall:
			return w
		case byDay:
			return floorDiv(w, day)
		}
		return u
	}
	for _, x := range s.exdates {
		if of(x.k) == x.v {
			return
		}
	}
	for _, x := range s.replaced {
		if of(x.k) == x.v {
			return
		}
	}
	var f *future
	for i := range s.futures {
		fu := &s.futures[i]
		switch v := of(fu.rid.k); {
		case v == fu.rid.v:
			return // the override itself stands for this instance
		case v > fu.rid.v && (f == nil || fu.ridAt > f.ridAt):
			f = fu
		}
	}
	if f == nil {
		if s.busy {
			c.emit(u, sp.end(t, c.reader).Unix(), s.rank)
		}
		return
	}
	if !f.busy {
		return
	}
	if f.shift != 0 {
		t = fromWall(w+f.shift, s.loc)
	}
	c.emit(t.Unix(), f.span.end(t, c.reader).Unix(), f.rank)
}
