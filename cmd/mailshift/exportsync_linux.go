package main

import (
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// syncFileSystem syncs the whole file system holding dir with one syncfs(2) and reports whether it did.
// Only kernels from 5.8 on return the write-back errors of the file system from syncfs (those after dir
// was opened); an older kernel would report success for data it failed to write, so there it does
// nothing and the caller syncs file by file.
func syncFileSystem(dir *os.File) (bool, error) {
	if !syncfsReportsErrors() {
		return false, nil
	}
	for {
		err := unix.Syncfs(int(dir.Fd()))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return true, &os.PathError{Op: "syncfs", Path: dir.Name(), Err: err}
		}
		return true, nil
	}
}

var syncfsReportsErrors = sync.OnceValue(func() bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	return kernelAtLeast(unix.ByteSliceToString(u.Release[:]), 5, 8)
})

// kernelAtLeast reads a release such as "6.1.0-18-amd64" and compares its major.minor.
func kernelAtLeast(release string, major, minor int) bool {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	digits := parts[1] // "8-rc1" in "5.8-rc1"
	if i := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		digits = digits[:i]
	}
	gotMajor, err1 := strconv.Atoi(parts[0])
	gotMinor, err2 := strconv.Atoi(digits)
	if err1 != nil || err2 != nil {
		return false
	}
	return gotMajor > major || gotMajor == major && gotMinor >= minor
}
