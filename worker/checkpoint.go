package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"

	"github.com/mailshift/mailshift/internal/atomicfile"
)

// FolderCheckpoint is how far a run got with one source folder.
type FolderCheckpoint struct {
	// Done is how many items of the folder, in source order, were dealt with (copied, found on the target,
	// or reported as failed). A PST folder is read in contents-table order.
	Done int `json:"done"`
	// LastUID is the highest source UID dealt with (IMAP sources), valid while SourceUIDValidity holds.
	LastUID           uint32 `json:"lastUid,omitempty"`
	SourceUIDValidity uint32 `json:"sourceUidValidity,omitempty"`
	// HighestModSeq is the source folder's HIGHESTMODSEQ when it was last complete: a delta pass asks for
	// flag changes since then (CONDSTORE).
	HighestModSeq uint64 `json:"highestModSeq,omitempty"`
	Target        string `json:"target"`
	// Complete says the folder was copied to the end (by the last complete pass: a later pass that was cut
	// short leaves it set, with the progress of that pass in Done and LastUID).
	Complete bool `json:"complete"`
	// Segments, when the folder is copied in segments over several connections at once, are their spans and
	// progress, in source order; Done is then their sum and LastUID their highest.
	Segments []SegmentCheckpoint `json:"segments,omitempty"`
	// Targets are the target mailboxes the folder's messages went to, as this entry last saw them. The entry
	// is a hint, believed only while every one of them is still the mailbox it was made against (the same
	// UIDVALIDITY, at least as many messages): a target that was emptied, rebuilt or replaced by a fresh
	// server makes the folder be checked message by message again.
	Targets []TargetCheck `json:"targets,omitempty"`
	// SourceFlags are the flags of the source messages as the last complete pass saw them (IMAP sources): a
	// delta pass carries over only what changed on the source since, so flags set on the target stay.
	SourceFlags *FlagState `json:"sourceFlags,omitempty"`
}

// TargetCheck is what a checkpoint recorded of one target mailbox.
type TargetCheck struct {
	Mailbox     string `json:"mailbox"`
	UIDValidity uint32 `json:"uidValidity"`
	// Messages is how many messages it held as far as the run knew (those it found plus those it stored).
	Messages uint32 `json:"messages"`
}

// SegmentCheckpoint is how far a run got with one segment of a folder. The spans are chosen when the folder
// is first copied and kept until it is complete, so that a resumed run cuts it the same way.
type SegmentCheckpoint struct {
	Span
	// Items is how many items the segment held when it was cut (for the order in which work starts).
	Items int `json:"items"`
	// Done is how many of its items, in source order, were dealt with; LastUID the highest UID dealt with.
	Done    int    `json:"done"`
	LastUID uint32 `json:"lastUid,omitempty"`
	// Complete says the segment was copied to its end.
	Complete bool `json:"complete,omitempty"`
}

// Checkpoint is a run's memory across restarts.
type Checkpoint struct {
	Version int `json:"version"`
	// Job names the source and target it belongs to; a checkpoint of another job is not used.
	Job     string                       `json:"job"`
	Folders map[string]*FolderCheckpoint `json:"folders"`
	// InFlight are the target mailboxes a run may have sent APPENDs to that it did not see answered: set
	// before the first APPEND to a mailbox, cleared when a run ends with every APPEND answered. A run that
	// finds one set waits for the mailbox to settle (the server may still be storing what a killed run had
	// sent) before it looks at what the mailbox holds.
	InFlight []string `json:"inFlight,omitempty"`
}

// checkpointVersion 2 added segments. A version-1 checkpoint reads as one without (the same meaning); a
// program that knows only version 1 ignores a version-2 checkpoint and starts over, matching by identity.
const checkpointVersion = 2

// CheckpointStore keeps a run's checkpoint. Save must be atomic: after a crash, Load returns either the
// previous checkpoint or the new one, never a mixture.
type CheckpointStore interface {
	Load(ctx context.Context) (*Checkpoint, error) // nil, nil when there is none yet
	Save(ctx context.Context, c *Checkpoint) error
}

// FileCheckpoint keeps the checkpoint in a JSON file, replaced atomically (write, fsync, rename, fsync the
// directory).
type FileCheckpoint struct{ Path string }

func (f FileCheckpoint) Load(ctx context.Context) (*Checkpoint, error) {
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("checkpoint %s is damaged (%v); delete it to start over: the target is checked message by message, so nothing is copied twice", f.Path, err)
	}
	return &c, nil
}

func (f FileCheckpoint) Save(ctx context.Context, c *Checkpoint) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(f.Path, b, 0o600); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// checkpoints is the run's checkpoint shared by the folder workers.
type checkpoints struct {
	mu    sync.Mutex
	store CheckpointStore
	cp    *Checkpoint
	// marksStored says the stored checkpoint may still hold InFlight marks that were taken in memory.
	marksStored bool
}

func (c *checkpoints) folder(key string) FolderCheckpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fc := c.cp.Folders[key]; fc != nil {
		return *fc
	}
	return FolderCheckpoint{}
}

// update changes one folder's entry and saves the whole checkpoint.
func (c *checkpoints) update(ctx context.Context, key string, fn func(*FolderCheckpoint)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	fc := c.cp.Folders[key]
	if fc == nil {
		fc = &FolderCheckpoint{}
		c.cp.Folders[key] = fc
	}
	fn(fc)
	if c.store == nil {
		return nil
	}
	return c.store.Save(ctx, c.cp)
}

// set replaces one folder's entry in memory; it is saved with the next update.
func (c *checkpoints) set(key string, fc FolderCheckpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cp.Folders[key] = &fc
}

// progress is where one unit of a folder stands: the folder's own Done and LastUID when it is not split
// (seg < 0), its segment's when it is.
func (c *checkpoints) progress(key string, seg int) FolderCheckpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	fc := c.cp.Folders[key]
	switch {
	case fc == nil:
		return FolderCheckpoint{}
	case seg < 0:
		return FolderCheckpoint{Done: fc.Done, LastUID: fc.LastUID}
	case seg < len(fc.Segments):
		return FolderCheckpoint{Done: fc.Segments[seg].Done, LastUID: fc.Segments[seg].LastUID, Complete: fc.Segments[seg].Complete}
	}
	return FolderCheckpoint{}
}

// flusher is a store that coalesces writes (the operator's ConfigMap): a mark that must be durable before
// an APPEND is sent is flushed at once.
type flusher interface {
	Flush(ctx context.Context) error
}

// markInFlight records durably, before the first APPEND of this run to a mailbox, that APPENDs to it may be
// under way. One save marks many.
func (c *checkpoints) markInFlight(ctx context.Context, mailboxes ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	added := false
	for _, m := range mailboxes {
		if !slices.Contains(c.cp.InFlight, m) {
			c.cp.InFlight = append(c.cp.InFlight, m)
			added = true
		}
	}
	if !added || c.store == nil {
		return nil
	}
	if err := c.store.Save(ctx, c.cp); err != nil {
		return err
	}
	if f, ok := c.store.(flusher); ok {
		return f.Flush(ctx)
	}
	return nil
}

// takeInFlight returns the marks an earlier run left and forgets them in memory: the caller settles those
// mailboxes first. They stay in the stored checkpoint until the next save, so a run killed before it saved
// anything settles them again.
func (c *checkpoints) takeInFlight() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	marks := c.cp.InFlight
	c.cp.InFlight = nil
	c.marksStored = c.marksStored || len(marks) > 0
	return marks
}

// clearInFlight saves the checkpoint without marks: every APPEND of the run was answered.
func (c *checkpoints) clearInFlight(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cp.InFlight) == 0 && !c.marksStored {
		return nil
	}
	c.cp.InFlight = nil
	if c.store == nil {
		return nil
	}
	if err := c.store.Save(ctx, c.cp); err != nil {
		return err
	}
	c.marksStored = false
	return nil
}
