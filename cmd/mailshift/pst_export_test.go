package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// syncRecorder counts the syncs of an export by wrapping the real ones (which still run).
type syncRecorder struct {
	mu     sync.Mutex
	files  []string // names given to fsyncFile
	fsSync int      // calls of syncFS that synced the file system
}

// recordSyncs installs a syncRecorder for the rest of the test; fsResult, when set, replaces the file
// system's sync (to make it fail or to act as a system without syncfs).
func recordSyncs(t *testing.T, fsResult func() (bool, error)) *syncRecorder {
	t.Helper()
	rec := &syncRecorder{}
	origFile, origFS := fsyncFile, syncFS
	t.Cleanup(func() { fsyncFile, syncFS = origFile, origFS })
	fsyncFile = func(f *os.File) error {
		rec.mu.Lock()
		rec.files = append(rec.files, f.Name())
		rec.mu.Unlock()
		return origFile(f)
	}
	syncFS = func(d *os.File) (bool, error) {
		done, err := origFS(d)
		if fsResult != nil {
			done, err = fsResult()
		}
		if done {
			rec.mu.Lock()
			rec.fsSync++
			rec.mu.Unlock()
		}
		return done, err
	}
	return rec
}

// exportedFiles lists the regular files below dir and every directory from dir down.
func exportedFiles(t *testing.T, dir string) (files, dirs []string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		} else {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files, dirs
}

// TestPSTExportSyncsOnce: an export does not sync file by file (that was most of its time); it syncs the
// output once at the end, and where the kernel cannot do that with syncfs it syncs every file and every
// directory, once each, at the end.
func TestPSTExportSyncsOnce(t *testing.T) {
	file := filepath.Join(pstFixtureDir(t), "hughbe-hughbe_Outlook.pst")
	for _, format := range []string{"eml", "mbox"} {
		t.Run(format, func(t *testing.T) {
			rec := recordSyncs(t, nil)
			to := filepath.Join(t.TempDir(), "out")
			var out, errb bytes.Buffer
			if code := run([]string{"pst", "export", file, "--to", to, "--format", format}, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			files, _ := exportedFiles(t, to)
			if len(files) < 5 {
				t.Fatalf("only %d files exported", len(files))
			}
			if !syncfsReportsErrors() {
				t.Skip("this kernel's syncfs does not report errors; the fallback is tested below")
			}
			if rec.fsSync != 1 || len(rec.files) != 0 {
				t.Errorf("%d files written with %d file syncs and %d file system syncs; want 0 and 1",
					len(files), len(rec.files), rec.fsSync)
			}
		})
	}
	t.Run("without syncfs", func(t *testing.T) {
		rec := recordSyncs(t, func() (bool, error) { return false, nil })
		parent := t.TempDir()
		to := filepath.Join(parent, "out")
		var out, errb bytes.Buffer
		if code := run([]string{"pst", "export", file, "--to", to}, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		files, dirs := exportedFiles(t, to)
		want := append(append(files, dirs...), parent)
		sort.Strings(want)
		got := append([]string(nil), rec.files...)
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("synced:\n%s\nwant every file and directory once, and the output's parent:\n%s",
				strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestPSTExportSyncFailure: when the output cannot be synced, the export says so and fails. (The failure is
// injected: a real file system that fails its sync on demand cannot be had in a test.)
func TestPSTExportSyncFailure(t *testing.T) {
	file := filepath.Join(pstFixtureDir(t), "hughbe-hughbe_Outlook.pst")
	recordSyncs(t, func() (bool, error) {
		return true, &fs.PathError{Op: "syncfs", Path: "out", Err: errors.New("input/output error")}
	})
	var out, errb bytes.Buffer
	code := run([]string{"pst", "export", file, "--to", filepath.Join(t.TempDir(), "out")}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "may not be on disk: syncfs out: input/output error") {
		t.Errorf("exit %d, stderr %q; want 1 and the sync error", code, errb.String())
	}
}

// TestPSTExportMboxMatchesEml: for every fixture, each folder's mbox holds exactly that folder's .eml files,
// in order, with CRLF made LF and mboxrd quoting (undone here), one blank line after each.
func TestPSTExportMboxMatchesEml(t *testing.T) {
	_, files := pstFixtures(t)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".pst")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			eml, mbox := filepath.Join(dir, "eml"), filepath.Join(dir, "mbox")
			var out, errb bytes.Buffer
			code1 := run([]string{"pst", "export", file, "--to", eml, "--format", "eml"}, &out, &errb)
			code2 := run([]string{"pst", "export", file, "--to", mbox, "--format", "mbox"}, &out, &errb)
			if code1 != code2 || code1 > 1 {
				t.Fatalf("exit %d (eml) and %d (mbox): %s", code1, code2, errb.String())
			}
			mboxes, _ := exportedFiles(t, mbox)
			emlFiles, _ := exportedFiles(t, eml)
			compared := 0
			for _, mb := range mboxes {
				if filepath.Base(mb) != "folder.mbox" {
					t.Errorf("unexpected file %s", mb)
					continue
				}
				rel, _ := filepath.Rel(mbox, filepath.Dir(mb))
				want := folderEmls(t, filepath.Join(eml, rel))
				got := splitMbox(t, mb)
				if len(got) != len(want) {
					t.Errorf("%s: %d messages, want %d", rel, len(got), len(want))
					continue
				}
				for i := range got {
					if !bytes.Equal(got[i], want[i]) {
						t.Errorf("%s: message %d differs from %d.eml", rel, i+1, i+1)
					}
				}
				compared += len(got)
			}
			if compared != len(emlFiles) {
				t.Errorf("%d messages in mboxes, %d .eml files", compared, len(emlFiles))
			}
		})
	}
}

// folderEmls reads the .eml files of one folder in item order, as an mbox holds them: LF line ends, the
// last line ended.
func folderEmls(t *testing.T, dir string) [][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var nums []int
	for _, e := range ents {
		if n, err := strconv.Atoi(strings.TrimSuffix(e.Name(), ".eml")); err == nil && !e.IsDir() {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	var msgs [][]byte
	for _, n := range nums {
		b, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(n)+".eml"))
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
		if len(b) > 0 && b[len(b)-1] != '\n' {
			b = append(bytes.TrimSuffix(b, []byte("\r")), '\n')
		}
		msgs = append(msgs, b)
	}
	return msgs
}

// splitMbox splits an mboxrd file at its "From " lines (mboxrd leaves no other line starting so), checks
// the blank line after each message and undoes the quoting.
func splitMbox(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var msgs [][]byte
	var cur *bytes.Buffer
	end := func() {
		if cur == nil {
			return
		}
		m := cur.Bytes()
		if !bytes.HasSuffix(m, []byte("\n\n")) {
			t.Fatalf("%s: message %d not followed by a blank line", path, len(msgs)+1)
		}
		msgs = append(msgs, mboxrdUnquote(m[:len(m)-1]))
	}
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if bytes.HasPrefix(l, []byte("From ")) {
			if !bytes.HasPrefix(l, []byte("From mailshift@pst.invalid ")) {
				t.Fatalf("%s: From line %q", path, l)
			}
			end()
			cur = &bytes.Buffer{}
			continue
		}
		if cur == nil {
			t.Fatalf("%s does not start with a From line", path)
		}
		cur.Write(l)
	}
	end()
	return msgs
}

// TestPSTExportJobsSameOutput: how many workers export (items of one folder spread over them in eml) does
// not change a byte of the output: names follow the contents table, not the scheduling.
func TestPSTExportJobsSameOutput(t *testing.T) {
	file := filepath.Join(pstFixtureDir(t), "pst2john-2k_outlook_qwerty1234.pst")
	for _, format := range []string{"eml", "mbox"} {
		trees := map[string]map[string]string{}
		for _, jobs := range []string{"1", "8"} {
			to := filepath.Join(t.TempDir(), "out")
			var out, errb bytes.Buffer
			if code := run([]string{"pst", "export", file, "--to", to, "--format", format, "--jobs", jobs}, &out, &errb); code != 0 {
				t.Fatalf("%s --jobs %s: exit %d: %s", format, jobs, code, errb.String())
			}
			files, _ := exportedFiles(t, to)
			tree := map[string]string{}
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				rel, _ := filepath.Rel(to, f)
				tree[rel] = string(b)
			}
			trees[jobs] = tree
		}
		if len(trees["1"]) == 0 {
			t.Fatalf("%s: nothing exported", format)
		}
		if len(trees["1"]) != len(trees["8"]) {
			t.Errorf("%s: %d files with --jobs 1, %d with --jobs 8", format, len(trees["1"]), len(trees["8"]))
		}
		for name, b := range trees["1"] {
			if trees["8"][name] != b {
				t.Errorf("%s: %s differs between --jobs 1 and --jobs 8", format, name)
			}
		}
	}
}
