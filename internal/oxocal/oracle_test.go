package oxocal

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/groupware"
)

// formatRRule renders a rule as RFC 5545 RRULE text for the dateutil oracle. It is test-only: the
// project's writers own the production formatting.
func formatRRule(r groupware.Rule) string {
	parts := []string{"FREQ=" + string(r.Freq)}
	if r.Interval > 1 {
		parts = append(parts, fmt.Sprintf("INTERVAL=%d", r.Interval))
	}
	if r.Count > 0 {
		parts = append(parts, fmt.Sprintf("COUNT=%d", r.Count))
	}
	if !r.Until.IsZero() {
		parts = append(parts, "UNTIL="+r.Until.UTC().Format("20060102T150405Z"))
	}
	if len(r.ByMonth) > 0 {
		parts = append(parts, "BYMONTH="+joinInts(r.ByMonth))
	}
	if len(r.ByMonthDay) > 0 {
		parts = append(parts, "BYMONTHDAY="+joinInts(r.ByMonthDay))
	}
	if len(r.ByDay) > 0 {
		var days []string
		for _, d := range r.ByDay {
			s := strings.ToUpper(d.Weekday.String()[:2])
			if d.N != 0 {
				s = fmt.Sprint(d.N) + s
			}
			days = append(days, s)
		}
		parts = append(parts, "BYDAY="+strings.Join(days, ","))
	}
	if len(r.BySetPos) > 0 {
		parts = append(parts, "BYSETPOS="+joinInts(r.BySetPos))
	}
	parts = append(parts, "WKST="+strings.ToUpper(r.WeekStart.String()[:2]))
	return strings.Join(parts, ";")
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}

// oracleCase is one expansion for python3-dateutil: the rule with DTSTART (a wall clock in Zone),
// EXDATEs, and the window.
type oracleCase struct {
	RRule    string   `json:"rrule"`
	DTStart  string   `json:"dtstart"`
	Zone     string   `json:"zone"`
	ExDates  []string `json:"exdates"`
	From, To string   // UTC instants
}

const oracleScript = `
import json, sys, datetime, zoneinfo
from dateutil.rrule import rrulestr, rruleset
out = []
for c in json.load(sys.stdin):
    tz = zoneinfo.ZoneInfo(c["zone"])
    wall = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=tz)
    utc = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    rs = rruleset()
    rs.rrule(rrulestr(c["rrule"], dtstart=wall(c["dtstart"])))
    for x in c["exdates"] or []:
        rs.exdate(wall(x))
    got = []
    for t in rs.between(utc(c["From"]), utc(c["To"]), inc=True):
        if t < utc(c["To"]):
            got.append(t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    out.append(got)
json.dump(out, sys.stdout)
`

// expandWithDateutil runs the cases through python3-dateutil, an RRULE implementation independent of
// this package, and returns each case's instants.
func expandWithDateutil(t *testing.T, cases []oracleCase) [][]time.Time {
	t.Helper()
	python := "/usr/bin/python3"
	if os.Getenv("MAILSHIFT_SKIP_DATEUTIL") != "" {
		t.Skip("MAILSHIFT_SKIP_DATEUTIL set: the dateutil oracle is skipped")
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-c", oracleScript)
	cmd.Stdin = strings.NewReader(string(in))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3-dateutil oracle failed (install python3-dateutil, or set MAILSHIFT_SKIP_DATEUTIL=1): %v\n%s", err, stderr.String())
	}
	var raw [][]string
	if err := json.Unmarshal(outb, &raw); err != nil {
		t.Fatalf("oracle output: %v: %s", err, outb)
	}
	res := make([][]time.Time, len(raw))
	for i, list := range raw {
		for _, s := range list {
			tm, err := time.Parse("2006-01-02T15:04:05Z", s)
			if err != nil {
				t.Fatal(err)
			}
			res[i] = append(res[i], tm)
		}
	}
	return res
}

// oracleCaseFor builds the dateutil case for a series converted with Recurrence: DTSTART is the first
// instance (StartDate at StartTimeOffset).
func oracleCaseFor(t *testing.T, a *AppointmentRecurrence, zone string, from, to time.Time) oracleCase {
	t.Helper()
	loc := mustLoad(t, zone)
	rec, _, err := a.Recurrence(loc)
	if err != nil {
		t.Fatalf("Recurrence: %v", err)
	}
	c := oracleCase{
		RRule:   formatRRule(rec.Rule),
		DTStart: wallClock(a.StartDate.Day(), int(a.StartTimeOffset), loc).Format("2006-01-02T15:04:05"),
		Zone:    zone,
		From:    from.UTC().Format("2006-01-02T15:04:05Z"),
		To:      to.UTC().Format("2006-01-02T15:04:05Z"),
	}
	for _, x := range rec.ExDates {
		c.ExDates = append(c.ExDates, x.In(loc).Format("2006-01-02T15:04:05"))
	}
	return c
}

func mustLoad(t testing.TB, zone string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatalf("load %s: %v", zone, err)
	}
	return loc
}

// originalStarts lists the instances' original starts in UTC: what an RRULE with EXDATEs yields, the
// modified instances being at their RECURRENCE-ID.
func originalStarts(in []Instance) []time.Time {
	var out []time.Time
	for _, i := range in {
		out = append(out, i.OriginalStart.UTC())
	}
	sortTimes(out)
	return out
}

func sortTimes(ts []time.Time) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].Before(ts[j-1]); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

func equalTimes(a, b []time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}
