package groupware

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/ical"
)

// VTIMEZONE components (RFC 5545 §3.6.5) generated from Go's zone data, so that any reader can resolve the
// TZIDs without a zone database of its own. The zone's UTC-offset transitions are probed over the years the
// item spans (one extra year on each side, so the observance in force at the earliest time is included); when
// every year repeats the same transitions they are written as yearly RRULE observances, otherwise each
// transition is written as an observance of its own.

// zoneUse is a time zone an item uses and the span of times it uses it for.
type zoneUse struct {
	loc      *time.Location
	from, to time.Time
}

type zoneSet map[string]*zoneUse

func (s zoneSet) add(z zoned) {
	if z.tzid == "" {
		return
	}
	u := s[z.tzid]
	if u == nil {
		s[z.tzid] = &zoneUse{loc: z.loc, from: z.t, to: z.t}
		return
	}
	if z.t.Before(u.from) {
		u.from = z.t
	}
	if z.t.After(u.to) {
		u.to = z.t
	}
}

// extend widens the span of z's zone to t (a recurrence's end).
func (s zoneSet) extend(z zoned, t time.Time) {
	if u := s[z.tzid]; u != nil && t.After(u.to) {
		u.to = t
	}
}

type transition struct {
	at            time.Time // the instant, UTC
	from, to      int       // UTC offsets in seconds
	name          string
	dst           bool
	wall          time.Time // local time of the instant in the old offset, as DTSTART wants it
	month         time.Month
	weekday       time.Weekday
	ordinal, last int // week of the month (1…5) and whether it is the last such weekday
}

func transitions(loc *time.Location, fromYear, toYear int) []transition {
	var out []transition
	t := time.Date(fromYear, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(toYear+1, 1, 1, 0, 0, 0, 0, time.UTC)
	_, off := t.In(loc).Zone()
	for t.Before(end) {
		next := t.Add(24 * time.Hour)
		if _, o := next.In(loc).Zone(); o != off {
			lo, hi := t, next // the offset changes in (lo, hi]
			for hi.Sub(lo) > time.Second {
				mid := lo.Add(hi.Sub(lo) / 2)
				if _, mo := mid.In(loc).Zone(); mo == off {
					lo = mid
				} else {
					hi = mid
				}
			}
			name, to := hi.In(loc).Zone()
			wall := hi.Add(time.Duration(off) * time.Second).UTC()
			tr := transition{at: hi, from: off, to: to, name: name, dst: hi.In(loc).IsDST(), wall: wall,
				month: wall.Month(), weekday: wall.Weekday(), ordinal: (wall.Day()-1)/7 + 1}
			if wall.AddDate(0, 0, 7).Month() != wall.Month() {
				tr.last = 1
			}
			out = append(out, tr)
			off = to
		}
		t = next
	}
	return out
}

// writeVTimezones writes one VTIMEZONE per zone, in TZID order.
func (w *icalWriter) vtimezones(zones zoneSet) {
	ids := make([]string, 0, len(zones))
	for id := range zones {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		u := zones[id]
		w.vtimezone(id, u.loc, u.from.Year()-1, u.to.Year()+1)
	}
}

func (w *icalWriter) vtimezone(tzid string, loc *time.Location, fromYear, toYear int) {
	w.line("BEGIN:VTIMEZONE")
	w.prop("TZID", nil, tzid)
	trs := transitions(loc, fromYear, toYear)
	if len(trs) == 0 {
		name, off := time.Date(fromYear, 1, 1, 0, 0, 0, 0, time.UTC).In(loc).Zone()
		w.observance("STANDARD", time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), off, off, name, "")
	} else if rules, ok := yearlyRules(trs, toYear-fromYear+1); ok {
		for _, r := range rules {
			kind := "STANDARD"
			if r.dst {
				kind = "DAYLIGHT"
			}
			ord := fmt.Sprint(r.ordinal)
			if r.last == 1 {
				ord = "-1"
			}
			w.observance(kind, r.wall, r.from, r.to, r.name,
				fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=%s%s", int(r.month), ord, weekdayCode(r.weekday)))
		}
	} else {
		// The observance in force before the first transition, then every transition.
		first := trs[0]
		before := time.Date(fromYear, 1, 1, 0, 0, 0, 0, time.UTC)
		name, _ := first.at.Add(-time.Second).In(loc).Zone()
		kind := "STANDARD"
		if first.at.Add(-time.Second).In(loc).IsDST() {
			kind = "DAYLIGHT"
		}
		w.observance(kind, before.Add(time.Duration(first.from)*time.Second), first.from, first.from, name, "")
		for _, tr := range trs {
			kind := "STANDARD"
			if tr.dst {
				kind = "DAYLIGHT"
			}
			w.observance(kind, tr.wall, tr.from, tr.to, tr.name, "")
		}
	}
	w.line("END:VTIMEZONE")
}

// yearlyRules returns one transition per recurring rule when the transitions repeat every one of the years
// the same way (same month, weekday, week of month or last week, wall time and offsets), earliest first.
func yearlyRules(trs []transition, years int) ([]transition, bool) {
	type key struct {
		from, to int
		dst      bool
		name     string
	}
	groups := map[key][]transition{}
	var order []key
	for _, tr := range trs {
		k := key{tr.from, tr.to, tr.dst, tr.name}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], tr)
	}
	var rules []transition
	for _, k := range order {
		g := groups[k]
		if len(g) != years {
			return nil, false
		}
		f := g[0]
		sameOrdinal, sameLast := true, true
		for i, tr := range g {
			if tr.wall.Year() != f.wall.Year()+i || tr.month != f.month || tr.weekday != f.weekday ||
				tr.wall.Format("150405") != f.wall.Format("150405") {
				return nil, false
			}
			sameOrdinal = sameOrdinal && tr.ordinal == f.ordinal
			sameLast = sameLast && tr.last == 1
		}
		// "Last Sunday" is the rule whenever it fits every year: it stays right in years outside the probe.
		switch {
		case sameLast:
			f.last = 1
		case sameOrdinal:
			f.last = 0
		default:
			return nil, false
		}
		rules = append(rules, f)
	}
	return rules, true
}

func (w *icalWriter) observance(kind string, start time.Time, from, to int, name, rrule string) {
	w.line("BEGIN:" + kind)
	w.prop("DTSTART", nil, ical.FormatLocal(start))
	if rrule != "" {
		w.prop("RRULE", nil, rrule)
	}
	w.prop("TZOFFSETFROM", nil, ical.FormatUTCOffset(from))
	w.prop("TZOFFSETTO", nil, ical.FormatUTCOffset(to))
	if name = strings.TrimSpace(name); name != "" {
		w.prop("TZNAME", nil, icalEscape(name))
	}
	w.line("END:" + kind)
}
