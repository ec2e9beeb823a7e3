package mailsync

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
)

// FolderPair is a folder of side A and the folder of side B it is kept in step with.
type FolderPair struct {
	A, B string
	// Options, when set, are the pair's own rules instead of the sync's (a busy folder two-way, an archive
	// one-way).
	Options *Options
}

// sideFolders is what a cycle knows of one side's folders.
type sideFolders struct {
	list  []imapconn.Folder
	delim rune
	trash string // the folder with \Trash, or the one named Trash; "" when there is none
	// status is each folder's STATUS as the listing gave it (LIST-STATUS), where the server offers it.
	status map[string]imapbulk.Status
}

func (s *sideFolders) find(name string) (imapconn.Folder, bool) {
	for _, f := range s.list {
		if f.Name == name || (strings.EqualFold(name, "INBOX") && strings.EqualFold(f.Name, "INBOX")) {
			return f, true
		}
	}
	return imapconn.Folder{}, false
}

// readFolders lists a side's folders and leaves out those a mail sync must not touch: those that cannot
// hold messages, and groupware folders (a Kolab folder-type other than mail), whose objects are matched by
// their UID, never as messages.
func readFolders(ctx context.Context, c *imapbulk.Conn) (*sideFolders, error) {
	all, status, err := c.ListStatus(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range all {
		if f.Selectable() {
			names = append(names, f.Name)
		}
	}
	types := map[string]string{}
	if c.Has("METADATA") && len(names) > 0 {
		mds, _, err := c.GetMetadataMany(ctx, names, sharedFolderType, privateFolderType)
		if err != nil {
			return nil, err
		}
		for name, md := range mds {
			t := md.Entries[privateFolderType]
			if t == "" {
				t = md.Entries[sharedFolderType]
			}
			types[name] = strings.ToLower(strings.TrimSpace(t))
		}
	}
	s := &sideFolders{status: status}
	for _, f := range all {
		if f.Delim != 0 && s.delim == 0 {
			s.delim = f.Delim
		}
		t, _, _ := strings.Cut(types[f.Name], ".")
		if !f.Selectable() || (t != "" && t != "mail") {
			continue
		}
		s.list = append(s.list, f)
		if roleOf(f) == foldermap.RoleTrash && (s.trash == "" || f.SpecialUse != "") {
			s.trash = f.Name
		}
	}
	return s, nil
}

// The Kolab folder-type entries (imapsession has them for the special folders).
const (
	sharedFolderType  = "/shared/vendor/kolab/folder-type"
	privateFolderType = "/private/vendor/kolab/folder-type"
)

// roleOf is a folder's role: its special-use attribute, else INBOX, else its name at the top level.
func roleOf(f imapconn.Folder) foldermap.Role {
	if strings.EqualFold(f.Name, "INBOX") {
		return foldermap.RoleInbox
	}
	for r := foldermap.RoleSent; r <= foldermap.RoleArchive; r++ {
		if f.SpecialUse != "" && strings.EqualFold(f.SpecialUse, r.SpecialUse()) {
			return r
		}
	}
	if f.SpecialUse == "" && (f.Delim == 0 || !strings.ContainsRune(f.Name, f.Delim)) {
		if r := foldermap.RoleOf(f.Name); r != foldermap.RoleOutbox {
			return r
		}
	}
	return foldermap.RoleNone
}

// autoPairs pairs every mail folder of side A with side B's folder of the same role, or of the same path;
// TwoWay, side B's folders left over are paired the same way with side A. A folder missing on the other
// side is part of the pair anyway: ensure creates it.
func autoPairs(a, b *sideFolders, dir Direction) ([]FolderPair, []error) {
	var out []FolderPair
	var errs []error
	usedB := map[string]bool{}
	for _, f := range a.list {
		name, err := counterpart(f, a, b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if usedB[name] {
			continue // two folders of one side onto one: the first (by the server's order) wins
		}
		usedB[name] = true
		out = append(out, FolderPair{A: f.Name, B: name})
	}
	if dir == TwoWay {
		usedA := map[string]bool{}
		for _, p := range out {
			usedA[p.A] = true
		}
		for _, f := range b.list {
			if usedB[f.Name] {
				continue
			}
			name, err := counterpart(f, b, a)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if usedA[name] {
				continue
			}
			usedA[name] = true
			out = append(out, FolderPair{A: name, B: f.Name})
		}
	}
	return out, errs
}

// counterpart is the name on side to of folder f of side from: the folder of its role there, else its
// path with the other side's hierarchy separator.
func counterpart(f imapconn.Folder, from, to *sideFolders) (string, error) {
	if r := roleOf(f); r != foldermap.RoleNone {
		for _, g := range to.list {
			if roleOf(g) == r {
				return g.Name, nil
			}
		}
		if r == foldermap.RoleInbox {
			return "INBOX", nil
		}
	}
	if from.delim == 0 || to.delim == 0 || from.delim == to.delim {
		return f.Name, nil
	}
	parts := strings.Split(f.Name, string(from.delim))
	if slices.ContainsFunc(parts, func(p string) bool { return strings.ContainsRune(p, to.delim) }) {
		return "", fmt.Errorf("folder %q: a part of its name holds %q, the other server's hierarchy separator; pair it with --folder", f.Name, to.delim)
	}
	return strings.Join(parts, string(to.delim)), nil
}

// ensure creates the pair's folder on a side that lacks it, with the special-use attribute of the other
// side's folder.
func ensure(ctx context.Context, c *imapbulk.Conn, side *sideFolders, name string, like imapconn.Folder) error {
	if _, ok := side.find(name); ok {
		return nil
	}
	use := ""
	if r := roleOf(like); r != foldermap.RoleNone {
		use = r.SpecialUse()
	}
	if err := c.Create(ctx, name, use); err != nil {
		return err
	}
	f := imapconn.Folder{Name: name, Delim: side.delim, SpecialUse: use}
	side.list = append(side.list, f)
	if use == `\Trash` && side.trash == "" {
		side.trash = name
	}
	return nil
}
