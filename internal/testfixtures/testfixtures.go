// Package testfixtures locates the shared test data that lives beside the repository (../shared), never
// inside it: the real PST files and their readpst/libpff ground truth.
package testfixtures

import (
	"os"
	"path/filepath"
	"runtime"
)

// PSTDir is the folder of PST fixtures: $MAILSHIFT_PST_TESTDATA, else ../shared/testdata/pst beside the
// repository root, which is where CI and every developer checkout have it.
func PSTDir() string {
	if d := os.Getenv("MAILSHIFT_PST_TESTDATA"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	return filepath.Clean(filepath.Join(root, "..", "shared", "testdata", "pst"))
}

// MustPSTDir returns PSTDir, failing the test (not skipping it) when the fixtures are missing: a test that
// silently checks nothing is worse than a red one.
func MustPSTDir(t interface {
	Helper()
	Fatalf(string, ...any)
}) string {
	t.Helper()
	d := PSTDir()
	if _, err := os.Stat(filepath.Join(d, "SOURCES.md")); err != nil {
		t.Fatalf("PST fixtures not found in %s (set MAILSHIFT_PST_TESTDATA): %v", d, err)
	}
	return d
}
