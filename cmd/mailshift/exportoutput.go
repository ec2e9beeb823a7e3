package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
)

// exportOutput is the directory one "pst export" writes into. A file that does not exist yet is created
// under its own name (O_EXCL, so nothing that appeared meanwhile is replaced) and removed again if writing it
// fails; only a file that --force replaces goes through a temporary file moved into place, so that the old
// file stays whole until the new one is complete. No file is synced on its own: the whole output is made
// durable once, by sync, at the end.
//
// Writing new files in place rather than through a temporary file and a link is safe for the same reason a
// single sync is: an export succeeds or is rerun as a whole. Until the export has exited 0 its files are not
// the result, and what a crash or kill leaves (a file cut short under its own name, where before a temporary
// file was left beside a missing name) is replaced by the rerun with --force, which rewrites every file. An
// export that finishes never leaves a partial file: a failed item's file is removed and the item reported.
// Going through a temporary file cost three directory updates per item (create, link, unlink) instead of
// one, and a sizeable share of a small export's kernel time.
//
// One sync at the end is as durable as one per file for an export, because an export succeeds or is
// rerun as a whole: until sync has returned nil the command has not reported success, and an export cut
// short by a crash (after which a file may exist but be empty) is run again with --force, which writes
// every file again. Per-file fsyncs bought nothing beyond that and cost most of the export's time (a
// journal commit and a disk cache flush per item).
type exportOutput struct {
	dir   string
	force bool
	// fsDir is the output directory, opened before the first file is written: syncfs reports the write-back
	// errors of the file system that happened after the descriptor was opened, so it must be open for the
	// whole export.
	fsDir *os.File

	mu    sync.Mutex
	files []string // every file written, for syncing them one by one where syncfs cannot be trusted
}

// The two ways of syncing, as variables so that a test can count the calls (there is no other way to see
// how often a process syncs) and make the file system's sync fail.
var (
	fsyncFile = (*os.File).Sync
	syncFS    = syncFileSystem
)

func openExportOutput(dir string, force bool) (*exportOutput, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	return &exportOutput{dir: dir, force: force, fsDir: d}, nil
}

// write writes target through write; an existing target is refused unless force is set, and then replaced
// atomically.
func (o *exportOutput) write(target string, write func(io.Writer) error) error {
	err := createNew(target, write)
	if errors.Is(err, fs.ErrExist) {
		if !o.force {
			return fmt.Errorf("%s already exists (use --force to replace it)", target)
		}
		err = placeAtomic(target, true, false, write)
	}
	if err != nil {
		return err
	}
	o.mu.Lock()
	o.files = append(o.files, target)
	o.mu.Unlock()
	return nil
}

// sync makes every file written so far, and the directory entries naming them, durable. Where the kernel
// can sync the output's file system in one call and report its errors (syncfs, Linux 5.8 and later) that
// is what it does: one call whatever the number of files (on ext4, 10 to 1000 files of 40 KB took about
// as long with syncfs as with fsyncs of every file and directory issued in parallel, and much less than
// with sequential ones). It also writes out other programs' dirty data on the same file system, which
// costs time but never durability. Elsewhere every file is synced, then every directory from the files'
// up to the output directory's parent (which may have been created).
func (o *exportOutput) sync() error {
	if done, err := syncFS(o.fsDir); done {
		return err
	}
	o.mu.Lock()
	files := append([]string(nil), o.files...)
	o.mu.Unlock()
	dirs := map[string]bool{filepath.Dir(filepath.Clean(o.dir)): true}
	for _, f := range files {
		if err := syncPath(f); err != nil {
			return err
		}
		for d := filepath.Dir(f); !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	if runtime.GOOS == "windows" {
		return nil // a directory cannot be synced there; its entries are in the file system's own journal
	}
	sorted := make([]string, 0, len(dirs))
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(sorted))) // deepest first
	for _, d := range sorted {
		if err := syncPath(d); err != nil {
			return err
		}
	}
	return nil
}

func (o *exportOutput) close() { o.fsDir.Close() }

// createNew creates target, which must not exist (fs.ErrExist otherwise, before write is called), and
// writes it through write. When writing or closing fails the file is removed: no half-written file is left
// under the name.
func createNew(target string, write func(io.Writer) error) (err error) {
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(target)
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	// 0644 whatever the umask, as for a replaced file (placeAtomic), so that a file's mode does not depend on
	// whether it existed before.
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	return f.Close()
}

func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return fsyncFile(f)
}
