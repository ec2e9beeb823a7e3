package oxocal

import (
	"strconv"
	"strings"
	"sync"
	"time"
	// The tz database is built in: worker images carry no /usr/share/zoneinfo, and an item's zone must resolve
	// the same everywhere for conversions to be identical.
	_ "time/tzdata"
	"unicode"
)

// canonicalIANA maps the stable identifiers CLDR uses in windowsZones to the canonical tz database names,
// which calendar clients know without the "backward" links.
var canonicalIANA = map[string]string{
	"America/Buenos_Aires": "America/Argentina/Buenos_Aires",
	"America/Godthab":      "America/Nuuk",
	"America/Indianapolis": "America/Indiana/Indianapolis",
	"Asia/Calcutta":        "Asia/Kolkata",
	"Asia/Katmandu":        "Asia/Kathmandu",
	"Asia/Rangoon":         "Asia/Yangon",
	"Europe/Kiev":          "Europe/Kyiv",
	"Etc/UTC":              "UTC",
}

// retiredWindowsZones are key names older Windows versions used that CLDR no longer lists.
var retiredWindowsZones = map[string]string{
	"Mexico Standard Time":       "America/Mexico_City",
	"Mexico Standard Time 2":     "America/Chihuahua",
	"Armenian Standard Time":     "Asia/Yerevan",
	"Kamchatka Standard Time":    "Asia/Kamchatka",
	"Mid-Atlantic Standard Time": "Atlantic/South_Georgia",
}

// legacyDisplayNames are Windows display names of earlier Windows versions ("GMT" spelling, older city
// lists) that differ from the ones in windowsZones, each with the key it belonged to.
var legacyDisplayNames = []struct{ Display, Key string }{
	{"(GMT-11:00) Midway Island, Samoa", "Samoa Standard Time"},
	{"(GMT-08:00) Pacific Time (US & Canada); Tijuana", "Pacific Standard Time"},
	{"(GMT-08:00) Tijuana, Baja California", "Pacific Standard Time (Mexico)"},
	{"(GMT-07:00) Chihuahua, La Paz, Mazatlan", "Mountain Standard Time (Mexico)"},
	{"(GMT-06:00) Guadalajara, Mexico City, Monterrey", "Central Standard Time (Mexico)"},
	{"(GMT-05:00) Bogota, Lima, Quito", "SA Pacific Standard Time"},
	{"(GMT-04:30) Caracas", "Venezuela Standard Time"},
	{"(GMT-04:00) Caracas, La Paz", "SA Western Standard Time"},
	{"(GMT-04:00) La Paz", "SA Western Standard Time"},
	{"(GMT-04:00) Manaus", "Central Brazilian Standard Time"},
	{"(GMT-03:00) Buenos Aires", "Argentina Standard Time"},
	{"(GMT-03:00) Buenos Aires, Georgetown", "SA Eastern Standard Time"},
	{"(GMT-03:00) Georgetown", "SA Eastern Standard Time"},
	{"(GMT-03:00) Cayenne", "SA Eastern Standard Time"},
	{"(GMT-02:00) Mid-Atlantic", "Mid-Atlantic Standard Time"},
	{"(GMT-01:00) Cape Verde Is.", "Cape Verde Standard Time"},
	{"(GMT) Casablanca, Monrovia", "Greenwich Standard Time"},
	{"(GMT) Casablanca, Monrovia, Reykjavik", "Greenwich Standard Time"},
	{"(GMT) Monrovia, Reykjavik", "Greenwich Standard Time"},
	{"(GMT) Casablanca", "Morocco Standard Time"},
	{"(GMT) Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London", "GMT Standard Time"},
	{"(GMT) Greenwich Mean Time: Dublin, Edinburgh, Lisbon, London", "GMT Standard Time"},
	{"(GMT) Coordinated Universal Time", "UTC"},
	{"(GMT+02:00) Athens, Istanbul, Minsk", "GTB Standard Time"},
	{"(GMT+02:00) Athens, Beirut, Istanbul, Minsk", "GTB Standard Time"},
	{"(GMT+02:00) Athens, Bucharest, Istanbul", "GTB Standard Time"},
	{"(GMT+02:00) Bucharest", "E. Europe Standard Time"},
	{"(GMT+02:00) Minsk", "E. Europe Standard Time"},
	{"(GMT+03:00) Moscow, St. Petersburg, Volgograd", "Russian Standard Time"},
	{"(GMT+03:00) Tbilisi", "Georgian Standard Time"},
	{"(GMT+04:00) Baku, Tbilisi, Yerevan", "Caucasus Standard Time"},
	{"(GMT+04:00) Caucasus Standard Time", "Caucasus Standard Time"},
	{"(GMT+05:00) Islamabad, Karachi, Tashkent", "West Asia Standard Time"},
	{"(GMT+05:00) Tashkent", "West Asia Standard Time"},
	{"(GMT+06:00) Sri Jayawardenepura", "Sri Lanka Standard Time"},
	{"(GMT+06:00) Almaty, Novosibirsk", "N. Central Asia Standard Time"},
	{"(GMT+06:00) Astana, Dhaka", "Central Asia Standard Time"},
	{"(GMT+06:30) Rangoon", "Myanmar Standard Time"},
	{"(GMT+07:00) Krasnoyarsk", "North Asia Standard Time"},
	{"(GMT+08:00) Irkutsk, Ulaan Bataar", "North Asia East Standard Time"},
	{"(GMT+10:00) Vladivostok", "Vladivostok Standard Time"},
	{"(GMT+11:00) Magadan, Solomon Is., New Caledonia", "Central Pacific Standard Time"},
	{"(GMT+12:00) Fiji, Kamchatka, Marshall Is.", "Fiji Standard Time"},
}

// displayCandidate is a Windows key a display name can stand for, with the offset the name shows.
type displayCandidate struct {
	key    string
	offset int // minutes east, as written in the "(UTC+hh:mm)" prefix
}

var (
	indexOnce     sync.Once
	ianaByWindows map[string]string             // key name → CLDR IANA zone
	windowsByIANA map[string]string             // IANA zone (CLDR and canonical names) → key name
	keysByDisplay map[string][]displayCandidate // normalised display text → candidate keys
)

func buildIndex() {
	ianaByWindows = make(map[string]string, len(windowsZones)+len(retiredWindowsZones))
	windowsByIANA = make(map[string]string, 2*len(windowsZones))
	keysByDisplay = make(map[string][]displayCandidate, len(windowsZones)+len(legacyDisplayNames))
	addDisplay := func(display, key string) {
		offset, text, ok := splitDisplayName(display)
		if !ok {
			return
		}
		keysByDisplay[text] = append(keysByDisplay[text], displayCandidate{key, offset})
	}
	for _, z := range windowsZones {
		ianaByWindows[strings.ToLower(z.Key)] = z.IANA
		if _, dup := windowsByIANA[z.IANA]; !dup {
			windowsByIANA[z.IANA] = z.Key
			if c, ok := canonicalIANA[z.IANA]; ok {
				windowsByIANA[c] = z.Key
			}
		}
		addDisplay(z.Display, z.Key)
	}
	for key, iana := range retiredWindowsZones {
		ianaByWindows[strings.ToLower(key)] = iana
	}
	for _, l := range legacyDisplayNames {
		addDisplay(l.Display, l.Key)
	}
}

// IANAFromWindows maps a Windows time zone key name ("W. Europe Standard Time") to its IANA zone
// ("Europe/Berlin") by the CLDR windowsZones "001" mapping. Names CLDR keeps in their old spelling are
// returned canonical ("Asia/Kolkata", not "Asia/Calcutta"); "UTC" is returned for Windows' UTC. The match
// ignores case and surrounding space.
func IANAFromWindows(name string) (string, bool) {
	indexOnce.Do(buildIndex)
	iana, ok := ianaByWindows[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return "", false
	}
	if c, ok := canonicalIANA[iana]; ok {
		iana = c
	}
	return iana, true
}

// WindowsFromIANA is the reverse mapping: the Windows key name whose "001" zone is iana (accepting both
// CLDR's and the canonical spelling).
func WindowsFromIANA(iana string) (string, bool) {
	indexOnce.Do(buildIndex)
	if iana == "UTC" {
		return "UTC", true
	}
	key, ok := windowsByIANA[iana]
	return key, ok
}

// WindowsFromDescription maps the display name Outlook stores in PidLidTimeZoneDescription, in the old
// "(GMT-06:00) Central Time (US & Canada)" or the new "(UTC-06:00) …" spelling, to a Windows key name.
// The text after the offset decides; the offset only chooses between keys that share a text.
func WindowsFromDescription(description string) (string, bool) {
	indexOnce.Do(buildIndex)
	offset, text, ok := splitDisplayName(description)
	if !ok {
		return "", false
	}
	cands := keysByDisplay[text]
	if len(cands) == 0 {
		return "", false
	}
	for _, c := range cands {
		if c.offset == offset {
			return c.key, true
		}
	}
	return cands[0].key, true
}

// splitDisplayName splits "(UTC+05:30) Chennai, Kolkata" into +330 and the normalised text
// "chennai kolkata". "(UTC)", "(GMT)" and "(UTC+00:00)" are offset 0.
func splitDisplayName(s string) (offset int, text string, ok bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "(") {
		return 0, "", false
	}
	end := strings.IndexByte(s, ')')
	if end < 0 {
		return 0, "", false
	}
	prefix, rest := s[1:end], s[end+1:]
	switch {
	case strings.HasPrefix(prefix, "UTC"), strings.HasPrefix(prefix, "GMT"):
		prefix = prefix[3:]
	default:
		return 0, "", false
	}
	if prefix != "" {
		sign := 1
		switch prefix[0] {
		case '+':
		case '-':
			sign = -1
		default:
			return 0, "", false
		}
		h, m, found := strings.Cut(prefix[1:], ":")
		hours, err1 := strconv.Atoi(h)
		minutes := 0
		var err2 error
		if found {
			minutes, err2 = strconv.Atoi(m)
		}
		if err1 != nil || err2 != nil || hours > 14 || minutes > 59 {
			return 0, "", false
		}
		offset = sign * (hours*60 + minutes)
	}
	text = normaliseDisplayText(rest)
	return offset, text, text != ""
}

// normaliseDisplayText lower-cases and keeps only letters and digits, one space between words, so that
// punctuation and spacing differences between Windows versions do not matter.
func normaliseDisplayText(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
			space = false
		} else {
			space = true
		}
	}
	return b.String()
}

// Location resolves the time zone of an item: def (a TZDEFINITION, or TimeZoneStruct.Definition(); may
// be nil) and description (PidLidTimeZoneDescription; may be empty), checked in year, the year of the
// item's start (a series' first year).
//
// It returns the IANA zone named by def's key name, else by the description, when the zone loads and
// agrees with def's rules in year and year+1 (the same UTC offset at the start of each year and the same
// offset changes at the same instants); exact is then true and tzid the IANA name. With no rules to
// check, a named zone is taken as is. When no name maps or the zone disagrees, it synthesises a location
// that follows the stored rule for year exactly; tzid is then the key name, else the description, else
// the POSIX rule, and exact is false. With neither rules nor a known name it returns UTC, "", false.
func Location(def *TimeZoneDefinition, description string, year int) (loc *time.Location, tzid string, exact bool) {
	var names []string
	if def != nil && def.KeyName != "" {
		if iana, ok := IANAFromWindows(def.KeyName); ok {
			names = append(names, iana)
		}
	}
	if key, ok := WindowsFromDescription(description); ok {
		if iana, ok := IANAFromWindows(key); ok {
			names = append(names, iana)
		}
	}
	hasRules := def != nil && len(def.Rules) > 0
	for _, name := range names {
		l, err := loadIANA(name)
		if err != nil {
			continue
		}
		if !hasRules || (agreesInYear(l, def, year) && agreesInYear(l, def, year+1)) {
			return l, name, true
		}
	}
	if !hasRules {
		return time.UTC, "", false
	}
	rule, _ := def.RuleFor(year)
	tzid = def.KeyName
	if tzid == "" {
		tzid = strings.TrimSpace(description)
	}
	if tzid == "" {
		tzid = posixTZ(rule)
	}
	l, err := SynthesizeLocation(tzid, rule)
	if err != nil {
		// Unreachable for a rule that passed validation; fall back to its standard offset.
		return time.FixedZone(tzid, rule.StandardOffset()), tzid, false
	}
	return l, tzid, false
}

// loadIANA loads a zone, trying the CLDR spelling when the canonical one is missing from an old tz
// database.
func loadIANA(name string) (*time.Location, error) {
	if name == "UTC" {
		return time.UTC, nil
	}
	l, err := time.LoadLocation(name)
	if err == nil {
		return l, nil
	}
	for old, canonical := range canonicalIANA {
		if canonical == name {
			if l, err2 := time.LoadLocation(old); err2 == nil {
				return l, nil
			}
		}
	}
	return nil, err
}

// agreesInYear reports whether loc has, through year, the offset at the year's start and the offset
// changes that def's rule for that year has. Changes that keep the UTC offset (abbreviation changes)
// do not count.
func agreesInYear(loc *time.Location, def *TimeZoneDefinition, year int) bool {
	rule, ok := def.RuleFor(year)
	if !ok {
		return false
	}
	wantStart, want := rule.transitionsIn(year)
	gotStart, got := ianaTransitionsIn(loc, year)
	if wantStart != gotStart || len(want) != len(got) {
		return false
	}
	for i := range want {
		if !want[i].At.Equal(got[i].At) || want[i].Offset != got[i].Offset {
			return false
		}
	}
	return true
}

// ianaTransitionsIn lists loc's UTC-offset changes during year (UTC), walking zone bounds.
func ianaTransitionsIn(loc *time.Location, year int) (startOffset int, changes []offsetChange) {
	t := time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(year+1, time.January, 1, 0, 0, 0, 0, time.UTC)
	_, startOffset = t.In(loc).Zone()
	offset := startOffset
	for i := 0; i < 64; i++ { // no zone changes offset 64 times a year; the bound guards odd data
		_, next := t.In(loc).ZoneBounds()
		if next.IsZero() || !next.Before(end) {
			break
		}
		_, o := next.In(loc).Zone()
		if o != offset {
			changes = append(changes, offsetChange{At: next.UTC(), Offset: o})
			offset = o
		}
		t = next
	}
	return startOffset, changes
}
