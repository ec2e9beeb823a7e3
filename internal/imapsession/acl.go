package imapsession

import (
	"strings"

	"context"
	"github.com/mailshift/mailshift/internal/imapconn"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailshift/mailshift/internal/acl"
)

// GetACL returns a mailbox's ACL (GETACL) as sets, normalised with
// acl.ParseLetters: compare them as sets, servers reorder letters and report
// the virtual c and d. Entries with no rights at all are kept, as empty
// sets: Dovecot stores them after SETACL id "" and they are not the same as
// no entry (Diff in exact mode removes them with DELETEACL).
// Non-owners without the a right get PermissionDenied.
func (s *Session) GetACL(ctx context.Context, mailbox string) (map[string]acl.Set, error) {
	op := "GETACL " + mailbox
	if err := s.need(op, "ACL"); err != nil {
		return nil, err
	}
	out := map[string]acl.Set{}
	err := s.do(ctx, op, func(c *imapclient.Client) error {
		data, err := c.GetACL(mailbox).Wait()
		if err != nil {
			return err
		}
		for id, rs := range data.Rights {
			out[string(id)] = acl.ParseLetters(string(rs))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetACL replaces identifier's rights on mailbox (SETACL without +/-). The
// set is sent in the server's dialect (acl.Set.Wire with RIGHTS=): RFC
// 2086-only servers get c and d. An empty set deletes the entry.
func (s *Session) SetACL(ctx context.Context, mailbox, identifier string, rights acl.Set) error {
	if rights.IsEmpty() {
		return s.DeleteACL(ctx, mailbox, identifier)
	}
	op := "SETACL " + mailbox + " " + identifier
	if err := s.need(op, "ACL"); err != nil {
		return err
	}
	if identifier == "" {
		return newError(imapconn.ProtocolError, op, "empty identifier")
	}
	wire := rights.Wire(s.RightsCapability())
	return s.do(ctx, op, func(c *imapclient.Client) error {
		return c.SetACL(mailbox, imap.RightsIdentifier(identifier), imap.RightModificationReplace, imap.RightSet(wire)).Wait()
	})
}

// DeleteACL removes identifier's entry from mailbox's ACL with a real
// DELETEACL (RFC 4314 §3.2). go-imap v2 lacks the command; it is sent on the
// session's own connection through rawCmdConn (see wire.go for why, and why
// SETACL with empty rights is not a substitute). Removing an identifier that
// has no entry succeeds on Dovecot and Cyrus.
func (s *Session) DeleteACL(ctx context.Context, mailbox, identifier string) error {
	op := "DELETEACL " + mailbox + " " + identifier
	if err := s.need(op, "ACL"); err != nil {
		return err
	}
	if identifier == "" {
		return newError(imapconn.ProtocolError, op, "empty identifier")
	}
	mb, err := mailboxArg(mailbox)
	if err != nil {
		return &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: err}
	}
	id, err := quoteArg(identifier)
	if err != nil {
		return &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: err}
	}
	return s.raw(ctx, op, "DELETEACL "+mb+" "+id)
}

// MyRights returns the session user's rights on a mailbox (MYRIGHTS).
func (s *Session) MyRights(ctx context.Context, mailbox string) (acl.Set, error) {
	op := "MYRIGHTS " + mailbox
	if err := s.need(op, "ACL"); err != nil {
		return acl.Set{}, err
	}
	var set acl.Set
	err := s.do(ctx, op, func(c *imapclient.Client) error {
		data, err := c.MyRights(mailbox).Wait()
		if err != nil {
			return err
		}
		set = acl.ParseLetters(string(data.Rights))
		return nil
	})
	return set, err
}

// ListRights returns the rights identifier can be granted on mailbox (LISTRIGHTS, RFC 4314 §3.7):
// those it always has, and the groups of rights that can be granted only together. go-imap v2 lacks the
// command; it travels the raw path.
func (s *Session) ListRights(ctx context.Context, mailbox, identifier string) (required acl.Set, optional []acl.Set, err error) {
	op := "LISTRIGHTS " + mailbox + " " + identifier
	if err := s.need(op, "ACL"); err != nil {
		return acl.Set{}, nil, err
	}
	if identifier == "" {
		return acl.Set{}, nil, newError(imapconn.ProtocolError, op, "empty identifier")
	}
	mb, err := mailboxArg(mailbox)
	if err != nil {
		return acl.Set{}, nil, &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: err}
	}
	id, err := quoteArg(identifier)
	if err != nil {
		return acl.Set{}, nil, &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: err}
	}
	got, err := s.rawCapture(ctx, op, "LISTRIGHTS "+mb+" "+id)
	if err != nil {
		return acl.Set{}, nil, err
	}
	found := false
	for _, resp := range got {
		items, perr := parseItems(resp)
		if perr != nil {
			return acl.Set{}, nil, s.badResponse(op, perr)
		}
		if len(items) < 4 || !strings.EqualFold(items[0].atom, "LISTRIGHTS") {
			continue
		}
		found = true
		required = acl.ParseLetters(items[3].text())
		for _, it := range items[4:] {
			optional = append(optional, acl.ParseLetters(it.text()))
		}
	}
	if !found {
		return acl.Set{}, nil, newError(imapconn.ProtocolError, op, "the server sent no LISTRIGHTS response")
	}
	return required, optional, nil
}
