package main

import (
	"runtime"
	"testing"
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
