//go:build unix

package atomicfile

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes flock(2) without waiting; busy: another process holds it.
func tryLock(fd *os.File) (busy bool, err error) {
	err = syscall.Flock(int(fd.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	return errors.Is(err, syscall.EWOULDBLOCK), err
}

func unlockFile(fd *os.File) { _ = syscall.Flock(int(fd.Fd()), syscall.LOCK_UN) }
