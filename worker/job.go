package worker

import (
	"time"

	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
)

// Job is one migration: where from, where to, and how.
type Job struct {
	Source Source
	Target TargetSpec
	Rules  foldermap.Rules
	// Parallel is how many folders (or segments of folders, see KeepOrder) are copied at once, each on its
	// own target connection (default 4).
	Parallel int
	// KeepOrder copies every folder over one connection in source order, so that the target's UIDs follow
	// the source's order exactly. Without it, a folder that is larger than its share of the run (the items
	// of all folders over Parallel) and has at least 500 items is cut into contiguous segments that are
	// copied over several connections at once, so that the run does not end with one connection appending
	// the rest of a large folder while the others sit idle. Every message still lands exactly once with its
	// flags and internal date, and resuming after a crash stays exact (each segment keeps its own
	// checkpoint), but the target UIDs of such a folder follow the source order only within each segment:
	// a client that sorts by arrival (UID) shows the segments interleaved; sorting by date is unaffected.
	KeepOrder bool
	// Batch bounds one pipelined APPEND round: at most this many messages (default 32) …
	Batch int
	// … and this many bytes (default 4 MiB).
	BatchBytes int64
	// MaxMessageSize refuses larger messages (0: no limit of our own; the server's APPENDLIMIT applies too).
	MaxMessageSize int64
	// FailOnTooBig makes an oversized message fail the run instead of being skipped and reported.
	FailOnTooBig bool
	// MemoryPerMessage is how much of one converted message is held in memory before it is spooled to a
	// temporary file (default 256 KiB); SpoolDir is where (default os.TempDir()).
	MemoryPerMessage int
	SpoolDir         string
	// RateMessages and RateBytes, when set, bound the run's APPENDs over all connections (messages per
	// second, bytes per second), for servers that throttle.
	RateMessages float64
	RateBytes    int64
	// Checkpoints keeps per-folder progress across restarts; nil keeps none (the run is still idempotent).
	Checkpoints CheckpointStore
	// Retries is how many times in a row a folder is retried after transient errors (default 8), waiting
	// RetryBackoff (default 1 s) doubled each time up to 30 s, or what the server asked for.
	Retries      int
	RetryBackoff time.Duration
	// OnProgress receives progress at most once per ProgressInterval (default 1 s) and once at the end.
	OnProgress       func(Progress)
	ProgressInterval time.Duration
	// Metrics, when set, counts messages, bytes, errors and durations.
	Metrics Metrics
}

// TargetSpec is the target IMAP account.
type TargetSpec struct {
	Endpoint imapconn.Endpoint
	// Credentials serve the layout session and every bulk connection alike (a password, an OAuth 2.0
	// bearer token with Mechanism XOAUTH2/OAUTHBEARER, or admin impersonation).
	Credentials imapconn.Credentials
	// SpecialFolders are the groupware folders (Calendar, Contacts, …) items are routed to; they are created
	// where the target's namespace wants them when missing. Nil uses the default English names.
	SpecialFolders []imapsession.SpecialFolder
	// Placement of the special folders (imapsession.PlaceAuto unless the Mailbox says otherwise).
	Placement imapsession.Placement
	// Annotate writes Kolab folder-type annotations on the special folders.
	Annotate bool
}

func (j *Job) defaults() {
	if j.Parallel <= 0 {
		j.Parallel = 4
	}
	if j.Batch <= 0 {
		j.Batch = 32
	}
	if j.BatchBytes <= 0 {
		j.BatchBytes = 4 << 20
	}
	if j.MemoryPerMessage <= 0 {
		j.MemoryPerMessage = 256 << 10
	}
	if j.Retries <= 0 {
		j.Retries = 8
	}
	if j.RetryBackoff <= 0 {
		j.RetryBackoff = time.Second
	}
	if j.ProgressInterval <= 0 {
		j.ProgressInterval = time.Second
	}
	if j.Target.SpecialFolders == nil {
		j.Target.SpecialFolders = []imapsession.SpecialFolder{
			{Type: imapsession.FolderEvent, Name: "Calendar"}, {Type: imapsession.FolderContact, Name: "Contacts"},
			{Type: imapsession.FolderTask, Name: "Tasks"}, {Type: imapsession.FolderNote, Name: "Notes"}, {Type: imapsession.FolderJournal, Name: "Journal"},
		}
	}
}

// kindOfFolderType maps the Mailbox's special folder types to the item kinds routed to them.
var kindOfFolderType = map[imapsession.FolderType]groupware.Kind{
	imapsession.FolderEvent: groupware.KindEvent, imapsession.FolderContact: groupware.KindContact, imapsession.FolderTask: groupware.KindTask,
	imapsession.FolderNote: groupware.KindNote, imapsession.FolderJournal: groupware.KindJournal,
}
