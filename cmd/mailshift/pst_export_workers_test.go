package main

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/convert"
	"github.com/mailshift/mailshift/internal/pst"
	"github.com/mailshift/mailshift/internal/pst/ndb"
)

// TestExportRunsSmallExportsInline: an export of a few items starts no worker goroutines at all, and its
// mbox writer converts one item at a time; thread hand-offs cost more than they gain there.
func TestExportRunsSmallExportsInline(t *testing.T) {
	ex := &exporter{jobs: 4, converting: make(chan struct{}, 4), listed: 3}
	before := runtime.NumGoroutine()
	var during []int
	ex.runTasks(3, func(do func(func())) {
		for range 3 {
			do(func() { during = append(during, runtime.NumGoroutine()) })
		}
	})
	if len(during) != 3 {
		t.Fatalf("ran %d of 3 tasks", len(during))
	}
	for i, n := range during {
		if n != before {
			t.Errorf("task %d ran beside %d other goroutines, want none (%d before the export)", i, n-before, before)
		}
	}
	if ex.jobs != 1 {
		t.Errorf("jobs = %d after an inline export, want 1 (an mbox then converts one item at a time)", ex.jobs)
	}
}

// TestExportWorkers: never more workers than tasks or --jobs, none for a small export.
func TestExportWorkers(t *testing.T) {
	for _, c := range []struct{ jobs, tasks, items, want int }{
		{jobs: 8, tasks: 3, items: 3, want: 1},                     // a few items: inline
		{jobs: 8, tasks: inlineItems, items: inlineItems, want: 1}, // still few
		{jobs: 8, tasks: 2, items: 500, want: 2},                   // mbox: one task per folder
		{jobs: 2, tasks: 500, items: 500, want: 2},                 // eml: one task per item
		{jobs: 1, tasks: 500, items: 500, want: 1},                 // --jobs 1
		{jobs: 8, tasks: 0, items: inlineItems + 1, want: 1},       // items that all failed to list
	} {
		if got := exportWorkers(c.jobs, c.tasks, c.items); got != c.want {
			t.Errorf("exportWorkers(jobs %d, tasks %d, items %d) = %d, want %d", c.jobs, c.tasks, c.items, got, c.want)
		}
	}
}

// TestExportOneFolderKeepsJobs: an export whose items are all in one folder runs that folder's mbox on
// this goroutine, but is not small, so the mbox still converts up to --jobs items at once. (It converted
// them one by one, using one CPU of many, for the common PST that keeps its mail in one folder.)
func TestExportOneFolderKeepsJobs(t *testing.T) {
	ex := &exporter{jobs: 4, converting: make(chan struct{}, 4), listed: 100}
	ran := 0
	ex.runTasks(1, func(do func(func())) { do(func() { ran++ }) })
	if ran != 1 {
		t.Fatalf("ran %d of 1 task", ran)
	}
	if ex.jobs != 4 {
		t.Errorf("jobs = %d after a one-folder export of 100 items, want 4", ex.jobs)
	}
}

// TestMboxItemsStopsOnWriteError: when appending to the mbox fails partway, the pipeline returns that
// error, waits for the conversions in flight, starts no more, and leaves no goroutine or scratch file.
func TestMboxItemsStopsOnWriteError(t *testing.T) {
	f, err := pst.OpenPath(filepath.Join(pstFixtureDir(t), "pst2john-2k_outlook_qwerty1234.pst"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	conv, err := convert.New(f, convert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var nids []ndb.NID
	err = f.Folders(func(fo *pst.Folder) error {
		if n, err := fo.MessageNIDs(); err == nil && len(n) > len(nids) {
			nids = n
		}
		return nil
	})
	if err != nil || len(nids) < 20 {
		t.Fatalf("fixture: %d items in its largest folder (%v), want at least 20", len(nids), err)
	}
	before := runtime.NumGoroutine()
	for _, jobs := range []int{1, 3} {
		dir := t.TempDir()
		ex := &exporter{f: f, conv: conv, jobs: jobs, converting: make(chan struct{}, jobs)}
		boom := errors.New("disk full")
		var appended []int
		err := ex.mboxItems("Inbox", nids, dir, func(i int, sl *mboxSlot) error {
			if sl.err != nil {
				t.Errorf("jobs %d: item %d: %v", jobs, i, sl.err)
			}
			appended = append(appended, i)
			if i == 5 {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) {
			t.Errorf("jobs %d: mboxItems = %v, want the append error", jobs, err)
		}
		if want := []int{0, 1, 2, 3, 4, 5}; !slices.Equal(appended, want) {
			t.Errorf("jobs %d: appended items %v, want %v in order and nothing after the failure", jobs, appended, want)
		}
		if left, _ := os.ReadDir(dir); len(left) > 0 {
			t.Errorf("jobs %d: %d scratch files left in the output directory", jobs, len(left))
		}
		if len(ex.converting) != 0 {
			t.Errorf("jobs %d: %d conversion tokens still held", jobs, len(ex.converting))
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left behind", n-before)
	}
}
