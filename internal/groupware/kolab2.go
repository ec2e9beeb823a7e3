package groupware

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kolab format 2 ("Kolab Storage Format 2.0"): one XML object per message, what older Outlook connectors
// read. Times are UTC ("2004-10-10T12:00:00Z"), all-day values dates with an inclusive end date; attachments
// are MIME parts referenced by file name from <inline-attachment>.
//
// Kolab 2 cannot express modified instances of a recurring event: their original dates become exclusions,
// so the series stays right and the caller may store the modified instances as events of their own.

const kolab2PictureName = "kolab-picture"

func kolab2Message(it Item, env Envelope) (*message, error) {
	c := it.Base()
	atts, _, err := attachmentParts(c)
	if err != nil {
		return nil, err
	}
	names := uniqueNames(atts)
	created, modified, err := stamps(c, env)
	if err != nil {
		return nil, err
	}
	x := newXMLWriter()
	kolabType := "application/x-vnd.kolab." + it.Kind().String()
	switch it := it.(type) {
	case *Event:
		err = kolab2Event(x, it, names, created, modified)
	case *Task:
		err = kolab2Task(x, it, names, created, modified)
	case *Journal:
		err = kolab2Journal(x, it, names, created, modified)
	case *Note:
		kolab2Note(x, it, names, created, modified)
	case *Contact:
		var pic *mimePart
		pic, err = kolab2Contact(x, it, names, created, modified)
		if pic != nil {
			atts = append(atts, *pic)
		}
	case *DistList:
		kolabType = "application/x-vnd.kolab.contact.distlist"
		kolab2DistList(x, it, names, created, modified)
	default:
		return nil, fmt.Errorf("kind %d has no Kolab v2 form", int(it.Kind()))
	}
	if err != nil {
		return nil, err
	}
	part := mimePart{contentType: kolabType, typeParams: [][2]string{{"charset", "UTF-8"}, {"name", "kolab.xml"}},
		disposition: "attachment", filename: "kolab.xml", text: x.String()}
	return kolabMessage(it, env, kolabType, nil, part, atts), nil
}

// uniqueNames gives every attachment part a distinct file name, the key Kolab 2 references it by.
func uniqueNames(atts []mimePart) []string {
	seen := map[string]bool{"kolab.xml": true}
	names := make([]string, len(atts))
	for i := range atts {
		n := atts[i].filename
		for k := 2; seen[n]; k++ {
			n = fmt.Sprintf("%d-%s", k, atts[i].filename)
		}
		seen[n] = true
		atts[i].filename = n
		atts[i].typeParams = [][2]string{{"name", n}}
		names[i] = n
	}
	return names
}

func k2Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// k2Date is a start or end value: a date for all-day values, else UTC.
func k2Date(d DateTime, field string, inclusiveEnd bool) (string, error) {
	if d.AllDay {
		t := d.Time
		if inclusiveEnd {
			t = t.AddDate(0, 0, -1) // Kolab 2's all-day end is the last day, not the day after
		}
		return t.Format("2006-01-02"), nil
	}
	z, err := resolve(d, field)
	if err != nil {
		return "", err
	}
	return k2Time(z.t), nil
}

func k2Sensitivity(c Class) string {
	switch c {
	case ClassPrivate:
		return "private"
	case ClassConfidential:
		return "confidential"
	}
	return "public"
}

// k2Common writes the fields every Kolab 2 object starts with.
func k2Common(x *xmlWriter, c *Common, names []string, created, modified time.Time) {
	x.leaf("uid", oneLine(c.UID))
	x.leaf("body", cleanText(c.Description))
	var cats []string
	for _, cat := range c.Categories {
		if cat = oneLine(cat); cat != "" {
			cats = append(cats, strings.ReplaceAll(cat, ",", " "))
		}
	}
	x.leaf("categories", strings.Join(cats, ","))
	x.leaf("creation-date", k2Time(created))
	x.leaf("last-modification-date", k2Time(modified))
	x.leaf("sensitivity", k2Sensitivity(c.Class))
	for _, n := range names {
		x.leaf("inline-attachment", n)
	}
	x.leaf("product-id", productID(c))
}

func k2Person(x *xmlWriter, tag string, p Person) {
	x.open(tag)
	x.leaf("display-name", oneLine(p.Name))
	x.leaf("smtp-address", oneLine(p.Email))
	x.close()
}

var k2Weekdays = [...]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// k2Recurrence writes <recurrence cycle=…> (format 2.0 §"Recurrence"): daily, weekly with days, monthly by
// day number or by weekday, yearly by month day or weekday; the range is none, a number or a date.
func k2Recurrence(x *xmlWriter, r *Recurrence, exclusions []time.Time, start DateTime) error {
	if err := checkRule(r.Rule); err != nil {
		return err
	}
	rule := r.Rule
	if len(rule.BySetPos) > 0 {
		return fmt.Errorf("recurrence: BYSETPOS has no Kolab 2 form")
	}
	startZ, err := resolve(start, "start")
	if err != nil {
		return err
	}
	local := startZ.t
	var cycle, typ string
	switch rule.Freq {
	case Daily:
		cycle = "daily"
	case Weekly:
		cycle = "weekly"
	case Monthly:
		cycle = "monthly"
		typ = "daynumber"
		if len(rule.ByDay) > 0 && rule.ByDay[0].N != 0 {
			typ = "weekday"
		}
	case Yearly:
		cycle = "yearly"
		typ = "monthday"
		if len(rule.ByDay) > 0 && rule.ByDay[0].N != 0 {
			typ = "weekday"
		}
	}
	attrs := []string{"cycle", cycle}
	if typ != "" {
		attrs = append(attrs, "type", typ)
	}
	x.open("recurrence", attrs...)
	x.leaf("interval", strconv.Itoa(max(rule.Interval, 1)))
	switch {
	case rule.Freq == Weekly:
		days := rule.ByDay
		if len(days) == 0 {
			days = []WeekdayNum{{Weekday: local.Weekday()}}
		}
		for _, d := range days {
			x.leaf("day", k2Weekdays[d.Weekday])
		}
	case typ == "weekday":
		x.leaf("daynumber", strconv.Itoa(rule.ByDay[0].N))
		x.leaf("day", k2Weekdays[rule.ByDay[0].Weekday])
	case typ == "daynumber" || typ == "monthday":
		d := local.Day()
		if len(rule.ByMonthDay) > 0 {
			d = rule.ByMonthDay[0]
		}
		x.leaf("daynumber", strconv.Itoa(d))
	}
	if rule.Freq == Yearly {
		m := local.Month()
		if len(rule.ByMonth) > 0 {
			m = time.Month(rule.ByMonth[0])
		}
		x.leaf("month", strings.ToLower(m.String()))
	}
	switch {
	case rule.Count > 0:
		x.leaf("range", strconv.Itoa(rule.Count), "type", "number")
	case !rule.Until.IsZero():
		x.leaf("range", until(rule, startZ).t.In(startZ.loc).Format("2006-01-02"), "type", "date")
	default:
		x.leaf("range", "", "type", "none")
	}
	for _, t := range exclusions {
		x.leaf("exclusion", like(t, startZ).t.Format("2006-01-02"))
	}
	x.close()
	return nil
}

func k2Alarm(x *xmlWriter, alarms []Alarm) {
	if len(alarms) > 0 {
		x.leaf("alarm", strconv.Itoa(int(alarms[0].Before/time.Minute))) // minutes before the start
	}
}

var k2Status = map[PartStat]string{PartStatAccepted: "accepted", PartStatDeclined: "declined",
	PartStatTentative: "tentative", PartStatDelegated: "delegated"}

func k2Attendees(x *xmlWriter, list []Attendee) {
	for _, a := range list {
		x.open("attendee")
		x.leaf("display-name", oneLine(a.Name))
		x.leaf("smtp-address", oneLine(a.Email))
		status := k2Status[a.PartStat]
		if status == "" {
			status = "none"
		}
		x.leaf("status", status)
		x.leaf("request-response", strconv.FormatBool(a.RSVP))
		role := "required"
		switch {
		case a.CUType == CUResource || a.CUType == CURoom:
			role = "resource"
		case a.Role == RoleOptional || a.Role == RoleNonParticipant:
			role = "optional"
		}
		x.leaf("role", role)
		x.close()
	}
}

func k2ShowTimeAs(b BusyStatus) string {
	switch b {
	case BusyFree:
		return "free"
	case BusyTentative:
		return "tentative"
	case BusyOutOfOffice:
		return "outofoffice"
	}
	return "busy"
}

func kolab2Event(x *xmlWriter, e *Event, names []string, created, modified time.Time) error {
	if e.Start.IsZero() {
		return fmt.Errorf("start: not set")
	}
	if e.Priority < 0 || e.Priority > 9 {
		return fmt.Errorf("priority: %d is not 0…9", e.Priority)
	}
	if !e.End.IsZero() && !e.Start.AllDay && e.End.Time.Before(e.Start.Time) {
		return fmt.Errorf("end: %s is before the start %s", e.End.Time, e.Start.Time)
	}
	x.open("event", "version", "1.0")
	k2Common(x, &e.Common, names, created, modified)
	x.leaf("summary", cleanText(e.Summary))
	x.leaf("location", cleanText(e.Location))
	if e.Organizer != nil {
		k2Person(x, "organizer", *e.Organizer)
	}
	start, err := k2Date(e.Start, "start", false)
	if err != nil {
		return err
	}
	x.leaf("start-date", start)
	k2Alarm(x, e.Alarms)
	if e.Recurrence != nil {
		ex := append([]time.Time(nil), e.Recurrence.ExDates...)
		for _, m := range e.Exceptions {
			ex = append(ex, m.RecurrenceID.Time)
		}
		if err := k2Recurrence(x, e.Recurrence, ex, e.Start); err != nil {
			return err
		}
	}
	k2Attendees(x, e.Attendees)
	x.leaf("show-time-as", k2ShowTimeAs(e.Busy))
	if !e.End.IsZero() {
		end, err := k2Date(e.End, "end", true)
		if err != nil {
			return err
		}
		x.leaf("end-date", end)
	}
	x.close()
	return nil
}

// k2Priority maps RFC 5545 priority (1 highest … 9 lowest, 0 undefined) to Kolab 2's 1…5 (3 normal).
func k2Priority(p int) int {
	switch {
	case p <= 0:
		return 3
	case p <= 2:
		return 1
	case p <= 4:
		return 2
	case p == 5:
		return 3
	case p <= 7:
		return 4
	}
	return 5
}

func k2TaskStatus(s Status) string {
	switch s {
	case StatusInProcess:
		return "in-progress"
	case StatusCompleted:
		return "completed"
	case StatusCancelled:
		return "deferred"
	}
	return "not-started"
}

func kolab2Task(x *xmlWriter, t *Task, names []string, created, modified time.Time) error {
	x.open("task", "version", "1.0")
	k2Common(x, &t.Common, names, created, modified)
	x.leaf("summary", cleanText(t.Summary))
	if t.Organizer != nil {
		k2Person(x, "organizer", *t.Organizer)
	}
	if !t.Start.IsZero() {
		s, err := k2Date(t.Start, "start", false)
		if err != nil {
			return err
		}
		x.leaf("start-date", s)
	}
	k2Alarm(x, t.Alarms)
	if t.Recurrence != nil {
		ref := t.Start
		if ref.IsZero() {
			ref = t.Due
		}
		if ref.IsZero() {
			return fmt.Errorf("recurrence: a recurring task needs a start or due date")
		}
		if err := k2Recurrence(x, t.Recurrence, t.Recurrence.ExDates, ref); err != nil {
			return err
		}
	}
	if t.Priority < 0 || t.Priority > 9 {
		return fmt.Errorf("priority: %d is not 0…9", t.Priority)
	}
	x.leaf("priority", strconv.Itoa(k2Priority(t.Priority)))
	if t.PercentComplete < 0 || t.PercentComplete > 100 {
		return fmt.Errorf("percent-complete: %d is not 0…100", t.PercentComplete)
	}
	x.leaf("completed", strconv.Itoa(t.PercentComplete))
	x.leaf("status", k2TaskStatus(t.Status))
	if !t.Due.IsZero() {
		d, err := k2Date(t.Due, "due", false)
		if err != nil {
			return err
		}
		x.leaf("due-date", d)
	}
	x.close()
	return nil
}

func kolab2Journal(x *xmlWriter, j *Journal, names []string, created, modified time.Time) error {
	x.open("journal", "version", "1.0")
	k2Common(x, &j.Common, names, created, modified)
	x.leaf("summary", cleanText(j.Summary))
	if !j.Start.IsZero() {
		s, err := k2Date(j.Start, "start", false)
		if err != nil {
			return err
		}
		x.leaf("start-date", s)
	}
	if !j.End.IsZero() {
		e, err := k2Date(j.End, "end", true)
		if err != nil {
			return err
		}
		x.leaf("end-date", e)
	}
	x.close()
	return nil
}

func kolab2Note(x *xmlWriter, n *Note, names []string, created, modified time.Time) {
	x.open("note", "version", "1.0")
	k2Common(x, &n.Common, names, created, modified)
	x.leaf("summary", cleanText(n.Summary))
	if c := noteColorRGB(n.Color); c != "" {
		x.leaf("background-color", strings.ToLower(c))
	}
	x.leaf("foreground-color", "#000000")
	x.close()
}

// k2PhoneType maps a model phone's types to the Kolab 2 phone type names (business1, homefax, mobile, …).
func k2PhoneType(types []string, seen map[string]bool) string {
	has := map[string]bool{}
	for _, t := range types {
		has[strings.ToLower(t)] = true
	}
	var base string
	switch {
	case has["fax"] && has["home"]:
		base = "homefax"
	case has["fax"]:
		base = "businessfax"
	case has["cell"]:
		return "mobile"
	case has["pager"]:
		return "pager"
	case has["car"]:
		return "car"
	case has["isdn"]:
		return "isdn"
	case has["assistant"]:
		return "assistant"
	case has["callback"]:
		return "callback"
	case has["company"]:
		return "company"
	case has["radio"]:
		return "radio"
	case has["telex"]:
		return "telex"
	case has["ttytdd"]:
		return "ttytdd"
	case has["main"]:
		return "primary"
	case has["home"]:
		base = "home"
	case has["work"]:
		base = "business"
	default:
		return "other"
	}
	if base == "home" || base == "business" {
		if !seen[base+"1"] {
			seen[base+"1"] = true
			return base + "1"
		}
		return base + "2"
	}
	return base
}

func kolab2Contact(x *xmlWriter, c *Contact, names []string, created, modified time.Time) (*mimePart, error) {
	var pic *mimePart
	if c.Photo != nil && len(c.Photo.Data) > 0 {
		mt := oneLine(c.Photo.MIMEType)
		if mt == "" {
			mt = "image/jpeg"
		}
		ext := strings.TrimPrefix(mt, "image/")
		name := kolab2PictureName + "." + ext
		data := c.Photo.Data
		pic = &mimePart{contentType: mt, typeParams: [][2]string{{"name", name}}, disposition: "attachment",
			filename: name, open: openBytes(data), what: "photo"}
		names = append(names, name)
	}
	x.open("contact", "version", "1.0")
	k2Common(x, &c.Common, names, created, modified)
	x.open("name")
	x.leaf("given-name", oneLine(c.Name.Given))
	x.leaf("middle-names", oneLine(c.Name.Additional))
	x.leaf("last-name", oneLine(c.Name.Family))
	x.leaf("full-name", formattedName(c))
	x.leaf("prefix", oneLine(c.Name.Prefix))
	x.leaf("suffix", oneLine(c.Name.Suffix))
	x.close()
	x.leaf("organization", oneLine(c.Organization))
	if len(c.URLs) > 0 {
		x.leaf("web-page", oneLine(c.URLs[0]))
	}
	if len(c.IMAddresses) > 0 {
		x.leaf("im-address", oneLine(c.IMAddresses[0]))
	}
	x.leaf("department", oneLine(c.Department))
	x.leaf("profession", oneLine(c.Role))
	x.leaf("job-title", oneLine(c.Title))
	x.leaf("manager-name", oneLine(c.Manager))
	x.leaf("assistant", oneLine(c.Assistant))
	x.leaf("nick-name", oneLine(c.Nickname))
	x.leaf("spouse-name", oneLine(c.Spouse))
	if !c.Birthday.IsZero() {
		x.leaf("birthday", c.Birthday.Format("2006-01-02"))
	}
	if !c.Anniversary.IsZero() {
		x.leaf("anniversary", c.Anniversary.Format("2006-01-02"))
	}
	if pic != nil {
		x.leaf("picture", pic.filename)
	}
	switch strings.ToUpper(c.Gender) {
	case "M":
		x.leaf("gender", "male")
	case "F":
		x.leaf("gender", "female")
	}
	seen := map[string]bool{}
	for _, p := range c.Phones {
		if num := oneLine(p.Number); num != "" {
			x.open("phone")
			x.leaf("type", k2PhoneType(p.Types, seen))
			x.leaf("number", num)
			x.close()
		}
	}
	for _, e := range c.Emails {
		if addr := oneLine(e.Address); addr != "" {
			disp := e.Display
			if disp == "" {
				disp = formattedName(c)
			}
			k2Person(x, "email", Person{Name: disp, Email: addr})
		}
	}
	for _, a := range c.Addresses {
		typ := "other"
		switch strings.ToLower(a.Type) {
		case "work":
			typ = "business"
		case "home":
			typ = "home"
		}
		x.open("address")
		x.leaf("type", typ)
		street := a.Street
		if a.POBox != "" {
			street = strings.TrimSpace(a.POBox + "\n" + street)
		}
		x.leaf("street", cleanText(street))
		x.leaf("locality", oneLine(a.Locality))
		x.leaf("region", oneLine(a.Region))
		x.leaf("postal-code", oneLine(a.Code))
		x.leaf("country", oneLine(a.Country))
		x.close()
	}
	x.close()
	return pic, nil
}

func kolab2DistList(x *xmlWriter, d *DistList, names []string, created, modified time.Time) {
	x.open("distribution-list", "version", "1.0")
	k2Common(x, &d.Common, names, created, modified)
	x.leaf("display-name", oneLine(d.Name))
	for _, m := range d.Members {
		k2Person(x, "member", m)
	}
	x.close()
}
