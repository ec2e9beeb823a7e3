//go:build windows

package atomicfile

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockRange is the byte LockFileEx locks: far past the process ID the file keeps, so that it stays readable.
var lockRange = windows.Overlapped{Offset: 1 << 30}

// tryLock takes LockFileEx without waiting; busy: another process holds it.
func tryLock(fd *os.File) (busy bool, err error) {
	ol := lockRange
	err = windows.LockFileEx(windows.Handle(fd.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	return errors.Is(err, windows.ERROR_LOCK_VIOLATION), err
}

func unlockFile(fd *os.File) {
	ol := lockRange
	_ = windows.UnlockFileEx(windows.Handle(fd.Fd()), 0, 1, 0, &ol)
}
