package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mailshift/mailshift/internal/testfixtures"
)

// BenchmarkPSTExport exports every PST fixture in one format per sub-benchmark, as "mailshift pst export"
// does, including the final sync of the output. hack/bench-pst.sh compares the CLI itself against readpst;
// this is the same work inside one process, for profiling (-cpuprofile).
func BenchmarkPSTExport(b *testing.B) {
	dir := testfixtures.MustPSTDir(b)
	files, _ := filepath.Glob(filepath.Join(dir, "*.pst"))
	if len(files) == 0 {
		b.Fatal("no PST fixtures")
	}
	for _, format := range []string{"eml", "mbox"} {
		b.Run(format, func(b *testing.B) {
			var size int64
			for _, f := range files {
				if st, err := os.Stat(f); err == nil {
					size += st.Size()
				}
			}
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				out := b.TempDir()
				for j, f := range files {
					var stdout, stderr bytes.Buffer
					to := filepath.Join(out, fmt.Sprint(j))
					// Exit 1 (some items unreadable) is a result of the fixture, not of the writer.
					if code := run([]string{"pst", "export", f, "--to", to, "--format", format}, &stdout, &stderr); code > 1 {
						b.Fatalf("%s: exit %d: %s", f, code, stderr.String())
					}
				}
			}
		})
	}
}
