//go:build unix

package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Lock takes an exclusive flock(2) on Path + ".lock", without waiting. The kernel lets go of it when the
// process ends, however it ends (a SIGKILL included), so a run started again at once is not refused. The
// file keeps the holder's process ID, for the message a refused run gives.
func (f FileCheckpoint) Lock(ctx context.Context) (func(), error) {
	path := f.Path + ".lock"
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("checkpoint lock: %w", err)
	}
	fd, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("checkpoint lock: %w", err)
	}
	if err := syscall.Flock(int(fd.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := lockHolder(fd)
		fd.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is held by %s; wait for that run to end or stop it, then run again", ErrCheckpointInUse, f.Path, holder)
		}
		return nil, fmt.Errorf("checkpoint lock %s: %w", path, err)
	}
	if err := fd.Truncate(0); err == nil {
		_, _ = fd.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		// The PID is only a hint for the message above; closing the file releases the lock even if the
		// explicit unlock failed.
		_ = fd.Truncate(0)
		_ = syscall.Flock(int(fd.Fd()), syscall.LOCK_UN)
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
