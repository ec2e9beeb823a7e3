package worker

import (
	"context"
	"io"
	"time"

	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/groupware"
)

// Source is where a migration reads from: a PST file or an IMAP account.
type Source interface {
	// Describe names the source for reports and logs, without secrets.
	Describe() string
	// Folders lists the folders to copy, parents before children.
	Folders(ctx context.Context) ([]SourceFolder, error)
	// Items calls fn for the items of span (the zero Span: the whole folder) in a stable order, starting
	// after what cp says was done with the span. An error from fn stops it and is returned. want tells which
	// items will be copied (not found on the target), so a source may read ahead exactly those.
	Items(ctx context.Context, f SourceFolder, span Span, cp FolderCheckpoint, want func(*Item) bool, fn func(*Item) error) error
	Close() error
}

// Span is a contiguous part of a folder in source order: the items whose key is at least From and, unless
// To is 0, below To. The key is the UID for an IMAP folder, the position (0-based) for a PST folder. The
// zero Span is the whole folder, including what is added to it later.
type Span struct {
	From uint32 `json:"from,omitempty"`
	To   uint32 `json:"to,omitempty"`
}

// Splitter is a source that can cut a folder into spans, so that a large folder can be copied over several
// connections at once (see Job.KeepOrder).
type Splitter interface {
	// Split cuts the folder into len(sizes) spans that follow each other and cover it: the first from its
	// beginning, the last (To 0) to its end, span i holding about sizes[i] items. It may return fewer spans
	// (one: the folder is not cut) when the folder is not what Folders saw.
	Split(ctx context.Context, f SourceFolder, sizes []int) ([]Span, error)
}

// SourceFolder is one folder of the source.
type SourceFolder struct {
	// Key names the folder in checkpoints and reports: its "/"-joined path.
	Key  string
	Path []string
	Kind groupware.Kind
	Role foldermap.Role
	// Default marks the source's default folder of its Kind (a Kolab "<type>.default" annotation): it maps
	// onto the account's folder of that kind before any other.
	Default bool
	// Count is how many items it holds (for progress); UIDValidity is the IMAP folder's (0 for PST).
	Count       int
	UIDValidity uint32
	// HighestModSeq is the IMAP folder's CONDSTORE state (0 when unknown).
	HighestModSeq uint64
}

// Item is one message to copy.
type Item struct {
	// Pos is the item's position in the order of the span being read (0-based; the span is the whole folder
	// unless the folder is copied in segments); UID its IMAP UID (0 for PST).
	Pos int
	UID uint32
	// Ref names the item in the source for reports ("nid:0x200044", "uid:17").
	Ref     string
	Subject string
	// Identity, when known before the body is read, lets a duplicate be skipped without reading it.
	Identity Identity
	// Kind is what the item is; a groupware item found in a mail folder goes to its special folder.
	Kind  groupware.Kind
	Flags []string
	Date  time.Time
	// Write writes the message (RFC 5322). What it learns while writing (flags, date, warnings about what
	// was not carried over exactly) comes back in the result; nil keeps Flags and Date.
	Write func(w io.Writer) (*Written, error)
	// ReadErr, when set, is why the item could not be read at all: it is reported as failed.
	ReadErr error
	// body, when set, is the message already read (prefetched by the source); the engine takes it over
	// (sets it to nil) instead of calling Write.
	body *spool
	// size is the message's size as the source gave it before its body was read (0 when unknown): it
	// bounds how many bodies are read ahead at once.
	size int64
}

// FlagSource is a source whose messages' flags can change after they were copied (an IMAP account): a
// delta pass carries the changes over.
type FlagSource interface {
	// FlagChanges returns the identities and current flags of the folder's messages up to cp.LastUID
	// whose flags may have changed since cp was complete: those with a mod-sequence above
	// cp.HighestModSeq where the server offers CONDSTORE, all of them otherwise.
	FlagChanges(ctx context.Context, sf SourceFolder, cp FolderCheckpoint) ([]FlagChange, error)
}

// FlagChange is one source message's identity and flags.
type FlagChange struct {
	Identity Identity
	// UID is the message's source UID (0 when the source has none): the delta pass compares its flags with
	// those the last pass saw under it.
	UID   uint32
	Flags []string
}

// Written is what writing an item found out.
type Written struct {
	Flags    []string
	Date     time.Time
	Kind     groupware.Kind
	Identity Identity
	Warnings []string
}
