package imapsession

import (
	"context"
	"fmt"
	"github.com/mailshift/mailshift/internal/imapconn"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2/imapclient"
)

// GetMetadata reads METADATA entries (RFC 5464) of a mailbox; mailbox ""
// means server entries (METADATA-SERVER). Entries that are not set are
// absent from the map. Keys must start with /shared/ or /private/.
func (s *Session) GetMetadata(ctx context.Context, mailbox string, keys ...string) (map[string]string, error) {
	op := "GETMETADATA " + mailbox
	if err := s.needMetadata(op, mailbox); err != nil {
		return nil, err
	}
	if err := checkKeys(op, keys); err != nil {
		return nil, err
	}
	out := map[string]string{}
	if len(keys) == 0 {
		return out, nil
	}
	err := s.do(ctx, op, func(c *imapclient.Client) error {
		data, err := c.GetMetadata(mailbox, keys, nil).Wait()
		if err != nil {
			return err
		}
		for k, v := range data.Entries {
			if v != nil {
				out[k] = string(*v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// getMetadataMany pipelines GETMETADATA for many mailboxes (go-imap routes
// each response to the command for its mailbox). Mailboxes the server
// refuses (NotFound, PermissionDenied) are skipped.
func (s *Session) getMetadataMany(ctx context.Context, mailboxes []string, keys []string) (map[string]map[string]string, error) {
	op := "GETMETADATA"
	if err := s.needMetadata(op, "x"); err != nil {
		return nil, err
	}
	out := make(map[string]map[string]string, len(mailboxes))
	err := s.do(ctx, op, func(c *imapclient.Client) error {
		cmds := make([]*imapclient.GetMetadataCommand, len(mailboxes))
		for i, mb := range mailboxes {
			cmds[i] = c.GetMetadata(mb, keys, nil)
		}
		var firstErr error
		for i, cmd := range cmds {
			data, err := cmd.Wait()
			if err != nil {
				switch classify(err, phaseCommand) {
				case imapconn.NotFound, imapconn.PermissionDenied:
				default:
					if firstErr == nil {
						firstErr = wrap(op+" "+mailboxes[i], phaseCommand, err)
					}
				}
				continue
			}
			m := map[string]string{}
			for k, v := range data.Entries {
				if v != nil {
					m[k] = string(*v)
				}
			}
			out[mailboxes[i]] = m
		}
		return firstErr
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetMetadata writes METADATA entries of a mailbox (SETMETADATA, all in one
// command). An empty value removes the entry (NIL).
func (s *Session) SetMetadata(ctx context.Context, mailbox string, kv map[string]string) error {
	op := "SETMETADATA " + mailbox
	if err := s.needMetadata(op, mailbox); err != nil {
		return err
	}
	entries, err := metadataEntries(op, kv)
	if err != nil || len(entries) == 0 {
		return err
	}
	return s.do(ctx, op, func(c *imapclient.Client) error {
		return c.SetMetadata(mailbox, entries).Wait()
	})
}

func (s *Session) needMetadata(op, mailbox string) error {
	if mailbox == "" {
		if s.Has("METADATA-SERVER") || s.Has("METADATA") {
			return nil
		}
		return s.need(op, "METADATA-SERVER")
	}
	return s.need(op, "METADATA")
}

func checkKeys(op string, keys []string) error {
	for _, k := range keys {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "/shared/") && !strings.HasPrefix(lk, "/private/") {
			return &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: fmt.Errorf("metadata key %q must start with /shared/ or /private/", k)}
		}
		if strings.ContainsAny(k, "*%\r\n\"") || strings.Contains(k, "//") || strings.HasSuffix(k, "/") {
			return &imapconn.Error{Kind: imapconn.ProtocolError, Op: op, Err: fmt.Errorf("invalid metadata key %q", k)}
		}
	}
	return nil
}

// metadataEntries checks kv's keys and turns it into SETMETADATA's entries: an empty value removes the
// entry (NIL).
func metadataEntries(op string, kv map[string]string) (map[string]*[]byte, error) {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if err := checkKeys(op, keys); err != nil {
		return nil, err
	}
	entries := make(map[string]*[]byte, len(kv))
	for k, v := range kv {
		if v == "" {
			entries[k] = nil
			continue
		}
		b := []byte(v)
		entries[k] = &b
	}
	return entries, nil
}
