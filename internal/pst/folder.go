package pst

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mailshift/mailshift/internal/pst/ltp"
	"github.com/mailshift/mailshift/internal/pst/ndb"
)

// FolderKind says what a folder is for.
type FolderKind int

const (
	// KindNormal is an ordinary folder.
	KindNormal FolderKind = iota
	// KindRoot is the IPM subtree root ("Top of Personal Folders").
	KindRoot
	// KindDeletedItems is the folder PR_IPM_WASTEBASKET_ENTRYID names.
	KindDeletedItems
	// KindSearch is a search folder (NID type 0x03); its contents are results, not items of its own.
	KindSearch
)

func (k FolderKind) String() string {
	switch k {
	case KindNormal:
		return "normal"
	case KindRoot:
		return "root"
	case KindDeletedItems:
		return "deleted-items"
	case KindSearch:
		return "search"
	}
	return fmt.Sprintf("FolderKind(%d)", int(k))
}

// Folder is one folder of the IPM subtree.
type Folder struct {
	NID ndb.NID
	// Name is PR_DISPLAY_NAME.
	Name string
	// Path is the "/"-separated path below the IPM subtree root, "" for the root itself. A "/" inside a
	// name is written "%2F".
	Path string
	// ContainerClass is PR_CONTAINER_CLASS ("IPF.Note", "IPF.Contact", ...), "" when absent.
	ContainerClass string
	Kind           FolderKind
	// ContentCount is PR_CONTENT_COUNT, AssocCount PR_ASSOC_CONTENT_COUNT; -1 when absent.
	ContentCount int
	AssocCount   int
	// HasSubfolders is PR_SUBFOLDERS.
	HasSubfolders bool

	f *File
}

// ItemError is a problem with one folder or item. Walks report it and go on with the rest.
type ItemError struct {
	NID  ndb.NID
	Path string // folder path, when known
	What string // "folder", "message", "attachment", ...
	Err  error
}

func (e *ItemError) Error() string {
	return fmt.Sprintf("%s %#x (folder %q): %v", e.What, uint32(e.NID), e.Path, e.Err)
}

func (e *ItemError) Unwrap() error { return e.Err }

// ItemErrors is the list of per-item problems of a walk that went on past them.
type ItemErrors []*ItemError

func (es ItemErrors) Error() string {
	if len(es) == 1 {
		return es[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d items could not be read:", len(es))
	for _, e := range es {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is and errors.As see each item's error.
func (es ItemErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Root returns the IPM subtree root, the folder the user sees as the top of the PST. Its Path is "".
func (f *File) Root() (*Folder, error) {
	s, err := f.Store()
	if err != nil {
		return nil, err
	}
	fo, err := f.folder(s.ipmSubtree, "")
	if err != nil {
		return nil, err
	}
	fo.Kind = KindRoot
	return fo, nil
}

// Folder reads one folder by NID; its Path is only its own name.
func (f *File) Folder(nid ndb.NID) (*Folder, error) {
	fo, err := f.folder(nid, "")
	if err != nil {
		return nil, err
	}
	fo.Path = escapeName(fo.Name)
	return fo, nil
}

func (f *File) folder(nid ndb.NID, path string) (_ *Folder, err error) {
	defer recoverPanic("folder", nid, &err)
	if t := nid.Type(); t != ndb.NIDTypeNormalFolder && t != ndb.NIDTypeSearchFolder {
		return nil, fmt.Errorf("folder %#x: NID type %#x is not a folder", uint32(nid), t)
	}
	n, err := f.db.Node(nid)
	if err != nil {
		return nil, fmt.Errorf("folder %#x: %w", uint32(nid), err)
	}
	pc, err := ltp.OpenPC(n)
	if err != nil {
		return nil, fmt.Errorf("folder %#x: %w", uint32(nid), err)
	}
	cp := f.storeCodePage()
	fo := &Folder{NID: nid, Path: path, ContentCount: -1, AssocCount: -1, f: f}
	if v, ok := pc.Get(propDisplayName); ok {
		fo.Name = stringValue(v, cp)
	}
	if v, ok := pc.Get(propContainerClass); ok {
		fo.ContainerClass = stringValue(v, cp)
	}
	if v, ok := pc.Get(propContentCount); ok {
		fo.ContentCount = int(intValue(v))
	}
	if v, ok := pc.Get(propAssocContentCount); ok {
		fo.AssocCount = int(intValue(v))
	}
	if v, ok := pc.Get(propSubfolders); ok {
		b, err := v.Bool()
		fo.HasSubfolders = err == nil && b
	}
	if nid.Type() == ndb.NIDTypeSearchFolder {
		fo.Kind = KindSearch
	} else if s, err := f.Store(); err == nil && s.wastebasket == nid {
		fo.Kind = KindDeletedItems
	}
	return fo, nil
}

// IsOutbox reports whether the store names this folder its outbox (PR_IPM_OUTBOX_ENTRYID): the folder of
// messages written but not sent yet, whatever its name in the user's language. Archives often lack the
// property; callers then go by the name.
func (fo *Folder) IsOutbox() bool {
	s, err := fo.f.Store()
	return err == nil && s.outbox != 0 && s.outbox == fo.NID
}

// storeCodePage decodes the file's ANSI strings that carry no code page of their own (see CodePage).
func (f *File) storeCodePage() int {
	if _, err := f.Store(); err == nil && f.cpChoice.CodePage != 0 {
		return f.cpChoice.CodePage
	}
	if f.DefaultCodePage != 0 {
		return f.DefaultCodePage
	}
	return defaultCodePage
}

func escapeName(name string) string { return strings.ReplaceAll(name, "/", "%2F") }

// childPath is the Path of a subfolder named name.
func (fo *Folder) childPath(name string) string {
	if fo.Path == "" {
		return escapeName(name)
	}
	return fo.Path + "/" + escapeName(name)
}

// tableNID is the NID of one of the folder's tables: the folder's NID index with the table's NID type.
func (fo *Folder) tableNID(typ uint8) ndb.NID {
	return fo.NID&^0x1f | ndb.NID(typ)
}

// rowIDs lists the row IDs of one of the folder's tables (child NIDs). A missing table is empty.
func (fo *Folder) rowIDs(typ uint8) (_ []ndb.NID, err error) {
	defer recoverPanic("folder table", fo.tableNID(typ), &err)
	n, err := fo.f.db.Node(fo.tableNID(typ))
	if errors.Is(err, ndb.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	tc, err := ltp.OpenTC(n)
	if err != nil {
		return nil, err
	}
	rows := tc.Rows()
	out := make([]ndb.NID, 0, rows)
	for i := 0; i < rows; i++ {
		id, err := tc.RowID(i)
		if err != nil {
			return out, err
		}
		out = append(out, ndb.NID(id))
	}
	return out, nil
}

// SubfolderNIDs lists the NIDs of the folder's direct subfolders from its hierarchy table. Rows that are not
// folders are left out.
func (fo *Folder) SubfolderNIDs() ([]ndb.NID, error) {
	ids, err := fo.rowIDs(ndb.NIDTypeHierarchyTable)
	if err != nil {
		return nil, fmt.Errorf("folder %q hierarchy table: %w", fo.Path, err)
	}
	out := ids[:0]
	for _, id := range ids {
		if t := id.Type(); t == ndb.NIDTypeNormalFolder || t == ndb.NIDTypeSearchFolder {
			out = append(out, id)
		}
	}
	return out, nil
}

// Subfolders reads the folder's direct subfolders. When some cannot be read, it returns the others and an
// ItemErrors naming the rest.
func (fo *Folder) Subfolders() ([]*Folder, error) {
	ids, err := fo.SubfolderNIDs()
	if err != nil {
		return nil, err
	}
	var out []*Folder
	var errs ItemErrors
	for _, id := range ids {
		sub, err := fo.f.folder(id, "")
		if err != nil {
			errs = append(errs, &ItemError{NID: id, Path: fo.Path, What: "folder", Err: err})
			continue
		}
		sub.Path = fo.childPath(sub.Name)
		out = append(out, sub)
	}
	if len(errs) > 0 {
		return out, errs
	}
	return out, nil
}

// MessageNIDs lists the folder's normal (user-visible) items, from its contents table (for a search folder,
// its search contents table: the matching items, which live in other folders).
func (fo *Folder) MessageNIDs() ([]ndb.NID, error) {
	typ := uint8(ndb.NIDTypeContentsTable)
	if fo.Kind == KindSearch {
		typ = ndb.NIDTypeSearchContentsTable
	}
	ids, err := fo.rowIDs(typ)
	if err != nil {
		return ids, fmt.Errorf("folder %q contents table: %w", fo.Path, err)
	}
	return ids, nil
}

// AssociatedNIDs lists the folder's associated (FAI, hidden) items: views, rules, configuration.
func (fo *Folder) AssociatedNIDs() ([]ndb.NID, error) {
	ids, err := fo.rowIDs(ndb.NIDTypeAssocContentsTable)
	if err != nil {
		return ids, fmt.Errorf("folder %q associated contents table: %w", fo.Path, err)
	}
	return ids, nil
}

// Messages reads the folder's normal items in contents-table order and calls fn for each. An item that cannot
// be read is skipped and reported in the ItemErrors returned at the end; an error from fn stops at once.
func (fo *Folder) Messages(fn func(*Message) error) error {
	nids, err := fo.MessageNIDs()
	var errs ItemErrors
	if err != nil {
		errs = append(errs, &ItemError{NID: fo.NID, Path: fo.Path, What: "folder", Err: err})
	}
	for _, nid := range nids {
		m, err := fo.f.Message(nid)
		if err != nil {
			errs = append(errs, &ItemError{NID: nid, Path: fo.Path, What: "message", Err: err})
			continue
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Folders walks the IPM subtree depth first, parents before children, calling fn for each folder starting
// with the root. An error from fn stops the walk and is returned. A folder that cannot be read is skipped
// (with its subtree) and reported in the ItemErrors returned at the end; the walk goes on.
func (f *File) Folders(fn func(*Folder) error) error {
	root, err := f.Root()
	if err != nil {
		return err
	}
	var errs ItemErrors
	seen := map[ndb.NID]bool{}
	var walk func(fo *Folder, depth int) error
	walk = func(fo *Folder, depth int) error {
		if seen[fo.NID] {
			errs = append(errs, &ItemError{NID: fo.NID, Path: fo.Path, What: "folder", Err: errors.New("folder appears twice in the hierarchy (loop)")})
			return nil
		}
		seen[fo.NID] = true
		if err := fn(fo); err != nil {
			return err
		}
		if depth > 200 {
			errs = append(errs, &ItemError{NID: fo.NID, Path: fo.Path, What: "folder", Err: errors.New("folder hierarchy too deep")})
			return nil
		}
		subs, err := fo.Subfolders()
		if err != nil {
			var ie ItemErrors
			if errors.As(err, &ie) {
				errs = append(errs, ie...)
			} else {
				errs = append(errs, &ItemError{NID: fo.NID, Path: fo.Path, What: "folder", Err: err})
			}
		}
		for _, sub := range subs {
			if err := walk(sub, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root, 0); err != nil {
		return err
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
