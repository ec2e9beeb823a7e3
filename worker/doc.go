// Package worker is the migration engine that mailshift's worker Jobs run, and that `mailshift migrate` runs
// from the command line: it copies every folder and message of a source (a PST file or an IMAP account) into
// a target IMAP account.
//
// A run is idempotent: before copying a folder it reads the identity of every message already in the target
// folder (one FETCH of a few header fields for the whole folder) and copies only what is missing, so a re-run
// appends nothing and a run killed at any point resumes without duplicating. Per-folder checkpoints let a
// resumed run skip what it already read; they are an optimisation, never what prevents duplicates.
//
// Folders are copied in parallel, one connection per folder, with pipelined APPENDs; each connection appends
// one batch while the next is read and converted. A folder much larger than the others is cut into
// contiguous segments that may be copied over several connections at once, so that the run does not end
// with one connection appending the rest of it alone (Job.KeepOrder keeps every folder on one connection,
// in source order). One more of a folder's segments is started only while that made the folder faster:
// concurrent APPENDs into one mailbox are cheap on some storage formats and expensive on others. Bodies are streamed: a message is held in memory only up to a bound and spooled to a temporary
// file beyond it.
package worker
