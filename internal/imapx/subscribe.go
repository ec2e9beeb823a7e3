package imapx

import (
	"context"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Unsubscribe removes a mailbox from the user's subscriptions; servers accept it for mailboxes that no
// longer exist.
func (s *Session) Unsubscribe(ctx context.Context, mailbox string) error {
	return s.do(ctx, "UNSUBSCRIBE "+mailbox, func(c *imapclient.Client) error {
		return c.Unsubscribe(mailbox).Wait()
	})
}

// IsSubscribed reports whether the user is subscribed to mailbox, whether or not it exists (LIST
// (SUBSCRIBED), RFC 5258). go-imap v2 has no LSUB, so servers with neither LIST-EXTENDED nor IMAP4rev2
// get NotSupported.
func (s *Session) IsSubscribed(ctx context.Context, mailbox string) (bool, error) {
	op := `LIST (SUBSCRIBED) "" ` + mailbox
	if !s.Has("LIST-EXTENDED") && !s.Has("IMAP4rev2") {
		return false, s.need(op, "LIST-EXTENDED")
	}
	found := false
	err := s.do(ctx, op, func(c *imapclient.Client) error {
		// The name is the pattern: wildcards in it can only widen the answer, which is filtered below.
		list, err := c.List("", mailbox, &imap.ListOptions{SelectSubscribed: true}).Collect()
		if err != nil {
			return err
		}
		for _, d := range list {
			if d.Mailbox == mailbox {
				found = true
			}
		}
		return nil
	})
	return found, err
}

// OtherUsersMailbox returns the name under which the session's user sees owner's folder in the other
// users' namespace: "shared/alice/Calendar" on Dovecot, "Other Users/alice/Calendar" on Cyrus,
// "user.alice.Calendar" on legacy Cyrus. folder is the name as the owner sees it. The name is built from
// NAMESPACE (the owner's personal prefix taken off, the other users' prefix, the owner and the server's
// separator put on) and confirmed with LIST. The owner's INBOX is the owner's own node on both servers
// ("shared/alice", "Other Users/alice"); that node also exists, not selectable, as the parent of the
// owner's other folders, so for INBOX only a selectable node counts. NotFound when the user does not see
// the folder (no lookup right yet, or a server that names it otherwise); NotSupported when the server
// announces no other users' namespace.
func (s *Session) OtherUsersMailbox(ctx context.Context, owner, folder string) (string, error) {
	op := "find " + owner + "'s " + folder
	ns, err := s.Namespaces(ctx)
	if err != nil {
		return "", err
	}
	if len(ns.Other) == 0 {
		return "", newError(NotSupported, op, "the server announces no other users' namespace (NAMESPACE)")
	}
	inbox := strings.EqualFold(folder, "INBOX")
	var tried []string
	for _, other := range ns.Other {
		for _, name := range otherUsersCandidates(ns, other, owner, folder) {
			tried = append(tried, name)
			found, selectable, err := s.exists(ctx, name)
			if err != nil {
				return "", err
			}
			if found && (selectable || !inbox) {
				return name, nil
			}
		}
	}
	return "", newError(NotFound, op, "%s does not see it (looked for %s)", s.login, strings.Join(tried, ", "))
}

// otherUsersCandidates are the names owner's folder may have in another user's view, most likely first.
func otherUsersCandidates(ns Namespaces, other Namespace, owner, folder string) []string {
	base := other.Prefix + owner
	if strings.EqualFold(folder, "INBOX") {
		return []string{base, base + string(other.Delim) + "INBOX"}
	}
	rel := folder
	personalDelim := other.Delim
	for _, p := range ns.Personal {
		if p.Prefix != "" && strings.HasPrefix(folder, p.Prefix) {
			rel = folder[len(p.Prefix):]
			personalDelim = p.Delim
			break
		}
		if p.Prefix == "" {
			personalDelim = p.Delim
		}
	}
	if other.Delim == 0 {
		return nil // a flat namespace has no place for another user's folders
	}
	if personalDelim != 0 && personalDelim != other.Delim {
		rel = strings.ReplaceAll(rel, string(personalDelim), string(other.Delim))
	}
	return []string{base + string(other.Delim) + rel}
}

// exists reports whether LIST shows the mailbox, and whether it can be selected.
func (s *Session) exists(ctx context.Context, mailbox string) (found, selectable bool, err error) {
	err = s.do(ctx, `LIST "" `+mailbox, func(c *imapclient.Client) error {
		list, err := c.List("", mailbox, nil).Collect()
		if err != nil {
			return err
		}
		for _, d := range list {
			if d.Mailbox == mailbox && !hasAttr(d.Attrs, `\NonExistent`) {
				found, selectable = true, !hasAttr(d.Attrs, `\Noselect`)
			}
		}
		return nil
	})
	return found, selectable, err
}

func hasAttr(attrs []imap.MailboxAttr, want string) bool {
	for _, a := range attrs {
		if strings.EqualFold(string(a), want) {
			return true
		}
	}
	return false
}
