package imapsession

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/mailshift/mailshift/internal/imapconn"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Capabilities returns the post-authentication capabilities, sorted, upper case except
// IMAP4rev1/IMAP4rev2 (see imapconn.Caps).
func (s *Session) Capabilities() []string { return s.caps.List() }

// Has reports whether the server advertised a capability (case-insensitive; implied capabilities such
// as LITERAL- by LITERAL+ count, see imapconn.Caps.Has).
func (s *Session) Has(capability string) bool { return s.caps.Has(capability) }

// RightsCapability returns the value of the RIGHTS= capability in lower
// case ("texk" on Dovecot, "kxten" on Cyrus), "" when absent (an RFC
// 2086-only server, or no ACL support at all: see Has("ACL")).
func (s *Session) RightsCapability() string {
	v, _ := s.caps.Value("RIGHTS")
	return strings.ToLower(v)
}

func (s *Session) need(op, capability string) error {
	if s.Has(capability) {
		return nil
	}
	return &imapconn.Error{Kind: imapconn.NotSupported, Op: op, Err: errors.Join(imapconn.ErrNotSupported, errors.New(capability))}
}

// ID exchanges RFC 2971 identification and returns the server's fields
// (name, version, vendor, os, ...). nil and no error when the server does
// not support ID. go-imap only keeps the standard fields; others are lost.
func (s *Session) ID(ctx context.Context) (map[string]string, error) {
	if !s.Has("ID") {
		return nil, nil
	}
	var data *imap.IDData
	err := s.do(ctx, "ID", func(c *imapclient.Client) error {
		var err error
		data, err = c.ID(&imap.IDData{Name: "mailshift", Vendor: "mailshift"}).Wait()
		return err
	})
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for k, v := range map[string]string{
		"name": data.Name, "version": data.Version, "os": data.OS, "os-version": data.OSVersion,
		"vendor": data.Vendor, "support-url": data.SupportURL, "address": data.Address, "date": data.Date,
		"command": data.Command, "arguments": data.Arguments, "environment": data.Environment,
	} {
		if v != "" {
			m[k] = v
		}
	}
	return m, nil
}

// Namespaces returns the server's NAMESPACE. Without NAMESPACE support it
// returns one personal namespace with an empty prefix and the delimiter from
// LIST "" "".
func (s *Session) Namespaces(ctx context.Context) (imapconn.Namespaces, error) {
	s.mu.Lock()
	cached := s.ns
	s.mu.Unlock()
	if cached != nil {
		return *cached, nil
	}
	var ns imapconn.Namespaces
	var err error
	if s.Has("NAMESPACE") {
		err = s.do(ctx, "NAMESPACE", func(c *imapclient.Client) error {
			data, err := c.Namespace().Wait()
			if err != nil {
				return err
			}
			conv := func(in []imap.NamespaceDescriptor) []imapconn.Namespace {
				var out []imapconn.Namespace
				for _, d := range in {
					out = append(out, imapconn.Namespace{Prefix: imapconn.DecodeUTF7OrSame(d.Prefix), Delim: d.Delim})
				}
				return out
			}
			ns = imapconn.Namespaces{Personal: conv(data.Personal), Other: conv(data.Other), Shared: conv(data.Shared)}
			return nil
		})
	} else {
		err = s.do(ctx, `LIST "" ""`, func(c *imapclient.Client) error {
			list, err := c.List("", "", nil).Collect()
			if err != nil {
				return err
			}
			var delim rune = '/'
			if len(list) > 0 {
				delim = list[0].Delim
			}
			ns = imapconn.Namespaces{Personal: []imapconn.Namespace{{Prefix: "", Delim: delim}}}
			return nil
		})
	}
	if err != nil {
		return imapconn.Namespaces{}, err
	}
	s.mu.Lock()
	s.ns = &ns
	s.mu.Unlock()
	return ns, nil
}

// QuotaResource is one resource of a quota root (RFC 9208). STORAGE is in
// KiB, MESSAGE in messages.
type QuotaResource struct {
	Root  string
	Name  string // "STORAGE", "MESSAGE", ...
	Usage int64
	Limit int64
}

// Quota returns the quota of INBOX's quota roots (GETQUOTAROOT INBOX),
// sorted by root and resource. Empty, without error, when the server does
// not support QUOTA or INBOX has no quota root.
func (s *Session) Quota(ctx context.Context) ([]QuotaResource, error) {
	if !s.Has("QUOTA") {
		return nil, nil
	}
	var out []QuotaResource
	err := s.do(ctx, "GETQUOTAROOT INBOX", func(c *imapclient.Client) error {
		data, err := c.GetQuotaRoot("INBOX").Wait()
		if err != nil {
			return err
		}
		for _, q := range data {
			for name, r := range q.Resources {
				out = append(out, QuotaResource{Root: q.Root, Name: string(name), Usage: r.Usage, Limit: r.Limit})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Root != out[j].Root {
			return out[i].Root < out[j].Root
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

var specialUseAttrs = map[string]string{
	`\all`: `\All`, `\archive`: `\Archive`, `\drafts`: `\Drafts`, `\flagged`: `\Flagged`,
	`\junk`: `\Junk`, `\sent`: `\Sent`, `\trash`: `\Trash`, `\important`: `\Important`,
}

func folderFromList(d *imap.ListData) imapconn.Folder {
	f := imapconn.Folder{Name: d.Mailbox, Delim: d.Delim, Messages: -1}
	for _, a := range d.Attrs {
		f.Attrs = append(f.Attrs, string(a))
		if su, ok := specialUseAttrs[strings.ToLower(string(a))]; ok && f.SpecialUse == "" {
			f.SpecialUse = su
		}
	}
	if d.Status != nil && d.Status.NumMessages != nil {
		f.Messages = int64(*d.Status.NumMessages)
	}
	return f
}

// Folders lists every mailbox the user can see (LIST "" "*"), including
// other users' and shared folders, with special-use attributes (RETURN
// (SPECIAL-USE) when the server supports SPECIAL-USE and LIST-EXTENDED),
// sorted by name.
func (s *Session) Folders(ctx context.Context) ([]imapconn.Folder, error) {
	return s.list(ctx, nil)
}

func (s *Session) list(ctx context.Context, status *imap.StatusOptions) ([]imapconn.Folder, error) {
	opts := &imap.ListOptions{}
	if s.Has("SPECIAL-USE") && s.Has("LIST-EXTENDED") {
		opts.ReturnSpecialUse = true
	}
	if status != nil {
		opts.ReturnStatus = status
	}
	return s.listWith(ctx, `LIST "" "*"`, "*", opts)
}

// listWith runs one LIST for pattern with opts and returns the folders sorted by name.
func (s *Session) listWith(ctx context.Context, op, pattern string, opts *imap.ListOptions) ([]imapconn.Folder, error) {
	var out []imapconn.Folder
	err := s.do(ctx, op, func(c *imapclient.Client) error {
		list, err := c.List("", pattern, opts).Collect()
		if err != nil {
			return err
		}
		for _, d := range list {
			out = append(out, folderFromList(d))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// PersonalFolders is Folders restricted to the personal namespace.
func (s *Session) PersonalFolders(ctx context.Context) ([]imapconn.Folder, error) {
	ns, err := s.Namespaces(ctx)
	if err != nil {
		return nil, err
	}
	all, err := s.Folders(ctx)
	if err != nil {
		return nil, err
	}
	var out []imapconn.Folder
	for _, f := range all {
		if ns.IsPersonal(f.Name) {
			out = append(out, f)
		}
	}
	return out, nil
}

// Count returns the number of folders in the personal namespace and the
// number of messages in its selectable ones. It uses LIST-STATUS (one round
// trip) when supported, otherwise pipelined STATUS (MESSAGES) commands.
// Other users' and shared folders are not counted.
func (s *Session) Count(ctx context.Context) (folders int, messages int64, err error) {
	return s.count(ctx, s.Has("LIST-STATUS") || s.Has("IMAP4rev2"))
}

func (s *Session) count(ctx context.Context, listStatus bool) (folders int, messages int64, err error) {
	ns, err := s.Namespaces(ctx)
	if err != nil {
		return 0, 0, err
	}
	var list []imapconn.Folder
	if listStatus {
		list, err = s.list(ctx, &imap.StatusOptions{NumMessages: true})
	} else {
		list, err = s.list(ctx, nil)
	}
	if err != nil {
		return 0, 0, err
	}
	var pending []string
	for _, f := range list {
		if !ns.IsPersonal(f.Name) {
			continue
		}
		folders++
		if !f.Selectable() {
			continue
		}
		if f.Messages >= 0 {
			messages += f.Messages
		} else {
			pending = append(pending, f.Name)
		}
	}
	if len(pending) == 0 {
		return folders, messages, nil
	}
	err = s.do(ctx, "STATUS", func(c *imapclient.Client) error {
		cmds := make([]*imapclient.StatusCommand, len(pending))
		for i, name := range pending {
			cmds[i] = c.Status(name, &imap.StatusOptions{NumMessages: true})
		}
		var firstErr error
		for i, cmd := range cmds {
			data, err := cmd.Wait()
			if err != nil {
				// A folder deleted meanwhile is not worth failing for.
				if classify(err, phaseCommand) == imapconn.NotFound {
					continue
				}
				if firstErr == nil {
					firstErr = wrap("STATUS "+pending[i], phaseCommand, err)
				}
				continue
			}
			if data.NumMessages != nil {
				messages += int64(*data.NumMessages)
			}
		}
		return firstErr
	})
	if err != nil {
		return 0, 0, err
	}
	return folders, messages, nil
}

// Subscribe subscribes the user to a mailbox.
func (s *Session) Subscribe(ctx context.Context, mailbox string) error {
	return s.do(ctx, "SUBSCRIBE "+mailbox, func(c *imapclient.Client) error {
		return c.Subscribe(mailbox).Wait()
	})
}

// Create creates a mailbox, with special-use attributes when given (these
// need CREATE-SPECIAL-USE).
func (s *Session) Create(ctx context.Context, mailbox string, specialUse ...string) error {
	var opts *imap.CreateOptions
	if len(specialUse) > 0 {
		if err := s.need("CREATE "+mailbox, "CREATE-SPECIAL-USE"); err != nil {
			return err
		}
		opts = &imap.CreateOptions{}
		for _, su := range specialUse {
			opts.SpecialUse = append(opts.SpecialUse, imap.MailboxAttr(su))
		}
	}
	return s.do(ctx, "CREATE "+mailbox, func(c *imapclient.Client) error {
		return c.Create(mailbox, opts).Wait()
	})
}

// Delete deletes a mailbox.
func (s *Session) Delete(ctx context.Context, mailbox string) error {
	return s.do(ctx, "DELETE "+mailbox, func(c *imapclient.Client) error {
		return c.Delete(mailbox).Wait()
	})
}

// subscribed returns the set of subscribed mailbox names (LIST
// (SUBSCRIBED) with LIST-EXTENDED, else LSUB is not available in go-imap v2,
// so nil: callers then subscribe unconditionally).
func (s *Session) subscribed(ctx context.Context) (map[string]bool, error) {
	if !s.Has("LIST-EXTENDED") {
		return nil, nil
	}
	out := map[string]bool{}
	err := s.do(ctx, `LIST (SUBSCRIBED) "" "*"`, func(c *imapclient.Client) error {
		list, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
		if err != nil {
			return err
		}
		for _, d := range list {
			out[d.Mailbox] = true
		}
		return nil
	})
	return out, err
}

func isAlreadyExists(err error) bool {
	var ie *imap.Error
	if !errors.As(err, &ie) {
		return false
	}
	if ie.Code == imap.ResponseCodeAlreadyExists {
		return true
	}
	t := strings.ToLower(ie.Text)
	return strings.Contains(t, "already exists") || strings.Contains(t, "mailbox exists")
}
