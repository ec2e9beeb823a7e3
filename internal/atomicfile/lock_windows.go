//go:build windows

package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/windows"
)

// Lock takes an exclusive lock (LockFileEx) on path + ".lock", without waiting. Windows lets go of it when
// the process ends, however it ends. The file keeps the holder's process ID, for the error a refused run
// gives; the lock covers a byte far past it, so that the ID stays readable.
func Lock(path string) (unlock func(), err error) {
	path += ".lock"
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	fd, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	ol := &windows.Overlapped{Offset: 1 << 30}
	if err := windows.LockFileEx(windows.Handle(fd.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol); err != nil {
		holder := lockHolder(fd)
		fd.Close()
		if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
			return nil, &LockedError{Path: strings.TrimSuffix(path, ".lock"), Holder: holder}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := fd.Truncate(0); err == nil {
		_, _ = fd.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		_ = fd.Truncate(0)
		_ = windows.UnlockFileEx(windows.Handle(fd.Fd()), 0, 1, 0, ol)
		fd.Close()
	}, nil
}
