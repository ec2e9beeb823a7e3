package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockedError is Lock's error when another process holds the lock.
type LockedError struct {
	Path   string
	Holder string // "process 1234", or "another process"
}

func (e *LockedError) Error() string { return e.Path + " is in use by " + e.Holder }

// Lock takes an exclusive lock on path + ".lock", without waiting (flock(2) on unix, LockFileEx on
// Windows). The system lets go of it when the process ends, however it ends (a SIGKILL included), so a run
// started again at once is not refused. The file keeps the holder's process ID, for the error a refused run
// gives.
func Lock(path string) (unlock func(), err error) {
	path += ".lock"
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	fd, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	busy, err := tryLock(fd)
	if busy || err != nil {
		holder := lockHolder(fd)
		fd.Close()
		if busy {
			return nil, &LockedError{Path: strings.TrimSuffix(path, ".lock"), Holder: holder}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := fd.Truncate(0); err == nil {
		_, _ = fd.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		// The PID is only a hint for the error above; closing the file releases the lock even if the
		// explicit unlock failed.
		_ = fd.Truncate(0)
		unlockFile(fd)
		fd.Close()
	}, nil
}

// lockHolder names the process a lock file says holds it.
func lockHolder(fd *os.File) string {
	b, _ := io.ReadAll(io.LimitReader(fd, 16))
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
		return fmt.Sprintf("process %d", pid)
	}
	return "another process"
}
