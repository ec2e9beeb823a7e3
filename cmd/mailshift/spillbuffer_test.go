package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestSpillBuffer: items up to the limit stay in memory, a larger one goes whole to a scratch file, and
// after reset the next item holds only its own bytes; close removes the scratch file.
func TestSpillBuffer(t *testing.T) {
	dir := t.TempDir()
	sb := &spillBuffer{dir: dir, limit: 10}
	for _, item := range []string{"short", strings.Repeat("long item ", 5), "again", strings.Repeat("x", 11), ""} {
		if err := sb.reset(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(item); i += 3 {
			if _, err := sb.Write([]byte(item[i:min(len(item), i+3)])); err != nil {
				t.Fatal(err)
			}
		}
		var out bytes.Buffer
		if _, err := sb.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		if out.String() != item {
			t.Errorf("held %q, want %q", out.String(), item)
		}
		if sb.inFile != (len(item) > 10) {
			t.Errorf("%q: in the scratch file %v", item, sb.inFile)
		}
	}
	sb.close()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%d entries left after close", len(ents))
	}
}
