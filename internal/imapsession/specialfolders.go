package imapsession

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// FolderType is a Kolab folder type (METADATA /vendor/kolab/folder-type).
type FolderType string

// Groupware folder types.
const (
	FolderEvent   FolderType = "event"
	FolderContact FolderType = "contact"
	FolderTask    FolderType = "task"
	FolderNote    FolderType = "note"
	FolderJournal FolderType = "journal"
)

// Valid reports whether t is one of the five groupware types.
func (t FolderType) Valid() bool {
	switch t {
	case FolderEvent, FolderContact, FolderTask, FolderNote, FolderJournal:
		return true
	}
	return false
}

// METADATA entries that mark a groupware folder (Kolab, KEP 17).
const (
	SharedFolderTypeKey  = "/shared/vendor/kolab/folder-type"
	PrivateFolderTypeKey = "/private/vendor/kolab/folder-type"
)

// SpecialFolder is one groupware folder to ensure.
type SpecialFolder struct {
	Type FolderType
	// Name is the user-facing, localizable name without any prefix, e.g.
	// "Calendar", "Kalender", "Éléments". UTF-8: go-imap sends it in
	// modified UTF-7.
	Name string
}

// Placement says where special folders go.
type Placement string

// Placements.
const (
	// PlaceAuto puts folders under INBOX when the personal namespace is
	// INBOX-prefixed (Cyrus with altnamespace: no), else at the top level.
	PlaceAuto Placement = "Auto"
	// PlaceTopLevel puts folders at the top of the personal namespace.
	PlaceTopLevel Placement = "TopLevel"
	// PlaceUnderInbox puts folders under INBOX, where Kolab 2 clients (and
	// so the old Outlook connectors) look for them.
	PlaceUnderInbox Placement = "UnderInbox"
)

// EnsuredFolder reports what was done for one folder.
type EnsuredFolder struct {
	Type       FolderType // groupware type (EnsureSpecialFolders)
	SpecialUse string     // special-use attribute, e.g. \Sent (EnsureSpecialUse)
	Mailbox    string     // full name on the server (UTF-8)
	Created    bool       // created by this call
	Annotated  bool       // METADATA written by this call
	Subscribed bool       // SUBSCRIBE sent by this call (it was not subscribed)
	// Existing is set when an existing folder was recognised by its type
	// (or special-use attribute) under a name other than the planned one.
	Existing string
}

// EnsureResult is the outcome of EnsureSpecialFolders.
type EnsureResult struct {
	Folders []EnsuredFolder
	// MetadataUnsupported is true when the server has no METADATA: folders
	// were found by name only and not annotated.
	MetadataUnsupported bool
}

// Changed reports whether anything was created, annotated or subscribed.
func (r EnsureResult) Changed() bool {
	for _, f := range r.Folders {
		if f.Created || f.Annotated || f.Subscribed {
			return true
		}
	}
	return false
}

// PlanMailbox returns the full mailbox name for a special folder, using the
// first personal namespace's prefix and delimiter (never a hard-coded "/"):
//
//   - TopLevel: prefix + name ("Calendar"; "INBOX.Calendar" when the personal
//     prefix is "INBOX.", where nothing can live beside INBOX).
//   - UnderInbox: "INBOX" + delimiter + name.
//   - Auto: UnderInbox when the personal prefix is "INBOX" + delimiter,
//     otherwise TopLevel.
//
// A flat namespace (no delimiter) always gets the top level.
func PlanMailbox(ns imapconn.Namespaces, p Placement, name string) string {
	pers := ns.PersonalDefault()
	delim := ""
	if pers.Delim != 0 {
		delim = string(pers.Delim)
	}
	inboxPrefixed := delim != "" && strings.EqualFold(pers.Prefix, "INBOX"+delim)
	underInbox := p == PlaceUnderInbox || (p != PlaceTopLevel && inboxPrefixed)
	if inboxPrefixed {
		// The prefix already is INBOX<delim>; keep the server's spelling.
		return pers.Prefix + name
	}
	if underInbox && delim != "" {
		return "INBOX" + delim + name
	}
	return pers.Prefix + name
}

func typeMatches(t FolderType, v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	return v == string(t) || v == string(t)+".default"
}

// EnsureSpecialFolders makes sure each groupware folder exists, is
// subscribed and (annotate, METADATA) carries its Kolab type. It is
// idempotent: a second run changes nothing.
//
// For each folder, in order:
//  1. a folder of the personal namespace already typed for it (shared
//     folder-type "<type>" or "<type>.default", or private folder-type) is
//     used, whatever its name (reported in Existing); the one marked
//     private "<type>.default" wins, then the planned name, then the first
//     by name;
//  2. else the planned mailbox (PlanMailbox) is used if it exists;
//  3. else it is created.
//
// Then it is subscribed if it was not, and with annotate the entries are
// set to shared "<type>" (a shared "<type>.default" is left as it is) and
// private "<type>.default", writing only what differs.
func (s *Session) EnsureSpecialFolders(ctx context.Context, p Placement, folders []SpecialFolder, annotate bool) (EnsureResult, error) {
	return s.EnsureSpecialFoldersIn(ctx, nil, p, folders, annotate)
}

// EnsureSpecialFoldersIn is EnsureSpecialFolders deciding from sv, what the caller surveyed of the account
// just before (and may have used itself), instead of reading the account again; nil surveys it.
func (s *Session) EnsureSpecialFoldersIn(ctx context.Context, sv *Survey, p Placement, folders []SpecialFolder, annotate bool) (EnsureResult, error) {
	const op = "ensure special folders"
	var res EnsureResult
	for _, f := range folders {
		if !f.Type.Valid() {
			return res, newError(imapconn.ProtocolError, op, "unknown folder type %q", f.Type)
		}
		if strings.TrimSpace(f.Name) == "" {
			return res, newError(imapconn.ProtocolError, op, "folder of type %q has no name", f.Type)
		}
	}
	switch p {
	case PlaceAuto, PlaceTopLevel, PlaceUnderInbox, "":
	default:
		return res, newError(imapconn.ProtocolError, op, "unknown placement %q", p)
	}

	if sv == nil {
		read, err := s.Survey(ctx)
		if err != nil {
			return res, err
		}
		sv = &read
	}
	ns := sv.Namespaces
	exists := map[string]bool{}
	var selectable []string
	for _, f := range sv.Folders {
		if f.HasAttr(`\NonExistent`) {
			continue
		}
		exists[f.Name] = true
		if f.Selectable() {
			selectable = append(selectable, f.Name)
		}
	}

	hasMeta := s.Has("METADATA")
	res.MetadataUnsupported = !hasMeta
	meta := map[string]map[string]string{}
	if hasMeta && len(selectable) > 0 {
		var err error
		meta, err = s.getMetadataMany(ctx, selectable, []string{SharedFolderTypeKey, PrivateFolderTypeKey})
		if err != nil {
			return res, err
		}
	}
	// The plan below marks what it subscribes: on a copy, so that the caller's survey stays what it read.
	var subscribed map[string]bool
	if sv.Subscribed != nil {
		subscribed = maps.Clone(sv.Subscribed)
	}

	// Every decision is taken first, from what was read above; the commands then go out pipelined, the
	// CREATEs in one round trip and the SUBSCRIBEs and SETMETADATAs in a second, instead of up to three
	// round trips per folder.
	plans := make([]ensurePlan, 0, len(folders))
	used := map[string]bool{}
	for _, f := range folders {
		planned := PlanMailbox(ns, p, f.Name)
		pl := ensurePlan{ef: EnsuredFolder{Type: f.Type}}

		// 1. Recognise a folder already typed for this type.
		var typed []string
		for _, name := range selectable {
			m := meta[name]
			if !used[name] && (typeMatches(f.Type, m[SharedFolderTypeKey]) || typeMatches(f.Type, m[PrivateFolderTypeKey])) {
				typed = append(typed, name)
			}
		}
		sort.SliceStable(typed, func(i, j int) bool {
			return rank(typed[i], f.Type, planned, meta) < rank(typed[j], f.Type, planned, meta)
		})
		switch {
		case len(typed) > 0:
			pl.ef.Mailbox = typed[0]
			if typed[0] != planned {
				pl.ef.Existing = typed[0]
			}
		case exists[planned]:
			pl.ef.Mailbox = planned
		default:
			pl.ef.Mailbox = planned
			pl.change.Create = true
			exists[planned] = true
		}
		used[pl.ef.Mailbox] = true

		pl.change.Mailbox = pl.ef.Mailbox
		if subscribed == nil || !subscribed[pl.ef.Mailbox] {
			pl.change.Subscribe = true
			pl.ef.Subscribed = subscribed != nil
			if subscribed != nil {
				subscribed[pl.ef.Mailbox] = true
			}
		}

		if annotate && hasMeta {
			cur := meta[pl.ef.Mailbox]
			want := map[string]string{}
			if !typeMatches(f.Type, cur[SharedFolderTypeKey]) {
				want[SharedFolderTypeKey] = string(f.Type)
			}
			if !strings.EqualFold(strings.TrimSpace(cur[PrivateFolderTypeKey]), string(f.Type)+".default") {
				want[PrivateFolderTypeKey] = string(f.Type) + ".default"
			}
			if len(want) > 0 {
				pl.change.Metadata = want
				pl.ef.Annotated = true
			}
		}
		plans = append(plans, pl)
	}

	// 2. Every CREATE in one pipelined round, every SUBSCRIBE and SETMETADATA in a second. The folders
	// before the first whose change failed are reported, as they would have been one by one.
	changes := make([]FolderChange, len(plans))
	for i, pl := range plans {
		changes[i] = pl.change
	}
	out, err := s.ApplyFolderChanges(ctx, changes)
	if err != nil {
		return res, err
	}
	for i, pl := range plans {
		r := out[i]
		for _, e := range []error{r.CreateErr, r.SubscribeErr, r.MetaErr} {
			if e != nil {
				return res, e
			}
		}
		pl.ef.Created = pl.change.Create && r.Created
		res.Folders = append(res.Folders, pl.ef)
	}
	return res, nil
}

// ensurePlan is what EnsureSpecialFolders does for one folder.
type ensurePlan struct {
	ef     EnsuredFolder
	change FolderChange
}

// rank orders typed candidates: private <type>.default first, then the
// planned name, then the rest (by name: candidates come sorted).
func rank(name string, t FolderType, planned string, meta map[string]map[string]string) int {
	switch {
	case strings.EqualFold(meta[name][PrivateFolderTypeKey], string(t)+".default"):
		return 0
	case name == planned:
		return 1
	}
	return 2
}

// The special-use folders EnsureSpecialUse makes sure of, with the names it
// creates them under.
var specialUseDefaults = []struct{ use, name string }{
	{`\Sent`, "Sent"}, {`\Drafts`, "Drafts"}, {`\Trash`, "Trash"}, {`\Junk`, "Junk"}, {`\Archive`, "Archive"},
}

// EnsureSpecialUse makes sure \Sent, \Drafts, \Trash, \Junk and \Archive
// folders exist, on servers that advertise CREATE-SPECIAL-USE (NotSupported
// otherwise: Dovecot, for one, only takes special-use from its
// configuration). A folder that already carries the attribute is used
// whatever its name (Existing). Otherwise the folder is created with CREATE
// name (USE (\X)) at PlanMailbox(Auto) and subscribed; if that name exists
// without the attribute, the attribute is set with METADATA
// /private/specialuse (RFC 6154 §5) where possible. Results are returned for
// the folders handled before an error, if any.
func (s *Session) EnsureSpecialUse(ctx context.Context) ([]EnsuredFolder, error) {
	const op = "ensure special-use folders"
	if err := s.need(op, "CREATE-SPECIAL-USE"); err != nil {
		return nil, err
	}
	ns, err := s.Namespaces(ctx)
	if err != nil {
		return nil, err
	}
	personal, err := s.PersonalFolders(ctx)
	if err != nil {
		return nil, err
	}
	byUse := map[string]string{}
	exists := map[string]bool{}
	for _, f := range personal {
		if f.HasAttr(`\NonExistent`) {
			continue
		}
		exists[f.Name] = true
		for _, a := range f.Attrs {
			if su, ok := specialUseAttrs[strings.ToLower(a)]; ok {
				if _, seen := byUse[su]; !seen {
					byUse[su] = f.Name
				}
			}
		}
	}
	var out []EnsuredFolder
	for _, d := range specialUseDefaults {
		planned := PlanMailbox(ns, PlaceAuto, d.name)
		ef := EnsuredFolder{SpecialUse: d.use}
		if name, ok := byUse[d.use]; ok {
			ef.Mailbox = name
			if name != planned {
				ef.Existing = name
			}
			out = append(out, ef)
			continue
		}
		ef.Mailbox = planned
		if exists[planned] {
			if !s.Has("METADATA") {
				return out, newError(imapconn.NotSupported, op, "%s exists without %s and METADATA is not available to mark it", planned, d.use)
			}
			if err := s.SetMetadata(ctx, planned, map[string]string{"/private/specialuse": d.use}); err != nil {
				return out, &imapconn.Error{Kind: imapconn.KindOf(err), Op: op, Err: fmt.Errorf("mark %s as %s: %w", planned, d.use, err)}
			}
			ef.Annotated = true
			out = append(out, ef)
			continue
		}
		if err := s.Create(ctx, planned, d.use); err != nil {
			return out, err
		}
		ef.Created = true
		if err := s.Subscribe(ctx, planned); err != nil {
			return out, err
		}
		ef.Subscribed = true
		out = append(out, ef)
	}
	return out, nil
}

// TypedFolders returns the selectable folders of the personal namespace whose Kolab folder type (shared or
// private METADATA entry) is t, with any sub-type: "event", "event.default" and "event.confidential" all
// count as FolderEvent. Sorted by name; empty without METADATA support.
func (s *Session) TypedFolders(ctx context.Context, t FolderType) ([]string, error) {
	if !t.Valid() {
		return nil, newError(imapconn.ProtocolError, "typed folders", "unknown folder type %q", t)
	}
	if !s.Has("METADATA") {
		return nil, nil
	}
	personal, err := s.PersonalFolders(ctx)
	if err != nil {
		return nil, err
	}
	selectable := TypeCandidates(personal)
	if len(selectable) == 0 {
		return nil, nil
	}
	meta, err := s.getMetadataMany(ctx, selectable, []string{SharedFolderTypeKey, PrivateFolderTypeKey})
	if err != nil {
		return nil, err
	}
	return TypedAmong(personal, meta, t), nil
}

// TypeCandidates returns the names of the folders whose folder type is worth reading: those that exist and
// can hold messages.
func TypeCandidates(folders []imapconn.Folder) []string {
	var out []string
	for _, f := range folders {
		if f.Selectable() && !f.HasAttr(`\NonExistent`) {
			out = append(out, f.Name)
		}
	}
	return out
}

// TypedAmong is TypedFolders without the connection, so that a caller that read the folder list and the
// folder-type entries over another connection (the pipelined imapbulk one) applies the same rule: the
// TypeCandidates among folders whose shared or private folder-type entry (meta: folder name, then the
// entries read for SharedFolderTypeKey and PrivateFolderTypeKey, nothing else) is t with any sub-type, in the order of folders.
func TypedAmong(folders []imapconn.Folder, meta map[string]map[string]string, t FolderType) []string {
	var out []string
	for _, name := range TypeCandidates(folders) {
		for _, v := range meta[name] {
			main, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(v)), ".")
			if main == string(t) {
				out = append(out, name)
				break
			}
		}
	}
	return out
}
