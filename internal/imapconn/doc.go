// Package imapconn is an IMAP connection up to the authenticated state: the one place where mailshift
// dials a server, protects the connection (implicit TLS or STARTTLS, RFC 9051 §6.2.1 / RFC 8314), reads
// the greeting, logs in (SASL PLAIN, LOGIN, admin impersonation with Dovecot's master-user fallback,
// XOAUTH2, OAUTHBEARER, RFC 4422 / RFC 4616 / RFC 7628), reads the capabilities, classifies failures and
// removes secrets from them.
//
// Both IMAP front ends are built on it: internal/imapsession (go-imap v2, for general-purpose work) and
// internal/imapbulk (own protocol code for pipelined APPEND/FETCH). Each takes an authenticated Conn and
// goes on from there; neither authenticates by itself, so impersonation, SASL, redaction and error kinds
// exist once.
//
// Everything the server sends before the hand-off is bounded (MaxHandshakeBytes); the go-imap front end
// reads through BoundedReader afterwards, the bulk front end through its own parser's limits.
//
// The package has no Kubernetes imports.
package imapconn
