// Package imapbulk is mailshift's lean IMAP client for bulk transfer: the
// hot path of a migration, where hundreds of messages a second are
// appended to, or read from, one mailbox.
//
// go-imap v2, which package imapx builds on for everything else, sends
// every APPEND body over 4 KiB as a synchronizing literal (one round trip
// per message), has no MULTIAPPEND and holds bodies in memory. This package
// owns its connection instead (set up by imapx.DialPlain, so TLS, STARTTLS
// and certificate checks are the same) and speaks the few commands bulk
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
// Authentication mirrors imapx (PLAIN, LOGIN, admin impersonation) and adds
// XOAUTH2 and OAUTHBEARER (RFC 7628). Secrets never appear in errors.
//
// Every error is an *imapx.Error with an imapx.Kind; what the engine must
// branch on is wrapped inside: *ThrottledError, ErrUnavailable, ErrTooBig,
// ErrTryCreate, ErrOverQuota, ErrConnectionLost (see IsTransient).
//
// Every method takes a context. When it ends, the connection is closed
// (the only way to interrupt a blocked read), the method returns a Timeout
// error and the Conn is unusable. Every read and write also has its own
// deadline (SetIOTimeout). The response parser is bounded in line length,
// literal size and nesting, and never panics on any input.
//
// The package has no Kubernetes imports.
package imapbulk
