package worker

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mailshift/mailshift/internal/convert"
	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/msgid"
	"github.com/mailshift/mailshift/internal/pst"
)

// PSTSource reads a PST file through the converter.
type PSTSource struct {
	path    string
	f       *pst.File
	conv    *convert.Converter
	folders map[string]*pst.Folder
}

// OpenPST opens a PST file as a migration source. codepage decodes the ANSI strings of an old file that
// records none (0: Windows-1252); opts choose the groupware format and the owner written into groupware
// objects. The store's own X.500→SMTP pairs are collected first.
func OpenPST(path string, codepage int, opts convert.Options) (*PSTSource, error) {
	f, err := pst.OpenPath(path)
	if err != nil {
		return nil, err
	}
	return newPSTSource(path, f, codepage, opts)
}

// OpenPSTFile is OpenPST on a file its caller opened (inside a confined root, say); the source closes fh.
func OpenPSTFile(fh *os.File, codepage int, opts convert.Options) (*PSTSource, error) {
	f, err := pst.OpenFile(fh)
	if err != nil {
		return nil, err
	}
	return newPSTSource(fh.Name(), f, codepage, opts)
}

func newPSTSource(path string, f *pst.File, codepage int, opts convert.Options) (*PSTSource, error) {
	f.DefaultCodePage = codepage
	if opts.Addresses == nil {
		opts.Addresses = convert.ScanAddresses(f)
	}
	conv, err := convert.New(f, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &PSTSource{path: path, f: f, conv: conv, folders: map[string]*pst.Folder{}}, nil
}

func (s *PSTSource) Describe() string { return "pst:" + s.path }

func (s *PSTSource) Close() error {
	return s.f.Close()
}

// Folders lists the IPM subtree below its root. Search folders hold results, not items, and are left out.
// A folder the reader cannot open is reported by the walk's error, which is returned with the rest.
func (s *PSTSource) Folders(ctx context.Context) ([]SourceFolder, error) {
	var out []SourceFolder
	walkErr := s.f.Folders(func(fo *pst.Folder) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if fo.Kind == pst.KindSearch {
			return nil
		}
		nids, err := fo.MessageNIDs()
		if err != nil {
			return fmt.Errorf("folder %q: %w", fo.Path, err)
		}
		if fo.Path == "" {
			// Items kept at the top of the data file (Outlook shows them under the file's name). IMAP's
			// top level holds no messages but INBOX's, so that is where they go: dropping them would lose mail.
			if len(nids) > 0 {
				s.folders[""] = fo
				out = append(out, SourceFolder{Key: "", Path: []string{"INBOX"}, Kind: convert.FolderKind(fo.ContainerClass),
					Count: len(nids), Role: foldermap.RoleInbox})
			}
			return nil
		}
		var path []string
		for _, c := range strings.Split(fo.Path, "/") {
			path = append(path, strings.ReplaceAll(c, "%2F", "/"))
		}
		sf := SourceFolder{Key: fo.Path, Path: path, Kind: convert.FolderKind(fo.ContainerClass), Count: len(nids)}
		switch {
		case fo.Kind == pst.KindDeletedItems:
			sf.Role = foldermap.RoleTrash
		case fo.IsOutbox():
			// The store says which folder is the outbox, whatever its name; without the property (archives)
			// the planner still knows it by name.
			sf.Role = foldermap.RoleOutbox
		}
		s.folders[fo.Path] = fo
		out = append(out, sf)
		return nil
	})
	return out, walkErr
}

// Items reads the span's items in contents-table order from cp.Done on.
func (s *PSTSource) Items(ctx context.Context, sf SourceFolder, span Span, cp FolderCheckpoint, _ func(*Item) bool, fn func(*Item) error) error {
	fo := s.folders[sf.Key]
	if fo == nil {
		return fmt.Errorf("folder %q is not in the PST", sf.Key)
	}
	nids, err := fo.MessageNIDs()
	if err != nil {
		return fmt.Errorf("folder %q: %w", sf.Key, err)
	}
	end := len(nids)
	if span.To != 0 {
		end = min(end, int(span.To))
	}
	for i := int(span.From) + cp.Done; i < end; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		nid := nids[i]
		it := &Item{Pos: i - int(span.From), Ref: fmt.Sprintf("nid:%#x", uint32(nid))}
		m, err := s.f.Message(nid)
		if err != nil {
			it.ReadErr = err
			if err := fn(it); err != nil {
				return err
			}
			continue
		}
		it.Subject = m.Subject
		it.Kind = convert.ItemKind(m.Class)
		it.Identity = Identity{MessageID: msgid.Normalize(s.conv.MessageID(m))}
		it.Write = func(w io.Writer) (*Written, error) {
			res, err := s.conv.Convert(w, m)
			if err != nil {
				return nil, err
			}
			return &Written{Flags: res.Flags, Date: res.InternalDate, Kind: res.Kind, Warnings: res.Warnings}, nil
		}
		if err := fn(it); err != nil {
			return err
		}
	}
	return nil
}

// Split cuts the folder by position: span i holds sizes[i] items.
func (s *PSTSource) Split(ctx context.Context, sf SourceFolder, sizes []int) ([]Span, error) {
	fo := s.folders[sf.Key]
	if fo == nil {
		return nil, fmt.Errorf("folder %q is not in the PST", sf.Key)
	}
	nids, err := fo.MessageNIDs()
	if err != nil {
		return nil, fmt.Errorf("folder %q: %w", sf.Key, err)
	}
	return cutAt(sizes, func(n int) (uint32, bool) { return uint32(n), n < len(nids) }), nil
}

// routeKind is the special folder kind an item goes to: distribution lists live with contacts.
func routeKind(k groupware.Kind) groupware.Kind {
	if k == groupware.KindDistList {
		return groupware.KindContact
	}
	return k
}
