package worker

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
)

// A folder is more than its messages: clients show only the folders a user subscribed to (Outlook's IMAP,
// Thunderbird by default), the user may have commented it (METADATA /private/comment, /shared/comment), and a
// Kolab store says with METADATA which folders are calendars, address books, task lists and notes. A
// migration that carried the messages alone would leave folders that nobody sees and groupware folders that
// clients take for mail.
//
// What is carried:
//   - Subscriptions. Every folder copied from a PST is subscribed (a PST knows no subscriptions: everything is
//     shown). From an IMAP account, a folder is subscribed on the target when it was on the source; an
//     unsubscribed one is left as the target has it (never unsubscribed there). A folder that maps onto one of
//     the account's own folders (INBOX, Sent, …, Calendar, …) is always subscribed: it is the user's folder of
//     that role now, not a copy of a source preference. Parent folders the migration had to create are
//     subscribed when a folder below them is, so that the path to it is shown.
//   - Comments (/private/comment, /shared/comment) onto the folder's target.
//   - Folder types. A source folder of a groupware kind (a Kolab folder-type annotation, an Outlook container
//     class) that does not map onto the account's groupware folder itself becomes a groupware folder of its
//     kind below it, annotated with the type (when the target is annotated, TargetSpec.Annotate). Other Kolab
//     types (configuration, file, freebusy) are carried as they are.
//
// None of this may fail a migration: a target that refuses a SUBSCRIBE or has no METADATA, or a source whose
// subscriptions or METADATA cannot be read, is reported as a warning in the run report.

// Entries carried from an IMAP source's folders.
const (
	privateCommentKey = "/private/comment"
	sharedCommentKey  = "/shared/comment"
)

var carriedEntries = []string{privateCommentKey, sharedCommentKey, imapsession.SharedFolderTypeKey, imapsession.PrivateFolderTypeKey}

// FolderAttrs is what a source folder carries besides its messages.
type FolderAttrs struct {
	// Subscribed is the source's subscription; Known says whether the source knows subscriptions at all.
	Subscribed, Known bool
	// Metadata holds the folder's entries to carry (comments, Kolab folder type), by entry name.
	Metadata map[string]string
	// Warnings are problems reading them.
	Warnings []string
}

// FolderAttrSource is a source whose folders carry attributes (an IMAP account). A source that is not one
// (a PST) has every folder subscribed.
type FolderAttrSource interface {
	FolderAttrs(sf SourceFolder) FolderAttrs
}

// kolabMailRoles are the Kolab folder types of mail folders with a special purpose (KEP 17 "mail.*"), for
// a source without SPECIAL-USE. ("mail.inbox" is left out: only INBOX is the inbox.)
var kolabMailRoles = map[string]foldermap.Role{
	"mail.sentitems": foldermap.RoleSent, "mail.drafts": foldermap.RoleDrafts,
	"mail.wastebasket": foldermap.RoleTrash, "mail.junkemail": foldermap.RoleJunk, "mail.outbox": foldermap.RoleOutbox,
}

// kolabType reads a folder's Kolab type: the private entry (this user's view) before the shared one. main
// is the type ("event"), full the value as set ("event.default"), def whether either entry marks the folder
// as the default one of its type.
func kolabType(md map[string]string) (main, full string, def bool) {
	full = strings.ToLower(strings.TrimSpace(md[imapsession.PrivateFolderTypeKey]))
	shared := strings.ToLower(strings.TrimSpace(md[imapsession.SharedFolderTypeKey]))
	if full == "" {
		full = shared
	}
	main, _, _ = strings.Cut(full, ".")
	def = strings.HasSuffix(full, ".default") || strings.HasSuffix(shared, ".default")
	return main, full, def
}

// attrReader reads the subscriptions (once) and METADATA (per folder) of an IMAP source while its folders
// are listed.
type attrReader struct {
	c         *imapbulk.Conn
	subs      map[string]bool
	subErr    error
	subWarned bool // the subscriptions' error is reported once, not for every folder
	meta      bool
	// The METADATA of the folders named to newAttrReader, read with pipelined commands: by folder, the
	// entries or the error its command got; mdErr when the reading as a whole failed.
	mds    map[string]imapbulk.Metadata
	mdErrs map[string]error
	mdErr  error
}

// newAttrReader reads the subscriptions and the METADATA of folders (full names) at once: one round trip
// each, not one per folder.
func newAttrReader(ctx context.Context, c *imapbulk.Conn, folders []string) *attrReader {
	a := &attrReader{c: c, meta: c.Has("METADATA")}
	a.subs, a.subErr = c.Subscribed(ctx)
	if a.meta {
		a.mds, a.mdErrs, a.mdErr = c.GetMetadataMany(ctx, folders, carriedEntries...)
	}
	return a
}

// read fills in what folder f carries and gives sf the kind, default mark and role its Kolab type says.
// Only an error that leaves the connection unusable is returned; anything else becomes a warning.
func (a *attrReader) read(ctx context.Context, f imapconn.Folder, sf *SourceFolder) (FolderAttrs, error) {
	var fa FolderAttrs
	if a.subErr != nil {
		if imapbulk.IsTransient(a.subErr) {
			return fa, a.subErr
		}
		if !a.subWarned {
			fa.Warnings = append(fa.Warnings, fmt.Sprintf("the source's subscriptions could not be read (every folder is subscribed on the target): %v", a.subErr))
			a.subWarned = true
		}
	} else {
		fa.Known, fa.Subscribed = true, a.subs[f.Name] || strings.EqualFold(f.Name, "INBOX") && a.subs["INBOX"]
	}
	if !a.meta {
		return fa, nil
	}
	md, err := a.metadata(ctx, f.Name)
	switch {
	case err != nil && imapbulk.IsTransient(err):
		return fa, err
	case err != nil:
		fa.Warnings = append(fa.Warnings, fmt.Sprintf("the folder's METADATA (comments, folder type) could not be read: %v", err))
		return fa, nil
	case md.TooLong > 0:
		fa.Warnings = append(fa.Warnings, fmt.Sprintf("a METADATA entry of %d bytes is over the %d-byte limit and was not carried", md.TooLong, imapbulk.MaxMetadataValue))
	}
	fa.Metadata = md.Entries
	main, _, def := kolabType(md.Entries)
	if k, ok := kindOfFolderType[imapsession.FolderType(main)]; ok && sf.Role != foldermap.RoleInbox {
		// A groupware folder: its items are Kolab objects already, copied as they are into a groupware folder
		// of the target, never into a mail folder.
		sf.Kind, sf.Default, sf.Role = k, def, foldermap.RoleNone
	} else if role, ok := kolabMailRoles[strings.ToLower(strings.TrimSpace(md.Entries[imapsession.SharedFolderTypeKey]))]; ok && sf.Role == foldermap.RoleNone {
		sf.Role = role
	}
	return fa, nil
}

// metadata is the METADATA newAttrReader read for a folder, or read now for one it was not given.
func (a *attrReader) metadata(ctx context.Context, name string) (imapbulk.Metadata, error) {
	if a.mdErr != nil {
		return imapbulk.Metadata{}, a.mdErr
	}
	if err, ok := a.mdErrs[name]; ok {
		return imapbulk.Metadata{}, err
	}
	if md, ok := a.mds[name]; ok {
		return md, nil
	}
	return a.c.GetMetadata(ctx, name, carriedEntries...)
}

// folderTypeOf is the Kolab type of a groupware kind.
func folderTypeOf(k groupware.Kind) (imapsession.FolderType, bool) {
	for t, kk := range kindOfFolderType {
		if kk == routeKind(k) {
			return t, true
		}
	}
	return "", false
}

// targetAttrs is what one target folder is to get.
type targetAttrs struct {
	folder    string // the (first) source folder that maps onto it, for the report
	subscribe bool
	metadata  map[string]string
}

// carryFolderAttrs subscribes the target folders and writes their METADATA, as the comment at the top of
// this file says. It runs once the folders exist and before messages are copied, so that even a run cut
// short leaves visible folders. It never fails the run: problems are warnings in the report.
func (r *run) carryFolderAttrs(ctx context.Context, todo []work) {
	attrSrc, fromIMAP := r.job.Source.(FolderAttrSource)
	gwFolders := map[string]bool{}
	for _, name := range r.tgt.groupware {
		gwFolders[name] = true
	}
	byTarget := map[string]*targetAttrs{}
	get := func(name, folder string) *targetAttrs {
		ta := byTarget[name]
		if ta == nil {
			ta = &targetAttrs{folder: folder, metadata: map[string]string{}}
			byTarget[name] = ta
		}
		return ta
	}
	for _, w := range todo {
		ta := get(w.m.Target, w.sf.Key)
		var fa FolderAttrs
		if fromIMAP {
			fa = attrSrc.FolderAttrs(w.sf)
			r.warn(w.sf.Key, "", fa.Warnings)
		}
		own := w.m.Role != foldermap.RoleNone || gwFolders[w.m.Target]
		if !fromIMAP || !fa.Known || fa.Subscribed || own {
			ta.subscribe = true
		}
		for _, k := range []string{privateCommentKey, sharedCommentKey} {
			if v := fa.Metadata[k]; v != "" && ta.metadata[k] == "" {
				ta.metadata[k] = v
			}
		}
		if !r.job.Target.Annotate || gwFolders[w.m.Target] {
			continue // the account's groupware folders were typed (or not) when they were ensured
		}
		main, full, _ := kolabType(fa.Metadata)
		if t, ok := folderTypeOf(w.sf.Kind); ok {
			// One folder per kind is the default (the account's own); a further one keeps any sub-type but
			// that mark.
			v := string(t)
			if main == string(t) && full != "" && !strings.HasSuffix(full, ".default") {
				v = full
			}
			ta.metadata[imapsession.SharedFolderTypeKey] = v
		} else if main != "" && main != "mail" {
			// A Kolab folder of a type mail clients do not show (configuration, file, freebusy): it stays what
			// it was.
			for _, k := range []string{imapsession.SharedFolderTypeKey, imapsession.PrivateFolderTypeKey} {
				if v := fa.Metadata[k]; v != "" {
					ta.metadata[k] = v
				}
			}
		}
	}
	// Parents the migration created are shown when something below them is.
	sep := string(r.tgt.layout.Separator)
	for name, ta := range byTarget {
		if !ta.subscribe {
			continue
		}
		for p := name; ; {
			i := strings.LastIndex(p, sep)
			if i <= 0 {
				break
			}
			p = p[:i]
			if r.tgt.created[p] {
				get(p, ta.folder).subscribe = true
			}
		}
	}
	names := make([]string, 0, len(byTarget))
	for name := range byTarget {
		names = append(names, name)
	}
	sort.Strings(names)
	// Every SUBSCRIBE and SETMETADATA goes out pipelined: one round trip, not one or two per folder.
	var noMeta []string
	var changes []imapsession.FolderChange
	for _, name := range names {
		ta := byTarget[name]
		ch := imapsession.FolderChange{Mailbox: name, Subscribe: ta.subscribe}
		if len(ta.metadata) > 0 {
			if r.tgt.setup.Has("METADATA") {
				ch.Metadata = ta.metadata
			} else {
				noMeta = append(noMeta, name)
			}
		}
		if ch.Subscribe || ch.Metadata != nil {
			changes = append(changes, ch)
		}
	}
	res, err := r.tgt.setup.ApplyFolderChanges(ctx, changes)
	for i, ch := range changes {
		ta := byTarget[ch.Mailbox]
		serr, merr := err, err // the session failed: nothing of it is known to have happened
		if err == nil {
			serr, merr = res[i].SubscribeErr, res[i].MetaErr
		}
		if ch.Subscribe && serr != nil {
			r.warn(ta.folder, "", []string{fmt.Sprintf("target folder %q could not be subscribed: %v", ch.Mailbox, serr)})
		}
		if ch.Metadata != nil && merr != nil {
			r.warn(ta.folder, "", []string{fmt.Sprintf("METADATA %s of target folder %q could not be written: %v", strings.Join(sortedKeys(ta.metadata), ", "), ch.Mailbox, merr)})
		}
	}
	if len(noMeta) > 0 {
		r.warn("", "", []string{fmt.Sprintf("the target has no METADATA: comments and folder types of %d folders were not carried (%s)", len(noMeta), strings.Join(noMeta[:min(len(noMeta), 10)], ", "))})
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// FolderAttrs returns what Folders read about the folder's subscription and METADATA.
func (s *IMAPSource) FolderAttrs(sf SourceFolder) FolderAttrs { return s.attrs[sf.Key] }
