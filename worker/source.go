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
	// Items calls fn for the folder's items in a stable order, starting after what cp says was done. An
	// error from fn stops it and is returned. want tells which items will be copied (not found on the
	// target), so a source may read ahead exactly those.
	Items(ctx context.Context, f SourceFolder, cp FolderCheckpoint, want func(*Item) bool, fn func(*Item) error) error
	Close() error
}

// SourceFolder is one folder of the source.
type SourceFolder struct {
	// Key names the folder in checkpoints and reports: its "/"-joined path.
	Key  string
	Path []string
	Kind groupware.Kind
	Role foldermap.Role
	// Count is how many items it holds (for progress); UIDValidity is the IMAP folder's (0 for PST).
	Count       int
	UIDValidity uint32
	// HighestModSeq is the IMAP folder's CONDSTORE state (0 when unknown).
	HighestModSeq uint64
}

// Item is one message to copy.
type Item struct {
	// Pos is the item's position in the folder's order (0-based); UID its IMAP UID (0 for PST).
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
	Flags    []string
}

// Written is what writing an item found out.
type Written struct {
	Flags    []string
	Date     time.Time
	Kind     groupware.Kind
	Identity Identity
	Warnings []string
}
