package atomicfile

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// LockedError is Lock's error when another process holds the lock.
type LockedError struct {
	Path   string
	Holder string // "process 1234", or "another process"
}

func (e *LockedError) Error() string { return e.Path + " is in use by " + e.Holder }

// lockHolder names the process a lock file says holds it.
func lockHolder(fd *os.File) string {
	b, _ := io.ReadAll(io.LimitReader(fd, 16))
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
		return fmt.Sprintf("process %d", pid)
	}
	return "another process"
}
