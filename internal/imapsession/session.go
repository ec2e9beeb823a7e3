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
	var m map[string]string
	err := s.do(ctx, "ID", func(c *imapclient.Client) error {
		var err error
		m, err = sendID(c)()
		return err
	})
	return m, err
}

// sendID sends ID and returns the function that waits for its answer. Like the other send functions
// below, it lets Survey pipeline a read that has a method of its own.
func sendID(c *imapclient.Client) func() (map[string]string, error) {
	cmd := c.ID(&imap.IDData{Name: "mailshift", Vendor: "mailshift"})
	return func() (map[string]string, error) {
		data, err := cmd.Wait()
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if data == nil {
			return m, nil
		}
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
}

// Namespaces returns the server's NAMESPACE. Without NAMESPACE support it
// returns one personal namespace with an empty prefix and the delimiter from
// LIST "" "".
func (s *Session) Namespaces(ctx context.Context) (imapconn.Namespaces, error) {
	if ns, ok := s.cachedNamespaces(); ok {
		return ns, nil
	}
	op := "NAMESPACE"
	if !s.Has("NAMESPACE") {
		op = `LIST "" ""`
	}
	var ns imapconn.Namespaces
	err := s.do(ctx, op, func(c *imapclient.Client) error {
		var err error
		ns, err = s.sendNamespaces(c)()
		return err
	})
	if err != nil {
		return imapconn.Namespaces{}, err
	}
	s.cacheNamespaces(ns)
	return ns, nil
}

func (s *Session) cachedNamespaces() (imapconn.Namespaces, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ns == nil {
		return imapconn.Namespaces{}, false
	}
	return *s.ns, true
}

func (s *Session) cacheNamespaces(ns imapconn.Namespaces) {
	s.mu.Lock()
	s.ns = &ns
	s.mu.Unlock()
}

// sendNamespaces sends NAMESPACE, or LIST "" "" to a server without it, and returns the function that waits
// for the answer.
func (s *Session) sendNamespaces(c *imapclient.Client) func() (imapconn.Namespaces, error) {
	if !s.Has("NAMESPACE") {
		cmd := c.List("", "", nil)
		return func() (imapconn.Namespaces, error) {
			list, err := cmd.Collect()
			if err != nil {
				return imapconn.Namespaces{}, err
			}
			var delim rune = '/'
			if len(list) > 0 {
				delim = list[0].Delim
			}
			return imapconn.Namespaces{Personal: []imapconn.Namespace{{Prefix: "", Delim: delim}}}, nil
		}
	}
	cmd := c.Namespace()
	return func() (imapconn.Namespaces, error) {
		data, err := cmd.Wait()
		if err != nil {
			return imapconn.Namespaces{}, err
		}
		conv := func(in []imap.NamespaceDescriptor) []imapconn.Namespace {
			var out []imapconn.Namespace
			for _, d := range in {
				out = append(out, imapconn.Namespace{Prefix: imapconn.DecodeUTF7OrSame(d.Prefix), Delim: d.Delim})
			}
			return out
		}
		return imapconn.Namespaces{Personal: conv(data.Personal), Other: conv(data.Other), Shared: conv(data.Shared)}, nil
	}
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
	return s.listWith(ctx, `LIST "" "*"`, "*", s.listOptions(status))
}

// listOptions asks for the special-use attributes where the server can give them, and for status when it is
// not nil.
func (s *Session) listOptions(status *imap.StatusOptions) *imap.ListOptions {
	opts := &imap.ListOptions{}
	if s.Has("SPECIAL-USE") && s.Has("LIST-EXTENDED") {
		opts.ReturnSpecialUse = true
	}
	if status != nil {
		opts.ReturnStatus = status
	}
	return opts
}

// listWith runs one LIST for pattern with opts and returns the folders sorted by name.
func (s *Session) listWith(ctx context.Context, op, pattern string, opts *imap.ListOptions) ([]imapconn.Folder, error) {
	var out []imapconn.Folder
	err := s.do(ctx, op, func(c *imapclient.Client) error {
		var err error
		out, err = sendList(c, pattern, opts)()
		return err
	})
	return out, err
}

// sendList sends LIST for pattern with opts and returns the function that waits for the folders, sorted by
// name.
func sendList(c *imapclient.Client, pattern string, opts *imap.ListOptions) func() ([]imapconn.Folder, error) {
	cmd := c.List("", pattern, opts)
	return func() ([]imapconn.Folder, error) {
		list, err := cmd.Collect()
		if err != nil {
			return nil, err
		}
		var out []imapconn.Folder
		for _, d := range list {
			out = append(out, folderFromList(d))
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out, nil
	}
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

// sendSubscribed sends LIST (SUBSCRIBED) (RFC 5258) and returns the function that waits for the names of the
// subscribed folders.
func sendSubscribed(c *imapclient.Client) func() (map[string]bool, error) {
	cmd := c.List("", "*", &imap.ListOptions{SelectSubscribed: true})
	return func() (map[string]bool, error) {
		list, err := cmd.Collect()
		if err != nil {
			return nil, err
		}
		out := map[string]bool{}
		for _, d := range list {
			out[d.Mailbox] = true
		}
		return out, nil
	}
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
