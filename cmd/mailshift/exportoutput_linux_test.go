package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"
)

// TestPSTExportCreatesEachFileOnce: an export into a new directory creates each file once under its own name
// and nothing else (no temporary file beside it, no link, no removal), because every directory update costs
// kernel time for every item. The directory updates are seen through inotify; the output's directories are
// made beforehand (as an earlier export made them) so that every one of them is watched from the start.
func TestPSTExportCreatesEachFileOnce(t *testing.T) {
	file := filepath.Join(pstFixtureDir(t), "hughbe-hughbe_Outlook.pst")
	for _, format := range []string{"eml", "mbox"} {
		t.Run(format, func(t *testing.T) {
			first := filepath.Join(t.TempDir(), "first")
			var out, errb bytes.Buffer
			if code := run([]string{"pst", "export", file, "--to", first, "--format", format}, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			files, dirs := exportedFiles(t, first)
			if len(files) < 3 {
				t.Fatalf("only %d files exported", len(files))
			}

			to := filepath.Join(t.TempDir(), "out")
			fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
			if err != nil {
				t.Fatal(err)
			}
			defer syscall.Close(fd)
			for _, d := range dirs {
				rel, _ := filepath.Rel(first, d)
				if err := os.MkdirAll(filepath.Join(to, rel), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			watched := map[int32]string{}
			for _, d := range dirs {
				rel, _ := filepath.Rel(first, d)
				d = filepath.Join(to, rel)
				wd, err := syscall.InotifyAddWatch(fd, d, syscall.IN_CREATE|syscall.IN_DELETE|syscall.IN_MOVED_TO|syscall.IN_MOVED_FROM)
				if err != nil {
					t.Fatal(err)
				}
				watched[int32(wd)] = d
			}
			if code := run([]string{"pst", "export", file, "--to", to, "--format", format}, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}

			created := map[string]int{}
			var others []string
			buf := make([]byte, 1<<20)
			for {
				n, err := syscall.Read(fd, buf)
				if errors.Is(err, syscall.EAGAIN) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				for off := 0; off+syscall.SizeofInotifyEvent <= n; {
					ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
					name := string(bytes.TrimRight(buf[off+syscall.SizeofInotifyEvent:off+syscall.SizeofInotifyEvent+int(ev.Len)], "\x00"))
					off += syscall.SizeofInotifyEvent + int(ev.Len)
					p := filepath.Join(watched[ev.Wd], name)
					switch {
					case ev.Mask&syscall.IN_Q_OVERFLOW != 0:
						t.Fatal("inotify's queue overflowed")
					case ev.Mask&syscall.IN_CREATE != 0:
						created[p]++
					default:
						others = append(others, p)
					}
				}
			}
			for _, f := range files {
				rel, _ := filepath.Rel(first, f)
				p := filepath.Join(to, rel)
				if created[p] != 1 {
					t.Errorf("%s created %d times, want once", p, created[p])
				}
				delete(created, p)
			}
			for p := range created {
				t.Errorf("%s created besides the exported files", p)
			}
			if len(others) > 0 {
				t.Errorf("%d entries removed or moved, want none: %q", len(others), others[:min(5, len(others))])
			}
		})
	}
}

// TestCreateNewRemovesAFailedFile: a file whose writing fails is removed, so no half-written file is left
// under its name; an existing file is refused untouched, without calling write.
func TestCreateNewRemovesAFailedFile(t *testing.T) {
	target := filepath.Join(t.TempDir(), "1.eml")
	failure := errors.New("the item cannot be read")
	err := createNew(target, func(w io.Writer) error {
		io.WriteString(w, "From: half\r\n")
		return failure
	})
	if !errors.Is(err, failure) {
		t.Fatalf("err %v, want the write's error", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed write left %s (%v)", target, err)
	}
	if err := createNew(target, func(w io.Writer) error { _, err := io.WriteString(w, "whole"); return err }); err != nil {
		t.Fatal(err)
	}
	called := false
	err = createNew(target, func(w io.Writer) error { called = true; return nil })
	if !errors.Is(err, os.ErrExist) || called {
		t.Errorf("existing file: err %v, write called %v; want ErrExist before writing", err, called)
	}
	if b, _ := os.ReadFile(target); string(b) != "whole" {
		t.Errorf("existing file now holds %q", b)
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644", fi.Mode().Perm(), err)
	}
}
