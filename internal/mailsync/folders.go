package mailsync

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

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

// Kinds of folders, by what they hold: mail, or a kind of groupware object (the Kolab folder types).
const (
	KindMail    = "mail"
	KindEvent   = "event"
	KindContact = "contact"
	KindTask    = "task"
	KindNote    = "note"
	KindJournal = "journal"
)

// DefaultKinds are what a sync carries when it is not told: mail, calendars and contacts.
var DefaultKinds = []string{KindMail, KindEvent, KindContact}

// Calendar says where side A's default calendar goes on side B.
type Calendar struct {
	// Separate: into a calendar folder of its own, Name, created for the sync; else into side B's default
	// calendar.
	Separate bool
	Name     string
}

// sideFolders is what a cycle knows of one side's folders.
type sideFolders struct {
	list  []imapconn.Folder
	delim rune
	trash string // the folder with \Trash, or the one named Trash; "" when there is none
	// status is each folder's STATUS as the listing gave it (LIST-STATUS), where the server offers it.
	status map[string]imapbulk.Status
	// types are the folders' Kolab folder types, lower case ("event", "event.default"); none for mail.
	types map[string]string
	// ns is the side's NAMESPACE, asked once a cycle when first needed (see personal); nsAsked says it was.
	// nsMu guards both: pairs run at once ask.
	nsMu    sync.Mutex
	ns      *imapconn.Namespaces
	nsAsked bool
}

// personal says whether folder name is in the user's personal namespace. NAMESPACE is asked the first time
// a cycle needs it; a server that cannot answer makes every folder count as not personal.
func (s *sideFolders) personal(ctx context.Context, c *imapbulk.Conn, name string) bool {
	s.nsMu.Lock()
	defer s.nsMu.Unlock()
	if !s.nsAsked {
		s.nsAsked = true
		if ns, err := c.Namespaces(ctx); err == nil {
			s.ns = &ns
		}
	}
	return s.ns != nil && s.ns.IsPersonal(name)
}

// kind is what folder name holds: KindMail, or a groupware kind.
func (s *sideFolders) kind(name string) string {
	k, _, _ := strings.Cut(s.types[name], ".")
	if k == "" {
		return KindMail
	}
	return k
}

// isDefault says whether folder name is the side's default folder of its groupware kind.
func (s *sideFolders) isDefault(name string) bool {
	return strings.HasSuffix(s.types[name], ".default")
}

// defaultOf is the side's default folder of groupware kind k, "" when it has none.
func (s *sideFolders) defaultOf(k string) string {
	for _, f := range s.list {
		if s.kind(f.Name) == k && s.isDefault(f.Name) {
			return f.Name
		}
	}
	return ""
}

func (s *sideFolders) find(name string) (imapconn.Folder, bool) {
	for _, f := range s.list {
		if f.Name == name || (strings.EqualFold(name, "INBOX") && strings.EqualFold(f.Name, "INBOX")) {
			return f, true
		}
	}
	return imapconn.Folder{}, false
}

// readFolders lists a side's folders and their kinds (the Kolab folder-type entries, where the server has
// METADATA), and leaves out those a sync must not touch: those that cannot hold messages, and Kolab folders
// of other types (configuration, files, free/busy).
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
			// The private entry says which folder is the user's default of its kind ("event.default");
			// the shared one, the kind every user sees.
			t := strings.ToLower(strings.TrimSpace(md.Entries[privateFolderType]))
			shared := strings.ToLower(strings.TrimSpace(md.Entries[sharedFolderType]))
			if t == "" || (shared != "" && !strings.HasPrefix(t, strings.SplitN(shared, ".", 2)[0])) {
				t = shared
			}
			if t == "mail" || strings.HasPrefix(t, "mail.") {
				t = ""
			}
			types[name] = t
		}
	}
	s := &sideFolders{status: status, types: types}
	for _, f := range all {
		if f.Delim != 0 && s.delim == 0 {
			s.delim = f.Delim
		}
		if !f.Selectable() || !slices.Contains([]string{KindMail, KindEvent, KindContact, KindTask, KindNote, KindJournal}, s.kind(f.Name)) {
			continue
		}
		s.list = append(s.list, f)
		if s.kind(f.Name) == KindMail && roleOf(f) == foldermap.RoleTrash && (s.trash == "" || f.SpecialUse != "") {
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

// autoPairs pairs every folder of side A whose kind is among kinds with side B's folder of the same role
// (mail) or the default folder of its kind (groupware; side A's default calendar with cal.Name when
// cal.Separate), else of the same path; TwoWay, side B's folders left over are paired the same way with
// side A. A folder missing on the other side is part of the pair anyway: ensure creates it.
func autoPairs(a, b *sideFolders, dir Direction, kinds []string, cal Calendar) ([]FolderPair, []error) {
	var out []FolderPair
	var errs []error
	usedB := map[string]bool{}
	for _, f := range a.list {
		if !slices.Contains(kinds, a.kind(f.Name)) {
			continue
		}
		name, err := counterpart(f, a, b)
		if k := a.kind(f.Name); k == KindEvent && cal.Separate && a.isDefault(f.Name) {
			name, err = cal.Name, nil
		}
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
			if usedB[f.Name] || !slices.Contains(kinds, b.kind(f.Name)) {
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

// counterpart is the name on side to of folder f of side from: the folder of its role there (a groupware
// default folder: the default folder of its kind), else its path with the other side's hierarchy
// separator.
func counterpart(f imapconn.Folder, from, to *sideFolders) (string, error) {
	if k := from.kind(f.Name); k != KindMail {
		if d := to.defaultOf(k); d != "" && from.isDefault(f.Name) {
			return d, nil
		}
	} else if r := roleOf(f); r != foldermap.RoleNone {
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

// ensure creates the pair's folder on a side that lacks it: a mail folder with the special-use attribute of
// the other side's folder; a groupware folder of kind (not KindMail) typed as such, the side's default of
// its kind when it has none yet and the other side's folder is its default (def).
func ensure(ctx context.Context, c *imapbulk.Conn, side *sideFolders, name string, like imapconn.Folder, kind string, def bool) error {
	if _, ok := side.find(name); ok {
		return nil
	}
	use := ""
	if r := roleOf(like); r != foldermap.RoleNone && kind == KindMail {
		use = r.SpecialUse()
	}
	if err := c.Create(ctx, name, use); err != nil {
		return err
	}
	if kind != KindMail {
		typ := map[string]string{sharedFolderType: kind}
		if def && side.defaultOf(kind) == "" {
			typ[privateFolderType] = kind + ".default"
		}
		if err := c.SetMetadata(ctx, name, typ); err != nil {
			return fmt.Errorf("marking it a %s folder: %w", kind, err)
		}
		side.types[name] = typ[privateFolderType]
		if side.types[name] == "" {
			side.types[name] = kind
		}
	}
	f := imapconn.Folder{Name: name, Delim: side.delim, SpecialUse: use}
	side.list = append(side.list, f)
	if use == `\Trash` && side.trash == "" {
		side.trash = name
	}
	return nil
}
