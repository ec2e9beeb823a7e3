package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestLock: a second lock on a path is refused, naming the holder, until the first is let go.
func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state")
	unlock, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Lock(path)
	var le *LockedError
	if !errors.As(err, &le) || le.Holder != "process "+strconv.Itoa(os.Getpid()) || le.Path != path {
		t.Fatalf("second lock: %v", err)
	}
	unlock()
	unlock2, err := Lock(path)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	unlock2()
}
