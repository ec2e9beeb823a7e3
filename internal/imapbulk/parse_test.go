package imapbulk

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func parseOne(t *testing.T, in string) *response {
	t.Helper()
	r, err := newParser(bufio.NewReader(strings.NewReader(in))).readResponse()
	if err != nil {
		t.Fatalf("readResponse(%q): %v", in, err)
	}
	return r
}

func TestParseStatusAndCodes(t *testing.T) {
	r := parseOne(t, "B7 OK [APPENDUID 38505 3955] APPEND completed\r\n")
	if r.tag != "B7" || r.status != "OK" || r.code != "APPENDUID" || r.args != "38505 3955" || r.text != "APPEND completed" {
		t.Errorf("got %+v", r)
	}
	r = parseOne(t, "* OK [PERMANENTFLAGS (\\Seen \\*)] Limited\r\n")
	if r.tag != "*" || r.code != "PERMANENTFLAGS" || r.args != `(\Seen \*)` {
		t.Errorf("got %+v", r)
	}
	r = parseOne(t, "+ \r\n")
	if r.tag != "+" || r.text != "" {
		t.Errorf("got %+v", r)
	}
	r = parseOne(t, "* 23 EXISTS\r\n")
	if !r.hasNum || r.num != 23 || r.kind != "EXISTS" {
		t.Errorf("got %+v", r)
	}
}

func TestParseFetchWithLiteralsAndSections(t *testing.T) {
	hdr := "Message-ID: <a@b>\r\nSubject: =?utf-8?q?x?=\r\n\r\n"
	in := "* 3 FETCH (FLAGS (\\Seen $Forwarded) BODY[HEADER.FIELDS (MESSAGE-ID SUBJECT)] {" +
		itoa64(uint64(len(hdr))) + "}\r\n" + hdr + " UID 42 INTERNALDATE \" 5-Mar-2024 07:08:09 +0100\" RFC822.SIZE 1234 MODSEQ (77))\r\n"
	r := parseOne(t, in)
	if r.kind != "FETCH" || r.num != 3 || len(r.fields) != 1 {
		t.Fatalf("got %+v", r)
	}
	var id Identity
	applyFetch(&id, r.fields[0].list, nil)
	want := time.Date(2024, 3, 5, 7, 8, 9, 0, time.FixedZone("", 3600))
	if id.UID != 42 || id.Size != 1234 || id.ModSeq != 77 || id.MessageID != "<a@b>" || !id.InternalDate.Equal(want) ||
		strings.Join(id.Flags, " ") != `\Seen $Forwarded` || string(id.Header) != hdr {
		t.Errorf("got %+v", id)
	}
}

func TestParseStreamsBody(t *testing.T) {
	body := strings.Repeat("0123456789", 10000)
	in := "* 1 FETCH (UID 5 BODY[] {" + itoa64(uint64(len(body))) + "}\r\n" + body + ")\r\nB1 OK done\r\n"
	p := newParser(bufio.NewReader(strings.NewReader(in)))
	var got bytes.Buffer
	p.sink = func(key string, size int64) io.Writer {
		if key == "BODY[]" {
			return &got
		}
		return nil
	}
	r, err := p.readResponse()
	if err != nil || got.String() != body || r.fields[0].list[3].kind != kindStreamed {
		t.Fatalf("err %v, streamed %d bytes", err, got.Len())
	}
	if r, err := p.readResponse(); err != nil || r.status != "OK" {
		t.Fatalf("next response: %v %+v", err, r)
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"* 1 FETCH (BODY[] {2000000000}\r\n",           // literal over 1 GiB
		"* 1 FETCH (BODY[] {99999999}\r\nabc",          // over the in-memory limit, no sink
		"* LIST (" + strings.Repeat("(", 100) + "\r\n", // nesting
		"* 1 FETCH (UID 1\r\n",                         // unterminated list
		"* 1 FETCH (BODY[HEADER {3}\r\nabc)\r\n",       // unterminated section
		"B1 FOO bar\r\n",                               // tagged but not a status
		"* SEARCH \"abc\r\n",                           // line break in a quoted string
		"* 1 FETCH (BODY[] {3}\r\nab",                  // short literal
	} {
		_, err := newParser(bufio.NewReader(strings.NewReader(in))).readResponse()
		if err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	long := "* SEARCH " + strings.Repeat("1 ", maxResponseText/2+10) + "\r\n"
	if _, err := newParser(bufio.NewReader(strings.NewReader(long))).readResponse(); !errors.Is(err, errProtocol) {
		t.Errorf("over-long line: %v", err)
	}
	// A line of tiny values, well under the text limit, must not cost the client memory out of all
	// proportion to it: each value is charged its size in memory (valueCost).
	for _, tiny := range []string{
		"* LIST " + strings.Repeat("1 ", 2<<20) + "\r\n",
		"* 1 FETCH (" + strings.Repeat("1 ", 2<<20) + ")\r\n",
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := newParser(bufio.NewReader(strings.NewReader(tiny))).readResponse()
		runtime.ReadMemStats(&after)
		if !errors.Is(err, errProtocol) {
			t.Errorf("4 MiB of one-character values: %v", err)
		}
		// The values kept are bounded by maxResponseText; growing a slice by append allocates about five
		// times its final size in all (86 MB measured). Uncharged, the 2M values would be 128 MB kept and
		// some 640 MB allocated.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8*maxResponseText {
			t.Errorf("4 MiB of one-character values allocated %d bytes", alloc)
		}
	}
}

// TestParseLargeSearch: the UIDs of a folder of a million messages come as one SEARCH line of about 7 MB;
// they are read as numbers, four bytes each.
func TestParseLargeSearch(t *testing.T) {
	const n = 1000000
	var b strings.Builder
	b.WriteString("* SEARCH")
	for i := 1; i <= n; i++ {
		b.WriteString(" " + strconv.Itoa(i))
	}
	b.WriteString(" 0 99999999999 (MODSEQ 917162500)\r\n")
	r, err := newParser(bufio.NewReader(strings.NewReader(b.String()))).readResponse()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.nums) != n || r.nums[0] != 1 || r.nums[n-1] != n {
		t.Fatalf("%d numbers, first %v", len(r.nums), r.nums[:min(3, len(r.nums))])
	}
	if len(r.fields) != 1 || r.fields[0].kind != kindList || len(r.fields[0].list) != 2 || r.fields[0].list[1].text != "917162500" {
		t.Errorf("trailing items %+v", r.fields)
	}
}

func TestThrottleTexts(t *testing.T) {
	for text, want := range map[string]time.Duration{
		"Request is throttled. Suggested Backoff Time: 34 milliseconds": 34 * time.Millisecond,
		"Request is throttled. Suggested Backoff Time: 2 seconds":       2 * time.Second,
		"Request is throttled.": 0,
	} {
		te, ok := parseThrottle("", text)
		if !ok || te.Backoff != want {
			t.Errorf("%q: got %+v %v, want %v", text, te, ok, want)
		}
	}
	if _, ok := parseThrottle("", "Mailbox does not exist"); ok {
		t.Error("not throttling")
	}
	if _, ok := parseThrottle("THROTTLED", "slow down"); !ok {
		t.Error("[THROTTLED] is throttling")
	}
}

func TestEncoding(t *testing.T) {
	if q, ok := quote(`a "b" \c`); !ok || q != `"a \"b\" \\c"` {
		t.Errorf("quote: %s", q)
	}
	if _, ok := quote("ü"); ok {
		t.Error("8-bit must not be quoted")
	}
	if _, err := flagList([]string{`\Recent`}); err == nil {
		t.Error(`\Recent accepted`)
	}
	if _, err := flagList([]string{"bad flag"}); err == nil {
		t.Error("flag with space accepted")
	}
	if !uidSetOK("1:*") || !uidSetOK("4,7:9") || uidSetOK("1 2") || uidSetOK("") {
		t.Error("uidSetOK")
	}
	if v, uids := parseAppendUID("9 20:22,30"); v != 9 || len(uids) != 4 || uids[3] != 30 {
		t.Errorf("parseAppendUID: %d %v", v, uids)
	}
	h := []byte("Subject: a\r\nMessage-ID:\r\n <x@y>\r\nX-MS-Exchange-Parent-Message-ID: <p@q>\r\n\r\n")
	if headerValue(h, "message-id") != "<x@y>" || headerValue(h, "X-MS-EXCHANGE-PARENT-MESSAGE-ID") != "<p@q>" {
		t.Error("headerValue")
	}
}

// FuzzParseResponse feeds arbitrary bytes to the response reader: it must
// return responses or errors, never panic, and never hand out more than
// the input.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		"* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n",
		"* 3 FETCH (UID 5 FLAGS (\\Seen) BODY[HEADER.FIELDS (DATE)] {5}\r\nDate:)\r\n",
		"* 1 FETCH (BODY[] ~{3}\r\nabc UID 1)\r\n",
		"* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent &AOQ-\"\r\n",
		"* NAMESPACE ((\"\" \"/\")) NIL ((\"shared/\" \"/\"))\r\n",
		"B1 NO [TOOBIG] too big\r\n",
		"+ eyJzdGF0dXMiOiI0MDEifQ==\r\n",
		"* SEARCH 1 2 3 (MODSEQ 9)\r\n",
		"* STATUS \"a\\\"b\" (MESSAGES 1 UIDNEXT 2)\r\n",
		"* 1 FETCH (BODY[] {4+}\r\nabcd)\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := newParser(bufio.NewReader(bytes.NewReader(data)))
		var streamed int64
		p.sink = func(key string, size int64) io.Writer {
			if key == "BODY[]" {
				return writerFunc(func(b []byte) (int, error) { streamed += int64(len(b)); return len(b), nil })
			}
			return nil
		}
		for i := 0; i < 100; i++ {
			r, err := p.readResponse()
			if err != nil {
				break
			}
			var id Identity
			if r.kind == "FETCH" && len(r.fields) > 0 {
				applyFetch(&id, r.fields[0].list, nil)
			}
			if r.kind == "LIST" && len(r.fields) >= 3 {
				decodeName(r.fields[2].str())
				delimiter(r.fields[1])
			}
			if r.kind == "NAMESPACE" && len(r.fields) >= 3 {
				namespaceList(r.fields[0])
			}
			parseAppendUID(r.args)
			parseThrottle(r.code, r.text)
		}
		if streamed > int64(len(data)) {
			t.Fatalf("streamed %d bytes from %d of input", streamed, len(data))
		}
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
