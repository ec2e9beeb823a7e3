package convert

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"mime/quotedprintable"
	"strings"
	"testing"
	"testing/iotest"
)

// referenceBase64 is base64 broken into 76-character CRLF lines the plain way, the form writeBase64 must
// keep byte for byte.
func referenceBase64(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 0 {
		k := min(76, len(enc))
		b.WriteString(enc[:k] + "\r\n")
		enc = enc[k:]
	}
	return b.String()
}

// TestWriteBase64Lines: every length around the line and read-buffer edges, read whole or a byte at a time,
// gives exactly the reference lines.
func TestWriteBase64Lines(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := []int{0, 1, 2, 3, 56, 57, 58, 114, 1000}
	for _, edge := range []int{512 * base64LineBytes, 2 * 512 * base64LineBytes} {
		lengths = append(lengths, edge-1, edge, edge+1)
	}
	for _, n := range lengths {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		for _, oneByte := range []bool{false, true} {
			var src io.Reader = bytes.NewReader(data)
			if oneByte {
				src = iotest.OneByteReader(src)
			}
			var out bytes.Buffer
			w := bufio.NewWriterSize(&out, 100)
			got, err := writeBase64(w, src)
			if err != nil || w.Flush() != nil {
				t.Fatalf("%d bytes: %v", n, err)
			}
			if got != int64(n) {
				t.Errorf("%d bytes: counted %d", n, got)
			}
			if want := referenceBase64(data); out.String() != want {
				t.Errorf("%d bytes, one byte at a time %v: output differs from the reference", n, oneByte)
			}
		}
	}
}

// TestWriteBase64ReadError: a failing reader's error is returned, not taken for the end of the data.
func TestWriteBase64ReadError(t *testing.T) {
	w := bufio.NewWriter(&bytes.Buffer{})
	if _, err := writeBase64(w, iotest.TimeoutReader(iotest.OneByteReader(strings.NewReader("abcdef")))); err != iotest.ErrTimeout {
		t.Fatalf("error %v, want %v", err, iotest.ErrTimeout)
	}
}

// referenceQP is how bodies were written before writeQP encoded in one pass: line ends made CRLF by three
// replacements, then mime/quotedprintable.
func referenceQP(data string) string {
	s := strings.ReplaceAll(data, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.ReplaceAll(s, "\n", "\r\n")
	var out bytes.Buffer
	qw := quotedprintable.NewWriter(&out)
	qw.Write([]byte(s))
	qw.Close()
	return out.String() + "\r\n"
}

// TestWriteQPMatchesReference: writeQP writes byte for byte what the reference writes, for line ends of
// every kind, spaces and tabs before line ends and at every column, "=", controls and 8-bit bytes, from a
// string and from bytes.
func TestWriteQPMatchesReference(t *testing.T) {
	cases := []string{"", "a", " ", "\t", "=", "\r", "\n", "\r\n", "\n\r", "\r\r\n", "a \r\nb\t\n", "end ", "end\t",
		"caf\xc3\xa9", "x\r=\n", strings.Repeat("a", 75) + " ", strings.Repeat("a", 74) + " \r\n", strings.Repeat("=", 40)}
	for col := range 80 {
		for _, tail := range []string{" ", "\t", "=", "\xff", " \n", "ab", "\r\n "} {
			cases = append(cases, strings.Repeat("x", col)+tail+strings.Repeat("y", 80))
		}
	}
	alphabet := "ab =\t\r\n~!\x00\x7f\x80\xc3\xff"
	rng := rand.New(rand.NewPCG(7, 8))
	for range 5000 {
		b := make([]byte, rng.IntN(300))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		want := referenceQP(c)
		for _, asBytes := range []bool{false, true} {
			var out bytes.Buffer
			w := bufio.NewWriterSize(&out, 64)
			var err error
			if asBytes {
				err = writeQP(w, []byte(c))
			} else {
				err = writeQP(w, c)
			}
			if err != nil || w.Flush() != nil {
				t.Fatalf("writeQP(%q): %v", c, err)
			}
			if out.String() != want {
				t.Fatalf("writeQP(%q) =\n%q\nwant\n%q", c, out.String(), want)
			}
		}
	}
}
