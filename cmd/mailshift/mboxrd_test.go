package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// mboxrdReference is the mboxrd conversion written the obvious way, a whole message at a time, to judge
// mboxrdWriter against: split into lines at LF, drop one CR before each LF (and a CR at the very end), put a
// ">" before every line matching ">*From ", end the last line.
func mboxrdReference(msg []byte) []byte {
	if len(msg) == 0 {
		return nil
	}
	var out bytes.Buffer
	lines := bytes.Split(msg, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1] // msg ended with LF
	}
	for _, l := range lines {
		l = bytes.TrimSuffix(l, []byte("\r"))
		if bytes.HasPrefix(bytes.TrimLeft(l, ">"), []byte("From ")) {
			out.WriteByte('>')
		}
		out.Write(l)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// mboxrdUnquote is what an mboxrd reader does to a message body: one ">" less on every line matching
// ">+From ".
func mboxrdUnquote(b []byte) []byte {
	var out bytes.Buffer
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if bytes.HasPrefix(l, []byte(">")) && bytes.HasPrefix(bytes.TrimLeft(l, ">"), []byte("From ")) {
			l = l[1:]
		}
		out.Write(l)
	}
	return out.Bytes()
}

// mboxrdChunked runs msg through an mboxrdWriter in writes of the given sizes (cycled).
func mboxrdChunked(t testing.TB, msg []byte, sizes []int) []byte {
	t.Helper()
	var out bytes.Buffer
	bw := bufio.NewWriterSize(&out, 16) // small, so the writer's output crosses many flushes too
	m := &mboxrdWriter{w: bw}
	for i, k := 0, 0; i < len(msg); k++ {
		n := min(sizes[k%len(sizes)], len(msg)-i)
		if got, err := m.Write(msg[i : i+n]); got != n || err != nil {
			t.Fatalf("Write of %d bytes: %d, %v", n, got, err)
		}
		i += n
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestMboxrdWriter: the mboxrd quoting, line ends and the last line, for every way of splitting each message
// into two or three writes and for one byte per write.
func TestMboxrdWriter(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"\n", "\n"},
		{"\r\n", "\n"},
		{"\r", "\n"},
		{"no line end", "no line end\n"},
		{"a\r\nb\r\n", "a\nb\n"},
		{"a\nb\n", "a\nb\n"},
		{"a\r\r\nb", "a\r\nb\n"},
		{"lone\rCR\r\n", "lone\rCR\n"},
		{"CR at the end\r", "CR at the end\n"},
		{"\r\r", "\r\n"},
		{"From me\r\n", ">From me\n"},
		{"From \r\n", ">From \n"},
		{"From", "From\n"},
		{"From\r\n", "From\n"},
		{"From\tx\n", "From\tx\n"},
		{"from x\n", "from x\n"},
		{"Fromage\n", "Fromage\n"},
		{" From x\n", " From x\n"},
		{">From x\n", ">>From x\n"},
		{">>>From x\n", ">>>>From x\n"},
		{">>>Frog\n", ">>>Frog\n"},
		{">>>\n", ">>>\n"},
		{">>>", ">>>\n"},
		{">>>Fro", ">>>Fro\n"},
		{"> From x\n", "> From x\n"},
		{">F>From x\n", ">F>From x\n"},
		{"FFrom x\n", "FFrom x\n"},
		{"x From y\nFrom z", "x From y\n>From z\n"},
		{"Subject: hi\r\n\r\nFrom here on\r\n>From there\r\nend", "Subject: hi\n\n>From here on\n>>From there\nend\n"},
		{"\n\nFrom a\n\n", "\n\n>From a\n\n"},
	} {
		in := []byte(c.in)
		if got := string(mboxrdReference(in)); got != c.want {
			t.Fatalf("reference(%q) = %q, want %q", c.in, got, c.want)
		}
		check := func(how string, got []byte) {
			t.Helper()
			if string(got) != c.want {
				t.Errorf("%q %s: %q, want %q", c.in, how, got, c.want)
			}
		}
		check("in one write", mboxrdChunked(t, in, []int{len(in) + 1}))
		check("one byte per write", mboxrdChunked(t, in, []int{1}))
		for i := 0; i <= len(in); i++ {
			for j := i; j <= len(in); j++ {
				var out bytes.Buffer
				m := &mboxrdWriter{w: bufio.NewWriter(&out)}
				m.Write(in[:i])
				m.Write(in[i:j])
				m.Write(in[j:])
				m.Close()
				m.w.Flush()
				check(fmt.Sprintf("split at %d and %d", i, j), out.Bytes())
			}
		}
	}
}

// TestMboxrdWriterLarge: large messages with every kind of line, long lines and long ">" runs, written in
// chunks of many sizes (so CRLF pairs, ">*From " starts and line ends fall across writes), agree with the
// reference and read back to the original with its CRLF made LF.
func TestMboxrdWriterLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 19))
	pieces := []string{"From ", ">From ", ">>>>From ", "From", ">", ">>>>>>>>", "Fro", "F", "x", "\r", "\n", "\r\n",
		"ordinary text of a line ", "From: header\r\n", " From ", "\t", "\xff\x00"}
	for round := 0; round < 40; round++ {
		var b bytes.Buffer
		for b.Len() < 1<<20 {
			switch rng.IntN(50) {
			case 0: // a very long line
				b.WriteString(strings.Repeat("long line ", 20000))
			case 1: // a very long ">" run, sometimes followed by "From "
				b.WriteString(strings.Repeat(">", 100000))
				if rng.IntN(2) == 0 {
					b.WriteString("From x")
				}
			default:
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
		}
		msg := b.Bytes()
		want := mboxrdReference(msg)
		sizes := [][]int{{1 << 30}, {64 << 10}, {1}, {2, 3, 5, 7}, {4093}, {rng.IntN(100) + 1, rng.IntN(10000) + 1}}[round%6]
		got := mboxrdChunked(t, msg, sizes)
		if !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Fatalf("round %d (writes of %v): differs from the reference at byte %d: got %q, want %q", round, sizes,
				i, got[i:min(len(got), i+40)], want[i:min(len(want), i+40)])
		}
		lf := bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))
		if !bytes.HasSuffix(lf, []byte("\n")) {
			lf = append(bytes.TrimSuffix(lf, []byte("\r")), '\n')
		}
		if back := mboxrdUnquote(got); !bytes.Equal(back, lf) {
			t.Fatalf("round %d: unquoting does not give back the message", round)
		}
	}
}

// TestMboxrdWriterAllocations: converting a message allocates nothing, however large the message and however
// it is cut into writes. Per-line copies of the rest of the buffer (the cost that made large bodies
// quadratic) or of the line show up here as allocations.
func TestMboxrdWriterAllocations(t *testing.T) {
	var b bytes.Buffer
	for i := 0; b.Len() < 1<<20; i++ {
		b.WriteString("A line of an ordinary body, long enough to look like mail text.\r\n")
		if i%50 == 0 {
			b.WriteString(">>From the archive\r\nFrom me\r\n")
		}
	}
	msg := b.Bytes()
	bw := bufio.NewWriterSize(io.Discard, 64<<10)
	for _, chunk := range []int{64 << 10, 1000, 7} {
		allocs := testing.AllocsPerRun(3, func() {
			m := mboxrdWriter{w: bw}
			for i := 0; i < len(msg); i += chunk {
				m.Write(msg[i:min(len(msg), i+chunk)])
			}
			m.Close()
		})
		if allocs != 0 {
			t.Errorf("writes of %d bytes: %.0f allocations for a 1 MiB message, want 0", chunk, allocs)
		}
	}
}

// FuzzMboxrdWriter: any message, cut into writes anywhere, comes out as the reference conversion.
func FuzzMboxrdWriter(f *testing.F) {
	f.Add([]byte(">>From x\r\nFrom y\r"), uint8(1), uint8(3))
	f.Add([]byte("a\r\r\n>\n>From"), uint8(2), uint8(0))
	f.Fuzz(func(t *testing.T, msg []byte, a, b uint8) {
		got := mboxrdChunked(t, msg, []int{int(a) + 1, int(b) + 1})
		if want := mboxrdReference(msg); !bytes.Equal(got, want) {
			t.Fatalf("%q in writes of %d and %d: %q, want %q", msg, a+1, b+1, got, want)
		}
	})
}

// BenchmarkMboxrdWriter: the cost per byte must not grow with the message (it did when every line copied
// the rest of the write); compare ns/op over the sizes, or MB/s, which should stay flat.
func BenchmarkMboxrdWriter(b *testing.B) {
	line := "A line of an ordinary body, long enough to look like mail text.\r\n"
	for _, size := range []int{16 << 10, 256 << 10, 4 << 20} {
		msg := []byte(strings.Repeat(line, size/len(line)))
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			bw := bufio.NewWriterSize(io.Discard, 64<<10)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				m := mboxrdWriter{w: bw}
				for i := 0; i < len(msg); i += 64 << 10 {
					m.Write(msg[i:min(len(msg), i+64<<10)])
				}
				m.Close()
			}
		})
	}
}
