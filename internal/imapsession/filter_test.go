package imapsession

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// TestResponseFilter: whole responses pass in order with their literals intact (a literal may hold
// CRLF, braces and lines that look like responses); VANISHED is taken out and kept; during a capture
// every untagged response is taken, tagged ones and continuations still pass.
func TestResponseFilter(t *testing.T) {
	stream := "* 1 FETCH (BODY[] {24}\r\n* VANISHED 9\r\n{99}\r\nxxxx)\r\n" +
		"* VANISHED 3:4\r\n" +
		"* 2 EXISTS\r\n" +
		"A1 OK done\r\n" +
		"* LISTRIGHTS INBOX bob \"\" l r\r\n" +
		"+ go on\r\n" +
		"A2 OK done\r\n"
	f := newResponseFilter(strings.NewReader(stream))
	br := bufio.NewReader(f)
	read := func() string {
		t.Helper()
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return line
	}
	if got := read(); got != "* 1 FETCH (BODY[] {24}\r\n" {
		t.Fatalf("first line %q", got)
	}
	lit := make([]byte, 24)
	if _, err := io.ReadFull(br, lit); err != nil || string(lit) != "* VANISHED 9\r\n{99}\r\nxxxx" {
		t.Fatalf("literal %q, %v", lit, err)
	}
	if got := read(); got != ")\r\n" {
		t.Fatalf("after the literal %q", got)
	}
	if got := read(); got != "* 2 EXISTS\r\n" {
		t.Fatalf("VANISHED not taken out: %q", got)
	}
	if got := read(); got != "A1 OK done\r\n" {
		t.Fatalf("%q", got)
	}
	if sets, lost := f.takeVanished(); len(sets) != 1 || sets[0] != "3:4" || lost {
		t.Fatalf("kept VANISHED %q, lost %v", sets, lost)
	}
	f.startCapture()
	if got := read(); got != "+ go on\r\n" {
		t.Fatalf("continuation during a capture: %q", got)
	}
	if got := read(); got != "A2 OK done\r\n" {
		t.Fatalf("tagged during a capture: %q", got)
	}
	if got := f.stopCapture(); len(got) != 1 || string(got[0]) != "* LISTRIGHTS INBOX bob \"\" l r\r\n" {
		t.Fatalf("captured %q", got)
	}
	if _, err := br.ReadString('\n'); !errors.Is(err, io.EOF) {
		t.Fatalf("end: %v", err)
	}
	// A response cut short is an unexpected EOF, not a clean end.
	f = newResponseFilter(strings.NewReader("* 1 FETCH (BODY[] {10}\r\nabc"))
	if _, err := io.ReadAll(f); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut literal: %v", err)
	}
}

func TestParseItems(t *testing.T) {
	items, err := parseItems([]byte("* 12 FETCH (UID 7 FLAGS (\\Seen $Label1) MODSEQ (42) BODY[HEADER.FIELDS (A B)] {3}\r\nx\"y NIL \"q\\\"s\")\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 || items[0].atom != "12" || items[1].atom != "FETCH" || !items[2].isList {
		t.Fatalf("%+v", items)
	}
	l := items[2].list
	if l[1].atom != "7" || strings.Join(listTexts(l[3]), " ") != `\Seen $Label1` || l[5].list[0].atom != "42" ||
		l[6].atom != "BODY[HEADER.FIELDS (A B)]" || l[7].str != `x"y` || !l[8].isNil || l[9].str != `q"s` {
		t.Fatalf("%+v", l)
	}
	m, ok := readFetch(items[2])
	if !ok || m.UID != 7 || m.ModSeq != 42 || len(m.Flags) != 2 {
		t.Fatalf("%+v", m)
	}
	for _, bad := range []string{"* (a (b", "* \"open", "* {5}\r\nab", "* " + strings.Repeat("(", 40) + strings.Repeat(")", 40)} {
		if _, err := parseItems([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	var ch Changes
	items, _ = parseItems([]byte("* VANISHED (EARLIER) 41,43:116,118\r\n"))
	if err := readVanished(items, &ch); err != nil || ch.Vanished.String() != "41,43:116,118" || ch.Vanished.Len() != 76 {
		t.Fatalf("%v %v", ch.Vanished, err)
	}
	for _, bad := range []string{"0", "1:x", "*", "4294967296", "1,,2"} {
		if _, err := ParseUIDSet(bad); err == nil {
			t.Errorf("UID set %q accepted", bad)
		}
	}
	if _, ok := (UIDSet{{First: 1, Last: 4294967295}}).UIDs(10); ok {
		t.Error("UIDs listed a huge set")
	}
	// A response of tiny items within the response limit: refused before its items outweigh the limit.
	for _, tiny := range []string{"* FLAGS (" + strings.Repeat("a ", 4<<20) + ")\r\n", "* LSUB " + strings.Repeat("a ", 4<<20) + "\r\n"} {
		if _, err := parseItems([]byte(tiny)); !errors.Is(err, errParse) || !strings.Contains(err.Error(), "items") {
			t.Errorf("4M one-character items: %v", err)
		}
	}
	if items, err := parseItems([]byte("* FLAGS (" + strings.Repeat("a ", maxItems-2) + ")\r\n")); err != nil || len(items[1].list) != maxItems-2 {
		t.Errorf("%d items: %v", maxItems, err)
	}
}

func FuzzParseItems(f *testing.F) {
	for _, s := range []string{
		"* 12 FETCH (UID 7 FLAGS (\\Seen) MODSEQ (42))\r\n",
		"* VANISHED (EARLIER) 1:3,5\r\n",
		"* LSUB (\\Noselect) \"/\" \"Other Users\"\r\n",
		"* OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
		"* LISTRIGHTS ~/Mail/saved smith la r swicdkxte\r\n",
		"* 1 FETCH (BODY[] {3}\r\nabc)\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := parseItems(b)
		if err != nil {
			return
		}
		var st MailboxState
		var ch Changes
		_ = readSelectResponse(b, &st, &ch)
		for _, it := range items {
			if it.isList {
				readFetch(it)
			}
		}
	})
}

// TestBoundedAfterLogin: the go-imap front end reads every response after the hand-off through the
// bounded reader (and the response filter holds no more): a fake hostile server that logs the client
// in and answers LIST with a huge literal, an unterminated quoted string or an endless line is stopped
// at the limit, and the heap does not grow with what it sends.
func TestBoundedAfterLogin(t *testing.T) {
	const slack = 16 << 20
	heads := map[string]string{
		"huge literal":        `* LIST () "/" {1000000000}` + "\r\n",
		"unterminated quoted": `* LIST () "/" "`,
		"endless line":        `* LIST () "/" INBOX`,
	}
	for name, head := range heads {
		t.Run(name, func(t *testing.T) {
			var sent atomic.Int64
			ep := fakeServer(t, func(c net.Conn) {
				br := bufio.NewReader(c)
				io.WriteString(c, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] fake hostile server\r\n")
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					tag, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
					switch {
					case strings.HasPrefix(rest, "AUTHENTICATE"):
						io.WriteString(c, tag+" OK logged in\r\n")
					case rest == "CAPABILITY":
						io.WriteString(c, "* CAPABILITY IMAP4rev1\r\n"+tag+" OK done\r\n")
					default:
						io.WriteString(c, head)
						buf := []byte(strings.Repeat("a", 64<<10))
						for sent.Load() < 128<<20 {
							n, err := c.Write(buf)
							sent.Add(int64(n))
							if err != nil {
								return
							}
						}
						io.Copy(io.Discard, br)
						return
					}
				}
			})
			ep.TLS, ep.DialTimeout = imapconn.TLSNone, 10*time.Second
			var err error
			peak := heapPeak(func() {
				s, derr := Dial(context.Background(), ep, imapconn.Credentials{Login: "alice", Password: "a-longer-password"})
				if derr != nil {
					err = derr
					return
				}
				defer s.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_, err = s.Folders(ctx)
			})
			t.Logf("server sent %d bytes, heap peak +%d, error: %v", sent.Load(), peak, err)
			if imapconn.KindOf(err) != imapconn.ProtocolError || !errors.Is(err, imapconn.ErrResponseTooLarge) {
				t.Fatalf("error %v, want a ProtocolError wrapping ErrResponseTooLarge", err)
			}
			if sent.Load() > imapconn.MaxResponseBytes+slack {
				t.Errorf("read on to %d bytes", sent.Load())
			}
			if peak > 4*imapconn.MaxResponseBytes {
				t.Errorf("heap grew by %d bytes", peak)
			}
		})
	}
}
