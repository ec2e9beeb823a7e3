package imapsession

import (
	"context"

	"github.com/emersion/go-imap/v2/imapclient"
)

// FolderChange is what ApplyFolderChanges does to one mailbox.
type FolderChange struct {
	Mailbox   string
	Create    bool              // CREATE it; one that exists already is not an error
	Subscribe bool              // SUBSCRIBE it
	Metadata  map[string]string // SETMETADATA these entries (an empty value removes one); none: nothing
}

// FolderChangeResult is what became of one FolderChange: the error of each of its commands, nil when it
// succeeded or was not asked for. Created says the CREATE made the mailbox (it did not exist).
type FolderChangeResult struct {
	Created                          bool
	CreateErr, SubscribeErr, MetaErr error
}

// ApplyFolderChanges carries out changes with pipelined commands: every CREATE in one round trip (in the
// order given, so parents listed before their children are made first), then every SUBSCRIBE and
// SETMETADATA in a second, where one command per mailbox and change would cost a round trip each. A
// mailbox whose CREATE failed is neither subscribed nor annotated; metadata the server cannot take (no
// METADATA, a key outside /shared and /private) is that change's MetaErr, without a command. The results
// follow changes' order; err is set only when the session itself failed.
func (s *Session) ApplyFolderChanges(ctx context.Context, changes []FolderChange) ([]FolderChangeResult, error) {
	res := make([]FolderChangeResult, len(changes))
	if len(changes) == 0 {
		return res, nil
	}
	entries := make([]map[string]*[]byte, len(changes))
	for i, ch := range changes {
		if len(ch.Metadata) == 0 {
			continue
		}
		op := "SETMETADATA " + ch.Mailbox
		err := s.needMetadata(op, ch.Mailbox)
		if err == nil {
			entries[i], err = metadataEntries(op, ch.Metadata)
		}
		res[i].MetaErr = err // not sent: the other changes go ahead
	}
	type sent struct {
		i    int
		kind byte // 'c', 's', 'm'
		what string
		cmd  *imapclient.Command
	}
	run := func(op string, issue func(c *imapclient.Client) []sent) error {
		return s.do(ctx, op, func(c *imapclient.Client) error {
			for _, sc := range issue(c) {
				raw := sc.cmd.Wait()
				err := wrapScrubbed(sc.what, phaseCommand, raw, s.secrets)
				switch sc.kind {
				case 'c':
					switch {
					case raw == nil:
						res[sc.i].Created = true
					case isAlreadyExists(raw):
					default:
						res[sc.i].CreateErr = err
					}
				case 's':
					res[sc.i].SubscribeErr = err
				case 'm':
					res[sc.i].MetaErr = err
				}
			}
			return nil
		})
	}
	if err := run("create folders", func(c *imapclient.Client) []sent {
		var out []sent
		for i, ch := range changes {
			if ch.Create {
				out = append(out, sent{i, 'c', "CREATE " + ch.Mailbox, c.Create(ch.Mailbox, nil)})
			}
		}
		return out
	}); err != nil {
		return res, err
	}
	err := run("subscribe and annotate folders", func(c *imapclient.Client) []sent {
		var out []sent
		for i, ch := range changes {
			if res[i].CreateErr != nil {
				continue
			}
			if ch.Subscribe {
				out = append(out, sent{i, 's', "SUBSCRIBE " + ch.Mailbox, c.Subscribe(ch.Mailbox)})
			}
			if entries[i] != nil {
				out = append(out, sent{i, 'm', "SETMETADATA " + ch.Mailbox, c.SetMetadata(ch.Mailbox, entries[i])})
			}
		}
		return out
	})
	return res, err
}
