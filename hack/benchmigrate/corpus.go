package main

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"time"
)

// Folders of the source account and the share of the corpus each holds. "Projekte/Ärger" is there for a
// non-ASCII (modified UTF-7 on the wire) name, the Projekte ones for a hierarchy.
var folders = []struct {
	Name  string
	Share float64
}{
	{"INBOX", 0.38},
	{"Projekte/2024", 0.14},
	{"Projekte/Ärger", 0.10},
	{"Archive", 0.22},
	{"Sent", 0.16},
}

// Item is one corpus message: where it goes, its flags and INTERNALDATE, and its RFC 5322 bytes.
type Item struct {
	Index  int
	Folder string
	Flags  []string
	Date   time.Time // INTERNALDATE
	Body   []byte
}

var (
	people = []string{
		"Anna Becker <anna.becker@example.org>", "Jonas Weber <j.weber@example.net>",
		"Marta Nowak <marta@example.com>", "Pierre Durand <pierre.durand@example.fr>",
		"Lena Schulz <lena.schulz@example.org>", "Ravi Iyer <ravi@example.in>",
		"Sofia Rossi <sofia.rossi@example.it>", "Tomás García <tomas.garcia@example.es>",
		"Yuki Tanaka <yuki@example.jp>", "Olaf Jensen <olaf@example.dk>",
		"Support <support@vendor.example>", "Newsletter <news@shop.example>",
	}
	owner    = "Alice Example <alice@example.test>"
	subjects = []string{
		"Angebot für das Projekt", "Re: Termin nächste Woche", "Quarterly report", "Invoice %d",
		"Fwd: Reisekosten", "Meeting notes", "Re: Re: Budget 2024", "Ärger mit dem Lieferanten",
		"Your order #%d has shipped", "Draft contract", "Photos from the offsite", "Build failed on main",
		"Einladung: Sommerfest", "Question about the migration", "Weekly status %d",
	}
	words = strings.Fields(`the project migration server mailbox folder message report budget invoice meeting
		schedule review contract delivery team customer account order shipment quarter plan update
		der die das und mit für nicht ist wir sie ein eine Termin Woche Projekt Angebot Rechnung Bericht
		please could would should thanks regards attached below above next week today tomorrow`)
	zones = []*time.Location{
		time.FixedZone("", 3600), time.FixedZone("", 7200), time.UTC,
		time.FixedZone("", -5*3600), time.FixedZone("", 9*3600),
	}
	attachments = []struct{ name, ctype string }{
		{"report.pdf", "application/pdf"}, {"photo.jpg", "image/jpeg"},
		{"data.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{"archive.zip", "application/zip"}, {"scan.png", "image/png"},
	}
)

// epoch is the first INTERNALDATE; messages are spread over about six years after it.
var epoch = time.Date(2019, 1, 7, 8, 0, 0, 0, time.UTC)

// Corpus is a kind of benchmark corpus. Both have the same folders, flags, dates and headers, message by
// message; they differ in their bodies, which is what storage formats differ in when they store them.
type Corpus string

const (
	// MIME: sizes log-uniform 1 KiB .. 200 KiB (as in appendlimit), some multipart/mixed with base64
	// attachments, some multipart/alternative, the others text/plain.
	MIME Corpus = "mime"
	// Plain: short text/plain messages (about 1-3 KiB with their headers), like most of a mailbox's
	// correspondence; the per-message cost of storing dominates, not the bytes.
	Plain Corpus = "plain"
)

// ParseCorpus returns the corpus named s.
func ParseCorpus(s string) (Corpus, error) {
	switch c := Corpus(s); c {
	case MIME, Plain:
		return c, nil
	}
	return "", fmt.Errorf("corpus must be %s or %s, not %q", MIME, Plain, s)
}

// Message builds message i of corpus c. It depends only on i and c, so the first n messages of a larger
// corpus are the corpus of n, and message i is in the same folder in every corpus (Expected).
func Message(i int, c Corpus) Item {
	rnd := rand.New(rand.NewSource(int64(i)*1000003 + 42))
	size := int(1024 * math.Exp(rnd.Float64()*math.Log(200)))
	if c == Plain {
		size = 400 + (i*7919)%2000 // the body; the headers add about 600 bytes
	}

	it := Item{Index: i, Folder: pickFolder(rnd.Float64())}
	sent := it.Folder == "Sent"
	// INTERNALDATE: monotone in i with jitter, in a few zones.
	at := epoch.Add(time.Duration(i)*37*time.Minute + time.Duration(rnd.Intn(1800))*time.Second)
	it.Date = at.In(zones[rnd.Intn(len(zones))])
	if sent || rnd.Float64() < 0.85 {
		it.Flags = append(it.Flags, `\Seen`)
	}
	if !sent && rnd.Float64() < 0.12 {
		it.Flags = append(it.Flags, `\Answered`)
	}
	if rnd.Float64() < 0.06 {
		it.Flags = append(it.Flags, `\Flagged`)
	}
	if rnd.Float64() < 0.08 {
		it.Flags = append(it.Flags, `$label1`)
	}

	from, to := people[rnd.Intn(len(people))], owner
	if sent {
		from, to = owner, people[rnd.Intn(len(people))]
	}
	subject := subjects[rnd.Intn(len(subjects))]
	if strings.Contains(subject, "%d") {
		subject = fmt.Sprintf(subject, 1000+i)
	}
	// Date header: when it was written, a little before it arrived.
	written := it.Date.Add(-time.Duration(5+rnd.Intn(600)) * time.Second)

	var b strings.Builder
	b.Grow(size + 2048)
	fmt.Fprintf(&b, "Return-Path: <%s>\r\n", addr(from))
	fmt.Fprintf(&b, "Received: from mx.example.net (mx.example.net [192.0.2.%d])\r\n\tby mail.example.test with ESMTPS id %08x\r\n\tfor <%s>; %s\r\n",
		1+rnd.Intn(250), rnd.Uint32(), addr(to), it.Date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s.%05d.%08x@mail.example.test>\r\n", written.UTC().Format("20060102150405"), i, rnd.Uint32())
	fmt.Fprintf(&b, "Date: %s\r\n", written.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: %s\r\n", encodeAddr(from))
	fmt.Fprintf(&b, "To: %s\r\n", encodeAddr(to))
	if rnd.Float64() < 0.3 {
		fmt.Fprintf(&b, "Cc: %s\r\n", encodeAddr(people[rnd.Intn(len(people))]))
	}
	fmt.Fprintf(&b, "Subject: %s\r\n", encodeWord(subject))
	if strings.HasPrefix(subject, "Re:") {
		fmt.Fprintf(&b, "In-Reply-To: <%d.%08x@mail.example.test>\r\n", i, rnd.Uint32())
	}
	b.WriteString("MIME-Version: 1.0\r\n")

	kind := rnd.Float64()
	if c == Plain {
		kind = 1 // text/plain
	}
	switch {
	case size > 12<<10 && kind < 0.55: // multipart/mixed with base64 attachments
		boundary := fmt.Sprintf("=_mixed_%05d_%08x", i, rnd.Uint32())
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", boundary)
		b.WriteString("This is a multi-part message in MIME format.\r\n")
		fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", boundary)
		text(&b, rnd, b.Len()+600+rnd.Intn(3000))
		parts := 1 + rnd.Intn(2)
		for p := 0; p < parts; p++ {
			a := attachments[rnd.Intn(len(attachments))]
			fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: %s; name=\"%s\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"%s\"\r\n\r\n",
				boundary, a.ctype, a.name, a.name)
			remain := size - b.Len() - 60
			share := remain / (parts - p)
			base64Lines(&b, rnd, share)
		}
		fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	case kind < 0.75: // multipart/alternative: plain and HTML
		boundary := fmt.Sprintf("=_alt_%05d_%08x", i, rnd.Uint32())
		fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", boundary)
		fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", boundary)
		half := b.Len() + (size-b.Len())/2
		text(&b, rnd, half)
		fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<html><body>\r\n", boundary)
		html(&b, rnd, size-40)
		fmt.Fprintf(&b, "</body></html>\r\n\r\n--%s--\r\n", boundary)
	default: // plain text
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		text(&b, rnd, size)
	}
	it.Body = []byte(b.String())
	return it
}

func pickFolder(x float64) string {
	for _, f := range folders {
		if x < f.Share {
			return f.Name
		}
		x -= f.Share
	}
	return folders[0].Name
}

// Expected returns how many of the first n corpus messages each folder holds.
func Expected(n int) map[string]int {
	m := map[string]int{}
	for i := 0; i < n; i++ {
		rnd := rand.New(rand.NewSource(int64(i)*1000003 + 42))
		rnd.Float64() // size
		m[pickFolder(rnd.Float64())]++
	}
	return m
}

func addr(p string) string {
	if i := strings.IndexByte(p, '<'); i >= 0 {
		return strings.TrimSuffix(p[i+1:], ">")
	}
	return p
}

// encodeAddr encodes a non-ASCII display name as an RFC 2047 word.
func encodeAddr(p string) string {
	i := strings.IndexByte(p, '<')
	if i <= 0 {
		return p
	}
	return encodeWord(strings.TrimSpace(p[:i])) + " " + p[i:]
}

func encodeWord(s string) string {
	for _, r := range s {
		if r >= 0x80 {
			return "=?utf-8?B?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?="
		}
	}
	return s
}

// text writes paragraphs of words, lines of at most 76 characters, until b holds about upTo bytes.
func text(b *strings.Builder, rnd *rand.Rand, upTo int) {
	b.WriteString("Hallo,\r\n\r\n")
	line := 0
	for b.Len() < upTo {
		w := words[rnd.Intn(len(words))]
		if line+len(w)+1 > 76 {
			b.WriteString("\r\n")
			line = 0
			if rnd.Intn(8) == 0 {
				b.WriteString("\r\n")
			}
		} else if line > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	b.WriteString("\r\n\r\n-- \r\nsent from the benchmark corpus\r\n")
}

func html(b *strings.Builder, rnd *rand.Rand, upTo int) {
	for b.Len() < upTo {
		b.WriteString("<p>")
		for k := 0; k < 10; k++ {
			if k > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[rnd.Intn(len(words))])
		}
		b.WriteString("</p>\r\n")
	}
}

// base64Lines writes about n bytes of base64 (random data) in 76-character lines.
func base64Lines(b *strings.Builder, rnd *rand.Rand, n int) {
	if n < 80 {
		n = 80
	}
	raw := make([]byte, n*57/78) // 3/4 for base64, 76/78 for the line ends
	rnd.Read(raw)
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
}
