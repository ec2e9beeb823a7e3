package freebusy

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// The rule is expanded with rrule-go's RRule iterator rather than its Set: RDATE and EXDATE are handled in
// series.instance, which matches EXDATEs and RECURRENCE-IDs by date, wall clock or instant as their value
// types require (Set compares instants only), gives RDATE periods their own end, and avoids the sorting
// Set does for every instance.

// rruleWeekdays maps time.Weekday to rrule-go's weekdays.
var rruleWeekdays = [7]rrule.Weekday{rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA}

// parseRule reads an RRULE value. An UNTIL without zone is read in loc, the series' wall clock
// (rrule-go's StrToROption would read it as UTC, hours off for a zoned or floating series); dateUntil
// reports an UNTIL given as a DATE.
func parseRule(rule string, loc *time.Location) (opt *rrule.ROption, dateUntil bool, err error) {
	// RFC 5545 rule parts are case-insensitive; rrule-go's parser is not.
	r := strings.ToUpper(strings.TrimSpace(rule))
	r = strings.TrimRight(strings.TrimPrefix(r, "RRULE:"), ";")
	if r == "" {
		return nil, false, errors.New("empty")
	}
	if strings.ContainsAny(r, "\r\n") {
		// rrule-go would read a second line as DTSTART.
		return nil, false, errors.New("line break in rule")
	}
	if opt, err = rrule.StrToROptionInLocation(r, loc); err != nil {
		return nil, false, err
	}
	unionByDay(opt)
	if opt.Count < 0 {
		// rrule-go would take a negative COUNT as no limit.
		return nil, false, fmt.Errorf("COUNT=%d", opt.Count)
	}
	if i := strings.Index(r, "UNTIL="); i >= 0 {
		v := r[i+len("UNTIL="):]
		if j := strings.IndexByte(v, ';'); j >= 0 {
			v = v[:j]
		}
		dateUntil = len(v) == len("20060102")
	}
	return opt, dateUntil, nil
}

// unionByDay numbers the plain BYDAY entries of a MONTHLY or YEARLY rule that also has numbered ones.
// rrule-go (like dateutil) intersects the two kinds: BYDAY=TH,2FR would need a Thursday that is also the
// second Friday, and the search for one runs to the year 9999. RFC 5545 means every Thursday and the second
// Friday; every Thursday is the 1st to 5th of its month (1st to 53rd of its year), which gives that union.
func unionByDay(o *rrule.ROption) {
	if o.Freq != rrule.MONTHLY && o.Freq != rrule.YEARLY || len(o.Byweekno) > 0 {
		return
	}
	plain, numbered := 0, 0
	for _, w := range o.Byweekday {
		if w.N() == 0 {
			plain++
		} else {
			numbered++
		}
	}
	if plain == 0 || numbered == 0 {
		return
	}
	limit := 5
	if o.Freq == rrule.YEARLY && len(o.Bymonth) == 0 {
		limit = 53
	}
	out := make([]rrule.Weekday, 0, numbered+plain*limit)
	for _, w := range o.Byweekday {
		if w.N() != 0 {
			out = append(out, w)
			continue
		}
		for n := 1; n <= limit; n++ {
			out = append(out, w.Nth(n))
		}
	}
	o.Byweekday = out
}

// rule adds the instances of the RRULE of s inside [s.lo, s.hi).
func (s *series) rule() error {
	opt, dateUntil, err := parseRule(s.ev.RRule, s.loc)
	if err != nil {
		return fmt.Errorf("RRULE %q: %w", s.ev.RRule, err)
	}
	if dateUntil {
		// rrule-go reads a DATE as 00:00, which would drop the last instance of a series that starts later
		// in the day (Kolab 2 writes such UNTILs): UNTIL is inclusive (RFC 5545 §3.3.10), so it ends with
		// its day.
		y, m, d := opt.Until.Date()
		opt.Until = time.Date(y, m, d, 23, 59, 59, 0, s.loc)
	}
	if !opt.Until.IsZero() && opt.Until.Unix() < s.lo {
		return nil
	}
	if !reachable(opt, s.dtstart) {
		return fmt.Errorf("RRULE %q: no instance ever meets its BYHOUR, BYMINUTE and BYSECOND", s.ev.RRule)
	}
	if !satisfiable(opt, s.dtstart) {
		return fmt.Errorf("RRULE %q: no day of its periods ever meets its BYMONTH, BYMONTHDAY, BYYEARDAY, BYWEEKNO and BYDAY", s.ev.RRule)
	}
	regular := isRegular(opt, s.dtstart)
	opt.Dtstart = s.dtstart
	fillDefaults(opt, s.dtstart)
	count := opt.Count
	if count == 0 {
		fastForward(opt, s.lo, s.loc)
	} else if regular {
		// Every period of a regular rule after the first has an instance, so the last one starts within
		// COUNT+1 periods of DTSTART.
		n := (count + 1) * max(opt.Interval, 1)
		if addPeriods(s.dtstart, opt.Freq, n).Unix() < s.lo {
			return nil
		}
	}
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return fmt.Errorf("RRULE %q: %w", s.ev.RRule, err)
	}
	next := r.Iterator()
	limit := count
	for n := 0; ; n++ {
		t, ok := next()
		if !ok {
			return nil
		}
		if n == 0 && count > 0 && !t.Equal(s.dtstart) {
			// DTSTART counts as the first of COUNT instances even when the rule does not produce it
			// (RFC 5545 §3.3.10); rrule-go counts only what the rule produces.
			limit--
		}
		if count > 0 && n >= limit || t.Unix() >= s.hi {
			return nil
		}
		if n >= maxInstances {
			return fmt.Errorf("RRULE %q: more than %d instances before the window's end; the rest is left out", s.ev.RRule, maxInstances)
		}
		s.instance(t, s.span)
	}
}

// fillDefaults writes the rule parts rrule-go derives from DTSTART into opt, as it does (buildRRule), so
// that DTSTART can move without changing the instances.
func fillDefaults(o *rrule.ROption, dt time.Time) {
	if len(o.Byweekno) == 0 && len(o.Byyearday) == 0 && len(o.Bymonthday) == 0 && len(o.Byweekday) == 0 &&
		len(o.Byeaster) == 0 {
		switch o.Freq {
		case rrule.YEARLY:
			if len(o.Bymonth) == 0 {
				o.Bymonth = []int{int(dt.Month())}
			}
			o.Bymonthday = []int{dt.Day()}
		case rrule.MONTHLY:
			o.Bymonthday = []int{dt.Day()}
		case rrule.WEEKLY:
			o.Byweekday = []rrule.Weekday{rruleWeekdays[dt.Weekday()]}
		}
	}
	if len(o.Byhour) == 0 && o.Freq < rrule.HOURLY {
		o.Byhour = []int{dt.Hour()}
	}
	if len(o.Byminute) == 0 && o.Freq < rrule.MINUTELY {
		o.Byminute = []int{dt.Minute()}
	}
	if len(o.Bysecond) == 0 && o.Freq < rrule.SECONDLY {
		o.Bysecond = []int{dt.Second()}
	}
}

// fastForward moves the DTSTART of a rule without COUNT to the start of the last period that begins at or
// before lo, so that expansion costs what the window holds rather than the series' age. rrule-go always
// iterates from DTSTART and has no way to start later. The new DTSTART is a period boundary of the
// original sequence (every INTERVAL-th day, week from WKST, month or year, counted from DTSTART's period)
// at 00:00, or the boundary hour, minute or second for sub-daily rules; with the defaults written out by
// fillDefaults the periods from there on produce exactly what they did before.
func fastForward(o *rrule.ROption, lo int64, loc *time.Location) {
	dt := o.Dtstart
	target := time.Unix(lo, 0).In(loc)
	wd, wt := wall(dt), wall(target)
	if wt <= wd {
		return
	}
	iv := int64(max(o.Interval, 1))
	d0, dT := floorDiv(wd, day), floorDiv(wt, day)
	var w int64
	unit := int64(day)
	switch o.Freq {
	case rrule.DAILY:
		k := (dT - d0) / iv
		if k < 1 {
			return
		}
		w = (d0 + k*iv) * day
	case rrule.WEEKLY:
		// rrule-go's first period runs from DTSTART to the next WKST; later ones start on WKST.
		wkst := o.Wkst.Day() // 0 is Monday
		weekday := (int(dt.Weekday()) + 6) % 7
		w0 := d0 - int64((weekday-wkst+7)%7)
		k := (dT - w0) / (7 * iv)
		if k < 1 {
			return
		}
		w = (w0 + k*7*iv) * day
	case rrule.MONTHLY:
		y0, m0, _ := dt.Date()
		yT, mT, _ := target.Date()
		i0, iT := int64(y0)*12+int64(m0-1), int64(yT)*12+int64(mT-1)
		k := (iT - i0) / iv
		if k < 1 {
			return
		}
		i := i0 + k*iv
		w = civil(int(i/12), time.Month(i%12+1), 1)
	case rrule.YEARLY:
		k := int64(target.Year()-dt.Year()) / iv
		if k < 1 {
			return
		}
		w = civil(dt.Year()+int(k*iv), time.January, 1)
	default:
		switch o.Freq {
		case rrule.HOURLY:
			unit = 3600
		case rrule.MINUTELY:
			unit = 60
		default:
			unit = 1
		}
		p0, pT := floorDiv(wd, unit), floorDiv(wt, unit)
		k := (pT - p0) / iv
		if k < 1 {
			return
		}
		w = (p0 + k*iv) * unit
	}
	nd := fromWall(w, loc)
	if got := wall(nd); got != w && (unit < day || floorDiv(got, day) != floorDiv(w, day)) {
		// The boundary falls into a daylight-saving gap; rrule-go would count from the normalised time
		// and leave the sequence. Expanding from the original DTSTART is slower but right.
		return
	}
	o.Dtstart = nd
}

// reachable reports whether a sub-daily rule can ever reach a time of day its BYHOUR, BYMINUTE and BYSECOND
// allow. rrule-go steps INTERVAL hours (minutes, seconds) until one does and never returns when none can,
// as with FREQ=HOURLY;INTERVAL=24;BYHOUR=5 from 10:00. The times of day it visits are DTSTART's plus
// multiples of gcd(INTERVAL, units per day), and it checks BYHOUR for HOURLY, BYHOUR and BYMINUTE for
// MINUTELY, all three for SECONDLY.
func reachable(o *rrule.ROption, dt time.Time) bool {
	var perDay, pos int
	switch o.Freq {
	case rrule.HOURLY:
		perDay, pos = 24, dt.Hour()
	case rrule.MINUTELY:
		perDay, pos = 1440, dt.Hour()*60+dt.Minute()
	case rrule.SECONDLY:
		perDay, pos = day, dt.Hour()*3600+dt.Minute()*60+dt.Second()
	default:
		return true
	}
	allowed := func(list []int, v int) bool {
		if len(list) == 0 {
			return true
		}
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	}
	g := gcd(max(o.Interval, 1), perDay)
	for x := pos % g; x < perDay; x += g {
		var h, m, sec int
		switch o.Freq {
		case rrule.HOURLY:
			h = x
		case rrule.MINUTELY:
			h, m = x/60, x%60
		default:
			h, m, sec = x/3600, x/60%60, x%60
		}
		if allowed(o.Byhour, h) && (o.Freq < rrule.MINUTELY || allowed(o.Byminute, m)) &&
			(o.Freq < rrule.SECONDLY || allowed(o.Bysecond, sec)) {
			return true
		}
	}
	return false
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// satisfiable reports whether the rule's periods ever hold a day its filters allow. rrule-go looks for an
// instance until the year 9999 when none does: FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30 costs it 70 ms,
// FREQ=HOURLY with the same filters 230 ms. Two causes are checked: an INTERVAL that never reaches the
// months of BYMONTH (monthly) or the weekdays of BYDAY (daily), and day filters that exclude each other,
// found by a yearly probe with the same filters from 2000 on, which sees every kind of year within 28
// years and costs a tenth of the search when nothing matches.
func satisfiable(o *rrule.ROption, dtstart time.Time) bool {
	iv := max(o.Interval, 1)
	switch o.Freq {
	case rrule.MONTHLY:
		if len(o.Bymonth) > 0 {
			g, m0, hit := gcd(iv, 12), int(dtstart.Month())-1, false
			for _, m := range o.Bymonth {
				hit = hit || (m-1-m0)%g == 0
			}
			if !hit {
				return false
			}
		}
	case rrule.DAILY:
		if len(o.Byweekday) > 0 && gcd(iv, 7) == 7 {
			wd, hit := (int(dtstart.Weekday())+6)%7, false
			for _, w := range o.Byweekday {
				hit = hit || w.Day() == wd
			}
			if !hit {
				return false
			}
		}
	}
	if len(o.Byeaster) > 0 {
		return true
	}
	kinds, exclusive := 0, false
	for _, n := range []int{len(o.Bymonthday), len(o.Byyearday), len(o.Byweekno)} {
		if n > 0 {
			kinds, exclusive = kinds+1, true
		}
	}
	if len(o.Bymonth) > 0 {
		kinds++
	}
	// Numbered weekdays count within the month for MONTHLY rules (and YEARLY ones with BYMONTH), within
	// the year for other YEARLY ones; the probe keeps that by listing the months. Faster rules ignore the
	// numbers.
	months := o.Bymonth
	weekdays := o.Byweekday
	if len(weekdays) > 0 {
		kinds++
		switch {
		case o.Freq > rrule.MONTHLY:
			weekdays = make([]rrule.Weekday, len(o.Byweekday))
			for i, w := range o.Byweekday {
				weekdays[i] = rruleWeekdays[(w.Day()+1)%7]
			}
		default:
			for _, w := range o.Byweekday {
				exclusive = exclusive || w.N() != 0
			}
			if o.Freq == rrule.MONTHLY && len(months) == 0 {
				months = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
			}
		}
	}
	if kinds < 2 || !exclusive {
		return true
	}
	probe, err := rrule.NewRRule(rrule.ROption{
		Freq: rrule.YEARLY, Dtstart: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), Wkst: o.Wkst,
		Bymonth: months, Bymonthday: o.Bymonthday, Byyearday: o.Byyearday, Byweekno: o.Byweekno, Byweekday: weekdays,
		Byhour: []int{0}, Byminute: []int{0}, Bysecond: []int{0},
	})
	if err != nil {
		return true // NewRRule of the rule itself reports it
	}
	_, ok := probe.Iterator()()
	return ok
}

// isRegular reports rules whose every period (after the first, which may start after its instances) has an
// instance: no part that can filter a whole period out.
func isRegular(o *rrule.ROption, dtstart time.Time) bool {
	if len(o.Bysetpos)+len(o.Byweekno)+len(o.Byyearday)+len(o.Byeaster) > 0 {
		return false
	}
	within := func(days []int, limit int) bool {
		for _, d := range days {
			if d == 0 || d > limit || d < -limit {
				return false
			}
		}
		return true
	}
	ordinals := func(limit int) bool {
		for _, w := range o.Byweekday {
			if w.N() > limit || w.N() < -limit {
				return false
			}
		}
		return true
	}
	switch o.Freq {
	case rrule.DAILY:
		return len(o.Bymonth)+len(o.Bymonthday)+len(o.Byweekday) == 0
	case rrule.WEEKLY:
		return len(o.Bymonth)+len(o.Bymonthday) == 0
	case rrule.MONTHLY:
		if len(o.Bymonth) > 0 || len(o.Bymonthday) > 0 && len(o.Byweekday) > 0 {
			return false
		}
		if len(o.Byweekday) > 0 {
			return ordinals(4)
		}
		// A missing BYMONTHDAY becomes DTSTART's day, which every month has only up to the 28th.
		return within(orDay(o.Bymonthday, dtstart), 28)
	case rrule.YEARLY:
		return len(o.Byweekday) == 0 && within(orDay(o.Bymonthday, dtstart), 28)
	}
	return len(o.Bymonth)+len(o.Bymonthday)+len(o.Byweekday)+len(o.Byhour)+len(o.Byminute)+len(o.Bysecond) == 0
}

func orDay(days []int, dtstart time.Time) []int {
	if len(days) == 0 {
		return []int{dtstart.Day()}
	}
	return days
}

// addPeriods is t plus n periods of freq.
func addPeriods(t time.Time, freq rrule.Frequency, n int) time.Time {
	switch freq {
	case rrule.YEARLY:
		return t.AddDate(n, 0, 0)
	case rrule.MONTHLY:
		return t.AddDate(0, n, 0)
	case rrule.WEEKLY:
		return t.AddDate(0, 0, 7*n)
	case rrule.DAILY:
		return t.AddDate(0, 0, n)
	case rrule.HOURLY:
		return t.Add(time.Duration(n) * time.Hour)
	case rrule.MINUTELY:
		return t.Add(time.Duration(n) * time.Minute)
	}
	return t.Add(time.Duration(n) * time.Second)
}
