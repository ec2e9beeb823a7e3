package worker

import (
	"encoding/json"
	"io"
	"strings"
	"time"
)

// Report is the final account of a run: totals, every folder, and every item that could not be copied
// with why. It is written as JSON by `mailshift migrate --report` and kept by the worker Job.
type Report struct {
	Source   string         `json:"source"`
	Target   string         `json:"target"`
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished"`
	Totals   Totals         `json:"totals"`
	Folders  []FolderReport `json:"folders"`
	Failed   []FailedItem   `json:"failed"`
	Warnings []ItemWarning  `json:"warnings,omitempty"`
	Error    string         `json:"error,omitempty"` // why the run stopped, when it did not finish
}

// Totals count the run's work.
type Totals struct {
	Folders     int   `json:"folders"`
	FoldersDone int   `json:"foldersDone"`
	Items       int64 `json:"items"`
	Copied      int64 `json:"copied"`
	Duplicates  int64 `json:"duplicates"` // already on the target: not copied again
	Failed      int64 `json:"failed"`
	Skipped     int64 `json:"skipped"` // left out on purpose (size policy, …; the outbox below)
	Bytes       int64 `json:"bytes"`
	FlagUpdates int64 `json:"flagUpdates,omitempty"`
	// OutboxToDrafts counts the outbox's unsent messages that are on the target as drafts after the run
	// (copied now or found from an earlier run), in its Drafts folder unless a rename placed the outbox
	// elsewhere; OutboxSkipped those left out because the outbox was not to be migrated. Neither is in
	// Skipped.
	OutboxToDrafts int64 `json:"outboxToDrafts,omitempty"`
	OutboxSkipped  int64 `json:"outboxSkipped,omitempty"`
}

// FolderReport is one source folder's result.
type FolderReport struct {
	Source     string `json:"source"`
	Target     string `json:"target,omitempty"`
	Items      int64  `json:"items"`
	Copied     int64  `json:"copied"`
	Duplicates int64  `json:"duplicates"`
	Failed     int64  `json:"failed"`
	Skipped    int64  `json:"skipped"`
	// FlagUpdates are messages copied by an earlier pass whose flags changed on the source since.
	FlagUpdates int64  `json:"flagUpdates,omitempty"`
	Note        string `json:"note,omitempty"` // how it was mapped, or why it was skipped
	// Outbox marks the source's outbox (and folders below it): unsent messages, copied as drafts.
	Outbox bool   `json:"outbox,omitempty"`
	Error  string `json:"error,omitempty"`
	// Concurrency is how many of the folder's segments the run let copy at once, each time it changed
	// (starting at 1): one more is tried while the folder gets faster with it. Empty when it was not cut.
	Concurrency []int `json:"concurrency,omitempty"`
}

// countOutbox sums what became of the outbox's messages from the folders' results.
func (r *Report) countOutbox() {
	for _, f := range r.Folders {
		if !f.Outbox {
			continue
		}
		if f.Target == "" {
			r.Totals.OutboxSkipped += f.Skipped
		} else {
			r.Totals.OutboxToDrafts += f.Copied + f.Duplicates
		}
	}
}

// asDraft adds \Draft to an unsent message's flags: it was never sent, and a draft is what clients show as
// such and never send by themselves.
func asDraft(flags []string) []string {
	for _, f := range flags {
		if strings.EqualFold(f, `\Draft`) {
			return flags
		}
	}
	return append(append([]string(nil), flags...), `\Draft`)
}

// FailedItem is one item that was not copied. Identity is the item's Message-ID, or its source position
// ("nid:0x200044", "uid:123") when it has none.
type FailedItem struct {
	Folder   string `json:"folder"`
	Identity string `json:"identity"`
	Subject  string `json:"subject,omitempty"`
	Reason   string `json:"reason"`
}

// ItemWarning is something about an item that was copied but not exactly (see convert.Result.Warnings).
type ItemWarning struct {
	Folder   string `json:"folder"`
	Identity string `json:"identity"`
	Warning  string `json:"warning"`
}

// WriteJSON writes the report.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
