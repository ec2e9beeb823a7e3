// Package calendarsource reads a mailbox's calendar folders over IMAP: which folders they are, whether they
// changed since the last look, and the events they hold. It is the IMAP half of free/busy publication; the
// objects are parsed by package calobject and turned into busy periods by package freebusy. It has no
// Kubernetes imports.
package calendarsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mailshift/mailshift/internal/calobject"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
)

// DefaultFolder is the calendar folder looked for when no folder is typed as a calendar.
const DefaultFolder = "Calendar"

// Discover returns the mailbox's calendar folders (CalendarFolders) over the connection Build reads them
// with, so that a publication without configured folders costs one login, not two. The folder types are
// read with one GETMETADATA per selectable personal folder when the server has METADATA; a folder the
// server refuses to describe (gone meanwhile, no rights) is taken as untyped.
func Discover(ctx context.Context, c *imapbulk.Conn) ([]string, error) {
	ns, err := c.Namespaces(ctx)
	if err != nil {
		return nil, err
	}
	all, err := c.List(ctx)
	if err != nil {
		return nil, err
	}
	var personal []imapconn.Folder
	for _, f := range all {
		if ns.IsPersonal(f.Name) {
			personal = append(personal, f)
		}
	}
	meta := map[string]map[string]string{}
	if c.Has("METADATA") {
		for _, name := range imapsession.TypeCandidates(personal) {
			md, err := c.GetMetadata(ctx, name, imapsession.SharedFolderTypeKey, imapsession.PrivateFolderTypeKey)
			switch imapconn.KindOf(err) {
			case "":
			case imapconn.NotFound, imapconn.PermissionDenied:
				continue
			default:
				return nil, err
			}
			meta[name] = md.Entries
		}
	}
	return CalendarFolders(personal, meta)
}

// CalendarFolders is the rule for which folders are calendars, apart from how the facts were read:
// the folders (of the personal namespace) that the Kolab folder-type annotation marks as event folders
// (imapsession.TypedAmong; meta by folder name, then entry key); without any, a folder named Calendar at
// the top level or under INBOX (where the groupware folders of an INBOX-prefixed namespace live). It fails
// with a NotFound *imapconn.Error when there is none, so that a publication never silently reports a
// mailbox as free for lack of a calendar.
func CalendarFolders(personal []imapconn.Folder, meta map[string]map[string]string) ([]string, error) {
	if typed := imapsession.TypedAmong(personal, meta, imapsession.FolderEvent); len(typed) > 0 {
		return typed, nil
	}
	var found []string
	for _, f := range personal {
		if !f.Selectable() || f.HasAttr(`\NonExistent`) {
			continue
		}
		if strings.EqualFold(f.Name, DefaultFolder) || isUnderInbox(f, DefaultFolder) {
			found = append(found, f.Name)
		}
	}
	if len(found) == 0 {
		return nil, &imapconn.Error{Kind: imapconn.NotFound, Op: "find calendar folders",
			Err: errors.New("no folder is annotated as a calendar (Kolab folder-type event) and there is no Calendar folder")}
	}
	return found, nil
}

func isUnderInbox(f imapconn.Folder, name string) bool {
	if f.Delim == 0 {
		return false
	}
	parent, child, ok := strings.Cut(f.Name, string(f.Delim))
	return ok && strings.EqualFold(parent, "INBOX") && strings.EqualFold(child, name)
}

// FolderState is what STATUS tells about one folder: enough to see that it changed.
type FolderState struct {
	Name   string
	Status imapbulk.Status
}

// State reads the folders' states with one STATUS each (UIDVALIDITY, UIDNEXT, MESSAGES and, with CONDSTORE,
// HIGHESTMODSEQ) and returns them with a token that changes whenever any folder gains, loses or (where the
// server has mod-sequences) changes a message. It is cheap enough to run every minute.
func State(ctx context.Context, c *imapbulk.Conn, folders []string) ([]FolderState, string, error) {
	states := make([]FolderState, 0, len(folders))
	for _, name := range folders {
		st, err := c.Status(ctx, name)
		if err != nil {
			return nil, "", fmt.Errorf("folder %q: %w", name, err)
		}
		states = append(states, FolderState{Name: name, Status: st})
	}
	return states, Token(states), nil
}

// Token is the change token of a set of folder states, independent of their order.
func Token(states []FolderState) string {
	parts := make([]string, len(states))
	for i, s := range states {
		parts[i] = strconv.Quote(s.Name) + ":" + strconv.FormatUint(uint64(s.Status.UIDValidity), 10) + ":" +
			strconv.FormatUint(uint64(s.Status.UIDNext), 10) + ":" + strconv.FormatUint(uint64(s.Status.Exists), 10) +
			":" + strconv.FormatUint(s.Status.HighestModSeq, 10)
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// Problem is one message that could not be read as a calendar object. It is reported, never dropped in
// silence: a malformed meeting would otherwise show its owner as free.
type Problem struct {
	Folder string
	UID    uint32
	Err    error
}

func (p Problem) Error() string { return fmt.Sprintf("%s UID %d: %v", p.Folder, p.UID, p.Err) }

// Result is what Read found.
type Result struct {
	Events []*calobject.Event
	// Messages is how many messages the folders held; NotCalendar how many of them carried no calendar
	// object (ordinary mail filed into a calendar folder), which is no error.
	Messages    int
	NotCalendar int
	Problems    []Problem
	// Fetched is how many messages were fetched from the server (the rest came from the cache).
	Fetched int
	// States are the folders' states as read before their messages, and Token their change token: a
	// change made while reading shows as a new token at the next State.
	States []FolderState
	Token  string
}

// maxObjectSize bounds one calendar message read into memory: events with large attachments are read in
// full (the parser needs the calendar part), but nothing unbounded.
const maxObjectSize = 64 << 20

// Cache keeps the parsed objects of one mailbox's calendar folders between reads, by folder and UID. An IMAP
// message never changes (an edited event is stored as a new message and the old one expunged), so a read
// with a cache fetches only the UIDs it has not seen; a new UIDVALIDITY empties the folder's entries.
// A Cache is not safe for concurrent use.
type Cache struct {
	identity string // server and login the entries were read from
	folders  map[string]*folderCache
}

type folderCache struct {
	uidValidity uint32
	msgs        map[uint32]parsedMessage
}

// parsedMessage is what one message yielded.
type parsedMessage struct {
	events      []*calobject.Event
	problem     error
	notCalendar bool
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{folders: map[string]*folderCache{}} }

// Events is how many events the cache holds, a measure of its memory.
func (c *Cache) Events() int {
	n := 0
	for _, f := range c.folders {
		for _, m := range f.msgs {
			n += len(m.events)
		}
	}
	return n
}

// reset empties the cache unless it was filled from the same server and login.
func (c *Cache) reset(identity string) {
	if c.identity != identity {
		c.identity, c.folders = identity, map[string]*folderCache{}
	}
}

// folder returns the entries of a folder, emptied when its UIDVALIDITY changed.
func (c *Cache) folder(name string, uidValidity uint32) *folderCache {
	f := c.folders[name]
	if f == nil || f.uidValidity != uidValidity {
		f = &folderCache{uidValidity: uidValidity, msgs: map[uint32]parsedMessage{}}
		c.folders[name] = f
	}
	return f
}

// Read reads the messages of the folders and parses the calendar objects among them. With a cache, only
// messages not read before are fetched (Result.Fetched says how many); cache may be nil.
func Read(ctx context.Context, c *imapbulk.Conn, folders []string, cache *Cache) (*Result, error) {
	res := &Result{}
	if cache == nil {
		cache = NewCache()
	}
	for name := range cache.folders {
		if !slices.Contains(folders, name) {
			delete(cache.folders, name)
		}
	}
	for _, name := range folders {
		st, err := c.Select(ctx, name, true)
		if err != nil {
			return nil, fmt.Errorf("folder %q: %w", name, err)
		}
		res.States = append(res.States, FolderState{Name: name, Status: st})
		fc := cache.folder(name, st.UIDValidity)
		var uids []uint32
		if st.Exists > 0 {
			if uids, err = c.UIDSearch(ctx, "ALL"); err != nil {
				return nil, fmt.Errorf("folder %q: %w", name, err)
			}
		}
		var missing []uint32
		for _, uid := range uids {
			if _, ok := fc.msgs[uid]; !ok {
				missing = append(missing, uid)
			}
		}
		if len(missing) > 0 {
			var buf bytes.Buffer
			err = c.FetchMessages(ctx, missing, func() io.Writer {
				buf.Reset()
				return &limitedBuffer{b: &buf, left: maxObjectSize}
			}, func(uid uint32, w io.Writer, size int64) error {
				res.Fetched++
				if w.(*limitedBuffer).over {
					fc.msgs[uid] = parsedMessage{problem: fmt.Errorf("message of %d bytes is over the %d MiB limit for calendar objects", size, maxObjectSize>>20)}
					return nil
				}
				fc.msgs[uid] = parse(buf.Bytes())
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("folder %q: %w", name, err)
			}
		}
		if err := c.Unselect(ctx); err != nil {
			return nil, fmt.Errorf("folder %q: %w", name, err)
		}
		present := make(map[uint32]bool, len(uids))
		for _, uid := range uids {
			present[uid] = true
			if m, ok := fc.msgs[uid]; ok { // a UID expunged between SEARCH and FETCH has no entry
				res.add(name, uid, m)
			}
		}
		for uid := range fc.msgs {
			if !present[uid] {
				delete(fc.msgs, uid)
			}
		}
	}
	res.Token = Token(res.States)
	return res, nil
}

// parse reads one message.
func parse(msg []byte) parsedMessage {
	evs, err := calobject.Read(msg)
	if errors.Is(err, calobject.ErrNoCalendarObject) {
		return parsedMessage{notCalendar: true}
	}
	// A message whose objects partly fail still yields the good ones (other UIDs) beside the error.
	return parsedMessage{events: evs, problem: err}
}

// add counts one message's objects into the result.
func (res *Result) add(folder string, uid uint32, m parsedMessage) {
	res.Messages++
	if m.notCalendar {
		res.NotCalendar++
	}
	res.Events = append(res.Events, m.events...)
	if m.problem != nil {
		res.Problems = append(res.Problems, Problem{folder, uid, m.problem})
	}
}

// limitedBuffer keeps at most left bytes and remembers that more came, so one huge message costs no more
// than the limit and the rest of the FETCH is still read.
type limitedBuffer struct {
	b    *bytes.Buffer
	left int64
	over bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if int64(n) > l.left {
		p = p[:l.left]
		l.over = true
	}
	l.b.Write(p)
	l.left -= int64(len(p))
	return n, nil
}
