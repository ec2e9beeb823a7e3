package imapsession

import (
	"sort"

	"context"
	"strings"

	"github.com/mailshift/mailshift/internal/imapconn"

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
		return "", newError(imapconn.NotSupported, op, "the server announces no other users' namespace (NAMESPACE)")
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
	return "", newError(imapconn.NotFound, op, "%s does not see it (looked for %s)", s.login, strings.Join(tried, ", "))
}

// otherUsersCandidates are the names owner's folder may have in another user's view, most likely first.
func otherUsersCandidates(ns imapconn.Namespaces, other imapconn.Namespace, owner, folder string) []string {
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

// SubscribedFolders lists the subscribed mailboxes matching pattern (LIST (SUBSCRIBED) "" pattern, RFC
// 5258 §3.1), including subscriptions to mailboxes that no longer exist (\NonExistent), sorted.
func (s *Session) SubscribedFolders(ctx context.Context, pattern string) ([]imapconn.Folder, error) {
	op := `LIST (SUBSCRIBED) "" ` + pattern
	if !s.Has("LIST-EXTENDED") {
		return nil, s.need(op, "LIST-EXTENDED")
	}
	return s.listWith(ctx, op, pattern, &imap.ListOptions{SelectSubscribed: true})
}

// LSub lists the subscribed mailboxes matching pattern with the IMAP4rev1 command LSUB (RFC 3501
// §6.3.9), for servers without LIST-EXTENDED; sorted. go-imap v2 lacks the command; it travels the raw
// path. A subscribed mailbox that does not exist shows as \Noselect.
func (s *Session) LSub(ctx context.Context, pattern string) ([]imapconn.Folder, error) {
	op := `LSUB "" ` + pattern
	pat, err := quoteArg(imapconn.EncodeUTF7(pattern))
	if err != nil {
		return nil, &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: err}
	}
	got, err := s.rawCapture(ctx, op, `LSUB "" `+pat)
	if err != nil {
		return nil, err
	}
	var out []imapconn.Folder
	for _, resp := range got {
		items, perr := parseItems(resp)
		if perr != nil {
			return nil, s.badResponse(op, perr)
		}
		if len(items) < 4 || !strings.EqualFold(items[0].atom, "LSUB") || !items[1].isList {
			continue
		}
		f := imapconn.Folder{Name: imapconn.DecodeUTF7OrSame(items[3].text()), Messages: -1}
		if d := items[2].text(); len(d) == 1 {
			f.Delim = rune(d[0])
		}
		for _, a := range items[1].list {
			f.Attrs = append(f.Attrs, a.atom)
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
