package codepage

import (
	"bytes"
	"testing"
)

// FuzzGuess: any bytes, split into samples at NUL, give either no guess or a code page that decodes every
// sample.
func FuzzGuess(f *testing.F) {
	f.Add([]byte("\x8e\xf3\x90M\x83g\x83\x8c\x83C\x00\x8d\xed\x8f\x9c\x8d\xcf\x82\xdd"))
	f.Add([]byte("\xd2\xd1\xb7\xa2\xcb\xcd\xd3\xca\xbc\xfe\x00Inbox"))
	f.Add([]byte("\xc2\xf5\xee\xe4\xff\xf9\xe8\xe5"))
	f.Add([]byte("Gel\xf6schte Elemente"))
	f.Fuzz(func(t *testing.T, data []byte) {
		samples := bytes.Split(data, []byte{0})
		cp, ok := Guess(samples)
		if ok && !Decodes(samples, cp) {
			t.Fatalf("guessed %d for samples it does not decode: %q", cp, samples)
		}
		if !ok && cp != 0 {
			t.Fatalf("no guess but code page %d", cp)
		}
	})
}
