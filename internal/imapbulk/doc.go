// Package imapbulk is mailshift's lean IMAP client for bulk transfer: the
// hot path of a migration, where hundreds of messages a second are
// appended to, or read from, one mailbox.
//
// go-imap v2, which package imapsession builds on for everything else, sends
// every APPEND body over 4 KiB as a synchronizing literal (one round trip
// per message), has no MULTIAPPEND and holds bodies in memory. This package
// takes over an authenticated connection from package imapconn (so TLS,
// STARTTLS, certificate checks, SASL, impersonation, error kinds and
// redaction are the very same code) and speaks the few commands bulk
// transfer needs:
//
//   - Append pipelines APPENDs with non-synchronizing literals (RFC 7888
//     LITERAL+ / LITERAL-), a bounded window of unanswered commands and a
//     bounded write buffer; optionally batches with MULTIAPPEND (RFC 3502);
//     reports APPENDUID (RFC 4315 UIDPLUS); checks APPENDLIMIT (RFC 7889)
//     before sending; and streams bodies without holding them.
//   - FetchIdentities reads the identity of every message of a folder
//     (UID, flags, INTERNALDATE, size, Message-ID, MODSEQ) in one UID
//     FETCH, optionally only what changed (RFC 7162 CONDSTORE).
//   - FetchMessage streams BODY[] into an io.Writer.
//   - Select, Status, List, Create, Namespaces, UIDSearch, Store.
//
// Authentication is imapconn's (PLAIN, LOGIN, admin impersonation, XOAUTH2,
// OAUTHBEARER), with its one imapconn.Credentials type. Secrets never appear in
// errors: server texts are scrubbed with the connection's imapconn secrets.
//
// Every error is an *imapconn.Error with an imapconn.Kind; what the engine must
// branch on is wrapped inside: *ThrottledError, ErrUnavailable, ErrTooBig,
// ErrTryCreate, ErrOverQuota, ErrConnectionLost (see IsTransient).
//
// Every method takes a context. When it ends, the connection is closed
// (the only way to interrupt a blocked read), the method returns a Timeout
// error and the Conn is unusable. Every read and write also has its own
// deadline (SetIOTimeout). The response parser is bounded in line length,
// literal size, nesting and the memory its parsed values take (each is
// charged its size against the response limit; SEARCH results are kept as
// plain numbers), and never panics on any input.
//
// The package has no Kubernetes imports.
package imapbulk
