package oxocal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// posixTZ renders a rule as a POSIX TZ string (the TZif footer, RFC 8536 section 3.3), e.g.
// "<-0800>8<-0700>,M3.2.0/2,M11.1.0/2". Names are the numeric offsets in the quoted form because a
// Windows rule has no abbreviations. An absolute transition date (wYear set) becomes a zero-based day of
// the year, exact for that year.
func posixTZ(r TimeZoneRule) string {
	var b strings.Builder
	std, dst := r.StandardOffset(), r.DaylightOffset()
	b.WriteString(posixName(std))
	b.WriteString(posixOffset(-std))
	if !r.HasDST() {
		return b.String()
	}
	b.WriteString(posixName(dst))
	b.WriteString(posixOffset(-dst))
	for _, st := range []SystemTime{r.DaylightDate, r.StandardDate} {
		b.WriteByte(',')
		if st.Year != 0 {
			yday := time.Date(int(st.Year), time.Month(st.Month), int(st.Day), 0, 0, 0, 0, time.UTC).YearDay() - 1
			b.WriteString(strconv.Itoa(yday))
		} else {
			fmt.Fprintf(&b, "M%d.%d.%d", st.Month, st.Day, st.DayOfWeek)
		}
		b.WriteByte('/')
		b.WriteString(posixOffset(wallSeconds(st)))
	}
	return b.String()
}

// posixName is "<+hhmm>" for an offset east of UTC in seconds.
func posixName(east int) string {
	sign := '+'
	if east < 0 {
		sign, east = '-', -east
	}
	return fmt.Sprintf("<%c%02d%02d>", sign, east/3600, east/60%60)
}

// posixOffset is [-]h[:mm[:ss]].
func posixOffset(sec int) string {
	sign := ""
	if sec < 0 {
		sign, sec = "-", -sec
	}
	h, m, s := sec/3600, sec/60%60, sec%60
	switch {
	case s != 0:
		return fmt.Sprintf("%s%d:%02d:%02d", sign, h, m, s)
	case m != 0:
		return fmt.Sprintf("%s%d:%02d", sign, h, m)
	}
	return sign + strconv.Itoa(h)
}

// tzifFromRule builds a TZif version 2 file (RFC 8536) with no transitions, one local time type (the
// standard time) and the rule as its footer. Go applies the footer to every time after the last
// transition, and with none that is all of time, so the location follows the rule in every year.
func tzifFromRule(r TimeZoneRule) []byte {
	abbrev := strings.Trim(posixName(r.StandardOffset()), "<>") + "\x00"
	var buf bytes.Buffer
	block := func() {
		buf.WriteString("TZif2")
		buf.Write(make([]byte, 15))
		// isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
		for _, n := range []uint32{0, 0, 0, 0, 1, uint32(len(abbrev))} {
			binary.Write(&buf, binary.BigEndian, n)
		}
		binary.Write(&buf, binary.BigEndian, int32(r.StandardOffset()))
		buf.WriteByte(0) // isdst
		buf.WriteByte(0) // abbreviation index
		buf.WriteString(abbrev)
	}
	block() // version 1 data block: no transition times, so no 4-byte fields
	block() // version 2 data block, identical for the same reason
	buf.WriteByte('\n')
	buf.WriteString(posixTZ(r))
	buf.WriteByte('\n')
	return buf.Bytes()
}

// SynthesizeLocation returns a *time.Location that follows rule in every year, named name.
func SynthesizeLocation(name string, rule TimeZoneRule) (*time.Location, error) {
	return time.LoadLocationFromTZData(name, tzifFromRule(rule))
}
